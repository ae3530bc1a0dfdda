"""The ledger's state as the rules see it: DIDs, accreditations, status lists.

The state is a pure function of the log: the sequencer keeps it in SQL, an
auditor or a client rebuilds it in memory by replaying entries through
`registry.rules`. `LedgerView` is what the rules read; `MemoryLedger` is the
in-memory implementation (the SQL one lives in `registry.store`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from registry.operations import RELATIONSHIPS


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One verification method as it was between two operations.

    A key's validity window is [valid_from, valid_until) in log time (Unix
    milliseconds of the entries that added and removed it). A compromised key
    is never valid, whatever the window says (method spec §6.3).
    """

    fragment: str
    multikey: str
    relationships: tuple[str, ...]
    valid_from: int
    valid_until: int | None = None
    compromised: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.fragment,
            "publicKeyMultibase": self.multikey,
            "relationships": list(self.relationships),
            "validFrom": self.valid_from,
            "validUntil": self.valid_until,
            "compromised": self.compromised,
        }


@dataclass(frozen=True, slots=True)
class DIDState:
    did: str
    head: str  # hash of the last operation in this DID's chain
    version: int  # document version: 1 after did.create, +1 per update/deactivate
    version_op: str  # hash of the operation that produced this document version
    created_ms: int
    updated_ms: int
    document: Mapping[str, Any]  # the method's document content (fragments, not full ids)
    update_keys: tuple[str, ...]
    next_update_commitment: str | None
    deactivated: bool = False
    keys: tuple[KeyRecord, ...] = ()

    def active_key(self, fragment: str, relationship: str) -> str | None:
        """The Multikey of `fragment` if it is now in `relationship` and not compromised."""
        if self.deactivated:
            return None
        for record in self.keys:
            if (
                record.fragment == fragment
                and record.valid_until is None
                and not record.compromised
                and relationship in record.relationships
            ):
                return record.multikey
        return None


@dataclass(frozen=True, slots=True)
class Accreditation:
    id: str  # hash of the granting operation
    subject: str
    accreditor: str
    role: str
    credential_types: tuple[str, ...]
    claims: tuple[str, ...]
    valid_from: int  # Unix seconds
    valid_until: int
    granted_index: int
    revoked_ms: int | None = None
    # Which of the accreditor's keys signed the grant, and when (log time, ms):
    # a grant signed with a key later marked compromised is not honoured
    # (method spec §5.5.3).
    granted_by: str = field(kw_only=True)  # the '#fragment' of the grant's kid
    granted_ms: int = field(kw_only=True)

    def active_at(self, time_s: float) -> bool:
        """Not revoked yet at `time_s` (seconds) and inside [validFrom, validUntil).

        For the ledger's own rules, which run at log time and cannot be
        back-dated. A relying party judging a credential by its `iat` (which
        the issuer chooses) uses `trusted_at` instead.
        """
        if self.revoked_ms is not None and time_s * 1000 >= self.revoked_ms:
            return False
        return self.valid_from <= time_s < self.valid_until

    def trusted_at(self, time_s: float) -> bool:
        """Never revoked, and `time_s` inside [validFrom, validUntil) (method spec §6.4 step 4).

        A revoked accreditation vouches for nothing, whatever the credential's
        `iat` says: the issuer chooses `iat`, so "revoked after issuance" can be
        faked by back-dating, as with a compromised key (§6.3).
        """
        return self.revoked_ms is None and self.valid_from <= time_s < self.valid_until

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subject": self.subject,
            "accreditor": self.accreditor,
            "role": self.role,
            "credentialTypes": list(self.credential_types),
            "claims": list(self.claims),
            "validFrom": self.valid_from,
            "validUntil": self.valid_until,
            "grantedIndex": self.granted_index,
            "revoked": self.revoked_ms is not None,
            "revokedAt": self.revoked_ms,
            "grantedBy": self.granted_by,
            "grantedAt": self.granted_ms,
        }


