"""IETF Token Status List: the packed list, its status values, and the reference to it.

Follows draft-ietf-oauth-status-list (editor's copy of 20 April 2026, the same
text as draft 20). Three values live here; the signed `statuslist+jwt` that
carries a list is in `did.status_list_token`.

- `StatusList` (§4): `bits` per entry (1, 2, 4 or 8) and the packed byte array.
  Entry 0 sits in the least significant bits of byte 0 (§4.1 step 3, §11.1).
  It is a frozen value; `with_changes` returns a new list. Packing and
  unpacking whole lists use bytes-level operations (`bytes.translate`,
  extended slices, big-integer OR), never a Python loop per entry, so lists
  of ten million entries encode and decode in milliseconds.
- `StatusType` (§7.1) and `check_status`, which turns a value into `None` or
  a raised `status.revoked` / `status.suspended` / `status.unknown`.
- `StatusReference` (§6.2): the `status.status_list` object of a Referenced
  Token, `idx` and `uri`.

Error codes. Everything wrong with a list or with a reference to one is
`status_list.malformed`; an index outside the list is
`status.index_out_of_range` (§8.3 step 6: no statement can be made, so the
token is rejected).

Decoding is bounded. A list arrives compressed, and DEFLATE turns a few
kilobytes into gigabytes (a "zip bomb"), so `StatusList.decode` refuses any
list that inflates past `max_bytes` (16 MiB by default: 134 million one-bit
entries) without ever holding more than that in memory.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Any, Final

from did.encoding import b64url_decode, b64url_encode
from did.errors import (
    ClaimMissing,
    CredentialRevoked,
    CredentialStatusUnknown,
    CredentialSuspended,
    MalformedInput,
    MalformedStatusList,
    StatusIndexOutOfRange,
)

__all__ = [
    "ALLOWED_BITS",
    "DEFAULT_MAX_DECOMPRESSED_BYTES",
    "MAX_URI_LENGTH",
    "StatusList",
    "StatusReference",
    "StatusType",
    "check_status",
    "check_uri",
]

# §4.1 step 1 and §4.2: the only allowed bit widths.
ALLOWED_BITS: Final = frozenset({1, 2, 4, 8})

# Not in the spec: the decompression cap (see the module docstring).
DEFAULT_MAX_DECOMPRESSED_BYTES: Final = 16 * 1024 * 1024

# Not in the spec: a bound on a reference's `uri` so that a hostile token cannot
# make us regex-scan megabytes.
MAX_URI_LENGTH: Final = 4096

# §4.1 step 4: "RECOMMENDED to use the highest compression level available".
_ZLIB_LEVEL: Final = 9

# RFC 3986 §3.1 scheme, then only characters a URI may contain (§2.2, §2.3) with
# well-formed percent-encodings (§2.1). A syntactic check, not a full parse.
_URI_RE: Final = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
)


class StatusType(IntEnum):
    """The registered Status Type values (§7.1, §14.5.2)."""

    VALID = 0x00
    INVALID = 0x01  # revoked, annulled, cancelled
    SUSPENDED = 0x02  # temporarily invalid


def check_status(value: int) -> None:
    """Return None if `value` is VALID; raise the matching `status.*` error otherwise.

    0x03 and 0x0C-0x0F are application specific and everything else is
    reserved (§7.1); govid defines no application-specific value, so any of
    them is `status.unknown`: no statement about the token can be made.
    """
    if value == StatusType.VALID:
        return
    if value == StatusType.INVALID:
        raise CredentialRevoked("the credential has been revoked")
    if value == StatusType.SUSPENDED:
        raise CredentialSuspended("the credential is suspended")
    raise CredentialStatusUnknown("the status list holds a status value govid does not know")


# --- packing tables -------------------------------------------------------------
#
# With `bits` per entry a byte holds k = 8 // bits entries; entry j of a byte is
# (byte >> (j * bits)) & mask (§4.1 step 3). For each j one 256-byte table maps
# a byte to its entry j (unpacking) and one maps a status value to its bits
# placed at slot j (packing), so `bytes.translate` does the bit work in C.


def _extract_table(bits: int, slot: int) -> bytes:
    mask = (1 << bits) - 1
    return bytes((b >> (slot * bits)) & mask for b in range(256))


def _place_table(bits: int, slot: int) -> bytes:
    # Only indexed with values already checked to fit in `bits`.
    return bytes((v << (slot * bits)) & 0xFF for v in range(256))


_EXTRACT: Final = {b: tuple(_extract_table(b, j) for j in range(8 // b)) for b in ALLOWED_BITS}
_PLACE: Final = {b: tuple(_place_table(b, j) for j in range(8 // b)) for b in ALLOWED_BITS}


def _check_bits(bits: object) -> int:
    # bool is an int in Python; a JSON `true` is not a bit width.
    if type(bits) is not int or bits not in ALLOWED_BITS:
        raise MalformedStatusList("'bits' must be one of 1, 2, 4 or 8")
    return bits


@dataclass(frozen=True, slots=True)
class StatusList:
    """A Status List (§4): `bits` per entry, packed LSB-first into `data`.

    The list holds `size == len(data) * 8 // bits` entries; a list built for a
    number of entries that does not fill the last byte is rounded up (§4.1
    step 2 allows "or greater"), and the extra entries read as the default.
    Build it with `new`, `from_statuses` or `decode`.
    """

    bits: int
    data: bytes
    aggregation_uri: str | None = None  # §4.2, §9

    def __post_init__(self) -> None:
        _check_bits(self.bits)
        if not isinstance(self.data, bytes):
            raise TypeError("StatusList.data must be bytes")

    # --- construction ---------------------------------------------------------

    @classmethod
    def new(
        cls,
        size: int,
        bits: int,
        *,
        default: int = StatusType.VALID,
        aggregation_uri: str | None = None,
    ) -> StatusList:
        """A list of at least `size` entries, all set to `default`.

        §13.3 recommends initialising with the most common value (usually
        VALID) so that unused indices cannot be told from issued ones.
        """
        _check_bits(bits)
        if size < 0:
            raise ValueError("a status list cannot have a negative size")
        _check_value(default, bits)
        per_byte = 8 // bits
        # The default repeated in every slot of a byte.
        fill = sum(default << (j * bits) for j in range(per_byte))
        return cls(bits, bytes([fill]) * -(-size // per_byte), aggregation_uri)

    @classmethod
    def from_statuses(
        cls,
        values: bytes | bytearray | Sequence[int],
        *,
        bits: int,
        aggregation_uri: str | None = None,
    ) -> StatusList:
        """Pack one status value per entry, in index order, into a list of `bits`."""
        _check_bits(bits)
        try:
            raw = bytes(values)
        except (ValueError, TypeError) as exc:
            raise MalformedStatusList("status values must be integers from 0 to 255") from exc
        if raw and max(raw) >= 1 << bits:
            raise MalformedStatusList("a status value does not fit in the list's bit width")
        if bits == 8:
            return cls(bits, raw, aggregation_uri)
        per_byte = 8 // bits
        nbytes = -(-len(raw) // per_byte)
        raw = raw.ljust(nbytes * per_byte, b"\x00")
        # Slot j of every byte comes from values[j::per_byte]; the slots occupy
        # disjoint bits, so OR-ing them as one big little-endian integer packs
        # the whole array at once.
        packed = 0
        for slot, table in enumerate(_PLACE[bits]):
            packed |= int.from_bytes(raw[slot::per_byte].translate(table), "little")
        return cls(bits, packed.to_bytes(nbytes, "little"), aggregation_uri)

    # --- reading --------------------------------------------------------------

    @property
    def size(self) -> int:
        """The number of entries the list holds."""
        return len(self.data) * 8 // self.bits

    def get(self, index: int) -> int:
        """The status value at `index` (§4.1 step 3, §8.3 step 6)."""
        self._check_index(index)
        byte, slot = divmod(index * self.bits, 8)
        return (self.data[byte] >> slot) & ((1 << self.bits) - 1)

    def statuses(self) -> bytes:
        """Every entry's status value, one byte per entry, in index order."""
        if self.bits == 8:
            return self.data
        per_byte = 8 // self.bits
        out = bytearray(len(self.data) * per_byte)
        for slot, table in enumerate(_EXTRACT[self.bits]):
            out[slot::per_byte] = self.data.translate(table)
        return bytes(out)

    def _check_index(self, index: int) -> None:
        if type(index) is not int:
            raise TypeError("a status list index must be an int")
        if not 0 <= index < self.size:
            raise StatusIndexOutOfRange("the index is outside the status list")

    # --- changing -------------------------------------------------------------

    def with_changes(self, changes: Mapping[int, int]) -> StatusList:
        """A copy of this list with `changes` ({index: status value}) applied.

        One copy of the byte array for the whole batch; the loop runs once per
        change, not once per entry.
        """
        mask = (1 << self.bits) - 1
        buf = bytearray(self.data)
        for index, value in changes.items():
            self._check_index(index)
            _check_value(value, self.bits)
            byte, slot = divmod(index * self.bits, 8)
            buf[byte] = (buf[byte] & ~(mask << slot) & 0xFF) | (value << slot)
        return replace(self, data=bytes(buf))

    # --- JSON form (§4.2) -----------------------------------------------------

    def encode(self) -> dict[str, Any]:
        """The JSON StatusList object: `bits` and `lst` = base64url(ZLIB(DEFLATE(data)))."""
        obj: dict[str, Any] = {
            "bits": self.bits,
            "lst": b64url_encode(zlib.compress(self.data, _ZLIB_LEVEL)),
        }
        if self.aggregation_uri is not None:
            obj["aggregation_uri"] = self.aggregation_uri
        return obj

    @classmethod
    def decode(cls, obj: object, *, max_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES) -> StatusList:
        """Parse a JSON StatusList object (§4.2), inflating at most `max_bytes`.

        Members other than `bits`, `lst` and `aggregation_uri` are ignored.
        """
        if not isinstance(obj, Mapping):
            raise MalformedStatusList("a status list must be a JSON object")
        bits = _check_bits(obj.get("bits"))
        lst = obj.get("lst")
        if not isinstance(lst, str):
            raise MalformedStatusList("'lst' must be a string")
        aggregation_uri = obj.get("aggregation_uri")
        if aggregation_uri is not None and not isinstance(aggregation_uri, str):
            raise MalformedStatusList("'aggregation_uri' must be a string")
        return cls(bits, _inflate(lst, max_bytes=max_bytes), aggregation_uri)


