"""Fixtures the auditor's tests share (`test_audit.py`, `test_audit_http.py`)."""

from __future__ import annotations

import pytest

from registry.note import NoteSigner
from tests.registry.test_audit import ORIGIN, History, _history


@pytest.fixture(scope="module")
def history() -> History:
    """A realistic log: DIDs, accreditations, a rotation, status lists, a deactivation."""
    return _history()


@pytest.fixture(scope="module")
def log_signer() -> NoteSigner:
    return NoteSigner.generate(ORIGIN)
