"""The wallet web app: server-rendered pages for the device's own browser.

Bound to 127.0.0.1 by default (`govid wallet serve`). Every request first
passes the browser guard (`holder_wallet.browser_guard`: its own loopback
`Host`, no foreign `Origin`, state changes only from its own pages), and
every answer forbids framing, scripts, outside loads and caching. A session
cookie (`HttpOnly`, `SameSite=Strict`) is set when the passphrase unlocks the
vault, one passphrase check at a time with a growing wait after wrong ones
(`holder_wallet.unlock_limit`); every form carries the session's CSRF token.
When the vault locks (inactivity or the Lock button), every session ends.
Pending offers and consents live in memory only, never on disk. Routes parse,
call one `Wallet` method, and render; a `GovidError` (and, through
`service.handlers`, a form that does not match or an unknown page) becomes a
warning page (status from `service.http_status`), a locked wallet a redirect
to the unlock page.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from did.errors import GovidError
from holder_wallet.browser_guard import check_request
from holder_wallet.card_style import DEFAULT_BACKGROUND, DEFAULT_TEXT, css_color
from holder_wallet.errors import UnlockThrottled, WalletLocked
from holder_wallet.present import ConsentRequest
from holder_wallet.receive import OfferPreview, ReceivedCredential
from holder_wallet.store import StoredCredential
from holder_wallet.unlock_limit import UnlockLimiter
from holder_wallet.wallet import Wallet
from service.framing import NoFraming
from service.handlers import install_error_handlers
from service.http_status import status_for
from service.limits import BodySizeLimit

__all__ = ["create_app"]

COOKIE = "govid_wallet"
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).resolve().parent.parent / "templates"))
MAX_PENDING = 16
# Pages hold personal data and the consent buttons: no framing (clickjacking),
# no script, nothing loaded from elsewhere (a colour or name cannot call out),
# forms post only here, nothing kept in the browser's cache.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": under it a browser sends `Origin: null` on the wallet's
    # own form posts (Fetch §3.2.5 "serializing a request origin").
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
MAX_BODY_BYTES = 256 * 1024  # the largest form: a credential offer or request by value


class _StaleForm(Exception):
    pass


class _State:
    def __init__(self, wallet: Wallet) -> None:
        self.wallet = wallet
        self.sessions: dict[str, str] = {}  # cookie -> csrf token
        self.previews: dict[str, OfferPreview] = {}
        self.received: dict[str, list[ReceivedCredential]] = {}
        self.consents: dict[str, ConsentRequest] = {}

    def put(self, table: dict[str, Any], value: Any) -> str:
        if len(table) >= MAX_PENDING:
            table.pop(next(iter(table)))
        key = secrets.token_urlsafe(12)
        table[key] = value
        return key

    def reset(self) -> None:
        self.sessions.clear()
        self.previews.clear()
        self.received.clear()
        self.consents.clear()


def _key_claims(record: dict[str, Any]) -> list[tuple[str, str]]:
    claims = record.get("claims", {})
    out = []
    for entry in record.get("display", {}).get("claims", []):
        path = entry.get("path") or []
        if len(path) == 1 and path[0] in claims:
            out.append((entry.get("label") or str(path[0]), str(claims[path[0]])))
    return out[:4]


def _card(c: StoredCredential | ReceivedCredential, cid: str | None = None) -> dict[str, Any]:
    record = c.record
    choices = [
        (".".join(map(str, p)), ".".join(map(str, p))) for p in record.get("disclosable", [])
    ]
    copies = c.copies if isinstance(c, StoredCredential) else len(c.copies)
    display = record.get("display")
    display = dict(display) if isinstance(display, dict) else {}
    # Checked again here: a record stored before colours were checked on receipt.
    display["background_color"] = css_color(display.get("background_color"), DEFAULT_BACKGROUND)
    display["text_color"] = css_color(display.get("text_color"), DEFAULT_TEXT)
    return {
        "id": cid or getattr(c, "id", None),
        "record": record,
        "d": display,
        "status": record.get("status"),
        "key_claims": _key_claims(record),
        "copies": copies,
        "choices": choices,
    }


def _secured(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def create_app(wallet: Wallet) -> FastAPI:
    app = FastAPI(title="govid wallet", docs_url=None, redoc_url=None, openapi_url=None)
    state = _State(wallet)
    limiter = UnlockLimiter(clock=wallet.clock)
    origins = list(wallet.settings.origins)

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        token = request.cookies.get(COOKIE, "")
        context.setdefault("unlocked", wallet.vault.unlocked and token in state.sessions)
        context.setdefault("csrf", state.sessions.get(token, ""))
        return TEMPLATES.TemplateResponse(request, name, context, status_code=status_code)

    def warning(request: Request, exc: GovidError) -> Response:
        return page(
            request,
            "message.html",
            status_code=status_for(exc),
            kind="warning",
            title="Nothing was sent",
            text=exc.message,
            code=exc.code,
        )

    def check_csrf(request: Request, csrf: Annotated[str, Form(max_length=64)] = "") -> None:
        """Every state-changing form carries its session's token (with SameSite=Strict)."""
        expected = state.sessions.get(request.cookies.get(COOKIE, ""))
        if expected is None or not secrets.compare_digest(csrf, expected):
            raise _StaleForm

    csrf = [Depends(check_csrf)]
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    install_error_handlers(app, render=warning)

    @app.exception_handler(_StaleForm)
    async def _stale(request: Request, _: Exception) -> Response:
        return page(
            request, "message.html", status_code=403, kind="warning",
            title="This form is stale", text="Reload the page and try again.", code=None,
        )  # fmt: skip

    @app.middleware("http")
    async def _guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """The browser guard for every request, then: everything but the unlock page
        needs an unlocked vault and a live session."""
        try:
            check_request(
                method=request.method,
                host=request.headers.get("host"),
                origin=request.headers.get("origin"),
                fetch_site=request.headers.get("sec-fetch-site"),
                fetch_mode=request.headers.get("sec-fetch-mode"),
                fetch_dest=request.headers.get("sec-fetch-dest"),
                port=request.scope["server"][1] if request.scope.get("server") else None,
                configured_origins=origins,
            )
        except GovidError as exc:
            refused = page(
                request, "message.html", status_code=status_for(exc), kind="warning",
                title="Refused", text=exc.message, code=exc.code, unlocked=False, csrf="",
            )  # fmt: skip
            return _secured(refused)
        return _secured(await _session_guard(request, call_next))

    async def _session_guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        if request.url.path in ("/unlock", "/healthz"):
            return await call_next(request)
        token = request.cookies.get(COOKIE, "")
        if not wallet.vault.unlocked:
            state.reset()  # the vault locked itself: every session ends with it
        if token not in state.sessions:
            return RedirectResponse("/unlock", status_code=303)
        try:
            return await call_next(request)
        except WalletLocked:
            state.reset()
            return RedirectResponse("/unlock", status_code=303)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/unlock", response_class=HTMLResponse)
    def unlock_page(request: Request) -> Response:
        return page(request, "unlock.html", unlocked=False)

    @app.post("/unlock")
    async def unlock(
        request: Request, passphrase: Annotated[str, Form(max_length=1024)]
    ) -> Response:
        try:
            await limiter.attempt(lambda: run_in_threadpool(wallet.unlock, passphrase))
        except UnlockThrottled as exc:
            response = page(
                request, "unlock.html", status_code=429, unlocked=False, error=exc.message
            )
            response.headers["Retry-After"] = str(exc.retry_after)
            return response
        except GovidError as exc:
            return page(request, "unlock.html", status_code=401, unlocked=False, error=exc.message)
        token = secrets.token_urlsafe(32)
        state.sessions[token] = secrets.token_urlsafe(16)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/")
        return response

    @app.post("/lock", dependencies=csrf)
    def lock() -> Response:
        wallet.lock()
        state.reset()
        response = RedirectResponse("/unlock", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @app.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        cards = [_card(c) for c in wallet.credentials()]
        return page(request, "home.html", cards=cards)

    @app.post("/status", dependencies=csrf)
    async def status() -> Response:
        await run_in_threadpool(wallet.refresh_status)
        return RedirectResponse("/", status_code=303)

    # --- receiving --------------------------------------------------------------------------

    @app.get("/receive", response_class=HTMLResponse)
    def receive_page(request: Request) -> Response:
        return page(request, "receive.html")

    @app.post("/receive", dependencies=csrf)
    async def receive(request: Request, offer: Annotated[str, Form(max_length=8192)]) -> Response:
        try:
            preview = await run_in_threadpool(wallet.preview_offer, offer)
        except GovidError as exc:
            return warning(request, exc)
        pending = state.put(state.previews, preview)
        return page(request, "receive_code.html", preview=preview, pending=pending)

    @app.post("/receive/{pending}/code", dependencies=csrf)
    async def receive_code(
        request: Request, pending: str, tx_code: Annotated[str | None, Form(max_length=64)] = None
    ) -> Response:
        preview = state.previews.pop(pending, None)
        if preview is None:
            return RedirectResponse("/receive", status_code=303)
        try:
            received = await run_in_threadpool(wallet.redeem, preview, tx_code)
        except GovidError as exc:
            return warning(request, exc)
        key = state.put(state.received, received)
        cards = [_card(r) for r in received]
        return page(request, "receive_card.html", cards=cards, pending=key)

    @app.post("/receive/{pending}/accept", dependencies=csrf)
    def receive_accept(pending: str, decision: Annotated[str, Form()]) -> Response:
        received = state.received.pop(pending, None)
        if received is not None and decision == "accept":
            wallet.accept(received)
        return RedirectResponse("/", status_code=303)

    # --- presenting -------------------------------------------------------------------------

    @app.get("/present", response_class=HTMLResponse)
    def present_page(request: Request) -> Response:
        return page(request, "present.html")

    @app.post("/present", dependencies=csrf)
    async def present(
        request: Request, request_uri: Annotated[str, Form(alias="request", max_length=8192)]
    ) -> Response:
        try:
            consent = await run_in_threadpool(wallet.prepare, request_uri)
        except GovidError as exc:
            return warning(request, exc)
        pending = state.put(state.consents, consent)
        return page(request, "consent.html", consent=consent, pending=pending)

    @app.post("/present/{pending}/decide", dependencies=csrf)
    async def decide(request: Request, pending: str, decision: Annotated[str, Form()]) -> Response:
        consent = state.consents.pop(pending, None)
        if consent is None:
            return RedirectResponse("/present", status_code=303)
        if decision != "approve":
            await run_in_threadpool(wallet.decline, consent)
            return page(
                request, "message.html", kind="panel", title="Refused",
                text="Nothing was sent to the counter.", code=None,
            )  # fmt: skip
        try:
            await run_in_threadpool(wallet.approve, consent)
        except GovidError as exc:
            return warning(request, exc)
        return page(
            request, "message.html", kind="ok", title="Sent",
            text=f"Sent to {consent.verifier}. It is in your history.", code=None,
        )  # fmt: skip

    @app.get("/history", response_class=HTMLResponse)
    def history(request: Request) -> Response:
        entries = [
            {**e, "when": datetime.fromtimestamp(e["at"], UTC).strftime("%Y-%m-%d %H:%M UTC")}
            for e in wallet.history()
        ]
        return page(request, "history.html", entries=entries)

    # --- one credential, offline QR ---------------------------------------------------------

    @app.get("/credentials/{credential_id}", response_class=HTMLResponse)
    def credential(request: Request, credential_id: str) -> Response:
        try:
            card = _card(wallet.credential(credential_id))
        except GovidError as exc:
            return warning(request, exc)
        return page(request, "credential.html", c=card, qr=None)

    @app.post("/credentials/{credential_id}/qr", dependencies=csrf)
    async def credential_qr(
        request: Request,
        credential_id: str,
        challenge: Annotated[str, Form(max_length=2048)],
        claim: Annotated[list[str] | None, Form()] = None,
    ) -> Response:
        paths = [[int(p) if p.isdigit() else p for p in c.split(".")] for c in claim or []]
        try:
            card = _card(wallet.credential(credential_id))
            _, png = await run_in_threadpool(
                lambda: wallet.offline_qr(credential_id, challenge, claims=paths)
            )
        except GovidError as exc:
            return warning(request, exc)
        return page(request, "credential.html", c=card, qr=base64.b64encode(png).decode())

    app.add_middleware(NoFraming)  # outermost: redirects too (issue 13 item 13)
    return app
