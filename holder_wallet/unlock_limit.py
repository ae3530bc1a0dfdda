"""One passphrase check at a time, and a growing wait after wrong ones (issue 13 item 8).

Each check derives a key with Argon2id (64 MiB by default), so a page in the
citizen's own browser that posts guesses could exhaust memory and, given time,
find a weak passphrase. `UnlockLimiter.attempt` therefore

  1. refuses at once when `max_waiting` checks already wait for their turn
     (`wallet.unlock_throttled`, retry in a second);
  2. runs checks one after another (an asyncio lock: a waiting check holds
     no thread and no memory);
  3. refuses a check that comes before the wait after the last wrong
     passphrase is over, saying how long is left;
  4. after a wrong passphrase, sets the next wait: none after the first
     `free_failures` (3: a typo costs nothing), then 1 s, 2 s, 4 s, ... up
     to `max_delay` (15 minutes); a right passphrase clears the count.

The count lives in memory: the wallet serves one citizen on one device, and
a web page cannot restart it.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from holder_wallet.errors import PassphraseWrong, UnlockThrottled

__all__ = ["UnlockLimiter", "delay_after"]

FREE_FAILURES = 3
MAX_DELAY = timedelta(minutes=15)
MAX_WAITING = 3


def delay_after(
    failures: int, *, free: int = FREE_FAILURES, cap: timedelta = MAX_DELAY
) -> timedelta:
    """The wait before the next try after `failures` wrong passphrases in a row."""
    if failures <= free:
        return timedelta(0)
    exponent = min(failures - free - 1, 32)  # 2**32 s is far past any cap
    return min(timedelta(seconds=2**exponent), cap)


def _seconds(span: timedelta) -> int:
    return max(1, math.ceil(span.total_seconds()))


class UnlockLimiter:
    """Serialises passphrase checks and backs off after wrong ones. Time is `clock`."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime],
        free_failures: int = FREE_FAILURES,
        max_delay: timedelta = MAX_DELAY,
        max_waiting: int = MAX_WAITING,
    ) -> None:
        self._clock = clock
        self._free = free_failures
        self._cap = max_delay
        self._max_waiting = max_waiting
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._failures = 0
        self._not_before: datetime | None = None

    @property
    def failures(self) -> int:
        return self._failures

    async def attempt(self, check: Callable[[], Awaitable[None]]) -> None:
        """Run `check` (which raises `PassphraseWrong` on a wrong passphrase) under the limits.

        Raises `UnlockThrottled` without running it, or `PassphraseWrong`
        with the wait before the next try in its message.
        """
        if self._waiting >= self._max_waiting:  # (1)
            raise UnlockThrottled(
                "another unlock is being checked; try again in a moment", retry_after=1
            )
        self._waiting += 1
        try:
            await self._lock.acquire()  # (2)
        finally:
            self._waiting -= 1  # in turn now, or cancelled while waiting
        try:
            await self._attempt_in_turn(check)
        finally:
            self._lock.release()

    async def _attempt_in_turn(self, check: Callable[[], Awaitable[None]]) -> None:
        now = self._clock()
        if self._not_before is not None and now < self._not_before:  # (3)
            left = _seconds(self._not_before - now)
            raise UnlockThrottled(
                f"too many wrong passphrases; try again in {left} seconds", retry_after=left
            )
        try:
            await check()
        except PassphraseWrong as exc:  # (4)
            self._failures += 1
            wait = delay_after(self._failures, free=self._free, cap=self._cap)
            if wait <= timedelta(0):
                raise
            self._not_before = self._clock() + wait
            raise PassphraseWrong(
                f"the passphrase is not correct; wait {_seconds(wait)} seconds before the next try"
            ) from exc
        self._failures, self._not_before = 0, None
