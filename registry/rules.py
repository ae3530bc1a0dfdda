"""Who may append what: the ledger's rules, as one pure function.

`check_operation(op, view, index=..., time_ms=...)` verifies an operation's
signature against the key the rules require, checks it against the ledger's
state, and returns the `Effect` of appending it, or raises. The sequencer, the
auditor and every client run this same function, so they cannot disagree on
what the log means (docs/did-method-govid.md §5).

Steps, in order (each tagged below):
  1. no operation may appear twice; a non-genesis op names a live DID
  2. `prev` must be the DID's current head (exactly one op follows another);
     status list publications are ordered by their list's `sequence` instead
  3. the signing key is the one the operation type requires; the JWS verifies
  4. type-specific rules (pre-rotation, accreditation scope, list sequence)
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from did.errors import GovidError, MalformedInput
from did.jose import DEFAULT_ALGS, parse_unverified_jws, verify_jws
from did.keys import from_multikey
from registry.operation_errors import (
    AccreditationRequired,
    CommitmentMismatch,
    CompromisedKeyReused,
    DIDIsDeactivated,
    DuplicateOperation,
    EntryInvalid,
    OperationNotAuthorized,
    OperationSignatureInvalid,
    PrevMismatch,
    SequenceConflict,
    StatusListTokenRejected,
    UnknownAccreditation,
    UnknownDID,
    UnknownVerificationMethod,
)
from registry.operations import (
    ACCREDITATION_GRANT,
    ACCREDITATION_REVOKE,
    DID_CREATE,
    DID_DEACTIVATE,
    DID_UPDATE,
    OPERATION_TYP,
    RELATIONSHIPS,
    STATUS_LIST_PUBLISH,
    Operation,
    key_commitment,
)
from registry.state import (
    Accreditation,
    DIDState,
    Effect,
    LedgerView,
    StatusListRecord,
    grant_key_compromised,
    key_records_for,
    mark_compromised,
)

STATUS_LIST_TYP = "statuslist+jwt"


def check_operation(op: Operation, view: LedgerView, *, index: int, time_ms: int) -> Effect:
    """Return the effect of appending `op` at `index` and log time `time_ms`, or raise.

    Raises `Conflict` subclasses for races (409), `NotFound` for unknown
    references, `VerificationFailed` subclasses for signatures and permissions.
    """
    # (1) replays and unknown authors
    if view.has_operation(op.op_hash):
        raise DuplicateOperation("this operation is already in the log")
    if view.root_did() is None and op.type != DID_CREATE:
        raise OperationNotAuthorized("the log's first entry must create the root authority")
    if op.type == DID_CREATE:
        return _create(op, view, index=index, time_ms=time_ms)
    state = view.did_state(op.did)
    if state is None:
        raise UnknownDID("the operation extends a DID that is not in the log")
    if state.deactivated:
        raise DIDIsDeactivated("the DID is deactivated; nothing may follow")
    # (2) the hash chain: exactly one operation follows a given previous one
    if op.type != STATUS_LIST_PUBLISH and op.prev != state.head:
        raise PrevMismatch("'prev' is not the DID's latest operation")
    handler = _HANDLERS[op.type]
    return handler(op, state, view, index, time_ms)


def _verify(op: Operation, multikey: str) -> None:
    # (3) the JWS over the canonical payload, with the key the rules chose
    try:
        verify_jws(op.jws, from_multikey(multikey), typ=OPERATION_TYP, algs=DEFAULT_ALGS)
    except GovidError as exc:
        raise OperationSignatureInvalid("the operation's signature does not verify") from exc


def _create(op: Operation, view: LedgerView, *, index: int, time_ms: int) -> Effect:
    if view.did_state(op.did) is not None:
        raise DuplicateOperation("this DID already exists")
    update_keys = tuple(op.payload["updateKeys"])
    if op.kid not in update_keys:  # (3) self-certifying: signed by a declared update key
        raise OperationNotAuthorized("a did.create is signed by one of its update keys")
    _verify(op, op.kid)
    document = op.payload["document"]
    state = DIDState(
        did=op.did,
        head=op.op_hash,
        version=1,
        version_op=op.op_hash,
        created_ms=time_ms,
        updated_ms=time_ms,
        document=document,
        update_keys=update_keys,
        next_update_commitment=op.payload["nextUpdateCommitment"],
        keys=key_records_for(document, (), time_ms),
    )
    return Effect(index, op.op_hash, state)


def _update(op: Operation, state: DIDState, view: LedgerView, index: int, time_ms: int) -> Effect:
    p = op.payload
    update_keys, commitment = state.update_keys, state.next_update_commitment
    rotation = p.get("rotation")
    if rotation is not None:
        # (4) pre-rotation: the new update keys must be the ones committed to
        # before, and the rotation is signed by one of them (method spec §5.3).
        revealed = tuple(rotation["updateKeys"])
        if key_commitment(revealed) != state.next_update_commitment:
            raise CommitmentMismatch("the new update keys do not match the commitment")
        if op.kid not in revealed:
            raise OperationNotAuthorized("a rotation is signed by one of the revealed keys")
        update_keys, commitment = revealed, rotation["nextUpdateCommitment"]
    elif op.kid not in state.update_keys:
        raise OperationNotAuthorized("a did.update is signed by a current update key")
    compromised_keys = {r.multikey for r in state.keys if r.compromised}
    if op.kid in compromised_keys or compromised_keys & set(update_keys):
        # A key burnt as a document key is burnt as an update key too.
        raise CompromisedKeyReused("a compromised key cannot sign or become an update key")
    _verify(op, op.kid)

    fragments = set(p.get("compromised", ()))
    if not fragments <= {r.fragment for r in state.keys}:
        raise UnknownVerificationMethod("a key marked compromised never belonged to the DID")
    # (4) a compromised key never comes back, under its fragment or another one
    burnt = {r.multikey for r in state.keys if r.compromised or r.fragment in fragments}
    burnt_fragments = {r.fragment for r in state.keys if r.compromised} | fragments
    if "document" in p:
        document: Any = p["document"]
        if any(
            vm["id"] in burnt_fragments or vm["publicKeyMultibase"] in burnt
            for vm in document.get("verificationMethod", [])
        ):
            raise CompromisedKeyReused("a compromised key cannot be put back in the document")
    else:
        document = _without(state.document, burnt_fragments)
    keys = mark_compromised(key_records_for(document, state.keys, time_ms), fragments, time_ms)
    new_state = replace(
        state,
        head=op.op_hash,
        version=state.version + 1,
        version_op=op.op_hash,
        updated_ms=time_ms,
        document=document,
        update_keys=update_keys,
        next_update_commitment=commitment,
        keys=keys,
    )
    return Effect(index, op.op_hash, new_state)


def _without(document: Any, fragments: set[str]) -> dict[str, Any]:
    """`document` without the verification methods named by `fragments`."""
    if not fragments:
        return dict(document)
    out = dict(document)
    out["verificationMethod"] = [
        vm for vm in document.get("verificationMethod", []) if vm["id"] not in fragments
    ]
    for rel in RELATIONSHIPS:
        if rel in document:
            out[rel] = [ref for ref in document[rel] if ref not in fragments]
    return out


def _deactivate(
    op: Operation, state: DIDState, view: LedgerView, index: int, time_ms: int
) -> Effect:
    # (4) terminal, so it takes the pre-rotated keys: a thief of the current
    # update key cannot destroy the agency's identity (method spec §5.4).
    revealed = tuple(op.payload["revealedKeys"])
    if key_commitment(revealed) != state.next_update_commitment:
        raise CommitmentMismatch("the revealed keys do not match the commitment")
    if op.kid not in revealed:
        raise OperationNotAuthorized("a did.deactivate is signed by a revealed key")
    _verify(op, op.kid)
    keys = tuple(
        replace(r, valid_until=time_ms) if r.valid_until is None else r for r in state.keys
    )
    new_state = replace(
        state,
        head=op.op_hash,
        version=state.version + 1,
        version_op=op.op_hash,
        updated_ms=time_ms,
        deactivated=True,
        update_keys=(),
        next_update_commitment=None,
        keys=keys,
    )
    return Effect(index, op.op_hash, new_state)


def _author_key(op: Operation, state: DIDState, relationship: str) -> None:
    """(3) Operations about others are signed by one of the author's document keys."""
    did, _, fragment = op.kid.partition("#")
    if did != op.did or not fragment:
        raise OperationNotAuthorized("the signing key must be one of the author's own")
    multikey = state.active_key("#" + fragment, relationship)
    if multikey is None:
        raise OperationNotAuthorized(f"the signing key is not a current {relationship} key")
    _verify(op, multikey)


