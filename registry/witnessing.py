"""The log's side of C2SP tlog-witness: send each new checkpoint to the witnesses.

For every configured witness the log remembers the size that witness last
cosigned. It sends `old <that size>` with a consistency proof from there; a
409 reply carries the witness's real size and the request is retried once
with a proof from that size. Verified cosignature lines are appended to the
checkpoint note, which becomes what `GET /checkpoint` serves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import httpx

from did.errors import GovidError
from registry.cosignature import WitnessVerifier
from registry.note import Note, NoteSignature, verify_signatures
from registry.witness_protocol import (
    AddCheckpointRequest,
    parse_add_checkpoint_response,
    parse_size_conflict,
)
from service.fetch import AsyncFetcher, FetchPolicy

if TYPE_CHECKING:
    from registry.config import WitnessConfig
    from registry.ledger import Ledger

log = logging.getLogger("govid.registry.witnessing")
# A cosignature reply is a few lines (C2SP tlog-witness); a 409 body is one number.
MAX_REPLY_BYTES = 64 * 1024


class CosignatureGatherer:
    def __init__(
        self,
        ledger: Ledger,
        witnesses: Sequence[WitnessConfig],
        *,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._ledger = ledger
        self._witnesses = list(witnesses)
        self._verifiers = {w.url: WitnessVerifier.from_vkey(w.vkey) for w in witnesses}
        self._known_size: dict[str, int] = {}
        # Witnesses are named in the log's settings: the configured policy, and the
        # whole exchange bounded (service.fetch), answer size included.
        policy = FetchPolicy.configured(max_bytes=MAX_REPLY_BYTES, budget=3 * timeout)
        self._fetch = AsyncFetcher(policy, transport=transport)

    async def aclose(self) -> None:
        await self._fetch.aclose()

    async def gather(self, size: int) -> int:
        """Collect cosignatures of the checkpoint of `size`; returns how many verified."""
        row = await asyncio.to_thread(self._checkpoint_row, size)
        if row is None:
            return 0
        note = Note.parse(row)
        results = await asyncio.gather(
            *(self._ask(w, note, size) for w in self._witnesses), return_exceptions=False
        )
        lines = [sig for sigs in results for sig in sigs]
        cosigned = note.with_signatures(lines)
        count = len(verify_signatures(cosigned, list(self._verifiers.values())))
        await asyncio.to_thread(self._ledger.record_cosigned, size, cosigned.to_text(), count)
        return count

    def _checkpoint_row(self, size: int) -> str | None:
        from registry.store import CheckpointRow

        with self._ledger.session() as session:
            row = session.get(CheckpointRow, size)
            return row.note if row is not None else None

    async def _ask(self, witness: WitnessConfig, note: Note, size: int) -> list[NoteSignature]:
        verifier = self._verifiers[witness.url]
        for _attempt in range(2):
            old = min(self._known_size.get(witness.url, 0), size)
            try:
                proof = await asyncio.to_thread(self._ledger.consistency_proof, old, size)
                body = AddCheckpointRequest(old, tuple(proof), note.to_text()).to_bytes()
                reply = await self._fetch.post(
                    witness.url.rstrip("/") + "/add-checkpoint", content=body
                )
            except GovidError as exc:
                log.warning("witness %s unreachable: %s", witness.name, type(exc).__name__)
                return []
            if reply.status_code == 409:
                try:
                    self._known_size[witness.url] = parse_size_conflict(reply.content)
                except GovidError:
                    return []
                continue
            if reply.status_code != 200:
                log.warning("witness %s refused: HTTP %d", witness.name, reply.status_code)
                return []
            try:
                lines = parse_add_checkpoint_response(reply.content)
                mine = [s for s in lines if (s.name, s.key_id) == (verifier.name, verifier.key_id)]
                verify_signatures(note.with_signatures(mine), [verifier])
            except GovidError:
                log.warning("witness %s sent an invalid cosignature", witness.name)
                return []
            self._known_size[witness.url] = size
            return mine
        return []
