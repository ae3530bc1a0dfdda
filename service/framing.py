"""No page of a govid service may be framed by another site (clickjacking, issue 13 item 13).

Every response gets `Content-Security-Policy: frame-ancestors 'none'` (CSP
Level 3 §6.4.2), and `X-Frame-Options: DENY` (RFC 7034) for browsers older
than CSP 2, unless the route set its own. A page whose own policy already
has a `frame-ancestors` directive keeps it alone; any other policy is kept
and this one added beside it (a browser enforces every CSP header it
receives, CSP Level 3 §4.1).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["NoFraming"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_CSP = (b"content-security-policy", b"frame-ancestors 'none'")
_XFO = (b"x-frame-options", b"DENY")


class NoFraming:
    """ASGI middleware adding the two anti-framing headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def framed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name.lower() == _XFO[0] for name, _ in headers):
                    headers.append(_XFO)
                policies = [v.lower() for n, v in headers if n.lower() == _CSP[0]]
                if not any(b"frame-ancestors" in policy for policy in policies):
                    headers.append(_CSP)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, framed_send)
