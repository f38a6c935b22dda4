"""``python -m benchmarks dns``: DNS queries/s and latency of miniaws against a bare asyncio+uvloop ceiling.

Each target runs pinned to one core; a load client process pinned to the other keeps a fixed number of queries
outstanding. Workloads: a simple record (answered from the packed-answer cache), a weighted record, a latency
record with EDNS Client Subnet (4 client subnets in turn), uncached queries (distinct names under a wildcard,
more than the cache holds), and the simple record over TCP. The ceiling answers every query with one
precomputed packet, only the id patched.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from dnslib import EDNS0, QTYPE, DNSHeader, DNSQuestion, DNSRecord, EDNSOption

from benchmarks import procs
from benchmarks.dnsload import DnsCell, DnsLoadSpec, LoadError, run_cell

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DNS_RE = re.compile(rb"DNS\s+udp\+tcp\s+(\S+):(\d+)")
ENDPOINT_RE = re.compile(rb"AWS endpoint\s+(http://\S+)")
CEILING = "bare-asyncio"
ZONE = "bench.test"
UNCACHED_NAMES = 50_000  # more than the resolver's 20,000 cached answers, so every query misses
GOALS = {"simple": 0.50, "weighted": 0.35, "latency-ecs": 0.35}


def _query(name: str, subnet: bytes | None = None) -> bytes:
    record = DNSRecord(DNSHeader(id=0, rd=0), q=DNSQuestion(name, QTYPE.A))
    options = [EDNSOption(8, subnet)] if subnet is not None else []
    record.add_ar(EDNS0(udp_len=1232, opts=options))
    return bytes(record.pack())


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    title: str
    tcp: bool
    packets: Callable[[], list[bytes]]


WORKLOADS: dict[str, Workload] = {w.name: w for w in (
    Workload("simple", "A record, cached answer (UDP)", False, lambda: [_query(f"www.{ZONE}")]),
    Workload("weighted", "weighted A record, 3 sets (UDP)", False, lambda: [_query(f"w.{ZONE}")]),
    Workload("latency-ecs", "latency A record, ECS from 4 subnets (UDP)", False, lambda: [
        _query(f"lat.{ZONE}", bytes([0, 1, 24, 0, *octets])) for octets in ((10, 1, 7), (10, 2, 7), (10, 3, 7),
                                                                            (192, 0, 2))]),
    Workload("uncached", "distinct wildcard names, every answer packed anew (UDP)", False,
             lambda: [_query(f"n{i}.wild.{ZONE}") for i in range(UNCACHED_NAMES)]),
    Workload("simple-tcp", "A record, cached answer (TCP, one query in flight per connection)", True,
             lambda: [_query(f"www.{ZONE}")]),
)}

TARGETS: dict[str, list[str]] = {
    "miniaws": [sys.executable, "-m", "miniaws", "--port", "0", "--dns-port", "0", "--ephemeral"],
    CEILING: [sys.executable, "-m", "benchmarks.dns_baseline", "--port", "0"],
}


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="short cells (smoke run, noisy numbers)")
    parser.add_argument("--targets", type=_csv, default=list(TARGETS), help=f"default: {','.join(TARGETS)}")
    parser.add_argument("--workloads", type=_csv, default=list(WORKLOADS), help=f"default: {','.join(WORKLOADS)}")
    parser.add_argument("--concurrency", type=lambda v: [int(c) for c in _csv(v)], default=[1, 32],
                        help="queries outstanding per cell, comma-separated (default: 1,32)")
    parser.add_argument("--duration", type=float, help="timed seconds per cell (default 3, quick 0.7)")
    parser.add_argument("--warmup", type=float, help="untimed seconds before each cell (default 1, quick 0.3)")
    parser.add_argument("--max-requests", type=int, help="timed queries per cell at most (default 200000)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw results here")


class _Started:
    """A target process whose stdout is drained; `dns` and `endpoint` come from its banner."""

    def __init__(self, name: str, argv: list[str], core: int | None, log: Path) -> None:
        env = {**os.environ, "MINIAWS_DNS_LOCATIONS_FILE": str(PROJECT_ROOT / "conf" / "dns-locations.toml"),
               "MINIAWS_DNS_RANDOM_SEED": "1"}
        self.name = name
        self.proc = procs.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                cwd=str(PROJECT_ROOT))
        procs.pin_process(self.proc.pid, core)
        self.dns: tuple[str, int] | None = None
        self.endpoint: str | None = None
        self.ready = threading.Event()
        assert self.proc.stdout is not None
        threading.Thread(target=self._drain, args=(self.proc.stdout, log), daemon=True).start()
        if not self.ready.wait(15) or self.dns is None:
            procs.stop(self.proc)
            raise RuntimeError(f"{name} printed no 'DNS udp+tcp HOST:PORT' line (log: {log})")

    def _drain(self, stream: IO[bytes], log: Path) -> None:
        with open(log, "ab") as out:
            for line in iter(stream.readline, b""):
                out.write(line)
                if (match := ENDPOINT_RE.search(line)) is not None:
                    self.endpoint = match.group(1).decode()
                if (match := DNS_RE.search(line)) is not None:
                    self.dns = (match.group(1).decode(), int(match.group(2)))
                    self.ready.set()
        self.ready.set()


def _setup_miniaws(endpoint: str, dns: tuple[str, int]) -> None:
    import boto3

    r53 = boto3.client("route53", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                       aws_secret_access_key="bench")
    zone_id = r53.create_hosted_zone(Name=ZONE, CallerReference="bench")["HostedZone"]["Id"]

    def a(name: str, value: str, **extra: Any) -> dict[str, Any]:
        return {"Action": "CREATE", "ResourceRecordSet": {"Name": name, "Type": "A", "TTL": 60,
                                                          "ResourceRecords": [{"Value": value}], **extra}}

    r53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
        a(f"www.{ZONE}", "192.0.2.1"), a(f"*.wild.{ZONE}", "192.0.2.2"),
        *[a(f"w.{ZONE}", f"192.0.2.{10 + i}", SetIdentifier=f"w{i}", Weight=w) for i, w in enumerate((5, 3, 1))],
        *[a(f"lat.{ZONE}", f"192.0.2.{20 + i}", SetIdentifier=r, Region=r)
          for i, r in enumerate(("eu-west-1", "us-west-2", "ap-southeast-2", "us-east-1"))],
    ]})
    for workload in WORKLOADS.values():  # every workload's first query must be answered NOERROR with data
        reply = DNSRecord.parse(DNSRecord.parse(workload.packets()[0]).send(dns[0], dns[1], timeout=2))
        if reply.header.rcode != 0 or not reply.rr:
            raise RuntimeError(f"setup check failed for {workload.name}: {reply}")


def _measure(target: str, args: argparse.Namespace, plan: procs.CpuPlan, workdir: Path) -> dict[str, Any]:
    result: dict[str, Any] = {"target": target, "cells": {}}
    try:
        started = _Started(target, TARGETS[target], plan.server, workdir / f"{target}.log")
    except RuntimeError as exc:
        result["error"] = str(exc)
        print(f"[{target}] {exc}", file=sys.stderr, flush=True)
        return result
    try:
        assert started.dns is not None
        if started.endpoint is not None:
            _setup_miniaws(started.endpoint, started.dns)
        time.sleep(0.3)
        result["idle_rss_mib"] = round(procs.tree_memory_mib(started.proc.pid), 1)
        for name in args.workloads:
            workload = WORKLOADS[name]
            packets = workload.packets()
            for conc in args.concurrency:
                spec = DnsLoadSpec(started.dns[0], started.dns[1], workload.tcp, packets, conc, args.warmup,
                                   args.duration, args.max_requests, plan.client)
                before = procs.tree_cpu_seconds(started.proc.pid)
                wall = time.perf_counter()
                try:
                    cell: DnsCell | str = run_cell(spec, workdir)
                except LoadError as exc:
                    cell = str(exc)
                if isinstance(cell, DnsCell):
                    cell.server_cpu = round((procs.tree_cpu_seconds(started.proc.pid) - before)
                                            / (time.perf_counter() - wall), 3)
                    print(f"[{target}] {name} c{conc}: {cell.qps:,.0f} q/s, p50 {cell.p50_ms:.3f} ms, "
                          f"p99 {cell.p99_ms:.3f} ms, errors {cell.errors}, server cpu {cell.server_cpu:.0%}",
                          file=sys.stderr, flush=True)
                result["cells"][f"{name}/{conc}"] = asdict(cell) if isinstance(cell, DnsCell) else cell
        result["peak_rss_mib"] = round(procs.tree_memory_mib(started.proc.pid, "VmHWM"), 1)
    finally:
        procs.stop(started.proc)
    return result


def _table(results: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    ceiling = next((r for r in results if r["target"] == CEILING), None)
    rows = [("target", "workload", "conc", "queries/s", "p50 ms", "p99 ms", "errors", "vs ceiling")]
    goals: list[str] = []
    for result in results:
        for name in args.workloads:
            for conc in args.concurrency:
                cell = result["cells"].get(f"{name}/{conc}")
                if not isinstance(cell, dict):
                    rows.append((result["target"], name, str(conc), str(cell or result.get("error", "-")),
                                 "", "", "", ""))
                    continue
                base = ceiling["cells"].get(f"{name}/{conc}") if ceiling else None
                ratio = cell["qps"] / base["qps"] if isinstance(base, dict) and base["qps"] else None
                rows.append((result["target"], name, str(conc), f"{cell['qps']:,.0f}", f"{cell['p50_ms']:.3f}",
                             f"{cell['p99_ms']:.3f}", str(cell["errors"]), f"{ratio:.0%}" if ratio else ""))
                if result["target"] == "miniaws" and name in GOALS and ratio is not None:
                    mark = "✓" if ratio >= GOALS[name] else "✗"
                    goals.append(f"{mark} {name} c{conc}: {ratio:.0%} of ceiling (goal ≥ {GOALS[name]:.0%})")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines + ["", "Goals: simple ≥ 50 % of the ceiling, weighted and latency-ecs ≥ 35 %", *goals]


def run(args: argparse.Namespace) -> int:
    unknown = [t for t in args.targets if t not in TARGETS] + [w for w in args.workloads if w not in WORKLOADS]
    if unknown:
        print(f"benchmarks dns: unknown target or workload: {', '.join(unknown)}", file=sys.stderr)
        return 2
    args.duration = args.duration if args.duration is not None else (0.7 if args.quick else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if args.quick else 1.0)
    args.max_requests = args.max_requests or 200_000
    procs.install_cleanup()
    plan = procs.plan_cpus()
    procs.pin_self(plan.client)
    meta = {"machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform(terse=True)}",
            "pinning": plan.describe(), "timing": f"{args.warmup:g} s warm-up, then {args.duration:g} s per cell"}
    with tempfile.TemporaryDirectory(prefix="miniaws-dns-bench-") as tmp:
        results = []
        for target in args.targets:
            workdir = Path(tmp) / target
            workdir.mkdir()
            results.append(_measure(target, args, plan, workdir))
    print("\n".join([f"DNS benchmark — {meta['machine']}", meta["pinning"], meta["timing"], "",
                     *_table(results, args)]), flush=True)
    if args.json:
        import json

        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    return 0
