"""`GET /1.0/identifiers/{did-url}`: DID resolution and DID URL dereferencing over HTTP.

The path segment (percent-decoded once) and the HTTP query together are one
DID URL: `/1.0/identifiers/did:govid:X?versionId=2` and
`/1.0/identifiers/did%3Agovid%3AX%3FversionId%3D2` name the same thing, and a
fragment, which HTTP never sends, travels encoded (`%23key-1`). The DID URL is
one path segment: a DID URL path (`did:govid:X/a`) means nothing for the
methods govid serves and is not routed here.

- A DID, with at most the `versionId` / `versionTime` DID parameters, is
  *resolved*. `Accept` picks the answer (DID Resolution HTTP binding):
  `application/did-resolution+json` (the default, also for `*/*`,
  `application/did-resolution` and `application/json`) gives the whole result;
  `application/did+ld+json` or `application/did+json` the document alone
  (`resolveRepresentation`); anything else is 406 `representationNotSupported`.
- Any other DID URL (a fragment, `service` / `relativeRef`, a path) is
  *dereferenced*: `application/did-url-dereferencing+json` (the default) gives
  the whole dereferencing result, and the resource's own media type gives it
  alone (`application/did+json` / `application/did+ld+json` for a key or a
  service, `text/uri-list` for a service endpoint URL). The registry never
  redirects to a service endpoint: the URL is content, not a `Location`, so
  the registry's origin cannot be used to bounce a browser anywhere.

Errors are always whole results (`application/did-resolution+json`, or
`application/did-url-dereferencing+json` for a DID URL), whatever was
accepted: a document representation has no room for an error. Status codes:
200; 410 for a deactivated DID; 400 `invalidDid`, `invalidDidUrl`,
`invalidOptions`; 404 `notFound`; 406 `representationNotSupported`; 501
`methodNotSupported`; a database outage is the services' usual 503.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from did.dereference import DereferencingOptions, DereferencingResult, dereference, did_parameters
from did.errors import (
    DIDNotFound,
    GovidError,
    InvalidDIDURL,
    MethodNotSupported,
    RepresentationNotSupported,
)
from did.identifiers import DID, DIDURL
from did.representations import (
    DID_JSON,
    DID_LD_JSON,
    DID_RESOLUTION,
    DID_URL_DEREFERENCING,
    URI_LIST,
    negotiate,
)
from did.resolver import (
    RepresentationResult,
    ResolutionOptions,
    ResolutionResult,
    parse_version_time,
    resolve_representation,
)
from registry.ledger import Ledger
from registry.operation_errors import UnknownDID
from registry.operations import METHOD_PREFIX
from registry.resolution import parse_version_id

router = APIRouter(tags=["resolution"])

_STATUS: Final = {
    "invalidDid": 400,
    "invalidDidUrl": 400,
    "invalidOptions": 400,
    "notFound": 404,
    "representationNotSupported": 406,
    "methodNotSupported": 501,
}
# Media types that mean "the whole result", first the one answered by default.
_RESOLUTION_RESULTS: Final = (DID_RESOLUTION, "application/did-resolution", "application/json")
_DEREFERENCING_RESULTS: Final = (
    DID_URL_DEREFERENCING,
    "application/did-url-dereferencing",
    "application/json",
)
_VERSION_PARAMETERS: Final = frozenset({"versionId", "versionTime"})
_VARY: Final = {"Vary": "Accept"}


class LedgerResolver:
    """`did:govid` straight from the ledger, with `Resolver.resolve`'s contract.

    Failures that are the request's come back as error results; anything
    else (the database is down) propagates to the service's error handlers.
    """

    def __init__(self, ledger: Ledger, *, min_cosignatures: int) -> None:
        self._ledger = ledger
        self._quorum = min_cosignatures

    def resolve(self, did: str, options: ResolutionOptions | None = None) -> ResolutionResult:
        options = options or ResolutionOptions()
        try:
            DID.parse(did)  # DID Core §3.1 syntax (and length bound), else invalidDid
            if not did.startswith(METHOD_PREFIX):
                raise MethodNotSupported("this registry resolves did:govid only")
            try:
                answer = self._ledger.resolve(
                    did,
                    version_id=parse_version_id(options.version_id),
                    version_time=options.version_time,
                    min_cosignatures=self._quorum,
                )
            except UnknownDID as exc:
                raise DIDNotFound(exc.message) from exc
            return ResolutionResult.from_json(answer)
        except GovidError as exc:
            return ResolutionResult.failure(exc)


def did_url_of(path: str, query: str) -> str:
    """The DID URL a request names: the decoded path, then the HTTP query, then the fragment."""
    base, hash_, fragment = path.partition("#")
    if query:
        if "?" in base:
            raise InvalidDIDURL("the DID URL has a query both in the path and in the request")
        base = f"{base}?{query}"
    return f"{base}#{fragment}" if hash_ else base


def _status(error: str | None, *, deactivated: bool = False) -> int:
    if error is not None:
        return _STATUS.get(error, 500)
    return 410 if deactivated else 200


def _resolution_answer(resolver: LedgerResolver, did_url: str, accept: str | None) -> Response:
    """Resolve a DID (with version parameters at most) for the negotiated media type."""
    try:
        url = DIDURL.parse(did_url) if "?" in did_url else None
        did = str(url.did) if url is not None else did_url
        params = did_parameters(url.query if url is not None else None)
        raw_time = params.get("versionTime")
        options = ResolutionOptions(
            version_id=params.get("versionId"),
            version_time=None if raw_time is None else parse_version_time(raw_time),
        )
    except GovidError as exc:
        return _resolution_json(ResolutionResult.failure(exc), DID_RESOLUTION)
    chosen = negotiate(accept, (*_RESOLUTION_RESULTS, DID_LD_JSON, DID_JSON))
    if chosen is None:
        refused = RepresentationNotSupported(
            "answers are application/did-resolution+json, application/did+ld+json "
            "or application/did+json"
        )
        return _resolution_json(ResolutionResult.failure(refused), DID_RESOLUTION)
    if chosen in _RESOLUTION_RESULTS:
        return _resolution_json(resolver.resolve(did, options), chosen)
    shown = resolve_representation(
        resolver,
        did,
        ResolutionOptions(options.version_id, options.version_time, accept=chosen),
    )
    return _representation(shown)


def _resolution_json(result: ResolutionResult, media_type: str) -> Response:
    status = _status(result.error, deactivated=result.deactivated)
    if result.error is not None:
        media_type = DID_RESOLUTION
    return JSONResponse(result.to_json(), status, headers=_VARY, media_type=media_type)


def _representation(shown: RepresentationResult) -> Response:
    if shown.error is not None or shown.content_type is None:
        result = ResolutionResult(None, {}, shown.resolution_metadata)
        return _resolution_json(result, DID_RESOLUTION)
    status = _status(None, deactivated=shown.document_metadata.get("deactivated") is True)
    return Response(shown.document_stream, status, headers=_VARY, media_type=shown.content_type)


def _dereferencing_answer(resolver: LedgerResolver, did_url: str, accept: str | None) -> Response:
    """Dereference a DID URL for the negotiated media type."""
    try:
        url = DIDURL.parse(did_url)
        is_service = "service" in did_parameters(url.query)
    except GovidError as exc:
        return _dereferencing_json(DereferencingResult.failure(exc), DID_URL_DEREFERENCING)
    own = (URI_LIST,) if is_service else (DID_LD_JSON, DID_JSON)
    chosen = negotiate(accept, (*_DEREFERENCING_RESULTS, *own))
    if chosen is None:
        refused = RepresentationNotSupported(f"this resource is {' or '.join(own)}")
        return _dereferencing_json(DereferencingResult.failure(refused), DID_URL_DEREFERENCING)
    if chosen in _DEREFERENCING_RESULTS:
        return _dereferencing_json(dereference(resolver, did_url), chosen)
    result = dereference(resolver, did_url, DereferencingOptions(accept=chosen))
    if result.error is not None or result.content_type is None:
        return _dereferencing_json(result, DID_URL_DEREFERENCING)
    body = result.content + b"\r\n" if result.content_type == URI_LIST else result.content
    return Response(body, 200, headers=_VARY, media_type=result.content_type)


def _dereferencing_json(result: DereferencingResult, media_type: str) -> Response:
    if result.error is not None:
        media_type = DID_URL_DEREFERENCING
    return JSONResponse(
        result.to_json(), _status(result.error), headers=_VARY, media_type=media_type
    )


def answer(resolver: LedgerResolver, path: str, query: str, accept: str | None) -> Response:
    """The whole exchange for one request (blocking: the ledger is read here)."""
    try:
        did_url = did_url_of(path, query)
    except GovidError as exc:
        return _dereferencing_json(DereferencingResult.failure(exc), DID_URL_DEREFERENCING)
    is_did = not any(c in did_url for c in "?#/")
    if not is_did:
        try:
            url = DIDURL.parse(did_url)
            is_did = (
                not url.path
                and url.fragment is None
                and set(did_parameters(url.query)) <= _VERSION_PARAMETERS
            )
        except GovidError:
            is_did = False  # the dereferencer names the error
    if is_did:
        return _resolution_answer(resolver, did_url, accept)
    return _dereferencing_answer(resolver, did_url, accept)


_RESULT: Final[dict[str, Any]] = {"schema": {"type": "object"}}


@router.get(
    "/1.0/identifiers/{did}",
    responses={
        200: {
            "description": "A resolution or dereferencing result, or the resource alone.",
            "content": {
                DID_RESOLUTION: _RESULT,
                DID_URL_DEREFERENCING: _RESULT,
                DID_LD_JSON: _RESULT,
                DID_JSON: _RESULT,
                URI_LIST: {"schema": {"type": "string"}},
            },
        },
        410: {"description": "The DID is deactivated.", "content": {DID_RESOLUTION: _RESULT}},
    },
)
async def identifiers(did: str, request: Request) -> Response:
    """Resolve a DID or dereference a DID URL (DIF Universal Resolver shape, DID Resolution).

    `did` is the DID, or a DID URL whose `?` and `#` are percent-encoded; its
    query may also come as the request's own query.
    """
    resolver = LedgerResolver(
        request.app.state.ledger, min_cosignatures=request.app.state.min_cosignatures
    )
    query = request.scope.get("query_string", b"").decode("latin-1")
    accept = request.headers.get("accept")
    return await asyncio.to_thread(answer, resolver, did, query, accept)
