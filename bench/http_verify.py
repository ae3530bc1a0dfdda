"""Verification with the ledger: in process (caches warm) and over HTTP (`POST /api/verify`).

A real stack (`bench._stack`: `govid up` plus the suite's own verifier
process) issues civil identity credentials over OpenID4VCI to ES256 holder
keys; each figure verifies presentations of them (3 claims disclosed, KB-JWT
with `aud` and `nonce`).

In process: `verifier.engine.verify_presentation` with the deployment's
policy (two witnesses, quorum 2) and `CachingLookups` already warm, so no
request leaves the process; every piece of cached ledger evidence is still
re-verified at each call, as the engine does. Compared, interleaved, with:

- the floor: the issuer signature + the KB-JWT signature + SHA-256 of the
  3 disclosures and of `sd_hash` (`cryptography`; libsodium for Ed25519);
- the reference `sd_jwt` package verifying the same presentation (issuer JWK
  built once; it checks no ledger, status or accreditation);
- govid's own `verify_sd_jwt_vc` with the issuer key known (what the ledger
  checks add).

Over HTTP: the suite's verifier process (uvicorn, one worker, no access log,
bearer token of the counter's OAuth client) and the bare endpoint
`bench._bare_verify_app` (same body, signature checks only), loaded from a
second process (`bench._loadgen`, raw keep-alive HTTP/1.1) at several
concurrencies, interleaved rounds.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from bench._harness import Comparison, Record, Settings, compare, print_comparison
from bench._rounds import HttpRounds, LoadGen, Sample, interleave, raw_post
from bench._stack import Process, Stack, counter_token, issue_credentials, now, running_stack
from bench.sdjwt import _sha256_all
from did.keys import PrivateKey, PublicKey, from_multikey, jwk_from_public_key, public_key_of
from did.sd_jwt import parse_sd_jwt, present_sd_jwt, verify_sd_jwt_vc

__all__ = ["AIMS", "HEADLINE_CONCURRENCY", "run"]

AUD = "https://counter.social-security.example.gov"
DISCLOSE = [["given_name"], ["family_name"], ["birthdate"]]
HEADLINE_CONCURRENCY = 32
HTTP_AIM = 0.7
PRESENTATIONS = 400
COUNT = 200_000  # requests at most per load run (each run is bounded in time too)


def issuer_public_key(stack: Stack, credential: str) -> PublicKey:
    """The issuer key the credential's `kid` names, from the registry's DID document."""
    kid = parse_sd_jwt(credential).jws.header["kid"]
    did, _, fragment = kid.partition("#")
    body = httpx.get(f"{stack.registry}/1.0/identifiers/{did}", timeout=30).json()
    for method in body["didDocument"]["verificationMethod"]:
        if method["id"].endswith("#" + fragment):
            if "publicKeyMultibase" in method:
                return from_multikey(method["publicKeyMultibase"])
            from did.keys import public_key_from_jwk

            return public_key_from_jwk(method["publicKeyJwk"])
    raise RuntimeError("the issuer's DID document lacks the credential's key")


def _public_checker(key: PublicKey, jwt: str) -> Callable[[], object]:
    """The fastest raw check of `jwt`'s signature by `key`, inputs prepared in advance."""
    import nacl.bindings
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from did.encoding import b64url_decode

    head, _, sig_b64 = jwt.rpartition(".")
    data, sig = head.encode("ascii"), b64url_decode(sig_b64)
    if isinstance(key, ed25519.Ed25519PublicKey):
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        signed = sig + data
        return lambda: nacl.bindings.crypto_sign_open(signed, raw)
    assert isinstance(key, ec.EllipticCurvePublicKey)
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    algorithm = ec.ECDSA(hashes.SHA256())
    return lambda: key.verify(der, data, algorithm)


