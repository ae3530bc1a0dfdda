"""Named checks and the report a counter acts on (STYLE E5).

A presentation is accepted only when every check ran and passed. Check
names are as stable as error codes: counters and support staff read them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from did.errors import GovidError

__all__ = ["CheckOutcome", "VerificationReport", "run_checks"]


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    name: str
    passed: bool
    code: str | None = None
    message: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "passed": self.passed}
        if not self.passed:
            out["code"] = self.code
            out["message"] = self.message
        return out


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """The outcome of every check that ran, and the names of those that did not.

    `disclosed` holds the claims a counter may show, filled only for an
    accepted presentation (nothing unverified is ever handed on).
    """

    outcomes: tuple[CheckOutcome, ...]
    not_run: tuple[str, ...]
    disclosed: Mapping[str, Any] | None = field(default=None, compare=False)

    @property
    def accepted(self) -> bool:
        # An empty report accepts nothing: zero checks is a bug, not a pass.
        return bool(self.outcomes) and not self.not_run and all(o.passed for o in self.outcomes)

    @property
    def failed(self) -> CheckOutcome | None:
        return next((o for o in self.outcomes if not o.passed), None)

    def to_json(self) -> dict[str, Any]:
        failed = self.failed
        return {
            "accepted": self.accepted,
            "checks": [o.to_json() for o in self.outcomes],
            "not_run": list(self.not_run),
            "failed_check": None if failed is None else failed.name,
            "error": None if failed is None else failed.code,
            "disclosed": dict(self.disclosed) if self.accepted and self.disclosed else None,
        }


def run_checks(checks: Sequence[tuple[str, Callable[[], None]]]) -> VerificationReport:
    """Run `checks` in order and stop at the first failure.

    Later checks assume earlier ones passed (no point matching disclosures
    against an unsigned payload), so they are listed as not run.
    """
    outcomes: list[CheckOutcome] = []
    for position, (name, check) in enumerate(checks):
        try:
            check()
        except GovidError as exc:  # bugs (anything else) still surface as 500s
            outcomes.append(CheckOutcome(name, False, exc.code, exc.message))
            rest = tuple(n for n, _ in checks[position + 1 :])
            return VerificationReport(tuple(outcomes), rest)
        outcomes.append(CheckOutcome(name, True))
    return VerificationReport(tuple(outcomes), ())
