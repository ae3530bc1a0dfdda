"""The service-counter page: server-rendered (jinja2), no JavaScript framework.

GET /            choose a template
POST /counter    create a presentation request, redirect to its page
GET /counter/{id} the QR while pending (the page refreshes itself), then the
                 result in large plain words with the disclosed claims
"""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Annotated, Any

import qrcode
import qrcode.constants
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from verifier.api.routes import ContextDep
from verifier.templates import TEMPLATES

router = APIRouter(include_in_schema=False)
_templates = Jinja2Templates(
    directory=str(Path(__file__).resolve().parent.parent / "templates_html")
)


def qr_png_data_uri(text: str) -> str:
    """A PNG QR code of `text` as a data: URI (medium error correction, for tablets)."""
    image = qrcode.make(
        text, error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return _templates.TemplateResponse(
        request, "home.html", {"templates": list(TEMPLATES.values())}
    )


@router.post("/counter")
async def start(ctx: ContextDep, template: Annotated[str, Form(max_length=64)]) -> RedirectResponse:
    created = await asyncio.to_thread(
        ctx.create_request, template=template, dcql_query=None, owner=None
    )
    return RedirectResponse(f"/counter/{created['id']}", status_code=303)


@router.get("/counter/{session_id}", response_class=HTMLResponse)
async def show(session_id: str, request: Request, ctx: ContextDep) -> HTMLResponse:
    view: dict[str, Any] = await asyncio.to_thread(ctx.read_request, session_id, owner=None)
    context: dict[str, Any] = {"view": view}
    if view["status"] == "pending":
        context["qr"] = qr_png_data_uri(view["authorization_request"])
    return _templates.TemplateResponse(request, "counter.html", context)
