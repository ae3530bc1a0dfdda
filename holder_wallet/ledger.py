"""What the wallet asks the ledger, each answer verified by `registry.client`.

`Ledger` is the domain's protocol; `RegistryLedger` backs it with a
`RegistryClient` (proofs checked against the pinned log key and witnesses,
`did:govid` documents recomputed from the proven chain). Tests use the same
class against a real registry on loopback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

import httpx

from did.document import Relationship
from did.errors import VerificationMethodNotFound
from did.keys import PublicKey
from did.methods.jwk import DIDJWKResolver
from did.resolver import Resolver
from registry.client import GovidMethodResolver, RegistryClient
from registry.proofs import LedgerTrust
from registry.state import Accreditation

__all__ = ["Ledger", "RegistryLedger"]


class Ledger(Protocol):
    def verification_key(
        self, kid: str, *, did: str, relationships: Sequence[Relationship]
    ) -> PublicKey:
        """The key `kid` names, if it is a current key of `did` for one of `relationships`."""
        ...

    def accreditations(self, did: str) -> Sequence[Accreditation]: ...

    def status_list_token(self, issuer: str, uri: str) -> str:
        """The latest token `issuer` published for its list `uri` (method spec §5.7)."""
        ...


class RegistryLedger:
    def __init__(
        self,
        base_url: str,
        *,
        trust: LedgerTrust,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        http: httpx.Client | None = None,
    ) -> None:
        self.client = RegistryClient(base_url, trust=trust, client=http, clock=clock)
        self._resolver = Resolver([GovidMethodResolver(self.client), DIDJWKResolver()], clock=clock)

    def close(self) -> None:
        self.client.close()

    def verification_key(
        self, kid: str, *, did: str, relationships: Sequence[Relationship]
    ) -> PublicKey:
        last: VerificationMethodNotFound | None = None
        for relationship in relationships:
            try:
                return self._resolver.resolve_verification_key(
                    kid, issuer=did, relationship=relationship
                )
            except VerificationMethodNotFound as exc:
                last = exc
        raise last or VerificationMethodNotFound("the DID has no such key")

    def accreditations(self, did: str) -> Sequence[Accreditation]:
        return self.client.accreditations(did)

    def status_list_token(self, issuer: str, uri: str) -> str:
        token, _sequence = self.client.status_list_token(issuer, uri)
        return token
