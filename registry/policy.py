"""What a client trusts: a checkpoint signed by the log and cosigned by a quorum of witnesses.

A counter never trusts the registry operator alone. It is configured with the
log's key, a set of witness keys and a quorum; a checkpoint counts only when
the log signed it and at least `quorum` distinct configured witnesses cosigned
it (tlog-cosignature: "Log clients can verify a quorum of cosignatures to
prevent split-view attacks"). Between two trusted checkpoints of one log,
`check_consistent_with` detects a rollback or a fork.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from cachetools import LRUCache

from registry.checkpoint import Checkpoint, open_checkpoint
from registry.cosignature import WitnessVerifier, cosignature_timestamp
from registry.errors import (
    CheckpointOriginMismatch,
    CheckpointRollback,
    WitnessPolicyInvalid,
    WitnessPolicyUnsatisfied,
)
from registry.merkle import verify_consistency
from registry.note import Note, NoteVerifier, ed25519_public_bytes, verify_signatures

# tlog-cosignature: verifiers MAY reject timestamps in the future. A little
# skew is allowed because witnesses' clocks are not ours.
DEFAULT_FUTURE_SKEW: Final = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class WitnessPolicy:
    """`quorum` of the configured `witnesses` must cosign. Each witness counts once."""

    witnesses: tuple[WitnessVerifier, ...]
    quorum: int

    def __init__(self, witnesses: Sequence[WitnessVerifier], quorum: int) -> None:
        object.__setattr__(self, "witnesses", tuple(witnesses))
        object.__setattr__(self, "quorum", quorum)
        keys = [w.public_bytes for w in self.witnesses]
        ids = [(w.name, w.key_id) for w in self.witnesses]
        # The same key twice would let one witness count as two.
        if len(set(keys)) != len(keys) or len(set(ids)) != len(ids):
            raise WitnessPolicyInvalid("a witness is configured twice")
        # A quorum of zero would trust the log operator alone; say so by not
        # allowing it, rather than by accepting it silently.
        if isinstance(quorum, bool) or not 1 <= quorum <= len(self.witnesses):
            raise WitnessPolicyInvalid("the quorum must be between 1 and the number of witnesses")


# Checking a checkpoint's signatures is a pure function of the note's exact text
# and the configured keys, and a verifier meets the same few checkpoints again
# and again (every ledger proof of a presentation carries one; cached evidence
# carries the same one for minutes). So signature checks that *succeeded* are
# remembered, keyed by the note text, the origin and every configured key
# (name and public key bytes); failures are never remembered, and the time
# rules (3) and the quorum (4) are applied at every call. Bounded LRU.
_SIGNATURES_CACHE_SIZE: Final = 256
_SignatureKey = tuple[str | bytes, str, str, bytes, tuple[tuple[str, bytes], ...]]
_Checked = tuple[Checkpoint, tuple[tuple[bytes, int], ...]]
_checked: LRUCache[_SignatureKey, _Checked] = LRUCache(maxsize=_SIGNATURES_CACHE_SIZE)
_checked_lock = threading.Lock()


def _signatures_checked(
    note_text: str | bytes, *, origin: str, log_verifier: NoteVerifier, policy: WitnessPolicy
) -> _Checked:
    """Steps (1) and (2): the checkpoint and each verified cosignature's (key, timestamp)."""
    key: _SignatureKey = (
        note_text,
        origin,
        log_verifier.name,
        ed25519_public_bytes(log_verifier.public_key),
        tuple((w.name, w.public_bytes) for w in policy.witnesses),
    )
    with _checked_lock:
        hit = _checked.get(key)
        if hit is not None:
            return hit
    note = Note.parse(note_text)
    checkpoint, _ = open_checkpoint(note, origin=origin, keys=[log_verifier])  # (1)
    stamps = []
    for cosig in verify_signatures(note, policy.witnesses):  # (2)
        assert isinstance(cosig.key, WitnessVerifier)  # verify_signatures returns our keys
        stamps.append((cosig.key.public_bytes, cosignature_timestamp(cosig.signature)))
    checked = (checkpoint, tuple(stamps))
    with _checked_lock:
        _checked[key] = checked
    return checked


def verify_cosigned_checkpoint(
    note_text: str | bytes,
    *,
    origin: str,
    log_verifier: NoteVerifier,
    policy: WitnessPolicy,
    now: datetime | None,
    max_age: timedelta | None = None,
    future_skew: timedelta = DEFAULT_FUTURE_SKEW,
) -> Checkpoint:
    """The checkpoint in `note_text`, if the log signed it and enough witnesses cosigned it.

    1. The log's signature must verify and the body must be a checkpoint of
       `origin` (`note.*`, `checkpoint.*`).
    2. Every line from a configured witness must verify (`cosignature.invalid`
       otherwise: a bad line from a known key rejects the note).
    3. With `now`, a cosignature counts only if its timestamp is not after
       `now + future_skew` and, with `max_age`, not before `now - max_age`.
    4. At least `policy.quorum` distinct witnesses must count
       (`witness.policy_unsatisfied`).
    """
    if max_age is not None and now is None:
        raise ValueError("max_age needs now")
    checkpoint, stamps = _signatures_checked(
        note_text, origin=origin, log_verifier=log_verifier, policy=policy
    )
    counted: set[bytes] = set()
    for public_bytes, moment in stamps:
        if now is not None:  # (3)
            if moment > (now + future_skew).timestamp():
                continue
            if max_age is not None and moment < (now - max_age).timestamp():
                continue
        counted.add(public_bytes)
    if len(counted) < policy.quorum:  # (4)
        raise WitnessPolicyUnsatisfied(
            f"{len(counted)} of the required {policy.quorum} witnesses cosigned this checkpoint"
            + (" recently enough" if now is not None else "")
        )
    return checkpoint


def check_consistent_with(previous: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raise unless `new` extends `previous`, both already trusted checkpoints of one log.

    Raises `checkpoint.origin_mismatch` for two logs, `checkpoint.rollback`
    when `new` is smaller, and `ledger.consistency_proof_invalid` when the
    proof does not hold, which with two signed checkpoints means a fork (or
    a wrong proof: keep both checkpoints as evidence either way).
    """
    if previous.origin != new.origin:
        raise CheckpointOriginMismatch("the two checkpoints are for different logs")
    if new.size < previous.size:
        raise CheckpointRollback("the new checkpoint is smaller than one already trusted")
    verify_consistency(
        old_size=previous.size,
        new_size=new.size,
        old_root=previous.root_hash,
        new_root=new.root_hash,
        proof=proof,
    )
