"""Ledger operations: their canonical form, their envelope, and how they are built.

An operation is a JSON object serialised with RFC 8785 (JCS) and signed as a
compact JWS (`typ: govid-op+jws`) whose payload is exactly those JCS bytes.
The operation's hash, `b64url(sha256(JCS(payload)))`, is what the next
operation of the same DID names as `prev`, so each DID's history is a hash
chain inside the log (docs/did-method-govid.md §5.2.3). Status list
publications are the exception: they are ordered per list by `sequence`
instead, so that a busy issuer's chain (and every proof of its DID) stays
short (docs/decisions/ledger.md).

Parsing here checks shape only. Who may sign what is decided by
`registry.rules`, against the ledger's state.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import base58
import rfc8785

from did.encoding import b64url_encode
from did.errors import MalformedJOSE
from did.jose import UnverifiedJWS, parse_unverified_jws, sign_jws
from did.keys import PrivateKey, PublicKey, from_multikey, to_multikey
from registry.operation_errors import MalformedOperation

OPERATION_TYP: Final = "govid-op+jws"
METHOD_PREFIX: Final = "did:govid:"

DID_CREATE: Final = "did.create"
DID_UPDATE: Final = "did.update"
DID_DEACTIVATE: Final = "did.deactivate"
ACCREDITATION_GRANT: Final = "accreditation.grant"
ACCREDITATION_REVOKE: Final = "accreditation.revoke"
STATUS_LIST_PUBLISH: Final = "status_list.publish"
OPERATION_TYPES: Final = frozenset(
    {
        DID_CREATE,
        DID_UPDATE,
        DID_DEACTIVATE,
        ACCREDITATION_GRANT,
        ACCREDITATION_REVOKE,
        STATUS_LIST_PUBLISH,
    }
)
ROLES: Final = frozenset({"issuer", "verifier", "accreditor"})

# Bounds that are not in any spec: they keep one hostile operation from
# costing the sequencer, or every auditor, more than a few milliseconds, and
# bound what one write adds to a ledger that is never pruned (method spec §8.7).
# Only a status list publication (by an accredited issuer) carries a large
# token; every other operation is small.
MAX_OPERATION_BYTES: Final = 256 * 1024  # a status_list.publish, compact JWS
MAX_SMALL_OPERATION_BYTES: Final = 64 * 1024  # every other type, compact JWS
MAX_DOCUMENT_BYTES: Final = 16 * 1024  # JCS of a `document`
MAX_SERVICES: Final = 16
MAX_SERVICE_BYTES: Final = 2048  # JCS of one service object
MAX_KEYS: Final = 16
MAX_LIST: Final = 64
MAX_URI: Final = 2048


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON bytes."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as exc:
        raise MalformedOperation("the operation cannot be canonicalised (RFC 8785)") from exc


def sha256_b64(data: bytes) -> str:
    return b64url_encode(hashlib.sha256(data).digest())


def key_commitment(update_keys: Sequence[str]) -> str:
    """The pre-rotation commitment to a set of update keys (method spec §5.3).

    `b64url(sha256(JCS(sorted Multikey strings)))`: sorting makes the commitment
    independent of the order the keys are later revealed in.
    """
    return sha256_b64(canonical_json(sorted(update_keys)))


def status_list_key(issuer: str, uri: str) -> str:
    """A list's name in chain keys: `b64url(sha256(JCS([issuer, uri])))` (method spec §5.2.3)."""
    return sha256_b64(canonical_json([issuer, uri]))


def did_from_genesis(payload_jcs: bytes) -> str:
    """The self-certifying DID of a `did.create` operation (method spec §3)."""
    return METHOD_PREFIX + base58.b58encode(hashlib.sha256(payload_jcs).digest()).decode("ascii")


# --- parsing --------------------------------------------------------------------


def _str(obj: Mapping[str, Any], name: str, *, optional: bool = False) -> str | None:
    value = obj.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value or len(value) > 4096:
        raise MalformedOperation(f"member {name!r} must be a non-empty string")
    return value


def _req(obj: Mapping[str, Any], name: str) -> str:
    value = _str(obj, name)
    assert value is not None
    return value


def _str_list(obj: Mapping[str, Any], name: str, *, optional: bool = False) -> tuple[str, ...]:
    value = obj.get(name)
    if value is None and optional:
        return ()
    if (
        not isinstance(value, list)
        or not 0 < len(value) <= MAX_LIST
        or not all(isinstance(v, str) and 0 < len(v) <= 2048 for v in value)
    ):
        raise MalformedOperation(f"member {name!r} must be a non-empty list of strings")
    if len(set(value)) != len(value):
        raise MalformedOperation(f"member {name!r} repeats an entry")
    return tuple(value)


