"""`govid up`: the whole stack under one data directory (and compose's bootstrap).

Serving it (binding the ports, starting and stopping the servers) is
`govid/stack_serving.py`. Ports, from `--port-base` N: registry N, witnesses
N+1 and N+2, issuers of the civil, medical and social agencies N+3..N+5,
verifier N+6, wallet N+7.

The first run bootstraps, in this order (each step is skipped when its files
exist, so a second run reuses everything):

1. the registry (log key, root authority) and two witnesses that follow it,
   the registry requiring both cosignatures;
2. with the registry and witnesses serving: one issuer per agency, each with
   its DID on the ledger, accredited by the root for its credential types,
   and an OAuth client for the agency's systems;
3. the counter's verifier DID, accredited as a verifier, its OAuth client, and
   one account that signs in to the counter page (`COUNTER_USER`).

Every service's configuration is written into its own directory
(`registry/registry.json`, `issuer-civil/issuer.json`, `verifier/verifier.json`,
...), so the same directory can be served by `govid up` or, one service per
container, by `compose.yaml` (`govid up --init-only --naming compose`). Only
URLs differ between the two, and they are rewritten at every start. The
credential type URLs (`vct`) are fixed at the first bootstrap: accreditations
on the ledger name them.

Secrets of this development stack (the issuers' key-encryption key, the
OAuth client secrets, the counter page's password) are kept in `DIR/secrets.json` and repeated in
`DIR/stack.json`, both mode 0600; a deployment takes them from its secret
store instead (docs/operations.md). `DIR` and every service directory in it
are 0700, the databases of the issuers, the verifier and the wallet 0600
(`service.private_files`).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from govid._io import write_secret
from registry import authoring
from registry.api.app import create_app as create_registry_app
from registry.authoring import Keyring
from registry.bootstrap import init_registry
from registry.client import RegistryClient
from registry.config import RegistryConfig
from registry.trust import trust_from_options
from registry.witness.app import create_witness_app
from registry.witness.config import WitnessConfig, init_witness
from service.oauth import hash_client_secret
from service.private_files import private_dir

WITNESSES = ("witness-1.govid.example", "witness-2.govid.example")
AGENCIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "civil": (
        "Civil Affairs Agency",
        ("civil_identity", "birth_certificate", "marriage_certificate", "residence_permit"),
    ),
    "medical": (
        "Health Insurance Agency",
        ("medical_insurance_card", "vaccination_record", "disability_status"),
    ),
    "social": ("Social Security Agency", ("social_security_card", "benefit_eligibility")),
}
COUNTER_CLIENT = "counter"
COUNTER_USER = "counter"
YEAR = 365 * 86400


SERVICES = (
    "registry",
    "witness-1",
    "witness-2",
    *(f"issuer-{slug}" for slug in AGENCIES),
    "verifier",
    "wallet",
)


@dataclass(frozen=True, slots=True)
class Layout:
    """Where each service listens and by which URL the others reach it."""

    data: Path
    host: str = "127.0.0.1"
    port_base: int = 8400
    naming: str = "local"  # "local": http://HOST:PORT; "compose": http://SERVICE:PORT
    # Ports the listening sockets were actually bound to (with --port-base 0,
    # the kernel's choice); a service missing here takes port_base + its rank.
    bound: Mapping[str, int] = field(default_factory=dict)

    def port(self, service: str) -> int:
        if service in self.bound:
            return self.bound[service]
        return self.port_base + SERVICES.index(service)

    def url(self, service: str) -> str:
        host = service if self.naming == "compose" else self.host
        return f"http://{host}:{self.port(service)}"

    def local_url(self, service: str) -> str:
        return f"http://{self.host}:{self.port(service)}"


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    app: Any
    port: int
    trusted_proxies: tuple[str, ...] = ()  # from the service's settings (service.serving)


def _read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _write(path: Path, value: dict[str, Any]) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


# --- step 1: registry and witnesses -----------------------------------------------


def bootstrap_ledger(layout: Layout) -> dict[str, Any]:
    """Create the registry and its witnesses unless they exist; point them at `layout`."""
    data = layout.data
    path = data / "registry" / "registry.json"
    if not path.exists():
        info = init_registry(private_dir(data / "registry"))
        witnesses = []
        for name in WITNESSES:
            log = {"origin": info["origin"], "vkey": info["vkey"]}
            private_dir(data / name)
            witnesses.append(
                {"name": name, "url": "", "vkey": init_witness(data / name, name=name, logs=[log])}
            )
        config = _read(path)
        config["witnesses"], config["quorum"] = witnesses, len(witnesses)
        _write(path, config)
    config = _read(path)
    for i, witness in enumerate(config["witnesses"]):
        witness["url"] = layout.url(f"witness-{i + 1}")
    # The issuers write with a writer token, so the registry's quota on
    # anonymous writes never holds the stack's own services back (§10.1).
    token = _writer_token(data)
    config["writers"] = [hashlib.sha256(token.encode()).hexdigest()]
    _write(path, config)
    config["vkey"] = (data / "registry" / "log.vkey").read_text(encoding="ascii").strip()
    return config


def ledger_keys(data: Path) -> dict[str, Any]:
    """The log's verifier key, the witnesses' keys and the quorum the registry requires."""
    config = _read(data / "registry" / "registry.json")
    return {
        "log_vkey": (data / "registry" / "log.vkey").read_text(encoding="ascii").strip(),
        "witness_vkeys": [w["vkey"] for w in config["witnesses"]],
        "quorum": config["quorum"],
    }


def ledger_services(layout: Layout) -> list[Service]:
    data = layout.data
    registry = RegistryConfig.load(data / "registry")
    out = [
        Service(
            "registry",
            create_registry_app(registry),
            layout.port("registry"),
            tuple(registry.trusted_proxies),
        )
    ]
    for i, name in enumerate(WITNESSES):
        witness = WitnessConfig.load(data / name)
        port = layout.port(f"witness-{i + 1}")
        app = create_witness_app(witness)
        out.append(Service(f"witness-{i + 1}", app, port, tuple(witness.trusted_proxies)))
    return out


# --- steps 2 and 3: agencies and the counter --------------------------------------


def _load_secrets(data: Path) -> dict[str, Any]:
    """The stack's secrets. A KEK in GOVID_ISSUER_KEK (compose) is used, never stored."""
    path = data / "secrets.json"
    values: dict[str, Any]
    if path.exists():
        values = _read(path)
    else:
        from issuer.keys_at_rest import new_kek_text

        kek = None if os.environ.get("GOVID_ISSUER_KEK") else new_kek_text()
        values = {"issuer_kek": kek, "issuers": {}, "counter": None}
        write_secret(path, json.dumps(values, indent=2) + "\n")
    if os.environ.get("GOVID_ISSUER_KEK"):
        values["issuer_kek"] = os.environ["GOVID_ISSUER_KEK"]
    return values


