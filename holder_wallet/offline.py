"""Offline presentation: an SD-JWT+KB shown as a QR code, bound to the counter's challenge.

The format is the verifier's (`verifier/offline.py`), restated in `docs/wallet.md`:

    GOVIDVP1:<base64url(raw DEFLATE(presentation))>

The counter displays a challenge `{"aud": ..., "nonce": ...}` (the verifier's
`POST /api/offline-challenges` answer); the KB-JWT carries exactly those, so a
QR photographed at one counter is refused at another and a second time. The
wallet discloses only the claims the citizen picks (none by default), so the
code stays small enough to scan from a phone screen (QR version <= 30, error
correction level L: a screen is not a worn sticker).
"""

from __future__ import annotations

import io
import json
import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Final
from urllib.parse import parse_qs

import qrcode
import qrcode.constants
from qrcode.exceptions import DataOverflowError

from did.encoding import b64url_encode
from did.keys import PrivateKey
from did.sd_jwt import present_sd_jwt
from holder_wallet.errors import ChallengeInvalid, QRTooLarge

__all__ = [
    "MAX_QR_VERSION",
    "OFFLINE_PREFIX",
    "Challenge",
    "encode_offline",
    "offline_presentation",
    "parse_challenge",
    "qr_png",
]

OFFLINE_PREFIX: Final = "GOVIDVP1:"
# Measured: a civil identity with one disclosed claim is ~1.4 kB of QR text,
# version 27 at level L (the two signatures, the `cnf` key and the `_sd` digests
# are incompressible). Version 30 (137x137 modules) still scans from a phone
# screen at full brightness; beyond it the wallet asks for fewer claims.
MAX_QR_VERSION: Final = 30


class Challenge(tuple[str, str]):
    """`(aud, nonce)` of a counter's offline challenge."""

    @property
    def aud(self) -> str:
        return self[0]

    @property
    def nonce(self) -> str:
        return self[1]


def parse_challenge(text: str) -> Challenge:
    """A challenge as JSON `{"aud", "nonce"}` or as `aud=...&nonce=...`."""
    text = text.strip()
    aud: object
    nonce: object
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise ChallengeInvalid("the challenge is not valid JSON") from exc
        aud, nonce = (obj.get("aud"), obj.get("nonce")) if isinstance(obj, dict) else (None, None)
    else:
        query = parse_qs(text.split("?", 1)[-1])
        aud, nonce = query.get("aud", [""])[0], query.get("nonce", [""])[0]
    if not isinstance(aud, str) or not aud or not isinstance(nonce, str) or not nonce:
        raise ChallengeInvalid("a challenge has an 'aud' and a 'nonce'")
    if len(aud) > 512 or len(nonce) > 256:
        raise ChallengeInvalid("the challenge is too long")
    return Challenge((aud, nonce))


def encode_offline(presentation: str) -> str:
    """Raw DEFLATE (RFC 1951) level 9, base64url without padding, behind the prefix."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = compressor.compress(presentation.encode("ascii")) + compressor.flush()
    return OFFLINE_PREFIX + b64url_encode(packed)


def offline_presentation(
    sd_jwt: str,
    *,
    holder_key: PrivateKey,
    challenge: Challenge,
    disclose: Sequence[Sequence[str | int]],
    now: datetime,
) -> str:
    """The QR text: chosen disclosures, KB-JWT with the challenge's `aud` and `nonce`."""
    presentation = present_sd_jwt(
        sd_jwt,
        disclose=[list(p) for p in disclose],
        holder_key=holder_key,
        aud=challenge.aud,
        nonce=challenge.nonce,
        now=now,
    )
    return encode_offline(presentation)


def qr_png(text: str) -> bytes:
    """A PNG of `text` as a QR code; `wallet.qr_too_large` past `MAX_QR_VERSION`."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=6, border=4)
    code.add_data(text)
    try:
        code.make(fit=True)
    except DataOverflowError as exc:
        raise QRTooLarge(
            "the presentation does not fit in a QR code; disclose fewer claims"
        ) from exc
    if code.version > MAX_QR_VERSION:
        raise QRTooLarge("the presentation is too large to scan reliably; disclose fewer claims")
    out = io.BytesIO()
    code.make_image().save(out)
    return out.getvalue()
