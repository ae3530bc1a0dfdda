"""Checking a registry answer without trusting the registry: pure functions.

A `ledgerProof` (method spec §7.2) carries log entries, their inclusion paths
and a checkpoint note. `verify_ledger_proof` checks, in order:

  1. the checkpoint is signed by the log's key and cosigned under the policy;
  2. every entry is included at its index in the checkpoint's tree;
  3. the entries parse as operations of the expected ledger.

What it returns is then as trustworthy as the checkpoint: `registry.client`
additionally keeps every checkpoint consistent with the largest one it saw.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from did.encoding import b64_decode, b64url_decode
from did.errors import MalformedInput
from registry.checkpoint import Checkpoint, verify_checkpoint
from registry.entry import LogEntry
from registry.errors import ProofMalformed
from registry.merkle import leaf_hash, verify_inclusion
from registry.note import NoteVerifier
from registry.operations import ACCREDITATION_GRANT, ACCREDITATION_REVOKE, Operation
from registry.policy import WitnessPolicy, verify_cosigned_checkpoint
from registry.state import Accreditation

MAX_HISTORY = 10_000


@dataclass(frozen=True, slots=True)
class LedgerTrust:
    """What a client trusts: the log's key and origin, and who must cosign.

    `policy=None` trusts the log operator alone; only tests and single-agency
    pilots should run that way (`UNSAFE` in the name of the constructor).
    """

    origin: str
    log_verifier: NoteVerifier
    policy: WitnessPolicy | None
    max_checkpoint_age: timedelta | None = None

    @classmethod
    def unsafe_log_only(cls, origin: str, log_verifier: NoteVerifier) -> LedgerTrust:
        return cls(origin, log_verifier, None)


@dataclass(frozen=True, slots=True)
class ProvenEntry:
    entry: LogEntry
    operation: Operation


@dataclass(frozen=True, slots=True)
class ProvenEntries:
    checkpoint: Checkpoint
    note: str
    entries: tuple[ProvenEntry, ...]  # history first, the proof's head entry last


# (operation, leaf index, integrated time in ms), history first: what a proof carries.
Chain = Sequence[tuple[Operation, int, int]]


def accreditation_from_chain(chain: Chain, *, subject: str) -> Accreditation:
    """The accreditation a proven grant (and any later revocation of it) describes.

    The one builder for every client (the registry client, the verifier's
    engine): `chain[0]` must be an `accreditation.grant` to `subject`; the
    first `accreditation.revoke` of that grant in the rest of the chain sets
    `revoked_ms`. Raises `ProofMalformed` otherwise. Only call it with
    entries a proof has established (`verify_ledger_proof`).
    """
    if not chain:
        raise ProofMalformed("the proof holds no accreditation")
    grant, index, granted_ms = chain[0]
    payload = grant.payload
    if grant.type != ACCREDITATION_GRANT or payload.get("subject") != subject:
        raise ProofMalformed("the proven entry is not an accreditation of this DID")
    revoked_ms = next(
        (
            time_ms
            for op, _, time_ms in chain[1:]
            if op.type == ACCREDITATION_REVOKE and op.payload.get("accreditation") == grant.op_hash
        ),
        None,
    )
    return Accreditation(
        id=grant.op_hash,
        subject=subject,
        accreditor=grant.did,
        role=payload["role"],
        credential_types=tuple(payload["credentialTypes"]),
        claims=tuple(payload.get("claims", ())),
        valid_from=payload["validFrom"],
        valid_until=payload["validUntil"],
        granted_index=index,
        revoked_ms=revoked_ms,
        # Which key signed the grant, and when: a grant signed with a key later
        # marked compromised is judged by that key's record (registry.state).
        granted_by="#" + grant.kid.partition("#")[2],
        granted_ms=granted_ms,
    )


def chain_of(proven: ProvenEntries) -> list[tuple[Operation, int, int]]:
    """The proven entries as a `Chain`."""
    return [(p.operation, p.entry.index, p.entry.time_ms) for p in proven.entries]


def verify_checkpoint_note(note: str, *, trust: LedgerTrust, now: datetime | None) -> Checkpoint:
    """(1) The checkpoint, if the log signed it and the witness policy is met."""
    if trust.policy is None:
        return verify_checkpoint(note, origin=trust.origin, log_verifier=trust.log_verifier)
    return verify_cosigned_checkpoint(
        note,
        origin=trust.origin,
        log_verifier=trust.log_verifier,
        policy=trust.policy,
        now=now,
        max_age=trust.max_checkpoint_age,
    )


_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


def _count(value: Any, what: str) -> int:
    """A log index or size: a decimal string (method spec §7.2), or a JSON integer.

    Strings are what registries send since DID Core §7.3 ruled out numbers in
    metadata; integers are what they sent before. Either way the value is
    canonical (no sign, no leading zero, no fraction), so one number has one
    spelling.
    """
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ProofMalformed(f"the proof's {what} is not a decimal number")


def _proven_entry(item: Any, *, checkpoint: Checkpoint, origin: str) -> ProvenEntry:
    if not isinstance(item, Mapping):
        raise ProofMalformed("a proven entry is an object")
    index, path = _count(item.get("index"), "index"), item.get("inclusionPath")
    if not isinstance(path, list):
        raise ProofMalformed("a proven entry has an index and an inclusion path")
    raw = item.get("entry")
    if not isinstance(raw, str):
        raise ProofMalformed("a proven entry carries its entry bytes")
    try:
        data = b64url_decode(raw, what="the entry")
    except MalformedInput as exc:
        raise ProofMalformed("the entry is not base64url") from exc
    # (2) the entry's bytes are the leaf at `index` of the checkpoint's tree
    verify_inclusion(
        leaf_hash=leaf_hash(data),
        index=index,
        tree_size=checkpoint.size,
        proof=[b64_decode(p, what="an inclusion path", error=ProofMalformed) for p in path],
        root=checkpoint.root_hash,
    )
    entry, operation = _parse(data, origin)  # (3)
    if entry.index != index:
        raise ProofMalformed("the entry names another index than the one proven")
    return ProvenEntry(entry, operation)


# Parsing checks canonical JSON (RFC 8785) twice per entry, in pure Python:
# the same entry bytes, seen again and again by a verifier, are parsed once.
# Bounded: an entry is at most MAX_OPERATION_BYTES, so this holds <= 64 MiB.
@functools.lru_cache(maxsize=256)
def _parse(data: bytes, origin: str) -> tuple[LogEntry, Operation]:
    entry = LogEntry.parse(data)
    return entry, Operation.parse(entry.operation, ledger=origin)


def verify_ledger_proof(proof: Any, *, trust: LedgerTrust, now: datetime | None) -> ProvenEntries:
    """Verify a `ledgerProof` object; return its entries, history first.

    Raises `ledger.proof_malformed`, `ledger.inclusion_proof_invalid`,
    `note.*`, `checkpoint.*` or `witness.policy_unsatisfied`.
    """
    if not isinstance(proof, Mapping):
        raise ProofMalformed("the ledger proof is missing")
    note = proof.get("checkpoint")
    if not isinstance(note, str):
        raise ProofMalformed("the ledger proof carries no checkpoint")
    checkpoint = verify_checkpoint_note(note, trust=trust, now=now)  # (1)
    if _count(proof.get("treeSize"), "tree size") != checkpoint.size:
        raise ProofMalformed("the proof's tree size is not the checkpoint's")
    history = proof.get("history", [])
    if not isinstance(history, list) or len(history) > MAX_HISTORY:
        raise ProofMalformed("the proof's history is a bounded list")
    items: Sequence[Any] = [*history, proof]
    entries = tuple(_proven_entry(i, checkpoint=checkpoint, origin=trust.origin) for i in items)
    return ProvenEntries(checkpoint, note, entries)
