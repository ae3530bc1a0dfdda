"""Request body and rate limits as plain ASGI middleware (no framework needed).

A declared `Content-Length` over the limit is refused before reading; a
chunked body is counted as it streams and cut off at the limit. Either way the
answer is 413 with a govid error body, and the route never runs.
"""

from __future__ import annotations

import asyncio
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


class _TooSlow(Exception):
    pass


# A client has this long to send its whole body: uvicorn bounds the headers and
# idle keep-alive, not a body trickled a byte at a time (slowloris).
DEFAULT_BODY_TIMEOUT = 30.0


class BodySizeLimit:
    """Bounds every request body in size (413) and in the time to receive it (408)."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, body_timeout: float = DEFAULT_BODY_TIMEOUT
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # No identifier, query or form value of any govid API contains a NUL:
        # refuse it at the door rather than let each database decide.
        if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b"").lower():
            await _reply(send, 400, _NUL_BODY)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await _reply(send, 413, _BODY)
                    return
        seen = 0
        started = False
        deadline = asyncio.get_running_loop().time() + self.body_timeout
        body_done = False

        async def limited_receive() -> Message:
            nonlocal seen, body_done
            if body_done:  # after the body, receive() waits for a disconnect: unbounded
                return await receive()
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                message = await asyncio.wait_for(receive(), timeout=max(remaining, 0.001))
            except TimeoutError as exc:
                raise _TooSlow from exc
            if message["type"] == "http.request":
                body_done = not message.get("more_body", False)
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
                await _reply(send, 413, _BODY)
        except _TooSlow:
            if not started:
                await _reply(send, 408, _SLOW_BODY)


_NUL_BODY = json.dumps(
    {"error": "request.invalid", "error_description": "the request contains a NUL character"}
).encode()
_SLOW_BODY = json.dumps(
    {"error": "request.timeout", "error_description": "the request body took too long to send"}
).encode()


async def _reply(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


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
