"""The write quota's window, with an injected clock (method spec §10.1)."""

from __future__ import annotations

import pytest

from registry.write_quota import WriteQuota, WriteQuotaExceeded


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_at_most_n_in_any_sixty_seconds() -> None:
    clock = Clock()
    quota = WriteQuota(per_minute=3, clock=clock)
    for step in (0.0, 10.0, 20.0):
        clock.now += step
        quota.take("a")
    with pytest.raises(WriteQuotaExceeded) as exc:
        quota.take("a")
    # The oldest write (at 1000) leaves the window at 1060; now is 1030.
    assert exc.value.retry_after == 30 and exc.value.code == "ledger.write_quota_exceeded"
    quota.take("b")  # another client has its own window
    clock.now = 1060.0
    quota.take("a")  # the first write has left the window
    with pytest.raises(WriteQuotaExceeded):
        quota.take("a")


def test_a_refund_frees_its_slot_and_only_once() -> None:
    clock = Clock()
    quota = WriteQuota(per_minute=2, clock=clock)
    first = quota.take("a")
    quota.take("a")
    quota.refund(first)
    quota.refund(first)  # a second refund frees nothing more
    quota.take("a")
    with pytest.raises(WriteQuotaExceeded):
        quota.take("a")


def test_retry_after_is_at_least_one_second() -> None:
    clock = Clock()
    quota = WriteQuota(per_minute=1, clock=clock)
    quota.take("a")
    clock.now += 59.9
    with pytest.raises(WriteQuotaExceeded) as exc:
        quota.take("a")
    assert exc.value.retry_after == 1


def test_memory_is_bounded_by_max_clients() -> None:
    quota = WriteQuota(per_minute=1, clock=Clock(), max_clients=2)
    for client in ("a", "b", "c"):
        quota.take(client)
    quota.take("a")  # "a" was the least recently seen: forgotten, so counted afresh
    with pytest.raises(WriteQuotaExceeded):
        quota.take("c")


def test_a_quota_allows_at_least_one_write() -> None:
    with pytest.raises(ValueError, match="at least one"):
        WriteQuota(per_minute=0)
