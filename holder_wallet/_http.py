"""HTTP for the wallet's protocol clients: URL policy, bounded bodies, protocol errors."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from did.errors import ResolutionUnavailable
from holder_wallet.errors import RemoteRefused

MAX_BODY: Final = 1 << 20
_LOOPBACK_NAMES: Final = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: object, *, allow_loopback_http: bool, error: type[Exception], what: str) -> str:
    """`url` if it is https (or http to a loopback host, when allowed); else raise `error`.

    OpenID4VCI §12.2.2/§12.2.4 and OpenID4VP §5.10 require TLS for every endpoint.
    """
    if not isinstance(url, str) or len(url) > 2048:
        raise error(f"the {what} is not a URL")
    parts = urlsplit(url)
    if parts.fragment or not parts.hostname:
        raise error(f"the {what} is not an absolute URL")
    if parts.scheme == "https":
        return url
    if parts.scheme == "http" and allow_loopback_http and is_loopback(parts.hostname):
        return url
    raise error(f"the {what} does not use https")


def _body(response: httpx.Response) -> bytes:
    if len(response.content) > MAX_BODY:
        raise ResolutionUnavailable("the server's answer is too large")
    return response.content


def remote_error(response: httpx.Response, *, who: str) -> RemoteRefused:
    """A protocol error answer (OAuth `error`, `error_description`) as a wallet error."""
    code: str | None = None
    try:
        body = json.loads(_body(response))
        if isinstance(body, dict) and isinstance(body.get("error"), str):
            code = body["error"][:64]
    except ValueError:
        pass
    detail = f" ({code})" if code else f" (HTTP {response.status_code})"
    return RemoteRefused(f"the {who} refused the request{detail}", remote_error=code)


def request(
    client: httpx.Client,
    method: str,
    url: str,
    *,
    who: str,
    headers: Mapping[str, str] | None = None,
    data: Mapping[str, str] | None = None,
    json_body: Any = None,
) -> httpx.Response:
    try:
        response = client.request(
            method, url, headers=dict(headers or {}), data=data, json=json_body
        )
    except httpx.HTTPError as exc:
        raise ResolutionUnavailable(f"the {who} could not be reached") from exc
    _body(response)
    return response


def json_object(response: httpx.Response, *, who: str, error: type[Exception]) -> dict[str, Any]:
    """The JSON object of a 2xx answer; a protocol error answer raises `RemoteRefused`."""
    if not 200 <= response.status_code < 300:
        raise remote_error(response, who=who)
    try:
        body = json.loads(_body(response))
    except ValueError as exc:
        raise error(f"the {who} did not answer with JSON") from exc
    if not isinstance(body, dict):
        raise error(f"the {who} did not answer with a JSON object")
    return body
