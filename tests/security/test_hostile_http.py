"""Hostile HTTP against the running stack: schemathesis, NUL bytes, huge numbers, deep JSON, size.

One stack of real processes (registry, two witnesses, issuer, verifier) on
PostgreSQL in CI, with real data behind it (an agency, an issued credential,
a presentation session), is shared by this module. Every answer must be a
4xx or a success, never a 5xx, and every service must keep working after.
429 counts as a 4xx: the token and verification endpoints slow down clients
whose requests keep failing, and fuzzing fails a lot.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.security.conftest import stack_database
from tests.security.procstack import (
    Stack,
    citizen_claims,
    make_offer,
    receive,
    running_stack,
    wait_until,
)

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hostile_http")]

EXAMPLES = 15  # per operation and generation mode: bounded, for CI


@dataclass
class Hostile:
    stack: Stack
    agency_token: str
    counter_token: str
    offer_id: str
    fuzzed: collections.Counter[str]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hostile]:
    database = stack_database()
    url = next(database)
    with running_stack(tmp_path_factory.mktemp("hostile"), url) as stack:
        with httpx.Client(timeout=30) as http:
            agency = stack.agency_token(http)
            counter = stack.counter_token(http)
            offer = make_offer(stack, http, agency, citizen_claims(1)).json()
            receive(http, offer)
            pending = make_offer(stack, http, agency, citizen_claims(2)).json()
        yield Hostile(stack, agency, counter, pending["id"], collections.Counter())
        logs = stack.logs()
    database.close()
    for name, text in logs.items():
        assert "Traceback" not in text, f"{name} logged an unhandled error:\n{text[-4000:]}"


def _targets(h: Hostile) -> dict[str, tuple[str, dict[str, str]]]:
    s = h.stack
    return {
        "registry": (s.registry.url, {}),
        "witness": (s.witnesses[0].url, {}),
        "issuer": (s.issuer.url, {"Authorization": f"Bearer {h.agency_token}"}),
        "verifier": (s.verifier.url, {"Authorization": f"Bearer {h.counter_token}"}),
    }


def _operation_test(
    operation: Any, mode: GenerationMode, url: str, headers: dict[str, str], count: list[int]
) -> Any:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        count[0] += 1
        response = case.call(base_url=url, headers=headers, timeout=30)
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    return run


@pytest.mark.parametrize("service", ["registry", "witness", "issuer", "verifier"])
def test_schemathesis_finds_no_5xx_and_no_schema_violation(hostile: Hostile, service: str) -> None:
    url, headers = _targets(hostile)[service]
    schema = schemathesis.openapi.from_url(url + "/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # Err: an invalid schema fails here
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            count = [0]
            try:
                _operation_test(operation, mode, url, headers, count)()
            except BaseException as exc:
                if type(exc).__name__ == "Unsatisfiable":  # nothing negative to make
                    continue
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures.append(f"{operation.label} ({mode.value}): {str(exc)[:2000]}")
            hostile.fuzzed[service] += count[0]
    print(f"schemathesis {service}: {operations} operations, {hostile.fuzzed[service]} requests")
    assert operations > 0
    assert not failures, "\n\n".join(failures)


def _probes(h: Hostile) -> list[tuple[str, str, dict[str, Any]]]:
    s = h.stack
    agency = {"Authorization": f"Bearer {h.agency_token}"}
    counter = {"Authorization": f"Bearer {h.counter_token}"}
    nul_basic = {"Authorization": "Basic YQBiOmM="}  # "a\0b:c"
    form = {"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "b"}
    return [
        ("GET", s.registry.url + "/accreditations/did:govid:a%00b", {}),
        ("GET", s.registry.url + "/1.0/identifiers/did:govid:a%00b", {}),
        ("GET", s.registry.url + "/status-lists", {"params": {"uri": "x\x00y"}}),
        ("GET", s.registry.url + "/log/checkpoints", {"params": {"start": str(10**30)}}),
        ("GET", s.registry.url + "/log/entries", {"params": {"start": "0", "end": str(2**64)}}),
        ("GET", s.registry.url + "/log/proof/inclusion", {"params": {"index": 0, "size": 2**70}}),
        ("GET", s.issuer.url + "/credential-offers/a%00b", {}),
        ("GET", s.issuer.url + "/status/civil/" + str(2**64), {}),
        ("GET", s.issuer.url + "/status/civil/" + str(2**40), {}),
        ("GET", s.issuer.url + "/api/credentials", {"params": {"offer": "a\x00"},
                                                    "headers": agency}),
        ("GET", s.issuer.url + "/api/offers/a%00/qr.png", {"headers": agency}),
        ("POST", s.issuer.url + "/api/credentials/a%00/revoke", {"headers": agency}),
        ("GET", s.issuer.url + "/.well-known/openid-credential-issuer/agencies/a%00", {}),
        ("POST", s.issuer.url + "/token", {"data": form}),
        ("POST", s.issuer.url + "/token", {"data": {"grant_type": "client_credentials"},
                                           "headers": nul_basic}),
        ("GET", s.issuer.url + "/agency/credentials", {"params": {"subject": "x"},
                                                       "headers": nul_basic}),
        ("GET", s.verifier.url + "/api/presentation-requests/a%00", {"headers": counter}),
        ("GET", s.verifier.url + "/openid4vp/request/a%00", {}),
        ("POST", s.verifier.url + "/openid4vp/response", {"data": {"state": "a\x00",
                                                                   "vp_token": "{}"}}),
        ("POST", s.verifier.url + "/oauth/token", {"data": form}),
    ]  # fmt: skip


def test_nul_bytes_and_huge_numbers_are_4xx_everywhere(hostile: Hostile) -> None:
    """PostgreSQL refuses NUL in text and numbers beyond its columns: a 400, not a 500."""
    with httpx.Client(timeout=30) as http:
        for method, url, kwargs in _probes(hostile):
            response = http.request(method, url, **kwargs)
            assert 400 <= response.status_code < 500, (method, url, response.text)
            # The agency's web page answers as a page (a sign-in prompt); APIs in JSON.
            if response.status_code != 429 and "/agency" not in url:
                assert "error" in response.json() or "didResolutionMetadata" in response.json()
    hostile.fuzzed["probes"] += len(_probes(hostile))


def _json_endpoints(h: Hostile) -> list[tuple[str, dict[str, str]]]:
    s = h.stack
    agency = {"Authorization": f"Bearer {h.agency_token}"}
    counter = {"Authorization": f"Bearer {h.counter_token}"}
    return [
        (s.registry.url + "/operations", {}),
        (s.issuer.url + "/api/offers", agency),
        (s.issuer.url + "/credential", agency),
        (s.verifier.url + "/api/verify", counter),
        (s.verifier.url + "/api/presentation-requests", counter),
        (s.verifier.url + "/api/offline-challenges", counter),
    ]


@pytest.mark.parametrize("depth", [2_000, 100_000])
def test_deeply_nested_json_is_refused_and_changes_nothing(hostile: Hostile, depth: int) -> None:
    """The JSON depth limit is the parser's: deeper than ~1000 levels is a 400."""
    bodies = ["[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth]
    with httpx.Client(timeout=30) as http:
        size = http.get(hostile.stack.registry.url + "/readyz").json()["treeSize"]
        for url, headers in _json_endpoints(hostile):
            for body in bodies:
                response = http.post(
                    url, content=body, headers={**headers, "content-type": "application/json"}
                )
                # 429: this address failed too often at a limited endpoint already.
                assert response.status_code in (400, 413, 429), (url, response.text)
        assert http.get(hostile.stack.registry.url + "/readyz").json()["treeSize"] == size


def test_oversized_bodies_are_413_before_the_route_runs(hostile: Hostile) -> None:
    s = hostile.stack
    endpoints = [
        *_json_endpoints(hostile),
        (s.witnesses[0].url + "/add-checkpoint", {}),
        (s.issuer.url + "/token", {}),
        (s.verifier.url + "/openid4vp/response", {}),
    ]
    big = b"x" * (2 * 1024 * 1024)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        for _ in range(64):
            yield b"y" * 65536

    with httpx.Client(timeout=30) as http:
        for url, headers in endpoints:
            assert http.post(url, content=big, headers=headers).status_code in (413, 429), url
            # Cut off while streaming: 413, or 400 when the framework was already parsing.
            assert http.post(url, content=chunks(), headers=headers).status_code in (400, 413, 429)
        # And each still answers.
        assert http.get(s.registry.url + "/healthz").status_code == 200
        assert http.get(s.issuer.url + "/healthz").status_code == 200


_bodies = st.one_of(
    st.binary(max_size=600),
    st.text(max_size=300).map(str.encode),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
        max_leaves=12,
    ).map(lambda v: json.dumps(v).encode()),
)


