"""The HTTP status each error family maps to: one table, used by every service.

Pure (no web framework): each service's `api/errors.py` installs a handler
that calls `status_for`. Most specific family first; anything unlisted is a
govid bug and answers 500.
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

_STATUS_BY_KIND: Final[tuple[tuple[type[GovidError], int], ...]] = (
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


def error_body(exc: GovidError) -> dict[str, str]:
    """`{"error": code, "error_description": sentence}`: OAuth's field names, govid's codes."""
    return {"error": exc.code, "error_description": exc.message}
