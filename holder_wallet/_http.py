"""Reading the answers of issuers and verifiers: protocol errors, JSON objects.

Sending is `service.fetch.Fetcher`'s (scheme, address, size and time rules);
this module only interprets what came back.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from holder_wallet.errors import RemoteRefused


def remote_error(response: httpx.Response, *, who: str) -> RemoteRefused:
    """A protocol error answer (OAuth `error`, `error_description`) as a wallet error."""
    code: str | None = None
    try:
        body = json.loads(response.content)
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            code = body["error"][:64]
    except ValueError:
        pass
    detail = f" ({code})" if code else f" (HTTP {response.status_code})"
    return RemoteRefused(f"the {who} refused the request{detail}", remote_error=code)


def json_object(response: httpx.Response, *, who: str, error: type[Exception]) -> dict[str, Any]:
    """The JSON object of a 2xx answer; a protocol error answer raises `RemoteRefused`."""
    if not 200 <= response.status_code < 300:
        raise remote_error(response, who=who)
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise error(f"the {who} did not answer with JSON") from exc
    if not isinstance(body, dict):
        raise error(f"the {who} did not answer with a JSON object")
    return body
