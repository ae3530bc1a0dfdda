"""Dependencies the routers share: the context, and the authenticated agency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from issuer.context import IssuerContext
from issuer.exchange import authenticate_agency
from issuer.offers import AgencyPrincipal

__all__ = ["Ctx", "Principal", "get_context", "get_principal"]


def get_context(request: Request) -> IssuerContext:
    ctx: IssuerContext = request.app.state.ctx
    return ctx


Ctx = Annotated[IssuerContext, Depends(get_context)]


def get_principal(
    ctx: Ctx, authorization: Annotated[str | None, Header()] = None
) -> AgencyPrincipal:
    return authenticate_agency(ctx, authorization)


Principal = Annotated[AgencyPrincipal, Depends(get_principal)]
