"""A real little ledger for verifier tests: registry + witness on loopback, real agencies.

Built once per test session and worker (`world` fixture); read-only afterwards.
Every credential a test needs is issued by the test itself with
`World.issue`, from the agencies created here:

- `civil`: accredited for the civil identity type; status list with index 7
  revoked and index 9 suspended;
- `unaccredited`: a DID on the ledger nobody accredited;
- `rotated`: accredited; key-1 rotated out (not compromised) to key-2;
- `compromised`: accredited; key-1 marked compromised;
- `deactivated`: accredited, then deactivated;
- `counter`: the verifier's own DID, accredited as a `verifier`.

A test that must change the ledger (a revocation) makes its own agency with
`World.add_agency` and republishes its list with `World.republish`; the
agencies above never change.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from did.keys import PrivateKey, generate_private_key, public_key_of
from did.sd_jwt import issue_sd_jwt_vc, present_sd_jwt
from did.status_list import StatusList
from did.status_list_token import build_status_list_token
from registry import authoring
from registry.api.app import create_app
from registry.bootstrap import init_registry
from registry.client import RegistryClient
from registry.config import RegistryConfig
from registry.cosignature import WitnessVerifier
from registry.note import NoteVerifier
from registry.policy import WitnessPolicy
from registry.proofs import LedgerTrust
from registry.witness.app import create_witness_app
from registry.witness.config import WitnessConfig, init_witness
from tests.servers import serve
from verifier.lookups import RegistryLookups
from verifier.policy import TrustPolicy

CIVIL_VCT = "https://govid.example/vct/civil-identity"
MEDICAL_VCT = "https://govid.example/vct/medical-insurance-card"
AUD = "decentralized_identifier:did:govid:counter"
CIVIL_CLAIMS: dict[str, Any] = {
    "personal_id": "P-123456",
    "given_name": "Erika",
    "family_name": "Mustermann",
    "birthdate": "1990-02-01",
    "nationality": "DE",
    "age_over_18": True,
    "address": {"street_address": "Hauptstr. 1", "locality": "Berlin", "postal_code": "10115"},
}
CIVIL_DISCLOSABLE = [[k] for k in CIVIL_CLAIMS] + [
    ["address", "street_address"],
    ["address", "locality"],
    ["address", "postal_code"],
]
REVOKED_IDX, SUSPENDED_IDX = 7, 9


def _ms(text: str) -> int:
    """`keyHistory` bounds are RFC 3339 strings with milliseconds (method spec §6.1)."""
    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass
class Agency:
    keyring: authoring.Keyring
    status_uri: str | None = None
    status_sequence: int = 0
    old_key: PrivateKey | None = None  # key-1 after a rotation
    old_kid: str | None = None

    @property
    def did(self) -> str:
        return self.keyring.did


@dataclass
class World:
    url: str
    origin: str
    log_vkey: str
    witness_vkey: str
    root: authoring.Keyring
    agencies: dict[str, Agency] = field(default_factory=dict)
    key_history: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    # --- trust -------------------------------------------------------------------------

    def ledger_trust(self, *, extra_witnesses: Sequence[str] = (), quorum: int = 1) -> LedgerTrust:
        witnesses = [WitnessVerifier.from_vkey(v) for v in (self.witness_vkey, *extra_witnesses)]
        log = NoteVerifier.from_vkey(self.log_vkey)
        return LedgerTrust(self.origin, log, WitnessPolicy(witnesses, quorum))

    def policy(self, **overrides: Any) -> TrustPolicy:
        values: dict[str, Any] = {"root_did": self.root.did, "ledger": self.ledger_trust()}
        values.update(overrides)
        return TrustPolicy(**values)

    @contextlib.contextmanager
    def lookups(self) -> Iterator[RegistryLookups]:
        log = NoteVerifier.from_vkey(self.log_vkey)
        client = RegistryClient(self.url, trust=LedgerTrust.unsafe_log_only(self.origin, log))
        lookups = RegistryLookups(client)
        try:
            yield lookups
        finally:
            lookups.close()

    # --- credentials -------------------------------------------------------------------

    def valid_iat(self, name: str, fragment: str = "#key-1") -> datetime:
        """The first second that overlaps the window of `fragment`.

        Log time is in ms, `iat` in whole seconds; a second counts when it
        overlaps the key's window (`did.validity.numeric_date_in_window`), so
        a key may be rotated within the second it was created.
        """
        record = next(r for r in self.key_history[name] if r["id"] == fragment)
        return datetime.fromtimestamp(_ms(record["validFrom"]) // 1000, UTC)

    def after_window(self, name: str, fragment: str = "#key-1") -> datetime:
        record = next(r for r in self.key_history[name] if r["id"] == fragment)
        return datetime.fromtimestamp(math.ceil(_ms(record["validUntil"]) / 1000) + 1, UTC)

    def issue(
        self,
        name: str = "civil",
        *,
        holder: PrivateKey,
        claims: Mapping[str, Any] = CIVIL_CLAIMS,
        disclosable: Sequence[Sequence[str]] = CIVIL_DISCLOSABLE,
        vct: str = CIVIL_VCT,
        idx: int = 3,
        iat: datetime | None = None,
        exp: datetime | None = None,
        key: PrivateKey | None = None,
        kid: str | None = None,
        status: bool = True,
    ) -> str:
        agency = self.agencies[name]
        iat = iat or self.valid_iat(name)
        uri = agency.status_uri
        issued = issue_sd_jwt_vc(
            dict(claims),
            issuer_key=key or agency.keyring.key("#key-1"),
            iss=agency.did,
            vct=vct,
            iat=iat,
            exp=exp or iat + timedelta(days=365),
            disclosable=disclosable,
            holder_key=public_key_of(holder),
            status={"status_list": {"idx": idx, "uri": uri}} if status and uri else None,
            kid=kid or agency.did + "#key-1",
        )
        return issued.serialize()

    # --- agencies of one test ------------------------------------------------------------

    def add_agency(self, name: str, statuses: Mapping[int, int] | None = None) -> Agency:
        """A new accredited agency with its own status list, provable when this returns."""
        assert name not in self.agencies, "each test names its own agency"
        keyring, op = authoring.create_did(ledger=self.origin)
        _submit(self.url, op)
        agency = self.agencies[name] = Agency(keyring)
        now = int(time.time())
        self.root, op = authoring.grant(
            self.root,
            subject=agency.did,
            role="issuer",
            credential_types=[CIVIL_VCT, MEDICAL_VCT],
            valid_from=now - 3600,
            valid_until=now + 365 * 86400,
        )
        _submit(self.url, op)
        last = _publish(self, agency, f"https://{name}.example/status/1", statuses or {})
        _wait_cosigned(self.url, last)
        body = httpx.get(f"{self.url}/1.0/identifiers/{agency.did}", timeout=10).json()
        self.key_history[name] = body["didDocumentMetadata"]["keyHistory"]
        return agency

    def republish(self, name: str, statuses: Mapping[int, int]) -> None:
        """Publish the agency's list again with `statuses`; return once it is provable."""
        agency = self.agencies[name]
        assert agency.status_uri is not None
        _wait_cosigned(self.url, _publish(self, agency, agency.status_uri, statuses))

    @staticmethod
    def present(
        credential: str,
        *,
        holder: PrivateKey,
        disclose: Sequence[Sequence[str]] = (["given_name"], ["family_name"], ["age_over_18"]),
        aud: str = AUD,
        nonce: str,
        now: datetime,
    ) -> str:
        return present_sd_jwt(
            credential, disclose=disclose, holder_key=holder, aud=aud, nonce=nonce, now=now
        )


