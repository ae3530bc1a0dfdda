"""Receiving over OpenID4VCI: verified before stored; every malicious offer stores nothing."""

from __future__ import annotations

import pytest

from did.errors import GovidError
from did.sd_jwt import UnverifiedSDJWT
from holder_wallet.keys import thumbprint_of
from holder_wallet.wallet import Wallet
from openid4vc.issuance import parse_offer_uri, well_known_url
from tests.holder_wallet.world import CIVIL_CLAIMS, OTHER_VCT, TX_CODE, World


def _copies(wallet: Wallet, credential_id: str) -> list[dict[str, object]]:
    from sqlmodel import Session

    from holder_wallet.store import WalletStore

    with Session(wallet.engine) as session:
        return [c.secret for c in WalletStore(session, wallet.vault.key()).copies(credential_id)]


def test_receive_stores_a_verified_batch_with_a_fresh_key_per_copy(
    world: World, wallet: Wallet
) -> None:
    uri, offer = world.issuer.offer()
    [cid] = wallet.receive(uri, TX_CODE)
    stored = wallet.credential(cid)
    assert stored.copies == 3
    assert stored.record["iss"] == world.ledger.dids["civil"].did
    assert stored.record["claims"]["given_name"] == CIVIL_CLAIMS["given_name"]
    assert stored.record["display"]["name"] == "Civil identity"
    assert stored.record["display"]["issuer_name"] == "Civil Affairs Office"
    copies = _copies(wallet, cid)
    cnfs = {
        thumbprint_of(UnverifiedSDJWT.parse(str(c["sd_jwt"])).unverified_payload["cnf"]["jwk"])
        for c in copies
    }
    keys = {thumbprint_of(c["holder_jwk"]) for c in copies}  # type: ignore[arg-type]
    assert len(cnfs) == 3 and cnfs == keys, "each copy is bound to its own wallet key"
    assert offer.requests == 1, "one batch request for all copies"


def test_a_second_credential_never_reuses_a_key(world: World, wallet: Wallet) -> None:
    first = wallet.receive(world.issuer.offer()[0], TX_CODE)[0]
    second = wallet.receive(world.issuer.offer()[0], TX_CODE)[0]
    keys = [thumbprint_of(c["holder_jwk"]) for i in (first, second) for c in _copies(wallet, i)]  # type: ignore[arg-type]
    assert len(set(keys)) == len(keys) == 6


@pytest.mark.parametrize(
    ("behaviour", "code"),
    [
        ({"signer": "rogue"}, "wallet.issuer_metadata_mismatch"),
        ({"vct": OTHER_VCT}, "wallet.issuer_metadata_mismatch"),
        ({"foreign_cnf": True}, "wallet.cnf_mismatch"),
    ],
    ids=["signed-by-other-did", "other-vct-than-offered", "bound-to-foreign-key"],
)
def test_malicious_issuance_is_refused_and_nothing_stored(
    world: World, wallet: Wallet, behaviour: dict[str, object], code: str
) -> None:
    uri, _ = world.issuer.offer(**behaviour)
    with pytest.raises(GovidError) as caught:
        wallet.receive(uri, TX_CODE)
    assert caught.value.code == code
    assert wallet.credentials() == []


def test_unaccredited_issuer_is_refused(
    world: World, wallet: Wallet, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The metadata names the rogue DID too, so only the ledger can tell.
    rogue = world.ledger.dids["rogue"].did
    original = world.issuer._metadata

    def metadata() -> dict[str, object]:
        return {**original(), "issuer_did": rogue}

    monkeypatch.setattr(world.issuer, "_metadata", metadata)
    uri, _ = world.issuer.offer(signer="rogue")
    with pytest.raises(GovidError) as caught:
        wallet.receive(uri, TX_CODE)
    assert caught.value.code == "wallet.issuer_not_accredited"
    assert wallet.credentials() == []


def test_wrong_tx_code_is_the_issuers_refusal(world: World, wallet: Wallet) -> None:
    uri, _ = world.issuer.offer()
    with pytest.raises(GovidError) as caught:
        wallet.receive(uri, "000000")
    assert caught.value.code == "wallet.remote_refused"
    assert "invalid_grant" in caught.value.message
    assert wallet.credentials() == []


@pytest.mark.parametrize(
    "uri",
    [
        "https://example.com/",
        "openid-credential-offer://?credential_offer_uri=a&credential_offer_uri=b",
        "openid-credential-offer://?credential_offer=%7Bnot-json",
        "openid-credential-offer://?credential_offer_uri=x&credential_offer=%7B%7D",
    ],
)
def test_malformed_offer_links(uri: str) -> None:
    with pytest.raises(GovidError) as caught:
        parse_offer_uri(uri)
    assert caught.value.code == "oid4vci.offer_invalid"


def test_well_known_url_inserts_before_the_path() -> None:
    # OpenID4VCI 1.0 §12.2.2 example.
    assert (
        well_known_url("https://issuer.example.com/tenant", "openid-credential-issuer")
        == "https://issuer.example.com/.well-known/openid-credential-issuer/tenant"
    )
    assert (
        well_known_url("https://tenant.issuer.example.com", "openid-credential-issuer")
        == "https://tenant.issuer.example.com/.well-known/openid-credential-issuer"
    )


def test_offer_over_plain_http_to_a_remote_host_is_refused(wallet: Wallet) -> None:
    link = "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fissuer.example%2Fo%2F1"
    with pytest.raises(GovidError) as caught:
        wallet.receive(link, TX_CODE)
    assert caught.value.code == "fetch.url_refused"


def test_a_crash_while_storing_leaves_nothing_half_written(
    world: World, wallet: Wallet, monkeypatch: pytest.MonkeyPatch
) -> None:
    from holder_wallet.store import WalletStore

    received = wallet.redeem(wallet.preview_offer(world.issuer.offer()[0]), TX_CODE)
    original = WalletStore.add_credential
    calls: list[int] = []

    def crash_on_second(self: WalletStore, *args: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(WalletStore, "add_credential", crash_on_second)
    with pytest.raises(RuntimeError):
        wallet.accept([received[0], received[0]])
    assert wallet.credentials() == []
