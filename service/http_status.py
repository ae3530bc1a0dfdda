"""The HTTP status of every govid error: one table, used by every service.

No web framework here: the exception handlers (`service.handlers`), the ASGI
limits (`service.limits`) and the pages of the wallet all ask `status_for`.
Most specific first; anything unlisted is a govid bug and answers 500.
"""

from __future__ import annotations

from typing import Final

from did.errors import (
    Conflict,
    Forbidden,
    GovidError,
    MalformedInput,
    NotFound,
    Unauthorized,
    Unavailable,
    Unsupported,
    VerificationFailed,
)
from service.errors import (
    HTTPMethodNotAllowed,
    RateLimited,
    RequestInvalid,
    RequestTimeout,
    RequestTooLarge,
)

__all__ = ["error_body", "headers_for", "status_for"]

_STATUS_BY_KIND: Final[tuple[tuple[type[GovidError], int], ...]] = (
    (RequestTooLarge, 413),
    (RequestTimeout, 408),
    (RateLimited, 429),
    (HTTPMethodNotAllowed, 405),
    (MalformedInput, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (VerificationFailed, 422),
    (Unsupported, 501),
    (Unavailable, 503),
)


def status_for(exc: GovidError) -> int:
    """The HTTP status for `exc`: 4xx for the caller's errors, 503 when a dependency is down."""
    return next((status for kind, status in _STATUS_BY_KIND if isinstance(exc, kind)), 500)


def error_body(exc: GovidError) -> dict[str, object]:
    """`{"error": code, "error_description": sentence}`: OAuth's field names, govid's codes.

    A request that does not match the API schema also names the fields
    (`fields`, at most five paths; never their values).
    """
    body: dict[str, object] = {"error": exc.code, "error_description": exc.message}
    if isinstance(exc, RequestInvalid) and exc.fields is not None:
        body["fields"] = list(exc.fields)
    return body


def headers_for(exc: GovidError) -> dict[str, str]:
    """Headers the answer needs: when to retry (RFC 9110 §10.2.3) after an outage or a limit."""
    if isinstance(exc, RateLimited):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, Unavailable):
        return {"Retry-After": "1"}
    return {}
