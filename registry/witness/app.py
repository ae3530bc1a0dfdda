"""The witness's HTTP API: C2SP tlog-witness `POST /add-checkpoint`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from sqlmodel import Session

from did.errors import GovidError
from registry.errors import WitnessSizeMismatch
from registry.witness.config import WitnessConfig
from registry.witness.migrations import upgrade
from registry.witness.store import advance_state, load_state
from registry.witness_protocol import (
    MAX_REQUEST_BYTES,
    AddCheckpointRequest,
    decide_add_checkpoint,
    format_add_checkpoint_response,
    format_size_conflict,
)
from service.database import make_engine
from service.handlers import install_error_handlers
from service.http_status import status_for
from service.limits import BodySizeLimit
from service.observability import install_observability


def create_witness_app(
    config: WitnessConfig, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> FastAPI:
    engine = make_engine(config.url())
    known_logs = config.known_logs()
    signer = config.signer()
    vkey = signer.verifier().to_vkey()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(upgrade, engine)
        yield
        engine.dispose()

    app = FastAPI(title="govid witness", version="1.0", lifespan=lifespan)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_REQUEST_BYTES)
    # add-checkpoint answers in the protocol's text itself; the handlers cover
    # the rest (an unknown route, a database that is down).
    install_error_handlers(app)

    def add_checkpoint_sync(body: bytes) -> Response:
        request = AddCheckpointRequest.parse(body)
        with Session(engine) as session:
            # Decide against the state, then move the state with a
            # compare-and-swap: a concurrent request that moved it first makes
            # this one a 409, never a second cosignature from the same size.
            origin = request.unverified_checkpoint.partition("\n")[0]
            state = load_state(session, origin)
            checkpoint = decide_add_checkpoint(request=request, known_logs=known_logs, state=state)
            moved = advance_state(
                session,
                checkpoint.origin,
                old_size=request.old_size,
                new_size=checkpoint.size,
                new_root=checkpoint.root_hash,
            )
            if not moved:
                now = load_state(session, origin)
                raise WitnessSizeMismatch(
                    "another request advanced this log first",
                    current_size=now[0] if now else 0,
                )
        cosignature = signer.cosign(checkpoint, now=clock())
        return PlainTextResponse(format_add_checkpoint_response([cosignature]))

    @app.post("/add-checkpoint", response_class=PlainTextResponse)
    async def add_checkpoint(request: Request) -> Response:
        """C2SP tlog-witness add-checkpoint: verify, check consistency, cosign."""
        body = await request.body()
        try:
            return await asyncio.to_thread(add_checkpoint_sync, body)
        except WitnessSizeMismatch as exc:
            return PlainTextResponse(
                format_size_conflict(exc.current_size),
                status_code=409,
                media_type="text/x.tlog.size",
            )
        except GovidError as exc:
            return PlainTextResponse(f"{exc.code}: {exc.message}\n", status_code=status_for(exc))

    @app.get("/")
    async def home() -> dict[str, object]:
        return {
            "service": "govid witness (C2SP tlog-witness)",
            "vkey": vkey,
            "logs": sorted(known_logs),
            "links": {"add-checkpoint": "/add-checkpoint", "docs": "/docs"},
        }

    @app.get("/witness/vkey", response_class=PlainTextResponse)
    async def witness_vkey() -> str:
        return vkey + "\n"

    def ping() -> None:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    install_observability(app, service="witness", ready=ping)
    return app
