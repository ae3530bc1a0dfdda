"""A deployment's trust policy: whom a counter believes, and how stale it may be.

One `TrustPolicy` per verifier deployment (from `verifier.settings`):

- `root_did`: the root authority; accreditations must lead back to it;
- `ledger`: the log's key and origin, the witnesses and how many must cosign,
  and the maximum age of a cosignature (`LedgerTrust.max_checkpoint_age`):
  this bounds how old a cached checkpoint may be;
- `accepted_vcts`: the credential types this deployment accepts at all
  (None: any type the issuer is accredited for);
- `skew`: the clock skew allowed on `exp`/`nbf`/`iat`;
- `kb_max_age`: how old a Key Binding JWT may be;
- `status_list_max_age`: how old a status list token (its `iat`) may be;
- `require_status`: whether a credential without a status reference is refused.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Final

from did.jose import DEFAULT_ALGS
from did.sd_jwt import DEFAULT_KB_MAX_AGE
from did.validity import DEFAULT_SKEW
from registry.proofs import LedgerTrust

__all__ = ["DEFAULT_STATUS_LIST_MAX_AGE", "TrustPolicy"]

# Not in a spec: a day. Issuers republish at least daily (the ledger's status
# list rule); a suspended credential is then caught within that bound even if
# a registry served an old publication (method spec §8.4).
DEFAULT_STATUS_LIST_MAX_AGE: Final = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    root_did: str
    ledger: LedgerTrust
    accepted_vcts: frozenset[str] | None = None
    skew: timedelta = DEFAULT_SKEW
    kb_max_age: timedelta = DEFAULT_KB_MAX_AGE
    status_list_max_age: timedelta = DEFAULT_STATUS_LIST_MAX_AGE
    require_status: bool = True
    algs: Collection[str] = field(default=DEFAULT_ALGS)
    unsafe_allow_unwitnessed: bool = False

    def __post_init__(self) -> None:
        # A counter trusts a witness-cosigned checkpoint, never the operator alone
        # (ARCHITECTURE "The pieces"); the escape hatch says UNSAFE in its name.
        if self.ledger.policy is None and not self.unsafe_allow_unwitnessed:
            raise ValueError("a verifier's ledger trust needs a witness policy")
        if self.accepted_vcts is not None:
            object.__setattr__(self, "accepted_vcts", frozenset(self.accepted_vcts))
