"""How every govid server is run: uvicorn, believing forwarded headers only from listed proxies.

uvicorn believes `X-Forwarded-For` and `X-Forwarded-Proto` from 127.0.0.1 by
default (or from `FORWARDED_ALLOW_IPS`), which lets any local process, or
any client of a proxy on the same machine, choose the address the failure
limit counts it under. govid turns that off unless the service's settings
list its proxies (`trusted_proxies`): then uvicorn takes the client address
from the rightmost entry of `X-Forwarded-For` that no listed proxy added.
Every `govid ... serve`, `govid up` and the test servers build their
configuration here.

A server binds its listening socket before it serves and hands it to
uvicorn: a taken port is reported in one line naming it, port 0 (the
kernel's choice) works and is printed (`SERVICE serving on http://HOST:PORT`),
and a supervisor or a test may hand over a socket it holds (`fd`).
"""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Sequence
from typing import Any

import uvicorn

__all__ = [
    "FD_HELP",
    "PortInUse",
    "bind_listener",
    "proxy_options",
    "serve",
    "url_of",
    "uvicorn_config",
]

# `--fd` of the serve commands: hidden from --help; for supervisors and tests.
FD_HELP = "Serve on this inherited listening socket (a file descriptor) instead."


class PortInUse(Exception):
    def __init__(self, port: int, service: str) -> None:
        super().__init__(f"port {port} ({service}) is in use")
        self.port, self.service = port, service


def bind_listener(host: str, port: int, service: str) -> socket.socket:
    """A TCP socket bound to (host, port); `PortInUse` when another process has it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # SO_REUSEADDR lets a restarted server take its port from TIME_WAIT; on
    # Linux it does not let two listeners share a port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise PortInUse(port, service) from error
    sock.set_inheritable(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def proxy_options(trusted_proxies: Sequence[str]) -> dict[str, Any]:
    """uvicorn's options for `trusted_proxies` (empty: forwarded headers are ignored)."""
    proxies = list(trusted_proxies)
    # Both are always set: uvicorn's defaults would trust loopback and read the
    # FORWARDED_ALLOW_IPS variable behind the settings' back.
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies}


def uvicorn_config(
    app: Any,
    *,
    host: str,
    port: int = 0,
    trusted_proxies: Sequence[str] = (),
    **options: Any,
) -> uvicorn.Config:
    """The uvicorn configuration of a govid server; `options` are uvicorn's other settings.

    uvicorn's own access log is off: it prints the raw path and query (offer
    ids, codes) and the client address; `service.observability` logs one line
    per request with the route template instead.
    """
    options.setdefault("log_level", "warning")
    options.setdefault("access_log", False)
    return uvicorn.Config(app, host=host, port=port, **options, **proxy_options(trusted_proxies))


def serve(
    app: Any,
    *,
    host: str,
    port: int,
    service: str,
    fd: int | None = None,
    trusted_proxies: Sequence[str] = (),
    **options: Any,
) -> None:
    """Serve `app` until interrupted (the `serve` commands).

    With `fd`, the listening socket is inherited from whoever started the
    process (a supervisor, or a test that holds the port for the server's
    whole life, across restarts) and host and port are ignored. A taken port
    ends the process with one line.
    """
    if fd is not None:
        sock = socket.socket(fileno=fd)
    else:
        try:
            sock = bind_listener(host, port, service)
        except PortInUse as taken:
            sys.exit(f"govid: {taken}; choose another with --port (0 lets the system pick)")
    with sock:
        print(f"{service} serving on {url_of(sock)}", flush=True)
        logging.getLogger("govid.access").setLevel(logging.INFO)  # service.observability
        config = uvicorn_config(app, host=host, trusted_proxies=trusted_proxies, **options)
        uvicorn.Server(config).run(sockets=[sock])
