"""Every service answers /healthz, /readyz and /metrics; metrics carry no raw paths."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from registry import authoring
from registry.api.app import create_app
from registry.bootstrap import init_registry
from registry.config import RegistryConfig
from registry.witness.app import create_witness_app
from registry.witness.config import WitnessConfig, init_witness
from tests.servers import serve


def test_registry_metrics_count_requests_by_route_template(tmp_path: Path) -> None:
    info = init_registry(tmp_path / "reg")
    with serve(create_app(RegistryConfig(data_dir=tmp_path / "reg"))) as url:
        keyring, op = authoring.create_did(ledger=info["origin"])
        assert httpx.post(url + "/operations", json={"operation": op}).status_code == 201
        httpx.get(f"{url}/1.0/identifiers/{keyring.did}")
        assert httpx.get(url + "/healthz").status_code == 200
        assert httpx.get(url + "/readyz").status_code == 200
        text = httpx.get(url + "/metrics").text
    assert 'route="/operations"' in text and 'status="201"' in text
    assert 'route="/1.0/identifiers/{did}"' in text
    assert keyring.did not in text, "a raw path (with an identifier) leaked into the metrics"
    assert "govid_ledger_size 2.0" in text


def test_every_request_gets_one_access_log_line_without_identifiers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    info = init_registry(tmp_path / "reg")
    with caplog.at_level(logging.INFO, logger="govid.access"):
        with serve(create_app(RegistryConfig(data_dir=tmp_path / "reg"))) as url:
            keyring, op = authoring.create_did(ledger=info["origin"])
            assert httpx.post(url + "/operations", json={"operation": op}).status_code == 201
            httpx.get(f"{url}/1.0/identifiers/{keyring.did}?versionId=1")
            httpx.get(url + "/no-such-page")
    lines = [r.getMessage() for r in caplog.records if r.name == "govid.access"]
    assert len(lines) == 3, lines
    assert lines[0].startswith("registry POST /operations 201 ")
    assert lines[1].startswith("registry GET /1.0/identifiers/")
    assert lines[2].startswith("registry GET unmatched 404 ")
    assert not any(keyring.did in line or "versionId" in line for line in lines)


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_witness_answers_operations_endpoints(tmp_path: Path, path: str) -> None:
    init_witness(tmp_path / "w", name="w.example", logs=[])
    with serve(create_witness_app(WitnessConfig(data_dir=tmp_path / "w"))) as url:
        assert httpx.get(url + path).status_code == 200
