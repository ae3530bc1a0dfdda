"""Client witness policy: log signature, a quorum of distinct fresh cosignatures, and
rollback/fork detection between trusted checkpoints."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from did.errors import GovidError
from registry.checkpoint import Checkpoint, sign_checkpoint
from registry.cosignature import CosignatureSigner, WitnessVerifier
from registry.merkle import InMemoryTree
from registry.note import Note, NoteSignature, NoteSigner
from registry.policy import WitnessPolicy, check_consistent_with, verify_cosigned_checkpoint

ORIGIN = "govid.example/ledger"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
LOG = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x21" * 32))
WITNESSES = [
    CosignatureSigner(
        f"witness.example/w{i}", Ed25519PrivateKey.from_private_bytes(bytes([i]) * 32)
    )
    for i in range(1, 5)
]
POLICY = WitnessPolicy([w.verifier() for w in WITNESSES[:3]], quorum=2)  # w4 is not trusted


def _tree(entries: Sequence[bytes]) -> InMemoryTree:
    tree = InMemoryTree()
    for entry in entries:
        tree.append(entry)
    return tree


TREE = _tree([b"op-%d" % i for i in range(12)])
CHECKPOINT = Checkpoint(ORIGIN, 12, TREE.root())


def _cosigned(lines: Sequence[tuple[int, timedelta]], checkpoint: Checkpoint = CHECKPOINT) -> str:
    """The log's note plus a cosignature by WITNESSES[i] made at NOW - age, per line."""
    note = Note.parse(sign_checkpoint(checkpoint, signer=LOG))
    cosigs = [WITNESSES[i].cosign(checkpoint, now=NOW - age) for i, age in lines]
    return note.with_signatures(cosigs).to_text()


def _code(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    with pytest.raises(GovidError) as info:
        call(*args, **kwargs)
    return info.value.code


_UNSET = timedelta(hours=1)


def _verify(
    note: str,
    *,
    origin: str = ORIGIN,
    policy: WitnessPolicy = POLICY,
    now: datetime | None = NOW,
    max_age: timedelta | None = _UNSET,
) -> Checkpoint:
    return verify_cosigned_checkpoint(
        note, origin=origin, log_verifier=LOG.verifier(), policy=policy, now=now, max_age=max_age
    )


_FRESH = timedelta(minutes=1)


def test_quorum_of_fresh_cosignatures_is_accepted() -> None:
    assert _verify(_cosigned([(0, _FRESH), (2, _FRESH)])) == CHECKPOINT
    assert _verify(_cosigned([(0, _FRESH), (1, _FRESH), (2, _FRESH), (3, _FRESH)])) == CHECKPOINT


def test_policy_failures_carry_their_code() -> None:
    stale = timedelta(hours=2)
    future = -timedelta(hours=1)
    log_only_witnesses = Note.parse(_cosigned([(0, _FRESH), (1, _FRESH)]))
    witnesses_only = Note(
        log_only_witnesses.unverified_text, log_only_witnesses.signatures[1:]
    ).to_text()
    good = _cosigned([(0, _FRESH), (1, _FRESH)])
    bad_cosig = Note.parse(good).signatures[2]
    flipped = NoteSignature(
        bad_cosig.name,
        bad_cosig.key_id,
        bad_cosig.signature[:-1] + bytes([bad_cosig.signature[-1] ^ 1]),
    )
    cases = {
        "one-witness": (_cosigned([(0, _FRESH)]), "witness.policy_unsatisfied"),
        "same-witness-twice": (
            _cosigned([(0, _FRESH), (0, timedelta(minutes=2))]),
            "witness.policy_unsatisfied",
        ),
        "untrusted-witness": (_cosigned([(0, _FRESH), (3, _FRESH)]), "witness.policy_unsatisfied"),
        "one-stale": (_cosigned([(0, _FRESH), (1, stale)]), "witness.policy_unsatisfied"),
        "one-from-the-future": (
            _cosigned([(0, _FRESH), (1, future)]),
            "witness.policy_unsatisfied",
        ),
        "bad-cosignature-beside-a-quorum": (
            Note.parse(_cosigned([(0, _FRESH), (1, _FRESH)])).with_signatures([flipped]).to_text(),
            "cosignature.invalid",
        ),
        "no-log-signature": (witnesses_only, "note.unknown_key"),
        "tampered-size": (good.replace("\n12\n", "\n13\n"), "note.signature_invalid"),
    }
    for name, (note, code) in cases.items():
        assert _code(_verify, note) == code, name
    assert _code(_verify, good, origin="govid.example/other") == "checkpoint.origin_mismatch"


def test_freshness_is_only_checked_when_asked() -> None:
    old = _cosigned([(0, timedelta(days=30)), (1, timedelta(days=30))])
    assert _verify(old, now=None, max_age=None) == CHECKPOINT
    assert _verify(old, max_age=None) == CHECKPOINT  # now given: only the future is refused
    assert _code(_verify, old) == "witness.policy_unsatisfied"
    with pytest.raises(ValueError):
        _verify(old, now=None)


def test_bad_policies_are_refused() -> None:
    w = [s.verifier() for s in WITNESSES]
    same_key_new_name = WitnessVerifier("witness.example/alias", w[0].public_key)
    for witnesses, quorum in (
        (w[:2], 0),
        (w[:2], 3),
        (w[:2], True),
        ([w[0], w[0]], 1),
        ([w[0], same_key_new_name], 1),
        ([], 1),
    ):
        assert _code(WitnessPolicy, witnesses, quorum) == "witness.policy_invalid"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=6), st.integers(1, 3))
def test_accepted_exactly_when_enough_distinct_trusted_witnesses_cosign(
    cosigners: list[int], quorum: int
) -> None:
    policy = WitnessPolicy([w.verifier() for w in WITNESSES[:3]], quorum=quorum)
    note = _cosigned([(i, _FRESH) for i in cosigners])
    trusted = len({i for i in cosigners if i < 3})
    if trusted >= quorum:
        assert _verify(note, policy=policy) == CHECKPOINT
    else:
        assert _code(_verify, note, policy=policy) == "witness.policy_unsatisfied"


def test_consistency_between_trusted_checkpoints() -> None:
    old = Checkpoint(ORIGIN, 7, TREE.root(7))
    check_consistent_with(old, CHECKPOINT, TREE.consistency_proof(7, 12))
    check_consistent_with(CHECKPOINT, CHECKPOINT, [])
    fork_tree = _tree([b"op-%d" % i if i != 3 else b"rewritten" for i in range(12)])
    forked = Checkpoint(ORIGIN, 12, fork_tree.root())
    cases = [
        ("rollback", CHECKPOINT, old, [], "checkpoint.rollback"),
        (
            "fork",
            old,
            forked,
            fork_tree.consistency_proof(7, 12),
            "ledger.consistency_proof_invalid",
        ),
        ("same-size-fork", CHECKPOINT, forked, [], "ledger.consistency_proof_invalid"),
        (
            "other-log",
            old,
            Checkpoint("other.example/log", 12, TREE.root()),
            TREE.consistency_proof(7, 12),
            "checkpoint.origin_mismatch",
        ),
        (
            "wrong-proof",
            old,
            CHECKPOINT,
            TREE.consistency_proof(6, 12),
            "ledger.consistency_proof_invalid",
        ),
    ]
    for name, previous, new, proof, code in cases:
        assert _code(check_consistent_with, previous, new, proof) == code, name
