"""Writing to the ledger as a DID controller: keyrings and signed operations.

A `Keyring` holds one DID's private keys and the hash of its latest operation.
It is a secret: callers store it with mode 0600 (CLI) or encrypted (services).
It holds the current keys only: a rotation deletes the replaced document keys
(issue 13 item 12), whose public halves and validity windows stay on the
ledger, so what they signed still verifies and nothing new can be back-dated
into their windows.
Every builder here returns the compact JWS to POST to `/operations`, plus the
keyring as it will be once that operation is appended.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from did.keys import (
    PrivateKey,
    generate_private_key,
    jwk_from_private_key,
    private_key_from_jwk,
    to_multikey,
)
from registry.operations import (
    ACCREDITATION_GRANT,
    ACCREDITATION_REVOKE,
    DID_CREATE,
    DID_DEACTIVATE,
    DID_UPDATE,
    STATUS_LIST_PUBLISH,
    canonical_json,
    did_from_genesis,
    key_commitment,
    sha256_b64,
    sign_operation,
)

DEFAULT_RELATIONSHIPS = ("authentication", "assertionMethod", "capabilityDelegation")


def _mk(key: PrivateKey) -> str:
    return to_multikey(key.public_key())


@dataclass(frozen=True, slots=True)
class Keyring:
    did: str
    ledger: str
    head: str
    update_keys: tuple[dict[str, str], ...]  # private JWKs
    next_keys: tuple[dict[str, str], ...]  # private JWKs, pre-rotated
    document_keys: Mapping[str, dict[str, str]]  # fragment -> private JWK
    document: Mapping[str, Any]
    generation: int = 1

    def key(self, fragment: str) -> PrivateKey:
        return private_key_from_jwk(self.document_keys[fragment])

    @property
    def signing_fragment(self) -> str:
        """The fragment of the newest assertion key."""
        frags = [f for f in self.document.get("assertionMethod", []) if f in self.document_keys]
        return str(frags[-1])

    @property
    def signing_kid(self) -> str:
        return self.did + self.signing_fragment

    def signing_key(self) -> PrivateKey:
        return self.key(self.signing_fragment)

    def to_json(self) -> dict[str, Any]:
        return {
            "did": self.did,
            "ledger": self.ledger,
            "head": self.head,
            "updateKeys": list(self.update_keys),
            "nextKeys": list(self.next_keys),
            "documentKeys": dict(self.document_keys),
            "document": self.document,
            "generation": self.generation,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Keyring:
        return cls(
            did=obj["did"],
            ledger=obj["ledger"],
            head=obj["head"],
            update_keys=tuple(obj["updateKeys"]),
            next_keys=tuple(obj["nextKeys"]),
            document_keys=dict(obj["documentKeys"]),
            document=obj["document"],
            generation=obj.get("generation", 1),
            # "retiredKeys" of keyrings written before issue 13 is dropped here,
            # and so is gone from storage at the keyring's next save.
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True)

    def with_head(self, op_hash: str) -> Keyring:
        return replace(self, head=op_hash)


def _document(
    keys: Mapping[str, PrivateKey],
    relationships: Sequence[str],
    services: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "verificationMethod": [
            {"id": frag, "type": "Multikey", "publicKeyMultibase": _mk(key)}
            for frag, key in keys.items()
        ]
    }
    for rel in relationships:
        doc[rel] = list(keys)
    if services:
        doc["service"] = [dict(s) for s in services]
    return doc


def op_hash_of(compact: str) -> str:
    """The hash the next operation names as `prev` (recomputed from the JWS payload)."""
    from did.jose import parse_unverified_jws

    return sha256_b64(parse_unverified_jws(compact).payload)


def create_did(
    *,
    ledger: str,
    alg: str = "EdDSA",
    relationships: Sequence[str] = DEFAULT_RELATIONSHIPS,
    services: Sequence[Mapping[str, Any]] = (),
) -> tuple[Keyring, str]:
    """A new DID: its keyring and the `did.create` operation to append."""
    update, nxt, signing = (generate_private_key(alg) for _ in range(3))
    document = _document({"#key-1": signing}, relationships, services)
    payload = {
        "type": DID_CREATE,
        "ledger": ledger,
        "document": document,
        "updateKeys": [_mk(update)],
        "nextUpdateCommitment": key_commitment([_mk(nxt)]),
    }
    compact = sign_operation(payload, update, kid=_mk(update))
    did = did_from_genesis(canonical_json(payload))
    keyring = Keyring(
        did=did,
        ledger=ledger,
        head=op_hash_of(compact),
        update_keys=(jwk_from_private_key(update),),
        next_keys=(jwk_from_private_key(nxt),),
        document_keys={"#key-1": jwk_from_private_key(signing)},
        document=document,
    )
    return keyring, compact


def rotate(
    keyring: Keyring,
    *,
    alg: str = "EdDSA",
    compromised: bool = False,
    relationships: Sequence[str] = DEFAULT_RELATIONSHIPS,
) -> tuple[Keyring, str]:
    """Rotate the update keys to the pre-committed ones and replace the document keys.

    With `compromised=True` the replaced document keys are marked compromised:
    credentials they signed stop verifying, whatever their date.
    """
    revealed = [private_key_from_jwk(j) for j in keyring.next_keys]
    new_next = generate_private_key(alg)
    generation = keyring.generation + 1
    fragment = f"#key-{generation}"
    new_signing = generate_private_key(alg)
    services = keyring.document.get("service", [])
    document = _document({fragment: new_signing}, relationships, services)
    payload: dict[str, Any] = {
        "type": DID_UPDATE,
        "ledger": keyring.ledger,
        "did": keyring.did,
        "prev": keyring.head,
        "document": document,
        "rotation": {
            "updateKeys": [_mk(k) for k in revealed],
            "nextUpdateCommitment": key_commitment([_mk(new_next)]),
        },
    }
    if compromised:
        payload["compromised"] = sorted(keyring.document_keys)
    compact = sign_operation(payload, revealed[0], kid=_mk(revealed[0]))
    new = replace(
        keyring,
        head=op_hash_of(compact),
        update_keys=keyring.next_keys,
        next_keys=(jwk_from_private_key(new_next),),
        document_keys={fragment: jwk_from_private_key(new_signing)},
        document=document,
        generation=generation,
    )
    return new, compact


def deactivate(keyring: Keyring) -> tuple[Keyring, str]:
    revealed = [private_key_from_jwk(j) for j in keyring.next_keys]
    payload = {
        "type": DID_DEACTIVATE,
        "ledger": keyring.ledger,
        "did": keyring.did,
        "prev": keyring.head,
        "revealedKeys": [_mk(k) for k in revealed],
    }
    compact = sign_operation(payload, revealed[0], kid=_mk(revealed[0]))
    return keyring.with_head(op_hash_of(compact)), compact


def grant(
    keyring: Keyring,
    *,
    subject: str,
    role: str,
    credential_types: Sequence[str],
    valid_from: int,
    valid_until: int,
    claims: Sequence[str] = (),
) -> tuple[Keyring, str]:
    payload: dict[str, Any] = {
        "type": ACCREDITATION_GRANT,
        "ledger": keyring.ledger,
        "did": keyring.did,
        "prev": keyring.head,
        "subject": subject,
        "role": role,
        "credentialTypes": list(credential_types),
        "validFrom": valid_from,
        "validUntil": valid_until,
    }
    if claims:
        payload["claims"] = list(claims)
    return _signed_by_document_key(keyring, payload)


def revoke_accreditation(
    keyring: Keyring, *, accreditation: str, reason: str | None = None
) -> tuple[Keyring, str]:
    payload: dict[str, Any] = {
        "type": ACCREDITATION_REVOKE,
        "ledger": keyring.ledger,
        "did": keyring.did,
        "prev": keyring.head,
        "accreditation": accreditation,
    }
    if reason:
        payload["reason"] = reason
    return _signed_by_document_key(keyring, payload)


def publish_status_list(
    keyring: Keyring,
    *,
    uri: str,
    sequence: int,
    token: str,
    credential_types: Sequence[str],
) -> tuple[Keyring, str]:
    """Publish a status list token; the keyring's head does not move (method spec §5.7).

    `credential_types` are the types the list answers for: the issuer must be
    accredited for each of them when the ledger logs the publication.
    """
    payload = {
        "type": STATUS_LIST_PUBLISH,
        "ledger": keyring.ledger,
        "did": keyring.did,
        "uri": uri,
        "sequence": sequence,
        "token": token,
        "credentialTypes": list(credential_types),
    }
    compact = sign_operation(payload, keyring.signing_key(), kid=keyring.signing_kid)
    return keyring, compact


def _signed_by_document_key(keyring: Keyring, payload: Mapping[str, Any]) -> tuple[Keyring, str]:
    compact = sign_operation(payload, keyring.signing_key(), kid=keyring.signing_kid)
    return keyring.with_head(op_hash_of(compact)), compact