def _update_keys(obj: Mapping[str, Any], name: str) -> tuple[str, ...]:
    keys = _str_list(obj, name)
    if len(keys) > MAX_KEYS:
        raise MalformedOperation(f"member {name!r} lists too many keys")
    for key in keys:
        from_multikey(key)  # raises InvalidKey / InvalidMultibase, both MalformedInput
    return keys


@dataclass(frozen=True, slots=True)
class Operation:
    """A parsed operation whose signature has NOT been checked yet.

    `registry.rules.check_operation` decides whether it may be appended.
    """

    jws: UnverifiedJWS
    payload: dict[str, Any]
    payload_jcs: bytes
    op_hash: str
    type: str
    did: str  # the author: the DID whose chain this operation extends
    prev: str | None

    @property
    def chain_key(self) -> str | None:
        """What at most one operation in the log may name (the store makes it unique).

        `prev` for chained operations; the list, named by its issuer and uri,
        and the sequence number for status list publications (method spec
        §5.2.3); nothing for a genesis, whose hash is unique anyway.
        """
        if self.type == STATUS_LIST_PUBLISH:
            name = status_list_key(self.did, self.payload["uri"])
            return f"status:{name}:{self.payload['sequence']}"
        return self.prev

    @property
    def kid(self) -> str:
        kid = self.jws.header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise MalformedOperation("the operation's JWS header has no 'kid'")
        return kid

    @property
    def compact(self) -> str:
        return self.jws.signing_input.decode("ascii") + "." + b64url_encode(self.jws.signature)

    @classmethod
    def parse(cls, compact: str, *, ledger: str) -> Operation:
        """Parse a compact JWS operation for the ledger named `ledger`.

        Raises `MalformedOperation` (or another `MalformedInput`) for anything
        that is not a well-formed operation of one of the six types.
        """
        if len(compact) > MAX_OPERATION_BYTES:
            raise MalformedOperation("the operation is too large")
        try:
            jws = parse_unverified_jws(compact)
        except MalformedJOSE as exc:
            raise MalformedOperation("the operation is not a compact JWS") from exc
        if jws.header.get("typ") != OPERATION_TYP:
            raise MalformedOperation(f"the operation's JWS 'typ' must be {OPERATION_TYP!r}")
        try:
            payload = json.loads(jws.payload)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise MalformedOperation("the operation's payload is not JSON") from exc
        if not isinstance(payload, dict):
            raise MalformedOperation("the operation's payload must be a JSON object")
        payload_jcs = canonical_json(payload)
        # The payload must already be canonical: then one operation has one byte
        # form, and its hash cannot be changed by re-serialising it.
        if payload_jcs != jws.payload:
            raise MalformedOperation("the operation's payload is not RFC 8785 canonical JSON")
        op_type = _req(payload, "type")
        if op_type not in OPERATION_TYPES:
            raise MalformedOperation("unknown operation type")
        if payload.get("ledger") != ledger:
            raise MalformedOperation("the operation names another ledger")
        if op_type == DID_CREATE:
            if "did" in payload or "prev" in payload:
                raise MalformedOperation("a did.create names neither 'did' nor 'prev'")
            author, prev = did_from_genesis(payload_jcs), None
        elif op_type == STATUS_LIST_PUBLISH:
            if "prev" in payload:
                raise MalformedOperation(
                    "a status_list.publish is ordered by 'sequence', not 'prev'"
                )
            author, prev = _req(payload, "did"), None
            if not author.startswith(METHOD_PREFIX):
                raise MalformedOperation("operations extend the chain of a did:govid DID")
        else:
            author, prev = _req(payload, "did"), _req(payload, "prev")
            if not author.startswith(METHOD_PREFIX):
                raise MalformedOperation("operations extend the chain of a did:govid DID")
        if op_type != STATUS_LIST_PUBLISH and len(compact) > MAX_SMALL_OPERATION_BYTES:
            raise MalformedOperation("the operation is too large for its type")
        op = cls(jws, payload, payload_jcs, sha256_b64(payload_jcs), op_type, author, prev)
        _SHAPES[op_type](payload)
        return op