def _check_value(value: int, bits: int) -> None:
    if type(value) is not int and not isinstance(value, StatusType):
        raise TypeError("a status value must be an int")
    if not 0 <= value < 1 << bits:
        raise MalformedStatusList("a status value does not fit in the list's bit width")


def _inflate(lst: str, *, max_bytes: int) -> bytes:
    if max_bytes < 0:
        raise ValueError("max_bytes cannot be negative")
    # DEFLATE never grows data by more than ~0.1 % plus a few bytes, so a longer
    # `lst` cannot be a list within the cap; refuse it before decoding it.
    if len(lst) > (max_bytes + max_bytes // 500 + 1024) * 4 // 3:
        raise MalformedStatusList("the status list is larger than allowed")
    try:
        compressed = b64url_decode(lst, what="status list 'lst'")
    except MalformedInput as exc:
        raise MalformedStatusList(exc.message) from exc
    # wbits=MAX_WBITS accepts the ZLIB format (RFC 1950) only: no raw DEFLATE,
    # no GZIP (the W3C Bitstring Status List's format). One byte over the cap is
    # enough to know the cap is exceeded; the rest is never inflated.
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS)
    try:
        data = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as exc:
        raise MalformedStatusList("'lst' is not ZLIB-compressed data") from exc
    if len(data) > max_bytes:
        raise MalformedStatusList("the status list inflates past the allowed size")
    if not inflater.eof:
        raise MalformedStatusList("'lst' is a truncated ZLIB stream")
    if inflater.unused_data:
        raise MalformedStatusList("'lst' has data after the end of the ZLIB stream")
    return data


