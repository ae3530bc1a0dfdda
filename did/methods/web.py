"""did:web: a DID document served over HTTPS (W3C CCG did:web spec).

`did_web_url` is the pure mapping of spec §3.2 ("Read", steps 1-6):
`did:web:example.com` -> `https://example.com/.well-known/did.json`,
`did:web:example.com:user:alice` -> `https://example.com/user/alice/did.json`,
and a port is written percent-encoded (`example.com%3A3000`).

`DIDWebResolver` fetches through a `WebFetch` the caller passes in: in govid
that is `service.fetch.Fetcher` under the untrusted policy, which enforces
https, public addresses only (checked after DNS, at connect time), a body
limit while streaming, a total time budget, and redirects to the same
scheme, host and port only. `did/` itself performs no I/O. Defences here:

- at most a few redirects, and at most 1 MiB, asked of the fetch;
- the answer must be `200` with a JSON media type; `404`/`410` mean
  `did.not_found`, network failures and other statuses
  `did.resolution_unavailable`;
- the JSON is parsed strictly (no duplicate members, no NaN) and the document
  `id` must equal the DID (spec §3.2 step 7).

govid policy beyond the spec: the host must be a DNS name (no IP literals,
no userinfo), and path segments may not be empty, `.` or `..`, or hide `/`.
did:web keeps no history, so a `versionId` is answered `notFound` and a
`versionTime` is answered with the current document.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Protocol
from urllib.parse import unquote

from did.document import DIDDocument
from did.encoding import json_loads_strict
from did.errors import (
    DIDNotFound,
    GovidError,
    InvalidDID,
    InvalidDIDDocument,
    ResolutionUnavailable,
)
from did.identifiers import DID
from did.resolver import ResolutionOptions, ResolutionResult

METHOD: Final = "web"
MAX_DOCUMENT_BYTES: Final = 1024 * 1024
MAX_REDIRECTS: Final = 3
JSON_MEDIA_TYPES: Final = frozenset(
    {"application/did+json", "application/did+ld+json", "application/json", "application/ld+json"}
)

_LABEL: Final = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_RE: Final = re.compile(rf"(?P<host>{_LABEL}(?:\.{_LABEL})*)(?::(?P<port>[0-9]{{1,5}}))?")
_BAD_SEGMENT_CHARS: Final = frozenset("/\\?#") | {chr(c) for c in range(0x20)} | {"\x7f"}


def did_web_url(did: DID | str) -> str:
    """The HTTPS URL of the document of a did:web (spec §3.2); raise `InvalidDID`."""
    parsed = did if isinstance(did, DID) else DID.parse(did)
    if parsed.method != METHOD:
        raise InvalidDID("not a did:web")
    domain, *path = parsed.method_specific_id.split(":")
    # Step 2-3: the first segment is the domain, with an optional %3A-encoded port.
    match = _HOST_RE.fullmatch(unquote(domain).lower())
    if match is None:
        raise InvalidDID("a did:web must start with a DNS host name and optional port")
    labels = match["host"].split(".")
    if labels[-1].isdigit():
        raise InvalidDID("a did:web host must be a DNS name, not an IP address")
    port = match["port"]
    if port is not None and not 0 < int(port) < 65536:
        raise InvalidDID("a did:web port must be between 1 and 65535")
    # Step 4-5: the other segments are the path; govid refuses traversal.
    for segment in path:
        decoded = unquote(segment)
        if decoded in ("", ".", "..") or _BAD_SEGMENT_CHARS & set(decoded):
            raise InvalidDID("a did:web path segment is empty or unsafe")
    host = match["host"] if port is None else f"{match['host']}:{port}"
    # Step 6: without a path, the document lives under /.well-known/.
    location = "/.well-known/did.json" if not path else "/" + "/".join(path) + "/did.json"
    return f"https://{host}{location}"


def parse_document_bytes(body: bytes) -> DIDDocument:
    """Parse a served document strictly; raise `InvalidDIDDocument`."""
    value = json_loads_strict(body, what="the served document", error=InvalidDIDDocument)
    return DIDDocument.from_json(value)


class WebAnswer(Protocol):
    """What the resolver reads of an HTTP answer (an `httpx.Response` is one)."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def content(self) -> bytes: ...


class WebFetch(Protocol):
    """A bounded GET (`service.fetch.Fetcher` is one): raises a `GovidError` when the
    server cannot be used, returns any status as an answer."""

    def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        max_redirects: int = 0,
    ) -> WebAnswer: ...


class DIDWebResolver:
    """`MethodResolver` for did:web over an injected `WebFetch`.

    `insecure_http_for_tests=True` asks for plain HTTP: for loopback test
    servers only, never in a deployment (anyone on the path could swap keys);
    the fetch's own policy must allow it too.
    """

    method: Final = METHOD

    def __init__(
        self,
        *,
        fetch: WebFetch,
        max_bytes: int = MAX_DOCUMENT_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        insecure_http_for_tests: bool = False,
    ) -> None:
        self._fetch = fetch
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._insecure = insecure_http_for_tests

    def resolve(self, did: DID, options: ResolutionOptions) -> ResolutionResult:
        if options.version_id is not None:
            raise DIDNotFound("did:web keeps no earlier versions")
        url = did_web_url(did)
        if self._insecure:
            url = "http://" + url.removeprefix("https://")
        document = parse_document_bytes(self._get(url))
        if document.id != did:  # spec §3.2 step 7
            raise InvalidDIDDocument("the served document is for another DID")
        return ResolutionResult(document)

    def _get(self, url: str) -> bytes:
        headers = {"Accept": "application/did+json, application/json;q=0.9"}
        try:
            response = self._fetch.get(url, headers=headers, max_redirects=self._max_redirects)
        except GovidError as exc:
            # DID Resolution names one error for this: the method could not be used.
            raise ResolutionUnavailable(
                f"the did:web server could not be used ({exc.code})"
            ) from exc
        if response.status_code in (404, 410):
            raise DIDNotFound("the did:web server has no such document")
        if response.status_code != 200:
            raise ResolutionUnavailable("the did:web server did not answer 200")
        media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in JSON_MEDIA_TYPES:
            raise InvalidDIDDocument("the did:web server did not answer with JSON")
        if len(response.content) > self._max_bytes:
            raise InvalidDIDDocument("the served document is too large")
        return response.content
