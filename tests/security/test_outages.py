"""A witness down, and peers that never answer: checkpoints advance, fetches time out.

- One of two witnesses killed (quorum 2): the log keeps signing checkpoints
  that the live witness cosigns, but no checkpoint with both cosignatures
  covers the new entries, so the registry does not serve them as proven and
  a client requiring two cosignatures refuses them; the witness back, the
  next checkpoint has both cosignatures again.
- A "tarpit" peer accepts TCP connections and never answers. Every outbound
  fetch gives up with a govid error instead of hanging: did:web resolution,
  the registry client (issuer, wallet, audit), the verifier's ledger lookups
  (status lists, accreditations), and the registry's witness calls.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from did.errors import GovidError, Unavailable
from did.identifiers import DID
from did.methods.web import DIDWebResolver
from did.resolver import ResolutionOptions
from registry import authoring
from registry.bootstrap import init_registry
from registry.client import RegistryClient
from registry.note import NoteVerifier
from registry.proofs import LedgerTrust
from registry.trust import trust_from_options
from service.fetch import Fetcher, FetchPolicy
from tests.processes import Server, govid
from tests.security.procstack import EnvServer, running_stack, wait_until
from verifier.lookups import RegistryLookups

pytestmark = pytest.mark.slow


def _resolves(client: RegistryClient, did: str) -> bool:
    try:
        client.resolve(did)
    except GovidError:
        return False
    return True


def test_witness_down_checkpoints_advance_and_clients_want_their_quorum(
    tmp_path: Path, stack_database_url: str | None
) -> None:
    with running_stack(tmp_path, stack_database_url) as stack:
        url, vkeys = stack.registry.url, stack.witness_vkeys
        strict = RegistryClient(
            url, trust=trust_from_options(url, log_vkey=stack.info["vkey"],
                                          witness_vkeys=vkeys, quorum=2))  # fmt: skip
        with strict, httpx.Client(timeout=30) as http:
            stack.witnesses[1].kill9()
            keyring, op = authoring.create_did(ledger=stack.info["origin"])
            index = strict.submit(op)["index"]

            def cosigned_by_one() -> bool:
                rows = http.get(url + "/log/checkpoints").json()["checkpoints"]
                return any(r["size"] > index and r["cosignatures"] == 1 for r in rows)

            # The log's checkpoints advance, cosigned by the live witness ...
            wait_until(cosigned_by_one, what="a checkpoint cosigned by the live witness")
            # ... but the registry serves, and clients accept, only quorum checkpoints.
            assert int(http.get(url + "/checkpoint").text.split("\n")[1]) <= index
            with pytest.raises(GovidError):
                strict.resolve(keyring.did)

            stack.witnesses[1].start()
            later, op = authoring.create_did(ledger=stack.info["origin"])
            strict.submit(op)
            wait_until(lambda: _resolves(strict, later.did), what="both cosignatures again")
            assert _resolves(strict, keyring.did)


@contextmanager
def tarpit(*, trickle: bool = False) -> Iterator[str]:
    """A loopback peer that never answers, or (`trickle`) answers a byte every 0.2 s.

    The trickle defeats per-read timeouts: only a total deadline ends the fetch.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    held: list[socket.socket] = []
    done = threading.Event()

    def drip(conn: socket.socket) -> None:
        try:
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"content-length: 1000000\r\n\r\n"
            )
            while not done.wait(0.2):
                conn.sendall(b" ")
        except OSError:
            return

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)
            if trickle:
                threading.Thread(target=drip, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        listener.close()
        for conn in held:
            conn.close()
        thread.join(timeout=10)


def _gives_up(call: Callable[[], object]) -> BaseException:
    """Run `call` in a thread; it must raise. The join bounds a hang, it does not time it."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            call()
        except BaseException as exc:  # reported to the test thread
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "the fetch hung: no timeout"
    assert outcome, "the fetch returned from a peer that never answered"
    return outcome[0]


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "trickle"])
def test_every_outbound_fetch_gives_up_on_a_stalling_peer(tmp_path: Path, trickle: bool) -> None:
    log = NoteVerifier.from_vkey(init_registry(tmp_path / "registry")["vkey"])
    with tarpit(trickle=trickle) as peer:
        base = f"http://{peer}"
        trust = LedgerTrust.unsafe_log_only(log.name, log)
        # did:web goes through service.fetch: its total budget stops a trickle too.
        policy = FetchPolicy.untrusted(allow_loopback_http=True, budget=0.5)
        with Fetcher(policy) as web_fetch:
            web = DIDWebResolver(fetch=web_fetch, insecure_http_for_tests=True)
            # did:web forbids IP literals; "localhost" reaches the same loopback peer.
            did = DID.parse("did:web:" + peer.replace("127.0.0.1", "localhost").replace(":", "%3A"))
            exc = _gives_up(lambda: web.resolve(did, ResolutionOptions()))
            assert isinstance(exc, Unavailable), repr(exc)

        with RegistryClient(base, trust=trust, timeout=0.5) as client:
            calls: list[Callable[[], object]] = [
                client.latest_checkpoint,
                lambda: client.resolve("did:govid:abc"),
                lambda: client.accreditations("did:govid:abc"),
                lambda: client.status_list_token("did:govid:abc", "https://x.example/status/1"),
                # POSTs go through the same bounded fetch as GETs.
                lambda: client.submit("x.y.z"),
            ]
            for call in calls:
                exc = _gives_up(call)
                assert isinstance(exc, Unavailable), repr(exc)

        # The verifier's lookups (status lists, accreditations, DIDs).
        lookups = RegistryLookups(
            RegistryClient(base, trust=trust, timeout=0.5), http=httpx.Client(timeout=0.5)
        )
        try:
            fetches: list[Callable[[], object]] = [
                lambda: lookups.status_list_proof("did:govid:abc", "https://x.example/status/1"),
                lambda: lookups.accreditation_proofs("did:govid:abc"),
                lambda: lookups.did_proof("did:govid:abc"),
            ]
            for fetch in fetches:
                exc = _gives_up(fetch)
                assert isinstance(exc, GovidError), repr(exc)
        finally:
            lookups.close()


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "trickle"])
def test_registry_cosigns_past_a_stalling_witness(tmp_path: Path, trickle: bool) -> None:
    """The witness calls time out: the live witness's cosignature still gets recorded."""
    data = tmp_path / "registry"
    info = json.loads(govid("registry", "init", "--data", str(data)).stdout)
    wdata = tmp_path / "witness"
    made = json.loads(
        govid(
            "witness", "init", "--data", str(wdata), "--name", "live.example",
            "--log", f"{info['origin']}={info['vkey']}",
        ).stdout
    )  # fmt: skip
    witness = Server(["witness", "serve", "--data", str(wdata)], log=tmp_path / "witness.log")
    silent = json.loads(
        govid("witness", "init", "--data", str(tmp_path / "w2"), "--name", "silent.example",
              "--log", f"{info['origin']}={info['vkey']}").stdout
    )  # fmt: skip
    with tarpit(trickle=trickle) as peer:
        govid("registry", "add-witness", "--data", str(data), "--name", "silent.example",
              "--url", f"http://{peer}", "--vkey", silent["vkey"])  # fmt: skip
        govid("registry", "add-witness", "--data", str(data), "--name", "live.example",
              "--url", witness.url, "--vkey", made["vkey"], "--quorum", "1")  # fmt: skip
        registry = EnvServer(
            ["registry", "serve", "--data", str(data)],
            log=tmp_path / "registry.log",
            env={"GOVID_REGISTRY_WITNESS_TIMEOUT": "1"},
            health="/healthz",
        )
        witness.start()
        registry.start()
        try:
            trust = trust_from_options(
                registry.url, log_vkey=info["vkey"], witness_vkeys=[made["vkey"]], quorum=1
            )
            with RegistryClient(registry.url, trust=trust) as client:
                keyring, op = authoring.create_did(ledger=info["origin"])
                client.submit(op)
                wait_until(lambda: _resolves(client, keyring.did), what="a cosigned checkpoint")
        finally:
            registry.stop()
            witness.stop()
