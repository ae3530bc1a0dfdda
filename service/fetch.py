"""The one bounded outgoing HTTP fetch: every request govid sends goes through here.

A `Fetcher` applies four rules to each request and each redirect hop:

1. **Scheme**: `https`, and `http` only where the policy allows it (a
   deployment's own registry or witnesses on a private network; loopback
   hosts of the development stack). OpenID4VCI 1.0 §12.2.2/§12.2.4 and
   OpenID4VP 1.0 §5.10 require TLS for every endpoint a wallet reaches.
2. **Address**: for URLs that came from someone else (an offer, a request
   object, a DID), the host is resolved and every address must be a public
   unicast one: loopback, private (RFC 1918, RFC 4193), link-local, CGNAT,
   multicast, reserved, unspecified and IPv4-mapped forms of those are
   refused. The check runs in the connection itself (`GuardedBackend`), on
   the addresses it then connects to, so DNS rebinding between check and
   connect cannot switch the target. Proxies from the environment are not
   used for such requests (a proxy would connect on our behalf, unchecked).
3. **Size**: the body is read as a stream and the fetch stops as soon as it
   passes `max_bytes`; a declared `Content-Length` above it is refused
   before reading.
4. **Time**: the whole fetch, redirects included, has one budget. httpx
   timeouts bound each network wait (set to what is left of the budget); a
   peer dripping a byte at a time is stopped by the budget check after each
   chunk.

Redirects are followed only when the call allows some, only to the same
origin (scheme, host, port), and each hop is checked again.

Failures raise the `fetch.*` leaves below; callers whose contract names
another code (did:web's `did.resolution_unavailable`) wrap them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import httpcore
import httpx

from did.errors import Forbidden, GovidError, MalformedInput, Unavailable

__all__ = [
    "DEFAULT_BUDGET_SECONDS",
    "DEFAULT_MAX_BYTES",
    "AddressRefused",
    "AsyncFetcher",
    "FetchPolicy",
    "FetchTimedOut",
    "Fetcher",
    "GuardedBackend",
    "RedirectRefused",
    "ResponseTooLarge",
    "URLRefused",
    "Unreachable",
    "check_address",
    "check_url",
    "guarded_client",
    "is_loopback_host",
]

DEFAULT_MAX_BYTES: Final = 1 << 20
DEFAULT_BUDGET_SECONDS: Final = 10.0
MAX_URL_LENGTH: Final = 2048
_LOOPBACK_NAMES: Final = frozenset({"localhost", "localhost."})
# The body is decoded already when a `Response` is rebuilt from it: drop what
# described it on the wire.
_WIRE_HEADERS: Final = frozenset({"content-encoding", "content-length", "transfer-encoding"})


# --- errors -------------------------------------------------------------------------------


class URLRefused(MalformedInput):
    """The URL is not absolute, too long, or uses a scheme the policy does not allow."""

    code = "fetch.url_refused"


class AddressRefused(Forbidden):
    """The host is, or resolves to, an address the policy does not allow (SSRF defence)."""

    code = "fetch.address_refused"


class RedirectRefused(Unavailable):
    """A redirect left the origin, pointed nowhere, or there were too many."""

    code = "fetch.redirect_refused"


class ResponseTooLarge(Unavailable):
    code = "fetch.too_large"


class FetchTimedOut(Unavailable):
    code = "fetch.timeout"


class Unreachable(Unavailable):
    code = "fetch.unreachable"


# --- the policy ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """What one kind of outgoing request may reach and how much it may take.

    Build one with `untrusted` (URLs from offers, requests, DIDs) or
    `configured` (URLs from the deployment's own settings).
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    budget: float = DEFAULT_BUDGET_SECONDS
    # Only public unicast addresses (rule 2). Off for configured peers.
    public_only: bool = True
    # Plain http to a loopback host, and loopback addresses: the development stack only.
    allow_loopback_http: bool = False
    # Plain http to any host: a deployment's own peers on its own network.
    allow_http: bool = False

    @classmethod
    def untrusted(
        cls,
        *,
        allow_loopback_http: bool = False,
        max_bytes: int = DEFAULT_MAX_BYTES,
        budget: float = DEFAULT_BUDGET_SECONDS,
    ) -> FetchPolicy:
        """For a URL someone else chose: https to public addresses only."""
        return cls(max_bytes, budget, True, allow_loopback_http, False)

    @classmethod
    def configured(
        cls, *, max_bytes: int = DEFAULT_MAX_BYTES, budget: float = DEFAULT_BUDGET_SECONDS
    ) -> FetchPolicy:
        """For a peer the operator named in settings (registry, witnesses): any address."""
        return cls(max_bytes, budget, False, True, True)


def is_loopback_host(host: str) -> bool:
    """`localhost` or a loopback IP literal (brackets allowed)."""
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: object, policy: FetchPolicy) -> httpx.URL:
    """`url` parsed, if its form and scheme are allowed by `policy`; else `URLRefused`.

    The message never echoes the URL: it may carry a code or personal data.
    """
    if not isinstance(url, str | httpx.URL) or len(str(url)) > MAX_URL_LENGTH:
        raise URLRefused("the address is not a URL")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise URLRefused("the address is not a URL") from exc
    if not parsed.is_absolute_url or not parsed.host or parsed.fragment:
        raise URLRefused("the address is not an absolute URL without a fragment")
    if parsed.userinfo:
        raise URLRefused("the address carries a user name or password")
    if parsed.scheme == "https":
        return parsed
    if parsed.scheme == "http" and (
        policy.allow_http or (policy.allow_loopback_http and is_loopback_host(parsed.host))
    ):
        return parsed
    raise URLRefused("the address does not use https")


