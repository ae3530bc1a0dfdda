"""The `govid` command: one small function per subcommand, errors printed once.

A `GovidError` is caught in `main` and printed as `error: <code>: <sentence>`
with exit status 1 (2 for usage errors, from typer). `--verbose` re-raises it
with its traceback, for support.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from did.errors import GovidError
from govid import (
    cli_did,
    cli_issuer,
    cli_registry,
    cli_sd_jwt,
    cli_verifier,
    cli_wallet,
    cli_witness,
)

app = typer.Typer(
    name="govid",
    help="Decentralized identity for government agencies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(cli_did.app, name="did")
app.add_typer(cli_sd_jwt.app, name="sd-jwt")
app.add_typer(cli_registry.app, name="registry")
app.add_typer(cli_witness.app, name="witness")
app.add_typer(cli_verifier.app, name="verifier")
app.add_typer(cli_issuer.app, name="issuer")
app.add_typer(cli_wallet.app, name="wallet")

_state: dict[str, bool] = {"verbose": False}


@app.command("demo")
def demo(
    data: Annotated[Path, typer.Option("--data", help="The running stack's directory.")] = Path(
        ".govid-data"
    ),
) -> None:
    """Walk through issuance, presentation, revocation, key rotation and audit on the stack."""
    from govid.demo import run_demo

    run_demo(data)


@app.command("up")
def up(
    data: Annotated[Path, typer.Option("--data", help="Where the stack keeps its state.")] = Path(
        ".govid-data"
    ),
    port_base: Annotated[
        int,
        typer.Option(
            "--port-base",
            help="First port; services take the next ones (0: free ports the system picks).",
        ),
    ] = 8400,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    init_only: Annotated[
        bool, typer.Option("--init-only", help="Bootstrap the data directory, then exit.")
    ] = False,
    naming: Annotated[
        str,
        typer.Option("--naming", help="local (http://HOST:PORT) or compose (http://SERVICE:PORT)."),
    ] = "local",
) -> None:
    """Start the whole stack on SQLite under DATA and print its URLs (Ctrl-C stops it)."""
    from did.errors import MalformedInput
    from govid.stack_serving import up as run_stack

    if naming not in ("local", "compose"):
        raise MalformedInput("--naming is local or compose")
    run_stack(data, host=host, port_base=port_base, init_only=init_only, naming=naming)


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks for errors.")
    ] = False,
) -> None:
    _state["verbose"] = verbose


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, render a `GovidError` once, exit non-zero.

    Click handles usage errors itself (exit 2) in standalone mode; govid's own
    errors pass through it and are printed here as code and sentence.
    """
    args = sys.argv[1:] if argv is None else argv
    verbose = bool(os.environ.get("GOVID_VERBOSE")) or (args[:1] in (["--verbose"], ["-v"]))
    from govid._logging import configure
    from service.errors import SettingsInvalid

    configure()
    try:
        app(args=args, prog_name="govid")
    except GovidError as exc:
        if verbose:
            raise
        # Bad settings: one line per variable (named, never its value).
        problems = exc.problems if isinstance(exc, SettingsInvalid) else ()
        lines = [f"{name}: {reason}" for name, reason in problems] or [exc.message]
        for line in lines:
            sys.stderr.write(f"error: {exc.code}: {line}\n")
        sys.exit(1)


__all__ = ["app", "main"]

if __name__ == "__main__":  # pragma: no cover
    main()
