"""Benchmark results: what was measured per target, the plain-text tables, the goals check, JSON.

Ratios compare ops/s with the bare-aiohttp ceiling and with moto at the same workload and concurrency.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.loadgen import CellResult

CEILING = "bare-aiohttp"
MOTO = "moto"
DURABLE_FLOOR = "bare-aiohttp-fsync"
SUBJECTS = ("miniaws", "miniaws-ephemeral")
GOALS_LINE = (
    "Goals: GetObject 1 KiB ≥ 60 % of ceiling and ≥ 10× moto; PutObject 1 KiB persistent ≥ 40 % of ceiling; "
    "startup < 0.5 s; idle RSS < 80 MiB"
)


@dataclass(slots=True)
class TargetResult:
    name: str
    role: str
    status: str = "ok"  # "ok", "failed" (did not start) or "skipped" (not installed)
    note: str = ""
    startup_s: float | None = None
    idle_rss_mib: float | None = None
    peak_rss_mib: float | None = None
    # workload name → concurrency → the measurement, or why there is none
    cells: dict[str, dict[int, CellResult | str]] = field(default_factory=dict)

    def cell(self, workload: str, concurrency: int) -> CellResult | None:
        found = self.cells.get(workload, {}).get(concurrency)
        return found if isinstance(found, CellResult) and found.requests else None


@dataclass(slots=True)
class RunReport:
    meta: dict[str, Any]
    workloads: list[tuple[str, str]]  # (name, title)
    concurrencies: list[int]
    targets: list[TargetResult]

    def by_name(self, name: str) -> TargetResult | None:
        return next((t for t in self.targets if t.name == name and t.status == "ok"), None)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str) -> list[str]:
    """Aligned plain text; ``align`` has "l" or "r" per column; a shorter row ends in a note."""
    rows = list(rows)
    widths = [len(h) for h in header]
    for row in rows:
        measured = row if len(row) == len(header) else row[:2]
        widths = [max(w, len(c)) for w, c in zip(widths, measured, strict=False)] + widths[len(measured) :]

    def line(row: Sequence[str]) -> str:
        if len(row) != len(header):  # name, concurrency, note spanning the rest
            return "  ".join([row[0].ljust(widths[0]), row[1].rjust(widths[1]), *row[2:]]).rstrip()
        cells = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align, strict=True)]
        return "  ".join(cells).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *map(line, rows)]


def _ms(value: float) -> str:
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def _usable(cell: CellResult | None) -> bool:
    # Fast failures would inflate ops/s, so a cell with more than 1 % errors is compared with nothing.
    return cell is not None and cell.ops_per_s > 0 and cell.errors <= 0.01 * cell.requests


def _ratio(report: RunReport, target: TargetResult, other: str, workload: str, conc: int) -> float | None:
    ref = report.by_name(other)
    mine, theirs = target.cell(workload, conc), ref.cell(workload, conc) if ref else None
    if not _usable(mine) or not _usable(theirs):
        return None
    assert mine is not None and theirs is not None
    return mine.ops_per_s / theirs.ops_per_s


def workload_table(report: RunReport, workload: str, title: str) -> list[str]:
    header = ("target", "conc", "ops/s", "p50 ms", "p99 ms", "errors", "vs ceiling", "vs moto")
    rows: list[Sequence[str]] = []
    for target in report.targets:
        if target.status != "ok":
            rows.append((target.name, "-", target.status if target.status == "skipped" else "failed to start"))
            continue
        for conc in report.concurrencies:
            got = target.cells.get(workload, {}).get(conc)
            if got is None:
                continue
            if isinstance(got, str) or not got.requests:
                rows.append((target.name, str(conc), got if isinstance(got, str) else "no request completed"))
                continue
            to_ceiling = _ratio(report, target, CEILING, workload, conc)
            to_moto = _ratio(report, target, MOTO, workload, conc)
            rows.append(
                (
                    target.name,
                    str(conc),
                    f"{got.ops_per_s:,.0f}",
                    _ms(got.p50_ms),
                    _ms(got.p99_ms),
                    f"{got.errors} !" if got.errors else "0",
                    f"{to_ceiling * 100:.0f} %" if to_ceiling is not None else "",
                    f"{to_moto:.1f}×" if to_moto is not None else "",
                )
            )
    return [title, *_table(header, rows, "lrrrrrrr")]


def startup_table(report: RunReport) -> list[str]:
    header = ("target", "startup s", "idle RSS MiB", "peak RSS MiB", "note")
    rows = []
    for t in report.targets:
        startup = f"{t.startup_s:.3f}" if t.startup_s is not None else "-"
        idle = f"{t.idle_rss_mib:.1f}" if t.idle_rss_mib is not None else "-"
        peak = f"{t.peak_rss_mib:.1f}" if t.peak_rss_mib is not None else "-"
        note = {"failed": "failed to start: ", "skipped": ""}.get(t.status, "") + t.note
        rows.append((t.name, startup, idle, peak, note))
    return ["Startup and memory", *_table(header, rows, "lrrrl")]


def _check(ok: bool | None, text: str, detail: str) -> str:
    mark = {True: "✓", False: "✗", None: "–"}[ok]
    return f"  {mark} {text}: {detail}"


def _ratio_goal(
    report: RunReport, subject: str | None, other: str, workload: str, need: float, pct: bool
) -> tuple[bool | None, str]:
    target = report.by_name(subject) if subject else None
    if target is None:
        return None, "not measured (no miniaws target ran)"
    parts, oks = [], []
    for conc in report.concurrencies:
        ratio = _ratio(report, target, other, workload, conc)
        if ratio is None:
            continue
        oks.append(ratio >= need)
        parts.append(f"c{conc} " + (f"{ratio * 100:.0f} %" if pct else f"{ratio:.1f}×"))
    if not parts:
        return None, f"not measured ({subject} or {other} has no {workload} result)"
    return all(oks), f"{subject} " + ", ".join(parts)


def goals(report: RunReport) -> list[str]:
    subject = next((name for name in SUBJECTS if report.by_name(name)), None)
    lines = [GOALS_LINE]
    ok, detail = _ratio_goal(report, subject, CEILING, "get-1k", 0.60, pct=True)
    lines.append(_check(ok, "GetObject 1 KiB ≥ 60 % of ceiling", detail))
    ok, detail = _ratio_goal(report, subject, MOTO, "get-1k", 10.0, pct=False)
    lines.append(_check(ok, "GetObject 1 KiB ≥ 10× moto", detail))
    ok, detail = _ratio_goal(report, "miniaws" if report.by_name("miniaws") else None, CEILING, "put-1k", 0.40, True)
    lines.append(_check(ok, "PutObject 1 KiB persistent ≥ 40 % of ceiling", detail))
    if report.by_name(DURABLE_FLOOR):
        # what a server doing nothing but one flush per acknowledged write reaches: the bound for the goal above
        _, detail = _ratio_goal(report, DURABLE_FLOOR, CEILING, "put-1k", 0.0, True)
        lines.append(f"    (the durable floor, {detail} of ceiling)")
    target = report.by_name(subject) if subject else None
    if target is None or target.startup_s is None or target.idle_rss_mib is None:
        lines.append(_check(None, "startup < 0.5 s", "not measured (no miniaws target ran)"))
        lines.append(_check(None, "idle RSS < 80 MiB", "not measured (no miniaws target ran)"))
    else:
        lines.append(_check(target.startup_s < 0.5, "startup < 0.5 s", f"{subject} {target.startup_s:.3f} s"))
        lines.append(_check(target.idle_rss_mib < 80, "idle RSS < 80 MiB", f"{subject} {target.idle_rss_mib:.1f} MiB"))
    return lines


def render(report: RunReport) -> str:
    out: list[str] = [f"{k}: {v}" for k, v in report.meta.items() if k in ("machine", "pinning", "timing")]
    for name, title in report.workloads:
        out += ["", *workload_table(report, name, title)]
    out += ["", *startup_table(report)]
    flagged = any(
        isinstance(c, CellResult) and c.errors for t in report.targets for w in t.cells.values() for c in w.values()
    )
    if flagged:
        out += [
            "",
            "! = the cell had errors (non-2xx or connection errors; see --json for status counts);"
            " above 1 % its ratios are left out",
        ]
    busy = [
        f"{t.name}/{w}/c{conc}"
        for t in report.targets
        for w, cells in t.cells.items()
        for conc, c in cells.items()
        if isinstance(c, CellResult) and c.client_cpu > 0.9 and c.server_cpu < 0.9
    ]
    if busy:
        out += ["", "note: the load client, not the server, was the busier (> 90 %) in: " + ", ".join(busy)]
    noisy = [
        (c.other_cpu, f"{t.name}/{w}/c{conc}")
        for t in report.targets
        for w, cells in t.cells.items()
        for conc, c in cells.items()
        if isinstance(c, CellResult) and c.other_cpu > 0.15
    ]
    if noisy:
        worst = max(noisy)
        out += [
            "",
            f"warning: other processes were busy during {len(noisy)} cell(s), up to {worst[0]:.0%} of a core"
            f" ({worst[1]}); those numbers are noisy, rerun on an idle machine",
        ]
    out += ["", *goals(report)]
    return "\n".join(out)


def write_json(report: RunReport, path: Path) -> None:
    path.write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False) + "\n")