def presentation_floor(
    presentation: str, issuer: PublicKey, holder: PublicKey
) -> Callable[[], None]:
    parsed = parse_sd_jwt(presentation)
    assert parsed.kb_jwt is not None
    issuer_check = _public_checker(issuer, parsed.issuer_jwt)
    kb_check = _public_checker(holder, parsed.kb_jwt)
    digests = [d.encoded.encode("ascii") for d in parsed.disclosures]
    digests.append(parsed.sd_jwt.encode("ascii"))

    def floor() -> None:
        issuer_check()
        kb_check()
        _sha256_all(digests)

    return floor


def reference_verifier(presentation: str, issuer: PublicKey, nonce: str) -> Callable[[], Any]:
    from jwcrypto.jwk import JWK
    from sd_jwt.verifier import SDJWTVerifier

    issuer_jwk = JWK(**jwk_from_public_key(issuer))

    def verify() -> Any:
        return SDJWTVerifier(
            presentation, lambda _iss, _header: issuer_jwk, expected_aud=AUD, expected_nonce=nonce
        ).get_verified_payload()

    return verify


# --- in process -------------------------------------------------------------------------


def _in_process(
    stack: Stack, holder: PrivateKey, credential: str, issuer: PublicKey, settings: Settings
) -> list[Record]:
    from verifier.engine import verify_presentation
    from verifier.settings import VerifierSettings

    values: dict[str, Any] = {
        k.removeprefix("GOVID_VERIFIER_").lower(): v for k, v in stack.verifier_env.items()
    }
    for name in ("witness_vkeys", "clients"):  # JSON in the environment
        values[name] = json.loads(values[name])
    verifier_settings = VerifierSettings(**values)
    policy, lookups = verifier_settings.policy(), verifier_settings.lookups()
    moment: datetime = now()
    nonce = "in-process-nonce-0001"
    presentation = present_sd_jwt(
        credential, disclose=DISCLOSE, holder_key=holder, aud=AUD, nonce=nonce, now=moment
    )

    def full() -> object:
        return verify_presentation(
            presentation,
            expected_aud=AUD,
            expected_nonce=nonce,
            query=None,
            policy=policy,
            lookups=lookups,
            now=moment,
        )

    def sd_jwt_only() -> object:
        return verify_sd_jwt_vc(
            presentation, issuer_key=issuer, now=moment, expected_aud=AUD, expected_nonce=nonce
        )

    def full_cold_checkpoints() -> object:
        # The state before the checkpoint-signature memo of registry.policy: every
        # checkpoint note's log signature and cosignatures verified at every call.
        from registry import policy as registry_policy

        with registry_policy._checked_lock:
            registry_policy._checked.clear()
        return full()

    try:
        report: Any = full()  # warms the caches: the only fetches of the run
        if not report.accepted:
            raise RuntimeError(f"the presentation was refused: {report.to_json()}")
        reference = reference_verifier(presentation, issuer, nonce)
        if set(reference()) - {"_sd_alg", "cnf", "status"} - set(sd_jwt_only().claims):  # type: ignore[attr-defined]
            raise RuntimeError("sd_jwt and govid disagree on the presentation")
        floor = presentation_floor(presentation, issuer, public_key_of(holder))
        cases: list[tuple[str, Comparison, str, bool]] = [
            (
                "verifier.full.vs_floor",
                compare(full, floor, settings),
                "floor: issuer signature + ES256 KB-JWT signature + SHA-256 of 3 disclosures and "
                "sd_hash; ratio = govid full verification (8 checks, ledger evidence re-verified "
                "from a warm cache) / floor; lower is better",
                False,
            ),
            (
                "verifier.full.vs_reference",
                compare(full, reference, settings),
                "reference: sd_jwt 0.10.4 SDJWTVerifier on the same presentation (signatures and "
                "digests only); ratio = reference time / govid full verification time (>1: govid "
                "faster)",
                True,
            ),
            (
                "verifier.full.vs_sdjwt",
                compare(full, sd_jwt_only, settings),
                "reference: govid verify_sd_jwt_vc with the issuer key given; ratio = full "
                "verification / SD-JWT VC verification alone = the price of the ledger, "
                "accreditation and status checks; lower is better",
                False,
            ),
            (
                "verifier.full.vs_cold_checkpoints",
                compare(full, full_cold_checkpoints, settings),
                "reference: the same full verification with registry.policy's memo of verified "
                "checkpoint signatures emptied before each call (the code before it); ratio = "
                "with / without the memo; lower is better",
                False,
            ),
        ]
    finally:
        lookups.close()
    records = []
    for name, comparison, reference_text, invert in cases:
        label = (
            f"reference/govid = {1 / comparison.ratio:.2f}x"
            if invert
            else f"govid/ref = {comparison.ratio:.2f}x"
        )
        print_comparison(name, comparison, "govid", "ref", label)
        records.append(comparison.record(name, reference_text, invert=invert))
    return records


