"""A real govid stack on loopback for the service benchmarks, and a wallet to drive it.

`running_stack(tmp)` starts `govid up` (registry, two witnesses, the civil,
medical and social issuers, a verifier; one process, SQLite, as `make run`
deploys it) in its own session, then a second verifier process of its own
(`bench._verifier_app`, the same settings the stack's verifier has, its own
database) so that the verifier's figures are not shared with the ledger's
event loop. Everything stops when the context exits.

The wallet side (`issue_credentials`, `proof_jwt`) is written from the
specifications with `did.jose` and httpx, as the tests' independent clients
are, and serves both the setup (credentials to present) and the load client.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from did.jose import sign_jwt
from did.keys import PrivateKey, generate_private_key, jwk_from_public_key, public_key_of
from service.oauth import hash_client_secret

__all__ = [
    "CIVIL_CLAIMS",
    "PRE_AUTH",
    "Stack",
    "agency_token",
    "counter_token",
    "issue_credentials",
    "proof_jwt",
    "running_stack",
]

HOST = "127.0.0.1"
PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
CONFIGURATION = "civil_identity"
CIVIL_CLAIMS: dict[str, Any] = {
    "personal_id": "079190001234",
    "given_name": "Nguyen Thi",
    "family_name": "Mai",
    "birthdate": "1990-02-03",
    "nationality": "VN",
    "address": {"street_address": "12 Le Loi", "locality": "Hue", "country": "VN"},
}
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Stack:
    data: Path
    description: dict[str, Any]
    verifier_url: str  # the benchmark's own verifier process
    verifier_env: dict[str, str]

    @property
    def registry(self) -> str:
        return str(self.description["registry"])

    @property
    def civil(self) -> dict[str, Any]:
        civil: dict[str, Any] = self.description["issuers"]["civil"]
        return civil

    @property
    def counter(self) -> dict[str, Any]:
        counter: dict[str, Any] = self.description["counter"]
        return counter


def listener() -> socket.socket:
    """A listening loopback socket for a child server (`--fd`): the port is ours from now on."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    sock.listen(1024)
    return sock


class Process:
    """A child in its own session, so that it and its children stop together."""

    def __init__(
        self,
        args: list[str],
        log: Path,
        env: Mapping[str, str] | None = None,
        *,
        sock: socket.socket | None = None,
    ) -> None:
        """Start `python -m ARGS`; with `sock`, the child serves on it (`--fd`)."""
        fds = () if sock is None else (sock.fileno(),)
        extra = [] if sock is None else ["--fd", str(sock.fileno())]
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", *args, *extra],
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, **(env or {})},
                cwd=ROOT,
                pass_fds=fds,
            )
        self.sock = sock  # held open for the child's whole life
        self.log = log

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"{self.proc.args!r} exited:\n{self.log.read_text(errors='replace')}"
            )

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=20)


