"""Errors of the shared plumbing: requests refused at the door, HTTP routing, settings.

    MalformedInput
    ├── RequestInvalid         request.invalid      schema mismatch, NUL byte, a value the
    │                                               database refuses
    ├── RequestTooLarge        request.too_large    413, before the route runs
    ├── RequestTimeout         request.timeout      408, the body came too slowly
    ├── HTTPBadRequest         http.400             the framework could not read the request
    └── SettingsInvalid        settings.invalid     a service's settings, at start
    Unauthorized
    └── HTTPUnauthorized       http.401
    Forbidden
    ├── RateLimited            request.rate_limited 429, too many failed requests
    └── HTTPForbidden          http.403
    NotFound
    └── HTTPNotFound           http.404             no such route
    Unsupported
    └── HTTPMethodNotAllowed   http.405             the route exists, not for this method

A database that cannot be reached is `did.errors.Unavailable` itself
(`service.unavailable`). The codes were published as string literals before
they were classes; they are kept as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from did.errors import (
    Forbidden,
    GovidError,
    MalformedInput,
    NotFound,
    Unauthorized,
    Unavailable,
    Unsupported,
)

__all__ = [
    "HTTPBadRequest",
    "HTTPForbidden",
    "HTTPMethodNotAllowed",
    "HTTPNotFound",
    "HTTPUnauthorized",
    "RateLimited",
    "RequestInvalid",
    "RequestTimeout",
    "RequestTooLarge",
    "SettingsInvalid",
    "http_error",
]


class RequestInvalid(MalformedInput):
    """The request is not one the API accepts; `fields` names where (never the values)."""

    code = "request.invalid"

    def __init__(self, message: str, *, fields: Sequence[str] | None = None) -> None:
        super().__init__(message)
        self.fields = None if fields is None else tuple(fields)


class RequestTooLarge(MalformedInput):
    code = "request.too_large"


class RequestTimeout(MalformedInput):
    code = "request.timeout"


class RateLimited(Forbidden):
    """Too many failed requests from one client; `retry_after` is in whole seconds."""

    code = "request.rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SettingsInvalid(MalformedInput):
    """A setting failed validation; the message names variables and reasons, never values."""

    code = "settings.invalid"

    def __init__(self, message: str, *, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        self.problems = tuple(problems)  # (variable, reason)


class HTTPBadRequest(MalformedInput):
    code = "http.400"


class HTTPUnauthorized(Unauthorized):
    code = "http.401"


class HTTPForbidden(Forbidden):
    code = "http.403"


class HTTPNotFound(NotFound):
    code = "http.404"


class HTTPMethodNotAllowed(Unsupported):
    code = "http.405"


_BY_STATUS: Final[dict[int, type[GovidError]]] = {
    400: HTTPBadRequest,
    401: HTTPUnauthorized,
    403: HTTPForbidden,
    404: HTTPNotFound,
    405: HTTPMethodNotAllowed,
}


def http_error(status: int, detail: str) -> GovidError:
    """The govid error for an HTTP error the framework raised (routing, body parsing).

    Starlette and FastAPI raise the statuses of `_BY_STATUS`; any other client
    error is answered as a bad request, a server error as the service being
    unavailable (it is not the caller's fault). Headers the framework set
    (`Allow` on a 405) are the handler's business, not the error's.
    """
    kind = _BY_STATUS.get(status)
    if kind is None:
        if status >= 500:
            return Unavailable("the service cannot answer this request now")
        kind = HTTPBadRequest
    return kind(detail)
