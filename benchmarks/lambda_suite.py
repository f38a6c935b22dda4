"""``python -m benchmarks lambda``: function cold starts, warm invoke latency and invokes/s, server RSS drift.

Starts ``python -m miniaws --ephemeral`` pinned to one core (its worker processes inherit that core), creates a
trivial Python function with boto3, then measures without boto3 on the timed path:

- cold start: N invokes, each after a configuration change that retires the warm environment (so the next one
  spawns a worker): end-to-end latency over one keep-alive connection, and the REPORT line's Init Duration;
- warm invoke: the pinned raw-HTTP load client (benchmarks.loadgen) at each concurrency; environments scale out to
  the concurrency during the untimed warm-up;
- RSS drift: the server process's own RSS (workers excluded) before and after the warm cells.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks import procs
from benchmarks.loadgen import CellResult, LoadgenError, LoadSpec, run_cell

_ROOT = Path(__file__).resolve().parents[1]
_ENDPOINT = re.compile(rb"AWS endpoint\s+(http://\S+)")
_INIT = re.compile(r"Init Duration: ([0-9.]+) ms")
# auth is off: the credential scope only routes the request to Lambda (the signature is not checked)
_AUTH = ("AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host, "
         "Signature=0000000000000000000000000000000000000000000000000000000000000000")
_HANDLER = "def handler(event, context):\n    return {'ok': True}\n"
GOALS = {"warm_p50_ms": 1.5, "cold_p50_ms": 150.0}


def _csv_ints(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="fewer cold starts, short cells (smoke run)")
    parser.add_argument("--cold", type=int, help="cold starts to measure (default 40, quick 10)")
    parser.add_argument("--concurrency", type=_csv_ints, default=[1, 8], help="warm cells (default: 1,8)")
    parser.add_argument("--duration", type=float, help="timed seconds per warm cell (default 3, quick 1)")
    parser.add_argument("--warmup", type=float, help="untimed seconds before each cell (default 1, quick 0.5)")
    parser.add_argument("--max-requests", type=int, help="timed requests per cell at most (default 10000)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw results here")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _zip() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", _HANDLER)
    return buffer.getvalue()


def _start(workdir: Path, core: int | None) -> tuple[subprocess.Popen[bytes], str]:
    log = open(workdir / "miniaws.log", "wb")  # noqa: SIM115 - closed with the process
    argv = [sys.executable, "-m", "miniaws", "--port", "0", "--dns-port", "0", "--edge-port", "0", "--ephemeral", "--log-level", "warning"]
    proc = procs.spawn(argv, stdout=subprocess.PIPE, stderr=log, cwd=str(_ROOT))
    assert proc.stdout is not None
    seen = b""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen += line
        match = _ENDPOINT.search(seen)
        if match:
            procs.pin_process(proc.pid, core)
            return proc, match.group(1).decode()
    procs.stop(proc)
    raise RuntimeError(f"miniaws did not start: {seen.decode(errors='replace')}")


def _client(endpoint: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("lambda", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))


def _invoke(conn: http.client.HTTPConnection, name: str, tail: bool) -> tuple[int, dict[str, str], bytes]:
    headers = {"Authorization": _AUTH, "Content-Type": "application/json"}
    if tail:
        headers["X-Amz-Log-Type"] = "Tail"
    conn.request("POST", f"/2015-03-31/functions/{name}/invocations", body=b"{}", headers=headers)
    response = conn.getresponse()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()


def _cold_starts(lam: Any, host: str, port: int, count: int) -> dict[str, Any]:
    lam.create_function(FunctionName="bench-cold", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
                        Handler="app.handler", Code={"ZipFile": _zip()})
    conn = http.client.HTTPConnection(host, port)
    latencies, inits = [], []
    for round_ in range(count):
        # a new configuration revision retires the warm environment: the next invoke is a cold start
        lam.update_function_configuration(FunctionName="bench-cold", Environment={"Variables": {"ROUND": str(round_)}})
        started = time.perf_counter()
        status, headers, _ = _invoke(conn, "bench-cold", tail=True)
        latencies.append((time.perf_counter() - started) * 1000)
        log = base64.b64decode(headers.get("x-amz-log-result", "")).decode(errors="replace")
        match = _INIT.search(log)
        if status != 200 or match is None:
            raise RuntimeError(f"cold invoke {round_} answered {status} without Init Duration: {log!r}")
        inits.append(float(match.group(1)))
    conn.close()
    return {"count": count, "p50_ms": _percentile(latencies, 0.5), "p99_ms": _percentile(latencies, 0.99),
            "init_p50_ms": _percentile(inits, 0.5), "init_p99_ms": _percentile(inits, 0.99),
            "mean_ms": statistics.fmean(latencies)}


def _warm_cell(host: str, port: int, concurrency: int, args: argparse.Namespace, core: int | None,
               workdir: Path) -> CellResult:
    head = (f"POST /2015-03-31/functions/bench/invocations HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: {_AUTH}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n").encode()
    spec = LoadSpec(host=host, port=port, heads=[head], body=b"{}", concurrency=concurrency,
                    warmup_s=args.warmup, duration_s=args.duration, max_requests=args.max_requests, cpu=core)
    return run_cell(spec, workdir)


def run(args: argparse.Namespace) -> int:
    procs.install_cleanup()
    args.cold = args.cold or (10 if args.quick else 40)
    args.duration = args.duration or (1.0 if args.quick else 3.0)
    args.warmup = args.warmup or (0.5 if args.quick else 1.0)
    args.max_requests = args.max_requests or 10000
    plan = procs.plan_cpus()
    results: dict[str, Any] = {"cpu_plan": plan.describe(), "warm": {}}
    with tempfile.TemporaryDirectory(prefix="miniaws-bench-lambda-") as tmp:
        workdir = Path(tmp)
        proc, endpoint = _start(workdir, plan.server)
        try:
            url = urlsplit(endpoint)
            host, port = url.hostname or "127.0.0.1", int(url.port or 80)
            lam = _client(endpoint)
            print(f"[lambda] miniaws at {endpoint}; {plan.describe()}", file=sys.stderr, flush=True)
            results["cold"] = _cold_starts(lam, host, port, args.cold)
            lam.create_function(FunctionName="bench", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
                                Handler="app.handler", Code={"ZipFile": _zip()})
            rss_before = procs._status_kib(proc.pid, "VmRSS") / 1024
            total = 0
            for concurrency in args.concurrency:
                try:
                    cell = _warm_cell(host, port, concurrency, args, plan.client, workdir)
                except LoadgenError as exc:
                    print(f"[lambda] warm c={concurrency} failed: {exc}", file=sys.stderr)
                    continue
                total += cell.requests
                results["warm"][str(concurrency)] = {k: getattr(cell, k) for k in (
                    "requests", "ops_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "errors", "statuses")}
            rss_after = procs._status_kib(proc.pid, "VmRSS") / 1024
            results["server_rss_mib"] = {"before": round(rss_before, 1), "after": round(rss_after, 1),
                                         "timed_invokes": total}
        finally:
            procs.stop(proc)
    print(_render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _render(results: dict[str, Any]) -> str:
    cold = results["cold"]
    lines = [f"Lambda (miniaws, {results['cpu_plan']})", "",
             f"cold start  n={cold['count']}: end-to-end p50 {cold['p50_ms']:.1f} ms  p99 {cold['p99_ms']:.1f} ms"
             f"  | Init Duration p50 {cold['init_p50_ms']:.1f} ms  p99 {cold['init_p99_ms']:.1f} ms", ""]
    lines.append(f"{'concurrency':>11}  {'invokes/s':>10}  {'p50 ms':>8}  {'p99 ms':>8}  {'errors':>6}")
    for concurrency, cell in results["warm"].items():
        lines.append(f"{concurrency:>11}  {cell['ops_per_s']:>10.0f}  {cell['p50_ms']:>8.3f}  {cell['p99_ms']:>8.3f}"
                     f"  {cell['errors']:>6}")
    rss = results.get("server_rss_mib", {})
    if rss:
        lines += ["", f"server RSS {rss['before']} MiB -> {rss['after']} MiB over {rss['timed_invokes']} timed invokes"
                      " (workers excluded)"]
    warm1 = results["warm"].get("1")
    lines += ["", "goals:"]
    if warm1:
        ok = warm1["p50_ms"] < GOALS["warm_p50_ms"]
        lines.append(f"  [{'x' if ok else ' '}] warm invoke p50 < {GOALS['warm_p50_ms']} ms (got {warm1['p50_ms']:.3f})")
    ok = cold["p50_ms"] < GOALS["cold_p50_ms"]
    lines.append(f"  [{'x' if ok else ' '}] cold start p50 < {GOALS['cold_p50_ms']:.0f} ms (got {cold['p50_ms']:.1f})")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
