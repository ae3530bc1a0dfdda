"""Log entries: the bytes the Merkle tree commits to (method spec §4.2).

An entry wraps one operation with the position and time the sequencer gave it:

    JCS({"index": <int>, "operation": "<compact JWS>", "time": <Unix ms>, "v": 1})

Putting the index and time inside the leaf means the checkpoint commits to
them too: an auditor can check that indices are contiguous and that time
never runs backwards, and a resolver's `versionTime` rests on signed data.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from registry.operation_errors import EntryInvalid, MalformedOperation
from registry.operations import MAX_OPERATION_BYTES, canonical_json

ENTRY_VERSION = 1


@dataclass(frozen=True, slots=True)
class LogEntry:
    index: int
    time_ms: int
    operation: str

    def to_bytes(self) -> bytes:
        return canonical_json(
            {"index": self.index, "operation": self.operation, "time": self.time_ms, "v": 1}
        )

    def operation_payload(self) -> bytes:
        """The operation's JCS payload bytes (not verified: the log already checked it)."""
        from did.jose import parse_unverified_jws

        return parse_unverified_jws(self.operation).payload

    @classmethod
    def parse(cls, data: bytes) -> LogEntry:
        """Parse entry bytes; they must be canonical and of version 1."""
        if len(data) > MAX_OPERATION_BYTES + 256:
            raise MalformedOperation("the log entry is too large")
        try:
            obj = json.loads(data)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise MalformedOperation("the log entry is not JSON") from exc
        if not isinstance(obj, dict) or set(obj) != {"index", "operation", "time", "v"}:
            raise MalformedOperation("the log entry has the wrong members")
        index, time_ms, operation = obj["index"], obj["time"], obj["operation"]
        if obj["v"] != ENTRY_VERSION:
            raise MalformedOperation("unknown log entry version")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (index, time_ms)):
            raise MalformedOperation("the log entry's index and time are integers")
        if not isinstance(operation, str):
            raise MalformedOperation("the log entry's operation is a string")
        entry = cls(index, time_ms, operation)
        if entry.to_bytes() != data:
            raise EntryInvalid("the log entry is not in canonical form")
        return entry
