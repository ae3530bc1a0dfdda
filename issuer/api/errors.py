"""The only module of the issuer that knows both govid errors and HTTP.

Protocol endpoints answer with the protocol's vocabulary (RFC 6749 §5.2,
RFC 6750 §3.1, OpenID4VCI 1.0 §8.3.1.2) in `error`, and keep govid's stable
code alongside in `govid_error`. Everything else answers govid's own body
(`did.http_status.error_body`); a claim set failing its schema adds `path`.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from did.errors import GovidError
from did.http_status import error_body, status_for
from issuer.errors import (
    ClaimsInvalid,
    CredentialRequestDenied,
    CredentialRequestInvalid,
    NonceInvalid,
    ProofInvalid,
    UnknownCredentialConfiguration,
    UnknownCredentialIdentifier,
)
from registry.api.errors import database_down as _database_down
from registry.api.errors import http_error as _http_error
from registry.api.errors import validation_error as _validation_error
from service.oauth import oauth_error_response

__all__ = ["install_error_handlers", "protocol_error"]

# OpenID4VCI 1.0 §8.3.1.2 credential endpoint errors, most specific first. The
# OAuth ones (RFC 6749 §5.2, RFC 6750 §3.1) carry their own: `service.oauth`.
_PROTOCOL: Final[tuple[tuple[type[GovidError], str, int], ...]] = (
    (ProofInvalid, "invalid_proof", 400),
    (NonceInvalid, "invalid_nonce", 400),
    (UnknownCredentialConfiguration, "unknown_credential_configuration", 400),
    (UnknownCredentialIdentifier, "unknown_credential_identifier", 400),
    (CredentialRequestInvalid, "invalid_credential_request", 400),
    (CredentialRequestDenied, "credential_request_denied", 400),
)
_NO_STORE: Final = {"Cache-Control": "no-store"}


def protocol_error(exc: GovidError) -> tuple[str, int] | None:
    return next(((e, s) for kind, e, s in _PROTOCOL if isinstance(exc, kind)), None)


async def _govid_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GovidError)
    oauth = oauth_error_response(exc)
    if oauth is not None:
        status, body, headers = oauth
        return JSONResponse(body, status_code=status, headers=headers)
    mapped = protocol_error(exc)
    if mapped is not None:
        error, status = mapped
        body = {"error": error, "error_description": exc.message, "govid_error": exc.code}
        return JSONResponse(body, status_code=status, headers=_NO_STORE)
    payload: dict[str, object] = dict(error_body(exc))
    if isinstance(exc, ClaimsInvalid):
        payload["path"] = list(exc.path)
    return JSONResponse(payload, status_code=status_for(exc), headers=_NO_STORE)


async def _value_refused(_: Request, exc: Exception) -> JSONResponse:
    # The database refused a value the request carried (a NUL byte in text on
    # PostgreSQL, a number out of a column's range): bad input, not our fault.
    body = {
        "error": "request.invalid",
        "error_description": "the request holds a value that cannot be stored or looked up",
    }
    return JSONResponse(body, status_code=400, headers=_NO_STORE)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GovidError, _govid_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(DataError, _value_refused)
    app.add_exception_handler(StarletteHTTPException, _http_error)