def _grant(op: Operation, state: DIDState, view: LedgerView, index: int, time_ms: int) -> Effect:
    p = op.payload
    _author_key(op, state, "capabilityDelegation")
    subject = view.did_state(p["subject"])
    if subject is None or subject.deactivated:
        raise UnknownDID("the accredited DID does not exist or is deactivated")
    types = tuple(p["credentialTypes"])
    if op.did != view.root_did():
        # (4) an accreditor may only pass on what it holds, for no longer than it holds it
        held = held_accreditations(view, op.did, role="accreditor", time_ms=time_ms)
        if not any(
            set(types) <= set(a.credential_types) and p["validUntil"] <= a.valid_until for a in held
        ):
            raise AccreditationRequired("the author is not accredited to grant these types")
    accreditation = Accreditation(
        id=op.op_hash,
        subject=p["subject"],
        accreditor=op.did,
        role=p["role"],
        credential_types=types,
        claims=tuple(p.get("claims", ())),
        valid_from=p["validFrom"],
        valid_until=p["validUntil"],
        granted_index=index,
        granted_by="#" + op.kid.partition("#")[2],
        granted_ms=time_ms,
    )
    return Effect(index, op.op_hash, _advance(state, op, time_ms), new_accreditation=accreditation)


def held_accreditations(
    view: LedgerView, did: str, *, role: str | None, time_ms: int
) -> list[Accreditation]:
    """The accreditations of `did` in `role` (any role if None) that count at log time `time_ms`.

    Active then (granted, not yet revoked, inside its validity), and granted
    with a key of the accreditor that has not been marked compromised since
    (method spec §5.5.3): such a grant is no voucher, like a credential signed
    by that key.
    """
    now_s = time_ms / 1000
    return [
        a
        for a in view.accreditations_of(did)
        if role in (None, a.role)
        and a.active_at(now_s)
        and not grant_key_compromised(a, view.did_state(a.accreditor))
    ]


