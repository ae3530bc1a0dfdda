"""`govid wallet ...`: the citizen's wallet on the command line (scripting and support).

The passphrase comes from `GOVID_WALLET_PASSPHRASE` or a prompt; the wallet
lives in `GOVID_WALLET_DIR` (default: the user's data directory).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from govid._io import print_json, write_secret
from service.serving import FD_HELP

app = typer.Typer(no_args_is_help=True, help="The citizen's wallet: receive, present, show a QR.")

DirOpt = Annotated[
    Path | None,
    typer.Option("--dir", envvar="GOVID_WALLET_DIR", help="The wallet directory."),
]


def _passphrase(*, confirm: bool = False, env: str = "GOVID_WALLET_PASSPHRASE") -> str:
    value = os.environ.get(env)
    if value:
        return value
    return str(typer.prompt("Wallet passphrase", hide_input=True, confirmation_prompt=confirm))


def _open(directory: Path | None, *, unlock: bool = True):  # type: ignore[no-untyped-def]
    from holder_wallet.settings import WalletSettings
    from holder_wallet.wallet import Wallet

    overrides = {} if directory is None else {"dir": directory}
    wallet = Wallet(WalletSettings.load(**overrides))
    if unlock:
        try:
            wallet.unlock(_passphrase())
        except BaseException:
            wallet.close()
            raise
    return wallet


@app.command("init")
def init(
    directory: DirOpt = None,
    registry: Annotated[
        str | None, typer.Option("--registry", envvar="GOVID_REGISTRY_URL", help="Registry URL.")
    ] = None,
    log_vkey: Annotated[
        str | None, typer.Option("--log-vkey", envvar="GOVID_LOG_VKEY", help="The log's key.")
    ] = None,
    witness: Annotated[
        list[str] | None, typer.Option("--witness", help="A witness vkey (repeatable).")
    ] = None,
    quorum: Annotated[int | None, typer.Option("--quorum", help="Cosignatures required.")] = None,
) -> None:
    """Create an encrypted wallet and pin the ledger it trusts."""
    from holder_wallet.settings import WalletSettings
    from holder_wallet.wallet import Wallet

    overrides: dict[str, object] = {} if directory is None else {"dir": directory}
    settings = WalletSettings.load(**overrides)
    update: dict[str, object] = {}
    if registry:
        update["registry_url"] = registry
    if log_vkey:
        update["log_vkey"] = log_vkey
    if witness:
        update["witness_vkeys"] = witness
    if quorum:
        update["quorum"] = quorum
    settings = settings.model_copy(update=update)
    passphrase = _passphrase(confirm=True)
    with Wallet(settings) as wallet:
        wallet.init(passphrase)
    settings.save_trust()
    print_json({"dir": str(settings.dir), "registry": settings.registry_url})


@app.command("list")
def list_(
    directory: DirOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    status: Annotated[
        bool, typer.Option("--status", help="Check status lists on the ledger first.")
    ] = False,
) -> None:
    """List the credentials in the wallet."""
    from holder_wallet.wallet import summary

    with _open(directory) as wallet:
        if status:
            wallet.refresh_status()
        items = [summary(c) for c in wallet.credentials()]
    if as_json:
        print_json(items)
        return
    if not items:
        typer.echo("The wallet holds no credentials.")
    for item in items:
        typer.echo(
            f"{item['id']}  {item['name']}  from {item['issuer']}  "
            f"[{item['status']}, {item['copies']} copies]"
        )


@app.command("receive")
def receive(
    offer_uri: Annotated[
        str, typer.Argument(help="The credential offer (openid-credential-offer://...).")
    ],
    tx_code: Annotated[
        str | None, typer.Option("--tx-code", help="The transaction code the agency sent.")
    ] = None,
    directory: DirOpt = None,
) -> None:
    """Receive a credential over OpenID4VCI; it is verified before it is stored."""
    from holder_wallet.wallet import summary

    with _open(directory) as wallet:
        ids = wallet.receive(offer_uri, tx_code)
        print_json([summary(wallet.credential(i)) for i in ids])


@app.command("present")
def present(
    request_uri: Annotated[str, typer.Argument(help="The request (openid4vp://...).")],
    yes: Annotated[bool, typer.Option("--yes", help="Approve what is requested.")] = False,
    directory: DirOpt = None,
) -> None:
    """Show what a verifier asks, and send it if approved (OpenID4VP)."""
    with _open(directory) as wallet:
        consent = wallet.prepare(request_uri)
        typer.echo(consent.text(), err=True)
        approved = yes or (sys.stdin.isatty() and typer.confirm("Send this?", default=False))
        if not approved:
            wallet.decline(consent)
            print_json({"sent": False})
            raise typer.Exit(1)
        answer = wallet.approve(consent)
    print_json({"sent": True, "verifier": consent.request.verifier_did, "answer": answer})


@app.command("qr")
def qr(
    credential: Annotated[str, typer.Argument(help="The credential's id (see 'list').")],
    challenge: Annotated[
        str, typer.Option("--challenge", help='The counter\'s challenge: {"aud":..,"nonce":..}.')
    ],
    out: Annotated[Path, typer.Option("--out", help="Where to write the PNG.")],
    claim: Annotated[
        list[str] | None,
        typer.Option("--claim", help="A claim to disclose, dotted path (repeatable)."),
    ] = None,
    directory: DirOpt = None,
) -> None:
    """Write an offline presentation QR code bound to the counter's challenge."""
    paths = [[int(p) if p.isdigit() else p for p in c.split(".")] for c in (claim or [])]
    with _open(directory) as wallet:
        text, png = wallet.offline_qr(credential, challenge, claims=paths)
    out.write_bytes(png)
    print_json({"out": str(out), "characters": len(text)})


