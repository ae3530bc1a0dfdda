"""Key Binding JWTs (RFC 9901 §4.3, §7.3 step 5).

The holder signs `{iat, aud, nonce, sd_hash}` with the key the issuer put in
`cnf.jwk`; `sd_hash` binds the KB-JWT to exactly the issuer-signed JWT and the
Disclosures presented, `aud` and `nonce` to one verifier and one transaction,
`iat` to a short time window.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from did.errors import (
    AudienceMismatch,
    ClaimMissing,
    CnfMissing,
    KeyBindingStale,
    MalformedClaim,
    NonceMismatch,
    SDHashMismatch,
)
from did.jose import DEFAULT_ALGS, sign_jwt, verify_jwt
from did.keys import PrivateKey, PublicKey, public_key_from_jwk
from did.sd_jwt.disclosures import DEFAULT_SD_ALG, sd_digest
from did.validity import DEFAULT_SKEW, check_time_claims, numeric_date

__all__ = [
    "DEFAULT_KB_MAX_AGE",
    "KB_JWT_TYP",
    "create_kb_jwt",
    "holder_key_from_cnf",
    "verify_kb_jwt",
]

KB_JWT_TYP: Final = "kb+jwt"  # §4.3

# Not fixed by the spec (§7.3 step 5.5 says "an acceptable window"): five
# minutes covers a QR scan and a slow phone; nonces prevent replay inside it.
DEFAULT_KB_MAX_AGE: Final = timedelta(minutes=5)


def create_kb_jwt(
    sd_jwt: str,
    *,
    holder_key: PrivateKey,
    aud: str,
    nonce: str,
    now: datetime,
    alg: str | None = None,
    sd_alg: str = DEFAULT_SD_ALG,
) -> str:
    """A KB-JWT over `sd_jwt` (everything up to and including the last tilde, §4.3.1)."""
    if not sd_jwt.endswith("~"):
        raise ValueError("sd_jwt must end with a tilde")
    claims = {
        "iat": int(now.timestamp()),
        "aud": aud,
        "nonce": nonce,
        "sd_hash": sd_digest(sd_jwt, sd_alg),
    }
    return sign_jwt(claims, holder_key, typ=KB_JWT_TYP, alg=alg)


def holder_key_from_cnf(claims: Mapping[str, Any]) -> PublicKey:
    """The holder's key from `cnf.jwk` (§4.1.2, RFC 7800 §3.2); raises
    `sd_jwt_vc.cnf_missing` without one and `key.invalid` for a bad JWK."""
    cnf = claims.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        raise CnfMissing("the credential has no 'cnf' claim with a 'jwk'")
    return public_key_from_jwk(jwk)


def verify_kb_jwt(
    kb_jwt: str,
    *,
    sd_jwt: str,
    holder_key: PublicKey,
    now: datetime,
    expected_aud: str | None,
    expected_nonce: str | None,
    max_age: timedelta = DEFAULT_KB_MAX_AGE,
    skew: timedelta = DEFAULT_SKEW,
    algs: Collection[str] = DEFAULT_ALGS,
    sd_alg: str = DEFAULT_SD_ALG,
) -> dict[str, Any]:
    """Verify a KB-JWT (§7.3 step 5) and return its claims.

    5.2-5.4: algorithm, signature by `holder_key`, `typ: kb+jwt` (`jose.*`);
    5.5: `iat` present, not in the future (`jwt.iat_in_future`) and not older
    than `max_age` (`kb_jwt.stale`), plus `exp`/`nbf` if present (5.8);
    5.6: `aud` and `nonce` (`kb_jwt.aud_mismatch`, `kb_jwt.nonce_mismatch`) —
    skipped only when the caller passes None (Key Binding not required);
    5.7: `sd_hash` over `sd_jwt` (`kb_jwt.sd_hash_mismatch`).
    """
    claims = verify_jwt(kb_jwt, holder_key, typ=KB_JWT_TYP, algs=algs)  # 5.2-5.4
    check_time_claims(claims, now=now, skew=skew, require_iat=True)  # 5.5, 5.8
    iat = numeric_date(claims, "iat")
    assert iat is not None  # require_iat
    if now.timestamp() - iat > (max_age + skew).total_seconds():
        raise KeyBindingStale("the Key Binding JWT is too old")
    for name in ("aud", "nonce", "sd_hash"):
        if name not in claims:
            raise ClaimMissing("the Key Binding JWT lacks a required claim")
        if not isinstance(claims[name], str):  # §4.3: each is a single string
            raise MalformedClaim("a Key Binding JWT claim is not a string")
    if expected_aud is not None and claims["aud"] != expected_aud:  # 5.6
        raise AudienceMismatch("the Key Binding JWT is meant for another audience")
    if expected_nonce is not None and claims["nonce"] != expected_nonce:
        raise NonceMismatch("the Key Binding JWT does not carry the expected nonce")
    if claims["sd_hash"] != sd_digest(sd_jwt, sd_alg):  # 5.7
        raise SDHashMismatch("the Key Binding JWT is not bound to this SD-JWT")
    return claims
