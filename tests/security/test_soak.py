"""The short soak CI runs (`make soak` runs the long one): zero errors, flat memory."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.security.procstack import running_stack
from tools.soak import healthy, soak

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("GOVID_SOAK_SECONDS", "30"))


def test_short_soak_of_mixed_traffic(tmp_path: Path, stack_database_url: str | None) -> None:
    with running_stack(tmp_path / "stack", stack_database_url) as stack:
        report = soak(stack, duration=SECONDS, workers=4, warmup=SECONDS / 4)
        logs = stack.logs()
    print("soak report:", json.dumps(report, indent=2))
    (tmp_path / "soak.json").write_text(json.dumps(report, indent=2))
    assert not healthy(report), healthy(report)
    for name, text in logs.items():
        assert "Traceback" not in text, f"{name} logged an unhandled error"
