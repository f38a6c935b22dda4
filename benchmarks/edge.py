"""``python -m benchmarks edge``: the CloudFront edge's hit and miss throughput and p50/p99 against a bare
aiohttp+uvloop server returning the same bytes.

The origin is the bare-aiohttp S3 baseline (``benchmarks.baseline_server``) on a core of its own when there is one.
miniaws (ephemeral) runs pinned to the server core with a distribution in front of that origin: `/bench/*` cached
with CachingOptimized, `/miss/*` with CachingDisabled (every request one origin fetch). The ceiling is a second
baseline server on the server core, asked for the same paths directly. Workloads: a cache hit on a 1 KiB and a
100 KiB object, a miss (1 KiB), and the origin on its own (what a miss adds is measured against it).

When `nginx` is installed, nginx with `proxy_cache` in front of the same origin is a third target, pinned to the
server core too (one worker process): its config is written to a temp dir and it runs in the foreground with
`-p <tmp> -c <conf>` on a free loopback port, stopped after its cells. Without nginx its row says "not installed".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from benchmarks import procs
from benchmarks.loadgen import CellResult, LoadgenError, LoadSpec, run_cell

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENDPOINT_RE = re.compile(rb"AWS endpoint\s+(http://\S+)")
EDGE_RE = re.compile(rb"edge \(CloudFront\)\s+(http://\S+)")
CEILING = "bare-aiohttp"
SUBJECT = "miniaws-edge"
NGINX = "nginx-proxy_cache"
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
HIT_GOAL = 0.70
OFFLOAD_GOAL = 0.999
MISS_OVERHEAD_GOAL_MS = 1.0


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    title: str
    path: str
    #: which targets run it: the edge, the ceiling, and/or the origin on its own
    targets: tuple[str, ...]


WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    Workload("hit-1k", "cache hit, 1 KiB", "/bench/get/1024", (SUBJECT, CEILING, NGINX)),
    Workload("hit-100k", "cache hit, 100 KiB", "/bench/get/102400", (SUBJECT, CEILING, NGINX)),
    Workload("miss-1k", "miss (CachingDisabled), 1 KiB", "/miss/get/1024", (SUBJECT, "origin", NGINX)),
)}


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="short cells (smoke run, noisy numbers)")
    parser.add_argument("--workloads", type=_csv, default=list(WORKLOADS), help=f"default: {','.join(WORKLOADS)}")
    parser.add_argument("--concurrency", type=lambda v: [int(c) for c in _csv(v)], default=[1, 32],
                        help="connections per cell, comma-separated (default: 1,32)")
    parser.add_argument("--duration", type=float, help="timed seconds per cell (default 3, quick 0.7)")
    parser.add_argument("--warmup", type=float, help="untimed seconds before each cell (default 1, quick 0.3)")
    parser.add_argument("--max-requests", type=int, help="timed requests per cell at most (default 50000)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw results here")


class _Server:
    """A spawned server whose stdout is drained into a log; the URLs come from its banner lines."""

    def __init__(self, name: str, argv: list[str], core: int | None, log: Path, wait_for: re.Pattern[bytes]) -> None:
        self.name = name
        self.proc = procs.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=str(PROJECT_ROOT),
                                env={**os.environ, "MINIAWS_LOG_LEVEL": "warning"})
        procs.pin_process(self.proc.pid, core)
        self.urls: dict[bytes, str] = {}
        self._wait_for = wait_for
        self._ready = threading.Event()
        assert self.proc.stdout is not None
        threading.Thread(target=self._drain, args=(self.proc.stdout, log), daemon=True).start()
        if not self._ready.wait(20) or wait_for.pattern not in self.urls:
            procs.stop(self.proc)
            raise RuntimeError(f"{name} did not print its address (log: {log})")

    def _drain(self, stream: IO[bytes], log: Path) -> None:
        with open(log, "ab") as out:
            for line in iter(stream.readline, b""):
                out.write(line)
                for pattern in (ENDPOINT_RE, EDGE_RE):
                    if (match := pattern.search(line)) is not None:
                        self.urls[pattern.pattern] = match.group(1).decode().rstrip("/")
                if self._wait_for.pattern in self.urls:
                    self._ready.set()
        self._ready.set()

    def url(self, pattern: re.Pattern[bytes]) -> str:
        return self.urls[pattern.pattern]

    def stop(self) -> None:
        procs.stop(self.proc)


class _Nginx:
    """nginx with proxy_cache in front of the origin: one worker, its config, cache and logs in `workdir`, in the
    foreground (`daemon off`), on a free loopback port; `/miss/` is proxied without the cache, like the edge's
    CachingDisabled behaviour. Objects are cached for a day (CachingOptimized's default TTL), concurrent misses
    for one key wait on one fetch (`proxy_cache_lock`), and upstream connections are kept alive."""

    def __init__(self, binary: str, origin_url: str, core: int | None, workdir: Path) -> None:
        self.port = procs.free_port()
        root = workdir / "nginx"
        for sub in ("cache", "temp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        conf = root / "nginx.conf"
        conf.write_text(_nginx_conf(self.port, origin_url.split("//", 1)[1], root, core))
        # `-e`: the error log from the first line on (before the config is read), not the packaged path
        self.proc = procs.spawn([binary, "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = (root / "error.log").read_text(errors="replace") if (root / "error.log").exists() else ""
                    procs.stop(self.proc)
                    raise RuntimeError(f"nginx did not start: {log.strip()[-300:]}") from None
                time.sleep(0.05)
        procs.pin_process(self.proc.pid, core)  # the master; the worker pins itself (worker_cpu_affinity)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        procs.stop(self.proc)


def _nginx_conf(port: int, origin: str, root: Path, core: int | None) -> str:
    # as root, workers would drop to `nobody`, which cannot enter the private temp dir
    user = "user root;\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    # the worker is forked before the harness could pin the master: nginx pins it (rightmost bit = CPU 0)
    affinity = f"worker_cpu_affinity {1 << core:b};\n" if core is not None else ""
    # sendfile without tcp_nopush: with TCP_CORK too, every 100 KiB answer on loopback stalled ~40 ms (measured)
    proxy = ("proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection \"\"; "
             "proxy_set_header Host $host;")
    return (f"{user}daemon off;\nworker_processes 1;\n{affinity}pid {root}/nginx.pid;\n"
            f"error_log {root}/error.log warn;\n"
            "events { worker_connections 4096; }\n"
            "http {\n"
            "  access_log off; sendfile on; keepalive_requests 1000000;\n"
            f"  client_body_temp_path {root}/temp/body; proxy_temp_path {root}/temp/proxy;\n"
            f"  fastcgi_temp_path {root}/temp/fastcgi; uwsgi_temp_path {root}/temp/uwsgi;\n"
            f"  scgi_temp_path {root}/temp/scgi;\n"
            f"  proxy_cache_path {root}/cache levels=1:2 keys_zone=edge:10m max_size=256m inactive=1h "
            "use_temp_path=off;\n"
            f"  upstream origin {{ server {origin}; keepalive 64; }}\n"
            f"  server {{\n    listen 127.0.0.1:{port};\n"
            f"    location / {{ {proxy} proxy_cache edge; proxy_cache_valid 200 1d; proxy_cache_lock on; "
            "add_header X-Cache $upstream_cache_status; }\n"
            f"    location /miss/ {{ {proxy} }}\n"
            "  }\n}\n")


def _distribution(endpoint: str, origin_url: str) -> str:
    """Create the benchmark's distribution; returns its id. The check GETs warm the hit paths."""
    import boto3

    host, port = origin_url.split("//", 1)[1].rsplit(":", 1)
    cf = boto3.client("cloudfront", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                      aws_secret_access_key="bench")
    dist = cf.create_distribution(DistributionConfig={
        "CallerReference": "bench", "Comment": "benchmark", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "origin", "DomainName": host, "CustomOriginConfig": {
                "HTTPPort": int(port), "HTTPSPort": 443, "OriginProtocolPolicy": "http-only"}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "origin", "ViewerProtocolPolicy": "allow-all",
                                 "CachePolicyId": CACHING_OPTIMIZED},
        "CacheBehaviors": {"Quantity": 1, "Items": [{
            "PathPattern": "/miss/*", "TargetOriginId": "origin", "ViewerProtocolPolicy": "allow-all",
            "CachePolicyId": CACHING_DISABLED}]}})["Distribution"]
    return str(dist["Id"])


