"""The wallet web app against web pages in the citizen's own browser (issue 13 item 8).

Real wallet servers on loopback, spoken to over HTTP with the headers a
browser sends: a rebound host name, another site's Origin, a form with no
Origin, twenty concurrent passphrase guesses. Real Argon2id (64 MiB) where
the cost matters; the derivation is counted, not replaced.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pydantic
import pytest

import holder_wallet.crypto
from holder_wallet.api.app import COOKIE, create_app
from holder_wallet.crypto import KDFParams
from holder_wallet.settings import WalletSettings
from holder_wallet.unlock_limit import FREE_FAILURES, MAX_DELAY, delay_after
from holder_wallet.wallet import Wallet
from tests.holder_wallet.conftest import PASSPHRASE
from tests.servers import serve


@dataclass
class Clock:
    offset: timedelta = field(default_factory=timedelta)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@dataclass
class Derivations:
    """Counts Argon2id derivations and the most that ever ran at once."""

    count: int = 0
    active: int = 0
    peak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, real: Callable[..., bytes]) -> Callable[..., bytes]:
        def counted(*args: Any, **kwargs: Any) -> bytes:
            with self.lock:
                self.count += 1
                self.active += 1
                self.peak = max(self.peak, self.active)
            try:
                return real(*args, **kwargs)
            finally:
                with self.lock:
                    self.active -= 1

        return counted


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> Derivations:
    counted = Derivations()
    monkeypatch.setattr(
        holder_wallet.crypto, "derive_key", counted.wrap(holder_wallet.crypto.derive_key)
    )
    return counted


@dataclass
class Served:
    url: str
    wallet: Wallet
    clock: Clock

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def port(self) -> int:
        port = urlsplit(self.url).port
        assert port is not None
        return port

    def unlock(self, passphrase: str = PASSPHRASE, **headers: str) -> httpx.Response:
        return httpx.post(
            self.url + "/unlock", data={"passphrase": passphrase}, headers=headers, timeout=60
        )


@contextlib.contextmanager
def _served(directory: Path, *, kdf: KDFParams | None, **settings: Any) -> Iterator[Served]:
    clock = Clock()
    with Wallet(WalletSettings(dir=directory, **settings), clock=clock) as wallet:
        wallet.init(PASSPHRASE, kdf=kdf)
        wallet.lock()
        with serve(create_app(wallet)) as url:
            yield Served(url, wallet, clock)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    with _served(tmp_path / "wallet", kdf=KDFParams.insecure_fast_for_tests()) as running:
        yield running


def _unlocked(served: Served) -> bool:
    return served.wallet.vault.unlocked


def _refused(answer: httpx.Response, code: str) -> None:
    assert answer.status_code == 403, answer.text
    assert code in answer.text
    assert COOKIE not in answer.cookies


# --- Host: DNS rebinding ------------------------------------------------------------------


def test_a_host_that_is_not_the_wallets_own_is_refused(
    served: Served, derivations: Derivations
) -> None:
    # A rebound name reaches 127.0.0.1 but the browser names the attacker's host.
    for host in (
        "attacker.example",
        f"attacker.example:{served.port}",
        f"localhost.attacker.example:{served.port}",
        f"127.0.0.2:{served.port}",
        f"127.0.0.1:{served.port + 1}",
        "127.0.0.1",
    ):
        _refused(httpx.get(served.url + "/unlock", headers={"Host": host}), "wallet.host_refused")
        _refused(httpx.get(served.url + "/healthz", headers={"Host": host}), "wallet.host_refused")
        _refused(
            served.unlock(Host=host, Origin=f"http://{host}"),
            "wallet.host_refused",
        )
    assert derivations.count == 0 and not _unlocked(served)

    for name in ("127.0.0.1", "localhost", "LOCALHOST"):
        host = f"{name}:{served.port}"
        assert httpx.get(served.url + "/unlock", headers={"Host": host}).status_code == 200


def test_origins_listed_in_the_settings_are_the_wallets_too(tmp_path: Path) -> None:
    mapped = "http://127.0.0.1:18407"  # a container's port, published on the host
    with _served(tmp_path / "w", kdf=KDFParams.insecure_fast_for_tests(), origins=[mapped]) as s:
        answer = s.unlock(Host="127.0.0.1:18407", Origin=mapped)
        assert answer.status_code == 303 and COOKIE in answer.cookies
        _refused(s.unlock(Host="127.0.0.1:18408", Origin=mapped), "wallet.host_refused")
    for bad in ("http://192.168.1.20:8407", "http://attacker.example:8407", "http://127.0.0.1/x"):
        with pytest.raises(pydantic.ValidationError):
            WalletSettings(dir=tmp_path / "w2", origins=[bad])


# --- Origin: cross-site requests ----------------------------------------------------------


def test_cross_site_posts_are_refused_before_the_passphrase_is_checked(
    served: Served, derivations: Derivations
) -> None:
    other_local = f"http://127.0.0.1:{served.port + 1}"  # same site, another origin
    for headers in (
        {"Origin": "http://attacker.example"},
        {"Origin": "null"},  # a sandboxed frame or a data: page
        {"Origin": other_local},
        {"Origin": other_local, "Sec-Fetch-Site": "same-site"},
        {},  # neither Origin nor Fetch Metadata: not from the wallet's page
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": served.url, "Sec-Fetch-Site": "cross-site"},
    ):
        _refused(served.unlock(**headers), "wallet.origin_refused")
    assert derivations.count == 0 and not _unlocked(served)

    # The wallet's own form: the browser sends its Origin, or (older browsers
    # on some forms) only Sec-Fetch-Site.
    own = served.unlock(Origin=served.url, **{"Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 303 and COOKIE in own.cookies
    assert served.unlock(**{"Sec-Fetch-Site": "same-origin"}).status_code == 303

    # A signed-in session does not make another site's post acceptable.
    with httpx.Client(base_url=served.url, cookies={COOKIE: own.cookies[COOKIE]}) as browser:
        home = browser.get("/")
        assert home.status_code == 200
        csrf = home.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        locked = browser.post(
            "/lock", data={"csrf": csrf}, headers={"Origin": "http://attacker.example"}
        )
        _refused(locked, "wallet.origin_refused")
        assert _unlocked(served)


def test_cross_site_reads_are_refused_but_links_are_followed(served: Served) -> None:
    def get(**headers: str) -> httpx.Response:
        return httpx.get(served.url + "/unlock", headers=headers)

    _refused(get(Origin="http://attacker.example"), "wallet.origin_refused")  # fetch()
    embedded = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}
    _refused(get(**embedded, **{"Sec-Fetch-Dest": "image"}), "wallet.origin_refused")
    framed = {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"}
    _refused(get(**framed, **{"Sec-Fetch-Dest": "iframe"}), "wallet.origin_refused")
    link = get(**framed, **{"Sec-Fetch-Dest": "document"})
    assert link.status_code == 200  # the citizen followed a link to the wallet


def test_pages_forbid_framing_scripts_outside_loads_and_caching(served: Served) -> None:
    for answer in (httpx.get(served.url + "/unlock"), httpx.get(served.url + "/")):
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy
        assert "script-src" not in policy  # falls back to default-src 'none'
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"


# --- /unlock: one derivation at a time, a growing wait -----------------------------------


def test_the_wait_grows_after_the_free_failures_and_is_capped() -> None:
    waits = [delay_after(n).total_seconds() for n in range(1, 9)]
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16][: len(waits)]
    assert FREE_FAILURES == 3
    assert delay_after(10_000) == MAX_DELAY


def _retry_after(answer: httpx.Response) -> int:
    assert answer.status_code == 429, answer.text
    seconds = int(answer.headers["retry-after"])
    assert seconds >= 1
    return seconds


def test_concurrent_guesses_run_one_derivation_at_a_time_and_are_slowed(
    tmp_path: Path, derivations: Derivations
) -> None:
    with _served(tmp_path / "wallet", kdf=None) as served:  # RFC 9106: 64 MiB, t=3, p=4
        derivations.count = 0  # `init` derived once

        def guess(i: int) -> httpx.Response:
            return served.unlock(f"wrong guess {i}", Origin=served.url)

        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(guess, range(20)))

        statuses = Counter(a.status_code for a in answers)
        assert derivations.peak == 1, "two Argon2id derivations ran at once"
        assert 1 <= derivations.count <= FREE_FAILURES + 1
        assert statuses == {401: derivations.count, 429: 20 - derivations.count}
        for answer in answers:
            if answer.status_code == 429:
                _retry_after(answer)
                assert "try again in" in answer.text

        # Guess on, one at a time, until the wait is in force.
        answer = guess(100)
        while answer.status_code == 401:
            answer = guess(101)
        wait = _retry_after(answer)
        assert f"try again in {wait} seconds" in answer.text
        before = derivations.count

        # Even the right passphrase waits: a check would be a guess.
        assert _retry_after(served.unlock(Origin=served.url)) <= wait
        assert derivations.count == before and not _unlocked(served)

        # The wait grows with each wrong passphrase after it.
        served.clock.offset += timedelta(seconds=wait)
        longer = guess(102)
        assert longer.status_code == 401 and f"wait {2 * wait} seconds" in longer.text
        assert _retry_after(served.unlock(Origin=served.url)) == 2 * wait

        # After the wait, the right passphrase opens the wallet and clears the count.
        served.clock.offset += timedelta(seconds=2 * wait)
        opened = served.unlock(Origin=served.url)
        assert opened.status_code == 303 and COOKIE in opened.cookies
        assert _unlocked(served)
        with httpx.Client(base_url=served.url, cookies={COOKIE: opened.cookies[COOKIE]}) as web:
            assert "Your credentials" in web.get("/").text
        assert guess(103).status_code == 401  # a fresh typo costs no wait
