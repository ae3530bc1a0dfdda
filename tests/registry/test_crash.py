"""kill -9 under concurrent writes, and a database that goes away (real processes)."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest

from did.encoding import b64url_decode
from registry import authoring
from registry.audit import audit_registry, render_report
from registry.entry import LogEntry
from registry.operations import Operation
from tests.processes import Server, govid, wait_for_checkpoint

pytestmark = pytest.mark.slow


def _serve_args(data: Path, database_url: str) -> list[str]:
    args = ["registry", "serve", "--data", str(data)]
    if not database_url.startswith("sqlite"):
        args += ["--database-url", database_url]
    return args


def _writers(
    url: str, ops: queue.Queue[str], acks: list[tuple[int, str]], stop: threading.Event
) -> None:
    with httpx.Client(timeout=5.0) as client:
        while not stop.is_set():
            try:
                op = ops.get_nowait()
            except queue.Empty:
                return
            try:
                response = client.post(url + "/operations", json={"operation": op})
            except httpx.HTTPError:
                return  # the server died under us: this one was never acknowledged
            if response.status_code == 201:
                body = response.json()
                acks.append((body["index"], body["operationHash"]))


def test_kill_9_loses_no_acknowledged_append(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Hundreds of anonymous creates from one address: no write quota here
    # (method spec §10.1); this test is about durability.
    monkeypatch.setenv("GOVID_REGISTRY_WRITE_QUOTA", "0")
    data = tmp_path / "reg"
    info = json.loads(govid("registry", "init", "--data", str(data)).stdout)
    server = Server(_serve_args(data, database_url), log=tmp_path / "registry.log").start()
    ops: queue.Queue[str] = queue.Queue()
    for _ in range(600):
        ops.put(authoring.create_did(ledger=info["origin"])[1])
    acks: list[tuple[int, str]] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=_writers, args=(server.url, ops, acks, stop)) for _ in range(12)
    ]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while len(acks) < 150 and time.monotonic() < deadline:
            time.sleep(0.005)
        server.kill9()  # mid-flight: some requests are in a batch being committed
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert len(acks) >= 150

        server.start()
        with httpx.Client(timeout=10.0) as client:
            size = client.get(server.url + "/readyz").json()["treeSize"]
            assert size >= max(index for index, _ in acks) + 1
            entries = client.get(server.url + "/log/entries", params={"start": 0, "end": size})
            rows = entries.json()["entries"]
            assert [r["index"] for r in rows] == list(range(len(rows)))
            by_index = {r["index"]: LogEntry.parse(b64url_decode(r["entry"])) for r in rows}
            for index, op_hash in acks:
                entry = by_index[index]
                assert Operation.parse(entry.operation, ledger=info["origin"]).op_hash == op_hash

            # The log still grows from where it was, and audits clean.
            _, extra = authoring.create_did(ledger=info["origin"])
            appended = client.post(server.url + "/operations", json={"operation": extra})
            assert appended.status_code == 201 and appended.json()["index"] == size
            wait_for_checkpoint(server.url, size + 1)
            report = audit_registry(server.url, log_vkey=info["vkey"], policy=None, client=client)
        assert report.ok, render_report(report)
        assert report.entries == size + 1
    finally:
        stop.set()
        server.stop()


class _Proxy:
    """A TCP proxy to PostgreSQL that the test can cut and restore: a network fault."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while chunk := a.recv(65536):
                b.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.up.clear()
        with self.lock:
            for conn in self.conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self.conns.clear()

    def restore(self) -> None:
        self.up.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


def test_database_outage_gives_503_then_recovers(tmp_path: Path, postgres_url: str) -> None:
    url = httpx.URL(postgres_url.replace("postgresql+psycopg://", "http://"))
    proxy = _Proxy((url.host, url.port or 5432))
    proxied = postgres_url.replace(f"{url.host}:{url.port or 5432}", f"127.0.0.1:{proxy.port}")
    data = tmp_path / "reg"
    info = json.loads(govid("registry", "init", "--data", str(data)).stdout)
    server = Server(_serve_args(data, proxied), log=tmp_path / "registry.log").start()
    try:
        with httpx.Client(timeout=10.0) as client:

            def append() -> httpx.Response:
                _, op = authoring.create_did(ledger=info["origin"])
                return client.post(server.url + "/operations", json={"operation": op})

            assert append().status_code == 201
            proxy.cut()
            down = [append(), client.get(server.url + "/readyz")]
            assert [r.status_code for r in down] == [503, 503]
            assert down[0].json()["error"] in ("ledger.storage_unavailable", "service.unavailable")
            proxy.restore()
            deadline = time.monotonic() + 20
            while (response := append()).status_code != 201 and time.monotonic() < deadline:
                time.sleep(0.2)
            assert response.status_code == 201
            assert client.get(server.url + "/readyz").status_code == 200
    finally:
        server.stop()
        proxy.close()
