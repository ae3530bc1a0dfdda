"""OpenID4VCI and OpenID4VP exchanges over HTTP under bounded concurrent load.

A real stack (`bench._stack`): the civil issuer of `govid up` (in one process
with the registry and the witnesses, as `make run` deploys it) and the
suite's own verifier process. A second process (`bench._loadgen`) runs whole
exchanges, `concurrency` at a time, bounded in count and time:

- `vci`: agency `POST /api/offers` (client credentials), wallet fetch of the
  offer, `POST /token` (pre-authorized code + transaction code), `POST`
  nonce, `POST` credential with a fresh ES256 key proof: 5 requests, one
  SD-JWT VC with a status list slot, durably written;
- `vp`: counter `POST /api/presentation-requests` (template `age_over_18`),
  wallet `GET` of the signed request object, `direct_post` of the
  `vp_token` (verified on arrival), counter `GET` of the outcome
  (`accepted`): 4 requests.

Reference, interleaved at the same concurrency from the same process: the bare
verification endpoint (`bench._bare_verify_app`, one request = the issuer
and KB signature checks). The ratio is (exchanges/s x requests per exchange)
/ bare requests/s: the share of a minimal signature-checking server's request
rate that the exchange's requests reach.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from bench._harness import Record, Settings
from bench._rounds import HttpRounds, LoadGen, Sample, interleave, raw_post
from bench._stack import (
    CIVIL_CLAIMS,
    CONFIGURATION,
    Process,
    Stack,
    _wait_http,
    agency_token,
    counter_token,
    issue_credentials,
    listener,
    now,
    running_stack,
    well_known,
)
from bench.http_verify import AUD, DISCLOSE, _wait_until_accepted, issuer_public_key
from did.keys import jwk_from_private_key, jwk_from_public_key
from did.sd_jwt import present_sd_jwt

__all__ = ["run"]

REQUESTS = {"vci": 5, "vp": 4}
WHAT = {
    "vci": "OpenID4VCI pre-authorized exchanges (offer, fetch, token, nonce, credential)",
    "vp": "OpenID4VP exchanges (request, request object, direct_post verified, outcome)",
}


def _plan(settings: Settings) -> tuple[list[int], int, float]:
    if settings.batch_s < 0.05:
        return [8], 1, 2.5
    return [1, 4, 16], 2, 5.0


def _spec(stack: Stack, tmp: Path) -> Path:
    credentials = issue_credentials(stack, 8)
    with httpx.Client(timeout=30) as http:
        issuer = stack.civil["url"] + "/agencies/civil"
        metadata = http.get(well_known(issuer, "openid-credential-issuer")).json()
        as_url = well_known(metadata["authorization_servers"][0], "oauth-authorization-server")
        spec = {
            "issuer": stack.civil["url"],
            "configuration": CONFIGURATION,
            "claims": CIVIL_CLAIMS,
            "agency_token": agency_token(stack, http),
            "token_endpoint": http.get(as_url).json()["token_endpoint"],
            "nonce_endpoint": metadata["nonce_endpoint"],
            "credential_endpoint": metadata["credential_endpoint"],
            "verifier": stack.verifier_url,
            "counter_token": counter_token(stack, http),
            "template": "age_over_18",
            "disclose": [["age_over_18"]],
            "credentials": [[jwk_from_private_key(h), c] for h, c in credentials],
        }
    path = tmp / "exchanges-spec.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def _bare_requests(stack: Stack, tmp: Path) -> Path:
    credentials = issue_credentials(stack, 2)
    requests = []
    for i in range(200):
        holder, credential = credentials[i % 2]
        nonce = f"bare-{i}-{int(time.time())}"
        presentation = present_sd_jwt(
            credential,
            disclose=DISCLOSE,
            holder_key=holder,
            aud=AUD,
            nonce=nonce,
            now=now(),
        )
        requests.append(
            raw_post("/api/verify", {"presentation": presentation, "aud": AUD, "nonce": nonce})
        )
    path = tmp / "bare.json"
    path.write_text(json.dumps(requests), encoding="utf-8")
    return path


def run(settings: Settings) -> list[Record]:
    levels, rounds, seconds = _plan(settings)
    tmp = Path(tempfile.mkdtemp(prefix="govid-bench-exchanges-"))
    records: list[Record] = []
    try:
        with running_stack(tmp) as stack:
            probe = issue_credentials(stack, 1)
            _wait_until_accepted(stack, probe)
            issuer = issuer_public_key(stack, probe[0][1])
            spec = _spec(stack, tmp)
            sock = listener()
            port = sock.getsockname()[1]
            bare = Process(
                ["bench._bare_verify_app"],
                tmp / "bare.log",
                {"GOVID_BENCH_ISSUER_JWK": json.dumps(jwk_from_public_key(issuer))},
                sock=sock,
            )
            load = LoadGen(spec)
            try:
                _wait_http(f"http://127.0.0.1:{port}/healthz", bare)
                for kind in ("vci", "vp"):
                    for concurrency in levels:
                        bare_file = _bare_requests(stack, tmp)  # fresh KB-JWTs

                        def subject(_: int, k: str = kind, c: int = concurrency) -> Sample:
                            return load.exchanges(k, count=5000, seconds=seconds, concurrency=c)

                        def reference(_: int, c: int = concurrency, f: Path = bare_file) -> Sample:
                            return load.raw(port, f, count=200_000, seconds=seconds, concurrency=c)

                        load.exchanges(
                            kind, count=2 * concurrency, seconds=30, concurrency=concurrency
                        )
                        result: HttpRounds = interleave(rounds, subject, reference)
                        name = f"exchange.{kind}.c{concurrency}"
                        scale = REQUESTS[kind]
                        print(
                            f"{name:<34} {result.subject_median('rate'):7.1f} exchanges/s "
                            f"({scale} requests each) p50 "
                            f"{result.subject_median('p50_ms'):7.1f} ms "
                            f"p99 {result.subject_median('p99_ms'):7.1f} ms | bare "
                            f"{result.reference_median('rate'):6.0f} req/s | ratio "
                            f"{result.ratio(scale=scale):.2f} ({rounds} rounds)"
                        )
                        records += result.records(
                            name,
                            unit="exchanges/s",
                            what=f"{WHAT[kind]} at concurrency {concurrency}, load from a "
                            "second process",
                            reference=f"exchanges/s x {scale} requests / bare verify endpoint "
                            "req/s at the same concurrency",
                            scale=scale,
                        )
                    head = next(r for r in records if r.name == f"exchange.{kind}.c{levels[-1]}")
                    records.append(
                        Record(
                            f"exchange.{kind}",
                            head.value,
                            head.unit,
                            f"headline: exchange.{kind}.c{levels[-1]}; " + head.reference,
                            head.ratio,
                        )
                    )
            finally:
                load.close()
                bare.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return records