def grant_key_compromised(accreditation: Accreditation, accreditor: DIDState | None) -> bool:
    """True if the key that signed `accreditation`'s grant is now known to be compromised.

    Method spec §5.5.3: a grant is treated like a credential signed by the
    same key. It is untrusted if any record of the grant's `#fragment` is
    compromised, or if the Multikey that fragment held when the grant was
    logged has been burnt under any fragment (§6.3). An accreditor the state
    does not know is no voucher either.
    """
    if accreditor is None:
        return True
    records = [r for r in accreditor.keys if r.fragment == accreditation.granted_by]
    if not records or any(r.compromised for r in records):
        return True
    at = accreditation.granted_ms
    signing = {
        r.multikey
        for r in records
        if r.valid_from <= at and (r.valid_until is None or at < r.valid_until)
    }
    burnt = {r.multikey for r in accreditor.keys if r.compromised}
    return bool(signing & burnt)


@dataclass(frozen=True, slots=True)
class StatusListRecord:
    """The latest publication of one list. A list is named by (issuer, uri) (§5.7)."""

    uri: str
    issuer: str
    sequence: int
    index: int  # log index of the publishing entry
    token: str


@dataclass(frozen=True, slots=True)
class Effect:
    """What one accepted operation changes. The store applies it atomically."""

    index: int
    op_hash: str
    did_state: DIDState
    new_accreditation: Accreditation | None = None
    revoked_accreditation: Accreditation | None = None
    status_list: StatusListRecord | None = None


class LedgerView(Protocol):
    """What the rules need to read. Implementations own their transactions."""

    def root_did(self) -> str | None: ...
    def did_state(self, did: str) -> DIDState | None: ...
    def has_operation(self, op_hash: str) -> bool: ...
    def accreditation(self, accreditation_id: str) -> Accreditation | None: ...
    def accreditations_of(self, did: str) -> list[Accreditation]: ...
    def status_list(self, issuer: str, uri: str) -> StatusListRecord | None: ...


@dataclass
class MemoryLedger:
    """The whole ledger state in memory: for audits, clients and tests."""

    root: str | None = None
    dids: dict[str, DIDState] = field(default_factory=dict)
    operations: set[str] = field(default_factory=set)
    accreditations: dict[str, Accreditation] = field(default_factory=dict)
    lists: dict[tuple[str, str], StatusListRecord] = field(default_factory=dict)

    def root_did(self) -> str | None:
        return self.root

    def did_state(self, did: str) -> DIDState | None:
        return self.dids.get(did)

    def has_operation(self, op_hash: str) -> bool:
        return op_hash in self.operations

    def accreditation(self, accreditation_id: str) -> Accreditation | None:
        return self.accreditations.get(accreditation_id)

    def accreditations_of(self, did: str) -> list[Accreditation]:
        return [a for a in self.accreditations.values() if a.subject == did]

    def status_list(self, issuer: str, uri: str) -> StatusListRecord | None:
        return self.lists.get((issuer, uri))

    def apply(self, effect: Effect) -> None:
        if self.root is None:
            self.root = effect.did_state.did  # entry 0 creates the root authority
        self.operations.add(effect.op_hash)
        self.dids[effect.did_state.did] = effect.did_state
        for acc in (effect.new_accreditation, effect.revoked_accreditation):
            if acc is not None:
                self.accreditations[acc.id] = acc
        if effect.status_list is not None:
            record = effect.status_list
            self.lists[(record.issuer, record.uri)] = record


# --- the DID document a state stands for ----------------------------------------

DID_CONTEXTS = ("https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1")


