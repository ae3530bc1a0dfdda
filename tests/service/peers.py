"""Raw loopback peers for outgoing-fetch tests: they count every connection they accept."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Peer:
    port: int
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


Respond = Callable[[socket.socket, bytes, threading.Event], None]


def http_answer(body: bytes, *, status: str = "200 OK", headers: str = "") -> Respond:
    """Answer every request with `body` (Content-Length set) and close."""

    def respond(conn: socket.socket, _request: bytes, _stop: threading.Event) -> None:
        head = (
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}Connection: close\r\n\r\n"
        )
        conn.sendall(head.encode() + body)

    return respond


@contextmanager
def loopback_peer(respond: Respond, *, host: str = "127.0.0.1") -> Iterator[Peer]:
    """A TCP server on `host`, port chosen by binding (no free-port guessing)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen(16)
    listener.settimeout(0.05)
    peer = Peer(listener.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            peer.connections += 1
            with conn:
                conn.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if data.startswith((b"GET ", b"POST ")):
                        peer.requests.append(data)
                        respond(conn, data, stop)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        stop.set()
        thread.join(timeout=10)
        listener.close()
