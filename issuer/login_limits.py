"""A limit on failed client-secret checks per account (client id), from any address.

A check is charged *before* the secret is compared and refunded only when it
succeeds, so requests that arrive together are counted together: with
`limit` L, at most L wrong secrets for one key are ever compared in any
`window` seconds, however many are in flight (the failure limit of issue 13
item 13; item 3 is the same lesson for the shared middleware, which limits
failures per client address). When a key is full every check for it is
refused, the right secret included, until its oldest failure leaves the
window: otherwise the lock would only slow a guesser spread over many
addresses down, not stop it.

In memory, per process, at most `max_keys` keys (least recently charged
dropped first). The clock is an argument: tests move it.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from service.oauth import ClientLocked

__all__ = ["FailureLimiter", "Ticket"]


@dataclass(frozen=True, slots=True)
class Ticket:
    """The charges of one check, handed back to `refund` when the check succeeded."""

    keys: tuple[str, ...]
    at: float


class FailureLimiter:
    def __init__(
        self,
        *,
        limit: int,
        window: float,
        clock: Callable[[], float],
        max_keys: int = 10_000,
    ) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a failure limit needs limit >= 1 and a positive window")
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._lock = threading.Lock()
        self._charges: OrderedDict[str, deque[float]] = OrderedDict()

    def _live(self, key: str, now: float) -> deque[float]:
        charges = self._charges.pop(key, None) or deque()
        while charges and charges[0] <= now - self.window:
            charges.popleft()
        self._charges[key] = charges  # most recently used last
        return charges

    def charge(self, keys: Sequence[str]) -> Ticket:
        """Charge one check to every key, or raise `ClientLocked` and charge none."""
        now = self.clock()
        with self._lock:
            live = [self._live(k, now) for k in keys]
            full = [c for c in live if len(c) >= self.limit]
            if full:
                free_at = max(c[0] for c in full) + self.window
                raise ClientLocked(
                    "too many failed sign-ins; try again later",
                    retry_after=max(1, math.ceil(free_at - now)),
                )
            for charges in live:
                charges.append(now)
            while len(self._charges) > self.max_keys:
                self._charges.popitem(last=False)
        return Ticket(tuple(keys), now)

    def refund(self, ticket: Ticket) -> None:
        """The check succeeded: it was not a failure."""
        with self._lock:
            for key in ticket.keys:
                charges = self._charges.get(key)
                if charges is not None and ticket.at in charges:
                    charges.remove(ticket.at)
