"""C2SP tlog-witness add-checkpoint: the spec's example bodies and every decision rule."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from did.errors import (
    Conflict,
    Forbidden,
    GovidError,
    MalformedInput,
    NotFound,
    VerificationFailed,
)
from registry.checkpoint import Checkpoint, sign_checkpoint
from registry.errors import WitnessSizeMismatch
from registry.merkle import EMPTY_ROOT, InMemoryTree, leaf_hash
from registry.note import Note, NoteSignature, NoteSigner, NoteVerifier, sign_note
from registry.witness_protocol import (
    MAX_PROOF_LINES,
    MAX_REQUEST_BYTES,
    AddCheckpointRequest,
    decide_add_checkpoint,
    format_add_checkpoint_response,
    format_size_conflict,
    parse_add_checkpoint_response,
    parse_size_conflict,
)

_SPEC = "merkle-tlog/c2sp/tlog-witness.md"
ORIGIN = "govid.example/ledger"
LOG = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x11" * 32))
KNOWN: dict[str, NoteVerifier] = {ORIGIN: LOG.verifier()}

# The HTTP statuses tlog-witness prescribes, reached through the error families.
_STATUS = ((MalformedInput, 400), (Forbidden, 403), (NotFound, 404), (Conflict, 409))


def _status(exc: GovidError) -> int:
    return next((s for kind, s in _STATUS if isinstance(exc, kind)), 422)


def _indented_block(markdown: str, first_line: str) -> str:
    """The spec's 4-space indented block starting at `first_line` (blank lines kept)."""
    lines = markdown.split("\n")
    block: list[str] = []
    for line in lines[lines.index("    " + first_line) :]:
        if line and not line.startswith("    "):
            break
        block.append(line[4:])
    while block and not block[-1]:
        block.pop()
    return "".join(line + "\n" for line in block)


def test_spec_example_request_parses_and_round_trips(vector_text: Callable[[str], str]) -> None:
    body = _indented_block(vector_text(_SPEC), "old 20852014").encode()
    request = AddCheckpointRequest.parse(body)
    assert request.old_size == 20852014
    assert len(request.proof) == 4
    note = Note.parse(request.unverified_checkpoint)
    assert Checkpoint.parse(note.unverified_text).size == 20852163
    assert len(note.signatures) == 2
    assert request.to_bytes() == body


def test_spec_example_response_parses(vector_text: Callable[[str], str]) -> None:
    spec = vector_text(_SPEC)
    body = _indented_block(spec, spec.split("Example response body:\n\n    ", 1)[1].split("\n")[0])
    lines = parse_add_checkpoint_response(body.encode())
    assert [s.name for s in lines] == [
        "witness.example/w1",
        "witness.example/w1",
        "witness.example/w2",
    ]
    assert format_add_checkpoint_response(lines) == body


_HASH = "A" * 43 + "="


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("empty", b""),
        ("no-old-line", f"{_HASH}\n\nnote\n".encode()),
        ("old-capitalised", b"Old 5\n\nnote\n"),
        ("old-leading-zero", b"old 05\n\nnote\n"),
        ("old-negative", b"old -5\n\nnote\n"),
        ("old-two-spaces", b"old  5\n\nnote\n"),
        ("old-past-uint64", b"old 18446744073709551616\n\nnote\n"),
        ("old-unicode-digit", "old \u0665\n\nnote\n".encode()),
        ("no-blank-line", f"old 5\n{_HASH}\n".encode()),
        ("proof-not-base64", b"old 5\nnot base64!\n\nnote\n"),
        ("proof-31-bytes", f"old 5\n{'A' * 42}==\n\nnote\n".encode()),
        ("proof-crlf", f"old 5\r\n{_HASH}\r\n\r\nnote\n".encode()),
        ("64-proof-lines", ("old 5\n" + f"{_HASH}\n" * 64 + "\nnote\n").encode()),
        ("not-utf8", b"old 5\n\n\xff\n"),
        ("too-large", b"old 5\n\n" + b"a" * MAX_REQUEST_BYTES),
    ],
)
def test_malformed_requests_are_400(name: str, body: bytes) -> None:
    with pytest.raises(GovidError) as info:
        AddCheckpointRequest.parse(body)
    assert info.value.code == "witness.request_malformed"
    assert _status(info.value) == 400


def test_63_proof_lines_are_accepted() -> None:
    body = ("old 5\n" + f"{_HASH}\n" * MAX_PROOF_LINES + "\nnote\n").encode()
    assert len(AddCheckpointRequest.parse(body).proof) == MAX_PROOF_LINES


# --- decisions --------------------------------------------------------------------


def _log(size: int) -> InMemoryTree:
    tree = InMemoryTree()
    for i in range(size):
        tree.append(b"op-%d" % i)
    return tree


def _signed(size: int, tree: InMemoryTree, signer: NoteSigner = LOG) -> str:
    return sign_checkpoint(Checkpoint(ORIGIN, size, tree.root(size)), signer=signer)


def _request(old: int, proof: list[bytes], note: str) -> AddCheckpointRequest:
    # Through the wire format, as the HTTP adapter will do.
    return AddCheckpointRequest.parse(AddCheckpointRequest(old, tuple(proof), note).to_bytes())


