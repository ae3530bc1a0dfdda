"""The vault and the store: encrypted at rest, wrong passphrase reveals and changes nothing,
lock after inactivity (a pinned clock, no sleeping)."""

from __future__ import annotations

import hashlib
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from did.errors import GovidError
from holder_wallet.crypto import KDFParams, open_sealed, seal
from holder_wallet.settings import WalletSettings
from holder_wallet.store import CredentialRow, StoredCopy, StoredCredential, WalletStore
from holder_wallet.wallet import Wallet

PASS = "a long passphrase"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _wallet(tmp_path: Path, clock: Clock) -> Wallet:
    return Wallet(WalletSettings(dir=tmp_path, idle_timeout_seconds=60), clock=clock)


def _fill(wallet: Wallet) -> None:
    with Session(wallet.engine) as session:
        store = WalletStore(session, wallet.vault.key())
        store.add_credential(
            StoredCredential("c1", 1, {"vct": "v", "claims": {"given_name": "Erika-Secret"}}),
            [StoredCopy("k1", "c1", 0, 1, {"sd_jwt": "x~", "holder_jwk": {"d": "SECRET-D"}})],
        )
        session.commit()


def test_contents_are_encrypted_at_rest(tmp_path: Path) -> None:
    with _wallet(tmp_path, Clock()) as wallet:
        wallet.init(PASS, kdf=KDFParams.insecure_fast_for_tests())
        _fill(wallet)
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("wallet.db*"))
    for secret in (b"Erika-Secret", b"SECRET-D", b'"vct"'):
        assert secret not in raw


def test_wrong_passphrase_reveals_nothing_and_changes_nothing(tmp_path: Path) -> None:
    with _wallet(tmp_path, Clock()) as wallet:
        wallet.init(PASS, kdf=KDFParams.insecure_fast_for_tests())
        _fill(wallet)
        wallet.lock()
    before = hashlib.sha256((tmp_path / "wallet.db").read_bytes()).hexdigest()
    with _wallet(tmp_path, Clock()) as wallet:
        with pytest.raises(GovidError) as caught:
            wallet.unlock("not the passphrase")
        assert caught.value.code == "wallet.passphrase_invalid"
        with pytest.raises(GovidError) as locked:
            wallet.credentials()
        assert locked.value.code == "wallet.locked"
        wallet.unlock(PASS)
        assert [c.id for c in wallet.credentials()] == ["c1"]
    assert hashlib.sha256((tmp_path / "wallet.db").read_bytes()).hexdigest() == before


def test_locks_after_inactivity(tmp_path: Path) -> None:
    clock = Clock()
    with _wallet(tmp_path, clock) as wallet:
        wallet.init(PASS, kdf=KDFParams.insecure_fast_for_tests())
        clock.now += timedelta(seconds=59)
        wallet.credentials()  # activity resets the timer
        clock.now += timedelta(seconds=59)
        wallet.credentials()
        clock.now += timedelta(seconds=60)
        with pytest.raises(GovidError) as caught:
            wallet.credentials()
        assert caught.value.code == "wallet.locked"
        assert not wallet.vault.unlocked


def test_init_twice_is_a_conflict(tmp_path: Path) -> None:
    with _wallet(tmp_path, Clock()) as wallet:
        wallet.init(PASS, kdf=KDFParams.insecure_fast_for_tests())
        with pytest.raises(GovidError) as caught:
            wallet.init("other", kdf=KDFParams.insecure_fast_for_tests())
        assert caught.value.code == "wallet.exists"


def test_a_sealed_row_moved_to_another_id_does_not_open(tmp_path: Path) -> None:
    with _wallet(tmp_path, Clock()) as wallet:
        wallet.init(PASS, kdf=KDFParams.insecure_fast_for_tests())
        _fill(wallet)
        with Session(wallet.engine) as session:
            row = session.get(CredentialRow, "c1")
            assert row is not None
            session.add(CredentialRow(id="c2", created_at=2, blob=row.blob))
            session.commit()
        with pytest.raises(GovidError) as caught:
            wallet.credentials()
        assert caught.value.code == "input.malformed"


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=256), st.binary(max_size=32), st.integers(0, 255))
def test_seal_round_trips_and_every_bit_flip_fails(plain: bytes, aad: bytes, at: int) -> None:
    key = bytes(range(32))
    sealed = seal(key, plain, aad=aad)
    assert open_sealed(key, sealed, aad=aad) == plain
    position = at % len(sealed)
    flipped = sealed[:position] + bytes([sealed[position] ^ 1]) + sealed[position + 1 :]
    with pytest.raises(GovidError):
        open_sealed(key, flipped, aad=aad)


def test_wallet_files_are_private_and_a_deleted_credential_leaves_them(tmp_path: Path) -> None:
    directory = tmp_path / "wallet"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)  # as an older wallet left it
    with _wallet(directory, Clock()) as wallet:
        wallet.init(PASS, kdf=KDFParams.insecure_fast_for_tests())
        _fill(wallet)
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        for name in ("wallet.db", "wallet.db-wal", "wallet.db-shm"):
            assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name

        with Session(wallet.engine) as session:
            row = session.get(CredentialRow, "c1")
            assert row is not None
            sealed = row.blob
        raw = b"".join(p.read_bytes() for p in directory.glob("wallet.db*"))
        assert sealed in raw
        wallet.delete("c1")
        # Sealed, but a passphrase learnt later must not open what the citizen deleted.
        raw = b"".join(p.read_bytes() for p in directory.glob("wallet.db*"))
        assert sealed not in raw
