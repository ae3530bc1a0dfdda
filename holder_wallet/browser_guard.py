"""Which browser requests the wallet web app answers (issue 13 item 8). Pure: headers in.

The wallet listens on the device's loopback, where any web page the citizen
opens can reach it: by DNS rebinding (a name of the attacker's that now
resolves to 127.0.0.1, so the browser treats the wallet as the attacker's
origin) or by plain cross-site requests (forms, `fetch`). `check_request`
lets a request through only when

  1. its `Host` is the wallet's own: a loopback name (`127.0.0.1`,
     `localhost`, `[::1]`) with the port the request arrived on, or a host
     of an origin the settings list (`GOVID_WALLET_ORIGINS`, for a port
     mapping such as compose's); anything else is `wallet.host_refused`;
  2. its `Origin`, when present, is one of those origins; `null` and every
     other origin are `wallet.origin_refused`;
  3. a state-changing request (anything but GET, HEAD, OPTIONS) proves it
     comes from the wallet's own pages: an allowed `Origin`, or, when a
     browser left `Origin` out, `Sec-Fetch-Site: same-origin` (Fetch
     Metadata, W3C); a request that says neither is refused;
  4. a read from another site is a top-level navigation (a link the citizen
     followed), never an embedded or scripted load (`Sec-Fetch-Mode`
     `navigate`, `Sec-Fetch-Dest` `document`).

Non-browser clients must therefore send `Origin` on POSTs; the command line
does not use the web app.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from holder_wallet.errors import HostRefused, OriginRefused

__all__ = ["LOOPBACK_NAMES", "check_request", "host_of_origin"]

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# RFC 9110 §7.2: Host = uri-host [ ":" port ]; only the forms a loopback URL can take.
_HOST_RE = re.compile(r"(?P<name>\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?")


def host_of_origin(origin: str) -> str:
    """`host[:port]` of an `http(s)://host[:port]` origin on loopback; `ValueError` otherwise."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or parts.path or parts.query or parts.fragment:
        raise ValueError("an origin is http(s)://host[:port], nothing more")
    if parts.username or parts.password:
        raise ValueError("an origin carries no user name or password")
    match = _HOST_RE.fullmatch(parts.netloc.lower())
    if match is None or match["name"] not in LOOPBACK_NAMES:
        raise ValueError("the wallet is served on loopback only (127.0.0.1, localhost, [::1])")
    return parts.netloc.lower()


def _own_hosts(port: int | None, configured: Iterable[str]) -> set[str]:
    hosts = {host_of_origin(o) for o in configured}
    if port is not None:
        hosts.update(f"{name}:{port}" for name in LOOPBACK_NAMES)
        if port == 80:  # a browser leaves the default port out (RFC 9110 §4.2.1)
            hosts.update(LOOPBACK_NAMES)
    return hosts


def check_request(
    *,
    method: str,
    host: str | None,
    origin: str | None,
    fetch_site: str | None,
    fetch_mode: str | None,
    fetch_dest: str | None,
    port: int | None,
    configured_origins: Iterable[str] = (),
) -> None:
    """Raise `HostRefused` or `OriginRefused` unless the request may reach the wallet.

    `port` is the local port the connection arrived on (the ASGI `server`),
    `configured_origins` the origins the settings add. Steps as in the module
    docstring.
    """
    configured = list(configured_origins)
    hosts = _own_hosts(port, configured)
    if host is None or host.lower() not in hosts:  # (1)
        raise HostRefused("this wallet answers only on its own address; open it from there")
    origins = {f"http://{h}" for h in _own_hosts(port, ())} | {o.lower() for o in configured}
    if origin is not None and origin.lower() not in origins:  # (2)
        raise OriginRefused("a page of another site cannot use this wallet")
    if method.upper() not in SAFE_METHODS:  # (3)
        if origin is None and fetch_site != "same-origin":
            raise OriginRefused("this form did not come from the wallet's own page")
        if fetch_site is not None and fetch_site != "same-origin":
            raise OriginRefused("this form did not come from the wallet's own page")
        return
    if fetch_site in ("cross-site", "same-site") and (  # (4)
        fetch_mode != "navigate" or fetch_dest not in (None, "document")
    ):
        raise OriginRefused("a page of another site cannot load this wallet")
