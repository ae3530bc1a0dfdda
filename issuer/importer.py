"""Batch import from CSV: one offer per row, a result CSV, resumable without issuing twice.

Columns are claim names; nested claims use dots (`address.locality`). Empty
cells are absent claims. Cells are converted by the claim's JSON Schema type
(integer, number, boolean; arrays and objects as JSON). Each row's offer
carries an import key `sha256(file)[:16]:row:agency`, so a second run over
the same file finds the offers the first one made instead of making more
(their transaction codes are renewed, as only keyed hashes are stored).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from did.errors import GovidError
from issuer.context import IssuerContext
from issuer.credential_types import CredentialType, credential_type
from issuer.errors import AgencyNotFound, ImportFileInvalid, ImportRowInvalid
from issuer.offers import AgencyPrincipal, create_offer
from issuer.store import IssuerStore

__all__ = ["RESULT_FIELDS", "import_csv", "row_claims"]

RESULT_FIELDS: Final = ("row", "status", "offer_id", "offer_uri", "tx_code", "error")


def _schema_at(schema: Mapping[str, Any], path: list[str]) -> Mapping[str, Any]:
    node: Mapping[str, Any] = schema
    for step in path:
        node = node.get("properties", {}).get(step, {})
    return node


def _convert(text: str, schema: Mapping[str, Any], column: str) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
        if kind == "boolean":
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "yes", "no", "1", "0"):
                raise ValueError
            return lowered in ("true", "yes", "1")
        if kind in ("array", "object"):
            return json.loads(text)
    except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
        raise ImportRowInvalid(f"column '{column}' is not a valid {kind}") from exc
    return text


def row_claims(ctype: CredentialType, row: Mapping[str, str | None]) -> dict[str, Any]:
    """The claims of one CSV row, nested at dots and converted by schema type."""
    claims: dict[str, Any] = {}
    for column, cell in row.items():
        if column is None or cell is None or cell.strip() == "":
            continue
        path = column.strip().split(".")
        node = claims
        for step in path[:-1]:
            node = node.setdefault(step, {})
            if not isinstance(node, dict):
                raise ImportRowInvalid(f"column '{column}' clashes with another column")
        node[path[-1]] = _convert(cell.strip(), _schema_at(ctype.schema, path), column)
    return claims


def _done_rows(result: Path) -> dict[int, dict[str, str]]:
    if not result.is_file():
        return {}
    with result.open(newline="", encoding="utf-8") as handle:
        return {
            int(r["row"]): r
            for r in csv.DictReader(handle)
            if r.get("status") == "created" and r.get("row", "").isdigit()
        }


def import_csv(
    ctx: IssuerContext,
    *,
    agency: str,
    configuration_id: str | None,
    source: Path,
    result: Path,
    ttl: int | None = None,
    progress: Callable[[Iterator[tuple[int, dict[str, str | None]]], int], Iterable[Any]]
    | None = None,
) -> dict[str, int]:
    """Import `source`, appending one line per row to `result`; returns counts.

    Rows already `created` in `result` (a previous, interrupted run) are skipped.
    Each result line is flushed and fsynced before the next row starts.
    Without `configuration_id` the agency's first credential type is used (its
    primary one: civil identity for civil affairs, and so on).
    """
    with ctx.read_session() as session:
        row = IssuerStore(session).agency(agency)
    if row is None:
        raise AgencyNotFound("no such agency")
    if configuration_id is None:
        configuration_id = row.type_ids()[0]
    ctype = credential_type(configuration_id)
    principal = AgencyPrincipal(agency, "import", frozenset(row.type_ids()))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    done = _done_rows(result)
    try:
        with source.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ImportFileInvalid("the file is not a UTF-8 CSV file") from exc
    counts = {"created": 0, "error": 0, "skipped": 0}
    fresh = not result.is_file() or result.stat().st_size == 0
    with result.open("a", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=RESULT_FIELDS)
        if fresh:
            writer.writeheader()
        numbered: Iterator[tuple[int, dict[str, str | None]]] = iter(enumerate(rows, start=1))
        iterable = progress(numbered, len(rows)) if progress else numbered
        for number, cells in iterable:
            if number in done:
                counts["skipped"] += 1
                continue
            line: dict[str, Any] = {"row": number}
            try:
                claims = row_claims(ctype, cells)
                offer = create_offer(
                    ctx,
                    principal,
                    configuration_id=configuration_id,
                    claims=claims,
                    ttl=ttl,
                    import_key=f"{digest}:{number}:{agency}",
                )
                if "tx_code" not in offer:  # redeemed since: nothing to hand out again
                    line.update(status="skipped", offer_id=offer["id"])
                    counts["skipped"] += 1
                else:
                    line.update(
                        status="created",
                        offer_id=offer["id"],
                        offer_uri=offer["offer_uri"],
                        tx_code=offer["tx_code"],
                    )
                    counts["created"] += 1
            except GovidError as exc:
                # The code and sentence only; the row's values stay out of the result file.
                path = "/".join(str(p) for p in getattr(exc, "path", ()))
                line.update(status="error", error=f"{exc.code}: {exc.message}")
                if path and path not in exc.message:
                    line["error"] += f" ({path})"
                counts["error"] += 1
            writer.writerow(line)
            out.flush()
            os.fsync(out.fileno())
    return counts
