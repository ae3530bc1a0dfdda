"""The auditor: an honest log passes with the right counts; each tampering is named by its code.

The pure `Auditor` is fed logs built here with real signatures; the HTTP tests
run a real registry on loopback and tamper with its SQLite file underneath it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from did.status_list import StatusList
from did.status_list_token import build_status_list_token
from registry import authoring
from registry.audit import Auditor, AuditReport, render_report
from registry.authoring import Keyring, op_hash_of
from registry.checkpoint import Checkpoint, sign_checkpoint
from registry.cosignature import CosignatureSigner, WitnessVerifier
from registry.entry import LogEntry
from registry.merkle import InMemoryTree
from registry.note import Note, NoteSignature, NoteSigner
from registry.operations import canonical_json, sign_operation
from registry.policy import WitnessPolicy

ORIGIN = "govid.example/registry"
FOREVER = 2**40
T0 = 1_700_000_000_000
CIVIL = "https://govid.example/vct/civil"
LIST_URI = "https://civil.example/status/1"


def _status_token(keyring: Keyring, uri: str) -> str:
    return build_status_list_token(
        StatusList.new(1024, 1),
        key=keyring.signing_key(),
        uri=uri,
        iat=1_700_000_000,
        kid=keyring.signing_kid,
    )


@dataclass(frozen=True)
class History:
    """A realistic honest history: the operations and the root keyring after entry 2."""

    operations: tuple[str, ...]
    root_after_grant: Keyring


def _history() -> History:
    root, create_root = authoring.create_did(ledger=ORIGIN)
    agency, create_agency = authoring.create_did(ledger=ORIGIN)
    root, grant_issuer = authoring.grant(
        root,
        subject=agency.did,
        role="issuer",
        credential_types=[CIVIL],
        valid_from=0,
        valid_until=FOREVER,
    )
    root_after_grant = root
    agency, publish_1 = authoring.publish_status_list(
        agency,
        uri=LIST_URI,
        sequence=1,
        token=_status_token(agency, LIST_URI),
        credential_types=[CIVIL],
    )
    agency, rotation = authoring.rotate(agency)
    counter, create_counter = authoring.create_did(ledger=ORIGIN)
    root, grant_verifier = authoring.grant(
        root,
        subject=counter.did,
        role="verifier",
        credential_types=[CIVIL],
        valid_from=0,
        valid_until=FOREVER,
    )
    root, revoke = authoring.revoke_accreditation(root, accreditation=op_hash_of(grant_verifier))
    # After the rotation the list is signed with the agency's new key, #key-2.
    agency, publish_2 = authoring.publish_status_list(
        agency,
        uri=LIST_URI,
        sequence=2,
        token=_status_token(agency, LIST_URI),
        credential_types=[CIVIL],
    )
    counter, deactivation = authoring.deactivate(counter)
    operations = (
        create_root,  # 0
        create_agency,  # 1
        grant_issuer,  # 2
        publish_1,  # 3
        rotation,  # 4
        create_counter,  # 5
        grant_verifier,  # 6
        revoke,  # 7
        publish_2,  # 8
        deactivation,  # 9
    )
    return History(operations, root_after_grant)


def _entries(operations: Sequence[str], times: Sequence[int] | None = None) -> list[bytes]:
    times = times or [T0 + 1000 * i for i in range(len(operations))]
    pairs = enumerate(zip(operations, times, strict=True))
    return [LogEntry(i, t, op).to_bytes() for i, (op, t) in pairs]


def _notes(entries: Sequence[bytes], signer: NoteSigner, sizes: Sequence[int]) -> list[str]:
    """Checkpoints over `entries` signed by `signer`: what the log operator publishes."""
    tree = InMemoryTree()
    for data in entries:
        tree.append(data)
    return [sign_checkpoint(Checkpoint(ORIGIN, s, tree.root(s)), signer=signer) for s in sizes]


def _audit(
    entries: Sequence[bytes],
    notes: Sequence[str],
    signer: NoteSigner,
    *,
    policy: WitnessPolicy | None = None,
    witnesses: Sequence[WitnessVerifier] = (),
) -> AuditReport:
    auditor = Auditor(
        origin=ORIGIN, log_verifier=signer.verifier(), policy=policy, witnesses=witnesses
    )
    for note in notes:
        auditor.add_checkpoint(note)
    for data in entries:
        auditor.add_entry(data)
    return auditor.report()


def _found(report: AuditReport) -> list[tuple[str, str]]:
    return [(v.code, v.where) for v in report.violations]


# --- the honest log --------------------------------------------------------------------


def test_honest_log_passes_with_counts(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    report = _audit(entries, _notes(entries, log_signer, [1, 3, 6, 10]), log_signer)
    assert report.ok, report.violations
    assert (report.entries, report.dids, report.deactivated_dids) == (10, 3, 1)
    assert (report.accreditations, report.revoked_accreditations) == (2, 1)
    assert (report.status_lists, report.status_list_publications) == (1, 2)
    assert (report.checkpoints, report.checkpoints_verified, report.largest_verified_size) == (
        4,
        4,
        10,
    )
    assert report.operations == {
        "accreditation.grant": 2,
        "accreditation.revoke": 1,
        "did.create": 3,
        "did.deactivate": 1,
        "did.update": 1,
        "status_list.publish": 2,
    }
    assert not report.trust_on_first_use and report.quorum is None


def test_report_is_pure_and_can_be_taken_midway(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    auditor = Auditor(origin=ORIGIN, log_verifier=log_signer.verifier())
    for note in _notes(entries, log_signer, [4, 10]):
        auditor.add_checkpoint(note)
    for data in entries[:5]:
        auditor.add_entry(data)
    midway = auditor.report()
    assert midway == auditor.report()
    assert _found(midway) == [("audit.checkpoint_beyond_log", "checkpoint 10")]
    for data in entries[5:]:
        auditor.add_entry(data)
    assert auditor.report().ok


# --- tampered entries ----------------------------------------------------------------


def test_altered_entry_breaks_the_roots_after_it(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    notes = _notes(entries, log_signer, [3, 6, 10])
    served = list(entries)
    obj = json.loads(served[4])
    obj["time"] += 1  # still a canonical entry, still in time order: only the bytes differ
    served[4] = canonical_json(obj)
    assert _found(_audit(served, notes, log_signer)) == [
        ("audit.root_mismatch", "checkpoint 6"),
        ("audit.root_mismatch", "checkpoint 10"),
    ]


def test_removed_entry_is_one_index_gap(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    notes = _notes(entries, log_signer, [3, 6, 9, 10])
    served = entries[:6] + entries[7:]  # the verifier's grant (entry 6) is gone
    assert _found(_audit(served, notes, log_signer)) == [
        ("audit.index_gap", "entry 6"),
        # The root's revocation named the missing grant as its `prev`.
        ("ledger.prev_mismatch", "entry 6"),
        ("audit.root_mismatch", "checkpoint 9"),
        ("audit.checkpoint_beyond_log", "checkpoint 10"),
    ]


def test_rule_breaking_entry_signed_into_the_log(history: History, log_signer: NoteSigner) -> None:
    # The operator itself inserts an update of the root signed by a document
    # key (not an update key) and signs checkpoints over it: only replaying
    # the rules can catch that.
    root = history.root_after_grant
    payload = {
        "type": "did.update",
        "ledger": ORIGIN,
        "did": root.did,
        "prev": root.head,
        "compromised": ["#key-1"],
    }
    forged = sign_operation(payload, root.signing_key(), kid=root.signing_kid)
    operations = [*history.operations[:3], forged, *history.operations[3:]]
    entries = _entries(operations)
    report = _audit(entries, _notes(entries, log_signer, [3, 4, 11]), log_signer)
    assert _found(report) == [("ledger.operation_not_authorized", "entry 3")]
    assert report.entries == 11 and report.operations["did.update"] == 1


def test_time_going_backwards(history: History, log_signer: NoteSigner) -> None:
    times = [T0 + 1000 * i for i in range(10)]
    times[6] = times[5] - 1
    entries = _entries(history.operations, times)
    report = _audit(entries, _notes(entries, log_signer, [10]), log_signer)
    assert _found(report) == [("audit.time_regression", "entry 6")]


def test_genesis_must_create_the_root(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations[2:])  # renumbered: a grant comes first
    found = _found(_audit(entries, _notes(entries, log_signer, [8]), log_signer))
    assert found[0] == ("audit.genesis_not_create", "entry 0")


def test_duplicated_entry_reuses_an_index(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    served = [*entries[:4], entries[3], *entries[4:]]
    found = _found(_audit(served, _notes(served, log_signer, [11]), log_signer))
    assert found == [
        ("audit.index_reused", "entry 4"),
        ("ledger.operation_duplicate", "entry 4"),
    ]


@pytest.mark.parametrize(
    ("name", "tamper", "code"),
    [
        ("not-canonical", lambda b: b.replace(b'"index":', b'"index": '), "ledger.entry_invalid"),
        ("trailing-garbage", lambda b: b + b"x", "ledger.operation_malformed"),
        ("deeply-nested", lambda b: b"[" * 100_000, "ledger.operation_malformed"),
        ("other-ledger", None, "ledger.operation_malformed"),
    ],
)
def test_malformed_entry_is_reported_and_the_audit_goes_on(
    history: History, log_signer: NoteSigner, name: str, tamper: Any, code: str
) -> None:
    entries = _entries(history.operations)
    if tamper is None:
        _, other = authoring.create_did(ledger="other.example/log")
        entries[5] = LogEntry(5, T0 + 5000, other).to_bytes()
    else:
        entries[5] = tamper(entries[5])
    report = _audit(entries, _notes(entries, log_signer, [10]), log_signer)
    found = _found(report)
    assert found[0] == (code, "entry 5"), name
    assert report.entries == 10
    # Entry 5 created the counter's DID: its later operations are refused in turn.
    assert {c for c, _ in found[1:]} <= {"ledger.did_unknown", "ledger.prev_mismatch"}


# --- tampered checkpoints --------------------------------------------------------------


def test_checkpoint_with_a_wrong_root(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    tree = InMemoryTree()
    for data in entries:
        tree.append(data)
    bad = sign_checkpoint(Checkpoint(ORIGIN, 6, tree.root(5)), signer=log_signer)
    notes = [*_notes(entries, log_signer, [3]), bad, *_notes(entries, log_signer, [10])]
    report = _audit(entries, notes, log_signer)
    assert _found(report) == [("audit.root_mismatch", "checkpoint 6")]
    assert (report.checkpoints, report.checkpoints_verified) == (3, 2)


def test_checkpoint_signed_by_another_key(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    impostor = NoteSigner.generate(ORIGIN)  # same name, another key: another key ID
    notes = _notes(entries, log_signer, [3]) + _notes(entries, impostor, [10])
    assert _found(_audit(entries, notes, log_signer)) == [("note.unknown_key", "checkpoint 10")]


def test_checkpoint_with_a_bad_log_signature(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    (note,) = _notes(entries, log_signer, [10])
    parsed = Note.parse(note)
    (line,) = parsed.signatures
    flipped = bytes([line.signature[0] ^ 1]) + line.signature[1:]
    forged = Note(parsed.unverified_text, (NoteSignature(line.name, line.key_id, flipped),))
    report = _audit(entries, [forged.to_text()], log_signer)
    assert _found(report) == [
        ("note.signature_invalid", "checkpoint 10"),
        ("audit.no_checkpoint", "log"),
    ]


def test_checkpoint_larger_than_the_log(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    notes = _notes(entries, log_signer, [3, 10])
    report = _audit(entries[:8], notes, log_signer)
    assert _found(report) == [("audit.checkpoint_beyond_log", "checkpoint 10")]
    assert report.largest_verified_size == 3


def test_checkpoint_size_going_down(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    notes = _notes(entries, log_signer, [6, 3, 10])
    assert _found(_audit(entries, notes, log_signer)) == [("checkpoint.rollback", "checkpoint 3")]


def test_no_checkpoint_is_a_violation(history: History, log_signer: NoteSigner) -> None:
    report = _audit(_entries(history.operations), [], log_signer)
    assert _found(report) == [("audit.no_checkpoint", "log")]


# --- witnesses -------------------------------------------------------------------------


def _witness(name: str) -> CosignatureSigner:
    return CosignatureSigner(name, Ed25519PrivateKey.generate())


def _cosigned(note: str, *witnesses: CosignatureSigner) -> str:
    parsed = Note.parse(note)
    checkpoint = Checkpoint.parse(parsed.unverified_text)
    now = datetime(2024, 1, 1, tzinfo=UTC)
    return parsed.with_signatures([w.cosign(checkpoint, now=now) for w in witnesses]).to_text()


def test_cosignatures_meet_the_policy(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    alpha, beta = _witness("alpha.example"), _witness("beta.example")
    notes = [_cosigned(n, alpha, beta) for n in _notes(entries, log_signer, [3, 10])]
    policy = WitnessPolicy([alpha.verifier(), beta.verifier()], quorum=2)
    report = _audit(entries, notes, log_signer, policy=policy)
    assert report.ok, report.violations
    assert report.cosignatures == 4 and report.quorum == 2
    assert sorted(report.cosignatures_by_witness.values()) == [2, 2]


def test_too_few_cosignatures_break_the_policy(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    alpha, beta = _witness("alpha.example"), _witness("beta.example")
    notes = _notes(entries, log_signer, [3, 10])
    notes = [_cosigned(notes[0], alpha, beta), _cosigned(notes[1], alpha)]
    policy = WitnessPolicy([alpha.verifier(), beta.verifier()], quorum=2)
    report = _audit(entries, notes, log_signer, policy=policy)
    assert _found(report) == [("witness.policy_unsatisfied", "checkpoint 10")]


def test_without_a_policy_cosignatures_are_counted_per_witness(
    history: History, log_signer: NoteSigner
) -> None:
    entries = _entries(history.operations)
    alpha, beta, stranger = (_witness(n) for n in ("alpha.example", "beta.example", "x.example"))
    notes = _notes(entries, log_signer, [3, 6, 10])
    notes = [_cosigned(notes[0], alpha), _cosigned(notes[1], alpha, stranger), notes[2]]
    report = _audit(entries, notes, log_signer, witnesses=[alpha.verifier(), beta.verifier()])
    assert report.ok and report.cosignatures == 2
    by_name = {label.split("+")[0]: n for label, n in report.cosignatures_by_witness.items()}
    assert by_name == {"alpha.example": 2, "beta.example": 0}


def test_forged_cosignature_is_reported(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    alpha, beta = _witness("alpha.example"), _witness("beta.example")
    (note,) = _notes(entries, log_signer, [10])
    cosigned = Note.parse(_cosigned(note, alpha, beta))
    log_line, alpha_line, beta_line = cosigned.signatures
    flipped = alpha_line.signature[:-1] + bytes([alpha_line.signature[-1] ^ 0x01])
    bad = NoteSignature(alpha_line.name, alpha_line.key_id, flipped)
    forged = Note(cosigned.unverified_text, (log_line, bad, beta_line)).to_text()
    policy = WitnessPolicy([alpha.verifier(), beta.verifier()], quorum=1)
    report = _audit(entries, [forged], log_signer, policy=policy)
    # The forged line is reported; beta's good line still counts toward the quorum.
    assert _found(report) == [("cosignature.invalid", "checkpoint 10")]
    assert report.cosignatures == 1


# --- the summary -----------------------------------------------------------------------


def test_render_report(history: History, log_signer: NoteSigner) -> None:
    entries = _entries(history.operations)
    notes = _notes(entries, log_signer, [10])
    text = render_report(_audit(entries, notes, log_signer))
    assert "entries: 10" in text and "DIDs: 3 (1 deactivated)" in text
    assert text.rstrip().endswith("every checkpoint matches the log.")
    times = [T0 + 1000 * i for i in range(10)]
    times[6] = T0
    bad = _entries(history.operations, times)
    text = render_report(_audit(bad, _notes(bad, log_signer, [10]), log_signer))
    assert "FAILED: 1 violations." in text
    assert "entry 6: audit.time_regression:" in text


def test_render_report_caps_the_list(history: History, log_signer: NoteSigner) -> None:
    entries = [b"junk"] * 60
    text = render_report(_audit(entries, [], log_signer))
    assert "... and 11 more" in text
