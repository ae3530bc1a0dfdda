"""Offline QR (decoded with a real decoder, checked with the reference sd-jwt), status from
the ledger, and encrypted backup/restore onto a new device."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
from jwcrypto.jwk import JWK
from sd_jwt.verifier import SDJWTVerifier

from did.encoding import b64url_decode
from did.errors import GovidError
from did.keys import jwk_from_public_key, public_key_of
from holder_wallet.crypto import KDFParams
from holder_wallet.offline import OFFLINE_PREFIX
from holder_wallet.wallet import Wallet
from tests.holder_wallet.conftest import PASSPHRASE, wallet_settings
from tests.holder_wallet.world import REVOKED_IDX, SUSPENDED_IDX, TX_CODE, World
from tests.qr import decode_qr

AUD = "decentralized_identifier:did:govid:counter-offline"


def _decode_png(png: bytes) -> str:
    return decode_qr(png)


def test_offline_qr_scans_and_verifies_with_the_reference(world: World, wallet: Wallet) -> None:
    cid = wallet.receive(world.issuer.offer()[0], TX_CODE)[0]
    challenge = json.dumps({"aud": AUD, "nonce": "n-42"})
    text, png = wallet.offline_qr(cid, challenge, claims=[["age_over_18"]])
    scanned = _decode_png(png)
    assert scanned == text and scanned.startswith(OFFLINE_PREFIX)
    packed = b64url_decode(scanned[len(OFFLINE_PREFIX) :], what="qr")
    presentation = zlib.decompress(packed, -15).decode("ascii")
    civil = world.ledger.dids["civil"]
    issuer_jwk = JWK(**jwk_from_public_key(public_key_of(civil.signing_key())))
    payload = SDJWTVerifier(
        presentation, lambda iss, header: issuer_jwk, expected_aud=AUD, expected_nonce="n-42"
    ).get_verified_payload()
    assert payload["age_over_18"] is True and "given_name" not in payload
    assert wallet.history()[0]["kind"] == "offline"


def test_offline_challenge_must_have_aud_and_nonce(world: World, wallet: Wallet) -> None:
    cid = wallet.receive(world.issuer.offer()[0], TX_CODE)[0]
    with pytest.raises(GovidError) as caught:
        wallet.offline_qr(cid, '{"aud": "x"}')
    assert caught.value.code == "wallet.challenge_invalid"


@pytest.mark.parametrize(
    ("indices", "state"),
    [((), "valid"), ((REVOKED_IDX,), "revoked"), ((SUSPENDED_IDX,), "suspended")],
)
def test_status_from_the_ledger(
    world: World, wallet: Wallet, indices: tuple[int, ...], state: str
) -> None:
    cid = wallet.receive(world.issuer.offer(status_indices=indices)[0], TX_CODE)[0]
    assert wallet.refresh_status() == {cid: state}
    assert wallet.credential(cid).record["status"] == state


def test_revoked_credential_is_not_offered_for_presentation(world: World, wallet: Wallet) -> None:
    wallet.receive(world.issuer.offer(status_indices=(REVOKED_IDX,))[0], TX_CODE)
    wallet.refresh_status()
    uri, _ = world.verifier.request()
    assert wallet.prepare(uri).items[0].credential_id is None


def test_backup_restores_on_a_new_device(world: World, wallet: Wallet, tmp_path: Path) -> None:
    cid = wallet.receive(world.issuer.offer()[0], TX_CODE)[0]
    uri, _ = world.verifier.request()
    wallet.approve(wallet.prepare(uri))
    data = wallet.export_backup("backup words", kdf=KDFParams.insecure_fast_for_tests())
    assert b"Erika" not in data and b"holder_jwk" not in data

    with Wallet(wallet_settings(world, tmp_path / "new-device")) as fresh:
        fresh.init("new passphrase", kdf=KDFParams.insecure_fast_for_tests())
        with pytest.raises(GovidError) as caught:
            fresh.restore(data, PASSPHRASE)
        assert caught.value.code == "wallet.backup_invalid"
        assert fresh.credentials() == []
        assert fresh.restore(data, "backup words") == 1
        assert fresh.restore(data, "backup words") == 0, "restoring twice adds nothing"
        assert [c.id for c in fresh.credentials()] == [cid]
        assert len(fresh.history()) == 1
        uri, session = world.verifier.request()
        fresh.approve(fresh.prepare(uri))  # the restored keys still present
        assert session.verified is not None


def test_tampered_backup_is_refused(world: World, wallet: Wallet) -> None:
    wallet.receive(world.issuer.offer()[0], TX_CODE)
    document = json.loads(wallet.export_backup("w", kdf=KDFParams.insecure_fast_for_tests()))
    document["ciphertext"] = document["ciphertext"][:-4] + "AAAA"
    with pytest.raises(GovidError) as caught:
        wallet.restore(json.dumps(document).encode(), "w")
    assert caught.value.code == "wallet.backup_invalid"
