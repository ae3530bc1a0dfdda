"""The issuer's FastAPI application: wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from issuer.api import agency_api, oid4vci, public, web
from issuer.api.errors import install_error_handlers
from issuer.context import IssuerContext, RegistryLedger
from issuer.keys_at_rest import KEK
from issuer.migrations import upgrade
from issuer.settings import IssuerSettings
from issuer.status_lists import publish_status_lists
from issuer.store import make_engine
from registry.api.limits import BodySizeLimit, FailureLimit
from registry.api.observability import install_observability

__all__ = ["build_context", "create_app"]

log = logging.getLogger("govid.issuer")
TOKEN_FAILURES = 30  # failed token requests per minute and client address


def build_context(settings: IssuerSettings) -> IssuerContext:
    """The production context: engine, KEK from the settings, a proof-checking registry client."""
    from registry.client import RegistryClient
    from registry.trust import trust_from_options

    if not settings.registry_url:
        raise ValueError("set the registry URL (GOVID_ISSUER_REGISTRY_URL)")
    trust = trust_from_options(
        settings.registry_url,
        log_vkey=settings.registry_log_vkey,
        witness_vkeys=settings.registry_witness_vkeys,
        quorum=settings.registry_quorum,
    )
    token = settings.registry_write_token
    client = RegistryClient(
        settings.registry_url,
        trust=trust,
        write_token=token.get_secret_value() if token is not None else None,
    )
    kek = KEK.parse(settings.kek.get_secret_value() if settings.kek else None)
    return IssuerContext(settings, make_engine(settings.url()), kek, RegistryLedger(client))


async def _publisher(ctx: IssuerContext, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(publish_status_lists, ctx)
        except Exception:  # the loop must outlive a bad round; the next one retries
            log.exception("status list publication round failed")


def create_app(ctx: IssuerContext) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(upgrade, ctx.engine)
        task = None
        if ctx.settings.publish_interval > 0:
            task = asyncio.create_task(_publisher(ctx, ctx.settings.publish_interval))
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    app = FastAPI(
        title="govid issuer",
        version="1.0",
        summary="Agencies issue SD-JWT VCs over OpenID4VCI; status lists on the ledger.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.add_middleware(BodySizeLimit, max_bytes=ctx.settings.max_body_bytes)
    # Guessing client secrets or transaction codes fails at /token: slow it down.
    app.add_middleware(FailureLimit, paths=[("POST", "/token")], per_minute=TOKEN_FAILURES)
    install_error_handlers(app)
    app.include_router(public.router)
    app.include_router(oid4vci.router)
    app.include_router(agency_api.router)
    app.include_router(web.router)
    install_observability(app, service="issuer", ready=lambda: _ping(ctx))
    return app


def _ping(ctx: IssuerContext) -> None:
    with ctx.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
