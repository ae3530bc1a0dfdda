"""`govid witness ...`: run a C2SP tlog-witness for one or more logs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from did.errors import MalformedInput
from govid._io import print_json
from registry.witness.config import add_log, init_witness
from service.serving import FD_HELP

app = typer.Typer(no_args_is_help=True, help="A witness that cosigns checkpoints.")

DataOpt = Annotated[Path, typer.Option("--data", help="The witness's data directory.")]


def _log_pairs(logs: list[str]) -> list[dict[str, str]]:
    pairs = []
    for item in logs:
        origin, sep, vkey = item.partition("=")
        if not sep:
            raise MalformedInput("--log takes ORIGIN=VKEY")
        pairs.append({"origin": origin, "vkey": vkey})
    return pairs


@app.command("init")
def init(
    data: DataOpt,
    name: Annotated[str, typer.Option("--name", help="The witness's key name.")],
    log: Annotated[
        list[str] | None, typer.Option("--log", help="ORIGIN=VKEY of a log to follow.")
    ] = None,
) -> None:
    """Create a witness key (mode 0600) and print its vkey for the log operator."""
    vkey = init_witness(data, name=name, logs=_log_pairs(log or []))
    print_json({"name": name, "vkey": vkey})


@app.command("add-log")
def add(
    data: DataOpt,
    log: Annotated[str, typer.Option("--log", help="ORIGIN=VKEY of a log to follow.")],
) -> None:
    """Follow another log."""
    (pair,) = _log_pairs([log])
    add_log(data, origin=pair["origin"], vkey=pair["vkey"])


@app.command("serve")
def serve(
    data: DataOpt,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8410,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", envvar="GOVID_WITNESS_DATABASE_URL"),
    ] = None,
    fd: Annotated[int | None, typer.Option("--fd", hidden=True, help=FD_HELP)] = None,
) -> None:
    """Run the witness's HTTP API (POST /add-checkpoint)."""
    from registry.witness.app import create_witness_app
    from registry.witness.config import WitnessConfig
    from service.serving import serve as serve_app

    config = WitnessConfig.load(data, database_url=database_url)
    serve_app(
        create_witness_app(config), host=host, port=port, service="witness", fd=fd,
        trusted_proxies=config.trusted_proxies,
    )  # fmt: skip
