"""Request body and failure limits as plain ASGI middleware (no framework needed).

A declared `Content-Length` over the limit is refused before reading; a
chunked body is counted as it streams and cut off at the limit. Either way the
answer is 413 with a govid error body, and the route never runs. The bodies
are those of the error classes (`service.errors`) with the status of the one
table (`service.http_status`).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from did.errors import GovidError
from service.errors import RateLimited, RequestInvalid, RequestTimeout, RequestTooLarge
from service.http_status import error_body, headers_for, status_for

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
            await _reply(send, RequestInvalid("the request contains a NUL character"))
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = self.max_bytes + 1
                if declared > self.max_bytes:
                    await _reply(send, _too_large())
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
                await _reply(send, _too_large())
        except _TooSlow:
            if not started:
                await _reply(send, RequestTimeout("the request body took too long to send"))


def _too_large() -> RequestTooLarge:
    return RequestTooLarge("the request body is too large")


async def _reply(send: Send, exc: GovidError) -> None:
    """Answer `exc` as the exception handlers would, without the framework."""
    body = json.dumps(error_body(exc)).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in headers_for(exc).items()),
    ]
    await send({"type": "http.response.start", "status": status_for(exc), "headers": headers})
    await send({"type": "http.response.body", "body": body})


class FailureLimit:
    """Per-client limits on *failed* requests to chosen endpoints (plain ASGI).

    Guessing a client secret, a transaction code or a session state shows up
    as a run of 4xx answers. Each client address has a bucket of `per_minute`
    tokens, refilled continuously. A request to a limited endpoint takes a
    token when it arrives, before the route runs, and gives it back when its
    answer is not a 4xx (or is a 429): so only failures stay charged, and a
    burst of concurrent guesses can have no more requests in flight than the
    bucket holds. (Charging on the answer instead let 60 concurrent guesses
    through a limit of 30: all arrived before the first failure was counted.)
    An empty bucket answers 429 with `Retry-After` before the route runs.

    Honest traffic is slowed only if a client keeps more requests in flight
    on these endpoints than it has tokens left (30 at rest). The client is
    the TCP peer: uvicorn rewrites it from `X-Forwarded-For` only for the
    proxies the settings list (`service.serving`). Buckets live in memory,
    per process, at most `max_clients` of them (least recently seen dropped
    first).
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
        """The client's tokens now, refilled since it was last seen."""
        now = self.clock()
        tokens, last = self._buckets.pop(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        self._buckets[client] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return tokens

    def _add(self, client: str, delta: float) -> None:
        tokens = self._tokens(client)
        self._buckets[client] = (min(self.burst, max(0.0, tokens + delta)), self.clock())

    def _take(self, client: str) -> int | None:
        """Take a token for a request; None if it may go on, else seconds to wait."""
        tokens = self._tokens(client)
        if tokens < 1:
            return max(1, math.ceil((1 - tokens) / self.rate))
        self._add(client, -1)
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.rate <= 0 or not self._limited(scope):
            await self.app(scope, receive, send)
            return
        client = str((scope.get("client") or ("unknown", 0))[0])
        # The check and the charge happen in one step, with no await between
        # them: concurrent requests see each other's charges.
        wait = self._take(client)
        if wait is not None:
            await _reply(
                send, RateLimited("too many failed requests; retry later", retry_after=wait)
            )
            return
        answered = False

        async def settling_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start" and not answered:
                answered = True
                status = message["status"]
                if not 400 <= status < 500 or status == 429:
                    self._add(client, +1)  # not a failure: the token goes back
            await send(message)

        # A request that ends without an answer (an exception, a disconnect)
        # keeps its token: it may have been a guess whose answer was cut short.
        await self.app(scope, receive, settling_send)
