"""The agency web page: server-rendered (jinja2), no build step.

Staff sign in with their agency's OAuth client id and secret (HTTP Basic,
checked like the token endpoint's client authentication). Forms carry a
CSRF token bound to the client (a KEK-keyed MAC), since browsers resend
Basic credentials on cross-site posts.
"""

from __future__ import annotations

import base64
import hmac
import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from did.errors import GovidError
from issuer.api.deps import Ctx
from issuer.context import IssuerContext
from issuer.credential_types import credential_type
from issuer.errors import ClaimsInvalid
from issuer.exchange import authenticate_client
from issuer.offers import AgencyPrincipal, change_status, create_offer, find_credentials, qr_png
from service.oauth import InvalidClient

router = APIRouter(prefix="/agency", tags=["web"])
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="govid agency", charset="UTF-8"'}


def _principal(ctx: IssuerContext, authorization: str | None) -> AgencyPrincipal:
    return authenticate_client(ctx, authorization)


def _csrf(ctx: IssuerContext, principal: AgencyPrincipal) -> str:
    return ctx.kek.mac(f"csrf:{principal.client_id}".encode())


def _page(
    request: Request, ctx: IssuerContext, principal: AgencyPrincipal, **extra: Any
) -> HTMLResponse:
    context = {
        "agency": principal.agency,
        "types": sorted(principal.scopes),
        "csrf": _csrf(ctx, principal),
        "offer": None,
        "credentials": None,
        "error": None,
        **extra,
    }
    return templates.TemplateResponse(request, "agency.html", context)


@router.get("", response_class=HTMLResponse)
def page(
    request: Request, ctx: Ctx, authorization: Annotated[str | None, Header()] = None
) -> Response:
    try:
        principal = _principal(ctx, authorization)
    except InvalidClient:
        return Response("sign in with your agency client id and secret", 401, _CHALLENGE)
    return _page(request, ctx, principal)


@router.post("/offers", response_class=HTMLResponse)
def post_offer(
    request: Request,
    ctx: Ctx,
    credential_configuration_id: Annotated[str, Form(max_length=64)],
    claims: Annotated[str, Form(max_length=20_000)],
    csrf: Annotated[str, Form(max_length=128)],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    try:
        principal = _principal(ctx, authorization)
    except InvalidClient:
        return Response("sign in with your agency client id and secret", 401, _CHALLENGE)
    if not hmac.compare_digest(csrf, _csrf(ctx, principal)):
        return Response("the form expired; reload the page", 403)
    try:
        parsed = json.loads(claims)
        offer = create_offer(
            ctx, principal, configuration_id=credential_configuration_id, claims=parsed
        )
    except ValueError:
        return _page(request, ctx, principal, error="The claims are not valid JSON.")
    except ClaimsInvalid as exc:
        where = "/".join(str(p) for p in exc.path)
        return _page(request, ctx, principal, error=f"{exc.message} (at {where}).")
    except GovidError as exc:
        return _page(request, ctx, principal, error=f"{exc.message} ({exc.code}).")
    png = base64.b64encode(qr_png(offer["offer_uri"])).decode("ascii")
    offer["name"] = credential_type(credential_configuration_id).name
    return _page(request, ctx, principal, offer=offer, qr=png)


@router.get("/credentials", response_class=HTMLResponse)
def search(
    request: Request,
    ctx: Ctx,
    subject: str = "",
    offer: str = "",
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    try:
        principal = _principal(ctx, authorization)
    except InvalidClient:
        return Response("sign in with your agency client id and secret", 401, _CHALLENGE)
    found = find_credentials(
        ctx, principal, offer_id=offer or None, subject_id=subject or None
    ) if (subject or offer) else []  # fmt: skip
    return _page(request, ctx, principal, credentials=found)


@router.post("/credentials/{credential_id}/revoke")
def revoke(
    credential_id: str,
    ctx: Ctx,
    csrf: Annotated[str, Form(max_length=128)],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    try:
        principal = _principal(ctx, authorization)
    except InvalidClient:
        return Response("sign in with your agency client id and secret", 401, _CHALLENGE)
    if not hmac.compare_digest(csrf, _csrf(ctx, principal)):
        return Response("the form expired; reload the page", 403)
    result = change_status(ctx, principal, credential_id, "revoke")
    return RedirectResponse(f"/agency/credentials?offer={result['credentials'][0]['offer']}", 303)