def _host_of(url: str) -> tuple[str, int]:
    host, port = url.split("//", 1)[1].rsplit(":", 1)
    return host, int(port)


def _check(url: str, workload: Workload, host_header: str) -> None:
    request = urllib.request.Request(url + workload.path, headers={"Host": host_header})
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
        expected = int(workload.path.rsplit("/", 1)[-1])
        if response.status != 200 or len(body) != expected:
            raise RuntimeError(f"setup check failed for {workload.name}: {response.status}, {len(body)} bytes")


def _stats(endpoint: str, ident: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{endpoint}/_miniaws/cloudfront/{ident}/stats", timeout=5) as response:
        result: dict[str, Any] = json.loads(response.read())
    return result


def _cell(target: str, server: _Server | _Nginx, url: str, host_header: str, workload: Workload, conc: int,
          args: argparse.Namespace, plan: procs.CpuPlan, workdir: Path) -> CellResult | str:
    host, port = _host_of(url)
    head = f"GET {workload.path} HTTP/1.1\r\nHost: {host_header}\r\n\r\n".encode()
    spec = LoadSpec(host, port, [head], b"", conc, args.warmup, args.duration, args.max_requests, plan.client)
    before, wall = procs.tree_cpu_seconds(server.proc.pid), time.perf_counter()
    try:
        cell = run_cell(spec, workdir)
    except LoadgenError as exc:
        print(f"[{target}] {workload.name} c{conc}: {exc}", file=sys.stderr, flush=True)
        return str(exc)
    cell.server_cpu = round((procs.tree_cpu_seconds(server.proc.pid) - before) / (time.perf_counter() - wall), 3)
    print(f"[{target}] {workload.name} c{conc}: {cell.ops_per_s:,.0f} req/s, p50 {cell.p50_ms:.3f} ms, "
          f"p99 {cell.p99_ms:.3f} ms, errors {cell.errors}, server cpu {cell.server_cpu:.0%}",
          file=sys.stderr, flush=True)
    return cell


def run(args: argparse.Namespace) -> int:
    unknown = [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        print(f"benchmarks edge: unknown workload: {', '.join(unknown)}", file=sys.stderr)
        return 2
    args.duration = args.duration if args.duration is not None else (0.7 if args.quick else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if args.quick else 1.0)
    args.max_requests = args.max_requests or 50_000
    procs.install_cleanup()
    plan = procs.plan_cpus()
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    # the origin gets a third core when there is one, so a miss measures the edge, not a shared core
    origin_core = cores[2] if plan.pinned and len(cores) > 2 else None
    procs.pin_self(plan.client)
    meta = {"machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform(terse=True)}",
            "pinning": plan.describe() + (f"; origin on core {origin_core}" if origin_core is not None else
                                          "; origin not pinned"),
            "timing": f"{args.warmup:g} s warm-up, then up to {args.duration:g} s or {args.max_requests:,} requests"}
    cells: dict[str, dict[str, CellResult | str]] = {SUBJECT: {}, CEILING: {}, "origin": {}, NGINX: {}}
    nginx_binary = shutil.which("nginx")
    nginx_note = "" if nginx_binary else "not installed (apt-get install nginx)"
    if nginx_binary:
        meta["nginx"] = subprocess.run([nginx_binary, "-v"], capture_output=True, text=True).stderr.strip()
    offload: dict[str, float] = {}
    baseline = [sys.executable, "-m", "benchmarks.baseline_server", "--port", "0"]
    with tempfile.TemporaryDirectory(prefix="miniaws-edge-bench-") as tmp:
        workdir = Path(tmp)
        origin = _Server("origin", baseline, origin_core, workdir / "origin.log", ENDPOINT_RE)
        try:
            edge = _Server(SUBJECT, [sys.executable, "-m", "miniaws", "--ephemeral", "--port", "0", "--dns-port",
                                     "0", "--edge-port", "0"], plan.server, workdir / "miniaws.log", EDGE_RE)
            try:
                endpoint, edge_url = edge.url(ENDPOINT_RE), edge.url(EDGE_RE)
                ident = _distribution(endpoint, origin.url(ENDPOINT_RE))
                host = f"{ident.lower()}.cloudfront.localhost"
                for name in args.workloads:
                    workload = WORKLOADS[name]
                    _check(edge_url, workload, host)
                    for conc in args.concurrency:
                        before = _stats(endpoint, ident)
                        cells[SUBJECT][f"{name}/{conc}"] = _cell(SUBJECT, edge, edge_url, host, workload, conc,
                                                                 args, plan, workdir)
                        after = _stats(endpoint, ident)
                        served = after["requests"] - before["requests"]
                        if name.startswith("hit") and served:
                            fetched = after["origin_fetches"] - before["origin_fetches"]
                            offload[f"{name}/{conc}"] = 1 - fetched / served
                        if "origin" in workload.targets:
                            cells["origin"][f"{name}/{conc}"] = _cell("origin", origin, origin.url(ENDPOINT_RE),
                                                                      "origin", workload, conc, args, plan, workdir)
            finally:
                edge.stop()
            ceiling = _Server(CEILING, baseline, plan.server, workdir / "ceiling.log", ENDPOINT_RE)
            try:
                for name in args.workloads:
                    workload = WORKLOADS[name]
                    if CEILING in workload.targets:
                        for conc in args.concurrency:
                            cells[CEILING][f"{name}/{conc}"] = _cell(CEILING, ceiling, ceiling.url(ENDPOINT_RE),
                                                                     "ceiling", workload, conc, args, plan, workdir)
            finally:
                ceiling.stop()
            if nginx_binary:
                try:
                    nginx = _Nginx(nginx_binary, origin.url(ENDPOINT_RE), plan.server, workdir)
                except RuntimeError as exc:
                    nginx_note = str(exc)
                else:
                    try:
                        for name in args.workloads:
                            workload = WORKLOADS[name]
                            _check(nginx.url, workload, "nginx")  # the first GET of a hit path fills its cache
                            for conc in args.concurrency:
                                cells[NGINX][f"{name}/{conc}"] = _cell(NGINX, nginx, nginx.url, "nginx", workload,
                                                                       conc, args, plan, workdir)
                    finally:
                        nginx.stop()
        finally:
            origin.stop()
    print("\n".join([f"Edge benchmark — {meta['machine']}", meta["pinning"], meta["timing"],
                     *([meta["nginx"]] if "nginx" in meta else []), "",
                     *_table(cells, offload, args, nginx_note)]), flush=True)
    if args.json:
        raw = {t: {k: asdict(v) if isinstance(v, CellResult) else v for k, v in c.items()} for t, c in cells.items()}
        args.json.write_text(json.dumps({"meta": meta, "cells": raw, "offload": offload, "nginx": nginx_note},
                                        indent=2))
    return 0


def _table(cells: dict[str, dict[str, CellResult | str]], offload: dict[str, float],
           args: argparse.Namespace, nginx_note: str = "") -> list[str]:
    rows: list[tuple[str, ...]] = [("target", "workload", "conc", "req/s", "p50 ms", "p99 ms", "errors", "vs ceiling",
                                   "vs nginx")]
    goals: list[str] = []
    for target in (SUBJECT, CEILING, "origin", NGINX):
        if target == NGINX and nginx_note:
            rows.append((NGINX, "-", "-", nginx_note))
            continue
        for name in args.workloads:
            for conc in args.concurrency:
                cell = cells[target].get(f"{name}/{conc}")
                if cell is None:
                    continue
                if isinstance(cell, str):
                    rows.append((target, name, str(conc), cell[:100]))
                    continue
                base = cells[CEILING].get(f"{name}/{conc}")
                ratio = (cell.ops_per_s / base.ops_per_s if target in (SUBJECT, NGINX)
                         and isinstance(base, CellResult) and base.ops_per_s else None)
                other = cells[NGINX].get(f"{name}/{conc}")
                to_nginx = (cell.ops_per_s / other.ops_per_s if target == SUBJECT and isinstance(other, CellResult)
                            and other.ops_per_s else None)
                rows.append((target, name, str(conc), f"{cell.ops_per_s:,.0f}", f"{cell.p50_ms:.3f}",
                             f"{cell.p99_ms:.3f}", str(cell.errors), f"{ratio:.0%}" if ratio else "",
                             f"{to_nginx:.0%}" if to_nginx else ""))
                if ratio is not None and target == SUBJECT:
                    goals.append(f"{'✓' if ratio >= HIT_GOAL else '✗'} {name} c{conc}: {ratio:.0%} of the ceiling "
                                 f"(goal ≥ {HIT_GOAL:.0%})")
    for key, share in sorted(offload.items()):
        goals.append(f"{'✓' if share >= OFFLOAD_GOAL else '✗'} origin offload {key}: {share:.4%} "
                     f"(goal ≥ {OFFLOAD_GOAL:.1%})")
    miss, direct = cells[SUBJECT].get("miss-1k/1"), cells["origin"].get("miss-1k/1")
    if isinstance(miss, CellResult) and isinstance(direct, CellResult):
        added = miss.p50_ms - direct.p50_ms
        goals.append(f"{'✓' if added < MISS_OVERHEAD_GOAL_MS else '✗'} a miss adds {added:.3f} ms (p50) over the "
                     f"origin's own latency at c1 (goal < {MISS_OVERHEAD_GOAL_MS:g} ms)")
    # a short row (target, workload, conc, note) is a note that spans the measured columns
    widths = [max(len(row[i]) for row in rows if len(row) == len(rows[0]) or i < 3) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) if i < 3 or len(row) == len(widths) else c
                       for i, (c, w) in enumerate(zip(row, widths))).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines + ["", "Goals: hits ≥ 70 % of the ceiling; origin offload for a hot key ≥ 99.9 %; a miss adds "
                        "< 1 ms over the origin at concurrency 1 (nginx proxy_cache: for comparison, no goal)",
                    *goals]
