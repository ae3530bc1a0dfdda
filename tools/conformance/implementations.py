"""The W3C DID test suite's implementation files, built from govid's own results.

Three shapes, as the suite's `suites/implementations/*.json` use them:

- a *DID method* file (suites did-identifier, did-core-properties,
  did-production, did-consumption): DIDs, each with its document data model
  and, per representation, the bytes `resolveRepresentation` produced, the
  representation-specific entries and the metadata;
- a *resolver* file (did-resolution): `resolve` / `resolveRepresentation`
  executions with their inputs, outputs and expected outcome;
- a *dereferencer* file (did-url-dereferencing): `dereference` executions.

Nothing here invents an output: every builder takes a govid result object
(`ResolutionResult`, `RepresentationResult`, `DereferencingResult`) or the
JSON govid served, and only lays it out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from did.dereference import DereferencingResult
from did.representations import DID_LD_JSON
from did.resolver import RepresentationResult, ResolutionResult

IMPLEMENTER = "govid"

# The suite's outcome names (suites/resolution-utils.js `findExpectedOutcome`).
DEFAULT = "defaultOutcome"
DEACTIVATED = "deactivatedOutcome"
INVALID_DID = "invalidDidErrorOutcome"
INVALID_DID_URL = "invalidDidUrlErrorOutcome"
NOT_FOUND = "notFoundErrorOutcome"


@dataclass
class MethodFile:
    """A DID method file: one entry per DID, one block per representation."""

    did_method: str
    implementation: str
    dids: list[str] = field(default_factory=list)
    did_parameters: dict[str, str] = field(default_factory=dict)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, did: str, shown: Sequence[RepresentationResult]) -> None:
        """Add `did` from its `resolveRepresentation` results, one per media type.

        The data model's properties are the JSON representation's entries
        without the representation-specific ones (`@context`, DID Core §6.3).
        """
        entry: dict[str, Any] = {}
        properties: dict[str, Any] | None = None
        for result in shown:
            if result.error is not None or result.content_type is None:
                raise ValueError(f"{did} did not resolve: {result.error}")
            parsed = json.loads(result.document_stream)
            specific = (
                {"@context": parsed["@context"]} if result.content_type == DID_LD_JSON else {}
            )
            model = {k: v for k, v in parsed.items() if k not in specific}
            if properties is not None and model != properties:
                raise ValueError(f"{did}: the representations disagree on the data model")
            properties = model
            entry[result.content_type] = {
                "didDocumentDataModel": {"representationSpecificEntries": specific},
                "representation": result.document_stream.decode("utf-8"),
                "didDocumentMetadata": dict(result.document_metadata),
                "didResolutionMetadata": dict(result.resolution_metadata),
            }
        entry["didDocumentDataModel"] = {"properties": properties}
        self.dids.append(did)
        self.entries[did] = entry

    def to_json(self) -> dict[str, Any]:
        content_types = sorted({t for e in self.entries.values() for t in e if "/" in t})
        return {
            "didMethod": self.did_method,
            "implementation": self.implementation,
            "implementer": IMPLEMENTER,
            "supportedContentTypes": content_types,
            "dids": list(self.dids),
            "didParameters": dict(self.did_parameters),
            **self.entries,
        }


@dataclass
class ExecutionFile:
    """A resolver or dereferencer file: executions and the outcome each is expected to have."""

    did_method: str
    implementation: str
    executions: list[dict[str, Any]] = field(default_factory=list)
    outcomes: dict[str, list[int]] = field(default_factory=dict)

    def _add(self, execution: dict[str, Any], outcome: str) -> None:
        self.outcomes.setdefault(outcome, []).append(len(self.executions))
        self.executions.append(execution)

    def resolve(
        self, did: str, options: Mapping[str, Any], result: ResolutionResult, outcome: str
    ) -> None:
        self._add(
            {
                "function": "resolve",
                "input": {"did": did, "resolutionOptions": dict(options)},
                "output": result.to_json(),
            },
            outcome,
        )

    def resolve_served(
        self, did: str, options: Mapping[str, Any], served: Mapping[str, Any], outcome: str
    ) -> None:
        """A `resolve` whose result is the JSON an HTTP resolver answered."""
        self._add(
            {
                "function": "resolve",
                "input": {"did": did, "resolutionOptions": dict(options)},
                "output": {
                    "didDocument": served["didDocument"],
                    "didDocumentMetadata": served["didDocumentMetadata"],
                    "didResolutionMetadata": served["didResolutionMetadata"],
                },
            },
            outcome,
        )

    def resolve_representation(
        self, did: str, options: Mapping[str, Any], result: RepresentationResult, outcome: str
    ) -> None:
        self._add(
            {
                "function": "resolveRepresentation",
                "input": {"did": did, "resolutionOptions": dict(options)},
                "output": {
                    "didDocumentStream": result.document_stream.decode("utf-8"),
                    "didDocumentMetadata": dict(result.document_metadata),
                    "didResolutionMetadata": dict(result.resolution_metadata),
                },
            },
            outcome,
        )

    def dereference(
        self, did_url: str, options: Mapping[str, Any], result: DereferencingResult, outcome: str
    ) -> None:
        self._add(
            {
                "function": "dereference",
                "input": {"didUrl": did_url, "dereferenceOptions": dict(options)},
                "output": {
                    "dereferencingMetadata": dict(result.dereferencing_metadata),
                    "contentStream": result.content.decode("utf-8"),
                    "contentMetadata": dict(result.content_metadata),
                },
            },
            outcome,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "didMethod": self.did_method,
            "implementation": self.implementation,
            "implementer": IMPLEMENTER,
            "expectedOutcomes": {k: list(v) for k, v in self.outcomes.items()},
            "executions": list(self.executions),
        }
