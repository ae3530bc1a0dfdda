"""The registry's HTTP routes: parse, call the ledger, shape the answer."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from did.encoding import b64_encode, b64url_encode
from did.errors import DIDNotFound, GovidError, InvalidDID, MalformedInput, MethodNotSupported
from did.http_status import status_for
from did.identifiers import DID
from registry.errors import ProofRequestInvalid
from registry.ledger import Ledger
from registry.operation_errors import UnknownDID
from registry.operations import METHOD_PREFIX, Operation
from registry.sequencer import Sequencer

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


@router.post("/operations", status_code=201, response_model=OperationOut, tags=["operations"])
async def post_operation(
    body: OperationIn,
    ledger: LedgerDep,
    sequencer: Annotated[Sequencer, Depends(get_sequencer)],
) -> OperationOut:
    """Append one signed operation. Answers once it is durable, with its log index."""
    op = Operation.parse(body.operation, ledger=ledger.origin)
    appended = await sequencer.submit(op)
    return OperationOut(
        index=appended.index,
        operationHash=appended.op_hash,
        did=appended.did,
        integratedTime=appended.time_ms,
    )


_RESOLUTION_ERRORS: dict[str, str] = {
    "did.resolution_options_invalid": "invalidOptions",
    InvalidDID.code: "invalidDid",
    MethodNotSupported.code: "methodNotSupported",
    UnknownDID.code: "notFound",
    DIDNotFound.code: "notFound",
}


@router.get("/1.0/identifiers/{did}", tags=["resolution"])
async def resolve(
    did: str,
    request: Request,
    ledger: LedgerDep,
    version_id: Annotated[str | None, Query(alias="versionId")] = None,
    version_time: Annotated[str | None, Query(alias="versionTime")] = None,
) -> JSONResponse:
    """DIF Universal Resolver shape, with `didDocumentMetadata.ledgerProof`."""
    try:
        DID.parse(did)  # DID Core §3.1 syntax (and length bound), else invalidDid
        if not did.startswith(METHOD_PREFIX):
            raise MethodNotSupported("this registry resolves did:govid only")
        vid = _parse_version_id(version_id)
        vtime = _parse_version_time(version_time)
        quorum: int = request.app.state.min_cosignatures
        result = await asyncio.to_thread(
            ledger.resolve, did, version_id=vid, version_time=vtime, min_cosignatures=quorum
        )
    except GovidError as exc:
        error = _RESOLUTION_ERRORS.get(exc.code, "invalidDid" if status_for(exc) == 400 else None)
        if error is None:
            raise
        body: dict[str, Any] = {
            "didDocument": None,
            "didDocumentMetadata": {},
            "didResolutionMetadata": {"error": error, "errorMessage": exc.message},
        }
        status = {"invalidDid": 400, "invalidOptions": 400, "notFound": 404}.get(error, 501)
        return JSONResponse(body, status_code=status)
    status = 410 if result["didDocumentMetadata"].get("deactivated") else 200
    return JSONResponse(result, status_code=status, media_type="application/did-resolution+json")


class InvalidResolutionOptions(MalformedInput):
    code = "did.resolution_options_invalid"


def _parse_version_id(text: str | None) -> int | None:
    if text is None:
        return None
    if re.fullmatch(r"[1-9][0-9]{0,11}", text) is None:
        raise InvalidResolutionOptions("versionId is a positive decimal version number")
    return int(text)


def _parse_version_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidResolutionOptions("versionTime is an RFC 3339 date-time") from exc
    if value.tzinfo is None:
        raise InvalidResolutionOptions("versionTime needs a time zone (use Z for UTC)")
    return value


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
    request: Request, ledger: LedgerDep, uri: Annotated[str, Query(max_length=2048)]
) -> dict[str, Any]:
    """The latest published token of the status list `uri`, with its ledger proof."""
    quorum: int = request.app.state.min_cosignatures
    return await asyncio.to_thread(ledger.status_list_with_proof, uri, quorum)


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
