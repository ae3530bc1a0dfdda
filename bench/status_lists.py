"""Token Status Lists at scale: encode, publish (build + sign), check; size against entropy.

Lists of 131,072 (the issuer's minimum) to 10^7 entries (`--quick`: 10^6),
2 bits per entry as the issuer keeps them (VALID / INVALID / SUSPENDED), with
a random 1 % of entries revoked (and one size at 0.1 % and 10 % beside it).
Each figure is a ratio against its floor in the same run, interleaved:

- `encode`: `StatusList.encode()` (ZLIB level 9 + base64url) vs `zlib.compress`
  of the packed bytes at the same level alone;
- `publish`: `build_status_list_token` (encode + claims + JWS, EdDSA issuer
  key) vs `zlib.compress` + one libsodium signature over the same bytes;
- `check`: `verify_status_list_token` + `status_of` one index (what a
  verifier does with a token) vs libsodium signature check + base64url
  decode + `zlib.decompress` alone;
- `size`: bytes of the compressed list vs the entropy bound for the rate,
  n * H(p) / 8 bytes with H the binary entropy (a list whose entries are
  independently revoked with probability p cannot be coded in fewer bits on
  average). Whether the signed token fits in one ledger operation
  (`registry.operations.MAX_OPERATION_BYTES`) is printed beside it.
"""

from __future__ import annotations

import base64
import math
import random
import zlib
from collections.abc import Callable
from datetime import UTC, datetime

import nacl.bindings
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from bench._harness import Record, Settings, compare
from did.encoding import b64url_decode
from did.keys import generate_private_key
from did.status_list import StatusList, StatusReference
from did.status_list_token import build_status_list_token, status_of, verify_status_list_token

__all__ = ["entropy_bytes", "run", "sizes"]

URI = "https://civil.govid.example/status/civil/1"
IAT = 1_780_000_000
BITS = 2
RATE = 0.01


def entropy_bytes(n: int, p: float) -> float:
    """n * H(p) / 8: the least average size of n independent entries revoked with probability p."""
    if p <= 0 or p >= 1:
        return 0.0
    h = -p * math.log2(p) - (1 - p) * math.log2(1 - p)
    return n * h / 8


def sizes(*, quick: bool) -> list[int]:
    return [131_072, 1_000_000] if quick else [131_072, 1_000_000, 10_000_000]


def _list(n: int, rate: float, seed: int) -> StatusList:
    rng = random.Random(seed)
    revoked = rng.sample(range(n), int(n * rate))
    return StatusList.new(n, BITS).with_changes(dict.fromkeys(revoked, 1))


def _settings_for(n: int, settings: Settings) -> Settings:
    # Big lists take tens of ms per call: fewer, longer rounds keep the run bounded.
    if n >= 5_000_000:
        return Settings(max(3, settings.rounds // 3), max(settings.batch_s, 0.2))
    return settings


def _figures(n: int, rate: float, settings: Settings, tag: str) -> list[Record]:
    from did.status_list import _ZLIB_LEVEL

    key = generate_private_key("EdDSA")
    seed = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    public, secret = nacl.bindings.crypto_sign_seed_keypair(seed)
    status_list = _list(n, rate, seed=n)
    data = status_list.data
    compressed = zlib.compress(data, _ZLIB_LEVEL)
    max_bytes = len(data) + 1024
    moment = datetime.fromtimestamp(IAT + 10, UTC)
    reference = StatusReference(idx=n // 3, uri=URI)

    def publish() -> str:
        return build_status_list_token(
            status_list, key=key, uri=URI, iat=IAT, ttl=300, kid="did:govid:x#key-1"
        )

    token = publish()
    public_key = key.public_key()

    def check() -> object:
        verified = verify_status_list_token(
            token, key=public_key, expected_uri=URI, now=moment, max_bytes=max_bytes
        )
        return status_of(reference, verified)

    head, _, sig_b64 = token.rpartition(".")
    signed = b64url_decode(sig_b64) + head.encode("ascii")
    lst_b64 = base64.urlsafe_b64encode(compressed).rstrip(b"=")

    def check_floor() -> object:
        nacl.bindings.crypto_sign_open(signed, public)
        raw = base64.urlsafe_b64decode(lst_b64 + b"=" * (-len(lst_b64) % 4))
        return zlib.decompress(raw)[reference.idx * BITS // 8]

    cases: list[tuple[str, Callable[[], object], Callable[[], object], str]] = [
        (
            "encode",
            status_list.encode,
            lambda: zlib.compress(data, _ZLIB_LEVEL),
            f"StatusList.encode vs zlib.compress(level {_ZLIB_LEVEL}) of the packed bytes",
        ),
        (
            "publish",
            publish,
            lambda: nacl.bindings.crypto_sign(zlib.compress(data, _ZLIB_LEVEL), secret),
            "build_status_list_token (EdDSA) vs zlib.compress + one libsodium signature",
        ),
        (
            "check",
            check,
            check_floor,
            "verify_status_list_token + status_of one index vs libsodium signature check + "
            "base64url decode + zlib.decompress",
        ),
    ]
    records = []
    local = _settings_for(n, settings)
    for what, subject, floor, text in cases:
        comparison = compare(subject, floor, local)
        name = f"status_list.{what}.{tag}"
        print(
            f"{name:<34} govid {comparison.subject_s * 1e3:9.2f} ms | floor "
            f"{comparison.reference_s * 1e3:9.2f} ms | ratio {comparison.ratio:.2f} "
            f"(spread {comparison.spread:.0%}, {comparison.rounds} rounds)"
        )
        records.append(
            Record(
                name,
                round(comparison.subject_s * 1e3, 3),
                "ms/op",
                f"{n} entries, {BITS} bits, {rate:.1%} revoked: {text}; ratio = govid / floor; "
                "lower is better",
                round(comparison.ratio, 3),
            )
        )
    bound = entropy_bytes(n, rate)
    from registry.operations import MAX_OPERATION_BYTES

    fits = len(token) + 512 <= MAX_OPERATION_BYTES
    print(
        f"{'status_list.size.' + tag:<34} {len(compressed):9d} bytes compressed | entropy bound "
        f"{bound:9.0f} bytes | ratio {len(compressed) / bound:.2f} | token {len(token)} bytes, "
        f"{'fits' if fits else 'does NOT fit'} one ledger operation ({MAX_OPERATION_BYTES})"
    )
    records.append(
        Record(
            f"status_list.size.{tag}",
            len(compressed),
            "bytes",
            f"{n} entries, {BITS} bits, {rate:.1%} revoked at random: ZLIB-compressed list size; "
            f"ratio = size / entropy bound n*H(p)/8 = {bound:.0f} bytes; token {len(token)} "
            f"bytes ({'fits' if fits else 'exceeds'} the ledger's {MAX_OPERATION_BYTES}-byte "
            "operation limit); lower is better, 1.0 is optimal",
            round(len(compressed) / bound, 3),
        )
    )
    return records


def _tag(n: int, rate: float) -> str:
    base = "131072" if n == 131_072 else f"1e{round(math.log10(n))}"
    return base if rate == RATE else f"{base}.p{rate:g}"


def run(settings: Settings) -> list[Record]:
    quick = settings.batch_s < 0.05
    records: list[Record] = []
    for n in sizes(quick=quick):
        records += _figures(n, RATE, settings, _tag(n, RATE))
    for rate in (0.001, 0.1):  # the entropy bound at other revocation rates, 10^6 entries
        records += _figures(1_000_000, rate, settings, _tag(1_000_000, rate))
    return records
