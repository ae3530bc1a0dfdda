"""The wallet-facing OAuth / OpenID4VCI endpoints: token, nonce, credential."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from issuer.api.deps import Ctx
from issuer.errors import CredentialRequestInvalid
from issuer.exchange import issue_credentials, new_nonce, token_request
from service.oauth import InvalidRequest

router = APIRouter(tags=["openid4vci"])

_NO_STORE = {"Cache-Control": "no-store"}


@router.post("/token")
async def token(
    request: Request, ctx: Ctx, authorization: Annotated[str | None, Header()] = None
) -> JSONResponse:
    """RFC 6749 §3.2: form-encoded; pre-authorized code (wallets) or client credentials."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise InvalidRequest("the token request must be form-encoded")
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    if len(form.multi_items()) != len(fields):  # RFC 6749 §3.2: no repeated parameters
        raise InvalidRequest("a parameter is repeated or not text")
    answer = await run_in_threadpool(token_request, ctx, fields, authorization=authorization)
    return JSONResponse(answer, headers=_NO_STORE)


@router.post("/agencies/{slug}/nonce")
def nonce(slug: str, ctx: Ctx) -> JSONResponse:
    """OpenID4VCI §7: not a protected resource."""
    return JSONResponse(new_nonce(ctx), headers=_NO_STORE)


@router.post("/nonce")
def default_nonce(ctx: Ctx) -> JSONResponse:
    """The default agency's nonce endpoint (its identifier is the bare base URL)."""
    _default_agency(ctx)
    return JSONResponse(new_nonce(ctx), headers=_NO_STORE)


def _default_agency(ctx: Ctx) -> str:
    if ctx.settings.default_agency is None:
        raise CredentialRequestInvalid("this issuer serves several agencies: use /agencies/{slug}")
    return ctx.settings.default_agency


@router.post("/credential")
async def default_credential(
    request: Request,
    ctx: Ctx,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """The default agency's credential endpoint."""
    return await credential(_default_agency(ctx), request, ctx, authorization)


@router.post("/agencies/{slug}/credential")
async def credential(
    slug: str,
    request: Request,
    ctx: Ctx,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise CredentialRequestInvalid("the credential request is not JSON") from exc
    answer = await run_in_threadpool(
        issue_credentials, ctx, slug, body, authorization=authorization
    )
    return JSONResponse(answer, headers=_NO_STORE)
