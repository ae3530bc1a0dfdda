"""The wire encodings every layer shares, strict on input: base64url, base64, JSON.

- Unpadded base64url (RFC 7515 §2, RFC 4648 §5): `b64url_encode`,
  `b64url_decode`. They sit on every verification's hot path (JWS parts,
  Disclosures, digests, JWK members), so they call `binascii` directly
  instead of going through the `base64` module's wrappers, and check
  canonical form by looking at the unused low bits of the last character
  instead of re-encoding.
- Padded standard base64 (RFC 4648 §4), canonical: `b64_encode`,
  `b64_decode` (signed notes, Merkle proofs).
- JSON (RFC 8259) for signed or hostile input: `json_loads_strict` refuses
  duplicate member names (RFC 7515 §5.2 step 4, RFC 7519 §7.2 step 4),
  NaN/Infinity and deep nesting; `json_dumps_compact` writes without
  insignificant whitespace.

Every other package takes these from here; none writes its own.
"""

from __future__ import annotations

import binascii
import json
import re
from typing import Any, Final

from did.errors import GovidError, MalformedInput

__all__ = [
    "b64_decode",
    "b64_encode",
    "b64url_decode",
    "b64url_encode",
    "json_dumps_compact",
    "json_loads_strict",
]

_B64URL_RE: Final = re.compile(r"[A-Za-z0-9_-]*")
_TO_STANDARD: Final = bytes.maketrans(b"-_", b"+/")
_TO_URLSAFE: Final = bytes.maketrans(b"+/", b"-_")
_PADDING: Final = (b"", b"", b"==", b"=")  # by len(text) % 4; 1 is never valid

# The 6-bit value of each base64url character.
_VALUE: Final = {
    c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
}
# RFC 4648 §3.5: with 2 (or 3) characters in the last quantum, the last one
# carries 4 (or 2) bits that encode nothing; a canonical encoder sets them to 0.
_UNUSED_BITS: Final = (0, 0, 0x0F, 0x03)


def b64url_encode(data: bytes) -> str:
    """Encode `data` as base64url without padding."""
    return (
        binascii.b2a_base64(data, newline=False).rstrip(b"=").translate(_TO_URLSAFE).decode("ascii")
    )


def b64url_decode(text: str | bytes, *, what: str = "value") -> bytes:
    """Decode unpadded base64url, refusing padding, other alphabets and bad lengths.

    Raises `MalformedInput` naming `what` (never the text itself).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError as exc:
            raise MalformedInput(f"{what} is not base64url") from exc
    rest = len(text) % 4
    if rest == 1 or _B64URL_RE.fullmatch(text) is None:
        raise MalformedInput(f"{what} is not unpadded base64url")
    # Non-canonical encodings (stray low bits in the last character) decode to the
    # same bytes as the canonical one; accept only the canonical form so that one
    # byte string has exactly one encoding (signatures are over the text).
    if rest and _VALUE[text[-1]] & _UNUSED_BITS[rest]:
        raise MalformedInput(f"{what} is not canonical base64url")
    try:
        return binascii.a2b_base64(text.encode("ascii").translate(_TO_STANDARD) + _PADDING[rest])
    except binascii.Error as exc:  # pragma: no cover - the regex guards this
        raise MalformedInput(f"{what} is not base64url") from exc


def b64_encode(data: bytes) -> str:
    """Encode `data` as padded standard base64 (RFC 4648 §4)."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def b64_decode(
    text: object, *, what: str = "value", error: type[GovidError] = MalformedInput
) -> bytes:
    """Decode padded standard base64, refusing other alphabets and non-canonical forms.

    Raises `error` naming `what` (never the text itself).
    """
    if not isinstance(text, str):
        raise error(f"{what} is not standard base64")
    try:
        raw = binascii.a2b_base64(text.encode("ascii"), strict_mode=True)
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise error(f"{what} is not standard base64") from exc
    # One byte string, one encoding: refuse stray low bits in the last character.
    if b64_encode(raw) != text:
        raise error(f"{what} is not canonical base64")
    return raw


# --- strict JSON ----------------------------------------------------------------


class _DuplicateMember(ValueError):
    pass


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        # RFC 7515 §5.2 step 4 / RFC 7519 §7.2 step 4: reject duplicate names.
        raise _DuplicateMember("duplicate member name")
    return result


def _no_constant(_: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


# One decoder for every call: `json.loads` with hooks builds a new JSONDecoder
# each time, which costs about as much as decoding a small JWS header. The
# decoder holds no per-call state (the stdlib shares its default one the same way).
#
# Why not orjson here (it is installed and ~3x faster): it keeps the last of
# duplicate member names instead of refusing them (RFC 7515 §5.2 step 4 says
# reject), refuses integers beyond 64 bits and lone surrogate escapes that the
# stdlib accepts, so it is not a drop-in for a strict parser of signed input.
_STRICT_DECODER: Final = json.JSONDecoder(
    object_pairs_hook=_unique_members, parse_constant=_no_constant
)


def json_loads_strict(
    data: bytes | str, *, what: str, error: type[GovidError] = MalformedInput
) -> Any:
    """Parse UTF-8 JSON, refusing duplicate member names, NaN/Infinity and deep nesting.

    Raises `error` (a `MalformedInput` subclass) naming `what`, never echoing the data.
    """
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        return _STRICT_DECODER.decode(text)
    except _DuplicateMember as exc:
        raise error(f"{what} has a duplicate member name") from exc
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise error(f"{what} is not valid UTF-8 JSON") from exc


# The encoder `json.dumps` would build on each call with these arguments, built
# once (same class, same options, so byte-identical output). Not orjson: it
# writes NaN as null instead of refusing it, refuses integers beyond 64 bits and
# spells some floats differently, and a signed payload must not change spelling
# with the library that happens to be installed.
_COMPACT_ENCODER: Final = json.JSONEncoder(
    separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def json_dumps_compact(value: Any) -> bytes:
    """UTF-8 JSON without insignificant whitespace; refuses NaN and Infinity."""
    return _COMPACT_ENCODER.encode(value).encode("utf-8")
