"""did:key: a DID that is a public key (W3C CCG did:key spec, 2025 Multikey form).

`did:key:<Multikey>` where the Multikey is multibase base58btc (`z`) over the
multicodec prefix and the raw key (Controlled Identifiers 1.0 §2.2.2). govid
supports Ed25519 (`z6Mk`), P-256 (`zDna`), P-384 (`z82L`), P-521 (`z2J9`) and
secp256k1 (`zQ3s`); other key types answer `unsupportedPublicKeyType`.

The document is expanded deterministically (did:key §3.1.2 "Document
creation"): one `Multikey` method `did:key:<mb>#<mb>`, referenced from
authentication, assertionMethod, capabilityInvocation and
capabilityDelegation, with the `https://www.w3.org/ns/did/v1.1` context the
2025 spec uses.

Key agreement: the spec's `enableEncryptionKeyDerivation` option derives an
X25519 key from an Ed25519 one (the birational map of RFC 7748 §4.1) and
embeds it under keyAgreement. govid signs and never
encrypts to DID keys, and reusing one secret for signing and for
Diffie-Hellman has no security proof, so derivation is OFF by default: a
caller asks for it per resolution (`ResolutionOptions.
enable_encryption_key_derivation`, `govid did resolve
--enable-encryption-key-derivation`) or for every resolution
(`DIDKeyResolver(derive_key_agreement=True)`), and then gets the spec's
example documents exactly.
"""

from __future__ import annotations

from typing import Final

from multiformats import multicodec

from did.document import DID_CONTEXT_V1_1, MULTIKEY, DIDDocument
from did.errors import GovidError, InvalidDID, InvalidKey, InvalidMultibase
from did.identifiers import DID
from did.keys import (
    PublicKey,
    from_multikey,
    multibase_base58btc_encode,
    public_key_bytes,
    to_multikey,
)
from did.resolver import ResolutionOptions, ResolutionResult

METHOD: Final = "key"
_SIGNING_RELATIONSHIPS: Final = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
)
# RFC 7748 §4.1: the field prime of Curve25519 / edwards25519.
_P: Final = 2**255 - 19


def did_key_from_public_key(key: PublicKey) -> str:
    """The did:key of `key` (did:key §3.1.1 "Create")."""
    return f"did:key:{to_multikey(key)}"


def public_key_from_did_key(did: DID | str) -> PublicKey:
    """The public key a did:key encodes; raise `InvalidDID` / `UnsupportedKeyType`."""
    parsed = did if isinstance(did, DID) else DID.parse(did)
    if parsed.method != METHOD:
        raise InvalidDID("not a did:key")
    # did:key §3.1.2 step 1-3: the identifier is a base58btc multibase value.
    if not parsed.method_specific_id.startswith("z") or ":" in parsed.method_specific_id:
        raise InvalidDID("a did:key identifier is one base58btc Multikey value")
    try:
        return from_multikey(parsed.method_specific_id)
    except InvalidMultibase as exc:
        # §3.1.2: an undecodable value is an invalidDid; a decodable value that is
        # no valid key (bad length, point off the curve) is an invalidPublicKey.
        raise InvalidDID("the did:key identifier is not a valid Multikey") from exc


def x25519_from_ed25519(raw: bytes) -> bytes:
    """Map an Ed25519 public key to its X25519 (Montgomery u) form, u = (1+y)/(1-y) mod p."""
    if len(raw) != 32:
        raise InvalidKey("an Ed25519 public key is 32 bytes")
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)  # drop the sign bit of x
    if y >= _P or (1 - y) % _P == 0:
        raise InvalidKey("this Ed25519 key has no X25519 form")
    u = (1 + y) * pow(1 - y, -1, _P) % _P
    return u.to_bytes(32, "little")


class DIDKeyResolver:
    """`MethodResolver` for did:key; pure (no I/O), so results never go stale."""

    method: Final = METHOD

    def __init__(self, *, derive_key_agreement: bool = False) -> None:
        self._derive = derive_key_agreement

    def resolve(self, did: DID, options: ResolutionOptions) -> ResolutionResult:
        """Expand `did` into its document. A did:key has one version, so
        `versionId`/`versionTime` do not change the answer."""
        derive = self._derive or options.enable_encryption_key_derivation
        return ResolutionResult(self.document(did, derive_key_agreement=derive))

    def document(self, did: DID, *, derive_key_agreement: bool | None = None) -> DIDDocument:
        """The document of `did`; `derive_key_agreement` overrides the resolver's default."""
        derive = self._derive if derive_key_agreement is None else derive_key_agreement
        key = public_key_from_did_key(did)
        multibase = did.method_specific_id
        vm_id = f"{did}#{multibase}"
        doc: dict[str, object] = {
            "@context": [DID_CONTEXT_V1_1],
            "id": str(did),
            "verificationMethod": [
                {
                    "id": vm_id,
                    "type": MULTIKEY,
                    "controller": str(did),
                    "publicKeyMultibase": multibase,
                }
            ],
        }
        for name in _SIGNING_RELATIONSHIPS:
            doc[name] = [vm_id]
        if derive and multibase.startswith("z6Mk"):
            x25519 = x25519_from_ed25519(public_key_bytes(key))
            agreement = multibase_base58btc_encode(multicodec.wrap("x25519-pub", x25519))
            doc["keyAgreement"] = [
                {
                    "id": f"{did}#{agreement}",
                    "type": MULTIKEY,
                    "controller": str(did),
                    "publicKeyMultibase": agreement,
                }
            ]
        try:
            return DIDDocument.from_json(doc)
        except GovidError as exc:  # pragma: no cover - the document is built valid
            raise InvalidDID("the did:key does not expand to a valid document") from exc
