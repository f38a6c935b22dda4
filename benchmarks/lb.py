"""``python -m benchmarks lb``: requests/s and p50/p99 of GET 1 KiB through a miniaws application load balancer to
one aiohttp target, against the same target asked directly, a bare aiohttp reverse proxy (aiohttp's server and
client with no load balancer features, ``benchmarks.lb_baseline``) and haproxy when it is installed, all in the same
run.

The target is the bare-aiohttp S3 baseline (``benchmarks.baseline_server``), on a core of its own when there is
one. Each proxy runs pinned to the server core in turn, in front of that target. miniaws (ephemeral) gets a load
balancer with one HTTP listener forwarding to a target group holding the target (health-checked, round robin).
Goals (issue 10): at least 40 % of the direct rate; under 0.5 ms added to p50 at concurrency 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import IO

from benchmarks import procs
from benchmarks.loadgen import CellResult, LoadgenError, LoadSpec, run_cell

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENDPOINT_RE = re.compile(rb"AWS endpoint\s+(http://\S+)")
PATH = "/bench/get/1024"
DIRECT, SUBJECT, CEILING, HAPROXY = "direct", "miniaws-alb", "bare-aiohttp-proxy", "haproxy"
RATE_GOAL = 0.40
ADDED_P50_GOAL_MS = 0.5


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="short cells (smoke run, noisy numbers)")
    parser.add_argument("--targets", type=_csv, default=[DIRECT, SUBJECT, CEILING, HAPROXY],
                        help=f"default: {DIRECT},{SUBJECT},{CEILING},{HAPROXY} (haproxy only when installed)")
    parser.add_argument("--concurrency", type=lambda v: [int(c) for c in _csv(v)], default=[1, 32],
                        help="connections per cell, comma-separated (default: 1,32)")
    parser.add_argument("--duration", type=float, help="timed seconds per cell (default 3, quick 0.7)")
    parser.add_argument("--warmup", type=float, help="untimed seconds before each cell (default 1, quick 0.3)")
    parser.add_argument("--max-requests", type=int, help="timed requests per cell at most (default 50000)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw results here")


class _Process:
    """A spawned server whose stdout is drained into a log; `url` comes from its `AWS endpoint` line (or is
    given, for servers that print nothing)."""

    def __init__(self, name: str, argv: list[str], core: int | None, log: Path, url: str | None = None) -> None:
        self.name = name
        self.proc = procs.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(PROJECT_ROOT),
                                env={**os.environ, "MINIAWS_LOG_LEVEL": "warning"})
        procs.pin_process(self.proc.pid, core)
        self.url = url or ""
        self._ready = threading.Event()
        assert self.proc.stdout is not None
        threading.Thread(target=self._drain, args=(self.proc.stdout, log), daemon=True).start()
        if url is None and (not self._ready.wait(20) or not self.url):
            procs.stop(self.proc)
            raise RuntimeError(f"{name} did not print its address (log: {log})")

    def _drain(self, stream: IO[bytes], log: Path) -> None:
        with open(log, "ab") as out:
            for line in iter(stream.readline, b""):
                out.write(line)
                match = ENDPOINT_RE.search(line)
                if match is not None and not self.url:
                    self.url = match.group(1).decode().rstrip("/")
                    self._ready.set()
        self._ready.set()

    def stop(self) -> None:
        procs.stop(self.proc)


def _wait_ok(url: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + PATH, timeout=2) as response:
                if response.status == 200 and len(response.read()) == 1024:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url}{PATH} did not answer 200 with 1 KiB")
        time.sleep(0.05)


def _load_balancer(endpoint: str, target_url: str) -> str:
    """A load balancer in front of the target; returns the listener's URL once the target is healthy."""
    import boto3

    host, port = target_url.split("//", 1)[1].rsplit(":", 1)
    elb = boto3.client("elbv2", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                       aws_secret_access_key="bench")
    lb = elb.create_load_balancer(Name="bench", Subnets=["subnet-1", "subnet-2"])["LoadBalancers"][0]
    tg = elb.create_target_group(Name="bench", Protocol="HTTP", Port=int(port), VpcId="vpc-1", TargetType="ip",
                                 HealthCheckPath="/", HealthCheckIntervalSeconds=5,
                                 HealthCheckTimeoutSeconds=2)["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg, Targets=[{"Id": host}])
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP",
                                   Port=procs.free_port(), DefaultActions=[
                                       {"Type": "forward", "TargetGroupArn": tg}])["Listeners"][0]["ListenerArn"]
    deadline = time.monotonic() + 10
    while elb.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"][0]["TargetHealth"][
            "State"] != "healthy":
        if time.monotonic() > deadline:
            raise RuntimeError("the target did not turn healthy")
        time.sleep(0.1)
    with urllib.request.urlopen(f"{endpoint}/_miniaws/elbv2/listeners", timeout=5) as response:
        rows = json.loads(response.read())["Listeners"]
    return str(next(row["Url"] for row in rows if row["ListenerArn"] == listener))


