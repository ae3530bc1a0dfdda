"""The unlocked wallet key, held in memory, dropped after inactivity.

`Vault.create` wraps a new random data key under the passphrase; `unlock`
unwraps it (a wrong passphrase raises `wallet.passphrase_invalid` and writes
nothing); `key()` hands it out and counts as activity; after `idle_timeout`
without activity the key is forgotten and `key()` raises `wallet.locked`.
Time is injected (`clock`), so the lock is tested without sleeping.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from holder_wallet.crypto import KDFParams, Rng, new_data_key, unwrap_key, wrap_key
from holder_wallet.errors import WalletExists, WalletLocked
from holder_wallet.store import MetaRow, read_meta

__all__ = ["DEFAULT_IDLE_TIMEOUT", "Vault"]

DEFAULT_IDLE_TIMEOUT = timedelta(minutes=5)


class Vault:
    def __init__(
        self,
        engine: Engine,
        *,
        clock: Callable[[], datetime],
        idle_timeout: timedelta = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._idle = idle_timeout
        self._key: bytes | None = None
        self._last_used: datetime | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        return self._engine

    def create(
        self, passphrase: str, *, kdf: KDFParams | None = None, rng: Rng = os.urandom
    ) -> None:
        """Initialise the wallet; `wallet.exists` if it already was. Leaves it unlocked."""
        if not passphrase:
            raise ValueError("the passphrase must not be empty")
        params = kdf or KDFParams.new(rng)
        data_key = new_data_key(rng)
        with Session(self._engine) as session:
            if session.get(MetaRow, 1) is not None:
                raise WalletExists("a wallet already exists here")
            session.add(
                MetaRow(
                    id=1,
                    kdf=json.dumps(params.to_json()),
                    wrapped_key=wrap_key(data_key, passphrase, params, rng=rng),
                    created_at=int(self._clock().timestamp()),
                )
            )
            session.commit()
        self._remember(data_key)

    def unlock(self, passphrase: str) -> None:
        with Session(self._engine) as session:
            params, wrapped = read_meta(session)
        self._remember(unwrap_key(wrapped, passphrase, params))

    def check_passphrase(self, passphrase: str) -> None:
        """Raise `wallet.passphrase_invalid` unless `passphrase` opens the wallet."""
        with Session(self._engine) as session:
            params, wrapped = read_meta(session)
        unwrap_key(wrapped, passphrase, params)

    def _remember(self, key: bytes) -> None:
        with self._lock:
            self._key, self._last_used = key, self._clock()

    def lock(self) -> None:
        with self._lock:
            self._key, self._last_used = None, None

    @property
    def unlocked(self) -> bool:
        with self._lock:
            return self._fresh_key() is not None

    def _fresh_key(self) -> bytes | None:
        if self._key is None or self._last_used is None:
            return None
        if self._clock() - self._last_used >= self._idle:
            self._key, self._last_used = None, None  # inactivity: forget the key
            return None
        return self._key

    def key(self) -> bytes:
        """The data key; counts as activity. `wallet.locked` when locked or idle too long."""
        with self._lock:
            key = self._fresh_key()
            if key is None:
                raise WalletLocked("the wallet is locked; unlock it with the passphrase")
            self._last_used = self._clock()
            return key
