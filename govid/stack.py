"""`govid up`: the whole stack in one process, on SQLite under one data directory.

The first run bootstraps: a registry (log key, root authority), two witnesses
that follow it, and the registry configured to require both cosignatures.
Later runs reuse the directory. Every service is its own FastAPI app on its
own port (`--port-base`, `+1`, ...), served by uvicorn in one event loop;
Ctrl-C stops them all cleanly. `stack.json` in the directory tells scripts
where everything is.
"""

from __future__ import annotations

import asyncio
import json
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from registry.api.app import create_app
from registry.bootstrap import init_registry
from registry.config import RegistryConfig
from registry.witness.app import create_witness_app
from registry.witness.config import WitnessConfig, init_witness

WITNESSES = ("witness-1.govid.example", "witness-2.govid.example")


@dataclass(frozen=True, slots=True)
class Service:
    name: str
    app: Any
    port: int

    def url(self, host: str) -> str:
        return f"http://{host}:{self.port}"


def bootstrap(data: Path, *, host: str, port_base: int) -> dict[str, Any]:
    """Create the registry and its witnesses under `data` unless they exist."""
    registry_dir = data / "registry"
    if not (registry_dir / "registry.json").exists():
        info = init_registry(registry_dir)
        witnesses = []
        for offset, name in enumerate(WITNESSES, start=1):
            vkey = init_witness(
                data / name, name=name, logs=[{"origin": info["origin"], "vkey": info["vkey"]}]
            )
            witnesses.append(
                {"name": name, "url": f"http://{host}:{port_base + offset}", "vkey": vkey}
            )
        config = json.loads((registry_dir / "registry.json").read_text(encoding="utf-8"))
        config["witnesses"], config["quorum"] = witnesses, len(witnesses)
        (registry_dir / "registry.json").write_text(json.dumps(config, indent=2) + "\n")
    config = json.loads((registry_dir / "registry.json").read_text(encoding="utf-8"))
    # A second run may use other ports: keep the witness URLs in step.
    for offset, witness in enumerate(config["witnesses"], start=1):
        witness["url"] = f"http://{host}:{port_base + offset}"
    (registry_dir / "registry.json").write_text(json.dumps(config, indent=2) + "\n")
    return dict(config)


def services(data: Path, *, port_base: int) -> list[Service]:
    out = [Service("registry", create_app(RegistryConfig(data_dir=data / "registry")), port_base)]
    for offset, name in enumerate(WITNESSES, start=1):
        app = create_witness_app(WitnessConfig(data_dir=data / name))
        out.append(Service(name, app, port_base + offset))
    return out


def stack_description(services: list[Service], *, host: str) -> dict[str, Any]:
    by_name = {s.name: s.url(host) for s in services}
    return {
        "registry": by_name["registry"],
        "witnesses": [by_name[name] for name in WITNESSES],
        "docs": {name: url + "/docs" for name, url in by_name.items()},
    }


async def _serve_all(services: list[Service], host: str) -> None:
    servers = [
        uvicorn.Server(
            uvicorn.Config(s.app, host=host, port=s.port, log_level="warning", access_log=False)
        )
        for s in services
    ]
    # Witnesses first: the registry asks them to cosign as soon as it starts.
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(s.serve()) for s in reversed(servers)]
    await stop.wait()
    for server in servers:
        server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)


def up(data: Path, *, host: str = "127.0.0.1", port_base: int = 8400) -> None:
    """Bootstrap if needed, write stack.json, print the URLs, serve until Ctrl-C."""
    data.mkdir(parents=True, exist_ok=True)
    bootstrap(data, host=host, port_base=port_base)
    running = services(data, port_base=port_base)
    description = stack_description(running, host=host)
    (data / "stack.json").write_text(json.dumps(description, indent=2) + "\n", encoding="utf-8")
    print("govid is up. Ctrl-C stops it.")
    for service in running:
        print(f"  {service.name:<26} {service.url(host)}   (API docs: {service.url(host)}/docs)")
    print(f"  stack description: {data / 'stack.json'}", flush=True)
    asyncio.run(_serve_all(running, host))
