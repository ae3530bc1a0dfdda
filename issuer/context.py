"""What every issuer operation is given: settings, database, KEK, ledger, clock, randomness.

Things that do I/O or change between runs are passed in here, never reached
for: tests pin `clock`, swap `token_bytes`/`rng`, and point `ledger` at a
real registry on loopback.
"""

from __future__ import annotations

import random
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from cachetools import LRUCache
from sqlalchemy.engine import Engine
from sqlmodel import Session

from issuer.errors import NotAccredited
from issuer.keys_at_rest import KEK
from issuer.login_limits import FailureLimiter
from issuer.settings import IssuerSettings
from issuer.store import read_only
from registry.state import Accreditation

__all__ = [
    "AccreditationCache",
    "IssuerContext",
    "Ledger",
    "RegistryLedger",
    "utc_now",
]


class Ledger(Protocol):
    """What the issuer needs from the registry (`registry.client.RegistryClient` has it)."""

    @property
    def origin(self) -> str: ...

    def submit(self, operation: str) -> dict[str, Any]: ...

    def accreditations(self, did: str) -> list[Accreditation]: ...


class RegistryLedger:
    """`Ledger` over a `RegistryClient`, which checks every proof it is shown."""

    def __init__(self, client: Any) -> None:
        self._client = client

    @property
    def origin(self) -> str:
        return str(self._client.trust.origin)

    def submit(self, operation: str) -> dict[str, Any]:
        result: dict[str, Any] = self._client.submit(operation)
        return result

    def accreditations(self, did: str) -> list[Accreditation]:
        found: list[Accreditation] = self._client.accreditations(did)
        return found

    def close(self) -> None:
        self._client.close()


def utc_now() -> datetime:
    return datetime.now(UTC)


class AccreditationCache:
    """Accreditations per DID, fetched from the ledger and kept `ttl` seconds.

    Fail closed: a ledger that cannot be reached is `service.unavailable`,
    never a silent pass.
    """

    def __init__(self, ledger: Ledger, *, ttl: int, max_entries: int = 1024) -> None:
        self._ledger = ledger
        self._ttl = ttl
        self._lock = threading.Lock()
        # Bounded (an agency count, in practice); ages are checked against the
        # caller's `now`, so the entries keep the time they were fetched.
        self._cache: LRUCache[str, tuple[float, list[Accreditation]]] = LRUCache(max_entries)

    def require(self, did: str, vct: str, *, now: datetime) -> None:
        """Raise `NotAccredited` unless `did` holds an active issuer accreditation for `vct`."""
        moment = now.timestamp()
        with self._lock:
            hit = self._cache.get(did)
        if hit is None or moment - hit[0] >= self._ttl:
            found = self._ledger.accreditations(did)
            hit = (moment, found)
            with self._lock:
                self._cache[did] = hit
        for acc in hit[1]:
            if acc.role == "issuer" and vct in acc.credential_types and acc.active_at(moment):
                return
        raise NotAccredited("the agency is not accredited on the ledger for this credential type")

    def forget(self, did: str) -> None:
        with self._lock:
            self._cache.pop(did, None)


@dataclass
class IssuerContext:
    settings: IssuerSettings
    engine: Engine
    kek: KEK
    ledger: Ledger
    clock: Callable[[], datetime] = utc_now
    token_bytes: Callable[[int], bytes] = secrets.token_bytes
    rng: random.Random = field(default_factory=random.SystemRandom)
    accreditations: AccreditationCache = field(init=False)
    login_failures: FailureLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.accreditations = AccreditationCache(
            self.ledger, ttl=self.settings.accreditation_cache_ttl
        )
        # Failed client-secret checks per client id (issue 13 item 13); per client
        # address they are limited by the `FailureLimit` middleware.
        self.login_failures = FailureLimiter(
            limit=self.settings.login_failures_per_account,
            window=self.settings.login_failure_window,
            clock=lambda: self.clock().timestamp(),
        )

    def session(self) -> Session:
        """A session for work that writes (on SQLite its transaction takes the write lock)."""
        return Session(self.engine, expire_on_commit=False)

    def read_session(self) -> Session:
        """A session that only reads: on SQLite it does not wait for, or block, writers."""
        return Session(read_only(self.engine), expire_on_commit=False)

    def now_s(self) -> int:
        return int(self.clock().timestamp())

    @property
    def base(self) -> str:
        return self.settings.base

    def issuer_id(self, agency: str) -> str:
        """The Credential Issuer Identifier of an agency (OpenID4VCI §12.2.1).

        The default agency (one issuer process per agency, as in compose and
        `govid up`) is the bare base URL, so its metadata sits at
        `/.well-known/openid-credential-issuer`; others get a path.
        """
        if agency == self.settings.default_agency:
            return self.base
        return f"{self.base}/agencies/{agency}"

    def status_uri(self, agency: str, list_id: int) -> str:
        return f"{self.base}/status/{agency}/{list_id}"
