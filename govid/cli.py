"""The `govid` command: one small function per subcommand, errors printed once.

A `GovidError` is caught in `main` and printed as `error: <code>: <sentence>`
with exit status 1 (2 for usage errors, from typer). `--verbose` re-raises it
with its traceback, for support.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from did.errors import GovidError
from govid import cli_did, cli_registry, cli_sd_jwt, cli_witness

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

_state: dict[str, bool] = {"verbose": False}


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks for errors.")
    ] = False,
) -> None:
    _state["verbose"] = verbose


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, render `GovidError` once, exit non-zero."""
    verbose = "--verbose" in (argv or sys.argv) or "-v" in (argv or sys.argv)[:2]
    try:
        app(args=argv, standalone_mode=False)
    except GovidError as exc:
        if verbose or os.environ.get("GOVID_VERBOSE"):
            raise
        sys.stderr.write(f"error: {exc.code}: {exc.message}\n")
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.stderr.write("aborted\n")
        sys.exit(130)
    except Exception as exc:  # click usage errors carry their own exit code
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise
    sys.exit(0)


__all__ = ["app", "main"]

if __name__ == "__main__":  # pragma: no cover
    main()
