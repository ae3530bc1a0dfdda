"""A TCP relay in front of a server that a test can cut: the server becomes unreachable.

While up, every connection is piped to the target. `cut()` resets every open
connection (pooled keep-alive connections too) and, until `restore()`, resets
each new one before a byte is read: what a counter sees when its network to the
registry is gone. The listening socket is bound once, so the URL never changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


class Relay:
    def __init__(self, target: str, sock: socket.socket) -> None:
        parts = urlsplit(target)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._up = True
        self._open: set[asyncio.WriteTransport] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()

    def cut(self) -> None:
        """From now on the target cannot be reached; returns once open connections are reset."""
        self._call(self._cut)

    def restore(self) -> None:
        self._call(self._restore)

    def _call(self, action: object) -> None:
        assert self._loop is not None and callable(action)
        done = threading.Event()

        def run() -> None:
            action()
            done.set()

        self._loop.call_soon_threadsafe(run)
        assert done.wait(timeout=30)

    def _cut(self) -> None:
        self._up = False
        for transport in list(self._open):
            transport.abort()
        self._open.clear()

    def _restore(self) -> None:
        self._up = True

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._up:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self._host, self._port)
        except OSError:
            writer.transport.abort()
            return
        pair = {writer.transport, up_writer.transport}
        self._open |= pair
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        except asyncio.CancelledError:  # the relay is shutting down
            for transport in pair:
                transport.abort()
        finally:
            self._open -= pair

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, sock=self._sock)
        self._loop = asyncio.get_running_loop()
        self._ready.set()
        async with server:
            await self._stop.wait()

    def _shutdown(self) -> None:
        self._cut()
        assert self._stop is not None
        self._stop.set()


@contextlib.contextmanager
def relay(target: str) -> Iterator[Relay]:
    """Relay loopback connections to `target` (an http:// base URL); yield the switch."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    switch = Relay(target, sock)
    thread = threading.Thread(target=asyncio.run, args=(switch._main(),), daemon=True)
    thread.start()
    if not switch._ready.wait(timeout=30):
        raise RuntimeError("the relay did not start")
    try:
        yield switch
    finally:
        assert switch._loop is not None
        switch._loop.call_soon_threadsafe(switch._shutdown)
        thread.join(timeout=30)
        sock.close()
