"""Issue 13 item 3: the failure limit holds against concurrent guesses and forged client addresses.

Each test performs the attack over real HTTP against a real service: the
issuer on loopback (configured by `service.serving`, as every govid server
is) and a `govid verifier serve` process. Before the fix, 60 concurrent wrong
secrets were all evaluated against a limit of 30 (the limit was checked on
arrival and charged on the answer), and a new `X-Forwarded-For` per request
from loopback gave every guess a fresh bucket (uvicorn believes loopback's
forwarded headers by default).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from issuer.api.app import TOKEN_FAILURES, create_app
from registry.authoring import create_did
from registry.cosignature import CosignatureSigner
from registry.note import NoteSigner
from tests.issuer.conftest import Clock, Registry, make_context, registry
from tests.security.procstack import EnvServer
from tests.servers import serve
from verifier.api.app import FAILURES_PER_MINUTE

__all__ = ["registry"]  # a fixture, imported to be found

REPO = Path(__file__).resolve().parents[2]
GUESS = {"grant_type": "client_credentials"}


@pytest.fixture
def issuer_app(tmp_path: Path, registry: Registry) -> Iterator[object]:
    """A real issuer app (its own SQLite database); guesses need no agency to be refused."""
    ctx = make_context(f"sqlite:///{tmp_path / 'issuer.db'}", registry, Clock())
    yield create_app(ctx)
    ctx.engine.dispose()


def _assert_limited(codes: list[int], *, started: float, per_minute: int) -> None:
    """At most the budget, plus what the bucket regained while the attack ran, was evaluated.

    The bucket refills continuously (`per_minute` a minute), so a slow attack
    earns a few more guesses; the attacks here send twice the budget.
    """
    regained = math.ceil((time.monotonic() - started) * per_minute / 60) + 1
    assert set(codes) <= {401, 429}, codes
    assert codes.count(401) <= per_minute + regained, codes
    assert codes.count(429) >= len(codes) - per_minute - regained


def test_concurrent_guesses_are_counted_before_they_are_answered(issuer_app: object) -> None:
    attempts = 2 * TOKEN_FAILURES

    async def attack(url: str) -> list[int]:
        limits = httpx.Limits(max_connections=attempts)
        async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
            answers = await asyncio.gather(
                *(
                    http.post("/token", data=GUESS, auth=("agency-x", f"guess-{i}"))
                    for i in range(attempts)
                )
            )
        return [a.status_code for a in answers]

    with serve(issuer_app) as url:
        started = time.monotonic()
        codes = asyncio.run(attack(url))
    _assert_limited(codes, started=started, per_minute=TOKEN_FAILURES)


def _spoofed_guesses(url: str, path: str, count: int, client_id: str) -> list[int]:
    codes = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(count):
            forged = {"X-Forwarded-For": f"203.0.113.{i % 250 + 1}"}
            answer = http.post(path, data=GUESS, auth=(client_id, f"g{i}"), headers=forged)
            codes.append(answer.status_code)
    return codes


def test_forged_forwarded_for_from_loopback_does_not_escape_the_limit(
    issuer_app: object,
) -> None:
    with serve(issuer_app) as url:
        started = time.monotonic()
        codes = _spoofed_guesses(url, "/token", 2 * TOKEN_FAILURES, "agency-x")
    _assert_limited(codes, started=started, per_minute=TOKEN_FAILURES)


def test_a_listed_proxy_is_believed_and_cannot_be_fooled_by_a_prepended_address(
    issuer_app: object,
) -> None:
    with (
        serve(issuer_app, trusted_proxies=["127.0.0.1"]) as url,
        httpx.Client(base_url=url) as http,
    ):

        def guess(forwarded: str, client_id: str) -> int:
            # One client id per guess: the per-account lock (issue 13 item 13)
            # would otherwise answer 429 whatever the address.
            headers = {"X-Forwarded-For": forwarded}
            answer = http.post("/token", data=GUESS, auth=(client_id, "g"), headers=headers)
            return answer.status_code

        # The proxy appends the address it saw; the client may have prepended anything.
        started = time.monotonic()
        codes = [
            guess(f"198.51.100.{i + 1}, 203.0.113.7", f"x{i}") for i in range(2 * TOKEN_FAILURES)
        ]
        _assert_limited(codes, started=started, per_minute=TOKEN_FAILURES)
        # Another client behind the proxy has its own budget.
        assert guess("203.0.113.8", "another") == 401


def _verifier_env(tmp_path: Path, secret: str) -> dict[str, str]:
    keyring, _ = create_did(ledger="govid.test/log")
    (tmp_path / "keyring.json").write_text(keyring.dumps())
    log = NoteSigner.generate("govid.test/log")
    witness = CosignatureSigner("w.test", Ed25519PrivateKey.generate())
    return {
        "GOVID_VERIFIER_REGISTRY_URL": "http://127.0.0.1:9",  # never asked: nothing to verify
        "GOVID_VERIFIER_LOG_VKEY": log.verifier().to_vkey(),
        "GOVID_VERIFIER_WITNESS_VKEYS": json.dumps([witness.verifier().to_vkey()]),
        "GOVID_VERIFIER_ROOT_DID": keyring.did,
        "GOVID_VERIFIER_KEYRING_FILE": str(tmp_path / "keyring.json"),
        "GOVID_VERIFIER_DATABASE_URL": f"sqlite:///{tmp_path / 'verifier.db'}",
        "GOVID_VERIFIER_CLIENTS": json.dumps(
            {"counter": hashlib.sha256(secret.encode()).hexdigest()}
        ),
    }


@pytest.mark.slow
@pytest.mark.parametrize("trusted", [None, '["127.0.0.1"]'], ids=["no-proxy", "loopback-proxy"])
def test_govid_verifier_serve_believes_forwarded_headers_only_from_listed_proxies(
    tmp_path: Path, trusted: str | None
) -> None:
    env = _verifier_env(tmp_path, "the-counters-secret")
    if trusted is not None:
        env["GOVID_VERIFIER_TRUSTED_PROXIES"] = trusted
    server = EnvServer(
        ["verifier", "serve"], log=tmp_path / "verifier.log", env=env, health="/healthz"
    )
    server.start()
    try:
        started = time.monotonic()
        codes = _spoofed_guesses(server.url, "/oauth/token", 2 * FAILURES_PER_MINUTE, "counter")
    finally:
        server.stop()
    if trusted is None:  # the default: the forged addresses change nothing
        _assert_limited(codes, started=started, per_minute=FAILURES_PER_MINUTE)
    else:  # the operator said loopback is its proxy: each address has its own budget
        assert set(codes) == {401}


def test_every_server_govid_starts_is_configured_by_service_serving() -> None:
    """`govid ... serve` and `govid up` build uvicorn's configuration in one place only."""
    starts = re.compile(r"uvicorn\.(run|Config)\(")
    offenders = [
        str(path.relative_to(REPO))
        for package in ("govid", "registry", "issuer", "verifier", "holder_wallet", "bench")
        for path in (REPO / package).rglob("*.py")
        if starts.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    commands = "".join(
        (REPO / "govid" / f"cli_{name}.py").read_text(encoding="utf-8")
        for name in ("registry", "witness", "issuer", "verifier", "wallet")
    )
    assert commands.count("trusted_proxies=") == 5
