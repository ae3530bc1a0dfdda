"""DID resolution in the shape of W3C DID Resolution and the DIF Universal Resolver.

`Resolver` dispatches a DID to the `MethodResolver` registered for its method
(`did:key`, `did:jwk`, `did:web`; the registry adds `did:govid` the same way)
and offers four calls:

- `resolve(did, options)` (DID Core §7.1 `resolve`) never raises for a
  resolution failure: it answers a `ResolutionResult` whose
  `didResolutionMetadata.error` uses the DID Resolution vocabulary
  (`invalidDid`, `notFound`, `methodNotSupported`, `invalidOptions`,
  `invalidDidDocument`, `internalError`, and the did:key spec's
  `invalidPublicKey` / `unsupportedPublicKeyType`). A deactivated DID is a
  success with `didDocumentMetadata.deactivated: true`. Its resolution
  metadata never holds `contentType` (§7.1.2: only `resolveRepresentation`
  has one), and the `accept` option is not read (§7.1.1: it MUST NOT be used
  with `resolve`).
- `resolve_representation(did, options)` (§7.1 `resolveRepresentation`)
  answers the document as bytes in the media type `options.accept` names
  (`application/did+json` by default, or `application/did+ld+json`), with
  `contentType`; any other type is `representationNotSupported`.
- `resolve_document(did, options)` raises the govid error instead
  (`did.not_found`, `did.deactivated`, ...): for code that needs a document.
- `resolve_verification_key(kid, issuer=..., relationship=..., at=...)` is
  what SD-JWT verifiers call to turn a JWS `kid` into a public key.

Caching: successful results (deactivated ones included) are kept in a bounded
LRU for `cache_ttl`, measured with the injected `clock`. Errors are never
cached: `notFound` may turn into a document a moment later (a DID being
registered), and invalid input is refused before the cache is consulted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, Protocol

from cachetools import TTLCache

from did.document import DIDDocument, Relationship
from did.errors import (
    DIDDeactivated,
    DIDNotFound,
    GovidError,
    InvalidDID,
    InvalidDIDDocument,
    InvalidDIDURL,
    InvalidKey,
    InvalidMultibase,
    InvalidResolutionOptions,
    MethodNotSupported,
    RepresentationNotSupported,
    ResolutionUnavailable,
    UnsupportedKeyType,
    VerificationMethodNotFound,
)
from did.identifiers import DID, DIDURL
from did.keys import PublicKey
from did.representations import DID_JSON, REPRESENTATIONS, produce

# Most specific first: InvalidDIDURL is not an InvalidDID, but both are MalformedInput.
_ERROR_BY_KIND: Final[tuple[tuple[type[GovidError], str], ...]] = (
    (InvalidDID, "invalidDid"),
    (InvalidDIDURL, "invalidDidUrl"),
    (InvalidResolutionOptions, "invalidOptions"),
    (DIDNotFound, "notFound"),
    (MethodNotSupported, "methodNotSupported"),
    (RepresentationNotSupported, "representationNotSupported"),
    (InvalidDIDDocument, "invalidDidDocument"),
    (UnsupportedKeyType, "unsupportedPublicKeyType"),
    (InvalidKey, "invalidPublicKey"),
    (InvalidMultibase, "invalidPublicKey"),
)
_KIND_BY_ERROR: Final[dict[str, type[GovidError]]] = {
    "invalidDid": InvalidDID,
    "invalidDidUrl": InvalidDIDURL,
    "invalidOptions": InvalidResolutionOptions,
    "notFound": DIDNotFound,
    "methodNotSupported": MethodNotSupported,
    "representationNotSupported": RepresentationNotSupported,
    "invalidDidDocument": InvalidDIDDocument,
    "unsupportedPublicKeyType": UnsupportedKeyType,
    "invalidPublicKey": InvalidKey,
}


def error_for(exc: GovidError) -> str:
    """The DID Resolution error string for a govid error (`internalError` if none fits)."""
    return next((name for kind, name in _ERROR_BY_KIND if isinstance(exc, kind)), "internalError")


def exception_for(error: str, message: str) -> GovidError:
    """The govid error for a DID Resolution error string (inverse of `error_for`)."""
    return _KIND_BY_ERROR.get(error, ResolutionUnavailable)(message)


def parse_version_time(text: str) -> datetime:
    """A `versionTime` value (DID Core §3.2.1: an XML datetime, UTC) as an aware datetime.

    Any RFC 3339 date-time with a time zone is taken (`Z` or an offset);
    raise `InvalidResolutionOptions` otherwise.
    """
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError as exc:
        raise InvalidResolutionOptions("versionTime is not an RFC 3339 date-time") from exc
    if value.utcoffset() is None:
        raise InvalidResolutionOptions("versionTime needs a time zone (use Z for UTC)")
    return value


@dataclass(frozen=True, slots=True)
class ResolutionOptions:
    """DID Resolution input metadata (DID Core §7.1.1 and the methods' own options).

    `version_time` must be timezone-aware. `accept` is read by
    `resolve_representation` only. `enable_encryption_key_derivation` is the
    did:key option of that name (did:key §3.1.2): an Ed25519 did:key gets
    its X25519 key under `keyAgreement`. `no_cache` bypasses the cache (read
    and write).
    """

    version_id: str | None = None
    version_time: datetime | None = None
    accept: str | None = None
    no_cache: bool = False
    enable_encryption_key_derivation: bool = False

    def __post_init__(self) -> None:
        if self.version_time is not None and self.version_time.utcoffset() is None:
            raise InvalidResolutionOptions("versionTime must carry a time zone")

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ResolutionOptions:
        """Options from HTTP query parameters (`versionId`, `versionTime` as RFC 3339)."""
        raw = query.get("versionTime")
        version_time = None if raw is None else parse_version_time(raw)
        return cls(query.get("versionId"), version_time, query.get("accept"))

    def _cache_key(self) -> tuple[str | None, str | None, bool]:
        when = None if self.version_time is None else self.version_time.isoformat()
        return (self.version_id, when, self.enable_encryption_key_derivation)


def _frozen(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True, slots=True)
class ResolutionResult:
    """The output of DID Resolution: document, document metadata, resolution metadata."""

    did_document: DIDDocument | None
    document_metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)
    resolution_metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # Results are shared through the cache: make the metadata read-only.
        object.__setattr__(self, "document_metadata", _frozen(self.document_metadata))
        object.__setattr__(self, "resolution_metadata", _frozen(self.resolution_metadata))

    @classmethod
    def failure(cls, exc: GovidError) -> ResolutionResult:
        """An error result for `exc`: no document, `error` and a plain `errorMessage`."""
        return cls(None, {}, {"error": error_for(exc), "errorMessage": exc.message})

    @classmethod
    def from_json(cls, value: object) -> ResolutionResult:
        """Parse a Universal Resolver response body; raise `InvalidDIDDocument`."""
        if not isinstance(value, Mapping):
            raise InvalidDIDDocument("a resolution result must be a JSON object")
        doc, doc_meta, res_meta = (
            value.get("didDocument"),
            value.get("didDocumentMetadata", {}),
            value.get("didResolutionMetadata", {}),
        )
        if not isinstance(doc_meta, Mapping) or not isinstance(res_meta, Mapping):
            raise InvalidDIDDocument("resolution metadata must be JSON objects")
        document = None if doc is None else DIDDocument.from_json(doc)
        return cls(document, dict(doc_meta), dict(res_meta))

    @property
    def error(self) -> str | None:
        error = self.resolution_metadata.get("error")
        return error if isinstance(error, str) else None

    @property
    def deactivated(self) -> bool:
        return self.document_metadata.get("deactivated") is True

    def to_json(self) -> dict[str, Any]:
        return {
            "didDocument": None if self.did_document is None else self.did_document.to_json(),
            "didDocumentMetadata": dict(self.document_metadata),
            "didResolutionMetadata": dict(self.resolution_metadata),
        }


@dataclass(frozen=True, slots=True)
class RepresentationResult:
    """The output of `resolveRepresentation` (DID Core §7.1): metadata and a byte stream.

    On failure the stream is empty, the document metadata is empty and the
    resolution metadata holds `error`; on success it holds `contentType`.
    """

    resolution_metadata: Mapping[str, Any]
    document_stream: bytes
    document_metadata: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "document_metadata", _frozen(self.document_metadata))
        object.__setattr__(self, "resolution_metadata", _frozen(self.resolution_metadata))

    @classmethod
    def failure(cls, exc: GovidError) -> RepresentationResult:
        return cls({"error": error_for(exc), "errorMessage": exc.message}, b"", {})

    @property
    def error(self) -> str | None:
        error = self.resolution_metadata.get("error")
        return error if isinstance(error, str) else None

    @property
    def content_type(self) -> str | None:
        content_type = self.resolution_metadata.get("contentType")
        return content_type if isinstance(content_type, str) else None


class Resolves(Protocol):
    """Anything with `Resolver.resolve`'s contract: failures come back as results."""

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult: ...


def resolve_representation(
    resolver: Resolves, did: str, options: ResolutionOptions | None = None
) -> RepresentationResult:
    """`resolveRepresentation` (DID Core §7.1) on top of `resolver.resolve`.

    DID Resolution order: the DID's syntax first (`invalidDid`), then the
    media type (`representationNotSupported`), then the method's answer.
    """
    options = options or ResolutionOptions()
    media_type = options.accept or DID_JSON
    try:
        DID.parse(did)
        if media_type not in REPRESENTATIONS:
            raise RepresentationNotSupported(
                "the DID document is produced as application/did+json or "
                "application/did+ld+json only"
            )
    except GovidError as exc:
        return RepresentationResult.failure(exc)
    result = resolver.resolve(did, options)
    if result.error is not None or result.did_document is None:
        return RepresentationResult(result.resolution_metadata, b"", {})
    return RepresentationResult(
        {**result.resolution_metadata, "contentType": media_type},
        produce(result.did_document, media_type),
        result.document_metadata,
    )


class MethodResolver(Protocol):
    """What a DID method plugs into `Resolver`.

    `resolve` either returns a result (possibly an error result) or raises a
    `GovidError`; `Resolver` turns the latter into the error vocabulary.
    """

    @property
    def method(self) -> str: ...

    def resolve(self, did: DID, options: ResolutionOptions) -> ResolutionResult: ...


class Resolver:
    """Dispatch by DID method, with a bounded, time-limited cache of successes."""

    def __init__(
        self,
        methods: Iterable[MethodResolver],
        *,
        clock: Callable[[], datetime],
        cache_ttl: timedelta = timedelta(minutes=5),
        max_cache_entries: int = 1024,
    ) -> None:
        self._methods: dict[str, MethodResolver] = {}
        for resolver in methods:
            if resolver.method in self._methods:
                raise ValueError(f"two resolvers registered for did:{resolver.method}")
            self._methods[resolver.method] = resolver
        if max_cache_entries < 0 or cache_ttl < timedelta(0):
            raise ValueError("cache bounds must not be negative")
        self._clock = clock
        self._ttl = cache_ttl
        self._max = max_cache_entries
        # cachetools' TTL + LRU cache, on our clock (tests pin it). Not thread-safe: locked.
        self._cache: TTLCache[tuple[Any, ...], ResolutionResult] = TTLCache(
            maxsize=max(max_cache_entries, 1),
            ttl=max(cache_ttl.total_seconds(), 0.001),
            timer=lambda: self._clock().timestamp(),
        )
        self._lock = threading.Lock()

    @property
    def methods(self) -> tuple[str, ...]:
        """The registered method names, sorted."""
        return tuple(sorted(self._methods))

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    # --- the entry points -------------------------------------------------------------

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        """Resolve `did`; failures come back as `didResolutionMetadata.error`, never raised."""
        try:
            return self._resolve(did, options or ResolutionOptions())
        except GovidError as exc:
            return ResolutionResult.failure(exc)
        except Exception:  # a bug in a method resolver: still an answer, as the spec asks
            return ResolutionResult(
                None, {}, {"error": "internalError", "errorMessage": "the resolver failed"}
            )

    def resolve_representation(
        self, did: str, options: ResolutionOptions | None = None
    ) -> RepresentationResult:
        """Resolve `did` into the bytes of the representation `options.accept` names."""
        return resolve_representation(self, did, options)

    def resolve_document(self, did: str, options: ResolutionOptions | None = None) -> DIDDocument:
        """The current (or requested) document of `did`; raise the govid error otherwise.

        Raises `InvalidDID`, `MethodNotSupported`, `DIDNotFound`, `DIDDeactivated`,
        `InvalidDIDDocument`, `ResolutionUnavailable`, and the key errors of the method.
        """
        result = self._resolve(did, options or ResolutionOptions())
        if result.error is not None:
            message = result.resolution_metadata.get("errorMessage")
            text = message if isinstance(message, str) else "the DID could not be resolved"
            raise exception_for(result.error, text)
        if result.deactivated:
            raise DIDDeactivated("the DID has been deactivated")
        if result.did_document is None:
            raise ResolutionUnavailable("the method resolver returned no document")
        return result.did_document

    def resolve_verification_key(
        self,
        kid: str,
        *,
        issuer: str | None,
        relationship: Relationship = "assertionMethod",
        at: datetime | None = None,
    ) -> PublicKey:
        """The public key a JWS `kid` names, checked against the issuer and the relationship.

        1. `kid` is an absolute DID URL, or a `#fragment` relative to `issuer`.
        2. An absolute `kid` must name the issuer's own DID: a token cannot pick
           a key of some other DID (`VerificationMethodNotFound`).
        3. The issuer's document is resolved as it was at `at` (`versionTime`),
           when the method keeps history; a deactivated DID is refused.
        4. The method must be listed under `relationship` (`assertionMethod` by
           default: the relationship for signing credentials, DID Core §5.3.2).
        """
        issuer_did = None if issuer is None else DID.parse(issuer)  # (1)
        if DIDURL.is_relative(kid):
            if issuer_did is None:
                raise InvalidDIDURL("a relative key id needs the issuer's DID")
            url = DIDURL.parse(kid, base=issuer_did)
        else:
            url = DIDURL.parse(kid)
            if issuer_did is not None and url.did != issuer_did:  # (2)
                raise VerificationMethodNotFound("the key id names a DID other than the issuer")
        document = self.resolve_document(str(url.did), ResolutionOptions(version_time=at))  # (3)
        method = document.find_verification_method(url, relationship)  # (4)
        return method.public_key()

    # --- internals --------------------------------------------------------------------

    def _resolve(self, text: str, options: ResolutionOptions) -> ResolutionResult:
        did = DID.parse(text)
        method = self._methods.get(did.method)
        if method is None:
            raise MethodNotSupported("this DID method is not supported")
        key = (str(did), *options._cache_key())
        if not options.no_cache and (cached := self._cache_get(key)) is not None:
            return cached
        result = method.resolve(did, options)
        if result.did_document is not None and result.did_document.id != did:
            raise InvalidDIDDocument("the resolved document is for another DID")
        if result.error is None and result.did_document is None:
            raise ResolutionUnavailable("the method resolver returned neither document nor error")
        if "contentType" in result.resolution_metadata:
            # DID Core §7.1.2: `contentType` MUST NOT be present when `resolve` was called.
            meta = {k: v for k, v in result.resolution_metadata.items() if k != "contentType"}
            result = ResolutionResult(result.did_document, result.document_metadata, meta)
        if result.error is None and not options.no_cache:
            self._cache_put(key, result)
        return result

    def _cache_get(self, key: tuple[Any, ...]) -> ResolutionResult | None:
        with self._lock:
            return self._cache.get(key)

    def _cache_put(self, key: tuple[Any, ...], result: ResolutionResult) -> None:
        if self._max == 0 or self._ttl <= timedelta(0):
            return
        with self._lock:
            self._cache[key] = result
