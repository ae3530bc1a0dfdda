"""`govid issuer ...`: set up, run and operate the issuer service of the agencies.

    govid issuer init --data DIR --public-url URL --registry URL [--log-vkey VKEY]
    govid issuer add-agency --data DIR --slug civil --name "Civil affairs" --type civil_identity
    govid issuer serve --data DIR [--host H] [--port P]
    govid issuer import --agency civil FILE.csv [--data DIR] [--type civil_identity] [--out R.csv]
    govid issuer publish --data DIR [--agency civil]
    govid issuer rotate-key --data DIR --agency civil

The key-encryption key comes from `GOVID_ISSUER_KEK`; `init` prints a new one
when none is set. Settings: `DIR/issuer.json`, overridden by `GOVID_ISSUER_*`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from govid._io import print_json
from service.serving import FD_HELP

if TYPE_CHECKING:
    from issuer.context import IssuerContext

app = typer.Typer(no_args_is_help=True, help="The issuer service of the agencies.")

DataOpt = Annotated[
    Path, typer.Option("--data", envvar="GOVID_ISSUER_DATA", help="The issuer's data directory.")
]
AgencyOpt = Annotated[str, typer.Option("--agency", help="The agency's slug, e.g. civil.")]


def _context(data: Path) -> IssuerContext:
    from issuer.api.app import build_context
    from issuer.migrations import upgrade
    from issuer.settings import load_settings

    settings = load_settings(data)
    stack_secrets = data.parent / "secrets.json"
    if settings.kek is None and stack_secrets.is_file():
        # A `govid up` stack keeps its development KEK beside the issuers.
        kek = json.loads(stack_secrets.read_text(encoding="utf-8")).get("issuer_kek")
        if kek:
            settings = load_settings(data, kek=kek)
    ctx = build_context(settings)
    upgrade(ctx.engine)
    return ctx


@app.command("init")
def init(
    data: DataOpt,
    public_url: Annotated[str, typer.Option("--public-url", help="Base URL wallets reach.")],
    registry: Annotated[str, typer.Option("--registry", help="The registry's URL.")],
    log_vkey: Annotated[str | None, typer.Option("--log-vkey", help="Pin the log key.")] = None,
    witness: Annotated[
        list[str] | None, typer.Option("--witness", help="A witness vkey (repeatable).")
    ] = None,
    quorum: Annotated[int | None, typer.Option("--quorum", min=0)] = None,
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
) -> None:
    """Write DIR/issuer.json and create the tables; print a new KEK if none is set."""
    from issuer.keys_at_rest import new_kek_text
    from issuer.migrations import upgrade
    from issuer.settings import CONFIG_FILE, load_settings
    from issuer.store import make_engine
    from service.private_files import private_database, private_dir

    private_dir(data)
    config = {
        "public_url": public_url,
        "registry_url": registry,
        "registry_log_vkey": log_vkey,
        "registry_witness_vkeys": witness or [],
        "registry_quorum": quorum,
        "database_url": database_url,
    }
    config = {k: v for k, v in config.items() if v is not None}
    (data / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    upgrade(private_database(make_engine(load_settings(data).url())))
    out: dict[str, str] = {"config": str(data / CONFIG_FILE)}
    if not os.environ.get("GOVID_ISSUER_KEK"):
        out["kek"] = new_kek_text()
        out["note"] = "store the KEK in GOVID_ISSUER_KEK; it is shown only now"
    print_json(out)


@app.command("add-agency")
def add_agency(
    data: DataOpt,
    slug: Annotated[str, typer.Option("--slug", help="Short name, e.g. civil.")],
    name: Annotated[str, typer.Option("--name", help="Display name.")],
    type_: Annotated[
        list[str], typer.Option("--type", help="A credential configuration id (repeatable).")
    ],
) -> None:
    """Create the agency's did:govid DID on the ledger and an OAuth client (secret shown once).

    Then accredit the DID on the registry: `govid registry accredit --issuer DID --vct ...`.
    """
    from issuer.agencies import create_agency
    from issuer.credential_types import credential_type, vct_for

    ctx = _context(data)
    made = create_agency(ctx, slug=slug, name=name, type_ids=type_)
    made["vcts"] = [vct_for(credential_type(t), ctx.settings.vct_root) for t in type_]
    print_json(made)


@app.command("serve")
def serve(
    data: DataOpt,
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8500,
    fd: Annotated[int | None, typer.Option("--fd", hidden=True, help=FD_HELP)] = None,
) -> None:
    """Run the issuer's HTTP service (OpenID4VCI, agency API, agency page)."""
    from issuer.api.app import create_app
    from service.serving import serve as serve_app

    ctx = _context(data)
    trusted = ctx.settings.trusted_proxies
    serve_app(
        create_app(ctx), host=host, port=port, service="issuer", fd=fd,
        trusted_proxies=trusted, access_log=False,
    )  # fmt: skip


def _data_for(data: Path | None, agency: str) -> Path:
    """`--data`, else the agency's issuer in a `govid up` stack (`.govid-data/issuer-AGENCY`)."""
    if data is not None:
        return data
    stack = Path(".govid-data") / f"issuer-{agency}"
    if stack.is_dir():
        return stack
    from did.errors import MalformedInput

    raise MalformedInput("name the issuer's data directory with --data (or GOVID_ISSUER_DATA)")


@app.command("import")
def import_(
    agency: AgencyOpt,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The CSV to import.")],
    data: Annotated[
        Path | None,
        typer.Option("--data", envvar="GOVID_ISSUER_DATA", help="The issuer's data directory."),
    ] = None,
    type_: Annotated[
        str | None,
        typer.Option(
            "--type", help="The credential configuration id (default: the agency's first)."
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Result CSV (default FILE.result.csv).")
    ] = None,
    offer_ttl: Annotated[
        int | None, typer.Option("--offer-ttl", min=60, help="Seconds an offer stays valid.")
    ] = None,
) -> None:
    """Validate each row, create its offer, write the result CSV; safe to run again."""
    from rich.progress import track

    from issuer.importer import import_csv

    ctx = _context(_data_for(data, agency))
    result = out or file.with_suffix(".result.csv")
    counts = import_csv(
        ctx,
        agency=agency,
        configuration_id=type_,
        source=file,
        result=result,
        ttl=offer_ttl,
        progress=lambda rows, total: track(rows, total=total, description="offers", transient=True),
    )
    print_json({"result": str(result), **counts})


@app.command("publish")
def publish(data: DataOpt, agency: Annotated[str | None, typer.Option("--agency")] = None) -> None:
    """Publish changed status lists on the ledger now."""
    from issuer.status_lists import publish_status_lists

    print_json({"published": publish_status_lists(_context(data), agency=agency)})


@app.command("rotate-key")
def rotate_key(
    data: DataOpt,
    agency: AgencyOpt,
    compromised: Annotated[bool, typer.Option("--compromised")] = False,
) -> None:
    """Rotate the agency's signing key through the ledger (did.update)."""
    from issuer.agencies import rotate_agency_key

    kid = rotate_agency_key(_context(data), slug=agency, compromised=compromised)
    print_json({"kid": kid})


__all__ = ["app"]
