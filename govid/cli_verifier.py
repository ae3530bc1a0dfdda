"""`govid verifier ...`: run the verifier service, check one presentation (support staff),
manage the accounts that sign in to the counter page."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from govid._io import print_json
from service.serving import FD_HELP
from verifier.accounts import CounterAccounts, check_password, check_username
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
    settings = VerifierSettings.load(
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
    fd: Annotated[int | None, typer.Option("--fd", hidden=True, help=FD_HELP)] = None,
) -> None:
    """Run the verifier service (settings from DIR/verifier.json and GOVID_VERIFIER_*)."""
    from service.serving import serve as serve_app
    from verifier.api.app import create_app
    from verifier.settings import build_context, load_settings

    settings = load_settings(data)
    app = create_app(build_context(settings))
    serve_app(
        app, host=host, port=port, service="verifier", fd=fd,
        trusted_proxies=settings.trusted_proxies,
    )  # fmt: skip


# --- counter accounts -----------------------------------------------------------------------

users = typer.Typer(no_args_is_help=True, help="Accounts that sign in to the counter page.")
app.add_typer(users, name="counter-user")

DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        envvar="GOVID_VERIFIER_DATA",
        help="Directory with verifier.json (GOVID_VERIFIER_DATABASE_URL overrides it).",
    ),
]


@contextlib.contextmanager
def _accounts(data: Path | None) -> Iterator[CounterAccounts]:
    from verifier.migrations import upgrade
    from verifier.settings import database_engine

    engine = database_engine(data)
    try:
        upgrade(engine)
        yield CounterAccounts(engine, clock=lambda: datetime.now(UTC))
    finally:
        engine.dispose()


@users.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="The name to sign in with (a-z, 0-9, . _ -).")],
    data: DataOpt = None,
) -> None:
    """Add a counter account; the password comes from GOVID_COUNTER_PASSWORD, else a prompt."""
    check_username(username)
    password = os.environ.get("GOVID_COUNTER_PASSWORD")
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    check_password(password)
    with _accounts(data) as accounts:
        accounts.add_user(username, password)
    print_json({"username": username, "added": True})


@users.command("list")
def user_list(data: DataOpt = None) -> None:
    """List the counter accounts (names, disabled, locked after failed sign-ins)."""
    with _accounts(data) as accounts:
        print_json({"users": accounts.users()})


@users.command("disable")
def user_disable(username: Annotated[str, typer.Argument()], data: DataOpt = None) -> None:
    """Disable an account and end its sign-ins at once."""
    with _accounts(data) as accounts:
        accounts.set_disabled(username, disabled=True)
    print_json({"username": username, "disabled": True})


@users.command("enable")
def user_enable(username: Annotated[str, typer.Argument()], data: DataOpt = None) -> None:
    """Enable a disabled account again."""
    with _accounts(data) as accounts:
        accounts.set_disabled(username, disabled=False)
    print_json({"username": username, "disabled": False})


@app.command("hash-secret")
def hash_secret() -> None:
    """Print the stored form of a counter's client secret (read from stdin), for
    GOVID_VERIFIER_CLIENTS."""
    from service.oauth import hash_client_secret

    secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise typer.BadParameter("give the secret on standard input")
    print(hash_client_secret(secret))
