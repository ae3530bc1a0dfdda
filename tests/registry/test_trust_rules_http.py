"""Issue 13 items 5, 6, 7 and 10, attacked over HTTP against a real registry.

Each test performs the attack the issue describes against a registry on
loopback, on SQLite and on PostgreSQL, and asserts what must hold after the
fix (method spec §5.5.3, §5.7, §10.1): lists are named by (issuer, uri); a
revoked accreditation or one granted with a key later marked compromised
does not let an issuer publish; anonymous writes are held to a quota that
neither accredited authors nor the deployment's writers are held to.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from did.jose import parse_unverified_jws
from did.keys import private_key_from_jwk
from did.status_list import StatusList
from did.status_list_token import build_status_list_token
from registry import authoring
from registry.api.app import create_app
from registry.authoring import Keyring, op_hash_of
from registry.bootstrap import init_registry
from registry.client import RegistryClient
from registry.config import RegistryConfig
from registry.note import NoteVerifier
from registry.operations import sign_operation
from registry.proofs import LedgerTrust
from tests.servers import serve

CIVIL = "https://govid.example/vct/civil"
MEDICAL = "https://govid.example/vct/medical"
FOREVER = 2**40
WRITER_TOKEN = "stack-writer-token-for-tests"


@dataclass
class Registry:
    url: str
    info: dict[str, Any]
    http: httpx.Client
    root: Keyring

    def post(self, operation: str, **headers: str) -> httpx.Response:
        return self.http.post("/operations", json={"operation": operation}, headers=headers)

    def submit(self, operation: str) -> int:
        response = self.post(operation)
        assert response.status_code == 201, response.text
        index: int = response.json()["index"]
        return index

    def refused(self, operation: str) -> tuple[int, str]:
        response = self.post(operation)
        return response.status_code, response.json()["error"]

    def size(self) -> int:
        size: int = self.http.get("/readyz").json()["treeSize"]
        return size

    def new_did(self) -> Keyring:
        keyring, op = authoring.create_did(ledger=self.info["origin"])
        self.submit(op)
        return keyring

    def grant(
        self,
        accreditor: Keyring,
        subject: Keyring,
        *,
        role: str = "issuer",
        types: Sequence[str] = (CIVIL,),
    ) -> tuple[Keyring, str]:
        """Grant and append; returns the accreditor's keyring after it and the grant's id."""
        accreditor, op = authoring.grant(
            accreditor, subject=subject.did, role=role, credential_types=list(types),
            valid_from=0, valid_until=FOREVER,
        )  # fmt: skip
        self.submit(op)
        return accreditor, op_hash_of(op)

    def wait_for_checkpoint(self, size: int) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            response = self.http.get("/checkpoint")
            if response.status_code == 200 and int(response.text.split("\n")[1]) >= size:
                return
            time.sleep(0.02)
        pytest.fail("no checkpoint covered the appended entries")


@pytest.fixture
def registry(tmp_path: Path, database_url: str) -> Iterator[Registry]:
    data_dir = tmp_path / "registry"
    info = init_registry(data_dir)
    root = Keyring.from_json(json.loads((data_dir / "root-keys.json").read_text()))
    config = RegistryConfig(
        data_dir=data_dir,
        database_url=None if database_url.startswith("sqlite") else database_url,
        checkpoint_interval=0.02,
        writer_token_hashes=[hashlib.sha256(WRITER_TOKEN.encode()).hexdigest()],
    )
    try:
        with serve(create_app(config)) as url, httpx.Client(base_url=url, timeout=30) as http:
            yield Registry(url, info, http, root)
    finally:
        config.engine().dispose()


def _token(keyring: Keyring, uri: str, revoked: Sequence[int] = ()) -> str:
    return build_status_list_token(
        StatusList.new(1024, 1).with_changes(dict.fromkeys(revoked, 1)),
        key=keyring.signing_key(),
        uri=uri,
        iat=math.ceil(time.time()),
        kid=keyring.signing_kid,
    )


def _publication(
    keyring: Keyring,
    uri: str,
    sequence: int,
    *,
    types: Sequence[str] = (CIVIL,),
    revoked: Sequence[int] = (),
) -> str:
    _, op = authoring.publish_status_list(
        keyring, uri=uri, sequence=sequence, token=_token(keyring, uri, revoked),
        credential_types=list(types),
    )  # fmt: skip
    return op


# --- item 5: a list is named by its issuer and its uri --------------------------------------


def test_a_squatter_cannot_claim_another_agencys_future_list(registry: Registry) -> None:
    victim, squatter = registry.new_did(), registry.new_did()
    root, _ = registry.grant(registry.root, victim)
    registry.grant(root, squatter)
    # List uris are predictable: the squatter publishes the victim's next one
    # first, with every index revoked.
    uri = "https://civil.victim.example/status/2"
    registry.submit(_publication(squatter, uri, 1, revoked=range(1024)))
    registry.submit(_publication(squatter, uri, 2, revoked=range(1024)))
    # The victim's own first publication of its list is still accepted...
    published = registry.submit(_publication(victim, uri, 1))
    registry.wait_for_checkpoint(published + 1)

    # ...and whoever asks for the victim's list gets the victim's, proven.
    listed = registry.http.get("/status-lists", params={"issuer": victim.did, "uri": uri})
    assert listed.status_code == 200, listed.text
    assert (listed.json()["issuer"], listed.json()["sequence"]) == (victim.did, 1)
    log = NoteVerifier.from_vkey(registry.info["vkey"])
    trust = LedgerTrust.unsafe_log_only(registry.info["origin"], log)
    with RegistryClient(registry.url, trust=trust) as client:
        token, sequence = client.status_list_token(victim.did, uri)
        assert sequence == 1 and token == listed.json()["token"]
        assert client.status_list_token(squatter.did, uri)[1] == 2
    # A uri alone names no list: a clear error, never somebody's list.
    bare = registry.http.get("/status-lists", params={"uri": uri})
    assert (bare.status_code, bare.json()["error"]) == (400, "ledger.status_list_issuer_required")


# --- item 6: a revocation withdraws the right to publish the type's lists ------------------


def test_a_revoked_issuer_cannot_keep_its_lists_fresh(registry: Registry) -> None:
    agency = registry.new_did()
    root, civil = registry.grant(registry.root, agency, types=(CIVIL,))
    root, _ = registry.grant(root, agency, types=(MEDICAL,))
    uri = "https://agency.example/status/1"
    registry.submit(_publication(agency, uri, 1, types=(CIVIL, MEDICAL)))
    root, revoke = authoring.revoke_accreditation(root, accreditation=civil)
    registry.submit(revoke)

    before = registry.size()
    for types in ((CIVIL,), (CIVIL, MEDICAL)):
        refused = registry.refused(_publication(agency, uri, 2, types=types))
        assert refused == (422, "ledger.accreditation_required")
    assert registry.size() == before
    # The types it is still accredited for keep their lists.
    registry.submit(_publication(agency, uri, 2, types=(MEDICAL,)))


# --- item 10: a grant signed with a key later compromised is no voucher --------------------


def test_grants_signed_with_a_compromised_key_are_not_honoured(registry: Registry) -> None:
    accreditor, agency, other = registry.new_did(), registry.new_did(), registry.new_did()
    root, _ = registry.grant(registry.root, accreditor, role="accreditor")
    accreditor, _ = registry.grant(accreditor, agency)
    uri = "https://agency.example/status/1"
    registry.submit(_publication(agency, uri, 1))

    # The accreditor's #key-1 was stolen: it marks it compromised.
    accreditor, rotation = authoring.rotate(accreditor, compromised=True)
    registry.submit(rotation)
    assert registry.refused(_publication(agency, uri, 2)) == (422, "ledger.accreditation_required")
    grants = registry.http.get(f"/accreditations/{agency.did}").json()["accreditations"]
    assert [g["grantedBy"] for g in grants] == ["#key-1"]

    # Granted again with the accreditor's new key: honoured.
    accreditor, _ = registry.grant(accreditor, agency)
    registry.submit(_publication(agency, uri, 2))

    # The root's own key compromised: its grant to the accreditor no longer
    # lets it grant (scope), nor the root's grants let anyone publish.
    root, rotation = authoring.rotate(root, compromised=True)
    registry.submit(rotation)
    _, grant = authoring.grant(
        accreditor, subject=other.did, role="issuer", credential_types=[CIVIL],
        valid_from=0, valid_until=FOREVER,
    )  # fmt: skip
    assert registry.refused(grant) == (422, "ledger.accreditation_required")


# --- item 7: anonymous writes are held to a quota; size caps ---------------------------------


def _creates(registry: Registry, count: int) -> list[str]:
    return [authoring.create_did(ledger=registry.info["origin"])[1] for _ in range(count)]


def test_anonymous_writes_are_held_to_sixty_a_minute(registry: Registry) -> None:
    agency = registry.new_did()
    registry.root, _ = registry.grant(registry.root, agency)  # 1 anonymous write so far

    # Refused writes add nothing and use no quota: creates signed by a key
    # they do not declare.
    forged = []
    for _ in range(5):
        _, op = authoring.create_did(ledger=registry.info["origin"])
        payload = _payload(op)
        outsider = authoring.create_did(ledger="x")[0].signing_key()
        forged.append(sign_operation(payload, outsider, kid=payload["updateKeys"][0]))
    assert {registry.post(op).status_code for op in forged} == {422}

    # 80 creates at once from one client: exactly 59 more land, the rest are 429.
    before = registry.size()
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(registry.post, _creates(registry, 80)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 59 + [429] * 21
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.json()["error"] == "ledger.write_quota_exceeded"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert registry.size() == before + 59

    # Accountable authors are not held back: the root grants, the accredited
    # agency publishes; and the deployment's writers create with their token.
    registry.root, _ = registry.grant(registry.root, agency, types=(MEDICAL,))
    registry.submit(_publication(agency, "https://agency.example/status/1", 1))
    writer = registry.post(_creates(registry, 1)[0], Authorization=f"Bearer {WRITER_TOKEN}")
    assert writer.status_code == 201, writer.text
    # An anonymous one is still refused; a wrong token is a 401, not anonymous.
    assert registry.post(_creates(registry, 1)[0]).status_code == 429
    wrong = registry.post(_creates(registry, 1)[0], Authorization="Bearer guessed")
    assert (wrong.status_code, wrong.json()["error"]) == (401, "ledger.writer_token_invalid")
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_236_kib_create_is_refused_and_a_full_document_is_not(registry: Registry) -> None:
    keyring, op = authoring.create_did(ledger=registry.info["origin"])
    payload = _payload(op)
    payload["padding"] = "p" * (236 * 1024)
    key = private_key_from_jwk(keyring.update_keys[0])
    big = sign_operation(payload, key, kid=payload["updateKeys"][0])
    before = registry.size()
    assert registry.refused(big) == (400, "ledger.operation_malformed")
    services = [
        {"id": f"#s{n}", "type": "LinkedDomains", "serviceEndpoint": "x" * 2100} for n in range(2)
    ]
    _, op = authoring.create_did(ledger=registry.info["origin"], services=services)
    assert registry.refused(op) == (400, "ledger.operation_malformed")
    assert registry.size() == before
    services = [
        {"id": f"#s{n}", "type": "LinkedDomains", "serviceEndpoint": f"https://a{n}.example"}
        for n in range(16)
    ]
    registry.submit(authoring.create_did(ledger=registry.info["origin"], services=services)[1])


def _payload(compact: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(parse_unverified_jws(compact).payload)
    return payload