def check_address(address: str, policy: FetchPolicy) -> None:
    """Raise `AddressRefused` unless `policy` lets a connection go to `address`."""
    if not policy.public_only:
        return
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 (and 6to4's 2002::/16) embed the IPv4 host they reach.
        mapped = ip.ipv4_mapped or ip.sixtofour
        if mapped is not None:
            ip = mapped
    if ip.is_loopback and policy.allow_loopback_http:
        return
    # `is_global` is False for loopback, RFC 1918, RFC 4193, link-local, CGNAT
    # (100.64/10), documentation and benchmarking ranges, and the unspecified address.
    if not ip.is_global or ip.is_multicast or ip.is_reserved:
        raise AddressRefused("the server's address is not a public internet address")


Resolve = Callable[[str, int], Sequence[str]]


def _system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _checked_addresses(host: str, port: int, policy: FetchPolicy, resolve: Resolve) -> list[str]:
    """Every address of `host`, each allowed; refuse the host if any one is not.

    All, not the first allowed: a name that also points inside the network is
    refused outright rather than raced.
    """
    try:
        addresses = list(resolve(host, port))
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError("the server's name does not resolve") from exc
    if not addresses:
        raise httpcore.ConnectError("the server's name does not resolve")
    for address in addresses:
        check_address(address, policy)
    return addresses


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's network backend with rule 2: resolve, check, connect to what was checked.

    TLS still runs against the host *name* (httpcore passes it as
    `server_hostname`), so certificates are verified as usual.
    """

    def __init__(self, policy: FetchPolicy, *, resolve: Resolve = _system_resolve) -> None:
        self._policy = policy
        self._resolve = resolve
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for address in _checked_addresses(host, port, self._policy, self._resolve):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise httpcore.ConnectError("the server could not be reached") from last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise AddressRefused("outgoing requests do not use Unix sockets")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _AsyncGuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, policy: FetchPolicy, *, resolve: Resolve = _system_resolve) -> None:
        self._policy = policy
        self._resolve = resolve
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await asyncio.to_thread(
            _checked_addresses, host, port, self._policy, self._resolve
        )
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
        raise httpcore.ConnectError("the server could not be reached") from last

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("outgoing requests do not use Unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _guarded_transport(policy: FetchPolicy, resolve: Resolve) -> httpx.HTTPTransport:
    transport = httpx.HTTPTransport(trust_env=False)
    # httpx has no parameter for the network backend: swap the pool for one that
    # uses ours, with the same TLS context httpx would have built.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=GuardedBackend(policy, resolve=resolve),
    )
    return transport


def guarded_client(policy: FetchPolicy, *, resolve: Resolve = _system_resolve) -> httpx.Client:
    """An `httpx.Client` whose connections obey `policy`'s address rule.

    With a policy that allows every address (`configured`), a plain client
    that honours the environment's proxy settings.
    """
    if not policy.public_only:
        return httpx.Client(follow_redirects=False)
    return httpx.Client(
        transport=_guarded_transport(policy, resolve), trust_env=False, follow_redirects=False
    )


def _guarded_async_client(policy: FetchPolicy) -> httpx.AsyncClient:
    if not policy.public_only:
        return httpx.AsyncClient(follow_redirects=False)
    transport = httpx.AsyncHTTPTransport(trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=_AsyncGuardedBackend(policy),
    )
    return httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=False)


# --- reading within the limits ------------------------------------------------------------


class _Deadline:
    def __init__(self, budget: float) -> None:
        self._end = time.monotonic() + budget

    def left(self) -> float:
        left = self._end - time.monotonic()
        if left <= 0:
            raise FetchTimedOut("the server answered too slowly")
        return left


def _declared_too_large(response: httpx.Response, max_bytes: int) -> None:
    declared = response.headers.get("content-length")
    if declared is not None and (not declared.strip().isdigit() or int(declared) > max_bytes):
        raise ResponseTooLarge("the server's answer is too large")


def _rebuilt(response: httpx.Response, body: bytes) -> httpx.Response:
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _WIRE_HEADERS]
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request
    )


def _next_hop(response: httpx.Response, url: httpx.URL, policy: FetchPolicy) -> httpx.URL:
    location = response.headers.get("location")
    if not location:
        raise RedirectRefused("the server redirected nowhere")
    try:
        target = url.join(location)
    except httpx.InvalidURL as exc:
        raise RedirectRefused("the server sent a bad redirect") from exc
    if (target.scheme, target.host, target.port) != (url.scheme, url.host, url.port):
        raise RedirectRefused("the server redirected to another origin")
    return check_url(target, policy)


def _translate(exc: httpx.HTTPError) -> GovidError:
    if isinstance(exc, httpx.TimeoutException):
        return FetchTimedOut("the server answered too slowly")
    return Unreachable("the server could not be reached")


@dataclass(frozen=True, slots=True)
class _Call:
    method: str
    headers: Mapping[str, str] | None
    params: Any
    data: Mapping[str, str] | None
    json: Any
    content: bytes | None

    def kwargs(self, timeout: float) -> dict[str, Any]:
        return {
            "headers": dict(self.headers or {}),
            "params": self.params,
            "data": self.data,
            "json": self.json,
            "content": self.content,
            "timeout": timeout,
            "follow_redirects": False,
        }


class Fetcher:
    """Outgoing HTTP under one `FetchPolicy`; answers are `httpx.Response`s read in full.

    Without `client`, one is made by `guarded_client(policy)`. A `client`
    passed in is used as it is (tests pass one over `httpx.MockTransport`):
    the address rule lives in the transport, so give one made by
    `guarded_client` wherever the targets are not the operator's own.
    """

    def __init__(self, policy: FetchPolicy, *, client: httpx.Client | None = None) -> None:
        self.policy = policy
        self._own = client is None
        self._client = client if client is not None else guarded_client(policy)

    def close(self) -> None:
        if self._own:
            self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def limited(self, *, max_bytes: int | None = None, budget: float | None = None) -> Fetcher:
        """This fetcher with other size or time limits (the address rule unchanged)."""
        changes: dict[str, Any] = {}
        if max_bytes is not None:
            changes["max_bytes"] = max_bytes
        if budget is not None:
            changes["budget"] = budget
        # The same pool: the address rule stays the one it was made with.
        return Fetcher(replace(self.policy, **changes), client=self._client)

    def get(
        self,
        url: str | httpx.URL,
        *,
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        max_redirects: int = 0,
    ) -> httpx.Response:
        return self.request("GET", url, headers=headers, params=params, max_redirects=max_redirects)

    def post(
        self,
        url: str | httpx.URL,
        *,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        return self.request("POST", url, headers=headers, data=data, json=json, content=content)

    def request(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        max_redirects: int = 0,
    ) -> httpx.Response:
        """Send one request within the policy; raise a `fetch.*` error otherwise.

        Any status is returned as an answer: what a 4xx means is the caller's
        protocol. A 3xx is followed (same origin, GET only) while
        `max_redirects` allows, else returned.
        """
        policy = self.policy
        target = check_url(url, policy)
        deadline = _Deadline(policy.budget)
        call = _Call(method, headers, params, data, json, content)
        for hop in range(max_redirects + 1):
            try:
                with self._client.stream(
                    call.method, target, **call.kwargs(deadline.left())
                ) as response:
                    if response.is_redirect and hop < max_redirects and call.method == "GET":
                        target = _next_hop(response, target, policy)
                        continue
                    _declared_too_large(response, policy.max_bytes)
                    body = bytearray()
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > policy.max_bytes:
                            raise ResponseTooLarge("the server's answer is too large")
                        deadline.left()
                    return _rebuilt(response, bytes(body))
            except httpx.HTTPError as exc:
                raise _translate(exc) from exc
        raise RedirectRefused("the server redirected too many times")


class AsyncFetcher:
    """`Fetcher` for asyncio code (the log asking its witnesses); the same rules."""

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.policy = policy
        self._client = (
            httpx.AsyncClient(transport=transport, follow_redirects=False)
            if transport is not None
            else _guarded_async_client(policy)
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def post(
        self, url: str, *, content: bytes, headers: Mapping[str, str] | None = None
    ) -> httpx.Response:
        """POST within the policy; the whole exchange is bounded by the budget."""
        target = check_url(url, self.policy)
        try:
            return await asyncio.wait_for(
                self._post(target, content, headers), timeout=self.policy.budget
            )
        except TimeoutError as exc:
            raise FetchTimedOut("the server answered too slowly") from exc
        except httpx.HTTPError as exc:
            raise _translate(exc) from exc

    async def _post(
        self, target: httpx.URL, content: bytes, headers: Mapping[str, str] | None
    ) -> httpx.Response:
        max_bytes = self.policy.max_bytes
        async with self._client.stream(
            "POST",
            target,
            content=content,
            headers=dict(headers or {}),
            timeout=self.policy.budget,
            follow_redirects=False,
        ) as response:
            _declared_too_large(response, max_bytes)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise ResponseTooLarge("the server's answer is too large")
            return _rebuilt(response, bytes(body))
