"""The composed govid stack as real processes, for crash, soak and privacy tests.

`running_stack(tmp, database_url)` starts, each as its own `govid ... serve`
process on a loopback port: two witnesses, the registry (requiring both
cosignatures), the civil agency's issuer and the counter's verifier. The
registry, the issuer and the verifier keep their tables in `database_url`
(one PostgreSQL schema, or SQLite files when it is None); each witness keeps
its own SQLite file, as a witness run by another agency would.

`Citizen` drives the stack the way a wallet and a counter would, over HTTP
only: offer -> token (transaction code) -> nonce -> credential, then a
presentation (SD-JWT+KB) checked by `POST /api/verify`, and revocation
through the agency API.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from jwcrypto.jwk import JWK

from did.keys import PrivateKey, private_key_from_jwk
from did.sd_jwt import present_sd_jwt
from issuer.credential_types import credential_type, vct_for
from issuer.keys_at_rest import new_kek_text
from registry import authoring
from registry.authoring import Keyring
from registry.client import RegistryClient
from registry.trust import trust_from_options
from tests.issuer.wallet_client import Exchange, proof_jwt
from tests.processes import Server, govid

YEAR = 365 * 86400
CIVIL_TYPES = ("civil_identity", "birth_certificate")
AUD = "https://counter.example/desk-1"


class EnvServer(Server):
    """`tests.processes.Server` with its own environment (settings come from it)."""

    def __init__(self, args: list[str], *, log: Path, env: Mapping[str, str], health: str) -> None:
        super().__init__(args, log=log, health=health)
        self.env = dict(env)

    def start(self, timeout: float = 60.0) -> Server:
        with self.log.open("ab") as out:
            self.popen(out, env=self.env)
        return self.wait_healthy(timeout)

    def rss_kib(self) -> int:
        """Resident memory of the server process (the uvicorn process is the child)."""
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("VmRSS:"))
        return int(line.split()[1])


def wait_until(condition: Callable[[], bool], *, what: str, timeout: float = 60.0) -> None:
    """Poll until true; a generous deadline that only bounds a hung test."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


@dataclass
class Stack:
    tmp: Path
    registry: Server
    witnesses: list[Server]
    issuer: EnvServer
    verifier: EnvServer
    info: dict[str, Any]
    witness_vkeys: list[str]
    agency: dict[str, str]
    counter: dict[str, str]
    kek: str
    secrets_seen: list[str] = field(default_factory=list)

    @property
    def servers(self) -> list[Server]:
        return [*self.witnesses, self.registry, self.issuer, self.verifier]

    def registry_client(self) -> RegistryClient:
        trust = trust_from_options(
            self.registry.url,
            log_vkey=self.info["vkey"],
            witness_vkeys=self.witness_vkeys,
            quorum=len(self.witness_vkeys),
        )
        return RegistryClient(self.registry.url, trust=trust)

    def vct(self, configuration_id: str) -> str:
        return vct_for(credential_type(configuration_id), self.issuer.url)

    def agency_token(self, http: httpx.Client, scope: str | None = None) -> str:
        form = {"grant_type": "client_credentials"}
        if scope is not None:
            form["scope"] = scope
        auth = (self.agency["client_id"], self.agency["client_secret"])
        response = http.post(self.issuer.url + "/token", data=form, auth=auth)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def counter_token(self, http: httpx.Client) -> str:
        auth = (self.counter["client_id"], self.counter["client_secret"])
        form = {"grant_type": "client_credentials"}
        response = http.post(self.verifier.url + "/oauth/token", data=form, auth=auth)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def logs(self) -> dict[str, str]:
        return {s.log.name: s.log.read_text(errors="replace") for s in self.servers}


def _root(data: Path) -> Keyring:
    return Keyring.from_json(json.loads((data / "root-keys.json").read_text()))


def _grant(stack_tmp: Path, client: RegistryClient, did: str, role: str, vcts: list[str]) -> None:
    data = stack_tmp / "registry"
    now = int(time.time())
    root, op = authoring.grant(
        _root(data),
        subject=did,
        role=role,
        credential_types=vcts,
        valid_from=now - 60,
        valid_until=now + YEAR,
    )
    client.submit(op)
    (data / "root-keys.json").write_text(root.dumps())


def _provable(client: RegistryClient, did: str) -> bool:
    try:
        return bool(client.accreditations(did))
    except Exception:  # not yet under a cosigned checkpoint
        return False


def _provable_now(client: RegistryClient, did: str) -> Callable[[], bool]:
    return lambda: _provable(client, did)


