"""Agencies as tenants: their did:govid DID, sealed keys, OAuth clients, key rotation.

An agency's keyring (`registry.authoring.Keyring`: update keys, pre-rotated
next keys, document keys, chain head) is stored sealed under the KEK with the
agency's slug as associated data. Every ledger write of an agency runs with
its row locked, so two writers never race for the same `prev` (method spec
§5.2.3).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from did.errors import MalformedInput
from issuer.context import IssuerContext
from issuer.credential_types import credential_type
from issuer.errors import AgencyExists, AgencyNotFound
from issuer.oauth import new_client_id, new_token
from issuer.store import AgencyRow, ClientRow, IssuerStore, checkpoint
from registry import authoring
from registry.authoring import Keyring
from service.oauth import hash_client_secret

__all__ = [
    "AgencyKeys",
    "add_client",
    "create_agency",
    "open_agency",
    "purge_retired_keys",
    "rotate_agency_key",
    "save_keyring",
    "subject_hash",
]

_SLUG: Final = re.compile(r"[a-z][a-z0-9-]{1,31}")


@dataclass(frozen=True, slots=True, repr=False)
class AgencyKeys:
    slug: str
    did: str
    keyring: Keyring
    subject_salt: bytes

    def __repr__(self) -> str:
        return f"AgencyKeys({self.slug}, {self.did})"


def _keyring_aad(slug: str) -> bytes:
    return f"agency-keyring:{slug}".encode()


def _salt_aad(slug: str) -> bytes:
    return f"agency-subject-salt:{slug}".encode()


def open_agency(ctx: IssuerContext, row: AgencyRow) -> AgencyKeys:
    keyring = Keyring.from_json(json.loads(ctx.kek.open(row.keyring, aad=_keyring_aad(row.slug))))
    salt = ctx.kek.open(row.subject_salt, aad=_salt_aad(row.slug))
    return AgencyKeys(row.slug, row.did, keyring, salt)


def save_keyring(ctx: IssuerContext, row: AgencyRow, keyring: Keyring) -> None:
    row.keyring = ctx.kek.seal(keyring.dumps().encode(), aad=_keyring_aad(row.slug))


def subject_hash(salt: bytes, subject_id: str) -> str:
    """The salted hash of a subject identifier (HMAC-SHA-256 keyed by the agency's salt).

    Enough to find a citizen's credentials again for revocation, useless to
    anyone without the salt (which is sealed under the KEK).
    """
    return hmac.new(salt, subject_id.strip().encode("utf-8"), hashlib.sha256).hexdigest()


def create_agency(
    ctx: IssuerContext, *, slug: str, name: str, type_ids: Sequence[str]
) -> dict[str, Any]:
    """Create the agency's DID on the ledger, store its sealed keys, and give it a client.

    Returns the DID, the client id and the client secret (shown once, stored hashed).
    Accreditation is the root authority's act, not the agency's: it is done on
    the registry (`govid registry accredit --issuer DID --vct ...`).
    """
    if not _SLUG.fullmatch(slug):
        raise MalformedInput("an agency slug is 2-32 lowercase letters, digits or '-'")
    for type_id in type_ids:
        credential_type(type_id)
    with ctx.read_session() as session:
        if IssuerStore(session).agency(slug) is not None:
            raise AgencyExists("an agency with this slug exists")
    keyring, operation = authoring.create_did(ledger=ctx.ledger.origin)
    result = ctx.ledger.submit(operation)
    keyring = keyring.with_head(str(result.get("operationHash", keyring.head)))
    now = ctx.now_s()
    with ctx.session() as session:
        store = IssuerStore(session)
        row = AgencyRow(
            slug=slug,
            name=name,
            did=keyring.did,
            keyring=b"",
            subject_salt=ctx.kek.seal(ctx.token_bytes(32), aad=_salt_aad(slug)),
            credential_types=json.dumps(list(type_ids)),
            created_at=now,
        )
        save_keyring(ctx, row, keyring)
        store.add(row)
        store.audit(at=now, agency=slug, actor="operator", action="agency.create", target=row.did)
        session.commit()
    client = add_client(ctx, slug=slug, scopes=type_ids)
    return {"agency": slug, "did": keyring.did, **client}


def add_client(ctx: IssuerContext, *, slug: str, scopes: Sequence[str]) -> dict[str, str]:
    """A new OAuth client of the agency, with scopes among its credential types."""
    with ctx.session() as session:
        store = IssuerStore(session)
        agency = store.agency(slug)
        if agency is None:
            raise AgencyNotFound("no such agency")
        allowed = set(agency.type_ids())
        if not set(scopes) <= allowed:
            raise MalformedInput("a client's scopes must be credential types of its agency")
        client_id = new_client_id(slug, ctx.token_bytes)
        secret = new_token(ctx.token_bytes)
        store.add(
            ClientRow(
                client_id=client_id,
                agency=slug,
                secret_hash=hash_client_secret(secret, token_bytes=ctx.token_bytes),
                scopes=" ".join(scopes),
                created_at=ctx.now_s(),
            )
        )
        store.audit(
            at=ctx.now_s(), agency=slug, actor="operator", action="client.create", target=client_id
        )
        session.commit()
    return {"client_id": client_id, "client_secret": secret}


def rotate_agency_key(ctx: IssuerContext, *, slug: str, compromised: bool = False) -> str:
    """Rotate the agency's keys through the ledger (`did.update`); returns the new key id.

    Credentials signed before stay verifiable: verifiers resolve the DID as it
    was at issuance (unless `compromised`). Status lists are re-signed and
    republished with the new key at the next publication.
    """
    with ctx.session() as session:
        store = IssuerStore(session)
        row = store.lock_agency(slug)
        if row is None:
            raise AgencyNotFound("no such agency")
        keys = open_agency(ctx, row)
        new, operation = authoring.rotate(keys.keyring, compromised=compromised)
        ctx.ledger.submit(operation)
        save_keyring(ctx, row, new)
        for status_list in store.status_lists(slug):
            status_list.dirty = True
            store.add(status_list)
        store.add(row)
        store.audit(
            at=ctx.now_s(),
            agency=slug,
            actor="operator",
            action="key.rotate",
            target=new.signing_kid,
        )
        session.commit()
    # The replaced private key was in the old sealed keyring: out of the WAL too.
    checkpoint(ctx.engine)
    return new.signing_kid


def purge_retired_keys(ctx: IssuerContext) -> list[str]:
    """Re-seal every keyring still holding retired private keys; returns the agencies' slugs.

    Keyrings written before issue 13 item 12 kept every replaced signing key
    (`retiredKeys`); reading drops them, and this writes the result back once,
    at start, instead of waiting for the agency's next ledger write.
    """
    purged = []
    with ctx.session() as session:
        store = IssuerStore(session)
        for row in store.agencies():
            stored = json.loads(ctx.kek.open(row.keyring, aad=_keyring_aad(row.slug)))
            if "retiredKeys" not in stored:
                continue
            save_keyring(ctx, row, Keyring.from_json(stored))
            store.add(row)
            store.audit(
                at=ctx.now_s(), agency=row.slug, actor="operator",
                action="key.purge_retired", target=None,
            )  # fmt: skip
            purged.append(row.slug)
        session.commit()
    if purged:
        checkpoint(ctx.engine)
    return purged
