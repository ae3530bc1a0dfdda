"""The load client of the service benchmarks: a second process on loopback.

`python -m bench._loadgen SPEC_FILE` reads one JSON command per stdin line and
answers one JSON line per command. Every command is bounded in count and in
time (`count`, `seconds`, plus a hard timeout). Kinds:

- `raw`: pre-built HTTP/1.1 requests (a JSON file of latin-1 strings) sent over
  `concurrency` keep-alive connections by `bench.registry`'s raw asyncio
  client (the cheapest client there is, so the server is what is measured);
- `vci`: whole OpenID4VCI exchanges (agency `POST /api/offers`, wallet
  `GET` offer, `POST /token` with the transaction code, `POST` nonce, a fresh
  ES256 holder key and its proof JWT, `POST` credential): 5 requests;
- `vp`: whole OpenID4VP exchanges (counter `POST /api/presentation-requests`,
  wallet `GET` request object, presentation with a KB-JWT for its `nonce` and
  `client_id`, `direct_post` of the `vp_token`, counter `GET` of the
  outcome, which must be `accepted`): 4 requests.

`concurrency` exchanges run at once (httpx, keep-alive). Latencies are per
exchange; p50/p99 in milliseconds. The wallet skips checking the request
object's signature (a wallet's cost, not the verifier's).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from bench._registry_load import _load
from did.jose import parse_unverified_jws
from did.keys import generate_private_key, private_key_from_jwk
from did.sd_jwt import present_sd_jwt

PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
HARD_TIMEOUT = 180.0


def _pct(latencies: list[float], p: float) -> float:
    if not latencies:
        return 0.0
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


class _Fail(Exception):
    pass


def _ok(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 300:
        raise _Fail(f"{what} {response.status_code}")
    return response.json() if response.headers.get("content-type", "").endswith("json") else None


async def _vci(http: httpx.AsyncClient, spec: dict[str, Any]) -> int:
    from bench._stack import proof_jwt

    created = _ok(
        await http.post(
            spec["issuer"] + "/api/offers",
            json={"credential_configuration_id": spec["configuration"], "claims": spec["claims"]},
            headers={"Authorization": f"Bearer {spec['agency_token']}"},
        ),
        "offer",
    )
    offer_url = parse_qs(urlsplit(created["offer_uri"]).query)["credential_offer_uri"][0]
    offer = _ok(await http.get(offer_url), "offer fetch")
    code = offer["grants"][PRE_AUTH]["pre-authorized_code"]
    form = {"grant_type": PRE_AUTH, "pre-authorized_code": code, "tx_code": created["tx_code"]}
    access = _ok(await http.post(spec["token_endpoint"], data=form), "token")["access_token"]
    nonce = _ok(await http.post(spec["nonce_endpoint"]), "nonce")["c_nonce"]
    holder = generate_private_key("ES256")
    proof = proof_jwt(holder, aud=offer["credential_issuer"], nonce=nonce)
    answer = _ok(
        await http.post(
            spec["credential_endpoint"],
            json={"credential_configuration_id": spec["configuration"], "proofs": {"jwt": [proof]}},
            headers={"Authorization": f"Bearer {access}"},
        ),
        "credential",
    )
    if len(answer["credentials"]) != 1:
        raise _Fail("credential count")
    return 5


async def _vp(http: httpx.AsyncClient, spec: dict[str, Any], index: int) -> int:
    counter = {"Authorization": f"Bearer {spec['counter_token']}"}
    verifier = spec["verifier"]
    created = _ok(
        await http.post(
            verifier + "/api/presentation-requests",
            json={"template": spec["template"]},
            headers=counter,
        ),
        "request",
    )
    params = parse_qs(urlsplit(created["authorization_request"]).query)
    request_jwt = await http.get(params["request_uri"][0])
    if request_jwt.status_code != 200:
        raise _Fail(f"request object {request_jwt.status_code}")
    claims = json.loads(parse_unverified_jws(request_jwt.text).payload)
    holder_jwk, credential = spec["credentials"][index % len(spec["credentials"])]
    presentation = present_sd_jwt(
        credential,
        disclose=spec["disclose"],
        holder_key=private_key_from_jwk(holder_jwk),
        aud=claims["client_id"],
        nonce=claims["nonce"],
        now=datetime.now(UTC),
    )
    query_id = claims["dcql_query"]["credentials"][0]["id"]
    form = {"vp_token": json.dumps({query_id: [presentation]}), "state": claims["state"]}
    response = await http.post(claims["response_uri"], data=form)
    if response.status_code != 200:
        raise _Fail(f"direct_post {response.status_code}")
    outcome = _ok(
        await http.get(f"{verifier}/api/presentation-requests/{created['id']}", headers=counter),
        "outcome",
    )
    if outcome.get("status") != "accepted":
        raise _Fail(f"outcome {outcome.get('status')}")
    return 4


async def _exchanges(
    spec: dict[str, Any], *, kind: str, count: int, seconds: float, concurrency: int
) -> dict[str, Any]:
    errors: Counter[str] = Counter()
    latencies: list[float] = []
    requests = 0
    started = 0
    start = time.perf_counter()
    deadline = start + seconds
    last = start
    limits = httpx.Limits(
        max_connections=concurrency * 2, max_keepalive_connections=concurrency * 2
    )
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:

        def one(index: int) -> Awaitable[int]:
            return _vci(http, spec) if kind == "vci" else _vp(http, spec, index)

        async def worker() -> None:
            nonlocal started, requests, last
            while started < count and time.perf_counter() < deadline:
                index = started
                started += 1
                sent = time.perf_counter()
                try:
                    requests += await one(index)
                except _Fail as exc:
                    errors[str(exc)] += 1
                    continue
                except (httpx.HTTPError, KeyError, ValueError) as exc:
                    errors[type(exc).__name__] += 1
                    continue
                done = time.perf_counter()
                latencies.append(done - sent)
                last = max(last, done)

        await asyncio.wait_for(
            asyncio.gather(*(worker() for _ in range(concurrency))), timeout=seconds + HARD_TIMEOUT
        )
    return {
        "ok": len(latencies),
        "sent": started,
        "requests": requests,
        "errors": dict(errors),
        "elapsed": last - start,
        "p50_ms": _pct(latencies, 0.5),
        "p99_ms": _pct(latencies, 0.99),
    }


async def _raw(command: dict[str, Any], files: dict[str, list[bytes]]) -> dict[str, Any]:
    path = command["file"]
    if path not in files:
        loaded = json.loads(Path(path).read_text(encoding="utf-8"))
        files[path] = [text.encode("latin-1") for text in loaded]
    requests = files[path]
    start = command.get("start", 0) % len(requests)
    chosen = (requests[start:] + requests[:start]) * (1 + command["count"] // len(requests))
    out: dict[str, Any] = await _load(
        command["port"],
        chosen[: command["count"]],
        seconds=command["seconds"],
        concurrency=command["concurrency"],
    )
    return out


async def _await(awaitable: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    return await awaitable


def main() -> None:
    spec: dict[str, Any] = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    files: dict[str, list[bytes]] = {}
    runners: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
        "raw": lambda c: _raw(c, files),
        "vci": lambda c: _exchanges(
            spec, kind="vci", count=c["count"], seconds=c["seconds"], concurrency=c["concurrency"]
        ),
        "vp": lambda c: _exchanges(
            spec, kind="vp", count=c["count"], seconds=c["seconds"], concurrency=c["concurrency"]
        ),
    }
    for line in sys.stdin:
        command = json.loads(line)
        result = asyncio.run(_await(runners[command["kind"]](command)))
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