# --- the reference in a Referenced Token (§6.2) ---------------------------------


def check_uri(uri: object, *, what: str) -> str:
    """Return `uri` if it is a string with RFC 3986 URI syntax; else `status_list.malformed`.

    Used for a reference's `uri` (§6.2: "MUST be a URI conforming to
    [RFC3986]") and a Status List Token's `sub` (§5.1).
    """
    if not isinstance(uri, str):
        raise MalformedStatusList(f"{what} must be a string")
    if len(uri) > MAX_URI_LENGTH or _URI_RE.fullmatch(uri) is None:
        raise MalformedStatusList(f"{what} is not a URI")
    return uri


@dataclass(frozen=True, slots=True)
class StatusReference:
    """Where a Referenced Token's status lives: entry `idx` of the list at `uri`."""

    idx: int
    uri: str

    @classmethod
    def parse(cls, status: object) -> StatusReference:
        """Parse a token's `status` claim value (§6.1, §6.2; §8.3 step 1).

        The `status_list` member is required: govid knows no other status
        mechanism. Other members of `status` and of `status_list` are ignored.
        """
        if not isinstance(status, Mapping):
            raise MalformedStatusList("the 'status' claim must be a JSON object")
        ref = status.get("status_list")
        if ref is None:
            raise MalformedStatusList("the 'status' claim has no 'status_list' member")
        if not isinstance(ref, Mapping):
            raise MalformedStatusList("'status_list' must be a JSON object")
        idx, uri = ref.get("idx"), ref.get("uri")
        # bool is an int in Python; a JSON `true` is not an index.
        if type(idx) is not int or idx < 0:
            raise MalformedStatusList("'status_list.idx' must be a non-negative integer")
        return cls(idx, check_uri(uri, what="'status_list.uri'"))

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> StatusReference:
        """Parse the `status` claim of a Referenced Token's claims set (§6.2)."""
        if "status" not in claims:
            raise ClaimMissing("the token has no 'status' claim")
        return cls.parse(claims["status"])

    def to_claim(self) -> dict[str, Any]:
        """The `status` claim value that points at this entry."""
        return {"status_list": {"idx": self.idx, "uri": self.uri}}
