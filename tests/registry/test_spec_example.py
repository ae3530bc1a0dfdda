"""The method spec's example log is what the code computes, and obeys every rule.

docs/did-method-govid.md shows one example log (§3.3, §4, §5, §7) built from
Ed25519 keys whose seeds are one byte repeated. An independent client is
written from those numbers, so this test rebuilds the log with the code,
replays it through the rules, and requires every value the document quotes
to appear in it verbatim.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from did.jose import sign_jwt
from did.keys import to_multikey
from registry.checkpoint import Checkpoint, sign_checkpoint
from registry.cosignature import CosignatureSigner
from registry.entry import LogEntry
from registry.merkle import InMemoryTree, leaf_hash
from registry.note import NoteSigner
from registry.operations import (
    Operation,
    canonical_json,
    did_from_genesis,
    key_commitment,
    sha256_b64,
    sign_operation,
)
from registry.rules import check_operation
from registry.state import MemoryLedger

SPEC = Path(__file__).resolve().parents[2] / "docs" / "did-method-govid.md"
ORIGIN = "govid.example/registry"
CIVIL = "https://govid.example/vct/civil-identity"
LIST_URI = "https://issuer.civil.govid.example/status/1"
T0 = 1767225600000  # 2026-01-01T00:00:00Z; entry i is logged at T0 + i minutes
LOG_SEED, WITNESS_SEED = 0x31, 0x21


def _key(seed: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)


def _mk(seed: int) -> str:
    return to_multikey(_key(seed).public_key())


def _document(seed: int, fragment: str, services: list[dict[str, str]]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "verificationMethod": [
            {"id": fragment, "type": "Multikey", "publicKeyMultibase": _mk(seed)}
        ],
        "authentication": [fragment],
        "assertionMethod": [fragment],
        "capabilityDelegation": [fragment],
    }
    if services:
        doc["service"] = services
    return doc


def _example_log() -> list[str]:
    root_create = {
        "type": "did.create", "ledger": ORIGIN, "document": _document(0x03, "#key-1", []),
        "updateKeys": [_mk(0x01)], "nextUpdateCommitment": key_commitment([_mk(0x02)]),
    }  # fmt: skip
    root = did_from_genesis(canonical_json(root_create))
    issuer = {"id": "#issuer", "type": "OpenID4VCI",
              "serviceEndpoint": "https://issuer.civil.govid.example"}  # fmt: skip
    agency_create = {
        "type": "did.create", "ledger": ORIGIN, "document": _document(0x13, "#key-1", [issuer]),
        "updateKeys": [_mk(0x11)], "nextUpdateCommitment": key_commitment([_mk(0x12)]),
    }  # fmt: skip
    agency = did_from_genesis(canonical_json(agency_create))
    grant = {
        "type": "accreditation.grant", "ledger": ORIGIN, "did": root,
        "prev": sha256_b64(canonical_json(root_create)), "subject": agency, "role": "issuer",
        "credentialTypes": [CIVIL], "validFrom": 1767225600, "validUntil": 1798761600,
    }  # fmt: skip
    claims = {"sub": LIST_URI, "iat": 1767225780, "ttl": 3600,
              "status_list": {"bits": 1, "lst": "eNpjYBhYAAAAgAAB"}}  # fmt: skip
    token = sign_jwt(claims, _key(0x13), typ="statuslist+jwt", kid=agency + "#key-1")
    publish = {
        "type": "status_list.publish", "ledger": ORIGIN, "did": agency, "uri": LIST_URI,
        "sequence": 1, "token": token, "credentialTypes": [CIVIL],
    }  # fmt: skip
    rotation = {
        "type": "did.update", "ledger": ORIGIN, "did": agency,
        "prev": sha256_b64(canonical_json(agency_create)),
        "document": _document(0x14, "#key-2", [issuer]),
        "rotation": {"updateKeys": [_mk(0x12)],
                     "nextUpdateCommitment": key_commitment([_mk(0x15)])},
    }  # fmt: skip
    return [
        sign_operation(root_create, _key(0x01), kid=_mk(0x01)),
        sign_operation(agency_create, _key(0x11), kid=_mk(0x11)),
        sign_operation(grant, _key(0x03), kid=root + "#key-1"),
        sign_operation(publish, _key(0x13), kid=agency + "#key-1"),
        sign_operation(rotation, _key(0x12), kid=_mk(0x12)),
    ]


def test_the_example_log_obeys_the_rules_and_matches_the_spec() -> None:
    spec = SPEC.read_text(encoding="utf-8")
    operations = [Operation.parse(op, ledger=ORIGIN) for op in _example_log()]
    ledger, tree, entries = MemoryLedger(), InMemoryTree(), []
    for index, op in enumerate(operations):
        time_ms = T0 + 60_000 * index
        ledger.apply(check_operation(op, ledger, index=index, time_ms=time_ms))
        entries.append(LogEntry(index, time_ms, op.compact).to_bytes())
        tree.append(entries[-1])
    root5 = tree.root(5)
    checkpoint = Checkpoint(ORIGIN, 5, root5)
    log_signer = NoteSigner(ORIGIN, _key(LOG_SEED))
    witness = CosignatureSigner("witness.example/w1", _key(WITNESS_SEED))
    cosignature = witness.cosign(checkpoint, now=datetime.fromtimestamp(1767225900, UTC))
    note = sign_checkpoint(checkpoint, signer=log_signer)

    quoted = [
        *(op.did for op in operations[:2]),
        *(op.op_hash for op in operations),
        str(operations[3].chain_key),
        log_signer.verifier().to_vkey(),
        witness.verifier().to_vkey(),
        note.split("\n\n", 1)[1].strip(),  # the log's signature line
        cosignature.to_line().strip(),
        base64.b64encode(root5).decode(),
        leaf_hash(entries[0]).hex(),
        *(base64.b64encode(h).decode() for h in tree.inclusion_proof(1, 5)),
        *(base64.b64encode(h).decode() for h in tree.inclusion_proof(4, 5)),
        canonical_json(operations[0].payload).decode(),
    ]
    missing = [value for value in quoted if value not in spec]
    assert not missing, f"the spec does not quote what the code computes: {missing}"
    assert len(entries[0]) == 829 and "(829 bytes)" in spec
    assert f"({len(entries[4])} bytes)" in spec
    record = ledger.status_list(operations[1].did, LIST_URI)
    assert record is not None and record.sequence == 1