def _save_secrets(data: Path, values: dict[str, Any]) -> None:
    stored = dict(values)
    if os.environ.get("GOVID_ISSUER_KEK"):
        stored["issuer_kek"] = None  # it lives in the deployment's secret store
    write_secret(data / "secrets.json", json.dumps(stored, indent=2) + "\n")


def _root(data: Path) -> Keyring:
    return Keyring.from_json(_read(data / "registry" / "root-keys.json"))


def _save_root(data: Path, root: Keyring) -> None:
    write_secret(data / "registry" / "root-keys.json", root.dumps() + "\n")


def _trust_fields(layout: Layout, ledger: dict[str, Any]) -> dict[str, Any]:
    return {
        "registry_url": layout.url("registry"),
        "registry_log_vkey": ledger["vkey"],
        "registry_witness_vkeys": [w["vkey"] for w in ledger["witnesses"]],
        "registry_quorum": ledger["quorum"],
    }


def write_service_configs(layout: Layout, ledger: dict[str, Any]) -> dict[str, Any]:
    """Write issuer.json and verifier.json with `layout`'s URLs; keep the fixed vct base."""
    data = layout.data
    first = data / "issuer-civil" / "issuer.json"
    vct_base = _read(first)["vct_base"] if first.exists() else layout.url("issuer-civil")
    for slug in AGENCIES:
        directory = private_dir(data / f"issuer-{slug}")
        config = _read(directory / "issuer.json") if (directory / "issuer.json").exists() else {}
        # compose gives each agency's issuer its own database (docs/configuration.md).
        if url := os.environ.get(f"GOVID_STACK_ISSUER_{slug.upper()}_DATABASE_URL"):
            config["database_url"] = url
        config.update(
            public_url=layout.url(f"issuer-{slug}"),
            vct_base=vct_base,
            default_agency=slug,
            publish_interval=5.0,
            **_trust_fields(layout, ledger),
        )
        _write(directory / "issuer.json", config)
    directory = private_dir(data / "verifier")
    verifier = _read(directory / "verifier.json") if (directory / "verifier.json").exists() else {}
    verifier.update(
        registry_url=layout.url("registry"),
        log_vkey=ledger["vkey"],
        witness_vkeys=[w["vkey"] for w in ledger["witnesses"]],
        quorum=ledger["quorum"],
        root_did=ledger["rootDid"],
        keyring_file="counter-keys.json",
        public_url=layout.url("verifier"),
        vct_base=vct_base,
    )
    # A development stack shows revocations within seconds (a deployment
    # weighs freshness against load: docs/operations.md).
    verifier.setdefault("cache_fresh_seconds", 2)
    _write(directory / "verifier.json", verifier)
    return {"vct_base": vct_base}


