"""Offers and credentials as an agency sees them: create an offer, list, change status.

Every action writes one audit row (who: the OAuth client; what; which id;
never a claim value) in the same transaction as the change it records.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import qrcode

from did.errors import MalformedInput
from issuer.agencies import open_agency, subject_hash
from issuer.context import IssuerContext
from issuer.credential_types import credential_type, validate_claims, vct_for
from issuer.errors import (
    AgencyNotFound,
    CredentialNotFound,
    OfferNotFound,
)
from issuer.oauth import hash_token, new_token, new_tx_code
from issuer.openid4vci import credential_offer
from issuer.status import STATUS_NAMES, next_status
from issuer.store import CredentialRow, IssuerStore, OfferRow, StatusListRow
from openid4vc.issuance import offer_link
from service.oauth import InsufficientScope

__all__ = [
    "AgencyPrincipal",
    "change_status",
    "create_offer",
    "credential_view",
    "find_credentials",
    "offer_qr",
    "open_offer_claims",
    "offer_document",
    "qr_png",
]


@dataclass(frozen=True, slots=True)
class AgencyPrincipal:
    """An authenticated agency system: its agency, OAuth client and granted scopes."""

    agency: str
    client_id: str
    scopes: frozenset[str]

    def require_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            raise InsufficientScope("the access token lacks the scope for this credential type")


def qr_png(text: str) -> bytes:
    """A QR code of `text` as PNG (error correction M, as wallets scan screens and paper)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(text)
    code.make(fit=True)
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def _code_aad(offer_id: str) -> bytes:
    return f"offer-code:{offer_id}".encode()


def _claims_aad(offer_id: str) -> bytes:
    return f"offer-claims:{offer_id}".encode()


def open_offer_claims(ctx: IssuerContext, offer: OfferRow) -> dict[str, Any]:
    if offer.claims is None:
        raise OfferNotFound("the offer's claims are gone (redeemed or expired)")
    claims: dict[str, Any] = json.loads(ctx.kek.open(offer.claims, aad=_claims_aad(offer.id)))
    return claims


def create_offer(
    ctx: IssuerContext,
    principal: AgencyPrincipal,
    *,
    configuration_id: str,
    claims: Mapping[str, Any],
    ttl: int | None = None,
    import_key: str | None = None,
) -> dict[str, Any]:
    """Validate the claims, check scope and ledger accreditation, and store a new offer.

    Returns `id`, `credential_offer_uri` (the https URL of the offer), `offer_uri`
    (the `openid-credential-offer://` link the QR carries), `tx_code` (to send
    to the citizen out of band; stored only as a keyed hash), `expires_at`.
    With `import_key`, an offer already made for that key is returned instead
    (`tx_code` renewed, as only its hash was kept): batch imports resume
    without issuing twice.
    """
    ctype = credential_type(configuration_id)
    principal.require_scope(configuration_id)
    validate_claims(ctype, claims)
    now = ctx.now_s()
    with ctx.read_session() as session:
        agency_row = IssuerStore(session).agency(principal.agency)
    if agency_row is None:
        raise AgencyNotFound("no such agency")
    keys = open_agency(ctx, agency_row)
    # The ledger decides who may issue what (issue 4 item 1): 403 otherwise. Asked
    # outside the write transaction, which must not wait on the network.
    ctx.accreditations.require(keys.did, vct_for(ctype, ctx.settings.vct_root), now=ctx.clock())
    with ctx.session() as session:
        store = IssuerStore(session)
        tx_code = new_tx_code(ctx.settings.tx_code_length, ctx.token_bytes)
        if import_key is not None and (existing := store.offer_by_import_key(import_key)):
            if existing.agency != principal.agency:
                return {"id": existing.id, "state": existing.state}
            renewed = ctx.kek.mac(f"{existing.id}:{tx_code}".encode())
            if not store.renew_tx_code(existing.id, renewed):  # only while still pending
                return {"id": existing.id, "state": existing.state}
            store.audit(
                at=now, agency=principal.agency, actor=principal.client_id,
                action="offer.tx_code_renew", target=existing.id,
            )  # fmt: skip
            session.commit()
            return _offer_reply(ctx, existing, tx_code)
        offer_id = new_token(ctx.token_bytes)[:22]
        code = new_token(ctx.token_bytes)
        subject = str(claims.get(ctype.subject_id_claim, ""))
        offer = OfferRow(
            id=offer_id,
            agency=principal.agency,
            configuration_id=configuration_id,
            claims=ctx.kek.seal(
                json.dumps(dict(claims), ensure_ascii=False).encode(), aad=_claims_aad(offer_id)
            ),
            code_hash=hash_token(code),
            code_sealed=ctx.kek.seal(code.encode(), aad=_code_aad(offer_id)),
            tx_code_hash=ctx.kek.mac(f"{offer_id}:{tx_code}".encode()),
            subject_hash=subject_hash(keys.subject_salt, subject),
            created_at=now,
            expires_at=now + (ttl or ctx.settings.offer_ttl),
            import_key=import_key,
        )
        store.add(offer)
        store.audit(
            at=now, agency=principal.agency, actor=principal.client_id,
            action="offer.create", target=offer_id,
        )  # fmt: skip
        session.commit()
    return _offer_reply(ctx, offer, tx_code)


