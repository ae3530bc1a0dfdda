"""The offline presentation format: an SD-JWT+KB a wallet shows as a QR code.

    GOVIDVP1:<base64url(DEFLATE(presentation))>

Compact: raw DEFLATE (RFC 1951) at level 9, base64url without padding, and
an upper-case-free prefix so the QR can use byte mode. Bound to the counter's
challenge: the KB-JWT carries the challenge's `aud` and `nonce`, which the
counter displayed (its own presentation request in `offline` mode), so a
QR photographed at one counter is refused at another and a second time.
Decompression is bounded (a zip bomb is `offline.malformed`).
"""

from __future__ import annotations

import zlib
from typing import Final

from did.encoding import b64url_decode, b64url_encode
from did.errors import MalformedInput
from did.sd_jwt.serialization import MAX_SD_JWT_LENGTH
from verifier.errors import OfflinePresentationMalformed

__all__ = ["OFFLINE_PREFIX", "decode_offline", "encode_offline"]

OFFLINE_PREFIX: Final = "GOVIDVP1:"
MAX_QR_TEXT: Final = 8192


def encode_offline(presentation: str) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = compressor.compress(presentation.encode("ascii")) + compressor.flush()
    return OFFLINE_PREFIX + b64url_encode(packed)


def decode_offline(text: str) -> str:
    """The presentation inside a scanned QR text; raise `offline.malformed`."""
    if not isinstance(text, str) or len(text) > MAX_QR_TEXT or not text.startswith(OFFLINE_PREFIX):
        raise OfflinePresentationMalformed("the QR code is not a govid offline presentation")
    try:
        packed = b64url_decode(text[len(OFFLINE_PREFIX) :], what="the offline presentation")
        inflater = zlib.decompressobj(-15)
        raw = inflater.decompress(packed, MAX_SD_JWT_LENGTH + 1)
        if len(raw) > MAX_SD_JWT_LENGTH or inflater.unconsumed_tail or not inflater.eof:
            raise OfflinePresentationMalformed("the offline presentation does not inflate")
        return raw.decode("ascii")
    except (MalformedInput, zlib.error, UnicodeDecodeError) as exc:
        if isinstance(exc, OfflinePresentationMalformed):
            raise
        raise OfflinePresentationMalformed("the offline presentation does not decode") from exc
