"""Listening sockets for govid's servers: bound before serving, named when taken.

A server binds its socket itself and hands it to uvicorn, so that port 0
(the kernel's choice) works and is reported: `serving on http://HOST:PORT`
is printed once the socket is bound, before the first request can arrive.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn


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


def serve(app: Any, *, host: str, port: int, service: str, fd: int | None = None) -> None:
    """Serve `app` until interrupted; a taken port ends the process with one line.

    With `fd`, the listening socket is inherited from whoever started the
    process (a supervisor, or a test that holds the port for the server's
    whole life, across restarts) and host and port are ignored.
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
        uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False)).run(
            sockets=[sock]
        )


# `--fd`: hidden from --help; for supervisors and tests that hold the port.
FD_HELP = "Serve on this inherited listening socket (a file descriptor) instead."