def _wait_http(url: str, process: Process, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.check()
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in time:\n{process.log.read_text(errors='replace')}")


def verifier_env(data: Path, description: Mapping[str, Any], public_url: str) -> dict[str, str]:
    """`GOVID_VERIFIER_*` for a verifier of this stack (as `govid.stack` configures its own)."""
    registry = json.loads((data / "registry" / "registry.json").read_text(encoding="utf-8"))
    vkey = (data / "registry" / "log.vkey").read_text(encoding="ascii").strip()
    counter = description["counter"]
    secret_hash = hash_client_secret(counter["client_secret"])
    own = data / "bench-verifier"
    own.mkdir(exist_ok=True)
    return {
        "GOVID_VERIFIER_REGISTRY_URL": str(description["registry"]),
        "GOVID_VERIFIER_LOG_VKEY": vkey,
        "GOVID_VERIFIER_WITNESS_VKEYS": json.dumps([w["vkey"] for w in registry["witnesses"]]),
        "GOVID_VERIFIER_QUORUM": str(registry["quorum"]),
        "GOVID_VERIFIER_ROOT_DID": registry["rootDid"],
        "GOVID_VERIFIER_DATABASE_URL": f"sqlite:///{(own / 'verifier.db').resolve()}",
        "GOVID_VERIFIER_KEYRING_FILE": str((data / "verifier" / "counter-keys.json").resolve()),
        "GOVID_VERIFIER_PUBLIC_URL": public_url,
        "GOVID_VERIFIER_VCT_BASE": str(description["issuers"]["civil"]["url"]),
        "GOVID_VERIFIER_CLIENTS": json.dumps({counter["client_id"]: secret_hash}),
        # Warm caches stay warm for a whole run (ledger evidence is still re-verified).
        "GOVID_VERIFIER_CACHE_FRESH_SECONDS": "3600",
        "GOVID_VERIFIER_CACHE_STALE_SECONDS": "3600",
    }


@contextmanager
def running_stack(tmp: Path) -> Iterator[Stack]:
    data = tmp / "stack"
    # Port base 0: the stack binds free ports itself and names them in stack.json.
    up = Process(
        ["govid.cli", "up", "--data", str(data), "--port-base", "0", "--host", HOST],
        tmp / "stack.log",
    )
    verifier: Process | None = None
    try:
        deadline = time.monotonic() + 120
        while not (data / "stack.json").exists():
            up.check()
            if time.monotonic() > deadline:
                raise RuntimeError("govid up did not come up in time")
            time.sleep(0.1)
        # stack.json appears whole: write_secret writes a temporary file and renames it.
        description = json.loads((data / "stack.json").read_text(encoding="utf-8"))
        sock = listener()
        url = f"http://{HOST}:{sock.getsockname()[1]}"
        env = verifier_env(data, description, url)
        verifier = Process(["bench._verifier_app"], tmp / "verifier.log", env, sock=sock)
        _wait_http(url + "/healthz", verifier)
        yield Stack(data, description, url, env)
    finally:
        if verifier is not None:
            verifier.stop()
            if verifier.sock is not None:
                verifier.sock.close()
        up.stop()


# --- the wallet side ---------------------------------------------------------------------


def agency_token(stack: Stack, http: httpx.Client) -> str:
    civil = stack.civil
    answer = http.post(
        civil["url"] + "/token",
        data={"grant_type": "client_credentials"},
        auth=(civil["client_id"], civil["client_secret"]),
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def counter_token(stack: Stack, http: httpx.Client) -> str:
    counter = stack.counter
    answer = http.post(
        stack.verifier_url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(counter["client_id"], counter["client_secret"]),
    )
    answer.raise_for_status()
    token: str = answer.json()["access_token"]
    return token


def proof_jwt(holder: PrivateKey, *, aud: str, nonce: str) -> str:
    """An OpenID4VCI key proof (`openid4vci-proof+jwt`, key in the `jwk` header)."""
    claims = {"aud": aud, "iat": int(time.time()), "nonce": nonce}
    header = {"jwk": jwk_from_public_key(public_key_of(holder))}
    return sign_jwt(claims, holder, typ="openid4vci-proof+jwt", extra_header=header)


def well_known(identifier: str, name: str) -> str:
    parts = urlsplit(identifier)
    return f"{parts.scheme}://{parts.netloc}/.well-known/{name}{parts.path.rstrip('/')}"


def issue_credentials(stack: Stack, count: int) -> list[tuple[PrivateKey, str]]:
    """`count` (<= 10) civil identity SD-JWT VCs, one per fresh ES256 holder key, by OpenID4VCI."""
    with httpx.Client(timeout=30) as http:
        bearer = {"Authorization": f"Bearer {agency_token(stack, http)}"}
        offer = http.post(
            stack.civil["url"] + "/api/offers",
            json={"credential_configuration_id": CONFIGURATION, "claims": CIVIL_CLAIMS},
            headers=bearer,
        )
        offer.raise_for_status()
        created = offer.json()
        offer_uri = parse_qs(urlsplit(created["offer_uri"]).query)["credential_offer_uri"][0]
        body = http.get(offer_uri).raise_for_status().json()
        issuer = body["credential_issuer"]
        metadata = http.get(well_known(issuer, "openid-credential-issuer")).json()
        as_url = well_known(metadata["authorization_servers"][0], "oauth-authorization-server")
        token_endpoint = http.get(as_url).json()["token_endpoint"]
        code = body["grants"][PRE_AUTH]["pre-authorized_code"]
        form = {"grant_type": PRE_AUTH, "pre-authorized_code": code, "tx_code": created["tx_code"]}
        access = http.post(token_endpoint, data=form).raise_for_status().json()["access_token"]
        holders = [generate_private_key("ES256") for _ in range(count)]
        proofs = []
        for holder in holders:
            nonce = http.post(metadata["nonce_endpoint"]).json()["c_nonce"]
            proofs.append(proof_jwt(holder, aud=issuer, nonce=nonce))
        answer = http.post(
            metadata["credential_endpoint"],
            json={"credential_configuration_id": CONFIGURATION, "proofs": {"jwt": proofs}},
            headers={"Authorization": f"Bearer {access}"},
        )
        answer.raise_for_status()
        credentials = [c["credential"] for c in answer.json()["credentials"]]
        # Publish the lists now rather than at the next publisher tick.
        http.post(stack.civil["url"] + "/api/status-lists/publish", headers=bearer)
    return list(zip(holders, credentials, strict=True))


def now() -> datetime:
    return datetime.now(UTC)
