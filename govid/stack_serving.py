"""`govid up` serving the stack that `govid.stack` bootstraps: ports bound first, then
the ledger's servers, the bootstrap of agencies and wallet, the other servers, and
Ctrl-C. Split from `govid/stack.py`, which holds what is set up on disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn

from govid._io import write_secret
from govid.stack import (
    SERVICES,
    Layout,
    Service,
    bootstrap_agencies,
    bootstrap_counter_login,
    bootstrap_ledger,
    bootstrap_wallet,
    ledger_services,
    service_apps,
    stack_description,
    write_service_configs,
)
from service.private_files import private_dir
from service.serving import PortInUse, bind_listener, uvicorn_config


def bind_sockets(host: str, port_base: int) -> dict[str, socket.socket]:
    """Listening sockets for every service, bound before anything starts.

    Binding first means a taken port stops `govid up` before it bootstraps
    anything, and the servers are handed sockets that are already theirs
    (with port_base 0 the kernel picks free ports: no race with a probe).
    """
    sockets: dict[str, socket.socket] = {}
    try:
        for rank, service in enumerate(SERVICES):
            port = port_base + rank if port_base else 0
            sockets[service] = bind_listener(host, port, service)
    except BaseException:
        for sock in sockets.values():
            sock.close()
        raise
    return sockets


async def _start(
    services: list[Service], sockets: Mapping[str, socket.socket]
) -> list[tuple[uvicorn.Server, asyncio.Task[None]]]:
    started = []
    for s in services:
        host = sockets[s.name].getsockname()[0]
        config = uvicorn_config(
            s.app, host=host, trusted_proxies=s.trusted_proxies, access_log=False
        )
        server = uvicorn.Server(config)
        started.append((server, asyncio.create_task(server.serve(sockets=[sockets[s.name]]))))
    deadline = time.monotonic() + 60
    while not all(server.started for server, _ in started):
        if any(t.done() for _, t in started) or time.monotonic() > deadline:
            raise RuntimeError("a service failed to start; see the messages above")
        await asyncio.sleep(0.05)
    return started


async def _stop(running: list[tuple[uvicorn.Server, asyncio.Task[None]]]) -> None:
    for server, _ in running:
        server.should_exit = True
    await asyncio.gather(*(task for _, task in running), return_exceptions=True)


def _print(layout: Layout, services: list[Service], description: dict[str, Any]) -> None:
    print("govid is up. Ctrl-C stops it.")
    for s in services:
        url = layout.url(s.name)
        # The wallet is the citizen's app, not an API: it publishes no docs.
        docs = "" if s.name == "wallet" else f"   (API docs: {url}/docs)"
        print(f"  {s.name:<14} {url}{docs}")
    for name, url in description["pages"].items():
        if url:
            print(f"  page: {name:<16} {url}")
    where = layout.data / "stack.json"
    print(f"  stack description: {where}")
    if login := description.get("counter_login"):
        name = login["username"]
        print(f'  counter page sign-in: {name} (password: "counter_login" in stack.json)')
    print(f'  agency systems and pages: the client credentials under "issuers" in {where}')
    print('  demo wallet passphrase: "wallet_passphrase" in stack.json. Audit the ledger:')
    print(
        f"    .venv/bin/govid registry audit {layout.url('registry')} --stack {where}",
        flush=True,
    )


async def _run(
    layout: Layout,
    sockets: Mapping[str, socket.socket],
    *,
    init_only: bool,
    on_ready: Callable[[], None] | None,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    # The bootstrap's own requests are not the console's business: one access
    # line per request starts once the URLs are printed.
    access = logging.getLogger("govid.access")
    access.setLevel(logging.WARNING)
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The ledger's own servers listen locally even when bootstrapping for compose.
    local = replace(layout, naming="local")
    ledger = bootstrap_ledger(local)
    write_service_configs(layout, ledger)  # fixes the vct base under the final names
    ledger_side = ledger_services(local)
    # Witnesses first: the registry asks them to cosign as soon as it starts.
    running = await _start(list(reversed(ledger_side)), sockets)
    try:
        values = await asyncio.to_thread(bootstrap_agencies, local, ledger)
        await asyncio.to_thread(bootstrap_counter_login, layout, values)
        await asyncio.to_thread(bootstrap_wallet, layout, ledger, values)
        if init_only:
            bootstrap_ledger(layout)  # now point everything at the final names
            write_service_configs(layout, ledger)
            print(f"govid stack initialised in {layout.data} for {layout.naming} naming.")
            return
        apps = service_apps(layout, values)
        running += await _start(apps, sockets)
        everything = ledger_side + apps
        description = stack_description(layout, everything, values)
        write_secret(layout.data / "stack.json", json.dumps(description, indent=2) + "\n")
        _print(layout, everything, description)
        access.setLevel(logging.INFO)
        if on_ready is not None:
            on_ready()
        await stop.wait()
    finally:
        await _stop(running)


def up(
    data: Path,
    *,
    host: str = "127.0.0.1",
    port_base: int = 8400,
    init_only: bool = False,
    naming: str = "local",
) -> None:
    """Bootstrap if needed, then serve everything until Ctrl-C (or stop after `init_only`)."""
    try:
        sockets = bind_sockets(host, port_base)
    except PortInUse as taken:
        other = 9400 if port_base != 9400 else 10400
        sys.exit(
            f"govid up: {taken}; choose other ports: make run PORT_BASE={other} "
            f"(or govid up --port-base {other}; 0 lets the system pick)"
        )
    try:
        private_dir(data)
        bound = {name: sock.getsockname()[1] for name, sock in sockets.items()}
        layout = Layout(data, host, port_base, naming, bound)
        asyncio.run(_run(layout, sockets, init_only=init_only, on_ready=None))
    finally:
        for sock in sockets.values():
            sock.close()


__all__ = ["bind_sockets", "up"]
