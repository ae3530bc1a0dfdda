"""The only module of the verifier that knows both govid errors and HTTP.

Where a protocol fixes the vocabulary the adapter emits it and keeps the
govid code alongside (`govid_error`): OpenID4VP's `invalid_request` at the
wallet-facing endpoints (`/openid4vp/...`), OAuth's codes (`invalid_client`
at the token endpoint, `invalid_token` for a missing or bad access token)
as `service.oauth` shapes them for every service.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from did.errors import GovidError, NotFound
from did.http_status import error_body, status_for
from registry.api.errors import database_down as _database_down
from service.oauth import oauth_error_response

_WALLET_PREFIX = "/openid4vp/"


def _protocol_body(request: Request, code: str, description: str) -> dict[str, str] | None:
    if request.url.path.startswith(_WALLET_PREFIX):
        return {"error": "invalid_request", "error_description": description, "govid_error": code}
    return None


async def _govid_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GovidError)
    status = status_for(exc)
    oauth = oauth_error_response(exc)
    if oauth is not None:
        status, body, headers = oauth
        return JSONResponse(body, status_code=status, headers=headers)
    wallet = _protocol_body(request, exc.code, exc.message)
    if wallet is not None:
        # A hostile wallet gets the protocol's 4xx, never a 500, whatever the failure.
        return JSONResponse(wallet, status_code=404 if isinstance(exc, NotFound) else 400)
    return JSONResponse(error_body(exc), status_code=status)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's default echoes the input back; it may be personal data.
    assert isinstance(exc, RequestValidationError)
    where = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()][:5]
    description = "the request does not match the API schema"
    wallet = _protocol_body(request, "request.invalid", description)
    if wallet is not None:
        return JSONResponse(wallet, status_code=400)
    body = {"error": "request.invalid", "error_description": description, "fields": where}
    return JSONResponse(body, status_code=400)


async def _value_refused(request: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the request carried (a NUL byte in text on
    # PostgreSQL, a number out of a column's range): bad input, not our fault.
    description = "the request holds a value that cannot be stored or looked up"
    wallet = _protocol_body(request, "request.invalid", description)
    body = wallet or {"error": "request.invalid", "error_description": description}
    return JSONResponse(body, status_code=400)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    wallet = _protocol_body(request, f"http.{exc.status_code}", str(exc.detail))
    if wallet is not None and 400 <= exc.status_code < 500:
        return JSONResponse(wallet, status_code=exc.status_code)
    body = {"error": f"http.{exc.status_code}", "error_description": str(exc.detail)}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GovidError, _govid_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(DataError, _value_refused)
    app.add_exception_handler(StarletteHTTPException, _http_error)
