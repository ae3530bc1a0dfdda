"""Fetching ledger evidence: what the engine needs, how it is fetched, how long it is kept.

The engine (`verifier.engine`) is pure: it asks a `LedgerLookups` for the
*raw* `ledgerProof` objects of the registry (method spec §7.2) and checks
every one of them itself, under the deployment's witness policy. Nothing a
lookup returns is trusted before that check (plan -> fetch -> compute).

- `RegistryLookups` fetches from a registry. DIDs go through
  `RegistryClient.resolve`, which also detects forks and rollbacks against
  the largest checkpoint it has seen.
- `CachingLookups` wraps another lookup with a bounded cache: fresh copies
  are reused for `fresh_for`; when the registry cannot be reached, copies up
  to `stale_for` old are used (a short network loss), older ones are not
  (fail closed: `ledger.evidence_unavailable`). `offline()` is the same
  cache that never fetches, for presentations verified without a network.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
from cachetools import LRUCache

from did.errors import NotFound, Unavailable
from registry.client import RegistryClient, registry_fetcher
from verifier.errors import EvidenceUnavailable

__all__ = ["CachingLookups", "LedgerLookups", "RegistryLookups"]

Proof = Mapping[str, Any]


class LedgerLookups(Protocol):
    """Raw ledger proofs (method spec §7.2), unverified: the engine verifies them."""

    def did_proof(self, did: str) -> Proof:
        """The proof of the DID's whole chain of operations (the resolution's `ledgerProof`)."""
        ...

    def accreditation_proofs(self, did: str) -> Sequence[Proof]:
        """One proof per accreditation granted to `did` (grant, then revocation if any)."""
        ...

    def status_list_proof(self, uri: str) -> Proof:
        """The proof of the latest `status_list.publish` of `uri`."""
        ...


class RegistryLookups:
    """`LedgerLookups` over a registry's HTTP API.

    `client` should trust the log key only (`LedgerTrust.unsafe_log_only`):
    it checks the log's signature, inclusion and consistency while fetching;
    the witness quorum and checkpoint age are the engine's `ledger_proof` check,
    so that a failure there is reported under that name.
    """

    def __init__(self, client: RegistryClient, *, http: httpx.Client | None = None) -> None:
        self._client = client
        read = http.timeout.read if http is not None else None
        self._fetch = registry_fetcher(timeout=read if read is not None else 5.0, client=http)

    def close(self) -> None:
        self._fetch.close()
        self._client.close()

    def did_proof(self, did: str) -> Proof:
        result = self._client.resolve(did)
        return _proof_or_unavailable(result.document_metadata.get("ledgerProof"))

    def accreditation_proofs(self, did: str) -> Sequence[Proof]:
        body = self._get_json(f"/accreditations/{quote(did, safe=':')}", {})
        items = body.get("accreditations")
        if not isinstance(items, list):
            raise EvidenceUnavailable("the registry's answer lists no accreditations")
        # A grant not yet covered by a cosigned checkpoint has no proof: not usable yet.
        return [i["ledgerProof"] for i in items if isinstance(i, dict) and i.get("ledgerProof")]

    def status_list_proof(self, uri: str) -> Proof:
        body = self._get_json("/status-lists", {"uri": uri})
        return _proof_or_unavailable(body.get("ledgerProof"))

    def _get_json(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        try:
            response = self._fetch.get(self._client.base_url + path, params=params)
        except Unavailable as exc:
            raise EvidenceUnavailable(exc.message) from exc
        if response.status_code == 404:
            raise NotFound("the registry does not know this item")
        try:
            body = response.json()
        except ValueError as exc:
            raise EvidenceUnavailable("the registry answered with something not JSON") from exc
        if response.status_code != 200 or not isinstance(body, dict):
            raise EvidenceUnavailable("the registry could not answer")
        return body


def _proof_or_unavailable(proof: object) -> Proof:
    if not isinstance(proof, Mapping):
        raise EvidenceUnavailable("no cosigned checkpoint covers this item on the ledger yet")
    return proof


T = TypeVar("T")


class CachingLookups:
    """A bounded LRU of evidence with two ages: reuse while fresh, fall back while not stale."""

    def __init__(
        self,
        inner: LedgerLookups,
        *,
        clock: Callable[[], datetime],
        fresh_for: timedelta = timedelta(minutes=1),
        stale_for: timedelta = timedelta(minutes=15),
        max_entries: int = 4096,
        fetch: bool = True,
    ) -> None:
        if fresh_for > stale_for:
            raise ValueError("fresh_for must not exceed stale_for")
        self._inner = inner
        self._clock = clock
        self._fresh = fresh_for
        self._stale = stale_for
        self._max = max_entries
        self._fetch = fetch
        # cachetools' bounded LRU; the two ages are checked here against the clock.
        self._cache: LRUCache[tuple[str, str], tuple[datetime, Any]] = LRUCache(max_entries)
        self._lock = threading.Lock()

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if self._fetch and callable(close):
            close()

    def offline(self) -> CachingLookups:
        """A view of the same cache that never fetches (offline presentations)."""
        view = CachingLookups(
            self._inner,
            clock=self._clock,
            fresh_for=self._fresh,
            stale_for=self._stale,
            max_entries=self._max,
            fetch=False,
        )
        view._cache, view._lock = self._cache, self._lock
        return view

    def did_proof(self, did: str) -> Proof:
        return self._get(("did", did), lambda: self._inner.did_proof(did))

    def accreditation_proofs(self, did: str) -> Sequence[Proof]:
        return self._get(("acc", did), lambda: self._inner.accreditation_proofs(did))

    def status_list_proof(self, uri: str) -> Proof:
        return self._get(("status", uri), lambda: self._inner.status_list_proof(uri))

    def _get(self, key: tuple[str, str], fetch: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
        age = None if cached is None else now - cached[0]
        if cached is not None and age is not None and age <= self._fresh:
            value: T = cached[1]
            return value
        if not self._fetch:
            if cached is not None and age is not None and age <= self._stale:
                stale: T = cached[1]
                return stale
            raise EvidenceUnavailable("no cached ledger evidence is recent enough to go offline")
        try:
            value = fetch()
        except Unavailable as exc:  # NotFound is an answer, not an outage
            if cached is not None and age is not None and age <= self._stale:
                kept: T = cached[1]
                return kept
            raise EvidenceUnavailable(
                "the registry cannot be reached and no copy is fresh"
            ) from exc
        with self._lock:
            self._cache[key] = (now, value)
        return value
