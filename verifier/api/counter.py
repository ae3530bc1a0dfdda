"""The service-counter page: server-rendered (jinja2), no JavaScript, signed-in users only.

GET  /                       choose a template (online request or offline challenge)
POST /counter                create a request owned by the signed-in user, go to its page
GET  /counter/{id}           the QR while pending (the page refreshes itself), then the
                             result in large plain words, the disclosed claims once, and
                             where the ledger evidence came from
POST /counter/{id}/offline   the text of the wallet's offline QR (a scanner types it)

Anonymous requests are sent to /login and create nothing; every form carries
the sign-in's CSRF token (`verifier.api.counter_login`); a session of anyone
else (another counter user, an API client) is "not found".
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path
from typing import Annotated, Any

import qrcode
import qrcode.constants
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from did.errors import GovidError
from verifier.accounts import CounterLogin
from verifier.api.counter_login import LoginDep, csrf_ok, page, redirect, to_login
from verifier.api.errors import page_status
from verifier.api.routes import ContextDep
from verifier.errors import OfflinePresentationMalformed
from verifier.offline import MAX_QR_TEXT
from verifier.service import OFFLINE, OPENID4VP, VerifierContext
from verifier.templates import TEMPLATES

router = APIRouter(include_in_schema=False)
_CSS = (Path(__file__).resolve().parent.parent / "templates_html" / "counter.css").read_text(
    encoding="utf-8"
)


def qr_png_data_uri(text: str) -> str:
    """A PNG QR code of `text` as a data: URI (medium error correction, for tablets)."""
    image = qrcode.make(
        text, error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


@router.get("/static/counter.css")
def stylesheet() -> Response:
    # A file, not an inline style, so the pages' CSP can say `style-src 'self'`.
    return Response(_CSS, media_type="text/css", headers={"Cache-Control": "max-age=3600"})


def _failure(request: Request, login: CounterLogin, exc: GovidError) -> HTMLResponse:
    context = {"login": login, "message": f"{exc.message} ({exc.code})."}
    return page(request, "message.html", context, status_code=page_status(exc))


def _forbidden(request: Request, login: CounterLogin) -> HTMLResponse:
    context = {"login": login, "message": "The form expired. Please go back and reload."}
    return page(request, "message.html", context, status_code=403)


def _session_page(
    request: Request, login: CounterLogin, view: dict[str, Any], *, error: str | None = None
) -> HTMLResponse:
    context: dict[str, Any] = {"login": login, "view": view, "error": error}
    if view["status"] == "pending" and view.get("authorization_request"):
        context["qr"] = qr_png_data_uri(view["authorization_request"])
    elif view["status"] == "pending" and view.get("challenge"):
        context["challenge"] = json.dumps(view["challenge"], separators=(",", ":"))
        context["qr"] = qr_png_data_uri(context["challenge"])
    return page(request, "counter.html", context, status_code=400 if error else 200)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, login: LoginDep) -> Response:
    if login is None:
        return to_login()
    context = {"login": login, "templates": list(TEMPLATES.values())}
    return page(request, "home.html", context)


@router.post("/counter")
async def start(
    request: Request,
    ctx: ContextDep,
    login: LoginDep,
    template: Annotated[str, Form(max_length=64)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
    kind: Annotated[str, Form(max_length=16)] = OPENID4VP,
) -> Response:
    if login is None:
        return to_login()  # nothing is created for an anonymous caller
    if not csrf_ok(login, csrf):
        return _forbidden(request, login)
    try:
        created = await asyncio.to_thread(
            ctx.create_request,
            template=template,
            dcql_query=None,
            owner=login.owner,
            kind=OFFLINE if kind == OFFLINE else OPENID4VP,
        )
    except GovidError as exc:
        return _failure(request, login, exc)
    return redirect(f"/counter/{created['id']}")


@router.get("/counter/{session_id}", response_class=HTMLResponse)
async def show(session_id: str, request: Request, ctx: ContextDep, login: LoginDep) -> Response:
    if login is None:
        return to_login()
    try:
        view = await asyncio.to_thread(ctx.read_request, session_id, owner=login.owner)
    except GovidError as exc:
        return _failure(request, login, exc)
    return _session_page(request, login, view)


@router.post("/counter/{session_id}/offline", response_class=HTMLResponse)
async def offline(
    session_id: str,
    request: Request,
    ctx: ContextDep,
    login: LoginDep,
    qr_text: Annotated[str, Form(max_length=MAX_QR_TEXT)] = "",
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """The result is shown in this answer: the claims are handed out once."""
    if login is None:
        return to_login()
    if not csrf_ok(login, csrf):
        return _forbidden(request, login)
    try:
        view = await asyncio.to_thread(
            _verify_offline, ctx, session_id, qr_text.strip(), login.owner
        )
    except GovidError as exc:
        return _failure(request, login, exc)
    if isinstance(view, GovidError):
        pending = await asyncio.to_thread(ctx.read_request, session_id, owner=login.owner)
        return _session_page(request, login, pending, error=f"{view.message} ({view.code}).")
    return _session_page(request, login, view)


def _verify_offline(
    ctx: VerifierContext, session_id: str, qr_text: str, owner: str
) -> dict[str, Any] | GovidError:
    """The verified session, or the reason a QR that does not decode was refused."""
    try:
        return ctx.verify_offline(session_id=session_id, qr_text=qr_text, owner=owner)
    except OfflinePresentationMalformed as exc:  # nothing changed: scan again
        return exc
