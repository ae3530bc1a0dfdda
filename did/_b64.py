"""Unpadded base64url (RFC 7515 §2, RFC 4648 §5), strict on input."""

from __future__ import annotations

import base64
import binascii
import re

from did.errors import MalformedInput

_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")


def b64url_encode(data: bytes) -> str:
    """Encode `data` as base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes, *, what: str = "value") -> bytes:
    """Decode unpadded base64url, refusing padding, other alphabets and bad lengths.

    Raises `MalformedInput` naming `what` (never the text itself).
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("ascii")
        except UnicodeDecodeError as exc:
            raise MalformedInput(f"{what} is not base64url") from exc
    if len(text) % 4 == 1 or _B64URL_RE.fullmatch(text) is None:
        raise MalformedInput(f"{what} is not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:  # pragma: no cover - regex guards this
        raise MalformedInput(f"{what} is not base64url") from exc
    # Non-canonical encodings (stray low bits in the last character) decode to the
    # same bytes as the canonical one; accept only the canonical form so that one
    # byte string has exactly one encoding (signatures are over the text).
    if b64url_encode(raw) != text:
        raise MalformedInput(f"{what} is not canonical base64url")
    return raw
