"""`govid registry ...`: create, run, accredit on and audit a did:govid registry."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from did.errors import MalformedInput
from govid._io import print_json, read_secret, write_secret
from registry import authoring
from registry.authoring import Keyring
from registry.bootstrap import DEFAULT_ORIGIN, init_registry
from registry.client import RegistryClient
from registry.trust import trust_from_options
from service.serving import FD_HELP

app = typer.Typer(no_args_is_help=True, help="The did:govid registry ledger.")

DataOpt = Annotated[Path, typer.Option("--data", help="The registry's data directory.")]
HostOpt = Annotated[str, typer.Option("--host", help="Interface to listen on.")]
PortOpt = Annotated[int, typer.Option("--port", help="TCP port.")]


@app.command("init")
def init(
    data: DataOpt,
    origin: Annotated[
        str, typer.Option("--origin", help="The log's origin line.")
    ] = DEFAULT_ORIGIN,
) -> None:
    """Create a registry: the log key and the root authority DID (secrets mode 0600)."""
    info = init_registry(data, origin=origin)
    print_json(info)


@app.command("serve")
def serve(
    data: DataOpt,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8400,
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url", envvar="GOVID_REGISTRY_DATABASE_URL", help="SQLAlchemy URL."
        ),
    ] = None,
    fd: Annotated[int | None, typer.Option("--fd", hidden=True, help=FD_HELP)] = None,
) -> None:
    """Run the registry's HTTP API (SQLite in DATA unless a database URL is given)."""
    from registry.api.app import create_app
    from registry.config import RegistryConfig
    from service.serving import serve as serve_app

    config = RegistryConfig.load(data, database_url=database_url)
    serve_app(
        create_app(config), host=host, port=port, service="registry", fd=fd,
        trusted_proxies=config.trusted_proxies, access_log=False,
    )  # fmt: skip


@app.command("add-witness")
def add_witness(
    data: DataOpt,
    name: Annotated[str, typer.Option("--name")],
    url: Annotated[str, typer.Option("--url", help="The witness's base URL.")],
    vkey: Annotated[str, typer.Option("--vkey", help="The witness's cosignature vkey.")],
    quorum: Annotated[int | None, typer.Option("--quorum", help="Cosignatures to require.")] = None,
) -> None:
    """Configure a witness the registry sends its checkpoints to."""
    from registry.cosignature import WitnessVerifier

    WitnessVerifier.from_vkey(vkey)
    path = data / "registry.json"
    info = json.loads(path.read_text(encoding="utf-8"))
    info["witnesses"] = [w for w in info.get("witnesses", []) if w["url"] != url]
    info["witnesses"].append({"name": name, "url": url, "vkey": vkey})
    if quorum is not None:
        if not 0 <= quorum <= len(info["witnesses"]):
            raise MalformedInput("the quorum cannot exceed the number of witnesses")
        info["quorum"] = quorum
    path.write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print_json(info)


@app.command("accredit")
def accredit(
    issuer: Annotated[str, typer.Option("--issuer", help="The DID to accredit.")],
    vct: Annotated[list[str], typer.Option("--vct", help="A credential type (repeatable).")],
    registry: Annotated[str, typer.Option("--registry", envvar="GOVID_REGISTRY_URL")],
    key: Annotated[
        Path,
        typer.Option("--key", envvar="GOVID_ACCREDITOR_KEY", help="The accreditor's keyring."),
    ],
    role: Annotated[str, typer.Option("--role", help="issuer, verifier or accreditor")] = "issuer",
    claim: Annotated[
        list[str] | None, typer.Option("--claim", help="For verifiers: a claim it may ask for.")
    ] = None,
    days: Annotated[int, typer.Option("--days", min=1, help="How long it holds.")] = 365,
    log_vkey: Annotated[str | None, typer.Option("--log-vkey", envvar="GOVID_LOG_VKEY")] = None,
) -> None:
    """Accredit ISSUER for credential types, signed with the accreditor's keyring."""
    keyring = Keyring.from_json(json.loads(read_secret(key)))
    client = RegistryClient(registry, trust=trust_from_options(registry, log_vkey=log_vkey))
    now = int(time.time())
    new, op = authoring.grant(
        keyring,
        subject=issuer,
        role=role,
        credential_types=vct,
        claims=claim or (),
        valid_from=now - 60,
        valid_until=now + days * 86400,
    )
    result = client.submit(op)
    write_secret(key, new.dumps() + "\n")
    print_json({"accreditation": result["operationHash"], "index": result["index"]})


@app.command("audit")
def audit(
    url: Annotated[str, typer.Argument(help="The registry's base URL.")],
    log_vkey: Annotated[str | None, typer.Option("--log-vkey", envvar="GOVID_LOG_VKEY")] = None,
    witness: Annotated[list[str] | None, typer.Option("--witness")] = None,
    quorum: Annotated[int | None, typer.Option("--quorum")] = None,
    stack: Annotated[
        Path | None,
        typer.Option(
            "--stack", help="A `govid up` stack.json: its log key, witness keys and quorum."
        ),
    ] = None,
) -> None:
    """Replay the whole log: every rule, every checkpoint root, every cosignature."""
    from govid.cli_audit import run_audit, stack_keys

    witnesses = list(witness or [])
    if stack is not None:
        pinned = stack_keys(stack)
        log_vkey = log_vkey or pinned.log_vkey
        witnesses = witnesses or list(pinned.witness_vkeys)
        quorum = quorum if quorum is not None else pinned.quorum
    ok = run_audit(url, log_vkey=log_vkey, witnesses=witnesses, quorum=quorum)
    if not ok:
        raise typer.Exit(1)
