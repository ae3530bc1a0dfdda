"""Batch CSV import: row validation, result CSV, resumable without duplicate offers."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlmodel import func, select

from issuer.importer import import_csv
from issuer.store import OfferRow
from tests.issuer.conftest import Stack

_ROWS = [
    "personal_id,given_name,family_name,birthdate,nationality,address.locality,address.country",
    "CZ-0001,Jan,Novak,1980-01-02,CZ,Praha,CZ",
    "CZ-0002,Eva,Dvorak,1999-13-01,CZ,Brno,CZ",  # no 13th month
    "CZ-0003,Petr,Svoboda,2010-05-05,CZ,Plzen,CZ",
]


def _result(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _offers(stack: Stack) -> int:
    with stack.ctx.session() as session:
        return int(session.exec(select(func.count()).select_from(OfferRow)).one())


def test_import_validates_rows_and_resumes_without_issuing_twice(
    stack: Stack, tmp_path: Path
) -> None:
    source = tmp_path / "citizens.csv"
    source.write_text("\n".join(_ROWS) + "\n", encoding="utf-8")
    result = tmp_path / "citizens.result.csv"
    seen: list[int] = []

    def progress(rows, total):  # type: ignore[no-untyped-def]
        assert total == 3
        for item in rows:
            seen.append(item[0])
            yield item

    counts = import_csv(
        stack.ctx,
        agency="civil",
        configuration_id="civil_identity",
        source=source,
        result=result,
        progress=progress,
    )
    assert counts == {"created": 2, "error": 1, "skipped": 0} and seen == [1, 2, 3]
    lines = _result(result)
    assert [r["status"] for r in lines] == ["created", "error", "created"]
    assert lines[1]["error"].startswith("issuer.claims_invalid")
    assert "birthdate" in lines[1]["error"] and "1999-13-01" not in lines[1]["error"]
    assert lines[0]["offer_uri"].startswith("openid-credential-offer://")
    assert len(lines[0]["tx_code"]) == 6
    assert _offers(stack) == 2

    # A crash after the third offer was committed but before its line was written:
    text = result.read_text(encoding="utf-8").splitlines()
    result.write_text("\n".join(text[:-1]) + "\n", encoding="utf-8")
    again = import_csv(
        stack.ctx, agency="civil", configuration_id="civil_identity", source=source, result=result
    )
    assert again == {"created": 1, "error": 1, "skipped": 1}
    lines = _result(result)
    assert [(r["row"], r["status"]) for r in lines] == [
        ("1", "created"),
        ("2", "error"),
        ("2", "error"),
        ("3", "created"),
    ]
    assert lines[3]["offer_id"] == _result_offer_id(text[-1])
    assert _offers(stack) == 2  # the third row's offer was found, not made again


def _result_offer_id(line: str) -> str:
    return next(csv.reader([line]))[2]