def _offer_reply(ctx: IssuerContext, offer: OfferRow, tx_code: str) -> dict[str, Any]:
    uri = f"{ctx.base}/credential-offers/{offer.id}"
    return {
        "id": offer.id,
        "credential_configuration_id": offer.configuration_id,
        "credential_offer_uri": uri,
        "offer_uri": offer_link(uri),
        "tx_code": tx_code,
        "expires_at": offer.expires_at,
        "state": offer.state,
    }


def offer_qr(ctx: IssuerContext, principal: AgencyPrincipal, offer_id: str) -> bytes:
    with ctx.read_session() as session:
        offer = IssuerStore(session).offer(offer_id)
    if offer is None or offer.agency != principal.agency:
        raise OfferNotFound("no such offer")
    return qr_png(offer_link(f"{ctx.base}/credential-offers/{offer.id}"))


def offer_document(ctx: IssuerContext, offer_id: str) -> dict[str, Any]:
    """The Credential Offer object served at `credential_offer_uri` (§4.1.3), while pending."""
    with ctx.read_session() as session:
        offer = IssuerStore(session).offer(offer_id)
    if offer is None or offer.state != "pending" or offer.expires_at <= ctx.now_s():
        raise OfferNotFound("no pending offer at this address")
    code = ctx.kek.open(offer.code_sealed, aad=_code_aad(offer.id)).decode()
    return credential_offer(
        credential_issuer=ctx.issuer_id(offer.agency),
        configuration_id=offer.configuration_id,
        pre_authorized_code=code,
        tx_code_length=ctx.settings.tx_code_length,
    )


def credential_view(
    ctx: IssuerContext, row: CredentialRow, lists: Mapping[int, StatusListRow]
) -> dict[str, Any]:
    status_list = lists.get(row.list_id)
    return {
        "id": row.id,
        "offer": row.offer_id,
        "batch": row.batch_id,
        "credential_configuration_id": row.configuration_id,
        "status": STATUS_NAMES.get(row.status, "unknown"),  # type: ignore[call-overload]
        "status_list": {"idx": row.idx, "uri": status_list.uri if status_list else None},
        "issued_at": row.issued_at,
        "expires_at": row.expires_at,
    }


def find_credentials(
    ctx: IssuerContext,
    principal: AgencyPrincipal,
    *,
    offer_id: str | None = None,
    subject_id: str | None = None,
) -> list[dict[str, Any]]:
    """The agency's credentials issued from an offer, or for a subject identifier."""
    if offer_id is None and subject_id is None:
        raise MalformedInput("name an offer or a subject")
    with ctx.session() as session:
        store = IssuerStore(session)
        hashed = None
        if subject_id is not None:
            agency_row = store.agency(principal.agency)
            if agency_row is None:
                raise AgencyNotFound("no such agency")
            hashed = subject_hash(open_agency(ctx, agency_row).subject_salt, subject_id)
        rows = store.credentials(principal.agency, offer_id=offer_id, subject_hash=hashed)
        lists = {sl.id: sl for sl in store.status_lists(principal.agency) if sl.id is not None}
        store.audit(
            at=ctx.now_s(), agency=principal.agency, actor=principal.client_id,
            action="credential.search", target=offer_id,
        )  # fmt: skip
        session.commit()
    return [credential_view(ctx, r, lists) for r in rows]


def change_status(
    ctx: IssuerContext, principal: AgencyPrincipal, credential_id: str, action: str
) -> dict[str, Any]:
    """Revoke, suspend or reinstate a credential and every copy of its batch.

    The lists holding them are marked for the next batched publication.
    """
    with ctx.session() as session:
        store = IssuerStore(session)
        row = store.credential(credential_id)
        if row is None or row.agency != principal.agency:
            raise CredentialNotFound("no such credential")
        principal.require_scope(row.configuration_id)
        batch = store.batch(principal.agency, row.batch_id)
        list_ids = sorted({c.list_id for c in batch})
        # Lock the lists first: a publisher reading them waits for this change.
        lists = {i: store.status_list_for_update(i) for i in list_ids}
        for copy in batch:
            copy.status = next_status(copy.status, action)
            store.add(copy)
        for status_list in lists.values():
            if status_list is not None:
                status_list.dirty = True
                store.add(status_list)
        store.audit(
            at=ctx.now_s(), agency=principal.agency, actor=principal.client_id,
            action=f"credential.{action}", target=row.batch_id,
        )  # fmt: skip
        session.commit()
        views = {i: sl for i, sl in lists.items() if sl is not None}
        return {
            "id": credential_id,
            "status": STATUS_NAMES.get(row.status, "unknown"),  # type: ignore[call-overload]
            "batch": row.batch_id,
            "credentials": [credential_view(ctx, c, views) for c in batch],
        }
