"""Every ledger rule, accepted and refused, on the in-memory ledger (method spec §5)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from did.encoding import b64url_decode, b64url_encode
from did.errors import GovidError
from did.jose import sign_jws
from did.keys import generate_private_key, private_key_from_jwk
from did.status_list import StatusList
from did.status_list_token import build_status_list_token
from registry import authoring
from registry.authoring import Keyring
from registry.operations import OPERATION_TYP, Operation, sign_operation
from registry.rules import check_operation, replay_did
from registry.state import Effect, MemoryLedger

LEDGER = "govid.example/registry"
FOREVER = 2**40


class Chain:
    """A ledger plus the keyrings of the DIDs in it, appending through the rules."""

    def __init__(self) -> None:
        self.ledger = MemoryLedger()
        self.size = 0
        self.time_ms = 1_700_000_000_000
        self.history: dict[str, list[tuple[Operation, int, int]]] = {}

    def append(self, compact: str) -> Effect:
        op = Operation.parse(compact, ledger=LEDGER)
        effect = check_operation(op, self.ledger, index=self.size, time_ms=self.time_ms)
        self.ledger.apply(effect)
        self.history.setdefault(op.did, []).append((op, self.size, self.time_ms))
        self.size += 1
        self.time_ms += 1000
        return effect

    def refuse(self, compact: str) -> str:
        before = (self.size, dict(self.ledger.dids), dict(self.ledger.accreditations))
        with pytest.raises(GovidError) as exc:
            self.append(compact)
        assert (self.size, self.ledger.dids, self.ledger.accreditations) == (
            before[0],
            before[1],
            before[2],
        ), "a refused operation changed the state"
        return exc.value.code

    def new_did(self) -> Keyring:
        keyring, op = authoring.create_did(ledger=LEDGER)
        self.append(op)
        return keyring


@pytest.fixture
def chain() -> Chain:
    return Chain()


@pytest.fixture
def root(chain: Chain) -> Keyring:
    return chain.new_did()


def _status_token(
    keyring: Keyring, uri: str, *, kid: str | None = None, iat: int = 1_700_000_000
) -> str:
    return build_status_list_token(
        StatusList.new(1024, 1),
        key=keyring.signing_key(),
        uri=uri,
        iat=iat,
        kid=kid or keyring.signing_kid,
    )


CIVIL = "https://govid.example/vct/civil"


def _publish_op(
    keyring: Keyring, *, credential_types: tuple[str, ...] = (CIVIL,), **kw: Any
) -> tuple[Keyring, str]:
    return authoring.publish_status_list(keyring, credential_types=credential_types, **kw)


def _accredit(chain: Chain, root: Keyring, subject: Keyring, role: str = "issuer") -> Keyring:
    root2, op = authoring.grant(
        root,
        subject=subject.did,
        role=role,
        credential_types=[CIVIL],
        valid_from=0,
        valid_until=FOREVER,
    )
    chain.append(op)
    return root2


# --- did.create ----------------------------------------------------------------------


def test_first_entry_must_create(chain: Chain) -> None:
    keyring, op = authoring.create_did(ledger=LEDGER)
    chain.append(op)
    assert chain.ledger.root_did() == keyring.did
    assert keyring.did.startswith("did:govid:")


def test_create_signed_by_an_undeclared_key_is_refused(chain: Chain, root: Keyring) -> None:
    _, op = authoring.create_did(ledger=LEDGER)
    payload = json.loads(Operation.parse(op, ledger=LEDGER).payload_jcs)
    outsider = generate_private_key("EdDSA")
    forged = sign_operation(payload, outsider, kid=payload["updateKeys"][0])
    assert chain.refuse(forged) == "ledger.operation_signature_invalid"


def test_the_same_create_twice_is_a_duplicate(chain: Chain, root: Keyring) -> None:
    _, op = authoring.create_did(ledger=LEDGER)
    chain.append(op)
    assert chain.refuse(op) == "ledger.operation_duplicate"


def _service(n: int, size: int) -> dict[str, Any]:
    return {"id": f"#svc-{n}", "type": "LinkedDomains", "serviceEndpoint": "x" * size}


@pytest.mark.parametrize(
    ("services", "extra"),
    [
        pytest.param([_service(0, 3000)], 0, id="one-service-over-2KiB"),
        pytest.param([_service(n, 10) for n in range(17)], 0, id="17-services"),
        pytest.param([_service(n, 1500) for n in range(16)], 0, id="document-over-16KiB"),
        pytest.param([], 236 * 1024, id="236KiB-of-undefined-members"),
        pytest.param([], 64 * 1024, id="create-over-64KiB"),
    ],
)
def test_oversized_creates_are_malformed(services: list[dict[str, Any]], extra: int) -> None:
    # Issue 13 item 7: what one anonymous write may add to the ledger is small.
    keyring, op = authoring.create_did(ledger=LEDGER, services=services)
    if extra:
        payload = json.loads(Operation.parse(op, ledger=LEDGER).payload_jcs)
        payload["padding"] = "p" * extra
        op = sign_operation(payload, private_key_from_jwk(keyring.update_keys[0]),
                            kid=payload["updateKeys"][0])  # fmt: skip
    with pytest.raises(GovidError) as exc:
        Operation.parse(op, ledger=LEDGER)
    assert exc.value.code == "ledger.operation_malformed"


def test_a_full_but_reasonable_document_is_accepted(chain: Chain, root: Keyring) -> None:
    _, op = authoring.create_did(ledger=LEDGER, services=[_service(n, 800) for n in range(16)])
    assert len(op) < 64 * 1024
    chain.append(op)


def test_operation_for_another_ledger_is_malformed(chain: Chain) -> None:
    _, op = authoring.create_did(ledger="other.example/log")
    with pytest.raises(GovidError) as exc:
        Operation.parse(op, ledger=LEDGER)
    assert exc.value.code == "ledger.operation_malformed"


def test_non_canonical_payload_is_malformed(root: Keyring) -> None:
    key = private_key_from_jwk(root.update_keys[0])
    payload = {"type": "did.update", "ledger": LEDGER, "did": root.did, "prev": root.head}
    spaced = json.dumps(payload, indent=1).encode()
    compact = sign_jws(spaced, key, typ=OPERATION_TYP, kid="x")
    with pytest.raises(GovidError) as exc:
        Operation.parse(compact, ledger=LEDGER)
    assert exc.value.code == "ledger.operation_malformed"


def test_bit_flipped_signature_is_refused(chain: Chain, root: Keyring) -> None:
    _, op = authoring.create_did(ledger=LEDGER)
    head, payload, sig = op.split(".")
    raw = bytearray(b64url_decode(sig))
    raw[5] ^= 0x01
    assert chain.refuse(f"{head}.{payload}.{b64url_encode(bytes(raw))}") in (
        "ledger.operation_signature_invalid",
    )


# --- did.update, rotation, compromise --------------------------------------------------


def _update(keyring: Keyring, signer_jwk: dict[str, str], **changes: object) -> str:
    payload = {
        "type": "did.update",
        "ledger": LEDGER,
        "did": keyring.did,
        "prev": keyring.head,
        **changes,
    }
    key = private_key_from_jwk(signer_jwk)
    return sign_operation(payload, key, kid=authoring._mk(key))


def test_update_signed_by_current_update_key(chain: Chain, root: Keyring) -> None:
    doc = {
        **root.document,
        "service": [
            {"id": "#web", "type": "LinkedDomains", "serviceEndpoint": "https://civil.example"}
        ],
    }
    effect = chain.append(_update(root, root.update_keys[0], document=doc))
    assert effect.did_state.version == 2
    assert effect.did_state.document["service"][0]["id"] == "#web"


def test_update_signed_by_a_document_key_is_refused(chain: Chain, root: Keyring) -> None:
    op = _update(root, root.document_keys["#key-1"], document=dict(root.document))
    assert chain.refuse(op) == "ledger.operation_not_authorized"


def test_update_with_stale_prev_is_a_conflict(chain: Chain, root: Keyring) -> None:
    first = _update(root, root.update_keys[0], document=dict(root.document))
    chain.append(first)
    # A second update built on the same `prev`: exactly one may follow it.
    second = _update(root, root.update_keys[0], compromised=["#key-1"])
    assert chain.refuse(second) == "ledger.prev_mismatch"


def test_rotation_reveals_committed_keys(chain: Chain, root: Keyring) -> None:
    rotated, op = authoring.rotate(root)
    effect = chain.append(op)
    state = effect.did_state
    assert state.update_keys == tuple(
        authoring._mk(private_key_from_jwk(j)) for j in root.next_keys
    )
    old, new = state.keys
    assert old.fragment == "#key-1" and old.valid_until == effect.did_state.updated_ms
    assert new.fragment == "#key-2" and new.valid_until is None
    # The old update key no longer signs updates.
    assert chain.refuse(_update(rotated, root.update_keys[0], compromised=["#key-1"])) == (
        "ledger.operation_not_authorized"
    )


def test_rotation_to_uncommitted_keys_is_refused(chain: Chain, root: Keyring) -> None:
    impostor = generate_private_key("EdDSA")
    payload = {
        "type": "did.update",
        "ledger": LEDGER,
        "did": root.did,
        "prev": root.head,
        "rotation": {
            "updateKeys": [authoring._mk(impostor)],
            "nextUpdateCommitment": "x" * 43,
        },
    }
    op = sign_operation(payload, impostor, kid=authoring._mk(impostor))
    assert chain.refuse(op) == "ledger.commitment_mismatch"


def test_compromised_key_is_marked_and_dropped(chain: Chain, root: Keyring) -> None:
    _, op = authoring.rotate(root, compromised=True)
    state = chain.append(op).did_state
    old = next(r for r in state.keys if r.fragment == "#key-1")
    assert old.compromised
    assert state.active_key("#key-1", "assertionMethod") is None


def test_marking_an_unknown_key_compromised_is_refused(chain: Chain, root: Keyring) -> None:
    op = _update(root, root.update_keys[0], compromised=["#never"])
    assert chain.refuse(op) == "ledger.verification_method_unknown"


def test_compromised_key_never_comes_back(chain: Chain, root: Keyring) -> None:
    # Marked compromised without a new document: it leaves the document at once.
    state = chain.append(_update(root, root.update_keys[0], compromised=["#key-1"])).did_state
    assert state.active_key("#key-1", "assertionMethod") is None
    assert all(vm["id"] != "#key-1" for vm in state.document.get("verificationMethod", []))
    root = root.with_head(state.head)
    # Putting it back, under its own fragment or another, is refused.
    old_vm = root.document["verificationMethod"][0]
    for fragment in ("#key-1", "#key-9"):
        doc = {
            "verificationMethod": [{**old_vm, "id": fragment}],
            "assertionMethod": [fragment],
        }
        op = _update(root, root.update_keys[0], document=doc)
        assert chain.refuse(op) == "ledger.key_compromised"
    # A later update without a document does not revive it either.
    state = chain.append(
        _update(root, root.update_keys[0], document={"verificationMethod": []})
    ).did_state
    assert [r.compromised for r in state.keys if r.fragment == "#key-1"] == [True]


def test_compromised_key_cannot_sign_operations(chain: Chain, root: Keyring) -> None:
    agency = chain.new_did()
    root2 = root.with_head(
        chain.append(_update(root, root.update_keys[0], compromised=["#key-1"])).did_state.head
    )
    _, op = authoring.grant(
        root2,
        subject=agency.did,
        role="issuer",
        credential_types=["civil"],
        valid_from=0,
        valid_until=FOREVER,
    )
    assert chain.refuse(op) == "ledger.operation_not_authorized"


# --- did.deactivate --------------------------------------------------------------------


def test_deactivate_needs_the_pre_rotated_keys(chain: Chain, root: Keyring) -> None:
    agency = chain.new_did()
    # Signed with the current update key instead of the revealed next key.
    payload = {
        "type": "did.deactivate",
        "ledger": LEDGER,
        "did": agency.did,
        "prev": agency.head,
        "revealedKeys": [authoring._mk(private_key_from_jwk(agency.update_keys[0]))],
    }
    thief = private_key_from_jwk(agency.update_keys[0])
    op = sign_operation(payload, thief, kid=authoring._mk(thief))
    assert chain.refuse(op) == "ledger.commitment_mismatch"


def test_deactivated_did_is_terminal(chain: Chain, root: Keyring) -> None:
    agency = chain.new_did()
    dead, op = authoring.deactivate(agency)
    state = chain.append(op).did_state
    assert state.deactivated and state.active_key("#key-1", "assertionMethod") is None
    assert chain.refuse(_update(dead, dead.update_keys[0], compromised=["#key-1"])) == (
        "ledger.did_deactivated"
    )


# --- accreditations ----------------------------------------------------------------


def test_root_grants_and_revokes(chain: Chain, root: Keyring) -> None:
    agency = chain.new_did()
    root, op = authoring.grant(
        root,
        subject=agency.did,
        role="issuer",
        credential_types=["civil"],
        valid_from=0,
        valid_until=FOREVER,
    )
    acc = chain.append(op).new_accreditation
    assert acc is not None and acc.subject == agency.did and acc.active_at(1e9)
    root, op = authoring.revoke_accreditation(root, accreditation=acc.id)
    revoked = chain.append(op).revoked_accreditation
    assert revoked is not None and not revoked.active_at(chain.time_ms / 1000)
    root, op = authoring.revoke_accreditation(root, accreditation=acc.id)
    assert chain.refuse(op) == "ledger.operation_duplicate"


def test_unaccredited_did_cannot_grant(chain: Chain, root: Keyring) -> None:
    agency, other = chain.new_did(), chain.new_did()
    _, op = authoring.grant(
        agency,
        subject=other.did,
        role="issuer",
        credential_types=["civil"],
        valid_from=0,
        valid_until=10,
    )
    assert chain.refuse(op) == "ledger.accreditation_required"


def test_accreditor_grants_within_its_scope_only(chain: Chain, root: Keyring) -> None:
    ministry, agency = chain.new_did(), chain.new_did()
    root, op = authoring.grant(
        root,
        subject=ministry.did,
        role="accreditor",
        credential_types=["civil", "birth"],
        valid_from=0,
        valid_until=FOREVER,
    )
    chain.append(op)
    ministry, op = authoring.grant(
        ministry,
        subject=agency.did,
        role="issuer",
        credential_types=["civil"],
        valid_from=0,
        valid_until=FOREVER,
    )
    chain.append(op)
    _, wider = authoring.grant(
        ministry,
        subject=agency.did,
        role="issuer",
        credential_types=["medical"],
        valid_from=0,
        valid_until=FOREVER,
    )
    assert chain.refuse(wider) == "ledger.accreditation_required"


def test_only_the_granter_or_root_revokes(chain: Chain, root: Keyring) -> None:
    agency, stranger = chain.new_did(), chain.new_did()
    root, op = authoring.grant(
        root,
        subject=agency.did,
        role="issuer",
        credential_types=["civil"],
        valid_from=0,
        valid_until=FOREVER,
    )
    acc = chain.append(op).new_accreditation
    assert acc is not None
    _, op = authoring.revoke_accreditation(stranger, accreditation=acc.id)
    assert chain.refuse(op) == "ledger.operation_not_authorized"


def test_grant_signed_with_an_update_key_is_refused(chain: Chain, root: Keyring) -> None:
    agency = chain.new_did()
    payload = {
        "type": "accreditation.grant",
        "ledger": LEDGER,
        "did": root.did,
        "prev": root.head,
        "subject": agency.did,
        "role": "issuer",
        "credentialTypes": ["civil"],
        "validFrom": 0,
        "validUntil": 10,
    }
    key = private_key_from_jwk(root.update_keys[0])
    op = sign_operation(payload, key, kid=root.did + "#key-1")
    assert chain.refuse(op) == "ledger.operation_signature_invalid"


# --- status lists --------------------------------------------------------------------


def test_accredited_issuer_publishes_in_sequence(chain: Chain, root: Keyring) -> None:
    agency = chain.new_did()
    _accredit(chain, root, agency)
    uri = "https://civil.example/status/1"
    agency, op = _publish_op(agency, uri=uri, sequence=1, token=_status_token(agency, uri))
    effect = chain.append(op)
    record = effect.status_list
    assert record is not None and record.sequence == 1 and record.issuer == agency.did
    # Publications are ordered by sequence and stay out of the DID's chain.
    assert effect.did_state.head == agency.head
    _, skipped = _publish_op(agency, uri=uri, sequence=3, token=_status_token(agency, uri))
    assert chain.refuse(skipped) == "ledger.status_list_sequence"
    _, again = _publish_op(
        agency, uri=uri, sequence=1, token=_status_token(agency, uri, iat=1_700_000_001)
    )
    assert chain.refuse(again) == "ledger.status_list_sequence"


def test_another_issuer_cannot_take_over_or_squat_a_list(chain: Chain, root: Keyring) -> None:
    # Issue 13 item 5: a list is named by (issuer, uri). Publishing under
    # another agency's (predictable) uri, before or after it, creates the
    # squatter's own list and leaves the owner's untouched.
    owner, squatter = chain.new_did(), chain.new_did()
    root = _accredit(chain, root, owner)
    _accredit(chain, root, squatter)
    uri = "https://civil.example/status/1"
    chain.append(_publish_op(squatter, uri=uri, sequence=1, token=_status_token(squatter, uri))[1])
    chain.append(_publish_op(owner, uri=uri, sequence=1, token=_status_token(owner, uri))[1])
    _, taking_over = _publish_op(squatter, uri=uri, sequence=3, token=_status_token(squatter, uri))
    assert chain.refuse(taking_over) == "ledger.status_list_sequence"
    chain.append(_publish_op(squatter, uri=uri, sequence=2, token=_status_token(squatter, uri))[1])
    owners = chain.ledger.status_list(owner.did, uri)
    squatters = chain.ledger.status_list(squatter.did, uri)
    assert owners is not None and (owners.issuer, owners.sequence) == (owner.did, 1)
    assert owners.token == _status_token(owner, uri)
    assert squatters is not None and (squatters.issuer, squatters.sequence) == (squatter.did, 2)


def test_unaccredited_issuer_cannot_publish(chain: Chain, root: Keyring) -> None:
    agency = chain.new_did()
    uri = "https://civil.example/status/1"
    _, op = _publish_op(agency, uri=uri, sequence=1, token=_status_token(agency, uri))
    assert chain.refuse(op) == "ledger.accreditation_required"


def test_publication_needs_an_accreditation_for_every_declared_type(
    chain: Chain, root: Keyring
) -> None:
    agency = chain.new_did()
    _accredit(chain, root, agency)
    uri = "https://civil.example/status/1"
    token = _status_token(agency, uri)
    medical = "https://govid.example/vct/medical"
    _, op = _publish_op(agency, uri=uri, sequence=1, token=token, credential_types=(CIVIL, medical))
    assert chain.refuse(op) == "ledger.accreditation_required"
    chain.append(_publish_op(agency, uri=uri, sequence=1, token=token)[1])


def test_publication_without_declared_types_is_malformed(chain: Chain, root: Keyring) -> None:
    agency = chain.new_did()
    _accredit(chain, root, agency)
    uri = "https://civil.example/status/1"
    payload = {
        "type": "status_list.publish",
        "ledger": LEDGER,
        "did": agency.did,
        "uri": uri,
        "sequence": 1,
        "token": _status_token(agency, uri),
    }
    op = sign_operation(payload, agency.signing_key(), kid=agency.signing_kid)
    with pytest.raises(GovidError) as exc:
        Operation.parse(op, ledger=LEDGER)
    assert exc.value.code == "ledger.operation_malformed"


def test_revoked_issuer_cannot_keep_its_lists_fresh(chain: Chain, root: Keyring) -> None:
    # Issue 13 item 6: after the revocation, no publication of the list's types.
    agency = chain.new_did()
    root, grant = authoring.grant(
        root, subject=agency.did, role="issuer", credential_types=[CIVIL],
        valid_from=0, valid_until=FOREVER,
    )  # fmt: skip
    granted = chain.append(grant)
    assert granted.new_accreditation is not None
    uri = "https://civil.example/status/1"
    chain.append(_publish_op(agency, uri=uri, sequence=1, token=_status_token(agency, uri))[1])
    root, revoke = authoring.revoke_accreditation(root, accreditation=granted.new_accreditation.id)
    chain.append(revoke)
    _, op = _publish_op(agency, uri=uri, sequence=2, token=_status_token(agency, uri))
    assert chain.refuse(op) == "ledger.accreditation_required"


def test_grants_made_with_a_key_later_compromised_stop_counting(
    chain: Chain, root: Keyring
) -> None:
    # Issue 13 item 10: the root's #key-1 signed the grant, then is marked
    # compromised: the grant counts no more, for publications nor for scope,
    # until the root grants again with its new key.
    issuer, accreditor, sub = chain.new_did(), chain.new_did(), chain.new_did()
    root = _accredit(chain, root, issuer)
    root = _accredit(chain, root, accreditor, role="accreditor")
    uri = "https://civil.example/status/1"
    chain.append(_publish_op(issuer, uri=uri, sequence=1, token=_status_token(issuer, uri))[1])
    root, op = authoring.rotate(root, compromised=True)
    chain.append(op)
    issued = chain.ledger.accreditations_of(issuer.did)
    assert [a.granted_by for a in issued] == ["#key-1"]
    _, op = _publish_op(issuer, uri=uri, sequence=2, token=_status_token(issuer, uri))
    assert chain.refuse(op) == "ledger.accreditation_required"
    _, op = authoring.grant(
        accreditor, subject=sub.did, role="issuer", credential_types=[CIVIL],
        valid_from=0, valid_until=FOREVER,
    )  # fmt: skip
    assert chain.refuse(op) == "ledger.accreditation_required"
    root = _accredit(chain, root, issuer)  # granted again, with #key-2
    chain.append(_publish_op(issuer, uri=uri, sequence=2, token=_status_token(issuer, uri))[1])


def test_grants_made_before_a_plain_rotation_still_count(chain: Chain, root: Keyring) -> None:
    # Removal without compromise keeps what the key signed in its window.
    issuer = chain.new_did()
    root = _accredit(chain, root, issuer)
    root, op = authoring.rotate(root)
    chain.append(op)
    uri = "https://civil.example/status/1"
    chain.append(_publish_op(issuer, uri=uri, sequence=1, token=_status_token(issuer, uri))[1])


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda kr, uri: _status_token(kr, "https://elsewhere.example/s"), id="wrong-sub"
        ),
        pytest.param(
            lambda kr, uri: _status_token(kr, uri, kid="did:govid:other#key-1"), id="foreign-kid"
        ),
        pytest.param(lambda kr, uri: _status_token(kr, uri)[:-4] + "AAAA", id="bad-signature"),
        pytest.param(lambda kr, uri: "not-a-jwt", id="garbage"),
    ],
)
def test_status_list_token_must_be_the_issuers_own(
    chain: Chain, root: Keyring, tamper: Callable[[Keyring, str], str]
) -> None:
    agency = chain.new_did()
    _accredit(chain, root, agency)
    uri = "https://civil.example/status/1"
    _, op = _publish_op(agency, uri=uri, sequence=1, token=tamper(agency, uri))
    assert chain.refuse(op) == "ledger.status_list_token_rejected"


# --- history --------------------------------------------------------------------------


def test_replay_of_one_chain_gives_the_same_state(chain: Chain, root: Keyring) -> None:
    agency = chain.new_did()
    root = _accredit(chain, root, agency)
    uri = "https://civil.example/status/9"
    agency, op = _publish_op(agency, uri=uri, sequence=1, token=_status_token(agency, uri))
    chain.append(op)
    agency, op = authoring.rotate(agency, compromised=True)
    chain.append(op)
    for did in (root.did, agency.did):
        own_chain = [h for h in chain.history[did] if h[0].type != "status_list.publish"]
        assert replay_did(own_chain) == chain.ledger.dids[did]


def test_replay_refuses_a_broken_chain(chain: Chain, root: Keyring) -> None:
    agency = chain.new_did()
    agency, op = authoring.rotate(agency)
    chain.append(op)
    genesis, rotation = chain.history[agency.did]
    with pytest.raises(GovidError) as exc:
        replay_did([rotation])
    assert exc.value.code == "ledger.did_unknown"
    assert replay_did([genesis]).version == 1
