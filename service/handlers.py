"""The exception handlers of every govid service: each failure becomes a `GovidError`, once.

FastAPI's own failures (a request that does not match the schema, a route
that does not exist), the database's (unreachable: 503; a value it cannot
store, such as a NUL byte in PostgreSQL text: 400) and govid's errors all
reach one `render` function as a `GovidError`. The default renders govid's
JSON body (`service.http_status.error_body`) with the status of the one
table; a service whose protocol fixes another vocabulary (OAuth, OpenID4VCI,
OpenID4VP) or that answers with pages passes its own `render`.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from did.errors import GovidError, Unavailable
from service.errors import RequestInvalid, http_error
from service.http_status import error_body, headers_for, status_for

__all__ = ["Render", "as_govid_error", "install_error_handlers", "render_error"]

Render = Callable[[Request, GovidError], Response]
# Enough to find the mistake, not a listing of a hostile request.
_MAX_FIELDS = 5


def as_govid_error(exc: Exception) -> GovidError:
    """The govid error a handled exception stands for (see the module docstring)."""
    if isinstance(exc, GovidError):
        return exc
    if isinstance(exc, RequestValidationError):
        # FastAPI's default answer echoes the input back; it may be personal data.
        where = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()]
        return RequestInvalid(
            "the request does not match the API schema", fields=where[:_MAX_FIELDS]
        )
    if isinstance(exc, DataError):
        # The database refused a value the request carried (a NUL byte in text on
        # PostgreSQL, a number out of a column's range): bad input, not our fault.
        return RequestInvalid("the request holds a value that cannot be stored or looked up")
    if isinstance(exc, OperationalError):
        return Unavailable("the database is unavailable")
    if isinstance(exc, StarletteHTTPException):
        return http_error(exc.status_code, str(exc.detail))
    raise TypeError(f"no govid error stands for {type(exc).__name__}")


def render_error(_: Request, exc: GovidError) -> Response:
    """govid's JSON error body with the status of the one table."""
    return JSONResponse(error_body(exc), status_code=status_for(exc), headers=headers_for(exc))


def install_error_handlers(app: FastAPI, *, render: Render = render_error) -> None:
    """Send every failure listed in the module docstring through `render`."""

    async def handle(request: Request, exc: Exception) -> Response:
        response = render(request, as_govid_error(exc))
        if isinstance(exc, StarletteHTTPException) and exc.headers:
            response.headers.update(exc.headers)  # `Allow` on a 405
        return response

    for kind in (
        GovidError,
        RequestValidationError,
        DataError,
        OperationalError,
        StarletteHTTPException,
    ):
        app.add_exception_handler(kind, handle)