def _check_document(doc: Any) -> None:
    if not isinstance(doc, dict):
        raise MalformedOperation("member 'document' must be an object")
    if len(canonical_json(doc)) > MAX_DOCUMENT_BYTES:
        raise MalformedOperation("the document is too large")
    vms = doc.get("verificationMethod", [])
    if not isinstance(vms, list) or len(vms) > MAX_KEYS:
        raise MalformedOperation("'verificationMethod' must be a short list")
    for vm in vms:
        if not isinstance(vm, dict) or vm.get("type") != "Multikey":
            raise MalformedOperation("verification methods are Multikey objects")
        vm_id = _req(vm, "id")
        if not vm_id.startswith("#") or len(vm_id) < 2:
            raise MalformedOperation("verification method ids are '#fragment' references")
        from_multikey(_req(vm, "publicKeyMultibase"))
    ids = [vm["id"] for vm in vms]
    if len(set(ids)) != len(ids):
        raise MalformedOperation("two verification methods share an id")
    for rel in RELATIONSHIPS:
        refs = doc.get(rel, [])
        if not isinstance(refs, list) or not all(isinstance(r, str) and r in ids for r in refs):
            raise MalformedOperation(f"{rel!r} must reference the document's own methods")
    services = doc.get("service", [])
    if not isinstance(services, list) or len(services) > MAX_SERVICES:
        raise MalformedOperation("'service' must be a short list")
    for svc in services:
        if not isinstance(svc, dict):
            raise MalformedOperation("services are objects")
        if len(canonical_json(svc)) > MAX_SERVICE_BYTES:
            raise MalformedOperation("a service is too large")
        if not _req(svc, "id").startswith("#"):
            raise MalformedOperation("service ids are '#fragment' references")
        _req(svc, "type")
        if not isinstance(svc.get("serviceEndpoint"), str | dict | list):
            raise MalformedOperation("a service needs a serviceEndpoint")
    unknown = set(doc) - {"verificationMethod", "service", *RELATIONSHIPS}
    if unknown:
        raise MalformedOperation("the document has members the method does not define")


RELATIONSHIPS: Final = (
    "authentication",
    "assertionMethod",
    "keyAgreement",
    "capabilityInvocation",
    "capabilityDelegation",
)


def _shape_create(p: Mapping[str, Any]) -> None:
    _check_document(p.get("document"))
    _update_keys(p, "updateKeys")
    _req(p, "nextUpdateCommitment")


def _shape_update(p: Mapping[str, Any]) -> None:
    if not any(name in p for name in ("document", "rotation", "compromised")):
        raise MalformedOperation("a did.update changes the document, rotates or marks keys")
    if "document" in p:
        _check_document(p["document"])
    if "rotation" in p:
        rotation = p["rotation"]
        if not isinstance(rotation, dict):
            raise MalformedOperation("member 'rotation' must be an object")
        _update_keys(rotation, "updateKeys")
        _req(rotation, "nextUpdateCommitment")
    if "compromised" in p:
        for ref in _str_list(p, "compromised"):
            if not ref.startswith("#"):
                raise MalformedOperation("compromised keys are named by '#fragment'")


def _shape_deactivate(p: Mapping[str, Any]) -> None:
    _update_keys(p, "revealedKeys")


def _shape_grant(p: Mapping[str, Any]) -> None:
    if not _req(p, "subject").startswith(METHOD_PREFIX):
        raise MalformedOperation("accreditations are granted to did:govid DIDs")
    if p.get("role") not in ROLES:
        raise MalformedOperation("'role' must be issuer, verifier or accreditor")
    _str_list(p, "credentialTypes")
    _str_list(p, "claims", optional=True)
    for name in ("validFrom", "validUntil"):
        value = p.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise MalformedOperation(f"{name!r} must be a Unix time in seconds")
    if p["validUntil"] <= p["validFrom"]:
        raise MalformedOperation("'validUntil' must come after 'validFrom'")


def _shape_revoke(p: Mapping[str, Any]) -> None:
    _req(p, "accreditation")


def _shape_publish(p: Mapping[str, Any]) -> None:
    uri = _req(p, "uri")
    if len(uri) > MAX_URI:
        raise MalformedOperation("the status list uri is too long")
    # The credential types the list answers for; each needs the issuer's
    # accreditation when the list is published (method spec §5.7 rule 1).
    _str_list(p, "credentialTypes")
    token = p.get("token")
    # A token for a large list with many revocations is far larger than the
    # other members' bound; the operation's own bound still applies.
    if not isinstance(token, str) or not token:
        raise MalformedOperation("member 'token' must be a compact JWT")
    seq = p.get("sequence")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise MalformedOperation("'sequence' must be a positive integer")


_SHAPES: Final = {
    DID_CREATE: _shape_create,
    DID_UPDATE: _shape_update,
    DID_DEACTIVATE: _shape_deactivate,
    ACCREDITATION_GRANT: _shape_grant,
    ACCREDITATION_REVOKE: _shape_revoke,
    STATUS_LIST_PUBLISH: _shape_publish,
}


# --- building (used by clients: the CLI, the issuer service, tests) ---------------


def sign_operation(payload: Mapping[str, Any], key: PrivateKey, *, kid: str) -> str:
    """Serialise `payload` with JCS and sign it; returns the compact JWS."""
    return sign_jws(canonical_json(dict(payload)), key, typ=OPERATION_TYP, kid=kid)


def multikey_of(key: PublicKey) -> str:
    """The Multikey string naming `key` in `updateKeys` and `revealedKeys`."""
    return to_multikey(key)
