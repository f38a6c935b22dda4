"""``python -m benchmarks lambda``: function cold starts, warm invoke latency and invokes/s, RSS drift, SQS → function.

Starts ``python -m miniaws --ephemeral`` pinned to one core (its worker processes inherit that core), creates a
trivial Python function with boto3, then measures without boto3 on the timed path:

- cold start: N invokes, each after a configuration change that retires the warm environment (so the next one
  spawns a worker): end-to-end latency over one keep-alive connection, and the REPORT line's Init Duration;
- warm invoke: the pinned raw-HTTP load client (benchmarks.loadgen) at each concurrency; environments scale out to
  the concurrency during the untimed warm-up;
- RSS drift: the server process's own RSS (workers excluded) before and after the warm cells, then over exactly
  10,000 warm invokes at concurrency 1 (server and worker RSS before and after);
- SQS → function: for persistent and --ephemeral servers (each started for it), messages/s from the first send
  until the queue is empty and the function counted every message, through an event source mapping at BatchSize
  10 and 1, next to the same run's ceiling: SQS send + receive + delete with no function (benchmarks.lambdasqs).
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
from dataclasses import asdict, replace
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks import procs
from benchmarks.lambdasqs import FeedError, FeedResult, FeedSpec, run_feed
from benchmarks.loadgen import CellResult, LoadgenError, LoadSpec, run_cell
from benchmarks.report import _table
from benchmarks.sqs import _Cpu

_ROOT = Path(__file__).resolve().parents[1]
_ENDPOINT = re.compile(rb"AWS endpoint\s+(http://\S+)")
_INIT = re.compile(r"Init Duration: ([0-9.]+) ms")
# auth is off: the credential scope only routes the request to Lambda (the signature is not checked)
_AUTH = ("AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/lambda/aws4_request, SignedHeaders=host, "
         "Signature=0000000000000000000000000000000000000000000000000000000000000000")
_HANDLER = "def handler(event, context):\n    return {'ok': True}\n"
GOALS = {"warm_p50_ms": 1.5, "cold_p50_ms": 150.0}
#: the issue's drift goal is stated over this many invokes
DRIFT_INVOKES = 10_000
# appends each batch's record count to a file the harness watches (see benchmarks.lambdasqs)
_COUNTER = ("import os\n"
            "_FD = os.open(os.environ['COUNT_FILE'], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)\n"
            "def handler(event, context):\n"
            "    os.write(_FD, b'%d\\n' % len(event['Records']))\n")
_ROLE = "arn:aws:iam::000000000000:role/r"


def _csv_ints(value: str) -> list[int]:
    return [int(part) for part in value.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="fewer cold starts, short cells (smoke run)")
    parser.add_argument("--cold", type=int, help="cold starts to measure (default 40, quick 10)")
    parser.add_argument("--concurrency", type=_csv_ints, default=[1, 8], help="warm cells (default: 1,8)")
    parser.add_argument("--duration", type=float, help="timed seconds per warm cell (default 3, quick 1)")
    parser.add_argument("--warmup", type=float, help="untimed seconds before each cell (default 1, quick 0.5)")
    parser.add_argument("--max-requests", type=int, help="timed requests per cell at most (default 10000)")
    parser.add_argument("--sqs-messages", type=int, help="messages per SQS → function cell (default 5000, quick 1000)")
    parser.add_argument("--sqs-cap", type=float, help="seconds an SQS → function cell may take at most (default 60)")
    parser.add_argument("--sqs-batch", type=_csv_ints, default=[10, 1], help="mapping BatchSizes (default: 10,1)")
    parser.add_argument("--skip", type=lambda v: {p.strip() for p in v.split(",") if p.strip()}, default=set(),
                        help="parts to leave out: cold, warm, drift, sqs")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw results here")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _zip(source: str = _HANDLER) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", source)
    return buffer.getvalue()


def _start(workdir: Path, core: int | None, data_dir: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    """miniaws pinned to `core`: --ephemeral, or persistent in `data_dir`."""
    log = open(workdir / "miniaws.log", "ab")  # noqa: SIM115 - closed with the process
    state = ["--data-dir", str(data_dir)] if data_dir is not None else ["--ephemeral"]
    argv = [sys.executable, "-m", "miniaws", "--port", "0", "--dns-port", "0", "--edge-port", "0", *state,
            "--log-level", "warning"]
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


def _client(endpoint: str, service: str = "lambda") -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
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


def _worker_rss_mib(server_pid: int) -> float:
    """RSS of the server's descendants (the function workers), in MiB."""
    return procs.tree_memory_mib(server_pid) - procs._status_kib(server_pid, "VmRSS") / 1024


