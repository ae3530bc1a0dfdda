"""Run real resolutions with govid and write the W3C DID test suite's implementation files.

- did:key and did:jwk: govid's resolver in this process, over keys of every
  curve govid supports (fixed seeds, so the files are the same every run).
- did:govid: a registry on a loopback port, initialised in a scratch
  directory and fed real signed operations: a DID with a service, rotated
  to a second version; a DID created and then deactivated. Its answers are
  taken twice: from the registry's HTTP API (`GET /1.0/identifiers/...`,
  content negotiation included), and from the proof-checking client that
  `govid did resolve` / `govid did dereference` use.

Every case the suite can express is covered: documents in both JSON
representations, resolution results (found, versioned, deactivated,
notFound, invalidDid), representations, and dereferencing results
(fragments, versions, a service with `relativeRef`, notFound, invalidDidUrl).
"""

from __future__ import annotations

import hashlib
import json
import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from did.dereference import DereferencingOptions, DereferencingResult, dereference
from did.keys import PrivateKey, jwk_from_public_key
from did.methods import (
    DIDJWKResolver,
    DIDKeyResolver,
    did_jwk_from_jwk,
    did_key_from_public_key,
)
from did.representations import DID_JSON, DID_LD_JSON, URI_LIST
from did.resolver import ResolutionOptions, ResolutionResult, Resolver
from registry import authoring
from registry.api.app import create_app
from registry.bootstrap import init_registry
from registry.client import GovidMethodResolver, RegistryClient
from registry.config import RegistryConfig
from registry.proofs import LedgerTrust
from tools.conformance.implementations import (
    DEACTIVATED,
    DEFAULT,
    INVALID_DID,
    INVALID_DID_URL,
    NOT_FOUND,
    ExecutionFile,
    MethodFile,
)

REPRESENTATIONS = (DID_JSON, DID_LD_JSON)
SERVICE = {"id": "#files", "type": "LinkedDomains", "serviceEndpoint": "https://files.example/v1/"}


def _scalar(label: str) -> int:
    return int.from_bytes(hashlib.sha256(f"govid conformance {label}".encode()).digest(), "big")


def fixed_keys() -> dict[str, PrivateKey]:
    """One key per curve govid supports, from fixed seeds (test keys, never used to sign)."""
    seed = hashlib.sha256(b"govid conformance Ed25519").digest()
    keys: dict[str, PrivateKey] = {"Ed25519": ed25519.Ed25519PrivateKey.from_private_bytes(seed)}
    for name, curve in (
        ("P-256", ec.SECP256R1()),
        ("P-384", ec.SECP384R1()),
        ("P-521", ec.SECP521R1()),
        ("secp256k1", ec.SECP256K1()),
    ):
        keys[name] = ec.derive_private_key(_scalar(name), curve)
    return keys


def _x25519_jwk() -> dict[str, str]:
    from cryptography.hazmat.primitives.asymmetric import x25519
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from did.encoding import b64url_encode

    seed = hashlib.sha256(b"govid conformance X25519").digest()
    raw = x25519.X25519PrivateKey.from_private_bytes(seed).public_key()
    x = b64url_encode(raw.public_bytes(Encoding.Raw, PublicFormat.Raw))
    return {"kty": "OKP", "crv": "X25519", "x": x}


