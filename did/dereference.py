"""DID URL dereferencing (DID Core §7.2, the DID Resolution dereferencing algorithm).

`dereference(resolver, did_url, options)` never raises for a failure: like
`Resolver.resolve` it answers a `DereferencingResult` whose
`dereferencingMetadata.error` uses the DID Resolution vocabulary. Steps:

1. Parse the DID URL (DID Core §3.2); anything else is `invalidDidUrl`.
2. Read its query as DID parameters (§3.2.1). govid knows `versionId`,
   `versionTime`, `service` and `relativeRef`; a parameter repeated, one it
   does not know (`hl` included: it would promise an integrity check that
   was not made) or `relativeRef` without `service` is `invalidDidUrl`.
3. Resolve the DID with `versionId` / `versionTime` as resolution options; a
   resolution error is the dereferencing error (`notFound`, `invalidOptions`...).
4. A DID URL path is `notFound`: no method govid resolves gives paths a meaning.
5. `service`: the service whose id is `<did>#<service>`; its endpoint (a
   URL, or the first URL of a set) with `relativeRef` resolved against it by
   RFC 3986 §5.2, and the DID URL's fragment, if any, carried over to the
   result (§5.2.2, "T.fragment = R.fragment"). The result is that URL,
   `text/uri-list`. A network-path `relativeRef` (`//host/...`) or one with a
   scheme would leave the service's origin and is `invalidDidUrl`.
6. Otherwise a fragment: the verification method or service with that id, in
   the document's own representation (`application/did+json`, or
   `application/did+ld+json` with the document's `@context`).
7. Otherwise: the DID document itself, as `resolveRepresentation` gives it.

`contentMetadata` is the `didDocumentMetadata` for a document and for a node
taken from it (so a did:govid key carries its ledger proof), `{}` for a URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import unquote, urljoin, urlsplit

from did.document import RELATIONSHIPS
from did.errors import (
    DIDNotFound,
    GovidError,
    InvalidDID,
    InvalidDIDURL,
    RepresentationNotSupported,
)
from did.identifiers import DIDURL
from did.representations import DID_JSON, REPRESENTATIONS, URI_LIST, produce, produce_node
from did.resolver import ResolutionOptions, Resolves, error_for, parse_version_time

__all__ = [
    "DID_PARAMETERS",
    "DereferencingOptions",
    "DereferencingResult",
    "dereference",
    "did_parameters",
]

# DID Core §3.2.1 parameters govid acts on.
DID_PARAMETERS: Final = frozenset({"service", "relativeRef", "versionId", "versionTime"})


@dataclass(frozen=True, slots=True)
class DereferencingOptions:
    """DID URL dereferencing options (DID Core §7.2.1): the media type asked for.

    `accept=None` takes the resource's own type: `application/did+json` for a
    document or a node of it, `text/uri-list` for a service endpoint.
    """

    accept: str | None = None


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class DereferencingResult:
    """The output of `dereference` (DID Core §7.2): metadata, content bytes, content metadata."""

    dereferencing_metadata: Mapping[str, Any]
    content: bytes = b""
    content_metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "dereferencing_metadata", _frozen(self.dereferencing_metadata))
        object.__setattr__(self, "content_metadata", _frozen(self.content_metadata))

    @classmethod
    def failure(cls, exc: GovidError) -> DereferencingResult:
        """An error result: `error`, a plain `errorMessage`, empty content and metadata."""
        error = "invalidDidUrl" if isinstance(exc, InvalidDIDURL) else error_for(exc)
        return cls({"error": error, "errorMessage": exc.message}, b"", {})

    @property
    def error(self) -> str | None:
        error = self.dereferencing_metadata.get("error")
        return error if isinstance(error, str) else None

    @property
    def content_type(self) -> str | None:
        content_type = self.dereferencing_metadata.get("contentType")
        return content_type if isinstance(content_type, str) else None

    def to_json(self) -> dict[str, Any]:
        """The result as one JSON object: JSON content inline, a URL as a string."""
        content: Any = None
        if self.error is None:
            text = self.content.decode("utf-8")
            content = text if self.content_type == URI_LIST else json.loads(text)
        return {
            "dereferencingMetadata": dict(self.dereferencing_metadata),
            "contentStream": content,
            "contentMetadata": dict(self.content_metadata),
        }


def did_parameters(query: str | None) -> dict[str, str]:
    """(2) The DID parameters of a query: each once, each known, percent-decoded.

    Raises `InvalidDIDURL` otherwise.
    """
    params: dict[str, str] = {}
    if query is None:
        return params
    for item in query.split("&"):
        name, eq, value = item.partition("=")
        if not eq:
            raise InvalidDIDURL("a DID URL query is name=value pairs joined by '&'")
        try:
            name, value = unquote(name, errors="strict"), unquote(value, errors="strict")
        except UnicodeDecodeError as exc:
            raise InvalidDIDURL("a DID parameter is not percent-encoded UTF-8") from exc
        if name not in DID_PARAMETERS:
            raise InvalidDIDURL("the DID URL has a DID parameter this resolver does not support")
        if name in params:
            raise InvalidDIDURL("a DID parameter is repeated")
        params[name] = value
    if "relativeRef" in params and "service" not in params:
        raise InvalidDIDURL("relativeRef is used together with service")
    return params


def _service_url(document: Mapping[str, Any], did: str, params: Mapping[str, str]) -> str:
    """(5) The service endpoint URL the `service` and `relativeRef` parameters select."""
    wanted = f"{did}#{params['service']}"
    services = [s for s in document.get("service", []) if s.get("id") == wanted]
    if not services:
        raise DIDNotFound("the DID document has no service with this id")
    endpoint = services[0].get("serviceEndpoint")
    urls = [endpoint] if isinstance(endpoint, str) else endpoint
    urls = [u for u in urls if isinstance(u, str)] if isinstance(urls, list) else []
    if not urls or not urlsplit(urls[0]).scheme:
        raise DIDNotFound("the service has no absolute URL for an endpoint")
    base = urls[0]
    ref = params.get("relativeRef")
    if ref is None:
        return base
    parts = urlsplit(ref)
    if parts.scheme or ref.startswith("//"):
        raise InvalidDIDURL("relativeRef must be a path, query or fragment reference")
    # RFC 3986 §5.2.2 (urllib follows it, dot segments included, since Python 3.5).
    return urljoin(base, ref)


def _node(document_json: Mapping[str, Any], did: str, fragment: str) -> Mapping[str, Any]:
    """(6) The verification method or service whose id is `<did>#<fragment>`."""
    wanted = f"{did}#{fragment}"
    candidates: list[Any] = [*document_json.get("verificationMethod", [])]
    for name in RELATIONSHIPS:  # methods may be embedded in a relationship (DID Core §5.3)
        candidates += document_json.get(name, [])
    candidates += document_json.get("service", [])
    for node in candidates:
        if isinstance(node, Mapping) and node.get("id") == wanted:
            return node
    raise DIDNotFound("the DID document has no verification method or service with this id")


def _check_accept(accept: str | None, offered: tuple[str, ...]) -> str:
    media_type = accept or offered[0]
    if media_type not in offered:
        raise RepresentationNotSupported("this resource is not available in that media type")
    return media_type


def dereference(
    resolver: Resolves, did_url: str, options: DereferencingOptions | None = None
) -> DereferencingResult:
    """Dereference `did_url` with `resolver`; failures come back as results, never raised."""
    options = options or DereferencingOptions()
    try:
        url = DIDURL.parse(did_url)  # (1)
        params = did_parameters(url.query)  # (2)
        raw_time = params.get("versionTime")
        resolution_options = ResolutionOptions(
            version_id=params.get("versionId"),
            version_time=None if raw_time is None else parse_version_time(raw_time),
        )
        if "service" in params:
            _check_accept(options.accept, (URI_LIST,))
        else:
            _check_accept(options.accept, REPRESENTATIONS)
    except InvalidDID as exc:  # the DID inside a DID URL
        return DereferencingResult.failure(InvalidDIDURL(exc.message))
    except GovidError as exc:
        return DereferencingResult.failure(exc)

    result = resolver.resolve(str(url.did), resolution_options)  # (3)
    if result.error is not None or result.did_document is None:
        meta = dict(result.resolution_metadata) or {"error": "internalError"}
        return DereferencingResult(meta, b"", {})
    document, did = result.did_document, str(url.did)
    try:
        if url.path:  # (4)
            raise DIDNotFound("this DID method gives DID URL paths no meaning")
        if "service" in params:  # (5)
            target = _service_url(document.to_json(), did, params)
            if url.fragment is not None:
                target = target.split("#", 1)[0] + "#" + url.fragment
            return DereferencingResult({"contentType": URI_LIST}, target.encode("utf-8"), {})
        media_type = options.accept or DID_JSON
        if url.fragment is not None:  # (6)
            node = _node(document.to_json(), did, url.fragment)
            content = produce_node(node, document, media_type)
        else:  # (7)
            content = produce(document, media_type)
    except GovidError as exc:
        return DereferencingResult.failure(exc)
    return DereferencingResult({"contentType": media_type}, content, result.document_metadata)