def _drift(host: str, port: int, pid: int, args: argparse.Namespace, core: int | None,
           workdir: Path) -> dict[str, Any]:
    """Server and worker RSS before and after exactly DRIFT_INVOKES warm invokes (concurrency 1, after the warm
    cells, so allocator and caches have settled)."""
    rss_before, workers_before = procs._status_kib(pid, "VmRSS") / 1024, _worker_rss_mib(pid)
    head = (f"POST /2015-03-31/functions/bench/invocations HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: {_AUTH}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n").encode()
    spec = LoadSpec(host=host, port=port, heads=[head], body=b"{}", concurrency=1, warmup_s=0.0,
                    duration_s=120.0, max_requests=DRIFT_INVOKES, cpu=core)
    cell = run_cell(spec, workdir)
    rss_after, workers_after = procs._status_kib(pid, "VmRSS") / 1024, _worker_rss_mib(pid)
    return {"invokes": cell.requests, "errors": cell.errors, "seconds": round(cell.elapsed_s, 2),
            "server_before": round(rss_before, 1), "server_after": round(rss_after, 1),
            "workers_before": round(workers_before, 1), "workers_after": round(workers_after, 1)}


def _wait_counted(count_file: Path, offset: int, want: int, timeout: float) -> int:
    """Wait (bounded) until the function has counted `want` messages past `offset`; returns the file's size."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = count_file.read_bytes()[offset:]
        if sum(int(n) for n in data.split()) >= want:
            return len(data) + offset
        time.sleep(0.01)
    raise RuntimeError(f"the function counted fewer than {want} warm-up messages in {timeout:.0f} s")


def _feed(spec: FeedSpec, server_pid: int, workdir: Path) -> FeedResult | str:
    cpu = _Cpu(server_pid)
    try:
        result = run_feed(spec, workdir)
    except FeedError as exc:
        return str(exc)
    result.server_cpu, result.other_cpu = cpu.shares()
    return result


def _sqs_cells(endpoint: str, server_pid: int, args: argparse.Namespace, plan: procs.CpuPlan, workdir: Path,
               mode: str) -> dict[str, dict[str, FeedResult | str]]:
    """Per BatchSize: the ceiling (no function) and the mapping path, on the server at `endpoint`."""
    url = urlsplit(endpoint)
    host, port = url.hostname or "127.0.0.1", int(url.port or 80)
    lam, sqs = _client(endpoint), _client(endpoint, "sqs")
    count_file = workdir / f"count-{mode}.txt"
    count_file.write_bytes(b"")
    lam.create_function(FunctionName="bench-sqs", Runtime="python3.12", Role=_ROLE, Handler="app.handler",
                        Code={"ZipFile": _zip(_COUNTER)}, Environment={"Variables": {"COUNT_FILE": str(count_file)}})
    cells: dict[str, dict[str, FeedResult | str]] = {}
    for batch in args.sqs_batch:
        row: dict[str, FeedResult | str] = {}
        base = FeedSpec(host=host, port=port, kind="ceiling", queue_url="", count=args.sqs_messages, batch=batch,
                        cap_s=args.sqs_cap, cpu=plan.client)
        queue = sqs.create_queue(QueueName=f"ceiling-{mode}-{batch}")["QueueUrl"]
        row["ceiling"] = _feed(replace(base, queue_url=queue), server_pid, workdir)
        queue = sqs.create_queue(QueueName=f"mapped-{mode}-{batch}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="bench-sqs", BatchSize=batch,
                                                  MaximumBatchingWindowInSeconds=0)["UUID"]
        try:
            # untimed warm-up: pollers started and function environments warm before the clock runs
            offset = count_file.stat().st_size
            for start in range(0, 50, 10):
                sqs.send_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "MessageBody": "warm-up"}
                                                                for i in range(start, start + 10)])
            offset = _wait_counted(count_file, offset, 50, 30.0)
            row["mapping"] = _feed(replace(base, kind="mapping", queue_url=queue, count_file=str(count_file),
                                           count_offset=offset), server_pid, workdir)
        except RuntimeError as exc:
            row["mapping"] = str(exc)
        finally:
            lam.delete_event_source_mapping(UUID=mapping)
        cells[str(batch)] = row
        print(f"[lambda] sqs {mode} batch {batch}: " + ", ".join(
            f"{k} {v.msgs_per_s:,.0f} msg/s" if isinstance(v, FeedResult) else f"{k} {v}" for k, v in row.items()),
            file=sys.stderr, flush=True)
    return cells


def _sqs_to_function(args: argparse.Namespace, plan: procs.CpuPlan, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for mode in ("persistent", "ephemeral"):
        data_dir = workdir / "data" if mode == "persistent" else None
        proc, endpoint = _start(workdir, plan.server, data_dir)
        try:
            results[mode] = _sqs_cells(endpoint, proc.pid, args, plan, workdir, mode)
        finally:
            procs.stop(proc)
    return results


def run(args: argparse.Namespace) -> int:
    procs.install_cleanup()
    args.cold = args.cold or (10 if args.quick else 40)
    args.duration = args.duration or (1.0 if args.quick else 3.0)
    args.warmup = args.warmup or (0.5 if args.quick else 1.0)
    args.max_requests = args.max_requests or 10000
    args.sqs_messages = (args.sqs_messages or (1000 if args.quick else 5000)) // 10 * 10
    args.sqs_cap = args.sqs_cap or 60.0
    plan = procs.plan_cpus()
    results: dict[str, Any] = {"cpu_plan": plan.describe(), "warm": {}}
    with tempfile.TemporaryDirectory(prefix="miniaws-bench-lambda-") as tmp:
        workdir = Path(tmp)
        if not {"cold", "warm", "drift"} <= args.skip:
            proc, endpoint = _start(workdir, plan.server)
            try:
                url = urlsplit(endpoint)
                host, port = url.hostname or "127.0.0.1", int(url.port or 80)
                lam = _client(endpoint)
                print(f"[lambda] miniaws at {endpoint}; {plan.describe()}", file=sys.stderr, flush=True)
                if "cold" not in args.skip:
                    results["cold"] = _cold_starts(lam, host, port, args.cold)
                lam.create_function(FunctionName="bench", Runtime="python3.12", Role=_ROLE, Handler="app.handler",
                                    Code={"ZipFile": _zip()})
                rss_before = procs._status_kib(proc.pid, "VmRSS") / 1024
                total = 0
                for concurrency in args.concurrency if "warm" not in args.skip else []:
                    try:
                        cell = _warm_cell(host, port, concurrency, args, plan.client, workdir)
                    except LoadgenError as exc:
                        print(f"[lambda] warm c={concurrency} failed: {exc}", file=sys.stderr)
                        continue
                    total += cell.requests
                    results["warm"][str(concurrency)] = {k: getattr(cell, k) for k in (
                        "requests", "ops_per_s", "p50_ms", "p90_ms", "p99_ms", "max_ms", "errors", "statuses")}
                rss_after = procs._status_kib(proc.pid, "VmRSS") / 1024
                if total:
                    results["server_rss_mib"] = {"before": round(rss_before, 1), "after": round(rss_after, 1),
                                                 "timed_invokes": total}
                if "drift" not in args.skip:
                    try:
                        results["drift"] = _drift(host, port, proc.pid, args, plan.client, workdir)
                    except LoadgenError as exc:
                        print(f"[lambda] RSS drift run failed: {exc}", file=sys.stderr)
            finally:
                procs.stop(proc)
        if "sqs" not in args.skip:
            results["sqs"] = _sqs_to_function(args, plan, workdir)
    print(_render(results, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=_jsonable))
    return 0


def _jsonable(value: Any) -> Any:
    return asdict(value) if isinstance(value, FeedResult) else str(value)


def _sqs_table(sqs: dict[str, Any], args: argparse.Namespace) -> list[str]:
    header = ("server", "batch", "path", "msgs/s", "elapsed s", "send s", "vs ceiling", "server CPU", "other CPU",
              "note")
    rows: list[tuple[str, ...]] = []
    for mode, cells in sqs.items():
        for batch, row in cells.items():
            ceiling = row.get("ceiling")
            for path, label in (("ceiling", "SQS only"), ("mapping", "mapping → fn")):
                got = row.get(path)
                if not isinstance(got, FeedResult):
                    rows.append((mode, batch, label, "-", "-", "-", "", "", "", str(got or "not measured")))
                    continue
                ratio = ""
                if path == "mapping" and isinstance(ceiling, FeedResult) and ceiling.msgs_per_s > 0:
                    ratio = f"{got.msgs_per_s / ceiling.msgs_per_s * 100:.0f} %"
                note = " ".join(filter(None, ["capped" if got.capped else "",
                                              f"{got.errors} errors" if got.errors else ""]))
                rows.append((mode, batch, label, f"{got.msgs_per_s:,.0f}", f"{got.elapsed_s:.2f}", f"{got.send_s:.2f}",
                             ratio, f"{got.server_cpu:.0%}", f"{got.other_cpu:.0%}", note))
    return [f"SQS → function: {args.sqs_messages:,} messages per cell, timed from the first send until the queue is"
            f" empty and the function has counted every message (cap {args.sqs_cap:.0f} s). The ceiling is the"
            " same sends followed by ReceiveMessage (MaxNumberOfMessages = batch) + DeleteMessageBatch on 5"
            " connections, with no function. CPU: shares of one core over the cell; other CPU above ~15 % means"
            " a busy machine and noisy numbers.", *_table(header, rows, "lrlrrrrrrl")]


def _render(results: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [f"Lambda (miniaws, {results['cpu_plan']})"]
    cold = results.get("cold")
    if cold:
        lines += ["", f"cold start  n={cold['count']}: end-to-end p50 {cold['p50_ms']:.1f} ms  p99 {cold['p99_ms']:.1f} ms"
                  f"  | Init Duration p50 {cold['init_p50_ms']:.1f} ms  p99 {cold['init_p99_ms']:.1f} ms"]
    if results["warm"]:
        lines += [""]
        lines.append(f"{'concurrency':>11}  {'invokes/s':>10}  {'p50 ms':>8}  {'p99 ms':>8}  {'errors':>6}")
        for concurrency, cell in results["warm"].items():
            lines.append(f"{concurrency:>11}  {cell['ops_per_s']:>10.0f}  {cell['p50_ms']:>8.3f}  {cell['p99_ms']:>8.3f}"
                         f"  {cell['errors']:>6}")
    rss = results.get("server_rss_mib", {})
    if rss:
        lines += ["", f"server RSS {rss['before']} MiB -> {rss['after']} MiB over {rss['timed_invokes']} timed invokes"
                      " (workers excluded)"]
    drift = results.get("drift")
    if drift:
        lines += ["", f"RSS drift over {drift['invokes']:,} warm invokes (c=1, {drift['seconds']} s, "
                      f"{drift['errors']} errors): server {drift['server_before']} -> {drift['server_after']} MiB "
                      f"({drift['server_after'] - drift['server_before']:+.1f}), workers {drift['workers_before']} -> "
                      f"{drift['workers_after']} MiB ({drift['workers_after'] - drift['workers_before']:+.1f})"]
    if "sqs" in results:
        lines += ["", *_sqs_table(results["sqs"], args)]
    warm1 = results["warm"].get("1")
    lines += ["", "goals:"]
    if warm1:
        ok = warm1["p50_ms"] < GOALS["warm_p50_ms"]
        lines.append(f"  [{'x' if ok else ' '}] warm invoke p50 < {GOALS['warm_p50_ms']} ms (got {warm1['p50_ms']:.3f})")
    if cold:
        ok = cold["p50_ms"] < GOALS["cold_p50_ms"]
        lines.append(f"  [{'x' if ok else ' '}] cold start p50 < {GOALS['cold_p50_ms']:.0f} ms (got {cold['p50_ms']:.1f})")
    if drift:
        # "no drift": the server keeps within 1 MiB over the 10,000 invokes (RSS moves by pages and arenas)
        grew = drift["server_after"] - drift["server_before"]
        ok = drift["invokes"] >= DRIFT_INVOKES and grew <= 1.0
        lines.append(f"  [{'x' if ok else ' '}] no server RSS drift over {DRIFT_INVOKES:,} invokes"
                     f" (got {grew:+.1f} MiB over {drift['invokes']:,})")
    return "\n".join(lines)


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
