"""The verifier's routes: parse, call one `VerifierContext` function, shape the answer."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Header, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from service.oauth import (
    CLIENT_CREDENTIALS_GRANT,
    UnsupportedGrantType,
    bearer_token,
    parse_client_credentials,
)
from verifier.owners import client_owner
from verifier.service import OFFLINE, VerifierContext

router = APIRouter()
MAX_BODY_BYTES = 256 * 1024


def get_context(request: Request) -> VerifierContext:
    ctx: VerifierContext = request.app.state.context
    return ctx


ContextDep = Annotated[VerifierContext, Depends(get_context)]


def get_client(ctx: ContextDep, authorization: Annotated[str | None, Header()] = None) -> str:
    """The authenticated counter or system (OAuth 2.0 bearer token, RFC 6750), as the
    owner of the sessions it creates (`verifier.owners`)."""
    return client_owner(ctx.authenticate(bearer_token(authorization)))


ClientDep = Annotated[str, Depends(get_client)]


# --- OAuth 2.0 -----------------------------------------------------------------------------


@router.get("/.well-known/oauth-authorization-server", tags=["oauth"])
def authorization_server_metadata(ctx: ContextDep) -> dict[str, Any]:
    """RFC 8414 metadata naming the token endpoint for client credentials."""
    return {
        "issuer": ctx.public_url,
        "token_endpoint": f"{ctx.public_url}/oauth/token",
        "grant_types_supported": [CLIENT_CREDENTIALS_GRANT],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": [],
    }


@router.post("/oauth/token", tags=["oauth"])
async def token(
    ctx: ContextDep,
    grant_type: Annotated[str, Form()],
    client_id: Annotated[str | None, Form()] = None,
    client_secret: Annotated[str | None, Form()] = None,
    authorization: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    """RFC 6749 §4.4 client credentials grant."""
    if grant_type != CLIENT_CREDENTIALS_GRANT:
        raise UnsupportedGrantType("use client_credentials")
    credentials = parse_client_credentials(
        authorization=authorization,
        form={"client_id": client_id, "client_secret": client_secret},
    )
    answer = await asyncio.to_thread(ctx.issue_token, credentials)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


# --- verification API -------------------------------------------------------------------------


class VerifyIn(BaseModel):
    presentation: str = Field(max_length=1 << 20)
    aud: str = Field(max_length=2048)
    nonce: str = Field(max_length=256)
    template: str | None = Field(default=None, max_length=64)
    dcql_query: dict[str, Any] | None = None
    credential_query_id: str | None = Field(default=None, max_length=64)


@router.post("/api/verify", tags=["verification"])
async def verify(body: VerifyIn, ctx: ContextDep, _client: ClientDep) -> dict[str, Any]:
    """Verify one presentation; the report names every check (a refusal is a 200)."""
    return await asyncio.to_thread(
        ctx.verify,
        presentation=body.presentation,
        aud=body.aud,
        nonce=body.nonce,
        template=body.template,
        dcql_query=body.dcql_query,
        credential_query_id=body.credential_query_id,
    )


class RequestIn(BaseModel):
    template: str | None = Field(default=None, max_length=64)
    dcql_query: dict[str, Any] | None = None


@router.post("/api/presentation-requests", status_code=201, tags=["openid4vp"])
async def create_request(body: RequestIn, ctx: ContextDep, client: ClientDep) -> dict[str, Any]:
    """Create an OpenID4VP request from a template or a DCQL query."""
    return await asyncio.to_thread(
        ctx.create_request, template=body.template, dcql_query=body.dcql_query, owner=client
    )


@router.post("/api/offline-challenges", status_code=201, tags=["offline"])
async def create_challenge(body: RequestIn, ctx: ContextDep, client: ClientDep) -> dict[str, Any]:
    """A challenge (`aud`, `nonce`) for a presentation the wallet will show as a QR."""
    return await asyncio.to_thread(
        ctx.create_request,
        template=body.template,
        dcql_query=body.dcql_query,
        owner=client,
        kind=OFFLINE,
    )


class OfflineIn(BaseModel):
    qr_text: str = Field(max_length=8192)


@router.post("/api/offline-challenges/{session_id}/presentation", tags=["offline"])
async def offline_presentation(
    session_id: str, body: OfflineIn, ctx: ContextDep, client: ClientDep
) -> dict[str, Any]:
    """Verify the wallet's QR against the caller's own offline challenge."""
    return await asyncio.to_thread(
        ctx.verify_offline, session_id=session_id, qr_text=body.qr_text, owner=client
    )


@router.get("/api/presentation-requests/{session_id}", tags=["openid4vp"])
async def read_request(session_id: str, ctx: ContextDep, client: ClientDep) -> dict[str, Any]:
    """`status` (pending, verifying, accepted, refused, expired) and the report."""
    return await asyncio.to_thread(ctx.read_request, session_id, owner=client)


# --- the wallet-facing endpoints (OpenID4VP) ----------------------------------------------------


@router.get("/openid4vp/request/{handle}", tags=["openid4vp"])
async def request_object(handle: str, ctx: ContextDep) -> Response:
    """The signed request object, by a one-time reference (RFC 9101 §5.2): fetched once."""
    jwt = await asyncio.to_thread(ctx.request_object, handle)
    return Response(
        jwt, media_type="application/oauth-authz-req+jwt", headers={"Cache-Control": "no-store"}
    )


@router.post("/openid4vp/response", tags=["openid4vp"])
async def direct_post(
    ctx: ContextDep,
    state: Annotated[str | None, Form(max_length=256)] = None,
    vp_token: Annotated[str | None, Form(max_length=1 << 20)] = None,
    error: Annotated[str | None, Form(max_length=256)] = None,
) -> JSONResponse:
    """The Response URI of `response_mode=direct_post` (OpenID4VP §8.2)."""
    if error is not None and vp_token is None:  # §8.5: the wallet declined
        answer = await asyncio.to_thread(ctx.handle_decline, state=state, error=error)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})
    answer = await asyncio.to_thread(ctx.handle_response, state=state, vp_token=vp_token)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})
