"""Group commit: many concurrent appends, one writer, one durable commit per batch.

Requests put their parsed operation on a queue and wait; one task takes up to
`batch_size` operations, or whatever arrived within `batch_latency` seconds,
hands them to `Ledger.append_batch` on a worker thread, and answers each
waiter with its own outcome once the batch's transaction has committed.
Checkpoints are signed by a second task, at most every `checkpoint_interval`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from did.errors import GovidError
from registry.ledger import Appended, Ledger, Outcome
from registry.operation_errors import StorageUnavailable
from registry.operations import Operation

log = logging.getLogger("govid.registry.sequencer")


@dataclass(frozen=True, slots=True)
class BatchSettings:
    batch_size: int = 512
    batch_latency: float = 0.002  # seconds to wait for more operations
    checkpoint_interval: float = 0.25  # seconds between checkpoints at most


class Sequencer:
    def __init__(
        self,
        ledger: Ledger,
        settings: BatchSettings,
        *,
        on_checkpoint: Callable[[int], Awaitable[object]] | None = None,
    ) -> None:
        self._ledger = ledger
        self._settings = settings
        self._queue: asyncio.Queue[tuple[Operation, asyncio.Future[Outcome]]] = asyncio.Queue()
        self._grew = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._on_checkpoint = on_checkpoint
        self._stopping = False

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="govid-sequencer"),
            asyncio.create_task(self._checkpoint_loop(), name="govid-checkpointer"),
        ]
        self._grew.set()  # sign a checkpoint for whatever is already there

    @property
    def stopping(self) -> bool:
        return self._stopping

    async def stop(self) -> None:
        """Stop both loops. The checkpointer finishes the round it is in, so no
        witness request is cut off mid-flight; the writer is idle between
        batches, and a batch already on its thread commits or not as a whole."""
        self._stopping = True
        self._grew.set()
        writer, checkpointer = self._tasks
        writer.cancel()
        try:
            await asyncio.wait_for(checkpointer, timeout=10)
        except TimeoutError:
            checkpointer.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def submit(self, op: Operation) -> Appended:
        """Append `op`; returns once it is durable. Raises the operation's `GovidError`."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        await self._queue.put((op, future))
        outcome = await future
        if isinstance(outcome, GovidError):
            raise outcome
        return outcome

    async def _write_loop(self) -> None:
        s = self._settings
        while True:
            batch = [await self._queue.get()]
            deadline = asyncio.get_running_loop().time() + s.batch_latency
            while len(batch) < s.batch_size:
                timeout = deadline - asyncio.get_running_loop().time()
                try:
                    batch.append(
                        self._queue.get_nowait()
                        if not self._queue.empty() or timeout <= 0
                        else await asyncio.wait_for(self._queue.get(), timeout)
                    )
                except (asyncio.QueueEmpty, TimeoutError):
                    break
            ops = [op for op, _ in batch]
            try:
                outcomes: list[Outcome] = await asyncio.to_thread(self._ledger.append_batch, ops)
            except GovidError as exc:
                outcomes = [exc] * len(batch)
            except Exception:  # a bug: answer 500s, keep the writer alive
                log.exception("append batch failed")
                outcomes = [StorageUnavailable("the append could not be completed")] * len(batch)
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
            if any(isinstance(o, Appended) for o in outcomes):
                self._grew.set()

    async def _checkpoint_loop(self) -> None:
        while not self._stopping:
            await self._grew.wait()
            self._grew.clear()
            if self.stopping:
                return
            try:
                row = await asyncio.to_thread(self._ledger.sign_new_checkpoint)
            except GovidError:
                log.exception("checkpoint refused")
                row = None
            except Exception:
                log.exception("checkpoint failed")
                row = None
            if row is not None and self._on_checkpoint is not None:
                try:
                    await self._on_checkpoint(row.size)
                except Exception:
                    log.exception("gathering cosignatures failed")
            if not self._stopping:
                with contextlib.suppress(TimeoutError):
                    # Sleep out the interval, but wake at once to stop.
                    await asyncio.wait_for(self._stop_wait(), self._settings.checkpoint_interval)

    async def _stop_wait(self) -> None:
        while not self._stopping:
            await asyncio.sleep(0.05)

    async def checkpoint_now(self) -> None:
        """Sign (and cosign) a checkpoint immediately; used by tests and the CLI."""
        row = await asyncio.to_thread(self._ledger.sign_new_checkpoint)
        if row is not None and self._on_checkpoint is not None:
            await self._on_checkpoint(row.size)
