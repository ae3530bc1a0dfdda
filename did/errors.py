"""The govid error tree: one base class, families by kind, leaves by failure.

Every deliberate failure in govid raises a subclass of `GovidError`. Each class
carries a stable dotted `code` (never renamed once published) and a plain
sentence that never echoes the input (it may be personal data) or a secret.

    GovidError                         govid.error
    ├── MalformedInput                 input.malformed      could not parse; nothing checked
    │   ├── InvalidDID                 did.invalid
    │   ├── InvalidDIDURL              did_url.invalid
    │   ├── InvalidResolutionOptions   did.resolution_options_invalid
    │   ├── InvalidDIDDocument         did_document.invalid
    │   ├── InvalidKey                 key.invalid
    │   ├── InvalidMultibase           multibase.invalid
    │   ├── MalformedJOSE              jose.malformed
    │   ├── MalformedSDJWT             sd_jwt.malformed
    │   ├── MalformedDisclosure        sd_jwt.disclosure_malformed
    │   ├── DisclosablePathInvalid     sd_jwt.path_invalid
    │   ├── MalformedStatusList        status_list.malformed
    │   └── MalformedClaim             jwt.claim_malformed
    ├── VerificationFailed             verification.failed  parsed; a check said no
    │   ├── jose.*                     alg_not_allowed, signature_invalid, typ_mismatch,
    │   │                              crit_unsupported, header_key_rejected
    │   ├── jwt.*                      expired, not_yet_valid, iat_in_future, claim_missing
    │   ├── sd_jwt.*                   digest_mismatch, digest_duplicate, disclosure_duplicate,
    │   │                              disclosure_unreferenced, claim_clash,
    │   │                              claim_name_reserved, sd_alg_unsupported,
    │   │                              disclosure_misplaced
    │   ├── kb_jwt.*                   missing, unexpected, aud_mismatch, nonce_mismatch,
    │   │                              sd_hash_mismatch, stale
    │   ├── sd_jwt_vc.*                typ_invalid, vct_missing, claim_not_disclosable,
    │   │                              cnf_missing, iss_missing, status_invalid
    │   ├── status.*                   revoked, suspended, index_out_of_range
    │   └── status_list.*              token_invalid, uri_mismatch
    ├── NotFound                       resource.not_found
    │   └── DIDNotFound                did.not_found
    ├── Conflict                       resource.conflict
    ├── Forbidden                      access.forbidden
    ├── Unsupported                    request.unsupported
    │   ├── MethodNotSupported         did.method_not_supported
    │   ├── RepresentationNotSupported did.representation_not_supported
    │   └── UnsupportedKeyType         key.unsupported
    └── Unavailable                    service.unavailable  a dependency could not be reached
        └── ResolutionUnavailable      did.resolution_unavailable

Services add their own leaves under these families (`registry/errors.py` and
so on); `tests/test_errors.py` walks every subclass and keeps codes unique.
"""

from __future__ import annotations

from typing import ClassVar


class GovidError(Exception):
    """Base class for every deliberate govid error."""

    code: ClassVar[str] = "govid.error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# --- families ---------------------------------------------------------------


class MalformedInput(GovidError, ValueError):
    """The input could not be parsed, so nothing was checked."""

    code = "input.malformed"


class VerificationFailed(GovidError):
    """The input parsed, but a cryptographic or policy check said no."""

    code = "verification.failed"


