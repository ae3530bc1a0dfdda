"""The verifier's FastAPI application: wiring only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from service.framing import NoFraming
from service.limits import BodySizeLimit, FailureLimit
from service.observability import counter, install_observability
from service.private_files import purging
from verifier.accounts import CounterAccounts
from verifier.api.counter import router as counter_router
from verifier.api.counter_login import router as login_router
from verifier.api.errors import install_error_handlers
from verifier.api.routes import MAX_BODY_BYTES, router
from verifier.migrations import upgrade
from verifier.service import VerifierContext

# Secret, state and nonce guessing: failed requests per minute and client address.
FAILURES_PER_MINUTE = 30
RATE_LIMITED = (
    ("POST", "/oauth/token"),
    ("POST", "/api/verify"),
    ("POST", "/api/offline-challenges/"),
    ("POST", "/openid4vp/response"),
    ("POST", "/login"),  # password guessing; each account also backs off (verifier.accounts)
)
# How often claims past retention or left unread are forgotten (issue 13 item 9).
PURGE_EVERY_SECONDS = 60.0


def create_app(
    context: VerifierContext, *, migrate: bool = True, purge_every: float = PURGE_EVERY_SECONDS
) -> FastAPI:
    """Build the verifier app around a `VerifierContext` (see `verifier.settings`)."""
    if migrate:
        upgrade(context.engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with purging(context.purge_expired, every=purge_every):
            yield

    app = FastAPI(
        title="govid verifier",
        version="1.0",
        summary="Verifies SD-JWT VC presentations for service counters (OpenID4VP 1.0).",
        lifespan=lifespan,
    )
    app.state.context = context
    app.state.accounts = CounterAccounts(
        context.engine, clock=context.clock, lifetime=context.counter_session_lifetime
    )
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(NoFraming)  # the counter page (issue 13 item 13)
    app.add_middleware(FailureLimit, paths=RATE_LIMITED, per_minute=FAILURES_PER_MINUTE)
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(login_router)
    app.include_router(counter_router)
    verifications = counter(
        app,
        "verifications_total",
        "Presentations verified, by channel and outcome.",
        ["channel", "outcome"],
    )
    context.on_outcome = lambda channel, accepted: verifications.labels(
        channel, "accepted" if accepted else "refused"
    ).inc()
    install_observability(app, service="verifier", ready=lambda: _ping(context.engine))
    return app


def _ping(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