def test_first_checkpoint_and_updates_are_cosigned() -> None:
    tree = _log(9)
    first = decide_add_checkpoint(
        request=_request(0, [], _signed(5, tree)), known_logs=KNOWN, state=None
    )
    assert (first.size, first.root_hash) == (5, tree.root(5))
    update = decide_add_checkpoint(
        request=_request(5, tree.consistency_proof(5, 9), _signed(9, tree)),
        known_logs=KNOWN,
        state=(5, tree.root(5)),
    )
    assert update == Checkpoint(ORIGIN, 9, tree.root(9))
    same = decide_add_checkpoint(
        request=_request(9, [], _signed(9, tree)), known_logs=KNOWN, state=(9, tree.root(9))
    )
    assert same == update
    empty = decide_add_checkpoint(
        request=_request(0, [], _signed(0, tree)), known_logs=KNOWN, state=None
    )
    assert empty.root_hash == EMPTY_ROOT


def test_every_rule_rejects_with_its_code_and_status() -> None:
    tree, fork = _log(9), InMemoryTree()
    for i in range(9):
        fork.append(b"forked-%d" % i if i >= 2 else b"op-%d" % i)
    stranger = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x12" * 32))
    good9 = _signed(9, tree)
    proof = tree.consistency_proof(5, 9)
    state5 = (5, tree.root(5))
    tampered_sig = good9.replace("\n9\n", "\n8\n")
    sig = Note.parse(good9).signatures[0]
    flipped = NoteSignature(sig.name, sig.key_id, bytes([sig.signature[0] ^ 1]) + sig.signature[1:])
    bad_line = good9 + flipped.to_line()
    zero_with_root = sign_checkpoint(Checkpoint(ORIGIN, 0, tree.root(1)), signer=LOG)
    cases: list[tuple[str, AddCheckpointRequest, tuple[int, bytes] | None, str, int]] = [
        ("note-malformed", _request(5, proof, "no signatures\n"), state5, "note.malformed", 400),
        (
            "unknown-log",
            _request(5, proof, good9.replace(ORIGIN, "other.example/log")),
            state5,
            "witness.unknown_log",
            404,
        ),
        (
            "other-key",
            _request(5, proof, _signed(9, tree, stranger)),
            state5,
            "witness.log_signature_rejected",
            403,
        ),
        (
            "tampered-checkpoint",
            _request(5, proof, tampered_sig),
            state5,
            "witness.log_signature_rejected",
            403,
        ),
        (
            "good-and-bad-line",
            _request(5, proof, bad_line),
            state5,
            "witness.log_signature_rejected",
            403,
        ),
        (
            "not-a-checkpoint",
            _request(5, proof, sign_note(f"{ORIGIN}\nnine\n", [LOG])),
            state5,
            "checkpoint.malformed",
            400,
        ),
        (
            "old-past-size",
            _request(10, [], good9),
            (10, tree.root(9)),
            "witness.old_size_invalid",
            400,
        ),
        (
            "old-not-stored",
            _request(4, tree.consistency_proof(4, 9), good9),
            state5,
            "witness.size_mismatch",
            409,
        ),
        ("old-without-state", _request(5, proof, good9), None, "witness.size_mismatch", 409),
        (
            "empty-tree-root",
            _request(0, [], zero_with_root),
            None,
            "checkpoint.empty_root_invalid",
            422,
        ),
        (
            "proof-from-zero",
            _request(0, [tree.root(1)], good9),
            None,
            "ledger.consistency_proof_invalid",
            422,
        ),
        (
            "bad-proof",
            _request(5, [*proof[:-1], proof[0]], good9),
            state5,
            "ledger.consistency_proof_invalid",
            422,
        ),
        (
            "fork",
            _request(5, fork.consistency_proof(5, 9), _signed(9, fork)),
            state5,
            "ledger.consistency_proof_invalid",
            422,
        ),
        (
            "same-size-other-root",
            _request(9, [], _signed(9, fork)),
            (9, tree.root(9)),
            "ledger.consistency_proof_invalid",
            422,
        ),
    ]
    for name, request, state, code, status in cases:
        with pytest.raises(GovidError) as info:
            decide_add_checkpoint(request=request, known_logs=KNOWN, state=state)
        assert (info.value.code, _status(info.value)) == (code, status), name


def test_size_mismatch_carries_the_current_size() -> None:
    tree = _log(9)
    with pytest.raises(WitnessSizeMismatch) as info:
        decide_add_checkpoint(
            request=_request(0, [], _signed(9, tree)), known_logs=KNOWN, state=(7, tree.root(7))
        )
    assert info.value.current_size == 7
    assert isinstance(info.value, Conflict) and not isinstance(info.value, VerificationFailed)
    body = format_size_conflict(info.value.current_size)
    assert body == "7\n" and parse_size_conflict(body.encode()) == 7
    for bad in (b"7", b"07\n", b"-1\n", b"\n"):
        with pytest.raises(MalformedInput):
            parse_size_conflict(bad)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=6))
def test_a_witness_follows_an_honest_log(sizes: list[int]) -> None:
    tree = _log(max(sizes))
    state: tuple[int, bytes] | None = None
    for size in sorted(sizes):
        old = 0 if state is None else state[0]
        request = _request(old, tree.consistency_proof(old, size), _signed(size, tree))
        checkpoint = decide_add_checkpoint(request=request, known_logs=KNOWN, state=state)
        state = (checkpoint.size, checkpoint.root_hash)
    assert state == (max(sizes), tree.root(max(sizes)))


def test_request_constructor_checks_fields() -> None:
    for old, proof in ((-1, ()), (0, (b"short",)), (0, (leaf_hash(b"x"),) * 64)):
        with pytest.raises(MalformedInput):
            AddCheckpointRequest(old, proof, "note\n")
    with pytest.raises(ValueError):
        format_add_checkpoint_response([])
    with pytest.raises(MalformedInput):
        parse_add_checkpoint_response(b"\xff\n")
