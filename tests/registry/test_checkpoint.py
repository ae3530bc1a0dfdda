"""C2SP tlog-checkpoint: the spec's example, strict parsing, signing and verification."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from did.errors import GovidError
from registry.checkpoint import Checkpoint, sign_checkpoint, verify_checkpoint
from registry.errors import (
    CheckpointMalformed,
    CheckpointOriginMismatch,
    NoteSignatureInvalid,
    NoteUnknownKey,
)
from registry.merkle import EMPTY_ROOT, leaf_hash
from registry.note import Note, NoteSigner, sign_note

ORIGIN = "govid.example/ledger"
ROOT = leaf_hash(b"root")


def _signer(name: str = ORIGIN, seed: int = 7) -> NoteSigner:
    return NoteSigner(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def _code(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    with pytest.raises(GovidError) as info:
        call(*args, **kwargs)
    return info.value.code


def _first_code_block(markdown: str) -> str:
    return markdown.split("```\n", 2)[1]


def test_tlog_checkpoint_spec_example_parses(vector_text: Callable[[str], str]) -> None:
    signed = _first_code_block(vector_text("merkle-tlog/c2sp/tlog-checkpoint.md"))
    note = Note.parse(signed)
    checkpoint = Checkpoint.parse(note.unverified_text)
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert checkpoint.root_hash.hex().startswith("0ac5186a")
    assert checkpoint.extensions == ()
    assert checkpoint.to_text() == note.unverified_text
    assert [s.name for s in note.signatures] == ["example.com/behind-the-sofa"]


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("leading-zero", f"{ORIGIN}\n020\n{'A' * 43}=\n"),
        ("plus-sign", f"{ORIGIN}\n+20\n{'A' * 43}=\n"),
        ("minus-sign", f"{ORIGIN}\n-1\n{'A' * 43}=\n"),
        ("space-in-size", f"{ORIGIN}\n 20\n{'A' * 43}=\n"),
        ("underscore-in-size", f"{ORIGIN}\n1_000\n{'A' * 43}=\n"),
        ("arabic-indic-digit", f"{ORIGIN}\n\u0663\n{'A' * 43}=\n"),
        ("size-past-uint64", f"{ORIGIN}\n18446744073709551616\n{'A' * 43}=\n"),
        ("empty-size", f"{ORIGIN}\n\n{'A' * 43}=\n"),
        ("empty-origin", f"\n20\n{'A' * 43}=\n"),
        ("missing-root", f"{ORIGIN}\n20\n"),
        ("short-root", f"{ORIGIN}\n20\n{'A' * 42}==\n"),
        ("unpadded-root", f"{ORIGIN}\n20\n{'A' * 43}\n"),
        ("base64url-root", f"{ORIGIN}\n20\n{'_' * 43}=\n"),
        ("non-canonical-root", f"{ORIGIN}\n20\n{'A' * 42}B=\n"),
        ("empty-extension-line", f"{ORIGIN}\n20\n{'A' * 43}=\n\next\n"),
        ("trailing-blank-line", f"{ORIGIN}\n20\n{'A' * 43}=\n\n"),
        ("no-final-newline", f"{ORIGIN}\n20\n{'A' * 43}="),
        ("crlf", f"{ORIGIN}\r\n20\r\n{'A' * 43}=\r\n"),
        ("control-in-extension", f"{ORIGIN}\n20\n{'A' * 43}=\nex\tt\n"),
    ],
)
def test_malformed_bodies_are_refused(name: str, body: str) -> None:
    assert _code(Checkpoint.parse, body) == CheckpointMalformed.code


def test_constructor_checks_fields() -> None:
    assert _code(Checkpoint, "", 1, ROOT) == CheckpointMalformed.code
    assert _code(Checkpoint, ORIGIN, -1, ROOT) == CheckpointMalformed.code
    assert _code(Checkpoint, ORIGIN, 2**64, ROOT) == CheckpointMalformed.code
    assert _code(Checkpoint, ORIGIN, True, ROOT) == CheckpointMalformed.code
    assert _code(Checkpoint, ORIGIN, 1, ROOT[:31]) == CheckpointMalformed.code
    assert _code(Checkpoint, ORIGIN, 1, ROOT, ("",)) == CheckpointMalformed.code
    assert _code(Checkpoint, "a\nb", 1, ROOT) == CheckpointMalformed.code


_line = st.text(
    st.characters(min_codepoint=0x20, exclude_categories=["Cs"]), min_size=1, max_size=40
)


@settings(max_examples=100, deadline=None)
@given(
    _line,
    st.integers(0, 2**64 - 1),
    st.binary(min_size=32, max_size=32),
    st.lists(_line, max_size=3),
)
def test_checkpoints_round_trip(origin: str, size: int, root: bytes, ext: list[str]) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(ext))
    text = checkpoint.to_text()
    assert Checkpoint.parse(text) == checkpoint
    assert Checkpoint.parse(text).to_text() == text


def test_sign_and_verify() -> None:
    signer = _signer()
    checkpoint = Checkpoint(ORIGIN, 5, ROOT, ("ext one",))
    signed = sign_checkpoint(checkpoint, signer=signer)
    assert signed.startswith(checkpoint.to_text() + "\n\u2014 " + ORIGIN + " ")
    assert verify_checkpoint(signed, origin=ORIGIN, log_verifier=signer.verifier()) == checkpoint
    assert verify_checkpoint(signed.encode(), origin=ORIGIN, log_verifier=signer.verifier())
    empty = Checkpoint(ORIGIN, 0, EMPTY_ROOT)
    signed_empty = sign_checkpoint(empty, signer=signer)
    assert verify_checkpoint(signed_empty, origin=ORIGIN, log_verifier=signer.verifier()) == empty


def test_verification_failures_carry_their_code() -> None:
    signer = _signer()
    verifier = signer.verifier()
    signed = sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), signer=signer)
    cases = [
        ("other-origin", signed, "govid.example/other", CheckpointOriginMismatch.code),
        ("size-changed", signed.replace("\n5\n", "\n6\n", 1), ORIGIN, NoteSignatureInvalid.code),
        (
            "other-log-key",
            sign_checkpoint(Checkpoint(ORIGIN, 5, ROOT), signer=_signer(seed=8)),
            ORIGIN,
            NoteUnknownKey.code,
        ),
        ("not-a-checkpoint", sign_note("hello\n", [signer]), ORIGIN, CheckpointMalformed.code),
        ("unsigned", Checkpoint(ORIGIN, 5, ROOT).to_text(), ORIGIN, "note.malformed"),
    ]
    for name, note, origin, code in cases:
        assert _code(verify_checkpoint, note, origin=origin, log_verifier=verifier) == code, name


def test_the_signature_is_checked_before_the_body_is_read() -> None:
    # An unsigned malformed body reports the signature, never the body's content.
    stranger = _signer(seed=9)
    signed = sign_note("not\na checkpoint\n", [stranger])
    code = _code(verify_checkpoint, signed, origin=ORIGIN, log_verifier=_signer().verifier())
    assert code == NoteUnknownKey.code
