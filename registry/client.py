"""The registry client: submit operations, and read the ledger without trusting it.

`RegistryClient` fetches; everything it returns has been checked by the pure
functions of `registry.proofs` and `registry.rules`:

- a resolved `did:govid` document is *recomputed* here by replaying the DID's
  proven chain of operations, never taken from the server's JSON;
- every checkpoint must be consistent with the largest one this client has
  accepted before (RFC 9162 §2.1.4), so a registry that forks or rolls back
  its log is caught the first time it shows the other branch.

Known limit (method spec §8.4): a log proves inclusion, not absence. A registry
could omit a DID's newest operation; witnesses and auditors replaying the log
catch that, and counters bound its effect by the freshness they require of
status lists.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from did.document import DIDDocument
from did.encoding import b64_decode
from did.errors import DIDNotFound, GovidError, MalformedInput, ResolutionUnavailable
from did.identifiers import DID
from did.resolver import ResolutionOptions, ResolutionResult, exception_for
from registry.checkpoint import Checkpoint
from registry.errors import CheckpointRollback, ProofMalformed
from registry.operations import (
    STATUS_LIST_PUBLISH,
)
from registry.policy import check_consistent_with
from registry.proofs import (
    LedgerTrust,
    ProvenEntries,
    accreditation_from_chain,
    chain_of,
    verify_ledger_proof,
)
from registry.resolution import document_metadata, parse_version_id, version_prefix
from registry.rules import replay_did
from registry.state import Accreditation, render_document
from service.fetch import Fetcher, FetchPolicy

MAX_RESPONSE_BYTES = 4 * 1024 * 1024
# httpx timeouts bound each network operation, not the whole answer: a server
# dripping a byte at a time would hold a fetch for days. Every request has a
# total budget of this many times the client's timeout (service.fetch).
DEADLINE_FACTOR = 3


def registry_fetcher(*, timeout: float = 5.0, client: httpx.Client | None = None) -> Fetcher:
    """The fetch rules for a registry the operator configured: any address, bounded."""
    policy = FetchPolicy.configured(max_bytes=MAX_RESPONSE_BYTES, budget=DEADLINE_FACTOR * timeout)
    return Fetcher(policy, client=client)


class RegistryClient:
    def __init__(
        self,
        base_url: str,
        *,
        trust: LedgerTrust,
        client: httpx.Client | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeout: float = 5.0,
        write_token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # A writer token (method spec §10.1): the deployment's own services
        # send it with their writes, which the registry then does not hold back.
        self._write_headers = {"Authorization": f"Bearer {write_token}"} if write_token else {}
        self.trust = trust
        self._fetch = registry_fetcher(timeout=timeout, client=client)
        self._clock = clock
        self._largest: Checkpoint | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._fetch.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- HTTP -----------------------------------------------------------------------

    def _get(self, path: str, **params: Any) -> httpx.Response:
        return self._fetch.get(self.base_url + path, params=params or None)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise ResolutionUnavailable("the registry answered with something not JSON") from exc

    def submit(self, operation: str) -> dict[str, Any]:
        """POST an operation; returns `{index, operationHash, did, integratedTime}` or raises."""
        response = self._fetch.post(
            self.base_url + "/operations",
            json={"operation": operation},
            headers=self._write_headers,
        )
        body = self._json(response)
        if response.status_code != 201:
            raise _remote_error(body, response.status_code)
        result: dict[str, Any] = body
        return result

    # --- checkpoints ----------------------------------------------------------------

    def _accept(self, proven: ProvenEntries) -> None:
        """Keep the largest checkpoint seen; every other must be consistent with it.

        A larger checkpoint must extend the largest one (else: a fork). A
        smaller one is accepted only if the registry proves it is a prefix of
        the largest; a registry that cannot has rolled its log back.
        """
        new = proven.checkpoint
        with self._lock:
            old = self._largest
        if old is not None and old != new:
            if new.size >= old.size:
                check_consistent_with(old, new, self._consistency(old.size, new.size))
            else:
                try:
                    proof = self._consistency(new.size, old.size)
                except GovidError as exc:
                    raise CheckpointRollback(
                        "the registry shows a smaller log than it showed before"
                    ) from exc
                check_consistent_with(new, old, proof)
        with self._lock:
            if self._largest is None or new.size > self._largest.size:
                self._largest = new

    def _consistency(self, old: int, new: int) -> list[bytes]:
        if old == new or old == 0:
            return []
        response = self._get("/log/proof/consistency", old=old, new=new)
        body = self._json(response)
        if response.status_code != 200:
            raise _remote_error(body, response.status_code)
        proof = body.get("proof") if isinstance(body, dict) else None
        if not isinstance(proof, list):
            raise ProofMalformed("the consistency proof is missing")
        return [b64_decode(p, what="a consistency proof", error=ProofMalformed) for p in proof]

    @property
    def largest_checkpoint(self) -> Checkpoint | None:
        return self._largest

    def latest_checkpoint(self) -> Checkpoint:
        """Fetch, verify and remember the registry's latest checkpoint."""
        from registry.proofs import verify_checkpoint_note

        response = self._get("/checkpoint")
        if response.status_code != 200:
            raise ResolutionUnavailable("the registry has no checkpoint to show")
        checkpoint = verify_checkpoint_note(response.text, trust=self.trust, now=self._clock())
        self._accept(ProvenEntries(checkpoint, response.text, ()))
        return checkpoint

    # --- resolution -------------------------------------------------------------------

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        """Resolve a did:govid, verifying the proof and replaying the DID's chain."""
        options = options or ResolutionOptions()
        params: dict[str, str] = {}
        if options.version_id is not None:
            params["versionId"] = options.version_id
        if options.version_time is not None:
            params["versionTime"] = options.version_time.isoformat()
        response = self._get(f"/1.0/identifiers/{did}", **params)
        body = self._json(response)
        if not isinstance(body, dict):
            raise ResolutionUnavailable("the registry's answer is not a resolution result")
        error = (body.get("didResolutionMetadata") or {}).get("error")
        if isinstance(error, str):
            raise exception_for(error, "the registry could not resolve the DID")
        meta = body.get("didDocumentMetadata") or {}
        proven = verify_ledger_proof(meta.get("ledgerProof"), trust=self.trust, now=self._clock())
        self._accept(proven)
        chain = chain_of(proven)
        if any(op.did != did for op, _, _ in chain):
            raise ProofMalformed("the proof holds operations of another DID")
        # The proof covers the whole chain (method spec §7.3): the asked version
        # is chosen here, by the same rule as the registry's, and the chain's
        # end gives what describes the DID now (deactivation, key history).
        latest = replay_did(chain)
        length = version_prefix(
            [(op.type, time_ms) for op, _, time_ms in chain],
            version_id=parse_version_id(options.version_id),
            version_time=options.version_time,
        )
        state = latest if length == len(chain) else replay_did(chain[:length])
        # Only the proof is taken from the answer: document and metadata are recomputed.
        metadata = document_metadata(state, latest, meta.get("ledgerProof"))
        return ResolutionResult(
            DIDDocument.from_json(render_document(state)), metadata, {"verifiedBy": "ledgerProof"}
        )

    # --- accreditations and status lists --------------------------------------------

    def accreditations(self, did: str) -> list[Accreditation]:
        """The accreditations granted to `did`, each proven to be on the ledger."""
        body = self._json(self._get(f"/accreditations/{did}"))
        items = body.get("accreditations") if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise ResolutionUnavailable("the registry's answer lists no accreditations")
        out = []
        for item in items:
            proven = verify_ledger_proof(
                item.get("ledgerProof"), trust=self.trust, now=self._clock()
            )
            self._accept(proven)
            out.append(accreditation_from_chain(chain_of(proven), subject=did))
        return out

    def status_list_token(self, issuer: str, uri: str) -> tuple[str, int]:
        """The latest token `issuer` published for its list `uri`, and its sequence, proven.

        A list is named by its issuer and its uri (method spec §5.7): the
        proven publication must be `issuer`'s own.
        """
        response = self._get("/status-lists", issuer=issuer, uri=uri)
        body = self._json(response)
        if response.status_code != 200:
            raise _remote_error(body, response.status_code)
        proven = verify_ledger_proof(body.get("ledgerProof"), trust=self.trust, now=self._clock())
        self._accept(proven)
        op = proven.entries[-1].operation
        if op.type != STATUS_LIST_PUBLISH or op.payload["uri"] != uri or op.did != issuer:
            raise ProofMalformed("the proven entry is not a publication of this list")
        return str(op.payload["token"]), int(op.payload["sequence"])


def _remote_error(body: Any, status: int) -> GovidError:
    """Rebuild the registry's error as a local one, keeping its code in the message."""
    code = body.get("error") if isinstance(body, dict) else None
    text = body.get("error_description") if isinstance(body, dict) else None
    message = f"the registry refused ({code}): {text}" if code else f"HTTP {status}"
    if status == 404:
        return DIDNotFound(message)
    if 400 <= status < 500:
        return _RemoteRefusal(message, code=str(code or "http.error"))
    return ResolutionUnavailable(message)


class _RemoteRefusal(MalformedInput):
    """A 4xx from the registry; `remote_code` is the registry's own error code."""

    code = "registry.refused"

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.remote_code = code


class GovidMethodResolver:
    """The `did:govid` slot of `did.resolver.Resolver`, backed by a `RegistryClient`."""

    method = "govid"

    def __init__(self, client: RegistryClient) -> None:
        self._client = client

    def resolve(self, did: DID, options: ResolutionOptions) -> ResolutionResult:
        return self._client.resolve(str(did), options)