def _revoke(op: Operation, state: DIDState, view: LedgerView, index: int, time_ms: int) -> Effect:
    _author_key(op, state, "capabilityDelegation")
    accreditation = view.accreditation(op.payload["accreditation"])
    if accreditation is None:
        raise UnknownAccreditation("no such accreditation")
    if op.did not in (accreditation.accreditor, view.root_did()):
        raise OperationNotAuthorized("only the granting accreditor or the root may revoke")
    if accreditation.revoked_ms is not None:
        raise DuplicateOperation("the accreditation is already revoked")
    revoked = replace(accreditation, revoked_ms=time_ms)
    return Effect(index, op.op_hash, _advance(state, op, time_ms), revoked_accreditation=revoked)


def _publish(op: Operation, state: DIDState, view: LedgerView, index: int, time_ms: int) -> Effect:
    p = op.payload
    _author_key(op, state, "assertionMethod")
    # (4) rule 1: every credential type the list answers for is covered by an
    # issuer accreditation that counts now (§5.7): after a revocation, or once
    # the granting key is compromised, the issuer cannot keep such lists fresh.
    held = held_accreditations(view, op.did, role="issuer", time_ms=time_ms)
    covered = {vct for a in held for vct in a.credential_types}
    if not held or not set(p["credentialTypes"]) <= covered:
        raise AccreditationRequired("the issuer is not accredited for every type of the list")
    # (4) rule 2: a list is named by its issuer and its uri, so no issuer can
    # take, or pre-empt, another's list, whatever uri it picks (§5.7).
    previous = view.status_list(op.did, p["uri"])
    expected = 1 if previous is None else previous.sequence + 1
    if p["sequence"] != expected:
        raise SequenceConflict("status list sequence numbers go up by one")
    _check_status_list_token(p["token"], uri=p["uri"], state=state)
    record = StatusListRecord(p["uri"], op.did, p["sequence"], index, p["token"])
    # Publications stay out of the DID's chain: its head does not move.
    return Effect(index, op.op_hash, state, status_list=record)


