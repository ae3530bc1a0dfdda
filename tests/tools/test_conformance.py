"""`make conformance`'s plumbing: the generated implementation files and the verdict.

The suite itself runs in `make conformance` (node and npm); these tests check
that the files it reads cover the cases the issue names, and that a failing,
empty or partial jest run is never reported as a pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools.conformance.__main__ import _report
from tools.conformance.generate import generate
from tools.conformance.suite import SuiteError, find_suite, lock_key, read_outcome


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    scratch = tmp_path_factory.mktemp("conformance")
    files = generate(scratch / "out", scratch)
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in files}


def test_every_method_has_its_three_files(generated: dict[str, dict[str, Any]]) -> None:
    for method in ("key", "jwk", "govid"):
        kinds = {name.split("-")[0] for name in generated if f"-{method}-govid" in name}
        assert kinds == {"did", "resolver", "dereferencer"}, method


def test_the_resolver_files_hold_every_outcome_the_issue_names(
    generated: dict[str, dict[str, Any]],
) -> None:
    client = generated["resolver-govid-govid-client.json"]
    outcomes = set(client["expectedOutcomes"])
    assert {"defaultOutcome", "deactivatedOutcome", "notFoundErrorOutcome"} <= outcomes
    assert "invalidDidErrorOutcome" in outcomes
    functions = {e["function"] for e in client["executions"]}
    assert functions == {"resolve", "resolveRepresentation"}
    versioned = [e for e in client["executions"] if "versionId" in e["input"]["resolutionOptions"]]
    assert versioned and any(
        e["output"]["didDocumentMetadata"].get("deactivated") for e in versioned
    )
    for execution in client["executions"]:
        if execution["function"] == "resolve":  # DID Core §7.1.2
            assert "contentType" not in execution["output"]["didResolutionMetadata"]
    http = generated["resolver-govid-govid-http.json"]
    assert set(http["expectedOutcomes"]) == outcomes


def test_the_dereferencer_files_cover_fragments_versions_and_services(
    generated: dict[str, dict[str, Any]],
) -> None:
    for name in ("dereferencer-govid-govid-client.json", "dereferencer-govid-govid-http.json"):
        urls = [e["input"]["didUrl"] for e in generated[name]["executions"]]
        assert any("#key-" in u and "?" not in u for u in urls)
        assert any("versionId=" in u and "#" in u for u in urls)
        assert any("versionTime=" in u for u in urls)
        assert any("relativeRef=" in u for u in urls)
        outcomes = set(generated[name]["expectedOutcomes"])
        assert {"defaultOutcome", "notFoundErrorOutcome", "invalidDidUrlErrorOutcome"} <= outcomes


def test_method_files_carry_no_numbers_in_metadata(generated: dict[str, dict[str, Any]]) -> None:
    def numbers(value: Any) -> bool:
        if isinstance(value, dict):
            return any(numbers(v) for v in value.values())
        if isinstance(value, list):
            return any(numbers(v) for v in value)
        return isinstance(value, int | float) and not isinstance(value, bool)

    method = generated["did-govid-govid.json"]
    for did in method["dids"]:
        for media_type in method["supportedContentTypes"]:
            meta = method[did][media_type]["didDocumentMetadata"]
            assert meta["ledgerProof"] and not numbers(meta)


def _jest_report(**counts: int) -> dict[str, Any]:
    title = "IMPLEMENTATION ::did:key::govid did:key (in-process resolver)::govid::"
    return {
        "numTotalTests": counts.get("total", 10),
        "numPassedTests": counts.get("passed", 10),
        "numFailedTests": counts.get("failed", 0),
        "numRuntimeErrorTestSuites": counts.get("broken", 0),
        "testResults": [
            {"assertionResults": [{"ancestorTitles": [title], "title": "t", "status": "passed"}]}
        ],
    }


def _file(tmp_path: Path, implementation: str) -> Path:
    path = tmp_path / "did-key-govid.json"
    path.write_text(json.dumps({"implementation": implementation}))
    return path


@pytest.mark.parametrize(
    ("report", "implementation", "status"),
    [
        (_jest_report(), "govid did:key (in-process resolver)", 0),
        (_jest_report(failed=1, passed=9), "govid did:key (in-process resolver)", 1),
        (_jest_report(broken=1), "govid did:key (in-process resolver)", 1),
        (_jest_report(total=0, passed=0), "govid did:key (in-process resolver)", 1),
        (_jest_report(), "a file jest never ran", 1),
    ],
    ids=["all-pass", "one-failure", "spec-not-run", "no-tests", "file-not-run"],
)
def test_the_verdict(
    tmp_path: Path, report: dict[str, Any], implementation: str, status: int
) -> None:
    assert _report(read_outcome(report), [_file(tmp_path, implementation)], 1.0) == status


def test_the_install_is_keyed_by_the_locks(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    (suite / "packages/did-core-test-server/node_modules/x").mkdir(parents=True)
    (suite / "package-lock.json").write_text("{}")
    (suite / "packages/did-core-test-server/package-lock.json").write_text("{}")
    key = lock_key(suite)
    (suite / "packages/did-core-test-server/node_modules/x/package-lock.json").write_text("1")
    assert lock_key(suite) == key  # installed packages do not count
    (suite / "packages/did-core-test-server/package-lock.json").write_text('{"a": 1}')
    assert lock_key(suite) != key


def test_the_suite_is_found_above_the_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GOVID_DID_TEST_SUITE", raising=False)
    suite = tmp_path / "shared/conformance/did-test-suite"
    (suite / "packages/did-core-test-server").mkdir(parents=True)
    repo = tmp_path / "wt" / "repo"
    repo.mkdir(parents=True)
    assert find_suite(repo) == suite
    monkeypatch.setenv("GOVID_DID_TEST_SUITE", str(tmp_path / "nowhere"))
    with pytest.raises(SuiteError):
        find_suite(repo)
