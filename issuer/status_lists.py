"""Status lists of an agency: slot allocation at issuance, and batched publication.

Allocation takes a random free index of the agency's open list (`status.pick_index`)
inside the issuance transaction; the unique (list, index) constraint makes a
concurrent draw of the same slot fail that whole transaction, never
double-book it.

Publication is batched (issue 4 item 5): status changes only mark a list
dirty; `publish_status_lists` (run every `publish_interval` seconds by the
service, or on request) re-signs each dirty or ageing list once, serves the
new token at the list's `uri`, and appends one `status_list.publish` per list
to the ledger (method spec §5.7), however many changes it carries.

Each publication declares the credential types its list answers for, and
the ledger logs it only if the agency is accredited for every one of them
(§5.7 rule 1). An agency's lists hold all its types, so the publisher
declares those of its types the ledger still accredits it for: after one
type's accreditation is revoked, its lists stay fresh for the others.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlmodel import Session

from did.errors import GovidError
from did.keys import private_key_from_jwk
from issuer.agencies import open_agency, save_keyring
from issuer.context import IssuerContext
from issuer.credential_types import credential_type, vct_for
from issuer.status import STATUS_BITS, pick_index, sign_list
from issuer.store import AgencyRow, IssuerStore, StatusListRow
from registry import authoring

__all__ = ["allocate_slot", "publish_status_lists"]

log = logging.getLogger("govid.issuer.status")


def _sign(
    ctx: IssuerContext, agency: AgencyRow, status_list: StatusListRow, store: IssuerStore
) -> str:
    keyring = open_agency(ctx, agency).keyring
    key = private_key_from_jwk(keyring.document_keys[keyring.signing_fragment])
    assert status_list.id is not None
    return sign_list(
        size=status_list.size,
        changed=store.statuses(status_list.id),
        key=key,
        kid=keyring.signing_kid,
        uri=status_list.uri,
        iat=ctx.now_s(),
        validity=ctx.settings.status_token_validity,
        ttl=ctx.settings.status_token_ttl,
    )


def allocate_slot(ctx: IssuerContext, store: IssuerStore, agency: str) -> tuple[StatusListRow, int]:
    """A random free (list, index) of `agency`, opening a new list when the last is full enough."""
    size = ctx.settings.status_list_size
    capacity = int(size * ctx.settings.status_list_fill)
    status_list = store.open_status_list(agency, capacity=capacity)
    if status_list is None:
        agency_row = store.agency(agency)
        assert agency_row is not None
        status_list = StatusListRow(
            agency=agency, uri="", size=size, bits=STATUS_BITS, allocated=0, dirty=True
        )
        store.add(status_list)
        store.session.flush()  # assigns the id, which names the list's uri
        assert status_list.id is not None
        status_list.uri = ctx.status_uri(agency, status_list.id)
        # Served at the uri at once; on the ledger at the next publication.
        status_list.token = _sign(ctx, agency_row, status_list, store)
        status_list.token_iat = ctx.now_s()
    list_id = status_list.id
    assert list_id is not None
    idx = pick_index(size, lambda i: store.slot_taken(list_id, i), ctx.rng)
    status_list.allocated += 1
    store.add(status_list)
    return status_list, idx


def publish_status_lists(
    ctx: IssuerContext, *, agency: str | None = None, force: bool = False
) -> list[dict[str, Any]]:
    """Re-sign and publish every list that changed (or whose token is ageing, or `force`).

    One ledger operation per list, whatever the number of changes. Each list is
    committed on its own right after the ledger acknowledged it, with the
    agency row locked so the keyring's chain head stays in step with the ledger.
    """
    published: list[dict[str, Any]] = []
    with ctx.read_session() as session:
        slugs = [a.slug for a in IssuerStore(session).agencies() if agency in (None, a.slug)]
    for slug in slugs:
        with ctx.read_session() as session:
            store = IssuerStore(session)
            due = [sl for sl in store.status_lists(slug) if force or _due(ctx, sl)]
            lists = [(sl.id, sl.uri) for sl in due if sl.id is not None]
            agency_row = store.agency(slug)
        if not lists or agency_row is None:
            continue
        try:
            types = _accredited_types(ctx, agency_row)
        except GovidError as exc:
            log.warning("status lists of %s not published: %s", slug, exc.code)
            published.extend({"uri": uri, "sequence": None, "error": exc.code} for _, uri in lists)
            continue
        for list_id, uri in lists:
            if not types:
                published.append({"uri": uri, "sequence": None, "error": _NOT_ACCREDITED})
                continue
            with ctx.session() as session:
                result = _publish_one(ctx, session, slug, list_id, types)
            if result is not None:
                published.append(result)
    return published


_NOT_ACCREDITED = "ledger.accreditation_required"


def _accredited_types(ctx: IssuerContext, agency: AgencyRow) -> list[str]:
    """The agency's credential types that the ledger accredits it for now (sorted)."""
    own = {vct_for(credential_type(t), ctx.settings.vct_root) for t in agency.type_ids()}
    now = ctx.now_s()
    held = {
        vct
        for acc in ctx.ledger.accreditations(agency.did)
        # A revoked accreditation never counts again (method spec §6.4), even
        # within the second of its revocation that `now` rounds down to.
        if acc.role == "issuer" and acc.revoked_ms is None and acc.active_at(now)
        for vct in acc.credential_types
    }
    return sorted(own & held)


def _due(ctx: IssuerContext, status_list: StatusListRow) -> bool:
    if status_list.dirty or status_list.sequence == 0 or status_list.token_iat is None:
        return True
    # Republish before the token expires, so relying parties always find a fresh one.
    return ctx.now_s() - status_list.token_iat >= ctx.settings.status_token_validity // 2


def _publish_one(
    ctx: IssuerContext, session: Session, slug: str, list_id: int, types: list[str]
) -> dict[str, Any] | None:
    store = IssuerStore(session)
    agency = store.lock_agency(slug)
    status_list = store.status_list_for_update(list_id)
    if agency is None or status_list is None:
        return None
    token = _sign(ctx, agency, status_list, store)
    keyring = open_agency(ctx, agency).keyring
    sequence = status_list.sequence + 1
    new_keyring, operation = authoring.publish_status_list(
        keyring, uri=status_list.uri, sequence=sequence, token=token, credential_types=types
    )
    try:
        result = ctx.ledger.submit(operation)
    except GovidError as exc:
        # Still dirty: the next round tries again. No personal data in this line.
        code = str(getattr(exc, "remote_code", exc.code))  # the registry's own code
        log.warning("status list %s not published: %s", status_list.uri, code)
        return {"uri": status_list.uri, "sequence": None, "error": code}
    save_keyring(ctx, agency, new_keyring)
    status_list.token, status_list.token_iat = token, ctx.now_s()
    status_list.sequence, status_list.dirty = sequence, False
    store.add(agency)
    store.add(status_list)
    store.audit(
        at=ctx.now_s(), agency=slug, actor="publisher", action="status_list.publish",
        target=f"{status_list.uri}#{sequence}",
    )  # fmt: skip
    session.commit()
    return {
        "uri": status_list.uri,
        "sequence": sequence,
        "index": result.get("index"),
        "error": None,
    }


def status_list_token(ctx: IssuerContext, slug: str, list_id: int) -> str | None:
    with ctx.read_session() as session:
        status_list = IssuerStore(session).status_list(list_id)
    if status_list is None or status_list.agency != slug:
        return None
    return status_list.token