@contextlib.contextmanager
def running_stack(
    tmp: Path,
    database_url: str | None,
    *,
    issuer_env: Mapping[str, str] | None = None,
    verifier_env: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """Bootstrap and run the stack; every process is stopped on the way out."""
    started: list[Server] = []
    try:
        yield _bootstrap(tmp, database_url, started, issuer_env or {}, verifier_env or {})
    finally:
        for server in reversed(started):
            server.stop()


def _bootstrap(
    tmp: Path,
    database_url: str | None,
    started: list[Server],
    issuer_env: Mapping[str, str],
    verifier_env: Mapping[str, str],
) -> Stack:
    logs = tmp / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    rdata = tmp / "registry"
    info = json.loads(govid("registry", "init", "--data", str(rdata)).stdout)
    log_pair = f"{info['origin']}={info['vkey']}"

    witnesses, vkeys = [], []
    for i in (1, 2):
        wdata = tmp / f"witness-{i}"
        name = f"witness-{i}.govid.test"
        made = json.loads(
            govid("witness", "init", "--data", str(wdata), "--name", name, "--log", log_pair).stdout
        )
        server = Server(["witness", "serve", "--data", str(wdata)], log=logs / f"witness-{i}.log")
        govid(
            "registry", "add-witness", "--data", str(rdata), "--name", name,
            "--url", server.url, "--vkey", made["vkey"], "--quorum", str(i),
        )  # fmt: skip
        witnesses.append(server)
        vkeys.append(made["vkey"])
    for server in witnesses:
        started.append(server.start())

    registry_args = ["registry", "serve", "--data", str(rdata)]
    if database_url:
        registry_args += ["--database-url", database_url]
    registry = Server(registry_args, log=logs / "registry.log")
    started.append(registry.start())

    # The issuer of the civil agency.
    kek = new_kek_text()
    idata = tmp / "issuer"
    issuer = EnvServer(
        ["issuer", "serve", "--data", str(idata)],
        log=logs / "issuer.log",
        health="/healthz",
        env={
            "GOVID_ISSUER_KEK": kek,
            "GOVID_ISSUER_DEFAULT_AGENCY": "civil",
            "GOVID_ISSUER_PUBLISH_INTERVAL": "1",
            **issuer_env,
        },
    )
    init = [
        "issuer", "init", "--data", str(idata), "--public-url", issuer.url,
        "--registry", registry.url, "--log-vkey", info["vkey"], "--quorum", "2",
    ]  # fmt: skip
    for vkey in vkeys:
        init += ["--witness", vkey]
    if database_url:
        init += ["--database-url", database_url]
    govid(*init, env={"GOVID_ISSUER_KEK": kek})
    add = ["issuer", "add-agency", "--data", str(idata), "--slug", "civil", "--name", "Civil"]
    for type_id in CIVIL_TYPES:
        add += ["--type", type_id]
    agency = json.loads(govid(*add, env={"GOVID_ISSUER_KEK": kek}).stdout)

    # The counter's verifier DID, its keyring file, and its OAuth client.
    counter_keys, op = authoring.create_did(ledger=info["origin"])
    vdata = tmp / "verifier"
    vdata.mkdir()
    keyring_file = vdata / "counter-keys.json"
    fd = os.open(keyring_file, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(counter_keys.dumps())
    counter = {
        "did": counter_keys.did,
        "client_id": "counter",
        "client_secret": secrets.token_hex(),
    }

    stack_tmp = tmp
    trust = trust_from_options(
        registry.url, log_vkey=info["vkey"], witness_vkeys=vkeys, quorum=len(vkeys)
    )
    vcts = [vct_for(credential_type(t), issuer.url) for t in CIVIL_TYPES]
    with RegistryClient(registry.url, trust=trust) as client:
        client.submit(op)
        _grant(stack_tmp, client, agency["did"], "issuer", vcts)
        _grant(stack_tmp, client, counter_keys.did, "verifier", vcts)
        for did in (agency["did"], counter_keys.did):
            wait_until(_provable_now(client, did), what="an accreditation on the ledger")
    started.append(issuer.start())

    import hashlib

    verifier = EnvServer(
        ["verifier", "serve"],
        log=logs / "verifier.log",
        health="/.well-known/oauth-authorization-server",
        env={
            "GOVID_VERIFIER_REGISTRY_URL": registry.url,
            "GOVID_VERIFIER_LOG_VKEY": info["vkey"],
            "GOVID_VERIFIER_WITNESS_VKEYS": json.dumps(vkeys),
            "GOVID_VERIFIER_QUORUM": "2",
            "GOVID_VERIFIER_ROOT_DID": info["rootDid"],
            "GOVID_VERIFIER_DATABASE_URL": database_url or f"sqlite:///{vdata / 'verifier.db'}",
            "GOVID_VERIFIER_KEYRING_FILE": str(keyring_file),
            "GOVID_VERIFIER_PUBLIC_URL": "http://127.0.0.1",  # replaced below
            "GOVID_VERIFIER_VCT_BASE": issuer.url,
            "GOVID_VERIFIER_CLIENTS": json.dumps(
                {"counter": hashlib.sha256(counter["client_secret"].encode()).hexdigest()}
            ),
            **verifier_env,
        },
    )
    verifier.env["GOVID_VERIFIER_PUBLIC_URL"] = verifier.url
    started.append(verifier.start())
    return Stack(
        tmp=tmp,
        registry=registry,
        witnesses=witnesses,
        issuer=issuer,
        verifier=verifier,
        info=info,
        witness_vkeys=vkeys,
        agency=agency,
        counter=counter,
        kek=kek,
    )


# --- a citizen and a counter, over HTTP only --------------------------------------------


@dataclass
class Received:
    offer_id: str
    credential: str
    holder: PrivateKey


def citizen_claims(n: int) -> dict[str, Any]:
    """Distinctive claim values, so a scan for them cannot hit by chance."""
    tag = secrets.token_hex(4)
    return {
        "personal_id": f"PID-{n}-{tag}",
        "given_name": f"Zyxga{tag}",
        "family_name": f"Qworn{tag}",
        "birthdate": "1984-03-07",
        "nationality": "AT",
        "address": {
            "street_address": f"Wxqstrasse {tag} 9",
            "locality": f"Vlq{tag}",
            "country": "AT",
        },
    }


def make_offer(stack: Stack, http: httpx.Client, token: str, claims: Mapping[str, Any]) -> Any:
    body = {"credential_configuration_id": "civil_identity", "claims": dict(claims)}
    headers = {"Authorization": f"Bearer {token}"}
    return http.post(stack.issuer.url + "/api/offers", json=body, headers=headers)


def receive(http: httpx.Client, offer: Mapping[str, Any]) -> Received:
    """Redeem an offer as a wallet would, with one holder key."""
    exchange = Exchange.start(offer["offer_uri"], http)
    token = exchange.token(offer["tx_code"])
    assert token.status_code == 200, token.text
    jwk = JWK.generate(kty="EC", crv="P-256")
    proof = proof_jwt(jwk, aud=exchange.issuer, nonce=exchange.nonce())
    response = exchange.credential(token.json()["access_token"], [proof])
    assert response.status_code == 200, response.text
    credential = response.json()["credentials"][0]["credential"]
    holder = private_key_from_jwk(json.loads(jwk.export_private()))
    return Received(offer["id"], credential, holder)


def present(received: Received, nonce: str) -> str:
    return present_sd_jwt(
        received.credential,
        disclose=(["given_name"], ["family_name"]),
        holder_key=received.holder,
        aud=AUD,
        nonce=nonce,
        now=datetime.now(UTC),
    )


def verify(stack: Stack, http: httpx.Client, token: str, presentation: str, nonce: str) -> Any:
    body = {"presentation": presentation, "aud": AUD, "nonce": nonce}
    headers = {"Authorization": f"Bearer {token}"}
    return http.post(stack.verifier.url + "/api/verify", json=body, headers=headers)


def publish_and_wait_accepted(stack: Stack, http: httpx.Client, received: Received) -> None:
    """Publish the agency's status list and wait until the counter accepts a presentation."""
    agency = stack.agency_token(http)
    response = http.post(
        stack.issuer.url + "/api/status-lists/publish",
        headers={"Authorization": f"Bearer {agency}"},
    )
    assert response.status_code == 200, response.text
    counter = stack.counter_token(http)

    def accepted() -> bool:
        nonce = secrets.token_urlsafe(12)
        answer = verify(stack, http, counter, present(received, nonce), nonce)
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["accepted"])

    wait_until(accepted, what="the status list on the ledger, cosigned")


def credential_ids(stack: Stack, http: httpx.Client, token: str, offer_id: str) -> list[str]:
    response = http.get(
        stack.issuer.url + "/api/credentials",
        params={"offer": offer_id},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["credentials"]]


def revoke(stack: Stack, http: httpx.Client, token: str, credential_id: str) -> Any:
    return http.post(
        f"{stack.issuer.url}/api/credentials/{credential_id}/revoke",
        headers={"Authorization": f"Bearer {token}"},
    )


def _jwt_payload(jwt: str) -> dict[str, Any]:
    from did.encoding import b64url_decode

    payload: dict[str, Any] = json.loads(b64url_decode(jwt.split(".")[1]))
    return payload


def open_request(stack: Stack, http: httpx.Client, token: str) -> Any:
    """A counter opens an OpenID4VP request for the age-over-18 template."""
    return http.post(
        stack.verifier.url + "/api/presentation-requests",
        json={"template": "age_over_18"},
        headers={"Authorization": f"Bearer {token}"},
    )


@dataclass
class Answer:
    response: Any
    response_uri: str
    form: dict[str, str]


def answer_request(http: httpx.Client, view: Mapping[str, Any], received: Received) -> Answer:
    """The wallet's side: fetch the request object, present, `direct_post` the vp_token."""
    jwt = http.get(view["request_uri"])
    assert jwt.status_code == 200, jwt.text
    request = _jwt_payload(jwt.text)
    presentation = present_sd_jwt(
        received.credential,
        disclose=(["age_over_18"],),
        holder_key=received.holder,
        aud=request["client_id"],
        nonce=request["nonce"],
        now=datetime.now(UTC),
    )
    query_id = request["dcql_query"]["credentials"][0]["id"]
    form = {"state": request["state"], "vp_token": json.dumps({query_id: [presentation]})}
    return Answer(http.post(request["response_uri"], data=form), request["response_uri"], form)
