"""``python -m benchmarks s3``: S3 throughput of miniaws against the bare-aiohttp ceiling, moto, ministack.

For each target in turn: start it pinned to one core, measure startup and idle RSS, set up each
workload with boto3 (untimed), drive it from a load client pinned to the other core, stop it.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks import procs, report, targets, workloads
from benchmarks.loadgen import CellResult, LoadgenError, LoadSpec, run_cell


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="short cells (smoke run, noisy numbers)")
    parser.add_argument(
        "--targets",
        type=_csv,
        default=list(targets.TARGETS),
        help=f"comma-separated, in run order (default: {','.join(targets.TARGETS)})",
    )
    parser.add_argument(
        "--workloads",
        type=_csv,
        default=list(workloads.WORKLOADS),
        help=f"comma-separated (default: {','.join(workloads.WORKLOADS)})",
    )
    parser.add_argument(
        "--concurrency",
        type=lambda v: [int(c) for c in _csv(v)],
        default=[1, 32],
        help="connections per cell, comma-separated (default: 1,32)",
    )
    parser.add_argument("--duration", type=float, help="timed seconds per cell (default 3, quick 0.7)")
    parser.add_argument("--warmup", type=float, help="untimed seconds before each cell (default 2, quick 0.3)")
    parser.add_argument("--max-requests", type=int, help="timed requests per cell at most (default 20000, quick 5000)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw results here")


def _validate(args: argparse.Namespace) -> str | None:
    unknown = [t for t in args.targets if t not in targets.TARGETS]
    unknown += [w for w in args.workloads if w not in workloads.WORKLOADS]
    if unknown:
        return f"unknown target or workload: {', '.join(unknown)}"
    if not args.concurrency or min(args.concurrency) < 1:
        return "--concurrency needs positive integers"
    return None


def _measure_target(
    target: targets.Target, args: argparse.Namespace, plan: procs.CpuPlan, workdir: Path
) -> report.TargetResult:
    result = report.TargetResult(target.name, target.role)
    print(f"[{target.name}] starting", file=sys.stderr, flush=True)
    try:
        running = targets.start(target, workdir, plan.server)
    except targets.StartFailure as exc:
        result.status = "skipped" if isinstance(exc, targets.NotInstalled) else "failed"
        result.note = str(exc)
        print(f"[{target.name}] {result.status}: {exc}", file=sys.stderr, flush=True)
        return result
    try:
        result.startup_s = round(running.startup_s, 4)
        targets.settle()
        result.idle_rss_mib = round(running.rss_mib(), 1)
        print(
            f"[{target.name}] up at {running.url} in {running.startup_s:.3f} s, idle RSS {result.idle_rss_mib} MiB",
            file=sys.stderr,
            flush=True,
        )
        client = workloads.make_client(running.url)
        for name in args.workloads:
            result.cells[name] = _measure_workload(workloads.WORKLOADS[name], client, running, args, plan, workdir)
        result.peak_rss_mib = round(running.peak_rss_mib(), 1)
    finally:
        code = running.stop()
        print(f"[{target.name}] stopped (exit {code})", file=sys.stderr, flush=True)
    median, low, high = targets.startup_spread(target, workdir, plan.server, running.startup_s)
    result.startup_s = round(median, 4)
    result.note = f"startup: median of {targets.STARTUP_SAMPLES} starts ({low:.3f}–{high:.3f} s)"
    return result


def _measure_workload(
    workload: workloads.Workload,
    client: object,
    running: targets.RunningTarget,
    args: argparse.Namespace,
    plan: procs.CpuPlan,
    workdir: Path,
) -> dict[int, CellResult | str]:
    cells: dict[int, CellResult | str] = {}
    try:
        workloads.prepare(workload, client)
        heads = workloads.build_requests(workload, client)
    except workloads.SetupError as exc:
        print(f"[{running.name}] {workload.name}: setup failed: {exc}", file=sys.stderr, flush=True)
        return {conc: f"setup failed: {exc}"[:160] for conc in args.concurrency}
    url = urlsplit(running.url)
    body = workload.request_body()
    for conc in args.concurrency:
        spec = LoadSpec(
            host=url.hostname or "127.0.0.1",
            port=url.port or 80,
            heads=heads,
            body=body,
            concurrency=conc,
            warmup_s=args.warmup,
            duration_s=args.duration,
            max_requests=args.max_requests,
            cpu=plan.client,
        )
        pid = running.proc.pid
        server_before, own_before = procs.tree_cpu_seconds(pid), procs.own_cpu_seconds()
        machine_before, wall_before = procs.machine_busy_seconds(), time.perf_counter()
        cell: CellResult | str
        try:
            cell = run_cell(spec, workdir)
        except LoadgenError as exc:
            cell = str(exc)
        else:
            wall = time.perf_counter() - wall_before
            server = procs.tree_cpu_seconds(pid) - server_before
            # What neither the server nor we (harness + load client) used was someone else's: noise.
            other = procs.machine_busy_seconds() - machine_before - server - (procs.own_cpu_seconds() - own_before)
            cell.server_cpu = round(server / wall, 3)
            cell.other_cpu = round(max(other, 0.0) / wall, 3)
        cells[conc] = cell
        if isinstance(cell, str):
            print(f"[{running.name}] {workload.name} c{conc}: {cell}", file=sys.stderr, flush=True)
        else:
            flag = f", {cell.errors} errors ({cell.first_error})" if cell.errors else ""
            print(
                f"[{running.name}] {workload.name} c{conc}: {cell.ops_per_s:,.0f} ops/s, "
                f"p50 {cell.p50_ms:.3f} ms, p99 {cell.p99_ms:.3f} ms, cpu server {cell.server_cpu:.0%} "
                f"client {cell.client_cpu:.0%} other {cell.other_cpu:.0%}{flag}",
                file=sys.stderr,
                flush=True,
            )
    return cells


def run(args: argparse.Namespace) -> int:
    if problem := _validate(args):
        print(f"benchmarks s3: {problem}", file=sys.stderr)
        return 2
    quick = args.quick
    args.duration = args.duration if args.duration is not None else (0.7 if quick else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if quick else 2.0)
    args.max_requests = args.max_requests or (5000 if quick else 20000)
    procs.install_cleanup()
    plan = procs.plan_cpus()
    # The harness sits on the client's core so the server's core only ever runs the server.
    procs.pin_self(plan.client)
    meta = {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform(terse=True)}",
        "pinning": plan.describe(),
        "timing": f"per cell {args.warmup:g} s warm-up, then up to {args.duration:g} s or "
        f"{args.max_requests:,} requests",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv,
    }
    results: list[report.TargetResult] = []
    with tempfile.TemporaryDirectory(prefix="miniaws-bench-") as tmp:
        for name in args.targets:
            workdir = Path(tmp) / name
            workdir.mkdir()
            results.append(_measure_target(targets.TARGETS[name], args, plan, workdir))
    titles = [(name, workloads.WORKLOADS[name].title) for name in args.workloads]
    run_report = report.RunReport(meta, titles, args.concurrency, results)
    print(report.render(run_report), flush=True)
    if args.json:
        report.write_json(run_report, args.json)
        print(f"\nraw results written to {args.json}", file=sys.stderr)
    return 0
