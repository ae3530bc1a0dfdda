"""The only module of the issuer that knows both govid errors and HTTP.

Protocol endpoints answer with the protocol's vocabulary (RFC 6749 §5.2,
RFC 6750 §3.1, OpenID4VCI 1.0 §8.3.1.2) in `error`, and keep govid's stable
code alongside in `govid_error`. Everything else answers govid's own body
(`service.http_status.error_body`); a claim set failing its schema adds `path`.
The shared handlers (`service.handlers`) bring every failure here as a
`GovidError`; no answer is cached (`Cache-Control: no-store`).
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from did.errors import GovidError
from issuer.errors import (
    ClaimsInvalid,
    CredentialRequestDenied,
    CredentialRequestInvalid,
    NonceInvalid,
    ProofInvalid,
    UnknownCredentialConfiguration,
    UnknownCredentialIdentifier,
)
from service.handlers import install_error_handlers as _install
from service.http_status import error_body, headers_for, status_for
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


def _render(_: Request, exc: GovidError) -> Response:
    oauth = oauth_error_response(exc)
    if oauth is not None:
        status, body, headers = oauth
        return JSONResponse(body, status_code=status, headers=headers)
    mapped = protocol_error(exc)
    if mapped is not None:
        error, status = mapped
        body = {"error": error, "error_description": exc.message, "govid_error": exc.code}
        return JSONResponse(body, status_code=status, headers=_NO_STORE)
    payload = error_body(exc)
    if isinstance(exc, ClaimsInvalid):
        payload["path"] = list(exc.path)
    headers = {**headers_for(exc), **_NO_STORE}
    return JSONResponse(payload, status_code=status_for(exc), headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    _install(app, render=_render)
