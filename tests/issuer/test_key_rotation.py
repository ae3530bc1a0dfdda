"""Key rotation: retired private keys are gone (issue 13 item 12), and a key is valid
from the second it was created in (issue 13 item 16: log time is in milliseconds,
`iat` in seconds).

The attacker of item 12 is anyone who obtains the issuer's keyring later (a
backup, the database and the KEK): with a retired signing key still in it, they
could sign credentials dated inside that key's old window, and every verifier
would accept them. Each credential here is checked by the verifier's own engine
against the real registry the issuer writes to.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from jwcrypto.jwk import JWK

from did.keys import PrivateKey, private_key_from_jwk
from did.sd_jwt import issue_sd_jwt_vc, present_sd_jwt
from issuer.agencies import open_agency, rotate_agency_key
from issuer.status_lists import publish_status_lists
from issuer.store import AgencyRow
from registry.authoring import Keyring
from tests.issuer.conftest import CIVIL_CLAIMS, Stack, wait_until
from tests.issuer.wallet_client import Exchange, new_holder_key, proof_jwt
from verifier.engine import verify_presentation
from verifier.lookups import RegistryLookups
from verifier.policy import TrustPolicy
from verifier.report import VerificationReport

AUD, NONCE = "decentralized_identifier:did:govid:counter", "nonce-1"


def _keyring_at_rest(stack: Stack, slug: str = "civil") -> tuple[bytes, Keyring]:
    """The agency's keyring as stored: the sealed bytes, and opened with the KEK."""
    with stack.ctx.session() as session:
        row = session.get(AgencyRow, slug)
        assert row is not None
        return row.keyring, open_agency(stack.ctx, row).keyring


def _issue_over_http(stack: Stack) -> tuple[str, PrivateKey]:
    with stack.api("civil") as api:
        offer = api.post(
            "/api/offers",
            json={"credential_configuration_id": "civil_identity", "claims": CIVIL_CLAIMS},
        ).json()
    holder = new_holder_key()
    with httpx.Client(timeout=30) as http:
        exchange = Exchange.start(offer["offer_uri"], http)
        access = exchange.token(offer["tx_code"]).json()["access_token"]
        proof = proof_jwt(holder, aud=exchange.issuer, nonce=exchange.nonce())
        answer = exchange.credential(access, [proof])
    assert answer.status_code == 200, answer.text
    credential: str = answer.json()["credentials"][0]["credential"]
    return credential, _private(holder)


def _private(key: JWK) -> PrivateKey:
    return private_key_from_jwk(json.loads(key.export_private()))


def _verify(stack: Stack, credential: str, holder: PrivateKey) -> VerificationReport:
    root = Keyring.from_json(json.loads((stack.registry.data / "root-keys.json").read_text()))
    policy = TrustPolicy(
        root_did=root.did, ledger=stack.registry.trust, unsafe_allow_unwitnessed=True
    )
    now = datetime.now(UTC)
    presentation = present_sd_jwt(
        credential, disclose=[["given_name"]], holder_key=holder, aud=AUD, nonce=NONCE, now=now
    )
    lookups = RegistryLookups(stack.registry.client())
    try:
        return verify_presentation(
            presentation,
            expected_aud=AUD,
            expected_nonce=NONCE,
            query=None,
            policy=policy,
            lookups=lookups,
            now=now,
        )
    finally:
        lookups.close()


def _failure(report: VerificationReport) -> tuple[str, str | None] | None:
    failed = next((o for o in report.outcomes if not o.passed), None)
    return None if failed is None else (failed.name, failed.code)


