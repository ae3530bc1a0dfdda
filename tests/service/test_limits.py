"""The failure limit as ASGI middleware, driven directly: charged on arrival, refunded on success.

The attack over real HTTP against real services is in
`tests/security/test_rate_limits.py`; here the clock is injected and the
route is held open until the test releases it, so concurrency is exact.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from service.limits import FailureLimit, Message, Receive, Scope, Send

LIMIT = 30


class HeldRoute:
    """An ASGI app that answers `status` once released; counts the requests it saw."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.seen = 0
        self.release = asyncio.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen += 1
        await self.release.wait()
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


async def _call(app: Any, client: str = "10.0.0.1") -> tuple[int, dict[str, str], bytes]:
    scope = {"type": "http", "method": "POST", "path": "/token", "client": (client, 5000)}
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent[1:])


def _limit(route: Any, now: list[float]) -> FailureLimit:
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    return FailureLimit(route, paths=[("POST", "/token")], per_minute=LIMIT, clock=clock)


def test_concurrent_failures_cannot_outrun_the_bucket() -> None:
    async def attack() -> tuple[int, list[int]]:
        route = HeldRoute(401)
        limit = _limit(route, [0.0])
        calls = [asyncio.create_task(_call(limit)) for _ in range(2 * LIMIT)]
        # Every request has arrived (and been let through or refused) before any
        # failure is answered: the case that charging on the answer got wrong.
        while route.seen + sum(t.done() for t in calls) < 2 * LIMIT:
            await asyncio.sleep(0)
        route.release.set()
        return route.seen, [status for status, _, _ in await asyncio.gather(*calls)]

    seen, statuses = asyncio.run(attack())
    assert seen == LIMIT
    assert statuses.count(401) == LIMIT and statuses.count(429) == LIMIT


def test_successes_give_their_token_back_so_honest_traffic_is_never_slowed() -> None:
    async def honest() -> list[int]:
        route = HeldRoute(200)
        route.release.set()
        limit = _limit(route, [0.0])
        statuses = [(await _call(limit))[0] for _ in range(10 * LIMIT)]
        # As many in flight as the bucket holds, all succeeding: all get through.
        route.release.clear()
        held = [asyncio.create_task(_call(limit)) for _ in range(LIMIT)]
        while route.seen < 10 * LIMIT + LIMIT:
            await asyncio.sleep(0)
        route.release.set()
        statuses += [status for status, _, _ in await asyncio.gather(*held)]
        return statuses

    assert set(asyncio.run(honest())) == {200}


def test_refused_request_says_when_to_retry_with_its_code() -> None:
    async def run() -> tuple[int, dict[str, str], bytes]:
        route = HeldRoute(401)
        route.release.set()
        limit = _limit(route, [0.0])
        for _ in range(LIMIT):
            assert (await _call(limit))[0] == 401
        return await _call(limit)

    status, headers, body = asyncio.run(run())
    assert status == 429 and int(headers["retry-after"]) >= 1
    assert json.loads(body)["error"] == "request.rate_limited"


def test_bucket_refills_and_is_per_client_and_bounded() -> None:
    now = [0.0]

    async def run() -> None:
        route = HeldRoute(401)
        route.release.set()
        limit = _limit(route, now)
        for _ in range(LIMIT):
            await _call(limit, "10.0.0.1")
        assert (await _call(limit, "10.0.0.1"))[0] == 429
        assert (await _call(limit, "10.0.0.2"))[0] == 401  # others are not held back
        now[0] += 2.0  # one failure's worth refilled
        assert (await _call(limit, "10.0.0.1"))[0] == 401
        assert (await _call(limit, "10.0.0.1"))[0] == 429
        now[0] += 3600
        assert limit._tokens("10.0.0.1") == LIMIT  # never more than the burst
        small = FailureLimit(route, paths=[("POST", "/")], per_minute=LIMIT, max_clients=3)
        for i in range(10):
            await _call(small, f"10.0.1.{i}")
        assert len(small._buckets) == 3  # memory stays bounded

    asyncio.run(run())


def test_a_request_cut_short_keeps_its_charge() -> None:
    class Boom(Exception):
        pass

    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        raise Boom

    async def run() -> float:
        limit = _limit(failing, [0.0])
        for _ in range(3):
            try:
                await _call(limit)
            except Boom:
                pass
        return limit._tokens("10.0.0.1")

    assert asyncio.run(run()) == LIMIT - 3
