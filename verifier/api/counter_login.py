"""Signing in to the counter page: a login form and a session cookie, never HTTP Basic.

GET  /login    the form (with a pre-sign-in CSRF token, double-submitted in a cookie)
POST /login    name and password -> the session cookie, then the counter page
POST /logout   ends the sign-in (its CSRF token required)

The session cookie is `HttpOnly`, `SameSite=Strict`, has an absolute expiry
(`GOVID_VERIFIER_COUNTER_SESSION_SECONDS`) and, when the public URL is https,
is `Secure` with the `__Host-` prefix (RFC 6265bis §4.1.3.2: no Domain, Path=/).
Every page answer carries `frame-ancestors 'none'` (no clickjacking) and
`no-store` (claims are not kept in the browser's cache).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from verifier.accounts import MAX_PASSWORD, CounterAccounts, CounterLogin
from verifier.api.routes import ContextDep
from verifier.errors import CounterLoginFailed, CounterLoginThrottled
from verifier.service import VerifierContext

__all__ = ["LoginDep", "csrf_ok", "page", "redirect", "router", "to_login"]

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(
    directory=str(Path(__file__).resolve().parent.parent / "templates_html")
)

COOKIE: Final = "govid_counter"
LOGIN_COOKIE: Final = "govid_counter_login"
LOGIN_FORM_SECONDS: Final = 600
PAGE_HEADERS: Final[Mapping[str, str]] = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src data:; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def get_accounts(request: Request) -> CounterAccounts:
    accounts: CounterAccounts = request.app.state.accounts
    return accounts


AccountsDep = Annotated[CounterAccounts, Depends(get_accounts)]


def _secure(ctx: VerifierContext) -> bool:
    return ctx.public_url.lower().startswith("https://")


def cookie_name(ctx: VerifierContext, base: str = COOKIE) -> str:
    # `__Host-` needs Secure, so it is used exactly when the cookie is Secure.
    return f"__Host-{base}" if _secure(ctx) else base


async def signed_in(
    request: Request, ctx: ContextDep, accounts: AccountsDep
) -> CounterLogin | None:
    token = request.cookies.get(cookie_name(ctx))
    return await asyncio.to_thread(accounts.signed_in, token)


LoginDep = Annotated[CounterLogin | None, Depends(signed_in)]


def page(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status_code)
    response.headers.update(PAGE_HEADERS)
    return response


def redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    response.headers.update(PAGE_HEADERS)
    return response


def to_login() -> RedirectResponse:
    return redirect("/login")


def csrf_ok(login: CounterLogin, given: str) -> bool:
    return secrets.compare_digest(given.encode(), login.csrf.encode())


def _login_form(
    request: Request, ctx: VerifierContext, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    # One token per browser for the form's lifetime (several tabs, a retry after a typo).
    token = request.cookies.get(cookie_name(ctx, LOGIN_COOKIE), "")
    if not 32 <= len(token) <= 64:
        token = secrets.token_urlsafe(32)
    response = page(request, "login.html", {"csrf": token, "error": error}, status_code=status_code)
    response.set_cookie(
        cookie_name(ctx, LOGIN_COOKIE),
        token,
        max_age=LOGIN_FORM_SECONDS,
        httponly=True,
        samesite="strict",
        secure=_secure(ctx),
        path="/",
    )
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, ctx: ContextDep, login: LoginDep) -> Response:
    if login is not None:
        return redirect("/")
    return _login_form(request, ctx)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    ctx: ContextDep,
    accounts: AccountsDep,
    username: Annotated[str, Form(max_length=256)],
    password: Annotated[str, Form(max_length=MAX_PASSWORD + 1)],
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Sign in. Failures answer 403 (no `WWW-Authenticate`: no browser prompt)."""
    expected = request.cookies.get(cookie_name(ctx, LOGIN_COOKIE), "")
    if not expected or not secrets.compare_digest(csrf.encode(), expected.encode()):
        return _login_form(
            request, ctx, error="The sign-in form expired. Please try again.", status_code=403
        )
    try:
        made = await asyncio.to_thread(accounts.login, username, password)
    except CounterLoginThrottled as exc:
        throttled = _login_form(request, ctx, error=exc.message.capitalize() + ".", status_code=429)
        throttled.headers["Retry-After"] = str(exc.retry_after)
        return throttled
    except CounterLoginFailed:
        return _login_form(
            request, ctx, error="The name or the password is not right.", status_code=403
        )
    assert made.token is not None
    response = redirect("/")
    response.set_cookie(
        cookie_name(ctx),
        made.token,
        max_age=int(accounts.lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=_secure(ctx),
        path="/",
    )
    response.delete_cookie(cookie_name(ctx, LOGIN_COOKIE), path="/")
    return response


@router.post("/logout")
async def logout(
    request: Request,
    ctx: ContextDep,
    accounts: AccountsDep,
    login: LoginDep,
    csrf: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    if login is None:
        return to_login()
    if not csrf_ok(login, csrf):
        return page(request, "message.html", {"message": "The form expired."}, status_code=403)
    await asyncio.to_thread(accounts.logout, request.cookies.get(cookie_name(ctx)))
    response = to_login()
    response.delete_cookie(
        cookie_name(ctx), path="/", secure=_secure(ctx), httponly=True, samesite="strict"
    )
    return response
