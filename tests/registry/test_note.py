"""C2SP signed-note: the spec's example, round trips, and named tamperings."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from did.errors import GovidError
from registry.errors import NoteKeyMalformed, NoteMalformed, NoteSignatureInvalid, NoteUnknownKey
from registry.note import (
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    ed25519_public_bytes,
    generate_key,
    key_id,
    open_note,
    parse_signature_lines,
    sign_note,
)

_EXAMPLE = "merkle-tlog/c2sp/signed_note_example_vector.json"


def _signer(name: str = "example.org/log", seed: int = 1) -> NoteSigner:
    return NoteSigner(name, Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def _code(call: Callable[..., object], *args: object) -> str:
    with pytest.raises(GovidError) as info:
        call(*args)
    return info.value.code


# --- the spec's example -----------------------------------------------------------


def test_signed_note_example_verifies_under_its_vkey(vector: Callable[[str], Any]) -> None:
    case = vector(_EXAMPLE)
    verifier = NoteVerifier.from_vkey(case["vkey"])
    assert verifier.name == case["key_name"]
    assert verifier.key_id.hex() == case["key_id_hex"]
    raw = ed25519_public_bytes(verifier.public_key)
    assert raw == base64.b64decode(case["ed25519_public_key_b64"])
    assert key_id(case["key_name"], case["signature_type"], raw).hex() == case["key_id_hex"]
    assert verifier.to_vkey() == case["vkey"]

    opened = open_note(case["signed_note"], [verifier])
    assert opened.text == case["note_text"]
    assert [v.key for v in opened.verified] == [verifier]
    assert Note.parse(case["signed_note"]).to_text() == case["signed_note"]
    assert NoteSignature.parse_line(case["signature_line"]).to_line() == (
        case["signature_line"] + "\n"
    )


def _example_tamperings(signed: str) -> list[tuple[str, str, str]]:
    text, _, sig_line = signed.partition("\n\n")
    sig = NoteSignature.parse_line(sig_line.rstrip("\n"))
    flipped = bytes([sig.signature[0] ^ 1]) + sig.signature[1:]
    other_id = bytes([sig.key_id[0] ^ 1]) + sig.key_id[1:]
    return [
        ("text-changed", signed.replace("example", "exampel", 1), NoteSignatureInvalid.code),
        (
            "signature-bit-flip",
            f"{text}\n\n{NoteSignature(sig.name, sig.key_id, flipped).to_line()}",
            NoteSignatureInvalid.code,
        ),
        (
            "signature-truncated",
            f"{text}\n\n{NoteSignature(sig.name, sig.key_id, sig.signature[:-1]).to_line()}",
            NoteSignatureInvalid.code,
        ),
        (
            "same-name-other-key-id",
            f"{text}\n\n{NoteSignature(sig.name, other_id, sig.signature).to_line()}",
            NoteUnknownKey.code,
        ),
        (
            "same-key-id-other-name",
            f"{text}\n\n{NoteSignature('example.com/bar', sig.key_id, sig.signature).to_line()}",
            NoteUnknownKey.code,
        ),
        (
            "good-then-bad-line",
            signed + sig_line.replace("yaQM=", "yaQA="),
            NoteSignatureInvalid.code,
        ),
        ("no-blank-line", signed.replace("\n\n", "\n"), NoteMalformed.code),
        ("no-final-newline", signed.rstrip("\n"), NoteMalformed.code),
        ("trailing-blank-line", signed + "\n", NoteMalformed.code),
        ("trailing-garbage", signed + "garbage\n", NoteMalformed.code),
        ("crlf", signed.replace("\n", "\r\n"), NoteMalformed.code),
        ("control-character", signed.replace("This", "Th\tis", 1), NoteMalformed.code),
        ("hyphen-not-em-dash", signed.replace("\u2014", "-"), NoteMalformed.code),
        ("double-space", signed.replace("foo ", "foo  "), NoteMalformed.code),
        ("base64url-alphabet", signed.replace("Uw2QOkn8", "Uw2QOkn_"), NoteMalformed.code),
        ("unpadded", signed.replace("=\n", "\n"), NoteMalformed.code),
        ("only-key-id", f"{text}\n\n\u2014 {sig.name} Uw2QOg==\n", NoteMalformed.code),
        ("name-with-plus", signed.replace("example.com/foo", "ex+ample"), NoteMalformed.code),
    ]


def test_signed_note_example_tamperings_fail_with_their_code(
    vector: Callable[[str], Any],
) -> None:
    case = vector(_EXAMPLE)
    verifier = NoteVerifier.from_vkey(case["vkey"])
    for name, tampered, code in _example_tamperings(case["signed_note"]):
        assert _code(open_note, tampered, [verifier]) == code, name


def test_non_utf8_and_oversized_notes_are_malformed() -> None:
    assert _code(lambda: Note.parse(b"\xff\xfe\n\n\xe2\x80\x94 a AAAAAAA=\n")) == NoteMalformed.code
    huge = "a" * MAX_NOTE_BYTES + "\n\n\u2014 a AAAAAAA=\n"
    assert _code(lambda: Note.parse(huge)) == NoteMalformed.code
    assert _code(lambda: Note.parse(huge.encode())) == NoteMalformed.code


# --- keys ---------------------------------------------------------------------------


def test_generated_keys_round_trip_and_sign() -> None:
    skey, vkey = generate_key("govid.example/log")
    assert skey.startswith("PRIVATE+KEY+govid.example/log+")
    signer = NoteSigner.from_skey(skey)
    assert signer.to_skey() == skey
    verifier = NoteVerifier.from_vkey(vkey)
    assert signer.verifier() == verifier
    signed = sign_note("hello\n", [signer])
    assert open_note(signed, [verifier]).text == "hello\n"
    seed_b64 = skey.split("+", 4)[4]
    assert seed_b64 not in repr(signer) and skey not in repr(signer)


@pytest.mark.parametrize(
    ("name", "vkey"),
    [
        ("two-parts", "example.com/foo+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        ("uppercase-id", "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        ("short-id", "example.com/foo+530d90+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        ("not-hex-id", "example.com/foo+530d90zz+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        ("wrong-id", "example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        ("other-name", "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        ("cosigner-type", "example.com/foo+530d903a+BOkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        ("short-key", "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3Q=="),
        ("empty-key", "example.com/foo+530d903a+"),
        ("empty-name", "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"),
        ("bad-base64", "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2!"),
    ],
)
def test_bad_vkeys_are_refused(name: str, vkey: str) -> None:
    assert _code(lambda: NoteVerifier.from_vkey(vkey)) == NoteKeyMalformed.code


def test_bad_skeys_are_refused() -> None:
    skey = _signer().to_skey()
    parts = skey.split("+", 4)
    wrong_id = "+".join([*parts[:3], "00000000", parts[4]])
    for bad in (skey[len("PRIVATE+KEY+") :], wrong_id, skey.replace("+AQ", "+BA")):
        assert _code(NoteSigner.from_skey, bad) == NoteKeyMalformed.code


def test_key_names_with_spaces_or_plus_are_refused() -> None:
    key = Ed25519PrivateKey.generate()
    for name in ("", "a b", "a+b", "a\u00a0b", "a\nb"):
        assert _code(NoteSigner, name, key) == NoteKeyMalformed.code
        assert _code(NoteVerifier.for_key, name, key.public_key()) == NoteKeyMalformed.code


def test_two_configured_keys_with_one_name_and_id_are_refused() -> None:
    a = _signer("example.org/log", 1).verifier()
    forged = NoteVerifier.__new__(NoteVerifier)  # bypasses the key ID check on purpose
    object.__setattr__(forged, "name", a.name)
    object.__setattr__(forged, "key_id", a.key_id)
    object.__setattr__(forged, "public_key", _signer(seed=2).private_key.public_key())
    signed = sign_note("x\n", [_signer("example.org/log", 1)])
    assert _code(lambda: open_note(signed, [a, forged])) == NoteKeyMalformed.code


def test_a_key_listed_twice_is_ambiguous_whether_same_object_or_equal() -> None:
    # golang.org/x/mod/sumdb/note: VerifierList keeps both, and Open fails with
    # "ambiguous key" on a line naming them; equality, not identity, decides.
    signer = _signer("example.org/log", 1)
    signed = sign_note("x\n", [signer])
    key = signer.verifier()
    equal = NoteVerifier.from_vkey(key.to_vkey())
    assert equal == key and equal is not key
    for keys in ([key, key], [key, equal], [equal, key, equal]):
        assert _code(lambda keys=keys: open_note(signed, keys)) == NoteKeyMalformed.code
    assert open_note(signed, [key]).verified[0].key == key
    # As in Go, an ambiguous key that no line names is not looked at.
    other = _signer("example.org/other", 2).verifier()
    assert open_note(signed, [key, other, other]).verified[0].key == key


# --- several signers, limits, unknown keys ------------------------------------------------


def test_unknown_signatures_are_ignored_and_known_ones_reported() -> None:
    log, other = _signer("example.org/log", 1), _signer("example.org/other", 2)
    signed = sign_note("body\n", [other, log])
    opened = open_note(signed, [log.verifier()])
    assert [v.key for v in opened.verified] == [log.verifier()]
    assert len(opened.signatures) == 2
    assert _code(lambda: open_note(signed, [])) == NoteUnknownKey.code
    stranger = _signer("example.org/stranger", 3).verifier()
    assert _code(lambda: open_note(signed, [stranger])) == NoteUnknownKey.code


def test_at_least_16_signatures_are_accepted_and_the_bound_is_enforced() -> None:
    signers = [_signer(f"example.org/s{i}", i + 1) for i in range(16)]
    signed = sign_note("body\n", signers)
    assert len(open_note(signed, [signers[7].verifier()]).signatures) == 16
    line = signed.partition("\n\n")[2].split("\n")[0] + "\n"
    too_many = "body\n\n" + line * (MAX_SIGNATURES + 1)
    assert _code(lambda: Note.parse(too_many)) == NoteMalformed.code
    assert _code(lambda: parse_signature_lines(line * (MAX_SIGNATURES + 1))) == NoteMalformed.code


def test_signing_refuses_texts_that_are_not_note_texts() -> None:
    signer = _signer()
    for text in ("no newline", "tab\there\n", "cr\r\n"):
        assert _code(signer.sign, text) == NoteMalformed.code
    assert _code(lambda: sign_note("x\n", [])) == NoteMalformed.code


def test_with_signatures_appends_lines() -> None:
    a, b = _signer("example.org/a", 1), _signer("example.org/b", 2)
    note = Note.parse(sign_note("body\n", [a]))
    both = note.with_signatures([b.sign("body\n")])
    opened = open_note(both.to_text(), [a.verifier(), b.verifier()])
    assert {v.key.name for v in opened.verified} == {"example.org/a", "example.org/b"}


# --- properties -----------------------------------------------------------------------------

_printable: st.SearchStrategy[str] = st.characters(min_codepoint=0x20, exclude_categories=["Cs"])
_note_char = st.one_of(st.just("\n"), _printable)
_note_text = st.text(_note_char, max_size=200).map(lambda s: s + "\n")


@settings(max_examples=80, deadline=None)
@given(_note_text)
def test_any_note_text_round_trips_through_sign_and_open(text: str) -> None:
    signer = _signer()
    signed = sign_note(text, [signer])
    assert Note.parse(signed).to_text() == signed
    assert Note.parse(signed.encode("utf-8")).unverified_text == text
    assert open_note(signed, [signer.verifier()]).text == text


@settings(max_examples=80, deadline=None)
@given(
    st.text(st.characters(min_codepoint=0x21, exclude_categories=["Cs", "Zs"]), min_size=1).filter(
        lambda n: "+" not in n and not any(c.isspace() for c in n)
    ),
    st.binary(min_size=1, max_size=100),
)
def test_signature_lines_round_trip(name: str, signature: bytes) -> None:
    sig = NoteSignature(name, b"\x01\x02\x03\x04", signature)
    assert NoteSignature.parse_line(sig.to_line()[:-1]) == sig
    assert parse_signature_lines(sig.to_line() * 2) == (sig, sig)


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=32, max_size=32))
def test_vkeys_and_skeys_round_trip_for_any_key(seed: bytes) -> None:
    # Base64 of a key often contains '+', the vkey separator: the regression
    # this guards against.
    signer = NoteSigner("example.org/log", Ed25519PrivateKey.from_private_bytes(seed))
    assert NoteSigner.from_skey(signer.to_skey()).to_skey() == signer.to_skey()
    verifier = signer.verifier()
    assert NoteVerifier.from_vkey(verifier.to_vkey()) == verifier
