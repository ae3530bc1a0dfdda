"""OpenID4VCI 1.0 documents and checks, pure: offers, metadata, key proofs.

Section numbers are those of OpenID for Verifiable Credential Issuance 1.0
(final). The issuer serves one Credential Issuer per agency (identifier
`{public_url}/agencies/{slug}`) and one Authorization Server for all of them
(`{public_url}`), which handles both the pre-authorized code grant (wallets)
and the client credentials grant (agencies' own systems).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from did.errors import GovidError, IssuedInFuture, MalformedInput, VerificationFailed
from did.jose import parse_unverified_jws, verify_jwt
from did.keys import PublicKey, jwk_thumbprint, public_key_from_jwk
from did.validity import check_time_claims
from issuer.errors import CredentialRequestInvalid, ProofInvalid
from openid4vc.issuance import PRE_AUTHORIZED_GRANT, PROOF_TYP, CredentialOffer
from service.oauth import CLIENT_CREDENTIALS_GRANT

__all__ = [
    "PROOF_ALGS",
    "CredentialRequest",
    "ProvenKey",
    "authorization_server_metadata",
    "check_proof",
    "credential_offer",
    "distinct_keys",
    "issuer_metadata",
]

PROOF_ALGS: Final = ("ES256", "EdDSA", "Ed25519")
DEFAULT_PROOF_MAX_AGE: Final = timedelta(minutes=5)


def credential_offer(
    *, credential_issuer: str, configuration_id: str, pre_authorized_code: str, tx_code_length: int
) -> dict[str, Any]:
    """A Credential Offer (§4.1.1) for the pre-authorized code flow with a numeric tx_code."""
    return CredentialOffer(
        credential_issuer,
        (configuration_id,),
        pre_authorized_code,
        tx_code={
            "input_mode": "numeric",
            "length": tx_code_length,
            "description": "Enter the code the agency sent you separately.",
        },
    ).to_json()


def issuer_metadata(
    *,
    credential_issuer: str,
    authorization_server: str,
    issuer_did: str,
    display_name: str,
    configurations: Mapping[str, Mapping[str, Any]],
    batch_size: int,
) -> dict[str, Any]:
    """Credential Issuer Metadata (§12.2.4). `issuer_did` is govid's: the `iss` of credentials."""
    return {
        "credential_issuer": credential_issuer,
        "authorization_servers": [authorization_server],
        "credential_endpoint": f"{credential_issuer}/credential",
        "nonce_endpoint": f"{credential_issuer}/nonce",
        "batch_credential_issuance": {"batch_size": batch_size},
        "display": [{"name": display_name, "locale": "en-US"}],
        "credential_configurations_supported": dict(configurations),
        "issuer_did": issuer_did,
    }


def authorization_server_metadata(*, issuer: str) -> dict[str, Any]:
    """RFC 8414 metadata with OpenID4VCI's additions (§12.3)."""
    return {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/token",
        "grant_types_supported": [PRE_AUTHORIZED_GRANT, CLIENT_CREDENTIALS_GRANT],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "pre-authorized_grant_anonymous_access_supported": True,
        "response_types_supported": [],
    }


