"""DID document representations (DID Core §6) and choosing one for an HTTP `Accept`.

Two representations are produced, both UTF-8 JSON:

- `application/did+json` (DID Core §6.2): the data model alone. JSON has no
  representation-specific entries, so `@context` (the JSON-LD one, §6.3.1)
  is left out: a JSON consumer has no use for it.
- `application/did+ld+json` (§6.3): the same entries plus `@context`, whose
  first value is the DID context; a document without one gets the contexts
  its verification method types need (`did.document.default_context`).

The other media types govid answers with are results, not representations:
`application/did-resolution+json` (a whole DID resolution result) and
`application/did-url-dereferencing+json` (a whole dereferencing result), and
`text/uri-list` for a service endpoint URL.

`negotiate` picks what to send for an `Accept` header (RFC 9110 §12.5.1):
the offer with the highest quality value wins; on a tie, the one the most
specific media range named (`application/did+json` beats `*/*`); then the
server's order. No `Accept` (or an empty one) means the first offer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from did.document import DIDDocument, default_context

__all__ = [
    "DID_JSON",
    "DID_LD_JSON",
    "DID_RESOLUTION",
    "DID_URL_DEREFERENCING",
    "REPRESENTATIONS",
    "URI_LIST",
    "MediaRange",
    "negotiate",
    "parse_accept",
    "produce",
    "produce_node",
]

DID_JSON: Final = "application/did+json"
DID_LD_JSON: Final = "application/did+ld+json"
DID_RESOLUTION: Final = "application/did-resolution+json"
DID_URL_DEREFERENCING: Final = "application/did-url-dereferencing+json"
URI_LIST: Final = "text/uri-list"
REPRESENTATIONS: Final = (DID_JSON, DID_LD_JSON)

# Not in a spec: bounds so a hostile header costs little to read.
MAX_ACCEPT_LENGTH: Final = 2048
MAX_MEDIA_RANGES: Final = 32


def _dumps(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def produce(document: DIDDocument, media_type: str) -> bytes:
    """The bytes of `document` in `media_type` (DID Core §6.2.1, §6.3.1).

    Raises `ValueError` for a media type that is not a representation: the
    caller decides which ones it offers (`REPRESENTATIONS`).
    """
    entries = document.to_json()
    if media_type == DID_JSON:
        entries.pop("@context", None)
    elif media_type == DID_LD_JSON:
        if "@context" not in entries:
            methods = tuple(document.all_verification_methods())
            entries = {"@context": list(default_context(methods)), **entries}
    else:
        raise ValueError("not a DID document representation")
    return _dumps(entries)


def produce_node(node: Mapping[str, Any], document: DIDDocument, media_type: str) -> bytes:
    """A verification method or service of `document`, alone, in `media_type`.

    In JSON-LD the node keeps the document's `@context`, without which its
    terms mean nothing once it stands alone.
    """
    if media_type == DID_JSON:
        return _dumps(node)
    if media_type == DID_LD_JSON:
        context = json.loads(produce(document, DID_LD_JSON))["@context"]
        return _dumps({"@context": context, **node})
    raise ValueError("not a DID document representation")


@dataclass(frozen=True, slots=True)
class MediaRange:
    """One element of an `Accept` header: `type/subtype;params;q=...` (RFC 9110 §12.5.1)."""

    type: str
    subtype: str
    params: tuple[tuple[str, str], ...]
    q: float

    def matches(self, media_type: str) -> int:
        """How specifically this range names `media_type`: 3 exact, 2 `type/*`, 1 `*/*`, 0 not.

        Parameters (`charset=utf-8`...) do not change which type is named: govid's
        offers have none, and a client adding one still wants that type.
        """
        kind, _, sub = media_type.partition("/")
        if self.type == "*" and self.subtype == "*":
            return 1
        if self.type == kind and self.subtype == "*":
            return 2
        return 3 if (self.type, self.subtype) == (kind, sub) else 0


def _token(text: str) -> bool:
    # RFC 9110 §5.6.2 tchar.
    return bool(text) and all(c.isascii() and (c.isalnum() or c in "!#$%&'*+-.^_`|~") for c in text)


def _media_range(text: str) -> MediaRange | None:
    kind, _, rest = text.strip().partition("/")
    subtype, *raw_params = rest.split(";")
    kind, subtype = kind.strip().lower(), subtype.strip().lower()
    if not (_token(kind) and _token(subtype)) or (kind == "*" and subtype != "*"):
        return None
    q = 1.0
    params: list[tuple[str, str]] = []
    for raw in raw_params:
        name, eq, value = raw.strip().partition("=")
        name = name.strip().lower()
        if not eq or not _token(name):
            return None
        if name == "q":
            # RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
            value = value.strip()
            try:
                q = float(value)
            except ValueError:
                return None
            if not 0.0 <= q <= 1.0 or len(value) > 5:
                return None
            break  # what follows q are accept-ext parameters, ignored
        params.append((name, value.strip()))
    return MediaRange(kind, subtype, tuple(params), q)


def parse_accept(header: str) -> tuple[MediaRange, ...]:
    """The valid media ranges of an `Accept` header; malformed elements are skipped."""
    elements = header[:MAX_ACCEPT_LENGTH].split(",")[:MAX_MEDIA_RANGES]
    return tuple(r for r in (_media_range(e) for e in elements if e.strip()) if r is not None)


def negotiate(header: str | None, offers: Sequence[str]) -> str | None:
    """The offer to send for `header`, or None when no offer is acceptable (a 406).

    `offers` are in the server's order of preference, the default first.
    """
    if header is None or not header.strip():
        return offers[0] if offers else None
    ranges = parse_accept(header)
    best: tuple[float, int, int] | None = None
    chosen = None
    for position, offer in enumerate(offers):
        matched = [(r.matches(offer), r.q) for r in ranges if r.matches(offer)]
        if not matched:
            continue
        # The most specific range that names the offer decides its quality.
        specificity, q = max(matched)
        if q <= 0:
            continue
        score = (q, specificity, -position)
        if best is None or score > best:
            best, chosen = score, offer
    return chosen
