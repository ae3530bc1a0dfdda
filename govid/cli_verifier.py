"""`govid verifier ...`: run the verifier service, or check one presentation (support staff)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from govid._io import print_json
from verifier.engine import verify_presentation
from verifier.settings import VerifierSettings

app = typer.Typer(no_args_is_help=True, help="Verifier: service counters and presentation checks.")

RegistryOpt = Annotated[
    str, typer.Option("--registry", envvar="GOVID_REGISTRY_URL", help="Registry base URL.")
]
VKeyOpt = Annotated[
    str, typer.Option("--log-vkey", envvar="GOVID_LOG_VKEY", help="The log's verifier key.")
]
WitnessOpt = Annotated[
    list[str],
    typer.Option("--witness", envvar="GOVID_WITNESS_VKEYS", help="A witness vkey (repeatable)."),
]
QuorumOpt = Annotated[
    int | None,
    typer.Option("--quorum", envvar="GOVID_WITNESS_QUORUM", help="Cosignatures required."),
]
RootOpt = Annotated[
    str, typer.Option("--root-did", envvar="GOVID_ROOT_DID", help="The root authority's DID.")
]


def _read_presentation(value: str) -> str:
    if value == "-":
        return sys.stdin.read().strip()
    path = Path(value)
    if len(value) < 4096 and "~" not in value and path.is_file():
        return path.read_text(encoding="utf-8").strip()
    return value.strip()


@app.command("check")
def check(
    presentation: Annotated[
        str, typer.Argument(help="The presentation (SD-JWT+KB), a file holding it, or '-'.")
    ],
    aud: Annotated[str, typer.Option("--aud", help="The audience the KB-JWT must name.")],
    nonce: Annotated[str, typer.Option("--nonce", help="The nonce the KB-JWT must carry.")],
    registry: RegistryOpt,
    log_vkey: VKeyOpt,
    witness: WitnessOpt,
    root_did: RootOpt,
    quorum: QuorumOpt = None,
) -> None:
    """Print the named-checks report of one presentation; exit 1 when it is refused."""
    settings = VerifierSettings(
        registry_url=registry,
        log_vkey=log_vkey,
        witness_vkeys=witness,
        quorum=quorum,
        root_did=root_did,
    )
    lookups = settings.lookups()
    try:
        report = verify_presentation(
            _read_presentation(presentation),
            expected_aud=aud,
            expected_nonce=nonce,
            query=None,
            policy=settings.policy(),
            lookups=lookups,
            now=datetime.now(UTC),
        )
    finally:
        lookups.close()
    print_json(report.to_json())
    if not report.accepted:
        raise typer.Exit(1)


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8403,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            envvar="GOVID_VERIFIER_DATA",
            help="Directory with verifier.json (GOVID_VERIFIER_* variables override it).",
        ),
    ] = None,
) -> None:
    """Run the verifier service (settings from DIR/verifier.json and GOVID_VERIFIER_*)."""
    import uvicorn

    from verifier.api.app import create_app
    from verifier.settings import build_context, load_settings

    settings = load_settings(data)
    uvicorn.run(create_app(build_context(settings)), host=host, port=port, log_level="warning")


@app.command("hash-secret")
def hash_secret() -> None:
    """Print the stored form of a counter's client secret (read from stdin), for
    GOVID_VERIFIER_CLIENTS."""
    from service.oauth import hash_client_secret

    secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise typer.BadParameter("give the secret on standard input")
    print(hash_client_secret(secret))