def _check_status_list_token(token: str, *, uri: str, state: DIDState) -> None:
    """(4) The token is the issuer's own, signed by a current assertion key, for `uri`."""
    try:
        unverified = parse_unverified_jws(token)
        kid = unverified.header.get("kid")
        did, _, fragment = kid.partition("#") if isinstance(kid, str) else ("", "", "")
        multikey = state.active_key("#" + fragment, "assertionMethod") if fragment else None
        if did != state.did or multikey is None:
            raise StatusListTokenRejected("the token is not signed by the issuer's own key")
        claims = verify_jws(unverified, from_multikey(multikey), typ=STATUS_LIST_TYP).claims()
    except (MalformedInput, OperationSignatureInvalid) as exc:
        raise StatusListTokenRejected("the status list token is malformed") from exc
    except StatusListTokenRejected:
        raise
    except GovidError as exc:
        raise StatusListTokenRejected("the status list token does not verify") from exc
    if claims.get("sub") != uri:
        raise StatusListTokenRejected("the token's 'sub' is not the list's uri")
    if not isinstance(claims.get("status_list"), dict):
        raise StatusListTokenRejected("the token carries no status list")


def _advance(state: DIDState, op: Operation, time_ms: int) -> DIDState:
    """Extend the author's chain without changing its document."""
    return replace(state, head=op.op_hash, updated_ms=time_ms)


_HANDLERS = {
    DID_UPDATE: _update,
    DID_DEACTIVATE: _deactivate,
    ACCREDITATION_GRANT: _grant,
    ACCREDITATION_REVOKE: _revoke,
    STATUS_LIST_PUBLISH: _publish,
}


def replay_did(ops: list[tuple[Operation, int, int]], view: LedgerView | None = None) -> DIDState:
    """Fold one DID's chain `[(op, index, time_ms), ...]` into its state.

    Used by resolvers to answer `versionId`/`versionTime`: document-changing rules
    only depend on the DID's own chain, so the rest of the ledger is not needed.
    Operations about others (accreditations, lists) just advance the head.
    """
    from registry.state import MemoryLedger

    ledger = view if view is not None else MemoryLedger()
    state: DIDState | None = None
    for op, index, time_ms in ops:
        if op.type == STATUS_LIST_PUBLISH:
            raise EntryInvalid("status list publications are not part of a DID's chain")
        if op.type == DID_CREATE:
            state = _create(op, ledger, index=index, time_ms=time_ms).did_state
            continue
        if state is None or op.prev != state.head:
            raise UnknownDID("the DID's history is not a hash chain from its genesis")
        if op.type in (DID_UPDATE, DID_DEACTIVATE):
            state = _HANDLERS[op.type](op, state, ledger, index, time_ms).did_state
        else:
            _author_key(op, state, _RELATIONSHIP_OF[op.type])
            state = _advance(state, op, time_ms)
    if state is None:
        raise UnknownDID("the DID has no genesis operation")
    return state


_RELATIONSHIP_OF = {
    ACCREDITATION_GRANT: "capabilityDelegation",
    ACCREDITATION_REVOKE: "capabilityDelegation",
}
