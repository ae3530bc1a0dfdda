"""The one bounded outgoing fetch: scheme, address, size and time rules, against real peers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Sequence

import httpx
import pytest

from service.fetch import (
    AddressRefused,
    Fetcher,
    FetchPolicy,
    FetchTimedOut,
    RedirectRefused,
    ResponseTooLarge,
    URLRefused,
    check_address,
    check_url,
    guarded_client,
)
from tests.service.peers import http_answer, loopback_peer

DEV = FetchPolicy.untrusted(allow_loopback_http=True, budget=5.0)
UNTRUSTED = FetchPolicy.untrusted(budget=5.0)


# --- rule 1: scheme and form ------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "policy", "ok"),
    [
        ("https://issuer.example/x", UNTRUSTED, True),
        ("http://issuer.example/x", UNTRUSTED, False),
        ("http://127.0.0.1:8/x", UNTRUSTED, False),
        ("http://127.0.0.1:8/x", DEV, True),
        ("http://localhost:8/x", DEV, True),
        ("http://issuer.example/x", DEV, False),  # the dev flag is for loopback hosts only
        ("http://registry.internal/x", FetchPolicy.configured(), True),
        ("ftp://issuer.example/x", FetchPolicy.configured(), False),
        ("file:///etc/passwd", DEV, False),
        ("https://user:pw@issuer.example/x", UNTRUSTED, False),
        ("https://issuer.example/x#frag", UNTRUSTED, False),
        ("/relative", UNTRUSTED, False),
        ("https://issuer.example/" + "a" * 3000, UNTRUSTED, False),
        (None, UNTRUSTED, False),
    ],
)
def test_scheme_and_form(url: object, policy: FetchPolicy, ok: bool) -> None:
    if ok:
        check_url(url, policy)
    else:
        with pytest.raises(URLRefused) as caught:
            check_url(url, policy)
        assert caught.value.code == "fetch.url_refused"


# --- rule 2: addresses ------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "::1",
        "::ffff:127.0.0.1",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "fe80::1",
        "fd00::1",
        "::ffff:10.0.0.1",
        "224.0.0.1",
        "240.0.0.1",
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(AddressRefused) as caught:
        check_address(address, UNTRUSTED)
    assert caught.value.code == "fetch.address_refused"


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    check_address(address, UNTRUSTED)


def test_the_dev_flag_opens_loopback_only() -> None:
    check_address("127.0.0.1", DEV)
    check_address("::1", DEV)
    for private in ("10.0.0.1", "169.254.169.254", "192.168.0.1"):
        with pytest.raises(AddressRefused):
            check_address(private, DEV)
    check_address("10.0.0.1", FetchPolicy.configured())  # the operator's own peers


def test_a_name_resolving_to_loopback_is_refused_before_any_connection() -> None:
    with loopback_peer(http_answer(b"{}")) as peer, Fetcher(UNTRUSTED) as fetch:
        for host in ("localhost", "127.0.0.1", "[::ffff:127.0.0.1]"):
            with pytest.raises(AddressRefused):
                fetch.get(f"https://{host}:{peer.port}/")
        assert peer.connections == 0


def test_the_connection_goes_to_the_address_that_was_checked() -> None:
    """DNS rebinding: the name is resolved once, checked, and that address is dialled."""
    calls: list[str] = []

    def resolve(host: str, port: int) -> Sequence[str]:
        calls.append(host)
        return ["127.0.0.1"]  # `rebind.invalid` exists in no DNS: only this answer counts

    with loopback_peer(http_answer(b'{"ok":true}')) as peer:
        with Fetcher(DEV, client=guarded_client(DEV, resolve=resolve)) as fetch:
            answer = fetch.get(f"http://localhost:{peer.port}/x")
        assert answer.json() == {"ok": True} and calls == ["localhost"]
        # The same resolver under the public-only policy: refused, nothing dialled.
        before = peer.connections
        with Fetcher(UNTRUSTED, client=guarded_client(UNTRUSTED, resolve=resolve)) as fetch:
            with pytest.raises(AddressRefused):
                fetch.get(f"https://rebind.invalid:{peer.port}/x")
        assert peer.connections == before


def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    def resolve(host: str, port: int) -> Sequence[str]:
        return ["93.184.216.34", "127.0.0.1"]

    # Refused while checking, before any connection to either address.
    with Fetcher(UNTRUSTED, client=guarded_client(UNTRUSTED, resolve=resolve)) as fetch:
        with pytest.raises(AddressRefused):
            fetch.get("https://mixed.invalid/")


# --- rule 3: size, while streaming -------------------------------------------------------


def _endless(conn: socket.socket, _request: bytes, stop: threading.Event) -> None:
    """A chunked answer that never ends: only a streaming limit can stop the reader."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 4096
    while not stop.is_set():
        try:
            conn.sendall(b"1000\r\n" + chunk + b"\r\n")
        except OSError:
            return


def test_an_endless_answer_is_cut_at_the_limit() -> None:
    policy = FetchPolicy.untrusted(allow_loopback_http=True, max_bytes=64 * 1024, budget=30.0)
    with loopback_peer(_endless) as peer, Fetcher(policy) as fetch:
        with pytest.raises(ResponseTooLarge) as caught:
            fetch.get(f"http://127.0.0.1:{peer.port}/")
    assert caught.value.code == "fetch.too_large"


def test_a_declared_length_above_the_limit_is_refused_unread() -> None:
    policy = FetchPolicy.untrusted(allow_loopback_http=True, max_bytes=10)
    with loopback_peer(http_answer(b"x" * 11)) as peer, Fetcher(policy) as fetch:
        with pytest.raises(ResponseTooLarge):
            fetch.get(f"http://127.0.0.1:{peer.port}/")
        assert fetch.limited(max_bytes=11).get(f"http://127.0.0.1:{peer.port}/").content == (
            b"x" * 11
        )


# --- rule 4: the total budget ------------------------------------------------------------


def _drip(conn: socket.socket, _request: bytes, stop: threading.Event) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    while not stop.wait(0.05):  # each byte well inside the per-read timeout
        try:
            conn.sendall(b"1\r\nx\r\n")
        except OSError:
            return


def test_a_dripping_peer_is_stopped_by_the_budget() -> None:
    policy = FetchPolicy.untrusted(allow_loopback_http=True, budget=0.5)
    with loopback_peer(_drip) as peer, Fetcher(policy) as fetch:
        started = time.monotonic()
        with pytest.raises(FetchTimedOut) as caught:
            fetch.get(f"http://127.0.0.1:{peer.port}/")
    assert caught.value.code == "fetch.timeout"
    # Without the budget the call would never return; this only checks it did.
    assert time.monotonic() - started < 30


# --- redirects -----------------------------------------------------------------------------


def test_redirects_stay_on_their_origin() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/a":
            return httpx.Response(302, headers={"location": "/b"})
        if request.url.path == "/b":
            return httpx.Response(200, json={"at": "b"})
        return httpx.Response(302, headers={"location": "https://elsewhere.example/"})

    with Fetcher(UNTRUSTED, client=httpx.Client(transport=httpx.MockTransport(handler))) as f:
        assert f.get("https://issuer.example/a", max_redirects=1).json() == {"at": "b"}
        assert f.get("https://issuer.example/a").status_code == 302  # none allowed: returned
        with pytest.raises(RedirectRefused):
            f.get("https://issuer.example/c", max_redirects=3)