@dataclass(frozen=True, slots=True)
class CredentialRequest:
    """A parsed Credential Request (§8.2): which credential, and the `jwt` key proofs."""

    configuration_id: str | None
    identifier: str | None
    proofs: tuple[str, ...]

    @classmethod
    def parse(cls, body: object, *, batch_size: int) -> CredentialRequest:
        """Read the members §8.2 defines; every other member is ignored, as §8.2 requires.

        That includes the single `proof` of the drafts: a wallet that sends it
        beside `proofs` (for older issuers) gets what `proofs` asks for, and
        one that sends it alone is told to use `proofs`.
        """
        if not isinstance(body, dict):
            raise CredentialRequestInvalid("the credential request is not a JSON object")
        cid, ident = body.get("credential_configuration_id"), body.get("credential_identifier")
        # §8.2: exactly one of the two identifies the credential.
        if (cid is None) == (ident is None):
            raise CredentialRequestInvalid(
                "give exactly one of credential_configuration_id and credential_identifier"
            )
        if not isinstance(cid or ident, str):
            raise CredentialRequestInvalid("the credential identifier is not a string")
        proofs = body.get("proofs")
        if proofs is None and "proof" in body:
            raise ProofInvalid("OpenID4VCI 1.0 takes key proofs in 'proofs'; 'proof' is not read")
        if not isinstance(proofs, dict) or set(proofs) != {"jwt"}:
            raise ProofInvalid("'proofs' must be an object with exactly the 'jwt' proof type")
        jwts = proofs["jwt"]
        if not isinstance(jwts, list) or not jwts or not all(isinstance(j, str) for j in jwts):
            raise ProofInvalid("'proofs.jwt' must be a non-empty array of strings")
        if len(jwts) > batch_size:
            raise CredentialRequestInvalid("more key proofs than the batch size allows")
        return cls(cid, ident, tuple(jwts))


@dataclass(frozen=True, slots=True)
class ProvenKey:
    """A holder key proven by a key proof, and the `c_nonce` the proof carried."""

    key: PublicKey
    jwk: dict[str, str]
    thumbprint: str
    nonce: str


def check_proof(
    proof: str,
    *,
    audience: str,
    now: datetime,
    max_age: timedelta = DEFAULT_PROOF_MAX_AGE,
    skew: timedelta = timedelta(seconds=60),
    algs: Collection[str] = PROOF_ALGS,
) -> ProvenKey:
    """Check one `jwt` key proof (Appendix F.1, F.4) and return the key it proves.

    The header MUST have `typ: openid4vci-proof+jwt` and carry the key as
    `jwk` (govid binds credentials with `cnf.jwk` only; `kid` and `x5c` are
    refused); the JWT is signed by that key; `aud` is this Credential
    Issuer's identifier; `iat` is present, not in the future, and recent;
    `nonce` is present (the caller checks it against the Nonce Endpoint's).
    Every failure is `oid4vci.proof_invalid`, the underlying govid code in
    the message.
    """
    try:
        jws = parse_unverified_jws(proof)
        jwk = jws.header.get("jwk")
        if not isinstance(jwk, dict) or {"kid", "x5c"} & jws.header.keys():
            raise ProofInvalid("the key proof must carry the holder key as 'jwk' and nothing else")
        if "d" in jwk:  # a private key in a header is a wallet bug that leaked a secret
            raise ProofInvalid("the key proof's 'jwk' holds a private key")
        key = public_key_from_jwk(jwk)
        claims = verify_jwt(jws, key, typ=PROOF_TYP, algs=algs, allow_header_keys=("jwk",))
        aud = claims.get("aud")
        if aud != audience and not (isinstance(aud, list) and aud == [audience]):
            raise ProofInvalid("the key proof is for another credential issuer")
        check_time_claims(claims, now=now, skew=skew, require_iat=True, max_iat_age=max_age)
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise ProofInvalid("the key proof carries no c_nonce")
        public = {k: str(v) for k, v in jwk.items() if k in ("kty", "crv", "x", "y")}
        return ProvenKey(key, public, jwk_thumbprint(public), nonce)
    except ProofInvalid:
        raise
    except (MalformedInput, VerificationFailed) as exc:
        what = "is stale or from the future" if isinstance(exc, IssuedInFuture) else "is invalid"
        raise ProofInvalid(f"the key proof {what} ({exc.code})") from exc
    except GovidError as exc:  # e.g. key.unsupported
        raise ProofInvalid(f"the key proof is not usable ({exc.code})") from exc


def distinct_keys(keys: Sequence[ProvenKey]) -> None:
    """One credential per holder key: a batch naming a key twice is refused (unlinkability)."""
    if len({k.thumbprint for k in keys}) != len(keys):
        raise ProofInvalid("two key proofs in one request prove the same key")
