"""Credential status, pure: the allowed transitions and random index allocation.

Token Status List (draft-ietf-oauth-status-list-20): 2 bits per entry so that
SUSPENDED (0x02) can be expressed (§7.1); VALID is 0x00, INVALID (revoked)
0x01. Revocation is final; suspension can be lifted.

Herd privacy (§12.5, §13.2): each credential takes a *random* unused index
of a large list (at least 131,072 entries), and a list is only filled up to
a share of its size, so that indices say nothing about issuance order and a
random draw finds a free slot in a few tries.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Final

from did.keys import PrivateKey
from did.status_list import StatusList, StatusType
from did.status_list_token import build_status_list_token
from issuer.errors import StatusListFull, StatusTransitionInvalid

__all__ = [
    "ACTIONS",
    "STATUS_BITS",
    "STATUS_NAMES",
    "next_status",
    "pick_index",
    "sign_list",
]

STATUS_BITS: Final = 2
STATUS_NAMES: Final = {
    StatusType.VALID: "valid",
    StatusType.INVALID: "revoked",
    StatusType.SUSPENDED: "suspended",
}
ACTIONS: Final = ("revoke", "suspend", "reinstate")
_MAX_DRAWS: Final = 64


def next_status(current: int, action: str) -> int:
    """The status after `action`; repeating an action is a no-op, revocation is final."""
    if action == "revoke":
        return StatusType.INVALID
    if current == StatusType.INVALID:
        raise StatusTransitionInvalid("a revoked credential cannot change status again")
    if action == "suspend":
        return StatusType.SUSPENDED
    if action == "reinstate":
        return StatusType.VALID
    raise ValueError(f"unknown status action {action!r}")


def pick_index(size: int, taken: Callable[[int], bool], rng: random.Random) -> int:
    """A uniformly random index in [0, size) that `taken` says is free.

    The caller keeps lists at most partly full, so each draw succeeds with
    probability >= 1 - fill; 64 failures in a row mean the list is full.
    """
    for _ in range(_MAX_DRAWS):
        idx = rng.randrange(size)
        if not taken(idx):
            return idx
    raise StatusListFull("no free index found in the status list")


def sign_list(
    *,
    size: int,
    changed: Iterable[tuple[int, int]],
    key: PrivateKey,
    kid: str,
    uri: str,
    iat: int,
    validity: int,
    ttl: int,
) -> str:
    """The `statuslist+jwt` (§5.1) for a list of `size` entries, VALID but for `changed`."""
    status_list = StatusList.new(size, STATUS_BITS).with_changes(dict(changed))
    return build_status_list_token(
        status_list, key=key, uri=uri, iat=iat, exp=iat + validity, ttl=ttl, kid=kid
    )
