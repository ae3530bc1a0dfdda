"""The only module of the registry that knows both govid errors and HTTP.

`validation_error`, `database_down` and `http_error` answer the same for every
service; the issuer's and verifier's error modules reuse them.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from did.errors import GovidError
from service.http_status import error_body, status_for


async def _govid_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GovidError)
    return JSONResponse(error_body(exc), status_code=status_for(exc))


async def validation_error(_: Request, exc: Exception) -> JSONResponse:
    # FastAPI's default echoes the input back; it may be personal data.
    assert isinstance(exc, RequestValidationError)
    where = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()][:5]
    body = {
        "error": "request.invalid",
        "error_description": "the request does not match the API schema",
        "fields": where,
    }
    return JSONResponse(body, status_code=400)


async def database_down(_: Request, exc: Exception) -> JSONResponse:
    body = {"error": "service.unavailable", "error_description": "the database is unavailable"}
    return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})


async def _value_refused(_: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the request carried (a NUL byte in text on
    # PostgreSQL, a number out of a column's range): bad input, not our fault.
    body = {
        "error": "request.invalid",
        "error_description": "the request holds a value that cannot be stored or looked up",
    }
    return JSONResponse(body, status_code=400)


async def http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    body = {"error": f"http.{exc.status_code}", "error_description": str(exc.detail)}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GovidError, _govid_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(OperationalError, database_down)
    app.add_exception_handler(DataError, _value_refused)
    app.add_exception_handler(StarletteHTTPException, http_error)
