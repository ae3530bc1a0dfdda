"""Slow peers cannot hold govid: a trickled request body, a trickled did:web answer."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import FastAPI, Request

from did.errors import GovidError
from did.identifiers import DID
from did.methods.web import DIDWebResolver
from did.resolver import ResolutionOptions
from service.fetch import Fetcher, FetchPolicy
from service.limits import BodySizeLimit
from tests.servers import serve


def _echo_app(body_timeout: float) -> FastAPI:
    app = FastAPI()
    app.add_middleware(BodySizeLimit, max_bytes=1 << 20, body_timeout=body_timeout)

    @app.post("/echo")
    async def echo(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    return app


def test_a_trickled_request_body_gets_408_and_frees_the_server() -> None:
    with serve(_echo_app(body_timeout=1.0)) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000\r\n\r\n{"
            )
            # Then nothing more: the slowloris holds the request open.
            received = b""
            while b"}" not in received:  # the JSON error body ends the answer
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
            answer = received.decode()
        assert answer.startswith("HTTP/1.1 408"), answer
        assert "request.timeout" in answer
        # A whole body in time is served as usual.
        assert httpx.post(url + "/echo", content=b"{}").json() == {"size": 2}


@contextmanager
def _dripping_server() -> Iterator[str]:
    """Answers 200 with a JSON content type, then one byte every 0.2 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def run() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                conn.recv(4096)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                )
                while not stop.is_set():
                    try:
                        conn.sendall(b"1\r\n \r\n")
                    except OSError:
                        break
                    time.sleep(0.2)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"localhost:{port}"  # did:web takes DNS names, not IP addresses
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_a_did_web_server_dripping_bytes_is_given_up_on() -> None:
    policy = FetchPolicy.untrusted(allow_loopback_http=True, budget=0.5)
    with _dripping_server() as host, Fetcher(policy) as fetch:
        resolver = DIDWebResolver(fetch=fetch, insecure_http_for_tests=True)
        did = DID.parse("did:web:" + host.replace(":", "%3A"))
        # Each read arrives within its 0.5 s timeout; only the total budget stops it
        # (without it this call would never return: the server drips forever).
        with pytest.raises(GovidError) as exc:
            resolver.resolve(did, ResolutionOptions())
        assert exc.value.code == "did.resolution_unavailable"
