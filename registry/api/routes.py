"""The registry's HTTP routes: parse, call the ledger, shape the answer."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from did.encoding import b64_encode, b64url_encode
from did.errors import GovidError
from did.identifiers import DID
from registry.errors import ProofRequestInvalid
from registry.ledger import Ledger
from registry.operation_errors import StatusListIssuerRequired, WriterTokenInvalid
from registry.operations import DID_CREATE, Operation
from registry.sequencer import Sequencer
from registry.write_quota import WriteQuota, WriteQuotaExceeded
from service.http_status import error_body

MAX_ENTRIES_PER_PAGE = 1000
MAX_BODY_BYTES = 512 * 1024
# Log sizes and indices are SQL BIGINTs: a larger number can name nothing (and
# would overflow the database driver), so the API refuses it as bad input.
MAX_INDEX = 2**63 - 1

router = APIRouter()


def get_ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def get_sequencer(request: Request) -> Sequencer:
    sequencer: Sequencer = request.app.state.sequencer
    return sequencer


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


class OperationIn(BaseModel):
    operation: str = Field(description="The operation as a compact JWS (typ govid-op+jws).")


class OperationOut(BaseModel):
    index: int
    operationHash: str  # noqa: N815 - JSON field name
    did: str
    integratedTime: int  # noqa: N815


class ErrorOut(BaseModel):
    error: str
    error_description: str


@router.post(
    "/operations",
    status_code=201,
    response_model=OperationOut,
    tags=["operations"],
    responses={
        401: {"model": ErrorOut, "description": "an unknown writer token"},
        429: {"model": ErrorOut, "description": "the client's write quota is used up"},
    },
)
async def post_operation(
    body: OperationIn,
    request: Request,
    ledger: LedgerDep,
    sequencer: Annotated[Sequencer, Depends(get_sequencer)],
) -> OperationOut | JSONResponse:
    """Append one signed operation. Answers once it is durable, with its log index.

    Writes by clients that are not accredited are limited (method spec §10.1):
    429 `ledger.write_quota_exceeded` with `Retry-After` once a client has had
    its quota of successful writes in the last minute.
    """
    op = Operation.parse(body.operation, ledger=ledger.origin)
    quota: WriteQuota | None = request.app.state.write_quota
    slot = None
    try:
        writer = _writer(request)
        if quota is not None and not writer and not await _accountable(op, ledger):
            slot = quota.take(_client_address(request))
    except WriterTokenInvalid as exc:  # RFC 6750 §3: say which scheme is expected
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        return JSONResponse(error_body(exc), status_code=401, headers=headers)
    except WriteQuotaExceeded as exc:  # RFC 6585 §4
        headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(error_body(exc), status_code=429, headers=headers)
    try:
        appended = await sequencer.submit(op)
    except GovidError:
        if quota is not None and slot is not None:  # refused: it added nothing
            quota.refund(slot)
        raise
    return OperationOut(
        index=appended.index,
        operationHash=appended.op_hash,
        did=appended.did,
        integratedTime=appended.time_ms,
    )


def _writer(request: Request) -> bool:
    """True for `Authorization: Bearer <token>` with a configured writer hash (§10.1).

    The deployment's own services write with such a token. Any other
    `Authorization` is refused (401), never quietly taken as anonymous.
    """
    header = request.headers.get("authorization")
    if header is None:
        return False
    scheme, _, token = header.partition(" ")
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    writers: frozenset[str] = request.app.state.writers
    # Every known hash is compared, in constant time each.
    known = [hmac.compare_digest(digest, w) for w in writers]
    if scheme.lower() != "bearer" or not token.strip() or not any(known):
        raise WriterTokenInvalid("the writer token is not one this registry knows")
    return True


async def _accountable(op: Operation, ledger: Ledger) -> bool:
    """Whether the operation's author is the root or holds an accreditation that counts now.

    The author is the one the payload names: if it did not sign the operation,
    the rules refuse it and nothing is written. A `did.create` names a DID
    that does not exist yet, so it is never accountable.
    """
    if op.type == DID_CREATE:
        return False
    return await asyncio.to_thread(ledger.accountable, op.did)


def _client_address(request: Request) -> str:
    # The connection's peer as the server sees it (a trusted proxy's forwarded
    # address once the proxy settings rewrite it); one quota per address.
    return request.client.host if request.client is not None else "unknown"


@router.get("/checkpoint", response_class=PlainTextResponse, tags=["log"])
async def checkpoint(request: Request, ledger: LedgerDep) -> PlainTextResponse:
    """The latest checkpoint with its witness cosignatures (C2SP tlog-checkpoint)."""
    quorum: int = request.app.state.min_cosignatures
    note = await asyncio.to_thread(ledger.latest_checkpoint_note, min_cosignatures=quorum)
    if note is None:
        return PlainTextResponse("no checkpoint yet\n", status_code=404)
    return PlainTextResponse(note, media_type="text/plain; charset=utf-8")


@router.get("/log/checkpoints", tags=["log"])
async def checkpoints(
    ledger: LedgerDep, start: Annotated[int, Query(ge=0, le=MAX_INDEX)] = 0
) -> dict[str, Any]:
    """Every checkpoint signed so far with size >= `start` (at most 1000), for auditors."""
    rows = await asyncio.to_thread(ledger.checkpoints, start, MAX_ENTRIES_PER_PAGE)
    return {
        "checkpoints": [
            {"size": r.size, "note": r.cosigned or r.note, "cosignatures": r.cosignatures}
            for r in rows
        ]
    }


@router.get("/log/vkey", response_class=PlainTextResponse, tags=["log"])
async def vkey(request: Request) -> PlainTextResponse:
    """The log's note verifier key (C2SP signed-note vkey)."""
    return PlainTextResponse(request.app.state.vkey + "\n")