def render_document(state: DIDState) -> dict[str, Any]:
    """The W3C DID document of `state` (method spec §7). Deactivated: no keys."""
    did = state.did
    doc: dict[str, Any] = {"@context": list(DID_CONTEXTS), "id": did}
    if state.deactivated:
        return doc
    content = state.document
    compromised = {r.fragment for r in state.keys if r.compromised}
    vms = [vm for vm in content.get("verificationMethod", []) if vm["id"] not in compromised]
    if vms:
        doc["verificationMethod"] = [
            {
                "id": did + vm["id"],
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": vm["publicKeyMultibase"],
            }
            for vm in vms
        ]
    live = {vm["id"] for vm in vms}
    for rel in RELATIONSHIPS:
        refs = [did + ref for ref in content.get(rel, []) if ref in live]
        if refs:
            doc[rel] = refs
    services = content.get("service", [])
    if services:
        doc["service"] = [{**svc, "id": did + svc["id"]} for svc in services]
    return doc


def key_records_for(
    document: Mapping[str, Any], previous: tuple[KeyRecord, ...], time_ms: int
) -> tuple[KeyRecord, ...]:
    """Close the records of keys the new `document` drops and open records for new ones."""
    wanted: dict[tuple[str, str, tuple[str, ...]], None] = {}
    for vm in document.get("verificationMethod", []):
        rels = tuple(rel for rel in RELATIONSHIPS if vm["id"] in document.get(rel, []))
        wanted[(vm["id"], vm["publicKeyMultibase"], rels)] = None
    records: list[KeyRecord] = []
    kept: set[tuple[str, str, tuple[str, ...]]] = set()
    for record in previous:
        ident = (record.fragment, record.multikey, record.relationships)
        if record.valid_until is None and ident in wanted and not record.compromised:
            kept.add(ident)
            records.append(record)
        elif record.valid_until is None:
            records.append(replace(record, valid_until=time_ms))
        else:
            records.append(record)
    for ident in wanted:
        if ident not in kept:
            fragment, multikey, rels = ident
            records.append(KeyRecord(fragment, multikey, rels, valid_from=time_ms))
    return tuple(records)


def mark_compromised(
    records: tuple[KeyRecord, ...], fragments: set[str], time_ms: int
) -> tuple[KeyRecord, ...]:
    return tuple(
        replace(r, compromised=True, valid_until=r.valid_until or time_ms)
        if r.fragment in fragments
        else r
        for r in records
    )


# --- (de)serialisation for the SQL store --------------------------------------


def did_state_to_json(state: DIDState) -> dict[str, Any]:
    return {
        "did": state.did,
        "head": state.head,
        "version": state.version,
        "versionOp": state.version_op,
        "created": state.created_ms,
        "updated": state.updated_ms,
        "document": state.document,
        "updateKeys": list(state.update_keys),
        "nextUpdateCommitment": state.next_update_commitment,
        "deactivated": state.deactivated,
        "keys": [r.to_json() for r in state.keys],
    }


def did_state_from_json(obj: Mapping[str, Any]) -> DIDState:
    return DIDState(
        did=obj["did"],
        head=obj["head"],
        version=obj["version"],
        version_op=obj["versionOp"],
        created_ms=obj["created"],
        updated_ms=obj["updated"],
        document=obj["document"],
        update_keys=tuple(obj["updateKeys"]),
        next_update_commitment=obj["nextUpdateCommitment"],
        deactivated=obj["deactivated"],
        keys=tuple(
            KeyRecord(
                r["id"],
                r["publicKeyMultibase"],
                tuple(r["relationships"]),
                r["validFrom"],
                r["validUntil"],
                r["compromised"],
            )
            for r in obj["keys"]
        ),
    )


def accreditation_from_json(obj: Mapping[str, Any]) -> Accreditation:
    return Accreditation(
        id=obj["id"],
        subject=obj["subject"],
        accreditor=obj["accreditor"],
        role=obj["role"],
        credential_types=tuple(obj["credentialTypes"]),
        claims=tuple(obj["claims"]),
        valid_from=obj["validFrom"],
        valid_until=obj["validUntil"],
        granted_index=obj["grantedIndex"],
        revoked_ms=obj["revokedAt"],
        granted_by=obj["grantedBy"],
        granted_ms=obj["grantedAt"],
    )
