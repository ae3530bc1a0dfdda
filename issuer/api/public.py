"""Public documents: issuer and AS metadata, type metadata, schemas, offers, status lists."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse

from issuer.api.deps import Ctx
from issuer.credential_types import (
    configuration_metadata,
    credential_type,
    credential_types,
    type_metadata,
    vct_for,
)
from issuer.errors import AgencyNotFound, CredentialTypeUnknown, StatusListNotFound
from issuer.offers import offer_document
from issuer.openid4vci import PROOF_ALGS, authorization_server_metadata, issuer_metadata
from issuer.status_lists import status_list_token
from issuer.store import IssuerStore

router = APIRouter(tags=["public"])

_SIGNING_ALGS = ["EdDSA", "ES256"]
_MAX_LIST_ID = 2**31 - 1  # an SQL INTEGER: a larger id names no list


@router.get("/.well-known/openid-credential-issuer")
def default_issuer_metadata(ctx: Ctx) -> dict[str, Any]:
    """OpenID4VCI §12.2.2 for the default agency, whose identifier has no path."""
    if ctx.settings.default_agency is None:
        raise AgencyNotFound("this issuer serves several agencies: use /agencies/{slug}")
    return credential_issuer_metadata(ctx.settings.default_agency, ctx)


@router.get("/.well-known/openid-credential-issuer/agencies/{slug}")
def credential_issuer_metadata(slug: str, ctx: Ctx) -> dict[str, Any]:
    """OpenID4VCI §12.2.2: the well-known path inserted before the issuer identifier's path."""
    with ctx.read_session() as session:
        agency = IssuerStore(session).agency(slug)
    if agency is None:
        raise AgencyNotFound("no such agency")
    configurations = {
        t: configuration_metadata(
            credential_type(t),
            vct=vct_for(credential_type(t), ctx.settings.vct_root),
            signing_algs=_SIGNING_ALGS,
            proof_algs=PROOF_ALGS,
        )
        for t in agency.type_ids()
    }
    return issuer_metadata(
        credential_issuer=ctx.issuer_id(slug),
        authorization_server=ctx.base,
        issuer_did=agency.did,
        display_name=agency.name,
        configurations=configurations,
        batch_size=ctx.settings.batch_size,
    )


@router.get("/")
def home(ctx: Ctx) -> dict[str, Any]:
    """What this issuer is, and where its documents are."""
    with ctx.read_session() as session:
        agencies = [a.slug for a in IssuerStore(session).agencies()]
    default = ctx.settings.default_agency
    return {
        "service": "govid issuer",
        "agencies": agencies,
        "credential_issuers": {slug: ctx.issuer_id(slug) for slug in agencies},
        "links": {
            "metadata": "/.well-known/openid-credential-issuer"
            + ("" if default else "/agencies/{slug}"),
            "agency_page": "/agency",
            "docs": "/docs",
        },
    }


@router.get("/.well-known/oauth-authorization-server")
def oauth_metadata(ctx: Ctx) -> dict[str, Any]:
    return authorization_server_metadata(issuer=ctx.base)


@router.get("/vct/{name}")
def vct_metadata(name: str, ctx: Ctx) -> dict[str, Any]:
    """SD-JWT VC Type Metadata, served at the `vct` URL itself (§6.3.1)."""
    for ctype in credential_types().values():
        if ctype.vct_name == name:
            return type_metadata(ctype, vct=vct_for(ctype, ctx.settings.vct_root))
    raise CredentialTypeUnknown("no credential type has this vct")


@router.get("/schemas/{configuration_id}.json")
def schema(configuration_id: str) -> JSONResponse:
    ctype = credential_type(configuration_id)
    return JSONResponse(dict(ctype.schema), media_type="application/schema+json")


@router.get("/credential-offers/{offer_id}")
def credential_offer(offer_id: str, ctx: Ctx) -> JSONResponse:
    return JSONResponse(offer_document(ctx, offer_id), headers={"Cache-Control": "no-store"})


@router.get("/status/{slug}/{list_id}")
def status_list(
    slug: str, list_id: Annotated[int, Path(ge=0, le=_MAX_LIST_ID)], ctx: Ctx
) -> Response:
    """The latest Status List Token of a list (Token Status List §8.1)."""
    token = status_list_token(ctx, slug, list_id)
    if token is None:
        raise StatusListNotFound("no such status list")
    return Response(token, media_type="application/statuslist+jwt")


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
