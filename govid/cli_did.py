"""`govid did ...`: keys, resolution, and did:govid life cycle through a registry."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from did.errors import MalformedInput
from did.keys import generate_private_key, jwk_from_private_key
from did.methods import DIDJWKResolver, DIDKeyResolver, DIDWebResolver, did_key_from_public_key
from did.resolver import ResolutionOptions, Resolver
from govid._io import print_json, read_secret, write_secret
from registry import authoring
from registry.authoring import Keyring
from registry.client import GovidMethodResolver, RegistryClient
from registry.trust import trust_from_options
from service.fetch import Fetcher, FetchPolicy

app = typer.Typer(no_args_is_help=True, help="DIDs: keys, resolution, did:govid operations.")
key_app = typer.Typer(no_args_is_help=True, help="Key pairs.")
app.add_typer(key_app, name="key")

RegistryOpt = Annotated[
    str,
    typer.Option(
        "--registry",
        envvar="GOVID_REGISTRY_URL",
        help="Base URL of the did:govid registry.",
    ),
]
VKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--log-vkey",
        envvar="GOVID_LOG_VKEY",
        help="The log's verifier key; fetched from the registry (trust on first use) if absent.",
    ),
]
WitnessOpt = Annotated[
    list[str] | None,
    typer.Option("--witness", envvar="GOVID_WITNESS_VKEYS", help="A witness vkey (repeatable)."),
]
QuorumOpt = Annotated[
    int | None,
    typer.Option("--quorum", envvar="GOVID_WITNESS_QUORUM", help="Cosignatures required."),
]


@key_app.command("generate")
def key_generate(
    out: Annotated[Path, typer.Option("--out", help="Where to write the private JWK (mode 0600).")],
    alg: Annotated[str, typer.Option("--alg", help="EdDSA or ES256.")] = "EdDSA",
) -> None:
    """Write a new private JWK to FILE and print its did:key."""
    if alg not in ("EdDSA", "ES256"):
        raise MalformedInput("--alg is EdDSA or ES256")
    key = generate_private_key(alg)
    write_secret(out, json.dumps(jwk_from_private_key(key), indent=2) + "\n")
    typer.echo(did_key_from_public_key(key.public_key()))


def _registry_client(
    url: str, vkey: str | None, witnesses: list[str] | None, quorum: int | None
) -> RegistryClient:
    trust = trust_from_options(url, log_vkey=vkey, witness_vkeys=witnesses or [], quorum=quorum)
    return RegistryClient(url, trust=trust)


@app.command("resolve")
def resolve(
    did: Annotated[str, typer.Argument(help="The DID to resolve.")],
    registry: Annotated[
        str | None,
        typer.Option("--registry", envvar="GOVID_REGISTRY_URL", help="Registry for did:govid."),
    ] = None,
    log_vkey: VKeyOpt = None,
    witness: WitnessOpt = None,
    quorum: QuorumOpt = None,
    version_id: Annotated[str | None, typer.Option("--version-id")] = None,
    version_time: Annotated[
        str | None, typer.Option("--version-time", help="RFC 3339, e.g. 2026-01-01T00:00:00Z")
    ] = None,
) -> None:
    """Print the DID Resolution result (didDocument, didDocumentMetadata, didResolutionMetadata)."""
    # A did:web names any host: the untrusted fetch rules (https, public addresses).
    web = DIDWebResolver(fetch=Fetcher(FetchPolicy.untrusted()))
    methods: list[object] = [DIDKeyResolver(), DIDJWKResolver(), web]
    if registry:
        methods.append(GovidMethodResolver(_registry_client(registry, log_vkey, witness, quorum)))
    resolver = Resolver(methods, clock=lambda: datetime.now(UTC))  # type: ignore[arg-type]
    when = None
    if version_time:
        try:
            when = datetime.fromisoformat(version_time.replace("Z", "+00:00"))
        except ValueError as exc:
            raise MalformedInput("--version-time is an RFC 3339 date-time") from exc
    result = resolver.resolve(did, ResolutionOptions(version_id=version_id, version_time=when))
    print_json(result.to_json())
    if result.error:
        raise typer.Exit(1)


def _load_keyring(path: Path) -> Keyring:
    return Keyring.from_json(json.loads(read_secret(path)))


@app.command("create")
def create(
    registry: RegistryOpt,
    key_out: Annotated[Path, typer.Option("--key-out", help="Keyring file to write (mode 0600).")],
    alg: Annotated[str, typer.Option("--alg")] = "EdDSA",
    log_vkey: VKeyOpt = None,
) -> None:
    """Create a did:govid on the registry; print the new DID."""
    if key_out.exists():
        raise MalformedInput("the keyring file exists already; refusing to overwrite it")
    client = _registry_client(registry, log_vkey, None, None)
    keyring, op = authoring.create_did(ledger=client.trust.origin, alg=alg)
    # Write the keys before sending: an acknowledged DID without its keys is lost.
    write_secret(key_out, keyring.dumps() + "\n")
    client.submit(op)
    typer.echo(keyring.did)


@app.command("rotate")
def rotate(
    registry: RegistryOpt,
    key: Annotated[Path, typer.Option("--key", help="The DID's keyring file.")],
    compromised: Annotated[
        bool, typer.Option("--compromised", help="Mark the replaced keys as compromised.")
    ] = False,
    log_vkey: VKeyOpt = None,
) -> None:
    """Rotate to the pre-committed update keys and a new signing key."""
    keyring = _load_keyring(key)
    client = _registry_client(registry, log_vkey, None, None)
    new, op = authoring.rotate(keyring, compromised=compromised)
    _submit_then_save(client, op, new, key)
    print_json({"did": new.did, "signingKey": new.signing_kid})


@app.command("deactivate")
def deactivate(
    registry: RegistryOpt,
    key: Annotated[Path, typer.Option("--key", help="The DID's keyring file.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    log_vkey: VKeyOpt = None,
) -> None:
    """Deactivate a did:govid for good (it cannot be undone)."""
    keyring = _load_keyring(key)
    if not yes and not typer.confirm(f"Deactivate {keyring.did} for good?"):
        raise typer.Abort()
    client = _registry_client(registry, log_vkey, None, None)
    new, op = authoring.deactivate(keyring)
    _submit_then_save(client, op, new, key)
    typer.echo(f"deactivated {keyring.did}")


def _submit_then_save(client: RegistryClient, op: str, new: Keyring, path: Path) -> None:
    # The pending keyring is saved aside first, so a crash between the append
    # and the save loses no key (the next command can pick it up by hand).
    pending = path.with_name(path.name + ".pending")
    write_secret(pending, new.dumps() + "\n")
    client.submit(op)
    os.replace(pending, path)