def _haproxy(target_url: str, core: int | None, workdir: Path) -> _Process | None:
    binary = shutil.which("haproxy")
    if binary is None:
        return None
    port = procs.free_port()
    target = target_url.split("//", 1)[1]
    config = workdir / "haproxy.cfg"
    config.write_text("\n".join([
        "global", "  maxconn 4096", "  nbthread 1", "defaults", "  mode http", "  timeout connect 5s",
        "  timeout client 60s", "  timeout server 60s", "  option http-keep-alive",
        "frontend bench", f"  bind 127.0.0.1:{port}", "  default_backend target",
        "backend target", f"  server one {target}", ""]))
    return _Process(HAPROXY, [binary, "-f", str(config), "-db"], core, workdir / "haproxy.log",
                    url=f"http://127.0.0.1:{port}")


def _cell(target: str, process: _Process, url: str, conc: int, args: argparse.Namespace, plan: procs.CpuPlan,
          workdir: Path) -> CellResult | str:
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    head = f"GET {PATH} HTTP/1.1\r\nHost: bench.example.com\r\n\r\n".encode()
    spec = LoadSpec(host, int(port), [head], b"", conc, args.warmup, args.duration, args.max_requests, plan.client)
    before, wall = procs.tree_cpu_seconds(process.proc.pid), time.perf_counter()
    try:
        cell = run_cell(spec, workdir)
    except LoadgenError as exc:
        print(f"[{target}] c{conc}: {exc}", file=sys.stderr, flush=True)
        return str(exc)
    cell.server_cpu = round((procs.tree_cpu_seconds(process.proc.pid) - before) / (time.perf_counter() - wall), 3)
    print(f"[{target}] c{conc}: {cell.ops_per_s:,.0f} req/s, p50 {cell.p50_ms:.3f} ms, p99 {cell.p99_ms:.3f} ms, "
          f"errors {cell.errors}, server cpu {cell.server_cpu:.0%}", file=sys.stderr, flush=True)
    return cell


