"""The agency web page: server-rendered (jinja2), no build step.

Staff sign in with their agency's OAuth client id and secret (HTTP Basic,
checked like the token endpoint's client authentication, under the same
failure limit per client id, `issuer.login_limits`; per client address the
`FailureLimit` middleware counts failed sign-ins as it does at `/token`).

Browsers resend Basic credentials on cross-site posts, so every form carries
a CSRF token. The token is a KEK-keyed MAC of the client id and of a random
browser session held in an HttpOnly, SameSite=Strict cookie that lasts at
most `_SESSION_SECONDS`: a token read from one session (a screenshot, a
proxy log) is useless in another, and it changes with every session.
Framing is refused by `service.framing.NoFraming` on the whole app.
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
from issuer.oauth import new_token
from issuer.offers import AgencyPrincipal, change_status, create_offer, find_credentials, qr_png
from service.oauth import ClientLocked, InvalidClient

router = APIRouter(prefix="/agency", tags=["web"])
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))

_CHALLENGE = {"WWW-Authenticate": 'Basic realm="govid agency", charset="UTF-8"'}
_SESSION_COOKIE = "govid_agency_session"
_SESSION_SECONDS = 8 * 3600  # a working day; then the forms ask for a reload


def _sign_in(ctx: IssuerContext, authorization: str | None) -> AgencyPrincipal | Response:
    """The signed-in client, or the answer to give instead (401 challenge, 429 locked out)."""
    try:
        return authenticate_client(ctx, authorization)
    except ClientLocked as exc:  # no challenge: the browser must not prompt again at once
        return Response(exc.message, 429, {"Retry-After": str(exc.retry_after)})
    except InvalidClient:
        return Response("sign in with your agency client id and secret", 401, _CHALLENGE)


def _session(ctx: IssuerContext, request: Request) -> str | None:
    """The browser session of the cookie, if it is well formed and not too old."""
    value = request.cookies.get(_SESSION_COOKIE, "")
    issued, _, nonce = value.partition(".")
    if not issued.isdigit() or len(issued) > 12 or not 40 <= len(nonce) <= 64:
        return None
    if not 0 <= ctx.now_s() - int(issued) < _SESSION_SECONDS:
        return None
    return value


def _csrf(ctx: IssuerContext, principal: AgencyPrincipal, session: str) -> str:
    return ctx.kek.mac(f"agency-csrf:{principal.client_id}:{session}".encode())


def _form_ok(ctx: IssuerContext, request: Request, principal: AgencyPrincipal, csrf: str) -> bool:
    session = _session(ctx, request)
    return session is not None and hmac.compare_digest(csrf, _csrf(ctx, principal, session))


_STALE = "the form expired; reload the page"


def _page(
    request: Request, ctx: IssuerContext, principal: AgencyPrincipal, **extra: Any
) -> HTMLResponse:
    session = _session(ctx, request)
    fresh = session is None
    if session is None:
        session = f"{ctx.now_s()}.{new_token(ctx.token_bytes)}"
    context = {
        "agency": principal.agency,
        "types": sorted(principal.scopes),
        "csrf": _csrf(ctx, principal, session),
        "offer": None,
        "credentials": None,
        "error": None,
        **extra,
    }
    response = templates.TemplateResponse(request, "agency.html", context)
    response.headers["Cache-Control"] = "no-store"
    if fresh:
        response.set_cookie(
            _SESSION_COOKIE,
            session,
            max_age=_SESSION_SECONDS,
            path="/agency",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
    return response


@router.get("", response_class=HTMLResponse)
def page(
    request: Request, ctx: Ctx, authorization: Annotated[str | None, Header()] = None
) -> Response:
    principal = _sign_in(ctx, authorization)
    if isinstance(principal, Response):
        return principal
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
    principal = _sign_in(ctx, authorization)
    if isinstance(principal, Response):
        return principal
    if not _form_ok(ctx, request, principal, csrf):
        return Response(_STALE, 403)
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
    principal = _sign_in(ctx, authorization)
    if isinstance(principal, Response):
        return principal
    found = find_credentials(
        ctx, principal, offer_id=offer or None, subject_id=subject or None
    ) if (subject or offer) else []  # fmt: skip
    return _page(request, ctx, principal, credentials=found)


@router.post("/credentials/{credential_id}/revoke")
def revoke(
    request: Request,
    credential_id: str,
    ctx: Ctx,
    csrf: Annotated[str, Form(max_length=128)],
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    principal = _sign_in(ctx, authorization)
    if isinstance(principal, Response):
        return principal
    if not _form_ok(ctx, request, principal, csrf):
        return Response(_STALE, 403)
    result = change_status(ctx, principal, credential_id, "revoke")
    return RedirectResponse(f"/agency/credentials?offer={result['credentials'][0]['offer']}", 303)
