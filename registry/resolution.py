"""did:govid resolution results, pure: version selection and document metadata.

The registry (`registry.ledger`) and the proof-checking client
(`registry.client`) both build a resolution result from a DID's chain of
operations with these functions, so what a client recomputes from a
`ledgerProof` is exactly what the registry served (method spec §7.1, §7.3).

Metadata values follow DID Core §7.3 and the W3C DID test suite: strings,
maps, lists, booleans and null only, at every depth. Times are RFC 3339 UTC
strings: `created` and `updated` without sub-second precision (§7.1.3), key
validity bounds with milliseconds (they are the log's millisecond times,
and a key window is compared to the millisecond); log indices and sizes in
`ledgerProof` are decimal strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from did.errors import DIDNotFound, InvalidResolutionOptions
from registry.state import DIDState, KeyRecord

__all__ = [
    "VERSIONED_TYPES",
    "document_metadata",
    "key_record_json",
    "parse_version_id",
    "rfc3339",
    "version_prefix",
]

# The operations that make a new document version (method spec §7.3).
VERSIONED_TYPES: Final = frozenset({"did.create", "did.update", "did.deactivate"})
_VERSION_ID: Final = re.compile(r"[1-9][0-9]{0,11}")


def rfc3339(ms: int, *, millis: bool) -> str:
    """Log time `ms` as RFC 3339 UTC: `2026-01-01T00:01:00Z`, or `...00.123Z` with `millis`.

    Without `millis` the time is truncated to the second, as DID Core §7.1.3
    asks of `created` and `updated` ("without sub-second decimal precision").
    """
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ms % 1000:03d}Z" if millis else f"{text}Z"


def parse_version_id(text: str | None) -> int | None:
    """A `versionId` option: a positive decimal of at most 12 digits, no leading zero."""
    if text is None:
        return None
    if _VERSION_ID.fullmatch(text) is None:
        raise InvalidResolutionOptions("versionId is a positive decimal version number")
    return int(text)


def version_prefix(
    chain: Sequence[tuple[str, int]], *, version_id: int | None, version_time: datetime | None
) -> int:
    """How many operations of `chain` (type, log time in ms) make the asked version (§7.3).

    The operations that make versions are counted in log order; the prefix
    stops before the one that would pass `version_id` and before the first
    later than `version_time` (truncated to the millisecond). Grants and
    revocations between two versions belong to the earlier one. Raises
    `DIDNotFound` when the version does not exist (yet, or at all).
    """
    if version_id is None and version_time is None:
        return len(chain)
    limit_ms = None if version_time is None else int(version_time.timestamp() * 1000)
    version, length = 0, 0
    for op_type, time_ms in chain:
        if limit_ms is not None and time_ms > limit_ms:
            break
        if op_type in VERSIONED_TYPES:
            if version_id is not None and version + 1 > version_id:
                break
            version += 1
        length += 1
    if length == 0 or (version_id is not None and version < version_id):
        raise DIDNotFound("the DID has no such version")
    return length


def key_record_json(record: KeyRecord) -> dict[str, Any]:
    """A key record as `keyHistory` shows it: bounds as RFC 3339 strings with milliseconds."""
    until = None if record.valid_until is None else rfc3339(record.valid_until, millis=True)
    return {
        "id": record.fragment,
        "publicKeyMultibase": record.multikey,
        "relationships": list(record.relationships),
        "validFrom": rfc3339(record.valid_from, millis=True),
        "validUntil": until,
        "compromised": record.compromised,
    }


def document_metadata(
    state: DIDState, latest: DIDState, proof: Mapping[str, Any] | None
) -> dict[str, Any]:
    """`didDocumentMetadata` of version `state` of a DID whose newest state is `latest`.

    `created`, `updated` and `versionId` describe the resolved version;
    `nextVersionId` says a later one exists; `deactivated` and `keyHistory`
    describe the DID as it is now, so that resolving an old version still
    shows a deactivation or a later key compromise (method spec §6.3, §7.1).
    """
    meta: dict[str, Any] = {
        "created": rfc3339(state.created_ms, millis=False),
        "updated": rfc3339(state.updated_ms, millis=False),
        "versionId": str(state.version),
        "deactivated": state.deactivated or latest.deactivated,
        "keyHistory": [key_record_json(r) for r in latest.keys],
        "ledgerProof": None if proof is None else dict(proof),
    }
    if latest.version > state.version:
        meta["nextVersionId"] = str(state.version + 1)
    return meta
