"""Fixtures of the wallet tests: one real ledger and protocol doubles per worker, fresh wallets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from holder_wallet.crypto import KDFParams
from holder_wallet.settings import WalletSettings
from holder_wallet.wallet import Wallet
from tests.holder_wallet.world import World, running_world

PASSPHRASE = "correct horse battery staple"


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_world(tmp_path_factory.mktemp("wallet-world")) as built:
        yield built


def wallet_settings(world: World, directory: Path) -> WalletSettings:
    return WalletSettings(
        dir=directory,
        registry_url=world.ledger.url,
        log_vkey=world.ledger.log_vkey,
        witness_vkeys=[world.ledger.witness_vkey],
        allow_loopback_http=True,  # the test world serves over loopback http
    )


@pytest.fixture
def wallet(world: World, tmp_path: Path) -> Iterator[Wallet]:
    with Wallet(wallet_settings(world, tmp_path / "wallet")) as made:
        made.init(PASSPHRASE, kdf=KDFParams.insecure_fast_for_tests())
        yield made
