"""Real HTTP servers on loopback for tests: uvicorn in a thread, on a free port.

The configuration is govid's own (`service.serving.uvicorn_config`): forwarded
headers are believed only from `trusted_proxies`, as in production.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import uvicorn

from service.serving import uvicorn_config


@contextmanager
def serve(
    app: Any, *, host: str = "127.0.0.1", trusted_proxies: Sequence[str] = ()
) -> Iterator[str]:
    """Run `app` with uvicorn on a free loopback port; yield its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn_config(
        app, host=host, trusted_proxies=trusted_proxies, lifespan="on", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