@router.get("/log/proof/consistency", tags=["log"])
async def consistency(
    ledger: LedgerDep,
    old: Annotated[int, Query(ge=0, le=MAX_INDEX)],
    new: Annotated[int, Query(ge=0, le=MAX_INDEX)],
) -> dict[str, list[str]]:
    """RFC 9162 §2.1.4 consistency proof between two tree sizes (standard base64)."""
    if old > new:
        raise ProofRequestInvalid("'old' must not exceed 'new'")
    proof = await asyncio.to_thread(ledger.consistency_proof, old, new)
    return {"proof": [b64_encode(h) for h in proof]}


@router.get("/log/proof/inclusion", tags=["log"])
async def inclusion(
    ledger: LedgerDep,
    index: Annotated[int, Query(ge=0, le=MAX_INDEX)],
    size: Annotated[int, Query(ge=1, le=MAX_INDEX)],
) -> dict[str, list[str]]:
    """RFC 9162 §2.1.3 inclusion proof of entry `index` in the tree of `size` entries."""
    if size > await asyncio.to_thread(ledger.size):
        raise ProofRequestInvalid("the size is larger than the log")
    proof = await asyncio.to_thread(ledger.inclusion_proof, index, size)
    return {"proof": [b64_encode(h) for h in proof]}


@router.get("/log/entries", tags=["log"])
async def entries(
    ledger: LedgerDep,
    start: Annotated[int, Query(ge=0, le=MAX_INDEX)],
    end: Annotated[int, Query(ge=1, le=MAX_INDEX)],
) -> dict[str, Any]:
    """Entries [start, end) as base64url bytes, at most 1000 per call."""
    if end <= start:
        raise ProofRequestInvalid("'end' must be greater than 'start'")
    end = min(end, start + MAX_ENTRIES_PER_PAGE)
    rows = await asyncio.to_thread(ledger.entries, start, end)
    return {"entries": [{"index": r.idx, "entry": b64url_encode(r.data)} for r in rows]}


@router.get("/accreditations/{did}", tags=["accreditations"])
async def accreditations(did: str, request: Request, ledger: LedgerDep) -> dict[str, Any]:
    """The accreditations granted to `did`, each with the proof of its granting entry."""
    DID.parse(did)  # a malformed DID is a 400, not an empty list
    quorum: int = request.app.state.min_cosignatures
    return await asyncio.to_thread(ledger.accreditations_with_proofs, did, quorum)


@router.get("/status-lists", tags=["status lists"])
async def status_list(
    request: Request,
    ledger: LedgerDep,
    uri: Annotated[str, Query(max_length=2048)],
    issuer: Annotated[str | None, Query(max_length=2048)] = None,
) -> dict[str, Any]:
    """The latest token `issuer` published for its list `uri`, with its ledger proof.

    A list is named by its issuer and its uri (method spec §5.7): the uri alone
    names nothing, so asking without `issuer` is a 400 that says what to send.
    """
    if issuer is None:
        raise StatusListIssuerRequired(
            "a status list is named by its issuer and its uri: "
            "GET /status-lists?issuer=<did>&uri=<uri>"
        )
    DID.parse(issuer)  # a malformed DID is a 400, not a 404
    quorum: int = request.app.state.min_cosignatures
    return await asyncio.to_thread(ledger.status_list_with_proof, issuer, uri, quorum)


@router.get("/", tags=["log"])
async def home(request: Request, ledger: LedgerDep) -> dict[str, Any]:
    """What this registry is, and where to look next."""
    return {
        "service": "govid registry",
        "origin": ledger.origin,
        "vkey": request.app.state.vkey,
        "treeSize": await asyncio.to_thread(ledger.size),
        "links": {
            "checkpoint": "/checkpoint",
            "resolve": "/1.0/identifiers/{did}",
            "docs": "/docs",
        },
    }


@router.get("/healthz", tags=["operations"], include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["operations"], include_in_schema=False)
async def readyz(ledger: LedgerDep) -> dict[str, Any]:
    size = await asyncio.to_thread(ledger.size)  # a database round trip
    return {"status": "ready", "treeSize": size}
