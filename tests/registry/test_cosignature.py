"""C2SP tlog-cosignature v1: the spec's example message and line, keys, tamperings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from did.errors import GovidError
from registry.checkpoint import Checkpoint, sign_checkpoint
from registry.cosignature import (
    COSIGNATURE_SIZE,
    SIGNATURE_TYPE_COSIGNATURE_V1,
    CosignatureSigner,
    WitnessVerifier,
    cosignature_timestamp,
    cosigned_message,
    verify_cosignature,
)
from registry.errors import CosignatureInvalid, NoteKeyMalformed
from registry.merkle import leaf_hash
from registry.note import (
    SIGNATURE_TYPE_ED25519,
    Note,
    NoteSignature,
    NoteSigner,
    ed25519_public_bytes,
    key_id,
    open_note,
    verify_signatures,
)

_SPEC = "merkle-tlog/c2sp/tlog-cosignature.md"
ORIGIN = "govid.example/ledger"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CHECKPOINT = Checkpoint(ORIGIN, 42, leaf_hash(b"root"))


def _witness(name: str = "witness.example/w1", seed: int = 3) -> CosignatureSigner:
    return CosignatureSigner(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def _code(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    with pytest.raises(GovidError) as info:
        call(*args, **kwargs)
    return info.value.code


def _indented_block(markdown: str, first_line: str) -> str:
    """The 4-space indented block of the spec that starts with `first_line`."""
    lines = markdown.split("\n")
    start = lines.index("    " + first_line)
    block = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        block.append(line[4:] + "\n")
    return "".join(block)


def test_spec_example_signed_message(vector_text: Callable[[str], str]) -> None:
    expected = _indented_block(vector_text(_SPEC), "cosignature/v1")
    body = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    assert Checkpoint.parse(body).to_text() == body
    assert cosigned_message(body.encode(), 1679315147).decode() == expected


def test_spec_example_cosignature_line_carries_the_example_timestamp(
    vector_text: Callable[[str], str],
) -> None:
    spec = vector_text(_SPEC)
    line = next(ln for ln in spec.split("\n") if ln.startswith("\u2014 witness.example.com/w1 "))
    sig = NoteSignature.parse_line(line)
    assert len(sig.signature) == COSIGNATURE_SIZE
    # The example line's timestamp is the one of the example signed message.
    assert cosignature_timestamp(sig.signature) == 1679315147


def test_key_id_uses_signature_type_4() -> None:
    verifier = _witness().verifier()
    raw = ed25519_public_bytes(verifier.public_key)
    assert verifier.key_id == key_id(verifier.name, SIGNATURE_TYPE_COSIGNATURE_V1, raw)
    assert verifier.key_id != key_id(verifier.name, SIGNATURE_TYPE_ED25519, raw)
    assert WitnessVerifier.from_vkey(verifier.to_vkey()) == verifier
    assert verifier.to_vkey().split("+", 2)[2].startswith("B")  # base64 of 0x04


def test_bad_witness_vkeys_are_refused() -> None:
    signer = _witness()
    note_vkey = NoteSigner(signer.name, signer.private_key).verifier().to_vkey()
    assert _code(WitnessVerifier.from_vkey, note_vkey) == NoteKeyMalformed.code
    vkey = signer.verifier().to_vkey()
    name, _, rest = vkey.split("+", 2)
    assert _code(WitnessVerifier.from_vkey, f"{name}+00000000+{rest}") == NoteKeyMalformed.code
    assert _code(WitnessVerifier.from_vkey, f"x y+00000000+{rest}") == NoteKeyMalformed.code


def test_cosign_and_verify() -> None:
    witness = _witness()
    line = witness.cosign(CHECKPOINT, now=NOW)
    assert line.key_id == witness.verifier().key_id
    body = CHECKPOINT.to_text().encode()
    timestamp = verify_cosignature(body, verifier=witness.verifier(), signature=line.signature)
    assert timestamp == int(NOW.timestamp())
    # Other zones name the same instant.
    other_zone = NOW.astimezone(timezone(timedelta(hours=9)))
    assert witness.cosign(CHECKPOINT, now=other_zone).signature[:8] == line.signature[:8]


def test_cosignatures_verify_inside_a_note_beside_the_log_signature() -> None:
    log = NoteSigner(ORIGIN, Ed25519PrivateKey.from_private_bytes(b"\x05" * 32))
    w1, w2 = _witness("witness.example/w1", 3), _witness("witness.example/w2", 4)
    note = Note.parse(sign_checkpoint(CHECKPOINT, signer=log))
    cosigned = note.with_signatures(
        [w1.cosign(CHECKPOINT, now=NOW), w2.cosign(CHECKPOINT, now=NOW)]
    )
    found = verify_signatures(cosigned, [w1.verifier(), w2.verifier()])
    assert [v.key for v in found] == [w1.verifier(), w2.verifier()]
    # The log key and witness keys verify their own lines from the same note.
    assert open_note(cosigned, [log.verifier(), w1.verifier()]).text == CHECKPOINT.to_text()


def _resigned(witness: CosignatureSigner, body: bytes, timestamp: int) -> bytes:
    """A cosignature that is a valid Ed25519 signature for any timestamp, even illegal ones."""
    message = cosigned_message(body, timestamp)
    return timestamp.to_bytes(8, "big") + witness.private_key.sign(message)


def test_tamperings_fail_with_cosignature_invalid() -> None:
    witness = _witness()
    verifier = witness.verifier()
    body = CHECKPOINT.to_text().encode()
    good = witness.cosign(CHECKPOINT, now=NOW).signature
    later = (int.from_bytes(good[:8], "big") + 1).to_bytes(8, "big")
    with_extension = Checkpoint(ORIGIN, 42, CHECKPOINT.root_hash, ("ext",)).to_text().encode()
    cases = {
        "timestamp-changed": (body, later + good[8:]),
        "bit-flip": (body, good[:-1] + bytes([good[-1] ^ 1])),
        "truncated": (body, good[:-1]),
        "trailing-byte": (body, good + b"\x00"),
        "no-timestamp": (body, good[8:]),
        "other-checkpoint": (Checkpoint(ORIGIN, 43, CHECKPOINT.root_hash).to_text().encode(), good),
        "extension-added": (with_extension, good),
        "timestamp-past-2^63": (body, _resigned(witness, body, 2**63)),
        "other-witness": (body, _witness(seed=9).cosign(CHECKPOINT, now=NOW).signature),
    }
    for name, (message, signature) in cases.items():
        code = _code(verify_cosignature, message, verifier=verifier, signature=signature)
        assert code == CosignatureInvalid.code, name
    assert verify_cosignature(
        body, verifier=verifier, signature=_resigned(witness, body, 2**63 - 1)
    )


def test_cosign_refuses_naive_and_epoch_times() -> None:
    witness = _witness()
    with pytest.raises(ValueError):
        witness.cosign(CHECKPOINT, now=datetime(2026, 1, 1))  # naive on purpose
    with pytest.raises(ValueError):
        witness.cosign(CHECKPOINT, now=datetime(1970, 1, 1, tzinfo=UTC))