def _raw_body_test(
    http: httpx.Client, url: str, content_type: str, fuzzed: collections.Counter[str]
) -> Any:
    @settings(max_examples=60, deadline=None, database=None, derandomize=True)
    @given(body=_bodies)
    def run(body: bytes) -> None:
        headers = {"content-type": content_type, "authorization": "Bearer x"}
        response = http.post(url, content=body, headers=headers)
        assert response.status_code < 500, (url, body, response.text)
        fuzzed["raw"] += 1

    return run


def test_raw_body_endpoints_survive_arbitrary_bodies(hostile: Hostile) -> None:
    """The endpoints schemathesis cannot describe (raw bodies): random bytes, text, JSON."""
    s = hostile.stack
    endpoints = [
        (s.witnesses[0].url + "/add-checkpoint", "text/plain"),
        (s.issuer.url + "/token", "application/x-www-form-urlencoded"),
        (s.issuer.url + "/credential", "application/json"),
        (s.issuer.url + "/nonce", "application/json"),
        (s.verifier.url + "/openid4vp/response", "application/x-www-form-urlencoded"),
        (s.registry.url + "/operations", "application/json"),
    ]
    with httpx.Client(timeout=30) as http:
        for url, content_type in endpoints:
            _raw_body_test(http, url, content_type, hostile.fuzzed)()


def test_every_service_still_works_after_the_abuse(hostile: Hostile) -> None:
    s = hostile.stack
    with httpx.Client(timeout=30) as http:
        auth = (s.agency["client_id"], s.agency["client_secret"])

        def token_answers() -> bool:  # fuzzing may have emptied this address's bucket
            form = {"grant_type": "client_credentials"}
            return http.post(s.issuer.url + "/token", data=form, auth=auth).status_code != 429

        wait_until(token_answers, what="the failure limit to refill")
        agency = s.agency_token(http)
        offer = make_offer(s, http, agency, citizen_claims(3))
        assert offer.status_code == 201, offer.text
        receive(http, offer.json())
        assert http.get(s.registry.url + "/checkpoint").status_code == 200
