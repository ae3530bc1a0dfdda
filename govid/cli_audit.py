"""Rendering `govid registry audit` with a progress bar (the audit itself: registry.audit)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from registry.audit import audit_registry, render_report
from registry.trust import witness_policy


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
