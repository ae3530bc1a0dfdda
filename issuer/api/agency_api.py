"""The agency API (OAuth 2.0 client credentials): offers, credentials, status, audit."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from issuer.api.deps import Ctx, Principal
from issuer.offers import change_status, create_offer, find_credentials, offer_qr, qr_png
from issuer.status_lists import publish_status_lists
from issuer.store import IssuerStore

router = APIRouter(prefix="/api", tags=["agency"])


class OfferIn(BaseModel):
    credential_configuration_id: str = Field(max_length=64)
    claims: dict[str, Any]
    expires_in: int | None = Field(default=None, ge=60, le=30 * 86400)


class OfferOut(BaseModel):
    id: str
    credential_configuration_id: str
    credential_offer_uri: str
    offer_uri: str
    tx_code: str
    expires_at: int
    qr_png: str  # base64 of the PNG; also at GET /api/offers/{id}/qr.png while pending


@router.post("/offers", status_code=201)
def post_offer(body: OfferIn, ctx: Ctx, principal: Principal) -> OfferOut:
    offer = create_offer(
        ctx,
        principal,
        configuration_id=body.credential_configuration_id,
        claims=body.claims,
        ttl=body.expires_in,
    )
    png = base64.b64encode(qr_png(offer["offer_uri"])).decode("ascii")
    return OfferOut(**{k: v for k, v in offer.items() if k in OfferOut.model_fields}, qr_png=png)


@router.get("/offers/{offer_id}/qr.png")
def get_offer_qr(offer_id: str, ctx: Ctx, principal: Principal) -> Response:
    return Response(offer_qr(ctx, principal, offer_id), media_type="image/png")


@router.get("/credentials")
def get_credentials(
    ctx: Ctx,
    principal: Principal,
    offer: Annotated[str | None, Query(max_length=64)] = None,
    subject: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    found = find_credentials(ctx, principal, offer_id=offer, subject_id=subject)
    return {"credentials": found}


@router.post("/credentials/{credential_id}/{action}")
def post_status(
    credential_id: str,
    action: Literal["revoke", "suspend", "reinstate"],
    ctx: Ctx,
    principal: Principal,
) -> dict[str, Any]:
    return change_status(ctx, principal, credential_id, action)


@router.post("/status-lists/publish")
def post_publish(ctx: Ctx, principal: Principal) -> dict[str, Any]:
    """Publish the agency's changed status lists now instead of at the next round."""
    return {"published": publish_status_lists(ctx, agency=principal.agency)}


@router.get("/audit")
def get_audit(ctx: Ctx, principal: Principal) -> dict[str, Any]:
    with ctx.read_session() as session:
        rows = IssuerStore(session).audit_log(principal.agency)
    return {"events": [r.model_dump() for r in rows]}
