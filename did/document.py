"""DID documents (W3C DID Core 1.0 §5), parsed strictly and printed back.

`DIDDocument.from_json` accepts the JSON (`application/did+json`) or JSON-LD
form of a document and refuses, with `InvalidDIDDocument`, anything a
verifier could be confused by:

- every `id` is an absolute DID URL or a `#fragment` relative to the document
  `id` (DID Core §3.2.2), and no two verification methods or services share one;
- every relationship entry is an embedded method or a reference to a method
  defined in this same document (a reference elsewhere cannot be checked here);
- key material is public (no `d`, DID Core §5.2.1) and decodes.

Verification methods and services are in `did.verification_method`.

Ids are normalised to absolute DID URLs, a single controller is printed as
a string and empty sets are omitted, so `from_json(doc.to_json()) == doc`
always holds and `to_json(from_json(x)) == x` holds for documents already in
that normal form. Properties this module does not know are kept in
`extensions` and printed back unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args

from did.errors import VerificationMethodNotFound
from did.identifiers import DID, DIDURL
from did.verification_method import (
    _URI_RE,
    JSON_WEB_KEY,
    MAX_SET_SIZE,
    MAX_URI_LENGTH,
    MULTIKEY,
    Service,
    VerificationMethod,
    _did,
    _did_url,
    _invalid,
    _list,
    _object,
)

__all__ = [
    "DID_CONTEXT_V1",
    "DID_CONTEXT_V1_1",
    "JSON_WEB_KEY",
    "JWK_CONTEXT",
    "MAX_SERVICES",
    "MAX_SET_SIZE",
    "MAX_URI_LENGTH",
    "MAX_VERIFICATION_METHODS",
    "MULTIKEY",
    "MULTIKEY_CONTEXT",
    "RELATIONSHIPS",
    "DIDDocument",
    "Relationship",
    "RelationshipEntry",
    "Service",
    "VerificationMethod",
    "default_context",
]

Relationship = Literal[
    "authentication",
    "assertionMethod",
    "keyAgreement",
    "capabilityInvocation",
    "capabilityDelegation",
]
RELATIONSHIPS: Final[tuple[Relationship, ...]] = get_args(Relationship)

DID_CONTEXT_V1: Final = "https://www.w3.org/ns/did/v1"
DID_CONTEXT_V1_1: Final = "https://www.w3.org/ns/did/v1.1"
MULTIKEY_CONTEXT: Final = "https://w3id.org/security/multikey/v1"
JWK_CONTEXT: Final = "https://w3id.org/security/jwk/v1"

# Bounds not in the spec, so a hostile document cannot make us do much work.
MAX_VERIFICATION_METHODS: Final = 100
MAX_SERVICES: Final = 100

_DOC_KNOWN: Final = frozenset(
    {"@context", "id", "controller", "alsoKnownAs", "verificationMethod", "service"}
) | frozenset(RELATIONSHIPS)


RelationshipEntry = VerificationMethod | DIDURL

_ATTRIBUTE: Final[dict[Relationship, str]] = {
    "authentication": "authentication",
    "assertionMethod": "assertion_method",
    "keyAgreement": "key_agreement",
    "capabilityInvocation": "capability_invocation",
    "capabilityDelegation": "capability_delegation",
}


@dataclass(frozen=True, slots=True)
class DIDDocument:
    """A DID document whose cross-references all hold (checked on construction)."""

    id: DID
    context: tuple[Any, ...] | None = field(default=None, hash=False)
    controller: tuple[DID, ...] = ()
    also_known_as: tuple[str, ...] = ()
    verification_method: tuple[VerificationMethod, ...] = ()
    authentication: tuple[RelationshipEntry, ...] = ()
    assertion_method: tuple[RelationshipEntry, ...] = ()
    key_agreement: tuple[RelationshipEntry, ...] = ()
    capability_invocation: tuple[RelationshipEntry, ...] = ()
    capability_delegation: tuple[RelationshipEntry, ...] = ()
    service: tuple[Service, ...] = ()
    extensions: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        methods = list(self.all_verification_methods())
        if len(methods) > MAX_VERIFICATION_METHODS:
            raise _invalid(f"a document has at most {MAX_VERIFICATION_METHODS} methods")
        ids = [vm.id for vm in methods]
        if len(set(ids)) != len(ids):
            raise _invalid("two verification methods share an id")
        service_ids = [s.id for s in self.service]
        if len(set(service_ids)) != len(service_ids):
            raise _invalid("two services share an id")
        known = set(ids)
        for name in RELATIONSHIPS:
            for entry in self.relationship(name):
                if isinstance(entry, DIDURL) and entry not in known:
                    raise _invalid(f"a {name} reference names no method of this document")

    # --- parsing and printing ---------------------------------------------------

    @classmethod
    def from_json(cls, value: object) -> DIDDocument:
        """Parse a DID document map strictly; raise `InvalidDIDDocument`."""
        obj = _object(value, "a DID document")
        doc_id = _did(obj.get("id"), "the document id")
        context = cls._parse_context(obj)
        controller: tuple[DID, ...] = ()
        if "controller" in obj:
            raw = obj["controller"]
            items = [raw] if isinstance(raw, str) else _list(raw, "controller")
            controller = tuple(_did(c, "a controller") for c in items)
        also_known_as: tuple[str, ...] = ()
        if "alsoKnownAs" in obj:
            aka = _list(obj["alsoKnownAs"], "alsoKnownAs")
            if not all(isinstance(a, str) and _URI_RE.fullmatch(a) for a in aka):
                raise _invalid("alsoKnownAs entries must be URIs")
            also_known_as = tuple(aka)
        vms = tuple(
            VerificationMethod.from_json(v, base=doc_id)
            for v in _list(
                obj.get("verificationMethod", []), "verificationMethod", MAX_VERIFICATION_METHODS
            )
        )
        rel = {name: cls._parse_relationship(obj, name, doc_id) for name in RELATIONSHIPS}
        services = tuple(
            Service.from_json(s, base=doc_id)
            for s in _list(obj.get("service", []), "service", MAX_SERVICES)
        )
        extensions = copy.deepcopy({k: v for k, v in obj.items() if k not in _DOC_KNOWN})
        return cls(
            id=doc_id,
            context=context,
            controller=controller,
            also_known_as=also_known_as,
            verification_method=vms,
            service=services,
            extensions=extensions,
            authentication=rel["authentication"],
            assertion_method=rel["assertionMethod"],
            key_agreement=rel["keyAgreement"],
            capability_invocation=rel["capabilityInvocation"],
            capability_delegation=rel["capabilityDelegation"],
        )

    @staticmethod
    def _parse_relationship(
        obj: Mapping[str, Any], name: Relationship, doc_id: DID
    ) -> tuple[RelationshipEntry, ...]:
        entries: list[RelationshipEntry] = []
        for item in _list(obj.get(name, []), name, MAX_VERIFICATION_METHODS):
            if isinstance(item, str):
                entries.append(_did_url(item, doc_id, f"a {name} reference"))
            else:
                entries.append(VerificationMethod.from_json(item, base=doc_id))
        return tuple(entries)

    @staticmethod
    def _parse_context(obj: Mapping[str, Any]) -> tuple[Any, ...] | None:
        if "@context" not in obj:
            return None  # plain JSON (application/did+json) needs none
        raw = obj["@context"]
        items = [raw] if isinstance(raw, str) else _list(raw, "@context")
        if not items or not all(isinstance(i, str | dict) for i in items):
            raise _invalid("@context must be a URI or a list of URIs and maps")
        # DID Core §6.3.1: the first context is the DID context.
        if items[0] not in (DID_CONTEXT_V1, DID_CONTEXT_V1_1):
            raise _invalid("the first @context must be the DID context")
        return tuple(copy.deepcopy(items))

    def to_json(self) -> dict[str, Any]:
        """The document as a JSON-ready map (see the module docstring for its normal form)."""
        out: dict[str, Any] = {}
        if self.context is not None:
            out["@context"] = copy.deepcopy(list(self.context))
        out["id"] = str(self.id)
        if len(self.controller) == 1:
            out["controller"] = str(self.controller[0])
        elif self.controller:
            out["controller"] = [str(c) for c in self.controller]
        if self.also_known_as:
            out["alsoKnownAs"] = list(self.also_known_as)
        if self.verification_method:
            out["verificationMethod"] = [vm.to_json() for vm in self.verification_method]
        for name in RELATIONSHIPS:
            entries = self.relationship(name)
            if entries:
                out[name] = [
                    e.to_json() if isinstance(e, VerificationMethod) else str(e) for e in entries
                ]
        if self.service:
            out["service"] = [s.to_json() for s in self.service]
        out.update(copy.deepcopy(self.extensions))
        return out

    # --- queries ------------------------------------------------------------------

    def relationship(self, name: Relationship) -> tuple[RelationshipEntry, ...]:
        """The entries of verification relationship `name` (DID Core §5.3)."""
        if name not in _ATTRIBUTE:
            raise ValueError("unknown verification relationship")
        entries: tuple[RelationshipEntry, ...] = getattr(self, _ATTRIBUTE[name])
        return entries

    def all_verification_methods(self) -> Iterator[VerificationMethod]:
        """Every method defined in the document: listed ones, then embedded ones."""
        yield from self.verification_method
        for name in RELATIONSHIPS:
            for entry in self.relationship(name):
                if isinstance(entry, VerificationMethod):
                    yield entry

    def find_verification_method(
        self, ref: str | DIDURL, relationship: Relationship = "assertionMethod"
    ) -> VerificationMethod:
        """The method `ref` names, if it is in `relationship`; else raise.

        `ref` is an absolute DID URL or a `#fragment` relative to this document.
        A method of another DID, or one that exists but is not authorised for
        `relationship`, raises `VerificationMethodNotFound`: a key fit for key
        agreement must not verify an assertion.
        """
        url = ref if isinstance(ref, DIDURL) else DIDURL.parse(ref, base=self.id)
        if url.did != self.id:
            raise VerificationMethodNotFound("the key id names a DID other than this document's")
        by_id = {vm.id: vm for vm in self.all_verification_methods()}
        for entry in self.relationship(relationship):
            vm = entry if isinstance(entry, VerificationMethod) else by_id[entry]
            if vm.id == url:
                return vm
        raise VerificationMethodNotFound(
            f"the document has no such verification method for {relationship}"
        )


def default_context(methods: tuple[VerificationMethod, ...]) -> tuple[str, ...]:
    """DID v1 plus the Multikey and JWK contexts the `methods` need (for JSON-LD readers)."""
    context = [DID_CONTEXT_V1]
    if any(vm.type == MULTIKEY for vm in methods):
        context.append(MULTIKEY_CONTEXT)
    if any(vm.type == JSON_WEB_KEY for vm in methods):
        context.append(JWK_CONTEXT)
    return tuple(context)
