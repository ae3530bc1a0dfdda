"""Smoke test of the benchmark suite's pure parts: no timed assertion, no servers.

The real benchmarks run with `make bench`, never with `make test`. This
checks that the harness's arithmetic, the results merge, the report and the
plots work, and that a quick run of the memory suite writes records of the
contract shape `{"name", "value", "unit", "reference", "ratio"}`.
"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench import _bare_verify_app, report
from bench.__main__ import PREFIXES, SUITES, main
from bench._harness import Comparison, Record, Settings, compare, merge_results, worst
from bench._rounds import HttpRounds, Sample, interleave, raw_post
from bench.status_lists import entropy_bytes
from did.keys import generate_private_key, jwk_from_public_key
from did.sd_jwt import issue_sd_jwt_vc, present_sd_jwt

CONTRACT = (
    "sdjwt.verify.vs_floor",
    "sdjwt.verify.vs_reference",
    "sdjwt.issue.vs_floor",
    "http.verify.vs_bare",
    "registry.append_http_sqlite",
    "registry.proof_growth",
)


def _record(name: str, ratio: float = 1.0, value: float = 1.0) -> Record:
    return Record(name, value, "us/op", "test", ratio)


def test_compare_reports_medians_of_interleaved_rounds() -> None:
    calls: list[str] = []
    result = compare(lambda: calls.append("a"), lambda: calls.append("b"), Settings(3, 0.001))
    assert result.rounds == 3
    assert result.subject_s > 0 and result.reference_s > 0 and result.ratio > 0
    assert result.spread >= 0
    assert {"a", "b"} <= set(calls)


def test_record_inversion_and_worst() -> None:
    comparison = Comparison(subject_s=2e-6, reference_s=1e-6, ratio=2.0, spread=0.1, rounds=5)
    assert comparison.record("x", "ref").ratio == 2.0
    assert comparison.record("x", "ref", invert=True).ratio == 0.5
    assert comparison.record("x", "ref").value == 2.0  # µs/op
    group = [_record("a", 1.5), _record("b", 3.0)]
    assert worst(group, "w", "n", higher_is_worse=True).ratio == 3.0
    assert worst(group, "w", "n", higher_is_worse=False).ratio == 1.5


def test_merge_replaces_same_names_and_keeps_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "latest.json"
    merge_results([_record("a", 1.0), _record("b", 1.0)], path)
    merged = merge_results([_record("b", 2.0), _record("c", 3.0)], path)
    assert {r["name"]: r["ratio"] for r in merged} == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert json.loads(path.read_text()) == merged
    merged = merge_results([_record("x.new")], path, replace_prefixes=["x."])
    merged = merge_results([_record("x.c1")], path, replace_prefixes=["x."])
    assert [r["name"] for r in merged] == ["a", "b", "c", "x.c1"]
    path.write_text("not json")
    assert [r["name"] for r in merge_results([_record("d")], path)] == ["d"]


def test_http_rounds_take_medians_of_per_round_ratios() -> None:
    rates = iter([100.0, 200.0, 50.0, 100.0, 100.0, 100.0])  # subject, reference by round

    def sample(_: int) -> Sample:
        return Sample(next(rates), 10.0, 20.0, 1, 1)

    rounds: HttpRounds = interleave(3, sample, sample)
    # Round 1 is B A: its reference was sampled first.
    assert [s.rate for s in rounds.subject] == [100.0, 100.0, 100.0]
    assert [s.rate for s in rounds.reference] == [200.0, 50.0, 100.0]
    assert rounds.ratio() == 1.0
    assert rounds.ratio(scale=4) == 4.0
    names = [r.name for r in rounds.records("x", unit="req/s", what="w", reference="r")]
    assert names == ["x", "x.p50", "x.p99"]
    request = raw_post("/api/verify", {"a": "é"})
    assert request.endswith('{"a": "\\u00e9"}')
    assert "content-length: 15\r\n" in request


def test_every_suite_owns_its_record_prefixes() -> None:
    assert set(PREFIXES) == set(SUITES)


def test_entropy_bound() -> None:
    assert entropy_bytes(8, 0.5) == 1.0
    assert entropy_bytes(1000, 0.0) == 0.0
    assert math.isclose(entropy_bytes(8_000_000, 0.01), 8_000_000 * 0.0807931 / 8, rel_tol=1e-5)


def test_bare_verify_endpoint_accepts_what_govid_issues(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    issuer, holder = generate_private_key("EdDSA"), generate_private_key("ES256")
    now = datetime.now(UTC)
    issued = issue_sd_jwt_vc(
        {"given_name": "Mai", "family_name": "Nguyen", "birthdate": "1990-02-03"},
        issuer_key=issuer,
        iss="did:govid:x",
        vct="https://govid.example/vct/civil-identity",
        iat=now,
        exp=now + timedelta(days=1),
        holder_key=holder.public_key(),
        disclosable=[("given_name",), ("family_name",), ("birthdate",)],
    )
    presentation = present_sd_jwt(
        str(issued), disclose=[("given_name",)], holder_key=holder, aud="a", nonce="n", now=now
    )
    monkeypatch.setenv(
        "GOVID_BENCH_ISSUER_JWK", json.dumps(jwk_from_public_key(issuer.public_key()))
    )
    _bare_verify_app._issuer.cache_clear()
    body = {"presentation": presentation, "aud": "a", "nonce": "n"}

    async def post(payload: dict[str, str]) -> httpx.Response:
        transport = httpx.ASGITransport(app=_bare_verify_app.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bare") as client:
            return await client.post("/api/verify", json=payload)

    try:
        answer = asyncio.run(post(body))
        assert answer.status_code == 200
        assert answer.json()["claims"] == {"given_name": "Mai"}
        assert asyncio.run(post({**body, "nonce": "other"})).status_code == 422
    finally:
        _bare_verify_app._issuer.cache_clear()


def test_report_names_every_aim_and_record(tmp_path: Path) -> None:
    records: list[dict[str, Any]] = [
        {"name": n, "value": 2000.0, "unit": "u", "reference": "at 10000000 leaves", "ratio": 1.0}
        for n in CONTRACT
    ]
    doc = tmp_path / "PERFORMANCE.md"
    report.write(records, {"cpu": "test cpu", "cores": 2}, doc, {"ratios": True})
    text = doc.read_text()
    for name in CONTRACT:
        assert f"`{name}`" in text
    assert "test cpu" in text and "perf/ratios.png" in text
    met = {aim.wording: ok for aim, _, ok in report.verdicts(records)}
    assert met["At least 1,500 durable appends/s over HTTP on SQLite"]
    assert met["HTTP verification at least 70 % of the bare endpoint's requests/s"]
    assert not met["SD-JWT VC verification at least 2.5x faster than the reference `sd-jwt`"]


def test_quick_memory_suite_writes_contract_records_and_docs(tmp_path: Path) -> None:
    output = tmp_path / "results" / "latest.json"
    merge_results([_record(n) for n in CONTRACT], output)  # as if other suites had run
    assert (
        main(["--quick", "--suite", "memory", "--output", str(output), "--docs", str(tmp_path)])
        == 0
    )
    records = json.loads(output.read_text())
    names = {r["name"] for r in records}
    assert set(CONTRACT) <= names and "memory.status_list.per_million" in names
    for record in records:
        assert set(record) == {"name", "value", "unit", "reference", "ratio"}
        assert isinstance(record["name"], str) and isinstance(record["unit"], str)
        assert isinstance(record["reference"], str) and record["reference"]
        assert isinstance(record["value"], int | float) and isinstance(record["ratio"], int | float)
    assert json.loads((output.parent / "machine.json").read_text())["quick"] is True
    assert (tmp_path / "PERFORMANCE.md").is_file()
    assert (tmp_path / "perf" / "ratios.png").stat().st_size > 0
