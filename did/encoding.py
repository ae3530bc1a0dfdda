"""Unpadded base64url (RFC 7515 §2, RFC 4648 §5), strict on input.

These two functions sit on every verification's hot path (JWS parts,
Disclosures, digests, JWK members), so they call `binascii` directly instead
of going through the `base64` module's wrappers, and check canonical form by
looking at the unused low bits of the last character instead of re-encoding.
"""

from __future__ import annotations

import binascii
import re
from typing import Final

from did.errors import MalformedInput

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
