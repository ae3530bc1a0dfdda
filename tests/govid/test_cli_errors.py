"""Errors and logs of the `govid` command: named once, never echoing values."""

from __future__ import annotations

import json

from tests.processes import govid


def test_bad_settings_name_the_variable_not_its_value() -> None:
    result = govid(
        "verifier", "serve", "--port", "1",
        env={"GOVID_VERIFIER_SKEW_SECONDS": "secret-looking-value"},
        check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "error: settings.invalid: GOVID_VERIFIER_SKEW_SECONDS" in result.stderr
    assert "error: settings.invalid: GOVID_VERIFIER_REGISTRY_URL" in result.stderr
    assert "secret-looking-value" not in result.stderr
    assert "Traceback" not in result.stderr


def test_log_lines_are_json() -> None:
    # Unreachable registry: the trust-on-first-use warning is logged first.
    result = govid(
        "did", "resolve", "did:govid:abc", "--registry", "http://127.0.0.1:9", check=False
    )
    logged = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert logged and all({"time", "level", "logger", "message"} <= set(e) for e in logged)
    assert result.returncode == 1
