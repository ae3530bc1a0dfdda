"""How every govid server is run: uvicorn, believing forwarded headers only from listed proxies.

uvicorn believes `X-Forwarded-For` and `X-Forwarded-Proto` from 127.0.0.1 by
default (or from `FORWARDED_ALLOW_IPS`), which lets any local process, or
any client of a proxy on the same machine, choose the address the failure
limit counts it under. govid turns that off unless the service's settings
list its proxies (`trusted_proxies`): then uvicorn takes the client address
from the rightmost entry of `X-Forwarded-For` that no listed proxy added.
Every `govid ... serve`, `govid up` and the test servers build their
configuration here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import uvicorn

__all__ = ["proxy_options", "run", "uvicorn_config"]


def proxy_options(trusted_proxies: Sequence[str]) -> dict[str, Any]:
    """uvicorn's options for `trusted_proxies` (empty: forwarded headers are ignored)."""
    proxies = list(trusted_proxies)
    # Both are always set: uvicorn's defaults would trust loopback and read the
    # FORWARDED_ALLOW_IPS variable behind the settings' back.
    return {"proxy_headers": bool(proxies), "forwarded_allow_ips": proxies}


def uvicorn_config(
    app: Any,
    *,
    host: str,
    port: int = 0,
    trusted_proxies: Sequence[str] = (),
    **options: Any,
) -> uvicorn.Config:
    """The uvicorn configuration of a govid server; `options` are uvicorn's other settings."""
    options.setdefault("log_level", "warning")
    return uvicorn.Config(app, host=host, port=port, **options, **proxy_options(trusted_proxies))


def run(
    app: Any, *, host: str, port: int, trusted_proxies: Sequence[str] = (), **options: Any
) -> None:
    """Serve `app` until interrupted (the `serve` commands); exits non-zero if it cannot start."""
    options.setdefault("log_level", "warning")
    uvicorn.run(app, host=host, port=port, **options, **proxy_options(trusted_proxies))
