"""`govid up`: the whole stack in one process, on SQLite under one data directory.

Ports, from `--port-base` N: registry N, witnesses N+1 and N+2, issuers of
the civil, medical and social agencies N+3..N+5, verifier N+6, wallet N+7.

The first run bootstraps, in this order (each step is skipped when its files
exist, so a second run reuses everything):

1. the registry (log key, root authority) and two witnesses that follow it,
   the registry requiring both cosignatures;
2. with the registry and witnesses serving: one issuer per agency, each with
   its DID on the ledger, accredited by the root for its credential types,
   and an OAuth client for the agency's systems;
3. the counter's verifier DID, accredited as a verifier, and its OAuth client.

Secrets for this development stack (the issuers' key-encryption key, the
OAuth client secrets) are kept in `DIR/secrets.json` (mode 0600) and repeated
in `DIR/stack.json` (mode 0600) so scripts can drive the stack; a deployment
takes them from its secret store instead (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

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
YEAR = 365 * 86400


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    app: Any
    port: int

    def url(self, host: str) -> str:
        return f"http://{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Ports:
    base: int

    @property
    def registry(self) -> int:
        return self.base

    def witness(self, i: int) -> int:
        return self.base + 1 + i

    def issuer(self, slug: str) -> int:
        return self.base + 3 + list(AGENCIES).index(slug)

    @property
    def verifier(self) -> int:
        return self.base + 6

    @property
    def wallet(self) -> int:
        return self.base + 7


# --- step 1: registry and witnesses ------------------------------------------------


def bootstrap_ledger(data: Path, *, host: str, ports: Ports) -> dict[str, Any]:
    """Create the registry and its witnesses under `data` unless they exist."""
    registry_dir = data / "registry"
    path = registry_dir / "registry.json"
    if not path.exists():
        info = init_registry(registry_dir)
        witnesses = []
        for name in WITNESSES:
            log = {"origin": info["origin"], "vkey": info["vkey"]}
            vkey = init_witness(data / name, name=name, logs=[log])
            witnesses.append({"name": name, "url": "", "vkey": vkey})
        config = json.loads(path.read_text(encoding="utf-8"))
        config["witnesses"], config["quorum"] = witnesses, len(witnesses)
        path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    config = json.loads(path.read_text(encoding="utf-8"))
    # A second run may use other ports: keep the witness URLs in step.
    for i, witness in enumerate(config["witnesses"]):
        witness["url"] = f"http://{host}:{ports.witness(i)}"
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    config["vkey"] = (registry_dir / "log.vkey").read_text(encoding="ascii").strip()
    return dict(config)


def ledger_services(data: Path, *, ports: Ports) -> list[Service]:
    out = [
        Service(
            "registry",
            create_registry_app(RegistryConfig(data_dir=data / "registry")),
            ports.registry,
        )
    ]
    for i, name in enumerate(WITNESSES):
        out.append(
            Service(name, create_witness_app(WitnessConfig(data_dir=data / name)), ports.witness(i))
        )
    return out


# --- steps 2 and 3: agencies and the counter --------------------------------------


def _load_secrets(data: Path) -> dict[str, Any]:
    path = data / "secrets.json"
    if path.exists():
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded
    from issuer.keys_at_rest import new_kek_text

    fresh = {"issuer_kek": new_kek_text(), "issuers": {}, "counter": None}
    write_secret(path, json.dumps(fresh, indent=2) + "\n")
    return fresh


def _save_secrets(data: Path, values: dict[str, Any]) -> None:
    write_secret(data / "secrets.json", json.dumps(values, indent=2) + "\n")


def _root(data: Path) -> Keyring:
    return Keyring.from_json(json.loads((data / "registry" / "root-keys.json").read_text()))


def _save_root(data: Path, root: Keyring) -> None:
    write_secret(data / "registry" / "root-keys.json", root.dumps() + "\n")


def _client(ledger: dict[str, Any], registry_url: str) -> RegistryClient:
    trust = trust_from_options(
        registry_url,
        log_vkey=ledger["vkey"],
        witness_vkeys=[w["vkey"] for w in ledger["witnesses"]],
        quorum=ledger["quorum"],
    )
    return RegistryClient(registry_url, trust=trust)


def _issuer_settings(
    data: Path, slug: str, *, host: str, ports: Ports, ledger: dict[str, Any], kek: str
) -> Any:
    from issuer.settings import load_settings

    registry_url = f"http://{host}:{ports.registry}"
    return load_settings(
        data / f"issuer-{slug}",
        public_url=f"http://{host}:{ports.issuer(slug)}",
        vct_base=f"http://{host}:{ports.issuer('civil')}",
        registry_url=registry_url,
        registry_log_vkey=ledger["vkey"],
        registry_witness_vkeys=[w["vkey"] for w in ledger["witnesses"]],
        registry_quorum=ledger["quorum"],
        kek=kek,
        default_agency=slug,
        publish_interval=5.0,
    )


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


def bootstrap_agencies(
    data: Path, *, host: str, ports: Ports, ledger: dict[str, Any]
) -> dict[str, Any]:
    """Create missing agencies and the counter on the running registry; return secrets."""
    from issuer.agencies import create_agency
    from issuer.api.app import build_context
    from issuer.credential_types import credential_type, vct_for
    from issuer.migrations import upgrade as upgrade_issuer

    values = _load_secrets(data)
    registry_url = f"http://{host}:{ports.registry}"
    with _client(ledger, registry_url) as client:
        for slug, (name, types) in AGENCIES.items():
            if slug in values["issuers"]:
                continue
            settings = _issuer_settings(
                data, slug, host=host, ports=ports, ledger=ledger, kek=values["issuer_kek"]
            )
            (data / f"issuer-{slug}").mkdir(parents=True, exist_ok=True)
            ctx = build_context(settings)
            upgrade_issuer(ctx.engine)
            made = create_agency(ctx, slug=slug, name=name, type_ids=list(types))
            ctx.engine.dispose()
            _wait_until_provable(client, made["did"])
            vcts = [vct_for(credential_type(t), settings.vct_root) for t in types]
            root, op = authoring.grant(
                _root(data),
                subject=made["did"],
                role="issuer",
                credential_types=vcts,
                valid_from=int(time.time()) - 60,
                valid_until=int(time.time()) + YEAR,
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
            (data / "verifier").mkdir(parents=True, exist_ok=True)
            write_secret(data / "verifier" / "counter-keys.json", keyring.dumps() + "\n")
            client.submit(op)
            _wait_until_provable(client, keyring.did)
            all_vcts = [
                vct_for(credential_type(t), f"http://{host}:{ports.issuer('civil')}")
                for _, types in AGENCIES.values()
                for t in types
            ]
            root, grant = authoring.grant(
                _root(data),
                subject=keyring.did,
                role="verifier",
                credential_types=all_vcts,
                valid_from=int(time.time()) - 60,
                valid_until=int(time.time()) + YEAR,
            )
            client.submit(grant)
            _save_root(data, root)
            values["counter"] = {
                "did": keyring.did,
                "client_id": COUNTER_CLIENT,
                "client_secret": secrets.token_urlsafe(24),
            }
            _save_secrets(data, values)
    return values


def service_apps(
    data: Path, *, host: str, ports: Ports, ledger: dict[str, Any], values: dict[str, Any]
) -> list[Service]:
    from issuer.api.app import build_context
    from issuer.api.app import create_app as create_issuer_app
    from verifier.api.app import create_app as create_verifier_app
    from verifier.settings import VerifierSettings
    from verifier.settings import build_context as verifier_context

    out = []
    for slug in AGENCIES:
        settings = _issuer_settings(
            data, slug, host=host, ports=ports, ledger=ledger, kek=values["issuer_kek"]
        )
        out.append(
            Service(
                f"issuer-{slug}", create_issuer_app(build_context(settings)), ports.issuer(slug)
            )
        )
    counter = values["counter"]
    verifier = VerifierSettings(
        registry_url=f"http://{host}:{ports.registry}",
        log_vkey=ledger["vkey"],
        witness_vkeys=[w["vkey"] for w in ledger["witnesses"]],
        quorum=ledger["quorum"],
        root_did=ledger["rootDid"],
        database_url=f"sqlite:///{(data / 'verifier' / 'verifier.db').resolve()}",
        keyring_file=data / "verifier" / "counter-keys.json",
        public_url=f"http://{host}:{ports.verifier}",
        vct_base=f"http://{host}:{ports.issuer('civil')}",
        clients={
            counter["client_id"]: hashlib.sha256(counter["client_secret"].encode()).hexdigest()
        },
    )
    out.append(Service("verifier", create_verifier_app(verifier_context(verifier)), ports.verifier))
    return out


def stack_description(
    services: list[Service], *, host: str, values: dict[str, Any] | None
) -> dict[str, Any]:
    by_name = {s.name: s.url(host) for s in services}
    description: dict[str, Any] = {
        "registry": by_name["registry"],
        "witnesses": [by_name[name] for name in WITNESSES],
    }
    if values is not None:
        description["verifier"] = by_name.get("verifier")
        description["wallet"] = by_name.get("wallet")
        description["issuers"] = {
            slug: {"url": by_name[f"issuer-{slug}"], **values["issuers"][slug]} for slug in AGENCIES
        }
        description["counter"] = dict(values["counter"])
    description["pages"] = {
        "wallet": by_name.get("wallet"),
        "counter": (by_name["verifier"] + "/") if "verifier" in by_name else None,
        **{
            f"agency-{slug}": by_name[f"issuer-{slug}"] + "/agency"
            for slug in AGENCIES
            if f"issuer-{slug}" in by_name
        },
    }
    description["docs"] = {name: url + "/docs" for name, url in by_name.items()}
    return description


# --- running -------------------------------------------------------------------------


async def _start(
    services: list[Service], host: str
) -> list[tuple[uvicorn.Server, asyncio.Task[None]]]:
    started = []
    for s in services:
        config = uvicorn.Config(
            s.app, host=host, port=s.port, log_level="warning", access_log=False
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        started.append((server, task))
    deadline = time.monotonic() + 60
    while not all(server.started for server, _ in started):
        failed = [t for _, t in started if t.done()]
        if failed or time.monotonic() > deadline:
            raise RuntimeError("a service failed to start; see the messages above")
        await asyncio.sleep(0.05)
    return started


def _print(services: list[Service], host: str, data: Path, pages: dict[str, Any]) -> None:
    print("govid is up. Ctrl-C stops it.")
    for service in services:
        print(f"  {service.name:<26} {service.url(host)}   (API docs: {service.url(host)}/docs)")
    for name, url in pages.items():
        if url:
            print(f"  page: {name:<20} {url}")
    print(f"  stack description: {data / 'stack.json'}", flush=True)


async def _run(data: Path, host: str, ports: Ports, on_ready: Callable[[], None] | None) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    ledger = bootstrap_ledger(data, host=host, ports=ports)
    ledger_side = ledger_services(data, ports=ports)
    # Witnesses first: the registry asks them to cosign as soon as it starts.
    running = await _start(list(reversed(ledger_side)), host)
    values = await asyncio.to_thread(
        bootstrap_agencies, data, host=host, ports=ports, ledger=ledger
    )
    apps = service_apps(data, host=host, ports=ports, ledger=ledger, values=values)
    running += await _start(apps, host)
    everything = ledger_side + apps
    description = stack_description(everything, host=host, values=values)
    write_secret(data / "stack.json", json.dumps(description, indent=2) + "\n")
    _print(everything, host, data, description["pages"])
    if on_ready is not None:
        on_ready()
    await stop.wait()
    for server, _ in running:
        server.should_exit = True
    await asyncio.gather(*(task for _, task in running), return_exceptions=True)


def up(data: Path, *, host: str = "127.0.0.1", port_base: int = 8400) -> None:
    """Bootstrap if needed, write stack.json, print the URLs, serve until Ctrl-C."""
    data.mkdir(parents=True, exist_ok=True)
    asyncio.run(_run(data, host, Ports(port_base), None))


__all__ = ["AGENCIES", "Ports", "stack_description", "up"]
