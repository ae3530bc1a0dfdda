"""The registry's FastAPI application: wiring only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from registry.api.resolution import router as resolution_router
from registry.api.routes import MAX_BODY_BYTES, router
from registry.bootstrap import append_genesis
from registry.config import RegistryConfig
from registry.ledger import Ledger
from registry.sequencer import Sequencer
from registry.witnessing import CosignatureGatherer
from registry.write_quota import WriteQuota
from service.handlers import install_error_handlers
from service.limits import BodySizeLimit
from service.observability import install_observability


def create_app(config: RegistryConfig) -> FastAPI:
    """Build the registry app for a data directory that `govid registry init` prepared."""
    ledger = Ledger(config.engine(), origin=config.origin, signer=config.log_signer())
    gatherer = CosignatureGatherer(ledger, config.witnesses, timeout=config.witness_timeout)
    sequencer = Sequencer(
        ledger,
        config.batch_settings(),
        on_checkpoint=gatherer.gather if config.witnesses else None,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config.ensure_schema()
        append_genesis(ledger, config.genesis())
        await sequencer.start()
        try:
            yield
        finally:
            await sequencer.stop()
            await gatherer.aclose()

    app = FastAPI(
        title="govid registry",
        version="1.0",
        summary="The did:govid ledger: a witnessed transparency log of agencies' keys, "
        "accreditations and status lists.",
        lifespan=lifespan,
    )
    app.state.ledger = ledger
    app.state.sequencer = sequencer
    app.state.vkey = config.log_vkey()
    app.state.min_cosignatures = config.required_cosignatures
    app.state.write_quota = (
        WriteQuota(per_minute=config.write_quota) if config.write_quota else None
    )
    app.state.writers = config.writers
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    install_error_handlers(app)
    app.include_router(router)
    app.include_router(resolution_router)
    install_observability(app, service="registry", gauges=ledger.gauges)
    return app
