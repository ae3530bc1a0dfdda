"""`govid up`'s registry writer token (method spec §10.1): made once, secret, known by hash.

The stack's issuers write to the registry with it, so the registry's quota on
anonymous writes never holds them back. Checked against a real registry
started from the bootstrapped data directory, with a quota of one write.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from did.errors import GovidError
from govid.stack import Layout, _issuer_settings, bootstrap_ledger
from issuer.keys_at_rest import new_kek_text
from registry import authoring
from registry.api.app import create_app
from registry.client import RegistryClient
from registry.config import RegistryConfig
from registry.note import NoteVerifier
from registry.proofs import LedgerTrust
from tests.servers import serve


def test_the_stack_writer_token_lets_its_issuers_past_the_quota(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "data")
    ledger = bootstrap_ledger(layout)
    token_file = layout.data / "registry" / "writer.token"
    token = token_file.read_text().strip()
    assert token_file.stat().st_mode & 0o077 == 0
    config_text = (layout.data / "registry" / "registry.json").read_text()
    assert json.loads(config_text)["writers"] == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in config_text
    bootstrap_ledger(layout)  # a second run keeps the token
    assert token_file.read_text().strip() == token

    settings = _issuer_settings(layout, "civil", new_kek_text())
    write_token = settings.registry_write_token.get_secret_value()
    assert write_token == token

    config = RegistryConfig(data_dir=layout.data / "registry", write_quota=1)
    trust = LedgerTrust.unsafe_log_only(ledger["origin"], NoteVerifier.from_vkey(ledger["vkey"]))
    try:
        with serve(create_app(config)) as url:
            with RegistryClient(url, trust=trust, write_token=write_token) as issuer:
                for _ in range(3):
                    issuer.submit(authoring.create_did(ledger=ledger["origin"])[1])
            with RegistryClient(url, trust=trust) as anonymous:
                anonymous.submit(authoring.create_did(ledger=ledger["origin"])[1])
                with pytest.raises(GovidError) as refused:
                    anonymous.submit(authoring.create_did(ledger=ledger["origin"])[1])
            assert getattr(refused.value, "remote_code", None) == "ledger.write_quota_exceeded"
    finally:
        config.engine().dispose()
