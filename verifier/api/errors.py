"""The only module of the verifier that knows both govid errors and HTTP.

Where a protocol fixes the vocabulary the adapter emits it and keeps the
govid code alongside (`govid_error`): OpenID4VP's `invalid_request` at the
wallet-facing endpoints (`/openid4vp/...`), OAuth's codes (`invalid_client`
at the token endpoint, `invalid_token` for a missing or bad access token)
as `service.oauth` shapes them for every service.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from did.errors import GovidError, NotFound, Unavailable
from service.errors import HTTPMethodNotAllowed
from service.handlers import install_error_handlers as _install
from service.http_status import error_body, headers_for, status_for
from service.oauth import oauth_error_response

_WALLET_PREFIX = "/openid4vp/"


def _render(request: Request, exc: GovidError) -> Response:
    oauth = oauth_error_response(exc)
    if oauth is not None:
        status, body, headers = oauth
        return JSONResponse(body, status_code=status, headers=headers)
    if request.url.path.startswith(_WALLET_PREFIX) and not isinstance(exc, Unavailable):
        # A hostile wallet gets the protocol's 4xx, never a 500, whatever it sends;
        # an outage (the database down) stays a 503 the wallet may retry.
        wallet = {"error": "invalid_request", "error_description": exc.message}
        wallet["govid_error"] = exc.code
        if isinstance(exc, NotFound):
            return JSONResponse(wallet, status_code=404)
        if isinstance(exc, HTTPMethodNotAllowed):
            return JSONResponse(wallet, status_code=405)
        return JSONResponse(wallet, status_code=400)
    return JSONResponse(error_body(exc), status_code=status_for(exc), headers=headers_for(exc))


def page_status(exc: GovidError) -> int:
    """The HTTP status of a counter page that shows `exc` (the API's, as JSON would have)."""
    return status_for(exc)


def install_error_handlers(app: FastAPI) -> None:
    _install(app, render=_render)