# --- over HTTP --------------------------------------------------------------------------


def _requests_file(
    path: Path, credentials: list[tuple[PrivateKey, str]], bearer: str, count: int
) -> Path:
    moment = now()
    requests = []
    for i in range(count):
        holder, credential = credentials[i % len(credentials)]
        nonce = f"http-{i:06d}-{int(time.time())}"
        presentation = present_sd_jwt(
            credential, disclose=DISCLOSE, holder_key=holder, aud=AUD, nonce=nonce, now=moment
        )
        body = {"presentation": presentation, "aud": AUD, "nonce": nonce}
        requests.append(raw_post("/api/verify", body, {"authorization": f"Bearer {bearer}"}))
    path.write_text(json.dumps(requests), encoding="utf-8")
    return path


def _levels(settings: Settings) -> tuple[list[int], int, float]:
    quick = settings.batch_s < 0.05
    if quick:
        return [8, HEADLINE_CONCURRENCY], 2, 1.0
    return [1, 8, HEADLINE_CONCURRENCY, 64], max(3, settings.rounds // 5), 3.0


def _http(
    stack: Stack,
    credentials: list[tuple[PrivateKey, str]],
    issuer: PublicKey,
    settings: Settings,
    tmp: Path,
) -> list[Record]:
    with httpx.Client(timeout=30) as http:
        bearer = counter_token(stack, http)
        probe = _requests_file(tmp / "probe.json", credentials, bearer, 1)
        request = json.loads(probe.read_text())[0].split("\r\n\r\n", 1)[1]
        answer = http.post(
            stack.verifier_url + "/api/verify",
            content=request,
            headers={"authorization": f"Bearer {bearer}", "content-type": "application/json"},
        )
        if not answer.json().get("accepted"):
            raise RuntimeError(f"the verifier refused the presentation: {answer.text[:500]}")
    from bench._stack import _wait_http, listener

    sock = listener()
    port = sock.getsockname()[1]
    bare = Process(
        ["bench._bare_verify_app"],
        tmp / "bare-verify.log",
        {"GOVID_BENCH_ISSUER_JWK": json.dumps(jwk_from_public_key(issuer))},
        sock=sock,
    )
    verifier_port = int(stack.verifier_url.rsplit(":", 1)[1])
    levels, rounds, seconds = _levels(settings)
    records: list[Record] = []
    spec = tmp / "loadgen-spec.json"
    spec.write_text("{}", encoding="utf-8")
    load = LoadGen(spec)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", bare)
        for concurrency in levels:
            # Fresh presentations per level: KB-JWTs must stay younger than kb_max_age.
            file = _requests_file(tmp / "verify.json", credentials, bearer, PRESENTATIONS)

            def subject(i: int, c: int = concurrency, f: Path = file) -> Sample:
                return load.raw(verifier_port, f, count=COUNT, seconds=seconds, concurrency=c)

            def reference(i: int, c: int = concurrency, f: Path = file) -> Sample:
                return load.raw(port, f, count=COUNT, seconds=seconds, concurrency=c)

            subject(0)  # warm-up of both servers at this concurrency (short)
            reference(0)
            result: HttpRounds = interleave(rounds, subject, reference)
            name = f"http.verify.c{concurrency}"
            print(
                f"{name:<34} verifier {result.subject_median('rate'):8.0f} req/s "
                f"p50 {result.subject_median('p50_ms'):7.1f} ms p99 "
                f"{result.subject_median('p99_ms'):7.1f} ms | bare "
                f"{result.reference_median('rate'):8.0f} req/s p50 "
                f"{result.reference_median('p50_ms'):7.1f} ms | ratio {result.ratio():.2f} "
                f"(spread {result.spread():.0%}, {rounds} rounds)"
            )
            what = (
                f"POST /api/verify (full verification, bearer auth) at concurrency {concurrency}, "
                "uvicorn 1 worker, load from a second process"
            )
            records += result.records(
                name,
                unit="req/s",
                what=what,
                reference="verifier req/s / bare endpoint req/s (same body; issuer + KB "
                "signatures and digests only)",
            )
            records.append(
                Record(
                    f"http.verify.bare.c{concurrency}",
                    round(result.reference_median("rate"), 1),
                    "req/s",
                    "the bare endpoint (bench._bare_verify_app) itself at this concurrency; "
                    f"p50 {result.reference_median('p50_ms'):.2f} ms, p99 "
                    f"{result.reference_median('p99_ms'):.2f} ms; ratio = 1 by definition",
                    1.0,
                )
            )
            if concurrency == HEADLINE_CONCURRENCY:
                head = records[-4]
                records.append(
                    Record(
                        "http.verify.vs_bare",
                        head.value,
                        head.unit,
                        f"headline: http.verify.c{concurrency}; " + head.reference,
                        head.ratio,
                    )
                )
    finally:
        load.close()
        bare.stop()
    return records


AIMS: tuple[tuple[str, Callable[[float], bool], str], ...] = (
    ("http.verify.vs_bare", lambda r: r >= HTTP_AIM, ">= 0.7"),
)


def run(settings: Settings) -> list[Record]:
    tmp = Path(tempfile.mkdtemp(prefix="govid-bench-verifier-"))
    records: list[Record] = []
    try:
        start = time.perf_counter()
        with running_stack(tmp) as stack:
            credentials = issue_credentials(stack, 4)
            issuer = issuer_public_key(stack, credentials[0][1])
            print(
                f"stack up, {len(credentials)} credentials issued over OpenID4VCI in "
                f"{time.perf_counter() - start:.1f} s (issuer key {type(issuer).__name__})"
            )
            _wait_until_accepted(stack, credentials)
            holder, credential = credentials[0]
            records += _in_process(stack, holder, credential, issuer, settings)
            records += _http(stack, credentials, issuer, settings, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    by_name = {r.name: r for r in records}
    for name, ok, wording in AIMS:
        if name in by_name:
            ratio = by_name[name].ratio
            print(f"aim {name} {wording}: {ratio:.2f} {'met' if ok(ratio) else 'NOT met'}")
    return records


def _wait_until_accepted(stack: Stack, credentials: list[tuple[PrivateKey, str]]) -> None:
    """The status list publication must be on the ledger, cosigned, before anything is timed."""
    holder, credential = credentials[0]
    deadline = time.monotonic() + 90
    with httpx.Client(timeout=30) as http:
        bearer = {"Authorization": f"Bearer {counter_token(stack, http)}"}
        while True:
            nonce = f"probe-{time.monotonic_ns()}"
            presentation = present_sd_jwt(
                credential, disclose=DISCLOSE, holder_key=holder, aud=AUD, nonce=nonce, now=now()
            )
            body = {"presentation": presentation, "aud": AUD, "nonce": nonce}
            answer = http.post(stack.verifier_url + "/api/verify", json=body, headers=bearer).json()
            if answer.get("accepted"):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"presentations are still refused: {answer}")
            time.sleep(0.5)