def _key_history(stack: Stack, did: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{stack.registry.url}/1.0/identifiers/{did}").json()
    history: list[dict[str, Any]] = body["didDocumentMetadata"]["keyHistory"]
    # The registry serves the times as RFC 3339 strings (DID Core §7.3 metadata);
    # these tests compare the ledger's milliseconds.
    return [{**r, "validFrom": _ms(r["validFrom"])} for r in history]


def _ms(rfc3339: str) -> int:
    return round(datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000)


def _rotated(stack: Stack, did: str) -> dict[str, Any]:
    """Wait until the registry serves the rotation; the new key's history record."""
    found: list[dict[str, Any]] = []

    def served() -> bool:
        found[:] = [r for r in _key_history(stack, did) if r["id"] == "#key-2"]
        return bool(found)

    wait_until(served, what="the rotation on the ledger")
    return found[0]


def _all_private_jwks(keyring: Keyring) -> list[dict[str, str]]:
    return [*keyring.update_keys, *keyring.next_keys, *keyring.document_keys.values()]


def _database_files(stack: Stack) -> list[Path]:
    url = stack.ctx.settings.url()
    if not url.startswith("sqlite:///"):
        return []  # PostgreSQL keeps old row versions until VACUUM: not checked here
    path = Path(url.removeprefix("sqlite:///"))
    return [f for f in (path, path.with_name(path.name + "-wal")) if f.exists()]


def test_rotation_deletes_the_retired_signing_key(stack: Stack) -> None:
    did = stack.agencies["civil"].did
    sealed_at_creation, _ = _keyring_at_rest(stack)
    before, holder = _issue_over_http(stack)  # publishes a status list: keyring saved again
    assert _failure(_verify(stack, before, holder)) is None
    sealed_before, old = _keyring_at_rest(stack)
    retired = dict(old.document_keys["#key-1"])
    # The old key must have had a second of its own before the rotation, for the
    # forger to aim at: the ledger's clock has to pass into the next second.
    created_s = (
        next(r for r in _key_history(stack, did) if r["id"] == "#key-1")["validFrom"] // 1000
    )
    wait_until(lambda: time.time() >= created_s + 1, what="the next second")

    rotate_agency_key(stack.ctx, slug="civil")
    sealed, kept = _keyring_at_rest(stack)
    _rotated(stack, did)

    # 1. At rest, opened with the KEK, the keyring holds no trace of the retired key.
    plaintext = kept.dumps()
    assert retired["d"] not in plaintext
    assert retired["d"].encode() not in sealed
    assert list(kept.document_keys) == ["#key-2"]
    assert "retiredKeys" not in json.loads(plaintext)
    # Nor do the database's files still hold an earlier sealed copy (SQLite: the
    # old bytes are zeroed, secure_delete, and the write-ahead log is truncated).
    for file in _database_files(stack):
        content = file.read_bytes()
        assert sealed_at_creation not in content and sealed_before not in content, file.name

    # 2. Its public half stays on the ledger: what it signed before still verifies.
    history = {r["id"]: r for r in _key_history(stack, did)}
    assert history["#key-1"]["validUntil"] is not None and not history["#key-1"]["compromised"]
    assert _failure(_verify(stack, before, holder)) is None

    # 3. Whoever holds the keyring now cannot date a credential into the old window:
    #    no key in it is the retired one, and the new key was not valid back then.
    back_then = datetime.fromtimestamp(created_s, UTC)  # only the retired key was valid then
    assert created_s < history["#key-2"]["validFrom"] // 1000
    vct = stack.vct("civil_identity")
    for jwk in _all_private_jwks(kept):
        key = private_key_from_jwk(jwk)
        for fragment in ("#key-1", "#key-2"):
            forged = issue_sd_jwt_vc(
                {"given_name": "Mallory"},
                issuer_key=key,
                kid=did + fragment,
                iss=did,
                vct=vct,
                iat=back_then,
                exp=back_then + timedelta(days=3650),
                holder_key=holder.public_key(),
                disclosable=[["given_name"]],
            ).serialize()
            failure = _failure(_verify(stack, forged, holder))
            assert failure is not None and failure[0] == "issuer_signature", failure
            assert failure[1] in {"jose.signature_invalid", "issuer_key.not_valid_at_issuance"}


def test_a_key_is_valid_from_the_second_it_was_created_in(stack: Stack) -> None:
    did = stack.agencies["civil"].did
    rotate_agency_key(stack.ctx, slug="civil")
    created_ms = _rotated(stack, did)["validFrom"]
    # The issuer signs in the very second the ledger created the key, before its
    # millisecond: `iat` is that second, floored (RFC 7519 NumericDate).
    second = created_ms // 1000
    stack.clock.offset = datetime.fromtimestamp(second, UTC) - datetime.now(UTC)
    publish_status_lists(stack.ctx, agency="civil", force=True)  # its token too
    credential, holder = _issue_over_http(stack)
    assert _failure(_verify(stack, credential, holder)) is None


def test_keyrings_stored_with_retired_keys_are_purged_at_start(stack: Stack) -> None:
    from issuer.agencies import _keyring_aad
    from issuer.api.app import create_app
    from tests.servers import serve

    # A keyring as the issuer wrote it before issue 13: a retired key kept beside the current.
    _, current = _keyring_at_rest(stack)
    legacy = {**current.to_json(), "retiredKeys": {"#key-0": {"kty": "OKP", "d": "secret-d"}}}
    with stack.ctx.session() as session:
        row = session.get(AgencyRow, "civil")
        assert row is not None
        row.keyring = stack.ctx.kek.seal(json.dumps(legacy).encode(), aad=_keyring_aad("civil"))
        session.add(row)
        session.commit()
    with serve(create_app(stack.ctx)) as url:  # a restart of the issuer on the same data
        assert httpx.get(url + "/").status_code == 200
        with stack.ctx.session() as session:
            row = session.get(AgencyRow, "civil")
            assert row is not None
            opened = stack.ctx.kek.open(row.keyring, aad=_keyring_aad("civil")).decode()
    assert "secret-d" not in opened and "retiredKeys" not in opened
    assert Keyring.from_json(json.loads(opened)).document_keys == current.document_keys
