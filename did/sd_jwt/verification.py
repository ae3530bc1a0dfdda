"""Verifying SD-JWTs and SD-JWT+KBs (RFC 9901 §7.1, §7.2, §7.3).

Key Binding is required exactly when the caller passes `expected_aud` and
`expected_nonce` (§7.3 step 1: the verifier's policy decides, never the
presence of a KB-JWT). A KB-JWT that is present although not required is
still verified against `cnf` (signature, `typ`, `iat` window, `sd_hash`): a
presentation that carries a forged or foreign KB-JWT is rejected rather than
silently trimmed. Without expected values there is nothing to compare `aud`
and `nonce` with, so those two are the only checks skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeAlias

from did.errors import (
    HashAlgorithmUnsupported,
    KeyBindingMissing,
    KeyBindingUnexpected,
)
from did.jose import DEFAULT_ALGS, verify_jws
from did.keys import PublicKey
from did.sd_jwt._processing import DisclosedClaim, process_payload
from did.sd_jwt.disclosures import DEFAULT_SD_ALG
from did.sd_jwt.key_binding import DEFAULT_KB_MAX_AGE, holder_key_from_cnf, verify_kb_jwt
from did.sd_jwt.serialization import UnverifiedSDJWT
from did.validity import DEFAULT_SKEW, check_time_claims

__all__ = ["IssuerKey", "VerifiedSDJWT", "verify_issued_sd_jwt", "verify_sd_jwt"]

# The issuer's key, or a lookup `(unverified_iss, unverified_header) -> key`.
# The lookup is where the caller resolves a DID and checks that the key
# belongs to the issuer (§7.1 step 2.3); both arguments are UNVERIFIED.
IssuerKey: TypeAlias = PublicKey | Callable[[str | None, Mapping[str, Any]], PublicKey]


@dataclass(frozen=True, slots=True)
class VerifiedSDJWT:
    """The result of a successful verification.

    - `claims`: the Processed SD-JWT Payload (§7.1), a fresh dict;
    - `disclosed`: the Disclosures used and the path of each claim;
    - `payload`: the issuer-signed payload as signed (digests included);
    - `header`: the issuer JWS header;
    - `key_binding`: the verified KB-JWT claims, or None when there was none.
    """

    header: dict[str, Any]
    payload: dict[str, Any]
    claims: dict[str, Any]
    disclosed: tuple[DisclosedClaim, ...]
    key_binding: dict[str, Any] | None


def _sd_alg(payload: Mapping[str, Any], allowed: Collection[str]) -> str:
    sd_alg = payload.get("_sd_alg", DEFAULT_SD_ALG)  # §4.1.1 default
    if not isinstance(sd_alg, str) or sd_alg not in allowed:
        raise HashAlgorithmUnsupported("the '_sd_alg' hash algorithm is not accepted")
    return sd_alg


def verify_sd_jwt(
    presentation: str | UnverifiedSDJWT,
    *,
    issuer_key: IssuerKey,
    typ: str | Collection[str] | None,
    now: datetime,
    expected_aud: str | None = None,
    expected_nonce: str | None = None,
    skew: timedelta = DEFAULT_SKEW,
    kb_max_age: timedelta = DEFAULT_KB_MAX_AGE,
    algs: Collection[str] = DEFAULT_ALGS,
    sd_algs: Collection[str] = (DEFAULT_SD_ALG,),
    crit_understood: Collection[str] = (),
) -> VerifiedSDJWT:
    """Verify an SD-JWT or SD-JWT+KB presentation; return the processed claims.

    Steps (RFC 9901 §7.3, which includes §7.1):
    1. policy: Key Binding is required iff `expected_aud` and `expected_nonce` are given;
    2. parse strictly (§7.1 step 1); a required but absent KB-JWT is `kb_jwt.missing`;
    3. the issuer JWS: allowed algorithm, signature by `issuer_key`, `typ` (§7.1 step 2);
    4. `_sd_alg` accepted (§7.1 step 2.4);
    5. disclosures against digests (§7.1 steps 3-5, see `process_payload`);
    6. `exp`/`nbf`/`iat` of the processed payload at `now` (§7.1 step 6);
    7. the KB-JWT against `cnf.jwk` (§7.3 step 5, see `verify_kb_jwt`).
    """
    required = expected_aud is not None or expected_nonce is not None  # 1
    if required and (expected_aud is None or expected_nonce is None):
        raise TypeError("Key Binding needs both expected_aud and expected_nonce")
    unverified = (  # 2
        presentation
        if isinstance(presentation, UnverifiedSDJWT)
        else UnverifiedSDJWT.parse(presentation)
    )
    if required and unverified.kb_jwt is None:
        raise KeyBindingMissing("the presentation has no Key Binding JWT")
    if callable(issuer_key):  # 3
        unverified_iss = unverified.unverified_payload.get("iss")
        key = issuer_key(
            unverified_iss if isinstance(unverified_iss, str) else None, unverified.jws.header
        )
    else:
        key = issuer_key
    verified = verify_jws(unverified.jws, key, typ=typ, algs=algs, crit_understood=crit_understood)
    payload = unverified.unverified_payload  # verified from here on
    sd_alg = _sd_alg(payload, sd_algs)  # 4
    claims, disclosed = process_payload(payload, unverified.disclosures, sd_alg)  # 5
    check_time_claims(claims, now=now, skew=skew)  # 6
    kb_claims: dict[str, Any] | None = None
    if unverified.kb_jwt is not None:  # 7
        kb_claims = verify_kb_jwt(
            unverified.kb_jwt,
            sd_jwt=unverified.sd_jwt,
            holder_key=holder_key_from_cnf(claims),
            now=now,
            expected_aud=expected_aud,
            expected_nonce=expected_nonce,
            max_age=kb_max_age,
            skew=skew,
            algs=algs,
            sd_alg=sd_alg,
        )
    return VerifiedSDJWT(verified.header, payload, claims, disclosed, kb_claims)


def verify_issued_sd_jwt(
    issued: str | UnverifiedSDJWT,
    *,
    issuer_key: IssuerKey,
    typ: str | Collection[str] | None,
    now: datetime,
    skew: timedelta = DEFAULT_SKEW,
    algs: Collection[str] = DEFAULT_ALGS,
    sd_algs: Collection[str] = (DEFAULT_SD_ALG,),
    crit_understood: Collection[str] = (),
) -> VerifiedSDJWT:
    """The holder's check of a freshly issued SD-JWT (§7.2): as `verify_sd_jwt`,
    and an SD-JWT+KB is refused (`kb_jwt.unexpected`)."""
    unverified = issued if isinstance(issued, UnverifiedSDJWT) else UnverifiedSDJWT.parse(issued)
    if unverified.kb_jwt is not None:
        raise KeyBindingUnexpected("an issued SD-JWT must not carry a Key Binding JWT")
    return verify_sd_jwt(
        unverified,
        issuer_key=issuer_key,
        typ=typ,
        now=now,
        skew=skew,
        algs=algs,
        sd_algs=sd_algs,
        crit_understood=crit_understood,
    )
