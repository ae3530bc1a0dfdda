"""did:jwk: a DID that is a JWK (did:jwk spec, quartzjer/did-jwk).

`did:jwk:<base64url(UTF-8 JSON of the public JWK)>` (spec §2.1 "Create").
The document has one method `#0` holding the JWK unchanged (spec §2.2
"Read"). Its relationships follow the JWK's `use`: `sig` gives the four
signing relationships, `enc` gives keyAgreement only, no `use` gives all five.

govid differences from the published example, on purpose:
- the method's type is `JsonWebKey` (Controlled Identifiers 1.0 §2.2.3) with
  the `https://w3id.org/security/jwk/v1` context, not the retired
  `JsonWebKey2020`;
- an X25519 key is put under keyAgreement only, whatever its `use`: it cannot
  sign, so listing it for authentication would be a lie;
- private members, duplicate JSON members and non-canonical base64url are
  refused (`invalidDid`), since each would give one key several DIDs or leak
  a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from did.document import DID_CONTEXT_V1, JSON_WEB_KEY, JWK_CONTEXT, DIDDocument
from did.encoding import b64url_decode, b64url_encode, json_dumps_compact, json_loads_strict
from did.errors import GovidError, InvalidDID, InvalidKey, MalformedInput, UnsupportedKeyType
from did.identifiers import DID
from did.keys import public_key_from_jwk
from did.resolver import ResolutionOptions, ResolutionResult

METHOD: Final = "jwk"
_SIGNING: Final = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
)
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def _is_x25519(jwk: Mapping[str, Any]) -> bool:
    return jwk.get("kty") == "OKP" and jwk.get("crv") == "X25519"


def check_did_jwk_key(jwk: Mapping[str, Any]) -> None:
    """Raise unless `jwk` is a public key govid can put in a did:jwk.

    `InvalidKey` for private members or broken values, `UnsupportedKeyType`
    for key types other than Ed25519, P-256, P-384, P-521, secp256k1 and X25519.
    """
    if _PRIVATE_MEMBERS & jwk.keys():
        raise InvalidKey("a did:jwk must not contain private key members")
    use = jwk.get("use")
    if use is not None and use not in ("sig", "enc"):
        raise InvalidKey("JWK 'use' must be 'sig' or 'enc'")
    if _is_x25519(jwk):
        x = jwk.get("x")
        try:
            ok = isinstance(x, str) and len(b64url_decode(x, what="JWK member 'x'")) == 32
        except GovidError as exc:
            raise InvalidKey("an X25519 JWK needs a 32-byte 'x'") from exc
        if not ok:
            raise InvalidKey("an X25519 JWK needs a 32-byte 'x'")
        return
    public_key_from_jwk(jwk)


def did_jwk_from_jwk(jwk: Mapping[str, Any]) -> str:
    """The did:jwk of a public JWK (spec §2.1).

    Members are serialised in the mapping's order, compactly; pass
    `did.keys.public_jwk(...)` (or `jwk_from_public_key`) for one canonical
    DID per key.
    """
    check_did_jwk_key(jwk)
    return f"did:jwk:{b64url_encode(json_dumps_compact(dict(jwk)))}"


def jwk_from_did_jwk(did: DID | str) -> dict[str, Any]:
    """The JWK a did:jwk encodes (spec §2.2 step 1-2); raise `InvalidDID` if malformed."""
    parsed = did if isinstance(did, DID) else DID.parse(did)
    if parsed.method != METHOD:
        raise InvalidDID("not a did:jwk")
    try:
        raw = b64url_decode(parsed.method_specific_id, what="the did:jwk identifier")
    except MalformedInput as exc:
        raise InvalidDID("the did:jwk identifier is not base64url") from exc
    # Strict: no repeated members, no NaN (a second spelling of one key is a second DID).
    value = json_loads_strict(raw, what="the did:jwk identifier", error=InvalidDID)
    if not isinstance(value, dict):
        raise InvalidDID("the did:jwk identifier is not a JSON object")
    try:
        check_did_jwk_key(value)
    except InvalidKey as exc:
        raise InvalidDID(exc.message) from exc
    return value


class DIDJWKResolver:
    """`MethodResolver` for did:jwk; pure (no I/O)."""

    method: Final = METHOD

    def resolve(self, did: DID, options: ResolutionOptions) -> ResolutionResult:
        """Expand `did`. A did:jwk has one version; version options change nothing."""
        return ResolutionResult(self.document(did))

    def document(self, did: DID) -> DIDDocument:
        jwk = jwk_from_did_jwk(did)
        vm_id = f"{did}#0"
        use = jwk.get("use")
        if _is_x25519(jwk) or use == "enc":
            relationships: tuple[str, ...] = ("keyAgreement",)
        elif use == "sig":
            relationships = _SIGNING
        else:
            relationships = (*_SIGNING, "keyAgreement")
        doc: dict[str, Any] = {
            "@context": [DID_CONTEXT_V1, JWK_CONTEXT],
            "id": str(did),
            "verificationMethod": [
                {"id": vm_id, "type": JSON_WEB_KEY, "controller": str(did), "publicKeyJwk": jwk}
            ],
        }
        for name in relationships:
            doc[name] = [vm_id]
        try:
            return DIDDocument.from_json(doc)
        except GovidError as exc:  # pragma: no cover - the document is built valid
            raise UnsupportedKeyType("the did:jwk does not expand to a valid document") from exc
