"""How many writes the ledger takes from one client: a sliding window per client.

The ledger is permanent and public (method spec §9), so what an anonymous
client may add to it is bounded: at most `per_minute` *successful* writes in
any 60 seconds per client address (method spec §10.1). A write takes a slot
before it is sequenced and gives it back if the ledger refuses it, so a burst
of concurrent requests cannot slip past the count, and a refused write costs
nothing. Who is not held back (accredited authors, the deployment's own
services) is decided by the HTTP adapter (`registry.api.routes`); this module
only counts.

Pure and in memory, per registry process (one sequencer per deployment); the
clock is an argument. At most `max_clients` windows are kept, least recently
used dropped first, each holding at most `per_minute` timestamps.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from did.errors import Unavailable

__all__ = ["WINDOW_SECONDS", "Slot", "WriteQuota", "WriteQuotaExceeded"]

WINDOW_SECONDS: Final = 60.0


class WriteQuotaExceeded(Unavailable):
    """The client has used its writes for the last minute (HTTP 429 with `Retry-After`).

    Under `Unavailable` for the error tree's sake; the registry's route answers
    it with 429 itself, never 503.
    """

    code = "ledger.write_quota_exceeded"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Slot:
    """One write's place in its client's window; give it back with `WriteQuota.refund`."""

    client: str
    at: float
    serial: int  # two writes in one clock tick are still two slots


class WriteQuota:
    """At most `per_minute` writes per client in any window of 60 seconds."""

    def __init__(
        self,
        *,
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        if per_minute < 1:
            raise ValueError("a quota allows at least one write a minute")
        self.per_minute = per_minute
        self._clock = clock
        self._max_clients = max_clients
        self._windows: OrderedDict[str, deque[tuple[float, int]]] = OrderedDict()
        self._serials = itertools.count()
        self._lock = threading.Lock()

    def take(self, client: str) -> Slot:
        """A slot for one write by `client`, or `WriteQuotaExceeded` with the wait in seconds."""
        now = self._clock()
        with self._lock:
            window = self._windows.pop(client, None) or deque()
            while window and window[0][0] <= now - WINDOW_SECONDS:
                window.popleft()
            self._windows[client] = window
            while len(self._windows) > self._max_clients:
                self._windows.popitem(last=False)
            if len(window) >= self.per_minute:
                wait = max(1, math.ceil(window[0][0] + WINDOW_SECONDS - now))
                raise WriteQuotaExceeded(
                    "this client has reached its quota of writes to the ledger; retry later",
                    retry_after=wait,
                )
            slot = Slot(client, now, next(self._serials))
            window.append((slot.at, slot.serial))
        return slot

    def refund(self, slot: Slot) -> None:
        """Give back the slot of a write the ledger refused."""
        with self._lock:
            window = self._windows.get(slot.client)
            if window is not None:
                try:
                    window.remove((slot.at, slot.serial))
                except ValueError:
                    pass  # already out of the window
