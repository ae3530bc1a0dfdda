"""`govid did ...`: keys, resolution, dereferencing, and did:govid life cycle through a registry."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from did.dereference import DereferencingOptions, dereference
from did.errors import MalformedInput
from did.keys import SUPPORTED_ALGS, generate_private_key, jwk_from_private_key
from did.methods import DIDJWKResolver, DIDKeyResolver, DIDWebResolver, did_key_from_public_key
from did.resolver import (
    MethodResolver,
    ResolutionOptions,
    ResolutionResult,
    Resolver,
    parse_version_time,
)
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
    alg: Annotated[
        str, typer.Option("--alg", help=f"One of {', '.join(SUPPORTED_ALGS)}.")
    ] = "EdDSA",
) -> None:
    """Write a new private JWK to FILE and print its did:key."""
    if alg not in SUPPORTED_ALGS:
        raise MalformedInput(f"--alg is one of {', '.join(SUPPORTED_ALGS)}")
    key = generate_private_key(alg)
    write_secret(out, json.dumps(jwk_from_private_key(key), indent=2) + "\n")
    typer.echo(did_key_from_public_key(key.public_key()))


def _registry_client(
    url: str, vkey: str | None, witnesses: list[str] | None, quorum: int | None
) -> RegistryClient:
    trust = trust_from_options(url, log_vkey=vkey, witness_vkeys=witnesses or [], quorum=quorum)
    return RegistryClient(url, trust=trust)


OptionalRegistryOpt = Annotated[
    str | None,
    typer.Option("--registry", envvar="GOVID_REGISTRY_URL", help="Registry for did:govid."),
]
AcceptOpt = Annotated[
    str | None,
    typer.Option(
        "--accept",
        help="Print the resource alone in this media type (application/did+json, "
        "application/did+ld+json; text/uri-list for a service) instead of the whole result.",
    ),
]


@contextmanager
def _resolver(
    registry: str | None, log_vkey: str | None, witness: list[str] | None, quorum: int | None
) -> Iterator[Resolver]:
    """did:key, did:jwk, did:web, and did:govid through `registry` (proofs checked) if given."""
    with ExitStack() as stack:
        # A did:web names any host: the untrusted fetch rules (https, public addresses).
        fetch = stack.enter_context(Fetcher(FetchPolicy.untrusted()))
        web = DIDWebResolver(fetch=fetch)
        methods: list[MethodResolver] = [DIDKeyResolver(), DIDJWKResolver(), web]
        if registry:
            client = stack.enter_context(_registry_client(registry, log_vkey, witness, quorum))
            methods.append(GovidMethodResolver(client))
        yield Resolver(methods, clock=lambda: datetime.now(UTC), max_cache_entries=0)


@app.command("resolve")
def resolve(
    did: Annotated[str, typer.Argument(help="The DID to resolve.")],
    registry: OptionalRegistryOpt = None,
    log_vkey: VKeyOpt = None,
    witness: WitnessOpt = None,
    quorum: QuorumOpt = None,
    version_id: Annotated[str | None, typer.Option("--version-id")] = None,
    version_time: Annotated[
        str | None, typer.Option("--version-time", help="RFC 3339, e.g. 2026-01-01T00:00:00Z")
    ] = None,
    accept: AcceptOpt = None,
    derive_x25519: Annotated[
        bool,
        typer.Option(
            "--enable-encryption-key-derivation",
            help="did:key: add the X25519 key agreement key of an Ed25519 key.",
        ),
    ] = False,
) -> None:
    """Print the DID Resolution result (didDocument, didDocumentMetadata, didResolutionMetadata).

    With --accept, print the document alone in that representation
    (resolveRepresentation); an error is still printed as a whole result.
    """
    options = ResolutionOptions(
        version_id=version_id,
        version_time=None if version_time is None else parse_version_time(version_time),
        accept=accept,
        enable_encryption_key_derivation=derive_x25519,
    )
    with _resolver(registry, log_vkey, witness, quorum) as resolver:
        if accept is None:
            result = resolver.resolve(did, options)
        else:
            shown = resolver.resolve_representation(did, options)
    if accept is None:
        print_json(result.to_json())
        if result.error:
            raise typer.Exit(1)
        return
    if shown.error is not None:
        print_json(ResolutionResult(None, {}, shown.resolution_metadata).to_json())
        raise typer.Exit(1)
    sys.stdout.write(shown.document_stream.decode("utf-8") + "\n")


@app.command("dereference")
def dereference_url(
    did_url: Annotated[str, typer.Argument(help="The DID URL, e.g. 'did:govid:...#key-1'.")],
    registry: OptionalRegistryOpt = None,
    log_vkey: VKeyOpt = None,
    witness: WitnessOpt = None,
    quorum: QuorumOpt = None,
    accept: AcceptOpt = None,
) -> None:
    """Print the DID URL dereferencing result (DID Core §7.2): a key, a service, a version,
    or a service endpoint URL (`?service=...&relativeRef=...`)."""
    with _resolver(registry, log_vkey, witness, quorum) as resolver:
        result = dereference(resolver, did_url, DereferencingOptions(accept=accept))
    if accept is None or result.error is not None:
        print_json(result.to_json())
        if result.error is not None:
            raise typer.Exit(1)
        return
    sys.stdout.write(result.content.decode("utf-8") + "\n")


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
