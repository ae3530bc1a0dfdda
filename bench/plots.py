"""The figures of docs/PERFORMANCE.md, drawn from the results records (matplotlib, Agg).

Each plot reads only `latest.json` records, so a run of one suite redraws
every plot with the other suites' last figures; a plot whose records are
missing is skipped (and the report says so).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

__all__ = ["HEADLINES", "PLOTS", "render"]

PLOTS = {
    "proofs": "proof_scaling.png",
    "status_lists": "status_lists.png",
    "throughput": "throughput.png",
    "ratios": "ratios.png",
}

# (record, label, aim or None, True when higher is better); ratios as recorded.
HEADLINES: tuple[tuple[str, str, float | None, bool], ...] = (
    ("sdjwt.issue.vs_floor", "issue / signing floor", 1.3, False),
    ("sdjwt.present.vs_floor", "present / signing floor", None, False),
    ("sdjwt.verify.vs_floor", "verify / floor", 1.3, False),
    ("sdjwt.verify.vs_reference", "sd_jwt time / govid verify", 2.5, True),
    ("verifier.full.vs_floor", "full verification / floor", None, False),
    ("verifier.full.vs_reference", "sd_jwt time / full verification", None, True),
    ("http.verify.vs_bare", "HTTP verify / bare endpoint", 0.7, True),
    ("exchange.vci", "OpenID4VCI requests / bare", None, True),
    ("exchange.vp", "OpenID4VP requests / bare", None, True),
    ("registry.append_http_sqlite", "appends (SQLite) / bare", 0.8, True),
    ("registry.append_http_postgres", "appends (PostgreSQL) / bare", 0.8, True),
    ("registry.resolve_http_sqlite", "resolutions / bare", None, True),
    ("registry.proof_growth", "proof time 1e7 / 1e3", None, False),
    ("status_list.publish.1e6", "status list publish 1e6 / floor", None, False),
    ("status_list.size.1e6", "status list size / entropy", None, False),
)


def _by_name(records: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {str(r["name"]): r for r in records}


def _size_of(tag: str) -> int:
    if tag == "131072":
        return 131_072
    match = re.fullmatch(r"1e(\d+)", tag)
    return 10 ** int(match.group(1)) if match else 0


def _proofs(records: dict[str, Mapping[str, Any]], path: Path) -> bool:
    points = sorted(
        (_size_of(name.rsplit(".", 1)[1]), r)
        for name, r in records.items()
        if re.fullmatch(r"registry\.proof_time\.1e\d+", name)
    )
    if len(points) < 2:
        return False
    sizes = [n for n, _ in points]
    times = [float(r["value"]) for _, r in points]
    proof_bytes = [
        float(records[f"registry.proof_size.1e{round(math.log10(n))}"]["value"]) for n in sizes
    ]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(sizes, times, "o-", label="Ledger.inclusion_proof")
    left.plot(
        sizes,
        [times[0] * math.log2(n) / math.log2(sizes[0]) for n in sizes],
        "--",
        label="log n from 10^3",
    )
    left.set(xscale="log", xlabel="log entries", ylabel="µs per proof", title="Proof time")
    left.legend()
    right.plot(sizes, proof_bytes, "o-", label="mean proof size")
    right.plot(sizes, [32 * math.log2(n) for n in sizes], "--", label="32 · log2 n")
    right.set(xscale="log", xlabel="log entries", ylabel="bytes", title="Proof size")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _status_lists(records: dict[str, Mapping[str, Any]], path: Path) -> bool:
    tags = sorted(
        {
            n.rsplit(".", 1)[1]
            for n in records
            if re.fullmatch(r"status_list\.size\.(131072|1e\d+)", n)
        },
        key=_size_of,
    )
    if not tags:
        return False
    sizes = [_size_of(t) for t in tags]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for what in ("encode", "publish", "check"):
        values = [records.get(f"status_list.{what}.{t}") for t in tags]
        if all(v is not None for v in values):
            left.plot(sizes, [float(v["value"]) for v in values if v], "o-", label=what)
    left.set(xscale="log", yscale="log", xlabel="entries (2 bits, 1 % revoked)", ylabel="ms")
    left.set_title("Status list time")
    left.legend()
    compressed = [float(records[f"status_list.size.{t}"]["value"]) for t in tags]
    bound = [
        c / float(records[f"status_list.size.{t}"]["ratio"])
        for c, t in zip(compressed, tags, strict=True)
    ]
    right.plot(sizes, compressed, "o-", label="ZLIB-compressed list")
    right.plot(sizes, bound, "--", label="entropy bound n·H(0.01)/8")
    right.set(
        xscale="log", yscale="log", xlabel="entries", ylabel="bytes", title="Status list size"
    )
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _series(records: dict[str, Mapping[str, Any]], prefix: str) -> tuple[list[int], list[float]]:
    points = sorted(
        (int(m.group(1)), float(r["value"]))
        for name, r in records.items()
        if (m := re.fullmatch(re.escape(prefix) + r"\.c(\d+)", name))
    )
    return [c for c, _ in points], [v for _, v in points]


def _throughput(records: dict[str, Mapping[str, Any]], path: Path) -> bool:
    series = {
        "POST /api/verify (verifier)": _series(records, "http.verify"),
        "bare verify endpoint": _series(records, "http.verify.bare"),
        "OpenID4VCI exchanges": _series(records, "exchange.vci"),
        "OpenID4VP exchanges": _series(records, "exchange.vp"),
    }
    if not any(xs for xs, _ in series.values()):
        return False
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for label, (xs, ys) in list(series.items())[:2]:
        if xs:
            left.plot(xs, ys, "o-", label=label)
    left.set(
        xscale="log",
        xlabel="concurrent requests",
        ylabel="requests/s",
        title="Verification over HTTP",
    )
    left.legend()
    for label, (xs, ys) in list(series.items())[2:]:
        if xs:
            right.plot(xs, ys, "o-", label=label)
    right.set(
        xscale="log",
        xlabel="concurrent exchanges",
        ylabel="exchanges/s",
        title="Exchanges over HTTP",
    )
    right.legend()
    for axis in (left, right):
        axis.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _ratios(records: dict[str, Mapping[str, Any]], path: Path) -> bool:
    rows = [
        (label, float(records[name]["ratio"]), aim, up)
        for name, label, aim, up in HEADLINES
        if name in records
    ]
    if not rows:
        return False
    fig, axis = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.2))
    ys = range(len(rows))
    colours = []
    for _, ratio, aim, up in rows:
        if aim is None:
            colours.append("tab:gray")
        else:
            colours.append("tab:green" if (ratio >= aim if up else ratio <= aim) else "tab:red")
    axis.barh(list(ys), [r for _, r, _, _ in rows], color=colours)
    for y, (_, ratio, aim, up) in zip(ys, rows, strict=True):
        axis.text(
            ratio,
            y,
            f" {ratio:.2f}" + ("" if aim is None else f" (aim {'≥' if up else '≤'} {aim})"),
            va="center",
            fontsize=8,
        )
        if aim is not None:
            axis.plot([aim, aim], [y - 0.4, y + 0.4], color="black", linewidth=1)
    axis.set_yticks(list(ys), [label for label, _, _, _ in rows], fontsize=8)
    axis.invert_yaxis()
    axis.set_xscale("log")
    axis.set_xlabel(
        "ratio to the reference of the same run (log scale); green met, red missed, grey no aim"
    )
    axis.set_title("Ratios per reference")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def render(records: Sequence[Mapping[str, Any]], out_dir: Path) -> dict[str, bool]:
    """Draw every plot into `out_dir`; which ones had their records."""
    out_dir.mkdir(parents=True, exist_ok=True)
    named = _by_name(records)
    drawers = {
        "proofs": _proofs,
        "status_lists": _status_lists,
        "throughput": _throughput,
        "ratios": _ratios,
    }
    return {key: drawers[key](named, out_dir / PLOTS[key]) for key in PLOTS}
