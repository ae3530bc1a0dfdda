"""One settings loader for every service: explicit values, environment, file, defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from holder_wallet.settings import WalletSettings
from issuer.settings import IssuerSettings, load_settings
from registry.config import RegistryConfig
from registry.witness.config import WitnessConfig
from service.errors import SettingsInvalid
from service.settings import ServiceSettings
from verifier.settings import VerifierSettings

ALL = (RegistryConfig, WitnessConfig, IssuerSettings, VerifierSettings, WalletSettings)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_service_loads_through_the_one_base(cls: type[ServiceSettings]) -> None:
    assert issubclass(cls, ServiceSettings)
    prefix = cls.model_config.get("env_prefix")
    assert prefix and prefix.startswith("GOVID_") and prefix.endswith("_")
    assert cls.env_name("trusted_proxies") == f"{prefix}TRUSTED_PROXIES"


def test_explicit_values_beat_the_environment_which_beats_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "issuer.json").write_text(
        json.dumps({"offer_ttl": 600, "nonce_ttl": 120, "batch_size": 7, "origin": "ignored"})
    )
    monkeypatch.setenv("GOVID_ISSUER_NONCE_TTL", "90")
    monkeypatch.setenv("GOVID_ISSUER_BATCH_SIZE", "8")
    settings = load_settings(tmp_path, batch_size=9, public_url=None)
    assert settings.offer_ttl == 600  # the file
    assert settings.nonce_ttl == 90  # the environment over the file
    assert settings.batch_size == 9  # the program over both
    assert settings.public_url == "http://127.0.0.1:8500"  # None is "unset": the default
    assert settings.data_dir == tmp_path


def test_the_data_directory_may_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "registry.json").write_text(json.dumps({"origin": "o", "quorum": 2}))
    monkeypatch.setenv("GOVID_REGISTRY_DATA_DIR", str(tmp_path))
    assert RegistryConfig.load().quorum == 2
    monkeypatch.setenv("GOVID_REGISTRY_QUORUM", "1")
    assert RegistryConfig.load().required_cosignatures == 1


def test_secrets_are_never_read_from_the_file(tmp_path: Path) -> None:
    (tmp_path / "issuer.json").write_text(json.dumps({"kek": "A" * 43}))
    assert load_settings(tmp_path).kek is None


def test_verifier_file_paths_are_relative_to_its_directory(tmp_path: Path) -> None:
    (tmp_path / "verifier.json").write_text(
        json.dumps(
            {
                "registry_url": "http://127.0.0.1:9",
                "log_vkey": "x",
                "witness_vkeys": ["w"],
                "root_did": "did:govid:x",
                "keyring_file": "keyring.json",
            }
        )
    )
    settings = VerifierSettings.load(tmp_path)
    assert settings.keyring_file == tmp_path / "keyring.json"
    assert settings.database_url == f"sqlite:///{(tmp_path / 'verifier.db').resolve()}"


def test_wallet_reads_its_directory_default_and_its_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.delenv("GOVID_WALLET_DIR", raising=False)
    directory = tmp_path / "govid" / "wallet"
    directory.mkdir(parents=True)
    (directory / "config.json").write_text(json.dumps({"registry_url": "http://r", "quorum": 2}))
    settings = WalletSettings.load()
    assert (settings.dir, settings.registry_url, settings.quorum) == (directory, "http://r", 2)
    monkeypatch.setenv("GOVID_WALLET_QUORUM", "1")
    assert WalletSettings.load().quorum == 1


def test_bad_values_name_the_variable_and_never_echo_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVID_ISSUER_OFFER_TTL", "secret-looking-value")
    (tmp_path / "issuer.json").write_text(json.dumps({"registry_witness_vkeys": [1, "ok"]}))
    with pytest.raises(SettingsInvalid) as caught:
        load_settings(tmp_path)
    names = [name for name, _ in caught.value.problems]
    assert sorted(names) == ["GOVID_ISSUER_OFFER_TTL", "GOVID_ISSUER_REGISTRY_WITNESS_VKEYS[0]"]
    assert caught.value.code == "settings.invalid"
    assert "secret-looking-value" not in str(caught.value)


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", "\udcff"])
def test_a_broken_file_is_a_settings_error(tmp_path: Path, content: str) -> None:
    (tmp_path / "issuer.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(SettingsInvalid):
        load_settings(tmp_path)


@pytest.mark.parametrize(
    ("value", "ok"),
    [('["10.0.0.5", "10.1.0.0/16", "::1"]', True), ('["*"]', False), ('["proxy.local"]', False)],
)
def test_trusted_proxies_are_addresses_or_networks(
    value: str, ok: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("GOVID_WITNESS_TRUSTED_PROXIES", value)
    if ok:
        assert WitnessConfig.load(tmp_path).trusted_proxies == json.loads(value)
    else:
        with pytest.raises(SettingsInvalid, match="GOVID_WITNESS_TRUSTED_PROXIES"):
            WitnessConfig.load(tmp_path)
