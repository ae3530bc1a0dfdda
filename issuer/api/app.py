"""The issuer's FastAPI application: wiring only."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from issuer.agencies import purge_retired_keys
from issuer.api import agency_api, oid4vci, public, web
from issuer.api.errors import install_error_handlers
from issuer.context import IssuerContext, RegistryLedger
from issuer.exchange import purge_expired
from issuer.keys_at_rest import KEK
from issuer.migrations import upgrade
from issuer.settings import IssuerSettings
from issuer.status_lists import publish_status_lists
from issuer.store import make_engine
from service.framing import NoFraming
from service.limits import BodySizeLimit, FailureLimit
from service.observability import install_observability
from service.private_files import private_database, purging, scrub_wal

__all__ = ["build_context", "create_app"]

log = logging.getLogger("govid.issuer")
TOKEN_FAILURES = 30  # failed token or sign-in requests per minute and client address


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
    engine = private_database(make_engine(settings.url()))
    return IssuerContext(settings, engine, kek, RegistryLedger(client))


async def _every(interval: float, name: str, work: Callable[[], object]) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(work)
        except Exception:  # the loop must outlive a bad round; the next one retries
            log.exception("%s round failed", name)


def purge_personal_data(ctx: IssuerContext) -> None:
    """Delete what has expired (anonymous nonces, tokens, offers never issued with their
    claims: issue 13 items 9 and 16), then scrub the SQLite WAL: claims deleted at
    issuance leave their old pages there until a checkpoint."""
    purge_expired(ctx)
    scrub_wal(ctx.engine)


def create_app(ctx: IssuerContext) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(upgrade, ctx.engine)
        if purged := await run_in_threadpool(purge_retired_keys, ctx):
            log.info("retired signing keys deleted from %d keyrings", len(purged))
        tasks = []
        if ctx.settings.publish_interval > 0:
            publish = functools.partial(publish_status_lists, ctx)
            tasks.append(_every(ctx.settings.publish_interval, "status list publication", publish))
        running = [asyncio.create_task(t) for t in tasks]
        try:
            if ctx.settings.purge_interval > 0:
                every = ctx.settings.purge_interval
                async with purging(lambda: purge_personal_data(ctx), every=every):
                    yield
            else:
                yield
        finally:
            for task in running:
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
    app.add_middleware(NoFraming)
    # Guessing client secrets or transaction codes fails at /token, and client
    # secrets on the agency page (HTTP Basic): slow it down per client address.
    limited = [("POST", "/token"), ("GET", "/agency"), ("POST", "/agency")]
    app.add_middleware(FailureLimit, paths=limited, per_minute=TOKEN_FAILURES)
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
