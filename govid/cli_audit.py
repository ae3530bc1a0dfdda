"""Rendering `govid registry audit` with a progress bar (the audit itself: registry.audit)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from registry.audit import audit_registry, render_report
from registry.trust import witness_policy


@dataclass(frozen=True, slots=True)
class PinnedKeys:
    log_vkey: str
    witness_vkeys: tuple[str, ...]
    quorum: int


def stack_keys(path: Path) -> PinnedKeys:
    """The keys a `govid up` stack.json pins (its `ledger` member)."""
    ledger = json.loads(path.read_text(encoding="utf-8"))["ledger"]
    return PinnedKeys(ledger["log_vkey"], tuple(ledger["witness_vkeys"]), int(ledger["quorum"]))


def run_audit(
    url: str, *, log_vkey: str | None, witnesses: Sequence[str], quorum: int | None
) -> bool:
    """Audit the registry at `url`; print the report; True when it is clean."""
    policy = witness_policy(witnesses, quorum) if witnesses else None
    verifiers = list(policy.witnesses) if policy is not None else []
    console = Console(stderr=True)
    with (
        httpx.Client(timeout=30.0) as client,
        Progress(
            TextColumn("auditing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("entries", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = audit_registry(
            url,
            log_vkey=log_vkey,
            policy=policy,
            client=client,
            progress=advance,
            witnesses=verifiers,
        )
    print(render_report(report))
    return report.ok