def _write(path: Path, value: dict[str, Any]) -> Path:
    path.write_text(json.dumps(value, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _representations(resolve: Resolver, did: str, **options: Any) -> list[Any]:
    return [
        resolve.resolve_representation(did, ResolutionOptions(accept=t, **options))
        for t in REPRESENTATIONS
    ]


# --- did:key and did:jwk, in this process -----------------------------------------------


def _local_method(
    method: str,
    dids: list[str],
    invalid: list[str],
    out: Path,
    *,
    derive: str | None = None,
) -> list[Path]:
    resolver = Resolver([DIDKeyResolver(), DIDJWKResolver()], clock=lambda: datetime.now(UTC))
    name = f"govid did:{method} (in-process resolver)"
    methods = MethodFile(f"did:{method}", name)
    resolutions = ExecutionFile(f"did:{method}", name)
    derefs = ExecutionFile(f"did:{method}", name)
    for did in dids:
        methods.add(did, _representations(resolver, did))
        resolutions.resolve(did, {}, resolver.resolve(did), DEFAULT)
        for media_type in REPRESENTATIONS:
            options = {"accept": media_type}
            shown = resolver.resolve_representation(did, ResolutionOptions(accept=media_type))
            resolutions.resolve_representation(did, options, shown, DEFAULT)
        document = resolver.resolve(did).did_document
        assert document is not None
        derefs.dereference(did, {}, dereference(resolver, did), DEFAULT)
        for vm in document.verification_method:
            url = str(vm.id)
            for media_type in REPRESENTATIONS:
                result = dereference(resolver, url, DereferencingOptions(accept=media_type))
                derefs.dereference(url, {"accept": media_type}, result, DEFAULT)
    if derive is not None:
        # did:key `enableEncryptionKeyDerivation`: the X25519 key of an Ed25519 did:key.
        derived = resolver.resolve(derive, ResolutionOptions(enable_encryption_key_derivation=True))
        resolutions.resolve(derive, {"enableEncryptionKeyDerivation": True}, derived, DEFAULT)
    for bad in invalid:
        resolutions.resolve(bad, {}, resolver.resolve(bad), INVALID_DID)
        derefs.dereference(bad, {}, dereference(resolver, bad), INVALID_DID_URL)
    url = f"{dids[0]}#key 1"  # a space: no DID URL at all
    derefs.dereference(url, {}, dereference(resolver, url), INVALID_DID_URL)
    return [
        _write(out / f"did-{method}-govid.json", methods.to_json()),
        _write(out / f"resolver-{method}-govid.json", resolutions.to_json()),
        _write(out / f"dereferencer-{method}-govid.json", derefs.to_json()),
    ]


def local_methods(out: Path) -> list[Path]:
    keys = fixed_keys()
    key_dids = [did_key_from_public_key(k.public_key()) for k in keys.values()]
    jwk_dids = [did_jwk_from_jwk(jwk_from_public_key(k.public_key())) for k in keys.values()]
    jwk_dids.append(did_jwk_from_jwk(_x25519_jwk()))
    return [
        *_local_method("key", key_dids, ["did:key:", "did:key_z6Mk"], out, derive=key_dids[0]),
        *_local_method("jwk", jwk_dids, ["did:jwk:", "did:jwk_eyJ"], out),
    ]


# --- did:govid, through a registry on loopback --------------------------------------------


@contextmanager
def _serve(app: Any) -> Iterator[str]:
    """Run `app` on a loopback port whose socket is bound here and handed to the server."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        started = threading.Event()
        while not started.wait(0.01):
            if server.started:
                started.set()
            elif not thread.is_alive():
                raise RuntimeError("the registry did not start")
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@dataclass
class GovidHistory:
    url: str
    trust: LedgerTrust
    rotated: str  # versions 1 and 2, a service
    gone: str  # created, then deactivated


def _submit(http: httpx.Client, op: str) -> int:
    response = http.post("/operations", json={"operation": op})
    response.raise_for_status()
    index: int = response.json()["index"]
    return index


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.02)


@contextmanager
def govid_registry(data: Path) -> Iterator[GovidHistory]:
    info = init_registry(data)
    config = RegistryConfig(data_dir=data)
    trust = LedgerTrust.unsafe_log_only(info["origin"], config.log_verifier())
    with _serve(create_app(config)) as url, httpx.Client(base_url=url, timeout=30) as http:
        rotated, op = authoring.create_did(ledger=info["origin"], services=[SERVICE])
        _submit(http, op)
        created_ms = time.time() * 1000  # the entry's log time is no later than this
        gone, op = authoring.create_did(ledger=info["origin"])
        _submit(http, op)
        # The second version starts at least a second after the first, so that a
        # whole-second `versionTime` (DID Core §3.2.1) can name version 1.
        _wait_for(lambda: time.time() * 1000 > created_ms + 1000, "the next second")
        rotated, op = authoring.rotate(rotated)
        _submit(http, op)
        gone, op = authoring.deactivate(gone)
        last = _submit(http, op)

        def covered() -> bool:
            note = http.get("/checkpoint")
            return note.status_code == 200 and int(note.text.split("\n")[1]) > last

        _wait_for(covered, "a checkpoint covering the operations")
        yield GovidHistory(url, trust, rotated.did, gone.did)


def _served_dereference(http: httpx.Client, did_url: str) -> DereferencingResult:
    """The registry's HTTP dereferencing: metadata from the whole result, bytes as served.

    A DID URL that is a DID (with version parameters at most) is answered with
    a resolution result; dereferenced, it is the document (DID Core §7.2).
    """
    # The whole DID URL in one path segment, percent-encoded once (its own
    # percent-escapes included), as the HTTP binding has clients send it.
    path = "/1.0/identifiers/" + quote(did_url, safe=":=&")
    whole = http.get(path).json()
    if "didResolutionMetadata" in whole:
        error = whole["didResolutionMetadata"].get("error")
        if error is not None:
            return DereferencingResult(whole["didResolutionMetadata"], b"", {})
        alone = http.get(path, headers={"Accept": DID_JSON})
        assert json.loads(alone.content) == {
            k: v for k, v in whole["didDocument"].items() if k != "@context"
        }
        meta = {"contentType": DID_JSON}
        return DereferencingResult(meta, alone.content, whole["didDocumentMetadata"])
    meta = whole["dereferencingMetadata"]
    if "error" in meta:
        return DereferencingResult(meta, b"", whole["contentMetadata"])
    alone = http.get(path, headers={"Accept": meta["contentType"]})
    alone.raise_for_status()
    content = alone.content
    if meta["contentType"] == URI_LIST:
        content = content.removesuffix(b"\r\n")
        assert content.decode() == whole["contentStream"]
    else:
        assert json.loads(content) == whole["contentStream"]
    return DereferencingResult(meta, content, whole["contentMetadata"])


def govid_method(history: GovidHistory, out: Path) -> list[Path]:
    rotated, gone = history.rotated, history.gone
    unknown = "did:govid:" + "1" * 44
    name_http = "govid registry (HTTP /1.0/identifiers)"
    name_client = "govid did resolve/dereference (proof-checking client)"
    methods = MethodFile("did:govid", name_client)
    via_http = ExecutionFile("did:govid", name_http)
    via_client = ExecutionFile("did:govid", name_client)
    deref_http = ExecutionFile("did:govid", name_http)
    deref_client = ExecutionFile("did:govid", name_client)

    with (
        httpx.Client(base_url=history.url, timeout=30) as http,
        RegistryClient(history.url, trust=history.trust) as client,
    ):
        resolver = Resolver(
            [GovidMethodResolver(client)], clock=lambda: datetime.now(UTC), max_cache_entries=0
        )
        cases: list[tuple[str, dict[str, str], str]] = [
            (rotated, {}, DEFAULT),
            (rotated, {"versionId": "1"}, DEFAULT),
            (rotated, {"versionId": "2"}, DEFAULT),
            (gone, {}, DEACTIVATED),
            (gone, {"versionId": "1"}, DEACTIVATED),
            (unknown, {}, NOT_FOUND),
            (rotated, {"versionId": "3"}, NOT_FOUND),
            ("did:govid:", {}, INVALID_DID),
            ("did:govid:bad id", {}, INVALID_DID),
        ]
        for did, options, outcome in cases:
            served = http.get(f"/1.0/identifiers/{did}", params=options or None).json()
            via_http.resolve_served(did, options, served, outcome)
            resolution = ResolutionOptions(version_id=options.get("versionId"))
            via_client.resolve(did, options, resolver.resolve(did, resolution), outcome)
        for did, outcome in ((rotated, DEFAULT), (gone, DEACTIVATED)):
            methods.add(did, _representations(resolver, did))
            for media_type in REPRESENTATIONS:
                shown = resolver.resolve_representation(did, ResolutionOptions(accept=media_type))
                via_client.resolve_representation(did, {"accept": media_type}, shown, outcome)
                if outcome == DEACTIVATED:
                    # Over HTTP a representation travels without its metadata (the
                    # DID Resolution HTTP binding), so `deactivated` cannot be shown:
                    # the 410 says it, and tests/registry/test_resolution_http.py checks it.
                    continue
                answer = http.get(f"/1.0/identifiers/{did}", headers={"Accept": media_type})
                served = _representation_served(answer)
                via_http.resolve_representation(did, {"accept": media_type}, served, outcome)
        version_time = _version_time(resolver, rotated)
        methods.did_parameters = {
            "versionId": f"{rotated}?versionId=1",
            "versionTime": f"{rotated}?versionTime={version_time}",
            "service": f"{rotated}?service=files&relativeRef=%2Fdocs%2Fa.pdf",
            "relativeRef": f"{rotated}?service=files&relativeRef=%2Fdocs%2Fa.pdf",
        }
        # Every fragment case comes with its URL without the fragment (the suite
        # checks that the fragment changes what is dereferenced).
        deref_cases: list[tuple[str, str]] = [
            (rotated, DEFAULT),
            (f"{rotated}#key-2", DEFAULT),
            (f"{rotated}#files", DEFAULT),
            (f"{rotated}?versionId=1", DEFAULT),
            (f"{rotated}?versionId=1#key-1", DEFAULT),
            (f"{rotated}?versionTime={version_time}", DEFAULT),
            (f"{rotated}?versionTime={version_time}#key-1", DEFAULT),
            (f"{rotated}?service=files", DEFAULT),
            (f"{rotated}?service=files&relativeRef=%2Fdocs%2Fa.pdf", DEFAULT),
            (f"{rotated}#key-1", NOT_FOUND),  # rotated away in version 2
            (f"{rotated}#nothing", NOT_FOUND),
            (f"{rotated}?service=nothing", NOT_FOUND),
            (unknown, NOT_FOUND),
            (f"{rotated}#key 1", INVALID_DID_URL),
            (f"{rotated}?versionId=1#a b", INVALID_DID_URL),
            ("did:govid:", INVALID_DID_URL),
        ]
        # Not here, though govid answers them (tests/registry/test_resolution_http.py):
        # the suite checks every successful DID document dereference against
        # `deactivated: false`, so a deactivated DID's document cannot pass, nor
        # can its fragments (each needs its fragment-less URL beside it).
        for did_url, outcome in deref_cases:
            deref_client.dereference(did_url, {}, dereference(resolver, did_url), outcome)
            if did_url != "did:govid:":  # over HTTP a DID is resolved: invalidDid
                deref_http.dereference(did_url, {}, _served_dereference(http, did_url), outcome)
    return [
        _write(out / "did-govid-govid.json", methods.to_json()),
        _write(out / "resolver-govid-govid-http.json", via_http.to_json()),
        _write(out / "resolver-govid-govid-client.json", via_client.to_json()),
        _write(out / "dereferencer-govid-govid-http.json", deref_http.to_json()),
        _write(out / "dereferencer-govid-govid-client.json", deref_client.to_json()),
    ]


def _version_time(resolver: Resolver, did: str) -> str:
    """A whole-second UTC `versionTime` inside version 1 of `did` (after its creation,
    before its rotation), read from the log times in its `keyHistory`."""
    history = resolver.resolve(did).document_metadata["keyHistory"]
    valid_from = datetime.fromisoformat(history[0]["validFrom"].replace("Z", "+00:00"))
    whole = math.ceil(valid_from.timestamp())
    until = datetime.fromisoformat(history[0]["validUntil"].replace("Z", "+00:00"))
    assert whole < until.timestamp(), "version 1 lasted less than a whole second"
    return datetime.fromtimestamp(whole, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _representation_served(answer: httpx.Response) -> Any:
    from did.resolver import RepresentationResult

    if answer.status_code not in (200, 410):
        body = answer.json()
        return RepresentationResult(body["didResolutionMetadata"], b"", {})
    # The HTTP binding answers a representation with the bytes alone: no metadata travels.
    content_type = answer.headers["content-type"]
    return RepresentationResult({"contentType": content_type}, answer.content, {})


def generate(out: Path, scratch: Path) -> list[Path]:
    """Write every implementation file into `out`; the registry lives in `scratch`."""
    out.mkdir(parents=True, exist_ok=True)
    files = local_methods(out)
    with govid_registry(scratch / "registry") as history:
        files += govid_method(history, out)
    return files


__all__ = ["GovidHistory", "ResolutionResult", "fixed_keys", "generate", "govid_registry"]