class NotFound(GovidError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "resource.not_found"


class Conflict(GovidError):
    """The request is well formed but clashes with the current state."""

    code = "resource.conflict"


class Forbidden(GovidError):
    """The caller is known but not allowed to do this."""

    code = "access.forbidden"


class Unauthorized(GovidError):
    """The caller did not prove who it is."""

    code = "access.unauthorized"


class Unsupported(GovidError):
    """A valid request for something govid does not implement."""

    code = "request.unsupported"


class Unavailable(GovidError):
    """A dependency (database, remote server) could not be reached."""

    code = "service.unavailable"


# --- identifiers, documents, keys ---------------------------------------------


class InvalidDID(MalformedInput):
    code = "did.invalid"


class InvalidDIDURL(MalformedInput):
    code = "did_url.invalid"


class InvalidResolutionOptions(MalformedInput):
    """A resolution option (or the DID parameter it came from) has a bad value."""

    code = "did.resolution_options_invalid"


class InvalidDIDDocument(MalformedInput):
    code = "did_document.invalid"


class InvalidKey(MalformedInput):
    code = "key.invalid"


class InvalidMultibase(MalformedInput):
    code = "multibase.invalid"


class UnsupportedKeyType(Unsupported):
    code = "key.unsupported"


class MethodNotSupported(Unsupported):
    code = "did.method_not_supported"


class RepresentationNotSupported(Unsupported):
    """A DID resolution asked for a media type govid does not produce."""

    code = "did.representation_not_supported"


class DIDNotFound(NotFound):
    code = "did.not_found"


class ResolutionUnavailable(Unavailable):
    code = "did.resolution_unavailable"


class VerificationMethodNotFound(VerificationFailed):
    """No verification method of the DID matches the key id a token names."""

    code = "did.verification_method_not_found"


class DIDDeactivated(VerificationFailed):
    code = "did.deactivated"


# --- JOSE and JWT claims ------------------------------------------------------


class MalformedJOSE(MalformedInput):
    code = "jose.malformed"


class AlgorithmNotAllowed(VerificationFailed):
    code = "jose.alg_not_allowed"


class SignatureInvalid(VerificationFailed):
    code = "jose.signature_invalid"


class TypeMismatch(VerificationFailed):
    code = "jose.typ_mismatch"


class CriticalHeaderUnsupported(VerificationFailed):
    code = "jose.crit_unsupported"


class HeaderKeyRejected(VerificationFailed):
    """A token tried to bring its own verification key (`jwk`, `jku`, `x5u`...)."""

    code = "jose.header_key_rejected"


class MalformedClaim(MalformedInput):
    code = "jwt.claim_malformed"


class ClaimMissing(VerificationFailed):
    code = "jwt.claim_missing"


class TokenExpired(VerificationFailed):
    code = "jwt.expired"


class TokenNotYetValid(VerificationFailed):
    code = "jwt.not_yet_valid"


class IssuedInFuture(VerificationFailed):
    code = "jwt.iat_in_future"


# --- SD-JWT (RFC 9901) --------------------------------------------------------


class MalformedSDJWT(MalformedInput):
    code = "sd_jwt.malformed"


class MalformedDisclosure(MalformedInput):
    code = "sd_jwt.disclosure_malformed"


class DigestMismatch(VerificationFailed):
    """A disclosure's digest is not found in the payload (RFC 9901 7.1 step 5)."""

    code = "sd_jwt.digest_mismatch"


class DuplicateDigest(VerificationFailed):
    code = "sd_jwt.digest_duplicate"


class DuplicateDisclosure(VerificationFailed):
    code = "sd_jwt.disclosure_duplicate"


class ClaimNameClash(VerificationFailed):
    code = "sd_jwt.claim_clash"


class ReservedClaimName(VerificationFailed):
    code = "sd_jwt.claim_name_reserved"


class HashAlgorithmUnsupported(VerificationFailed):
    code = "sd_jwt.sd_alg_unsupported"


class DisclosureMisplaced(VerificationFailed):
    """An array-element Disclosure sits in an `_sd` list, or a property one in an array."""

    code = "sd_jwt.disclosure_misplaced"


class DisclosablePathInvalid(MalformedInput):
    """An issuer asked to make selectively disclosable a path that names no claim."""

    code = "sd_jwt.path_invalid"


class KeyBindingMissing(VerificationFailed):
    code = "kb_jwt.missing"


class KeyBindingUnexpected(VerificationFailed):
    code = "kb_jwt.unexpected"


class AudienceMismatch(VerificationFailed):
    code = "kb_jwt.aud_mismatch"


class NonceMismatch(VerificationFailed):
    code = "kb_jwt.nonce_mismatch"


class SDHashMismatch(VerificationFailed):
    code = "kb_jwt.sd_hash_mismatch"


class KeyBindingStale(VerificationFailed):
    code = "kb_jwt.stale"


# --- SD-JWT VC ----------------------------------------------------------------


class VCTypeInvalid(VerificationFailed):
    code = "sd_jwt_vc.typ_invalid"


class VCTMissing(VerificationFailed):
    code = "sd_jwt_vc.vct_missing"


class ClaimNotDisclosable(VerificationFailed):
    """A claim SD-JWT VC forbids to be selectively disclosed was (draft §3.2.2.2)."""

    code = "sd_jwt_vc.claim_not_disclosable"


class CnfMissing(VerificationFailed):
    code = "sd_jwt_vc.cnf_missing"


class IssuerMissing(VerificationFailed):
    code = "sd_jwt_vc.iss_missing"


class StatusClaimInvalid(VerificationFailed):
    code = "sd_jwt_vc.status_invalid"


# --- Token Status List --------------------------------------------------------


class MalformedStatusList(MalformedInput):
    code = "status_list.malformed"


class StatusListTokenInvalid(VerificationFailed):
    code = "status_list.token_invalid"


class StatusListURIMismatch(VerificationFailed):
    code = "status_list.uri_mismatch"


class StatusIndexOutOfRange(VerificationFailed):
    code = "status.index_out_of_range"


class CredentialRevoked(VerificationFailed):
    code = "status.revoked"


class CredentialSuspended(VerificationFailed):
    code = "status.suspended"


class CredentialStatusUnknown(VerificationFailed):
    """The status list holds a value govid does not know (0x03 and up)."""

    code = "status.unknown"
