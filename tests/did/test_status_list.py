"""The Status List value, status types and references against draft-ietf-oauth-status-list.

Vectors are read in place from ../shared/vectors/token-status-list/: the JSON
encoding vectors (§4.1-4.3, Appendix C.1-C.2) and, for the 4- and 8-bit lists
the JSON file does not carry, Appendix C.3-C.4 parsed from the draft's text.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from did.encoding import b64url_decode, b64url_encode
from did.errors import GovidError
from did.status_list import (
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    StatusList,
    StatusReference,
    StatusType,
    check_status,
)

DIR = "token-status-list"
ENCODING = f"{DIR}/status_list_encoding_vectors.json"
DRAFT = f"{DIR}/draft-ietf-oauth-status-list-editors-copy-2026-04-20.txt"

Vector = Callable[[str], Any]
VectorText = Callable[[str], str]


def _code(action: Callable[[], object]) -> str:
    with pytest.raises(GovidError) as info:
        action()
    return info.value.code


# --- §4.1-4.3 short examples ----------------------------------------------------


def test_short_examples(vector: Vector) -> None:
    examples = vector(ENCODING)["short_examples"]
    assert examples
    for ex in examples:
        decoded = StatusList.decode({"bits": ex["bits"], "lst": ex["lst"]})
        assert decoded.data.hex() == ex["byte_array_hex"], ex["name"]
        assert list(decoded.statuses()[: ex["size"]]) == ex["statuses"]
        assert [decoded.get(i) for i in range(ex["size"])] == ex["statuses"]
        # Python zlib at level 9 is what produced the vectors, so the encoding
        # must match byte for byte, not only round-trip.
        assert decoded.encode() == {"bits": ex["bits"], "lst": ex["lst"]}
        assert b64url_decode(ex["lst"]).hex() == ex["compressed_hex"]
        # The CBOR form (§4.3) carries the same compressed bytes as its `lst`.
        assert ex["statuslist_cbor_hex"].endswith(ex["compressed_hex"])
        built = StatusList.from_statuses(ex["statuses"], bits=ex["bits"])
        assert built == decoded


# --- Appendix C: 2^20-entry lists ----------------------------------------------


def _appendix_c_from_draft(text: str) -> Iterator[tuple[str, int, str, dict[int, int]]]:
    """Yield (section, bits, lst, {index: status}) for C.1-C.4, last write winning."""
    start = text.index("\nAppendix C.  Test vectors for Status List encoding")
    end = text.index("Document History", start)
    body = text[start:end]
    heads = list(re.finditer(r"^C\.(\d)\.  (\d)-bit Status List$", body, re.M))
    assert [h[1] for h in heads] == ["1", "2", "3", "4"]
    for head, nxt in zip(heads, [*heads[1:], None], strict=True):
        section = body[head.start() : nxt.start() if nxt else len(body)]
        statuses: dict[int, int] = {}
        for idx, value in re.findall(r"status\[(\d+)\]\s*=\s*0b([01]+)", section):
            statuses[int(idx)] = int(value, 2)
        lst_match = re.search(r'"lst":\s*"([^"]+)"', section)
        bits_match = re.search(r'"bits":\s*(\d+)', section)
        assert lst_match and bits_match
        assert int(bits_match[1]) == int(head[2])
        yield f"C.{head[1]}", int(head[2]), re.sub(r"\s+", "", lst_match[1]), statuses


def _assert_list_holds(decoded: StatusList, expected: dict[int, int], *, size: int) -> None:
    assert decoded.size == size
    for index, value in expected.items():
        assert decoded.get(index) == value
    # "All values that are not mentioned ... can be assumed to be 0": compare
    # the whole array against one rebuilt from the listed values.
    rebuilt = StatusList.new(size, decoded.bits).with_changes(expected)
    assert decoded.statuses() == rebuilt.statuses()


def test_appendix_c_json_vectors(vector: Vector) -> None:
    vectors = vector(ENCODING)["appendix_c"]
    assert vectors
    for vec in vectors:
        decoded = StatusList.decode({"bits": vec["bits"], "lst": vec["lst"]})
        assert len(decoded.data) == vec["decompressed_len_bytes"], vec["name"]
        expected = {int(i): v for i, v in vec["expected_nonzero_statuses"].items()}
        _assert_list_holds(decoded, expected, size=vec["size"])
        assert decoded.encode()["lst"] == vec["lst"]
        assert vec["statuslist_cbor_hex"].endswith(b64url_decode(vec["lst"]).hex())


def test_appendix_c_from_the_draft_text(vector_text: VectorText, vector: Vector) -> None:
    json_lsts = {v["bits"]: v["lst"] for v in vector(ENCODING)["appendix_c"]}
    seen = []
    for section, bits, lst, expected in _appendix_c_from_draft(vector_text(DRAFT)):
        decoded = StatusList.decode({"bits": bits, "lst": lst})
        assert decoded.bits == bits, section
        _assert_list_holds(decoded, expected, size=2**20)
        # Re-encoding what we decoded reproduces the draft's string.
        assert decoded.encode()["lst"] == lst
        if bits in json_lsts:  # the two sources agree where both exist
            assert json_lsts[bits] == lst
        seen.append(bits)
    assert seen == [1, 2, 4, 8]


# --- construction and changes ---------------------------------------------------


def test_new_fills_with_the_default_and_rounds_up_to_whole_bytes() -> None:
    assert StatusList.new(16, 1).data == b"\x00\x00"
    assert StatusList.new(10, 1).size == 16
    assert StatusList.new(0, 4).size == 0
    two_bit = StatusList.new(5, 2, default=StatusType.INVALID)
    assert two_bit.data == b"\x55\x55"
    assert set(two_bit.statuses()) == {1}
    assert StatusList.new(3, 8, default=0xAB).data == b"\xab\xab\xab"


def test_new_refuses_a_default_that_does_not_fit() -> None:
    assert _code(lambda: StatusList.new(8, 1, default=2)) == "status_list.malformed"
    with pytest.raises(ValueError):
        StatusList.new(-1, 1)


def test_with_changes_is_a_copy() -> None:
    original = StatusList.new(16, 2)
    changed = original.with_changes({0: 1, 5: StatusType.SUSPENDED, 15: 3})
    assert original.statuses() == bytes(16)
    assert [changed.get(i) for i in (0, 1, 5, 15)] == [1, 0, 2, 3]
    # Setting back to 0 clears only that entry's bits.
    assert changed.with_changes({5: 0}).get(5) == 0
    assert changed.with_changes({5: 0}).get(15) == 3


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_with_changes_refuses_out_of_range_values_and_indices(bits: int) -> None:
    status_list = StatusList.new(16, bits)
    assert _code(lambda: status_list.with_changes({0: 1 << bits})) == "status_list.malformed"
    assert _code(lambda: status_list.with_changes({0: -1})) == "status_list.malformed"
    assert _code(lambda: status_list.with_changes({16: 0})) == "status.index_out_of_range"
    assert _code(lambda: status_list.with_changes({-1: 0})) == "status.index_out_of_range"


def test_from_statuses_refuses_values_that_do_not_fit() -> None:
    assert _code(lambda: StatusList.from_statuses([0, 2], bits=1)) == "status_list.malformed"
    assert _code(lambda: StatusList.from_statuses([256], bits=8)) == "status_list.malformed"
    assert _code(lambda: StatusList.from_statuses([-1], bits=8)) == "status_list.malformed"


def test_get_bounds() -> None:
    status_list = StatusList.new(8, 1)
    assert status_list.get(7) == 0
    assert _code(lambda: status_list.get(8)) == "status.index_out_of_range"
    assert _code(lambda: status_list.get(-1)) == "status.index_out_of_range"
    with pytest.raises(TypeError):
        status_list.get(True)


def test_aggregation_uri_round_trips() -> None:
    status_list = StatusList.new(8, 1, aggregation_uri="https://example.com/aggregation")
    encoded = status_list.encode()
    assert encoded["aggregation_uri"] == "https://example.com/aggregation"
    assert StatusList.decode(encoded) == status_list
    assert "aggregation_uri" not in StatusList.new(8, 1).encode()


# --- properties -----------------------------------------------------------------

_bits = st.sampled_from([1, 2, 4, 8])


@st.composite
def _statuses(draw: st.DrawFn) -> tuple[int, bytes]:
    bits = draw(_bits)
    per_byte = 8 // bits
    count = draw(st.integers(0, 300)) * per_byte  # whole bytes, so sizes match exactly
    values = draw(st.binary(min_size=count, max_size=count))
    return bits, bytes(v & ((1 << bits) - 1) for v in values)


@given(_statuses())
def test_statuses_round_trip_through_the_json_form(case: tuple[int, bytes]) -> None:
    bits, values = case
    built = StatusList.from_statuses(values, bits=bits)
    assert built.size == len(values)
    decoded = StatusList.decode(json.loads(json.dumps(built.encode())))
    assert decoded == built
    assert decoded.statuses() == values


@given(_bits, st.binary(max_size=400))
def test_packed_bytes_round_trip(bits: int, data: bytes) -> None:
    status_list = StatusList(bits, data)
    assert StatusList.decode(status_list.encode()) == status_list
    assert StatusList.from_statuses(status_list.statuses(), bits=bits) == status_list


@given(
    _bits.flatmap(
        lambda b: st.tuples(
            st.just(b), st.dictionaries(st.integers(0, 99), st.integers(0, (1 << b) - 1))
        )
    )
)
def test_with_changes_matches_a_model(case: tuple[int, dict[int, int]]) -> None:
    bits, changes = case
    status_list = StatusList.new(100, bits).with_changes(changes)
    model = [changes.get(i, 0) for i in range(status_list.size)]
    assert [status_list.get(i) for i in range(status_list.size)] == model
    assert list(status_list.statuses()) == model


def test_agrees_with_a_bit_by_bit_reference() -> None:
    # §4.1 step 3 read literally: entry i occupies bits [i*bits, (i+1)*bits) of
    # the array, counting from the least significant bit of byte 0.
    data = bytes(range(256))
    for bits in (1, 2, 4, 8):
        status_list = StatusList(bits, data)
        as_int = int.from_bytes(data, "little")
        mask = (1 << bits) - 1
        expected = bytes((as_int >> (i * bits)) & mask for i in range(status_list.size))
        assert status_list.statuses() == expected


# --- decoding hostile input -----------------------------------------------------

_GOOD_LST = "eNrbuRgAAhcBXQ"  # §4.2


@pytest.mark.parametrize("bits", [3, 0, 16, -1, "1", True, 1.0, None, [1]])
def test_bad_bits(bits: object) -> None:
    assert _code(lambda: StatusList.decode({"bits": bits, "lst": _GOOD_LST})) == (
        "status_list.malformed"
    )


@pytest.mark.parametrize(
    "obj",
    [
        {"bits": 1},
        {"lst": _GOOD_LST},
        {"bits": 1, "lst": 5},
        {"bits": 1, "lst": b"eNrbuRgAAhcBXQ"},
        {"bits": 1, "lst": _GOOD_LST, "aggregation_uri": 7},
        [1, _GOOD_LST],
        "not an object",
        None,
    ],
)
def test_bad_shape(obj: object) -> None:
    assert _code(lambda: StatusList.decode(obj)) == "status_list.malformed"


@pytest.mark.parametrize(
    "lst",
    [
        _GOOD_LST + "==",  # padding
        "eNrbuRgAAhcBXQ==",
        "eNrbuRgAAhcB+Q",  # standard alphabet
        "eNrbuRgAAhcB/Q",
        "eNrbuRgAAhcBX",  # impossible length
        "eNrbuRgAAhcBXR",  # non-canonical last character
        "eNrb uRgAAhcBXQ",
        "eNrbuRgAAhcBXQ\n",
    ],
)
def test_lst_not_base64url(lst: str) -> None:
    assert _code(lambda: StatusList.decode({"bits": 1, "lst": lst})) == "status_list.malformed"


def _lst(raw: bytes) -> dict[str, Any]:
    return {"bits": 1, "lst": b64url_encode(raw)}


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    "raw",
    [
        b"",  # nothing at all
        b"\xb9\xa3",  # the uncompressed array
        _raw_deflate(b"\xb9\xa3"),  # DEFLATE without the ZLIB wrapper
        _gzip(b"\xb9\xa3"),  # GZIP, as the W3C Bitstring Status List uses
        zlib.compress(b"\xb9\xa3", 9)[:-1],  # truncated (checksum cut)
        zlib.compress(b"\xb9\xa3", 9)[:-4],  # truncated (no checksum)
        zlib.compress(b"\xb9\xa3", 9) + b"\x00",  # trailing garbage
        zlib.compress(b"\xb9\xa3", 9) * 2,  # two streams
        zlib.compress(b"\xb9\xa3", 9)[:-1] + b"\x00",  # bad Adler-32
    ],
    ids=[
        "empty",
        "uncompressed",
        "raw-deflate",
        "gzip",
        "truncated-checksum",
        "truncated-body",
        "trailing-byte",
        "two-streams",
        "bad-adler32",
    ],
)
def test_lst_not_a_zlib_stream(raw: bytes) -> None:
    assert _code(lambda: StatusList.decode(_lst(raw))) == "status_list.malformed"


def _compressed_zeros(total: int) -> bytes:
    # Streamed, so the test itself never holds the inflated bytes.
    compressor = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(total // len(chunk))]
    return b"".join(parts) + compressor.flush()


def test_zip_bomb_is_refused() -> None:
    bomb = _compressed_zeros(100 << 20)  # 100 MiB of zeros, ~100 KB compressed
    assert len(bomb) < 200_000
    assert _code(lambda: StatusList.decode(_lst(bomb))) == "status_list.malformed"


def test_decompression_cap_is_configurable_and_exact() -> None:
    obj = _lst(zlib.compress(bytes(1000), 9))
    assert StatusList.decode(obj, max_bytes=1000).size == 8000
    assert _code(lambda: StatusList.decode(obj, max_bytes=999)) == "status_list.malformed"
    assert DEFAULT_MAX_DECOMPRESSED_BYTES == 16 * 1024 * 1024


def test_overlong_lst_is_refused_before_decoding() -> None:
    obj = {"bits": 1, "lst": "A" * 10_000}
    assert _code(lambda: StatusList.decode(obj, max_bytes=100)) == "status_list.malformed"


def test_w3c_bitstring_status_list_is_not_an_ietf_status_list(vector: Vector) -> None:
    # The W3C list is multibase ("u") base64url of GZIP, MSB-first: a different
    # format. The IETF decoder must refuse it rather than misread it.
    credential = vector("bitstring-status-list/rec-2025-05-15-examples/ex03-0.json")
    encoded = credential["credentialSubject"]["encodedList"]
    assert encoded.startswith("u")
    code = _code(lambda: StatusList.decode({"bits": 1, "lst": encoded[1:]}))
    assert code == "status_list.malformed"


# --- status types (§7.1) --------------------------------------------------------


def test_status_type_values() -> None:
    assert [int(t) for t in StatusType] == [0x00, 0x01, 0x02]


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (StatusType.INVALID, "status.revoked"),
        (StatusType.SUSPENDED, "status.suspended"),
        (0x03, "status.unknown"),
        (0x0C, "status.unknown"),
        (0xFF, "status.unknown"),
    ],
)
def test_check_status_refuses(value: int, code: str) -> None:
    assert _code(lambda: check_status(value)) == code


def test_check_status_accepts_valid() -> None:
    check_status(StatusType.VALID)
    check_status(0)


# --- the reference in a Referenced Token (§6.2, §6.3) ---------------------------


def test_reference_in_the_sd_jwt_example(vector: Vector, vector_text: VectorText) -> None:
    # The issuer-signed JWT of the §6.2 SD-JWT, decoded from the serialized form.
    jwt = vector_text(f"{DIR}/referenced_token_sd_jwt.txt").strip().split("~")[0]
    payload = json.loads(b64url_decode(jwt.split(".")[1]))
    assert payload == vector(f"{DIR}/referenced_token_sd_jwt.decoded.json")["payload"]
    reference = StatusReference.from_claims(payload)
    assert reference == StatusReference(0, "https://example.com/statuslists/1")
    assert reference.to_claim() == payload["status"]


def test_reference_in_the_cwt_example(vector: Vector) -> None:
    # §6.3: the same structure under CWT claim key 65535.
    payload = vector(f"{DIR}/referenced_token_cwt.decoded.json")["payload"]
    reference = StatusReference.parse(payload["65535"])
    assert reference == StatusReference(0, "https://example.com/statuslists/1")


def test_reference_ignores_other_members() -> None:
    status = {
        "status_list": {"idx": 7, "uri": "https://a.example/l", "extra": 1},
        "other_mechanism": {},
    }
    assert StatusReference.parse(status) == StatusReference(7, "https://a.example/l")


_URI = "https://example.com/statuslists/1"


@pytest.mark.parametrize(
    "status",
    [
        None,
        [],
        "status",
        {},
        {"status_list": None},
        {"status_list": []},
        {"status_list": {"uri": _URI}},
        {"status_list": {"idx": -1, "uri": _URI}},
        {"status_list": {"idx": True, "uri": _URI}},
        {"status_list": {"idx": False, "uri": _URI}},
        {"status_list": {"idx": "0", "uri": _URI}},
        {"status_list": {"idx": 0.0, "uri": _URI}},
        {"status_list": {"idx": 0}},
        {"status_list": {"idx": 0, "uri": 5}},
        {"status_list": {"idx": 0, "uri": ""}},
        {"status_list": {"idx": 0, "uri": "no scheme"}},
        {"status_list": {"idx": 0, "uri": "/statuslists/1"}},
        {"status_list": {"idx": 0, "uri": "https://example.com/a b"}},
        {"status_list": {"idx": 0, "uri": "https://example.com/%zz"}},
        {"status_list": {"idx": 0, "uri": "https://example.com/\n"}},
        {"status_list": {"idx": 0, "uri": "https://example.com/" + "a" * 5000}},
    ],
)
def test_reference_refuses(status: object) -> None:
    assert _code(lambda: StatusReference.parse(status)) == "status_list.malformed"


def test_reference_missing_status_claim() -> None:
    assert _code(lambda: StatusReference.from_claims({"iss": "x"})) == "jwt.claim_missing"
