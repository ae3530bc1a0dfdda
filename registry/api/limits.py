"""Request body and rate limits as plain ASGI middleware (no framework needed).

A declared `Content-Length` over the limit is refused before reading; a
chunked body is counted as it streams and cut off at the limit. Either way the
answer is 413 with a govid error body, and the route never runs.
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_BODY = json.dumps(
    {"error": "request.too_large", "error_description": "the request body is too large"}
).encode()


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await _reply_413(send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _reply_413(send)


async def _reply_413(send: Send) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_BODY)).encode()),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": _BODY})


class FailureLimit:
    """Per-client limits on *failed* requests to chosen endpoints (plain ASGI).

    Guessing a client secret, a transaction code or a session state shows up
    as a run of 4xx answers. Each 4xx answer (but 429 itself) takes a token
    from the client address's bucket on those endpoints: `per_minute`
    failures, refilled continuously, with a burst of the same size. An empty
    bucket answers 429 with `Retry-After` before the route runs, so honest
    traffic, however heavy, is never slowed. Buckets live in memory, per
    process, at most `max_clients` of them (least recently seen dropped
    first). Behind a reverse proxy all clients share its address: limit there
    too.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        paths: Sequence[tuple[str, str]],
        per_minute: int,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        self.app = app
        self.paths = tuple(paths)
        self.rate = per_minute / 60.0
        self.burst = float(per_minute)
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def _limited(self, scope: Scope) -> bool:
        method, path = scope.get("method", ""), scope.get("path", "")
        return any(method == m and path.startswith(p) for m, p in self.paths)

    def _tokens(self, client: str) -> float:
        now = self.clock()
        tokens, last = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return tokens

    def _fail(self, client: str) -> None:
        tokens = self._tokens(client)
        self._buckets[client] = (max(0.0, tokens - 1), self.clock())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate <= 0 or not self._limited(scope):
            await self.app(scope, receive, send)
            return
        client = str((scope.get("client") or ("unknown", 0))[0])
        tokens = self._tokens(client)
        if tokens < 1:
            wait = max(1, math.ceil((1 - tokens) / self.rate))
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(_RATE_BODY)).encode()),
                (b"retry-after", str(wait).encode()),
            ]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": _RATE_BODY})
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and 400 <= message["status"] < 500:
                if message["status"] != 429:
                    self._fail(client)
            await send(message)

        await self.app(scope, receive, counting_send)


_RATE_BODY = json.dumps(
    {"error": "request.rate_limited", "error_description": "too many failed requests; retry later"}
).encode()
