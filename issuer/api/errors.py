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
    AccessTokenInvalid,
    ClaimsInvalid,
    ClientInvalid,
    ClientLocked,
    CredentialRequestDenied,
    CredentialRequestInvalid,
    GrantInvalid,
    GrantTypeUnsupported,
    NonceInvalid,
    ProofInvalid,
    ScopeMissing,
    TokenRequestInvalid,
    UnknownCredentialConfiguration,
    UnknownCredentialIdentifier,
)
from service.handlers import install_error_handlers as _install
from service.http_status import error_body, headers_for, status_for

__all__ = ["install_error_handlers", "protocol_error"]

# Most specific first.
_PROTOCOL: Final[tuple[tuple[type[GovidError], str, int], ...]] = (
    (GrantTypeUnsupported, "unsupported_grant_type", 400),
    (TokenRequestInvalid, "invalid_request", 400),
    (GrantInvalid, "invalid_grant", 400),
    # RFC 6749 §5.2 has no code for "locked"; 429 (RFC 6585 §4) says when to come back.
    (ClientLocked, "invalid_client", 429),
    (ClientInvalid, "invalid_client", 401),
    (AccessTokenInvalid, "invalid_token", 401),
    (ScopeMissing, "insufficient_scope", 403),
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
    mapped = protocol_error(exc)
    if mapped is not None:
        error, status = mapped
        body = {"error": error, "error_description": exc.message, "govid_error": exc.code}
        headers = dict(_NO_STORE)
        if isinstance(exc, ClientLocked):
            headers["Retry-After"] = str(exc.retry_after)
        if status == 401:
            scheme = "Basic" if isinstance(exc, ClientInvalid) else "Bearer"
            headers["WWW-Authenticate"] = f'{scheme} error="{error}"'
        return JSONResponse(body, status_code=status, headers=headers)
    payload = error_body(exc)
    if isinstance(exc, ClaimsInvalid):
        payload["path"] = list(exc.path)
    headers = {**headers_for(exc), **_NO_STORE}
    return JSONResponse(payload, status_code=status_for(exc), headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    _install(app, render=_render)