def _writer_token(data: Path) -> str:
    """The stack's registry writer token (a secret, mode 0600), made on first use."""
    path = data / "registry" / "writer.token"
    if not path.exists():
        write_secret(path, secrets.token_urlsafe(32) + "\n")
    return path.read_text(encoding="ascii").strip()


def _issuer_settings(layout: Layout, slug: str, kek: str, **overrides: Any) -> Any:
    from issuer.settings import load_settings

    overrides.setdefault("registry_write_token", _writer_token(layout.data))
    return load_settings(layout.data / f"issuer-{slug}", kek=kek, **overrides)


def _wait_until_provable(client: RegistryClient, did: str) -> None:
    """Wait until the DID's creation is covered by a cosigned checkpoint."""
    deadline = time.monotonic() + 60
    while True:
        try:
            client.resolve(did)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def bootstrap_agencies(layout: Layout, ledger: dict[str, Any]) -> dict[str, Any]:
    """Create missing agencies and the counter on the running ledger; return the secrets.

    Talks to the registry on this machine (`local_url`), whatever the naming.
    """
    from issuer.agencies import create_agency
    from issuer.api.app import build_context
    from issuer.credential_types import credential_type, vct_for
    from issuer.migrations import upgrade as upgrade_issuer

    data = layout.data
    values = _load_secrets(data)
    vct_base = write_service_configs(layout, ledger)["vct_base"]
    registry_url = layout.local_url("registry")
    trust = trust_from_options(
        registry_url,
        log_vkey=ledger["vkey"],
        witness_vkeys=[w["vkey"] for w in ledger["witnesses"]],
        quorum=ledger["quorum"],
    )
    now = int(time.time())
    with RegistryClient(registry_url, trust=trust) as client:
        for slug, (name, types) in AGENCIES.items():
            if slug in values["issuers"]:
                continue
            settings = _issuer_settings(
                layout, slug, values["issuer_kek"], registry_url=registry_url
            )
            ctx = build_context(settings)
            upgrade_issuer(ctx.engine)
            made = create_agency(ctx, slug=slug, name=name, type_ids=list(types))
            ctx.engine.dispose()
            _wait_until_provable(client, made["did"])
            root, op = authoring.grant(
                _root(data),
                subject=made["did"],
                role="issuer",
                credential_types=[vct_for(credential_type(t), vct_base) for t in types],
                valid_from=now - 60,
                valid_until=now + YEAR,
            )
            client.submit(op)
            _save_root(data, root)
            values["issuers"][slug] = {
                "did": made["did"],
                "client_id": made["client_id"],
                "client_secret": made["client_secret"],
            }
            _save_secrets(data, values)
        if values.get("counter") is None:
            keyring, op = authoring.create_did(ledger=ledger["origin"])
            write_secret(data / "verifier" / "counter-keys.json", keyring.dumps() + "\n")
            client.submit(op)
            _wait_until_provable(client, keyring.did)
            vcts = [
                vct_for(credential_type(t), vct_base)
                for _, types in AGENCIES.values()
                for t in types
            ]
            root, grant = authoring.grant(
                _root(data),
                subject=keyring.did,
                role="verifier",
                credential_types=vcts,
                valid_from=now - 60,
                valid_until=now + YEAR,
            )
            client.submit(grant)
            _save_root(data, root)
            values["counter"] = {
                "did": keyring.did,
                "client_id": COUNTER_CLIENT,
                "client_secret": secrets.token_urlsafe(24),
            }
            _save_secrets(data, values)
    # The verifier checks counters' secrets by hash; the hash is not a secret.
    counter = values["counter"]
    verifier_config = _read(data / "verifier" / "verifier.json")
    verifier_config["clients"] = {
        counter["client_id"]: hash_client_secret(counter["client_secret"])
    }
    _write(data / "verifier" / "verifier.json", verifier_config)
    return values