@app.command("history")
def history(directory: DirOpt = None) -> None:
    """Print what was presented to whom, and when."""
    with _open(directory) as wallet:
        print_json(wallet.history())


@app.command("backup")
def backup(
    out: Annotated[Path, typer.Option("--out", help="The backup file to write.")],
    directory: DirOpt = None,
) -> None:
    """Write an encrypted backup (under the backup passphrase, default: the wallet's)."""
    with _open(directory) as wallet:
        data = wallet.export_backup(_backup_passphrase())
    write_secret(out, data.decode())
    print_json({"out": str(out)})


def _backup_passphrase() -> str:
    value = os.environ.get("GOVID_WALLET_BACKUP_PASSPHRASE") or os.environ.get(
        "GOVID_WALLET_PASSPHRASE"
    )
    if value:
        return value
    return str(typer.prompt("Backup passphrase", hide_input=True))


@app.command("restore")
def restore(
    backup_file: Annotated[Path, typer.Argument(help="The backup file.")],
    directory: DirOpt = None,
) -> None:
    """Restore a backup into this wallet (create it first with 'init')."""
    with _open(directory) as wallet:
        added = wallet.restore(backup_file.read_bytes(), _backup_passphrase())
    print_json({"restored": added})


@app.command("serve")
def serve(
    directory: DirOpt = None,
    host: Annotated[
        str, typer.Option("--host", help="Interface (loopback by default).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8410,
    fd: Annotated[int | None, typer.Option("--fd", hidden=True, help=FD_HELP)] = None,
) -> None:
    """Serve the wallet web app to this device's browser."""
    from holder_wallet.api.app import create_app
    from service.serving import serve as serve_app

    wallet = _open(directory, unlock=False)
    try:
        trusted = wallet.settings.trusted_proxies
        serve_app(
            create_app(wallet), host=host, port=port, service="wallet", fd=fd,
            trusted_proxies=trusted,
        )  # fmt: skip
    finally:
        wallet.close()
