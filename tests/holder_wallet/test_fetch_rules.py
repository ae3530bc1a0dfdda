"""Issue 13 item 14: a citizen's wallet must not be a way into the citizen's own network.

An offer link or a QR code names the URLs the wallet fetches *before* the
citizen has agreed to anything (offer, issuer metadata, request object). An
attacker who gets a citizen to scan one could make the wallet reach the
machine's loopback services or the home/office network. The peer here is a
real loopback HTTP server that counts every connection it accepts: with the
development stack's flag (the old default) the wallet fetches it; with the
settings a citizen's wallet has, it is refused with `fetch.*` and the server
never sees a connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from did.errors import GovidError
from holder_wallet.crypto import KDFParams
from holder_wallet.settings import CONFIG_FILE, WalletSettings
from holder_wallet.wallet import Wallet
from tests.holder_wallet.conftest import wallet_settings
from tests.holder_wallet.world import World
from tests.service.peers import Peer, http_answer, loopback_peer

OFFER = {
    # Plain http to a name that never resolves (RFC 6761): refused without a lookup,
    # so no test ever sends traffic beyond loopback.
    "credential_issuer": "http://issuer.invalid",
    "credential_configuration_ids": ["civil_identity"],
    "grants": {
        "urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "c"}
    },
}


def _wallet(world: World, directory: Path, *, allow_loopback_http: bool = False) -> Wallet:
    """A wallet pinned to the test ledger, with the citizen's default fetch rules."""
    settings = wallet_settings(world, directory).model_copy(
        update={"allow_loopback_http": allow_loopback_http}
    )
    wallet = Wallet(settings)
    wallet.init("a passphrase", kdf=KDFParams.insecure_fast_for_tests())
    return wallet


@pytest.fixture
def peer() -> Iterator[Peer]:
    with loopback_peer(http_answer(json.dumps(OFFER).encode())) as running:
        yield running


def _offer_link(url: str) -> str:
    return "openid-credential-offer://?credential_offer_uri=" + quote(url, safe="")


def test_a_citizens_wallet_does_not_follow_an_offer_to_loopback(
    world: World, peer: Peer, tmp_path: Path
) -> None:
    assert WalletSettings(dir=tmp_path).allow_loopback_http is False  # the default
    with _wallet(world, tmp_path / "citizen") as wallet:
        refused = {
            f"http://127.0.0.1:{peer.port}/offer": "fetch.url_refused",
            f"http://localhost:{peer.port}/offer": "fetch.url_refused",
            # https does not help: the name or literal resolves to loopback.
            f"https://localhost:{peer.port}/offer": "fetch.address_refused",
            f"https://127.0.0.1:{peer.port}/offer": "fetch.address_refused",
            f"https://[::ffff:127.0.0.1]:{peer.port}/offer": "fetch.address_refused",
        }
        for url, code in refused.items():
            with pytest.raises(GovidError) as caught:
                wallet.preview_offer(_offer_link(url))
            assert caught.value.code == code, url
    assert peer.connections == 0


def test_the_same_offer_is_fetched_on_the_development_stack(
    world: World, peer: Peer, tmp_path: Path
) -> None:
    """What every wallet did before the fix (allow_loopback_http was on by default)."""
    with _wallet(world, tmp_path / "dev", allow_loopback_http=True) as wallet:
        with pytest.raises(GovidError) as caught:
            wallet.preview_offer(_offer_link(f"http://127.0.0.1:{peer.port}/offer"))
    # The offer was fetched; the wallet then stops at its issuer's plain-http URL.
    assert len(peer.requests) == 1 and peer.requests[0].startswith(b"GET /offer ")
    assert caught.value.code == "fetch.url_refused"


def test_an_offer_by_value_cannot_point_the_metadata_fetch_at_loopback(
    world: World, peer: Peer, tmp_path: Path
) -> None:
    offer = dict(OFFER, credential_issuer=f"https://localhost:{peer.port}")
    link = "openid-credential-offer://?credential_offer=" + quote(json.dumps(offer), safe="")
    with _wallet(world, tmp_path / "citizen") as wallet:
        with pytest.raises(GovidError) as caught:
            wallet.preview_offer(link)
    assert caught.value.code == "fetch.address_refused"
    assert peer.connections == 0


def test_a_presentation_request_cannot_point_at_loopback(
    world: World, peer: Peer, tmp_path: Path
) -> None:
    client_id = quote("decentralized_identifier:did:govid:x", safe="")
    with _wallet(world, tmp_path / "citizen") as wallet:
        for request_uri, code in (
            (f"https://localhost:{peer.port}/request", "fetch.address_refused"),
            (f"http://127.0.0.1:{peer.port}/request", "fetch.url_refused"),
        ):
            link = f"openid4vp://?client_id={client_id}&request_uri={quote(request_uri, safe='')}"
            with pytest.raises(GovidError) as caught:
                wallet.prepare(link)
            assert caught.value.code == code
    assert peer.connections == 0


def test_only_the_development_stack_saves_the_loopback_flag(tmp_path: Path) -> None:
    settings = WalletSettings(dir=tmp_path / "w", registry_url="https://registry.example")
    settings.save_trust()
    saved = json.loads((tmp_path / "w" / CONFIG_FILE).read_text())
    assert saved["allow_loopback_http"] is False
    assert WalletSettings.load(dir=tmp_path / "w").allow_loopback_http is False
    dev = settings.model_copy(update={"allow_loopback_http": True})
    dev.save_trust()
    assert WalletSettings.load(dir=tmp_path / "w").allow_loopback_http is True