def bootstrap_counter_login(layout: Layout, values: dict[str, Any]) -> None:
    """One account for the counter page; its password is a stack secret.

    GOVID_COUNTER_PASSWORD chooses it (as for `govid verifier counter-user add`).
    """
    if values.get("counter_login") is not None:
        return
    from verifier.accounts import CounterAccounts
    from verifier.migrations import upgrade
    from verifier.settings import database_engine

    engine = database_engine(layout.data / "verifier")
    try:
        upgrade(engine)
        password = os.environ.get("GOVID_COUNTER_PASSWORD") or secrets.token_urlsafe(18)
        accounts = CounterAccounts(engine, clock=lambda: datetime.now(UTC))
        accounts.add_user(COUNTER_USER, password)
    finally:
        engine.dispose()
    values["counter_login"] = {"username": COUNTER_USER, "password": password}
    _save_secrets(layout.data, values)


def bootstrap_wallet(layout: Layout, ledger: dict[str, Any], values: dict[str, Any]) -> None:
    """A demo citizen wallet pinned to this ledger; its passphrase is a stack secret."""
    from holder_wallet.settings import CONFIG_FILE, WalletSettings
    from holder_wallet.wallet import Wallet

    directory = layout.data / "wallet"
    settings = WalletSettings(
        dir=directory,
        registry_url=layout.url("registry"),
        log_vkey=ledger["vkey"],
        witness_vkeys=[w["vkey"] for w in ledger["witnesses"]],
        quorum=ledger["quorum"],
        # The development stack serves its issuers and verifier over loopback http.
        allow_loopback_http=True,
    )
    if not (directory / CONFIG_FILE).exists():
        private_dir(directory)
        passphrase = os.environ.get("GOVID_WALLET_PASSPHRASE") or secrets.token_urlsafe(12)
        with Wallet(settings) as wallet:
            wallet.init(passphrase)
        values["wallet"] = {"passphrase": passphrase}
        _save_secrets(layout.data, values)
    settings.save_trust()  # the registry's URL follows the layout


def service_apps(layout: Layout, values: dict[str, Any]) -> list[Service]:
    from issuer.api.app import build_context
    from issuer.api.app import create_app as create_issuer_app
    from verifier.api.app import create_app as create_verifier_app
    from verifier.settings import build_context as verifier_context
    from verifier.settings import load_settings as verifier_settings

    out = []
    for slug in AGENCIES:
        settings = _issuer_settings(layout, slug, values["issuer_kek"])
        app = create_issuer_app(build_context(settings))
        port = layout.port(f"issuer-{slug}")
        out.append(Service(f"issuer-{slug}", app, port, tuple(settings.trusted_proxies)))
    counter = verifier_settings(layout.data / "verifier")
    app = create_verifier_app(verifier_context(counter))
    port = layout.port("verifier")
    out.append(Service("verifier", app, port, tuple(counter.trusted_proxies)))
    from holder_wallet.api.app import create_app as create_wallet_app
    from holder_wallet.settings import WalletSettings
    from holder_wallet.wallet import Wallet

    wallet_settings = WalletSettings.load(layout.data / "wallet")
    wallet = Wallet(wallet_settings)
    out.append(
        Service(
            "wallet",
            create_wallet_app(wallet),
            layout.port("wallet"),
            tuple(wallet_settings.trusted_proxies),
        )
    )
    return out


def stack_description(
    layout: Layout, services: list[Service], values: dict[str, Any]
) -> dict[str, Any]:
    names = {s.name for s in services}
    issuers = {
        slug: {"url": layout.url(f"issuer-{slug}"), **values["issuers"][slug]} for slug in AGENCIES
    }
    pages = {
        "wallet": layout.url("wallet") if "wallet" in names else None,
        "counter": layout.url("verifier") + "/",
        **{f"agency-{slug}": layout.url(f"issuer-{slug}") + "/agency" for slug in AGENCIES},
    }
    return {
        "registry": layout.url("registry"),
        # What an auditor or a client pins instead of trusting the registry:
        # `govid registry audit --stack stack.json` reads these.
        "ledger": ledger_keys(layout.data),
        "witnesses": [layout.url("witness-1"), layout.url("witness-2")],
        "verifier": layout.url("verifier"),
        "wallet": layout.url("wallet") if "wallet" in names else None,
        "issuers": issuers,
        "counter": dict(values["counter"]),
        "counter_login": dict(values.get("counter_login") or {}),
        "wallet_passphrase": (values.get("wallet") or {}).get("passphrase"),
        "pages": pages,
        "docs": {s.name: layout.url(s.name) + "/docs" for s in services if s.name != "wallet"},
    }


__all__ = [
    "AGENCIES",
    "SERVICES",
    "Layout",
    "Service",
    "bootstrap_agencies",
    "bootstrap_counter_login",
    "bootstrap_ledger",
    "bootstrap_wallet",
    "ledger_keys",
    "ledger_services",
    "service_apps",
    "stack_description",
    "write_service_configs",
]