def run(args: argparse.Namespace) -> int:
    known = (DIRECT, SUBJECT, CEILING, HAPROXY)
    unknown = [t for t in args.targets if t not in known]
    if unknown:
        print(f"benchmarks lb: unknown target: {', '.join(unknown)}", file=sys.stderr)
        return 2
    args.duration = args.duration if args.duration is not None else (0.7 if args.quick else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if args.quick else 1.0)
    args.max_requests = args.max_requests or 50_000
    procs.install_cleanup()
    plan = procs.plan_cpus()
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    # the target gets a third core when there is one, so proxied cells measure the proxy, not a shared core
    target_core = cores[2] if plan.pinned and len(cores) > 2 else None
    procs.pin_self(plan.client)
    meta = {"machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform(terse=True)}",
            "pinning": plan.describe() + (f"; target on core {target_core}" if target_core is not None else
                                          "; target not pinned"),
            "timing": f"{args.warmup:g} s warm-up, then up to {args.duration:g} s or {args.max_requests:,} requests"}
    cells: dict[str, dict[int, CellResult | str]] = {t: {} for t in args.targets}
    baseline = [sys.executable, "-m", "benchmarks.baseline_server", "--port", "0"]
    with tempfile.TemporaryDirectory(prefix="miniaws-lb-bench-") as tmp:
        workdir = Path(tmp)
        backend = _Process("target", baseline, target_core, workdir / "target.log")
        try:
            for target in args.targets:
                process: _Process | None
                if target == DIRECT:
                    process, url = backend, backend.url
                elif target == SUBJECT:
                    process = _Process(SUBJECT, [sys.executable, "-m", "miniaws", "--ephemeral", "--port", "0",
                                                 "--dns-port", "0", "--edge-port", "0"], plan.server,
                                       workdir / "miniaws.log")
                    url = _load_balancer(process.url, backend.url)
                elif target == CEILING:
                    process = _Process(CEILING, [sys.executable, "-m", "benchmarks.lb_baseline", "--target",
                                                 backend.url], plan.server, workdir / "ceiling.log")
                    url = process.url
                else:
                    process = _haproxy(backend.url, plan.server, workdir)
                    if process is None:
                        cells[target] = {c: "skipped: haproxy is not installed (apt-get install haproxy)"
                                         for c in args.concurrency}
                        continue
                    url = process.url
                try:
                    _wait_ok(url)
                    for conc in args.concurrency:
                        cells[target][conc] = _cell(target, process, url, conc, args, plan, workdir)
                finally:
                    if process is not backend:
                        process.stop()
        finally:
            backend.stop()
    print("\n".join([f"Load balancer benchmark — {meta['machine']}", meta["pinning"], meta["timing"], "",
                     *_table(cells, args)]), flush=True)
    if args.json:
        raw = {t: {str(k): asdict(v) if isinstance(v, CellResult) else v for k, v in c.items()}
               for t, c in cells.items()}
        args.json.write_text(json.dumps({"meta": meta, "cells": raw}, indent=2))
    return 0


def _table(cells: dict[str, dict[int, CellResult | str]], args: argparse.Namespace) -> list[str]:
    rows = [("target", "conc", "req/s", "p50 ms", "p99 ms", "errors", "vs direct", "added p50 ms")]
    goals: list[str] = []
    for target, by_conc in cells.items():
        for conc in args.concurrency:
            cell = by_conc.get(conc)
            if cell is None:
                continue
            if isinstance(cell, str):
                rows.append((target, str(conc), cell[:70], "", "", "", "", ""))
                continue
            direct = cells.get(DIRECT, {}).get(conc)
            ratio = added = None
            if target != DIRECT and isinstance(direct, CellResult) and direct.ops_per_s:
                ratio = cell.ops_per_s / direct.ops_per_s
                added = cell.p50_ms - direct.p50_ms
            rows.append((target, str(conc), f"{cell.ops_per_s:,.0f}", f"{cell.p50_ms:.3f}", f"{cell.p99_ms:.3f}",
                         str(cell.errors), f"{ratio:.0%}" if ratio is not None else "",
                         f"{added:+.3f}" if added is not None else ""))
            if target == SUBJECT and ratio is not None and added is not None:
                goals.append(f"{'✓' if ratio >= RATE_GOAL else '✗'} c{conc}: {ratio:.0%} of the direct rate "
                             f"(goal ≥ {RATE_GOAL:.0%})")
                if conc == 1:
                    goals.append(f"{'✓' if added < ADDED_P50_GOAL_MS else '✗'} c1: adds {added:.3f} ms to p50 "
                                 f"(goal < {ADDED_P50_GOAL_MS:g} ms)")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 1 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines + ["", "Goals: ≥ 40 % of the direct rate; < 0.5 ms added to p50 at concurrency 1", *goals]