def new_holder() -> PrivateKey:
    return generate_private_key("ES256")


# --- building the world ---------------------------------------------------------------


def _submit(url: str, op: str) -> int:
    response = httpx.post(url + "/operations", json={"operation": op}, timeout=30)
    assert response.status_code == 201, response.text
    index: int = response.json()["index"]
    return index


def _wait_cosigned(url: str, index: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        rows = httpx.get(url + "/log/checkpoints", timeout=10).json()["checkpoints"]
        if any(r["size"] > index and r["cosignatures"] > 0 for r in rows):
            return
        time.sleep(0.05)
    raise AssertionError(f"no cosigned checkpoint covers entry {index}")


def _publish(world: World, agency: Agency, uri: str, statuses: Mapping[int, int]) -> int:
    status_list = StatusList.new(1024, 2).with_changes(statuses)
    keyring = agency.keyring
    token = build_status_list_token(
        status_list,
        key=keyring.signing_key(),
        uri=uri,
        iat=math.ceil(time.time()),
        ttl=300,
        kid=keyring.signing_kid,
        iss=keyring.did,
    )
    agency.status_sequence += 1
    agency.keyring, op = authoring.publish_status_list(
        keyring,
        uri=uri,
        sequence=agency.status_sequence,
        token=token,
        credential_types=[CIVIL_VCT, MEDICAL_VCT],
    )
    agency.status_uri = uri
    return _submit(world.url, op)


@contextlib.contextmanager
def running_world(tmp: Path) -> Iterator[World]:
    wdata, rdata = tmp / "witness", tmp / "registry"
    info = init_registry(rdata)
    wvkey = init_witness(
        wdata, name="witness.example", logs=[{"origin": info["origin"], "vkey": info["vkey"]}]
    )
    with serve(create_witness_app(WitnessConfig(data_dir=wdata))) as witness_url:
        reg = json.loads((rdata / "registry.json").read_text())
        reg["witnesses"] = [{"name": "witness.example", "url": witness_url, "vkey": wvkey}]
        reg["quorum"] = 1
        (rdata / "registry.json").write_text(json.dumps(reg))
        config = RegistryConfig(data_dir=rdata, checkpoint_interval=0.05)
        with serve(create_app(config)) as url:
            root = authoring.Keyring.from_json(json.loads((rdata / "root-keys.json").read_text()))
            world = World(url, info["origin"], info["vkey"], wvkey, root)
            _populate(world)
            yield world


def _populate(world: World) -> None:
    url = world.url
    now = int(time.time())
    for name in ("civil", "unaccredited", "rotated", "compromised", "deactivated", "counter"):
        keyring, op = authoring.create_did(ledger=world.origin)
        _submit(url, op)
        world.agencies[name] = Agency(keyring)
    for name in ("civil", "rotated", "compromised", "deactivated", "counter"):
        world.root, op = authoring.grant(
            world.root,
            subject=world.agencies[name].did,
            role="verifier" if name == "counter" else "issuer",
            credential_types=[CIVIL_VCT, MEDICAL_VCT],
            valid_from=now - 3600,
            valid_until=now + 365 * 86400,
        )
        _submit(url, op)
    civil = world.agencies["civil"]
    _publish(world, civil, "https://civil.example/status/1", {REVOKED_IDX: 1, SUSPENDED_IDX: 2})
    for name in ("compromised", "deactivated"):
        _publish(world, world.agencies[name], f"https://{name}.example/status/1", {})
    for name, compromised in (("rotated", False), ("compromised", True)):
        agency = world.agencies[name]
        agency.old_key, agency.old_kid = agency.keyring.key("#key-1"), agency.did + "#key-1"
        agency.keyring, op = authoring.rotate(agency.keyring, compromised=compromised)
        _submit(url, op)
    _publish(world, world.agencies["rotated"], "https://rotated.example/status/1", {})
    dead = world.agencies["deactivated"]
    dead.keyring, op = authoring.deactivate(dead.keyring)
    last = _submit(url, op)
    _wait_cosigned(url, last)
    for name, agency in world.agencies.items():
        body = httpx.get(f"{url}/1.0/identifiers/{agency.did}", timeout=10).json()
        world.key_history[name] = body["didDocumentMetadata"]["keyHistory"]
