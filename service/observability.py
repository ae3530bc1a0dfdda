"""Health, readiness and Prometheus metrics, shared by every govid service.

`install_observability(app, service=..., ready=...)` adds:

- `GET /healthz`: the process answers (no dependency is touched);
- `GET /readyz`: `ready()` succeeded (typically one database round trip), else 503;
- `GET /metrics`: Prometheus text format; `govid_http_requests_total` and
  `govid_http_request_seconds` by route template (never the raw path, which
  may carry identifiers), plus whatever `collect()` callbacks report.

Each app gets its own `CollectorRegistry`, so several services in one process
(`govid up`, tests) never clash. Counters for domain events are made with
`counter(app, name, help, labels)` and live in the same registry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.routing import Match

Scrape = Callable[[], Mapping[str, float]]

# One line per request (the console of `make run`): service, method, route
# template, status and time. Never the raw path or query (they carry offer
# ids, DIDs of citizens' holder keys, codes) nor the client address.
access_log = logging.getLogger("govid.access")


def _registry(app: FastAPI) -> CollectorRegistry:
    registry: CollectorRegistry | None = getattr(app.state, "metrics", None)
    if registry is None:
        registry = CollectorRegistry()
        app.state.metrics = registry
    return registry


def counter(app: FastAPI, name: str, documentation: str, labels: Iterable[str] = ()) -> Counter:
    """A counter in the app's own registry (`name` without the `govid_` prefix)."""
    return Counter(f"govid_{name}", documentation, list(labels), registry=_registry(app))


def _route_of(app: FastAPI, request: Request) -> str:
    """The matched route's template (`/1.0/identifiers/{did}`), never the raw path."""
    path = getattr(request.scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    for route in app.router.routes:
        template = getattr(route, "path", None)
        if isinstance(template, str) and route.matches(request.scope)[0] == Match.FULL:
            return template
    return "unmatched"


def install_observability(
    app: FastAPI,
    *,
    service: str,
    ready: Callable[[], None] | None = None,
    gauges: Scrape | None = None,
) -> None:
    """Add /healthz, /readyz, /metrics and the request metrics to `app`."""
    registry = _registry(app)
    requests = Counter(
        "govid_http_requests_total",
        "HTTP requests answered, by route template and status.",
        ["service", "method", "route", "status"],
        registry=registry,
    )
    latency = Histogram(
        "govid_http_request_seconds",
        "Time to answer an HTTP request, by route template.",
        ["service", "route"],
        registry=registry,
    )
    scraped: dict[str, Gauge] = {}

    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = _route_of(app, request)
        requests.labels(service, request.method, route, str(response.status_code)).inc()
        elapsed = time.perf_counter() - started
        latency.labels(service, route).observe(elapsed)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %s %d %.1f ms",
                service,
                request.method,
                route,
                response.status_code,
                elapsed * 1000,
            )
        return response

    existing = {getattr(r, "path", None) for r in app.router.routes}

    if "/healthz" not in existing:

        @app.get("/healthz", include_in_schema=False)
        async def healthz() -> dict[str, str]:
            return {"status": "ok", "service": service}

    if "/readyz" not in existing:

        @app.get("/readyz", include_in_schema=False, response_model=None)
        async def readyz() -> JSONResponse:
            if ready is not None:
                try:
                    await run_in_threadpool(ready)
                except Exception:
                    body = {"status": "unavailable", "service": service}
                    return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
            return JSONResponse({"status": "ready", "service": service})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        if gauges is not None:
            values = await run_in_threadpool(gauges)
            for name, value in values.items():
                gauge = scraped.get(name)
                if gauge is None:
                    gauge = Gauge(f"govid_{name}", name.replace("_", " "), registry=registry)
                    scraped[name] = gauge
                gauge.set(value)
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
