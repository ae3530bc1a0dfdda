"""Fetching ledger evidence: what the engine needs, how it is fetched, how long it is kept.

The engine (`verifier.engine`) is pure: it asks a `LedgerLookups` for the
*raw* `ledgerProof` objects of the registry (method spec §7.2) and checks
every one of them itself, under the deployment's witness policy. Nothing a
lookup returns is trusted before that check (plan -> fetch -> compute).

- `RegistryLookups` fetches from a registry. DIDs go through
  `RegistryClient.resolve`, which also detects forks and rollbacks against
  the largest checkpoint it has seen.
- `CachingLookups` wraps another lookup with a bounded cache: fresh copies
  are reused for `fresh_for`; only when the registry cannot be reached are
  older copies used, up to `stale_for` for DIDs and accreditations and up to
  the much shorter `status_stale_for` for status lists (a revocation must
  reach the counter quickly); older ones are not (fail closed:
  `ledger.evidence_unavailable`). Online and offline presentations go
  through the same rule: a counter that can reach the registry always
  verifies against fresh evidence (govid issue 13 item 4).
- `tracking()` is a view of the same cache for one verification: its
  `evidence()` says whether cached or offline copies were used and how old
  the oldest was, for the report a counter reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
from cachetools import LRUCache

from did.errors import NotFound, Unavailable
from registry.client import RegistryClient, registry_fetcher
from verifier.errors import EvidenceUnavailable

__all__ = ["CachingLookups", "Evidence", "LedgerLookups", "RegistryLookups"]

Proof = Mapping[str, Any]


class LedgerLookups(Protocol):
    """Raw ledger proofs (method spec §7.2), unverified: the engine verifies them."""

    def did_proof(self, did: str) -> Proof:
        """The proof of the DID's whole chain of operations (the resolution's `ledgerProof`)."""
        ...

    def accreditation_proofs(self, did: str) -> Sequence[Proof]:
        """One proof per accreditation granted to `did` (grant, then revocation if any)."""
        ...

    def status_list_proof(self, issuer: str, uri: str) -> Proof:
        """The proof of `issuer`'s latest `status_list.publish` of its list `uri` (§5.7)."""
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

    def status_list_proof(self, issuer: str, uri: str) -> Proof:
        body = self._get_json("/status-lists", {"issuer": issuer, "uri": uri})
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


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where one verification's ledger evidence came from, as its report states it.

    `cached`: items reused from the cache while fresh; `offline`: items used
    from the cache because the registry could not be reached; `oldest`: the
    age of the oldest item used (zero when everything was fetched for it).
    """

    fetched: int = 0
    cached: int = 0
    offline: int = 0
    oldest: timedelta = timedelta(0)

    def to_json(self) -> dict[str, Any]:
        return {
            "offline": self.offline > 0,
            "cached": self.cached + self.offline > 0,
            "age_seconds": max(0, int(self.oldest.total_seconds())),
        }


class CachingLookups:
    """A bounded LRU of evidence: reuse while fresh, fall back only when the registry is down."""

    def __init__(
        self,
        inner: LedgerLookups,
        *,
        clock: Callable[[], datetime],
        fresh_for: timedelta = timedelta(minutes=1),
        stale_for: timedelta = timedelta(minutes=15),
        status_stale_for: timedelta | None = None,
        max_entries: int = 4096,
    ) -> None:
        status_stale = stale_for if status_stale_for is None else status_stale_for
        if fresh_for > stale_for or fresh_for > status_stale:
            raise ValueError("fresh_for must not exceed stale_for nor status_stale_for")
        self._inner = inner
        self._clock = clock
        self._fresh = fresh_for
        self._stale = stale_for
        self._status_stale = status_stale
        self._max = max_entries
        # cachetools' bounded LRU; the two ages are checked here against the clock.
        self._cache: LRUCache[tuple[str, str], tuple[datetime, Any]] = LRUCache(max_entries)
        self._lock = threading.Lock()
        self._uses: list[tuple[str, timedelta]] | None = None  # set in `tracking()` views
        self._view = False

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if not self._view and callable(close):
            close()

    def tracking(self) -> CachingLookups:
        """A view of the same cache that records, for one verification, what it used."""
        view = CachingLookups(
            self._inner,
            clock=self._clock,
            fresh_for=self._fresh,
            stale_for=self._stale,
            status_stale_for=self._status_stale,
            max_entries=self._max,
        )
        view._cache, view._lock, view._uses, view._view = self._cache, self._lock, [], True
        return view

    def evidence(self) -> Evidence:
        uses = self._uses or []
        return Evidence(
            fetched=sum(1 for how, _ in uses if how == "fetched"),
            cached=sum(1 for how, _ in uses if how == "cached"),
            offline=sum(1 for how, _ in uses if how == "offline"),
            oldest=max((age for _, age in uses), default=timedelta(0)),
        )

    def did_proof(self, did: str) -> Proof:
        return self._get(("did", did), lambda: self._inner.did_proof(did))

    def accreditation_proofs(self, did: str) -> Sequence[Proof]:
        return self._get(("acc", did), lambda: self._inner.accreditation_proofs(did))

    def status_list_proof(self, issuer: str, uri: str) -> Proof:
        return self._get(
            ("status", issuer + " " + uri), lambda: self._inner.status_list_proof(issuer, uri)
        )

    def _use(self, how: str, age: timedelta) -> None:
        if self._uses is not None:
            self._uses.append((how, age))

    def _get(self, key: tuple[str, str], fetch: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
        age = None if cached is None else now - cached[0]
        if cached is not None and age is not None and age <= self._fresh:
            self._use("cached", age)
            value: T = cached[1]
            return value
        try:
            value = fetch()
        except Unavailable as exc:  # NotFound is an answer, not an outage
            limit = self._status_stale if key[0] == "status" else self._stale
            if cached is not None and age is not None and age <= limit:
                self._use("offline", age)
                kept: T = cached[1]
                return kept
            raise EvidenceUnavailable(
                "the registry cannot be reached and no copy is recent enough"
            ) from exc
        with self._lock:
            self._cache[key] = (now, value)
        self._use("fetched", timedelta(0))
        return value
