"""Credential status: the wallet reads the issuer's status list from the ledger.

Token Status List §8.3, on the holder's side: the list token is taken from
the ledger (`status_list.publish`, proven by `registry.client`), not from the
issuer's web copy, so an issuer cannot show the wallet a different list than
the counters see. Its signature is checked with the key of the issuer's DID
the token's `kid` names; then each copy's entry is read. A credential is
`revoked` if any copy is, `suspended` if any copy is, `valid` if all are, and
`unknown` when the list could not be read (the wallet says so, it does not
guess).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from did.errors import GovidError, StatusListTokenInvalid
from did.jose import parse_unverified_jws
from did.status_list import StatusReference, StatusType
from did.status_list_token import status_of, verify_status_list_token
from holder_wallet.ledger import Ledger

__all__ = ["STATES", "check_status", "combine"]

STATES: Final = ("valid", "suspended", "revoked", "unknown")
_NAMES: Final = {
    StatusType.VALID: "valid",
    StatusType.INVALID: "revoked",
    StatusType.SUSPENDED: "suspended",
}


def check_status(
    status_claim: Mapping[str, Any] | None, *, iss: str, ledger: Ledger, now: datetime
) -> str:
    """`valid`, `suspended`, `revoked` or `unknown` for one copy's `status` claim."""
    if status_claim is None:
        return "valid"  # SD-JWT VC §3.2.2.2: without a status claim there is nothing to revoke
    try:
        reference = StatusReference.parse(status_claim)
        token = ledger.status_list_token(iss, reference.uri)  # a list is (issuer, uri)
        kid = parse_unverified_jws(token).header.get("kid")
        if not isinstance(kid, str):
            raise StatusListTokenInvalid("the status list token names no key")
        key = ledger.verification_key(kid, did=iss, relationships=("assertionMethod",))
        verified = verify_status_list_token(token, key=key, expected_uri=reference.uri, now=now)
        return _NAMES.get(status_of(reference, verified), "unknown")
    except GovidError:
        return "unknown"


def combine(states: Sequence[str]) -> str:
    """The credential's state from its copies' (worst first: revoked, suspended, unknown)."""
    for state in ("revoked", "suspended", "unknown"):
        if state in states:
            return state
    return "valid" if states else "unknown"
