"""``python -m benchmarks sqs``: SQS and SNS → SQS throughput and latency of miniaws, persistent and ephemeral,
against the bare-aiohttp POST ceiling and moto.

For each target in turn: start it pinned to one core, create the queues and topics with boto3 (untimed), then
- ``send`` / ``send-batch``: SendMessage / SendMessageBatch(10) from the raw load client (benchmarks.loadgen);
- ``drain``: ReceiveMessage(10) + DeleteMessageBatch over a pre-filled queue, messages/s;
- ``e2e``: producers and consumers at once, messages consumed/s;
- ``wake``: long-poll wake latency (a send to a queue a consumer is long-polling: send start → receive answered,
  timed when the receive's answer arrives, even if the send's own answer comes later);
- ``sns-1`` / ``sns-8``: Publish → every subscribed queue's long poll answered, with 1 and 8 queues (envelopes,
  not raw delivery);
the other five from the flow client (benchmarks.sqsload). The ceiling only answers POSTs, so it runs the first two.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks import procs, report, targets
from benchmarks.loadgen import CellResult, LoadgenError, LoadSpec, run_cell
from benchmarks.sqsload import FlowError, FlowResult, FlowSpec, Requests, run_flow

THROUGHPUT = {"send": "SendMessage 100 B", "send-batch": "SendMessageBatch 10 × 100 B (ops/s = batches/s)"}
FLOWS = {
    "drain": "ReceiveMessage(10) + DeleteMessageBatch drain (p50/p99: one receive + delete)",
    "e2e": "End to end: SendMessage producers and Receive(10) + DeleteMessageBatch consumers at once (c each)",
    "wake": "Long-poll wake: send start → the parked ReceiveMessage answered",
    "sns-1": "SNS Publish → SQS, 1 subscribed queue: publish start → its long poll answered",
    "sns-8": "SNS Publish → SQS, 8 subscribed queues: publish start → the last long poll answered",
}
LATENCY_FLOWS = ("wake", "sns-1", "sns-8")
DEFAULT_TARGETS = ("miniaws", "miniaws-ephemeral", "bare-aiohttp", "moto")
GOALS_LINE = ("Goals: SendMessage ≥ 50 % of the ceiling's POST rate and ≥ 20× moto; long-poll wake p50 < 2 ms; "
              "SNS → SQS p50 < 2 ms with 8 subscribers")


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="short cells, few samples (smoke run, noisy numbers)")
    parser.add_argument("--targets", type=_csv, default=list(DEFAULT_TARGETS),
                        help=f"comma-separated, in run order (default: {','.join(DEFAULT_TARGETS)})")
    parser.add_argument("--workloads", type=_csv, default=[*THROUGHPUT, *FLOWS],
                        help=f"comma-separated (default: {','.join([*THROUGHPUT, *FLOWS])})")
    parser.add_argument("--concurrency", type=lambda v: [int(c) for c in _csv(v)], default=[1, 32],
                        help="connections per throughput cell (producers and consumers each for e2e; default 1,32)")
    parser.add_argument("--duration", type=float, help="timed seconds per cell (default 3, quick 0.7)")
    parser.add_argument("--warmup", type=float, help="untimed seconds before each cell (default 1, quick 0.3)")
    parser.add_argument("--max-requests", type=int, help="timed requests per loadgen cell (default 20000, quick 5000)")
    parser.add_argument("--samples", type=int, help="latency samples per latency workload (default 500, quick 100)")
    parser.add_argument("--drain", type=int, help="messages to drain (default 20000, quick 5000)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw results here")


# -- setup (boto3, untimed) ---------------------------------------------------------------------------
def _clients(url: str) -> tuple[Any, Any]:
    import boto3
    from botocore.config import Config

    settings = {"endpoint_url": url, "region_name": "us-east-1", "aws_access_key_id": "test",
                "aws_secret_access_key": "test", "config": Config(retries={"max_attempts": 1})}
    return boto3.client("sqs", **settings), boto3.client("sns", **settings)


def _levels(workload: str, args: argparse.Namespace) -> list[int]:
    return [1] if workload in LATENCY_FLOWS else list(args.concurrency)


def _setup(url: str, workloads: list[str], args: argparse.Namespace) -> dict[str, dict[int, Any]]:
    """A fresh queue per workload and concurrency (topics with their subscribed queues for sns-N):
    {workload: {concurrency: (queue urls, topic arn)}}. Fresh queues need no PurgeQueue between cells, which AWS
    (and moto) allow once a minute."""
    sqs, sns = _clients(url)
    plan: dict[str, dict[int, Any]] = {}
    for workload in workloads:
        for conc in _levels(workload, args):
            name = f"bench-{workload}-c{conc}"
            if workload.startswith("sns-"):
                topic = sns.create_topic(Name=name)["TopicArn"]
                urls = []
                for index in range(int(workload.split("-")[1])):
                    queue = sqs.create_queue(QueueName=f"{name}-{index}")["QueueUrl"]
                    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
                    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=attributes["Attributes"]["QueueArn"])
                    urls.append(queue)
                plan.setdefault(workload, {})[conc] = (urls, topic)
            else:
                plan.setdefault(workload, {})[conc] = ([sqs.create_queue(QueueName=name)["QueueUrl"]], "")
    return plan


# -- measuring ----------------------------------------------------------------------------------------
class _Cpu:
    """The server's and everyone else's CPU over a cell (as in the s3 suite)."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.server, self.own = procs.tree_cpu_seconds(pid), procs.own_cpu_seconds()
        self.machine, self.wall = procs.machine_busy_seconds(), time.perf_counter()

    def shares(self) -> tuple[float, float]:
        wall = time.perf_counter() - self.wall
        server = procs.tree_cpu_seconds(self.pid) - self.server
        other = procs.machine_busy_seconds() - self.machine - server - (procs.own_cpu_seconds() - self.own)
        return round(server / wall, 3), round(max(other, 0.0) / wall, 3)


def _throughput(workload: str, running: targets.RunningTarget, queues: dict[int, Any], args: argparse.Namespace,
                plan: procs.CpuPlan, workdir: Path) -> dict[int, CellResult | str]:
    url = urlsplit(running.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    requests = Requests(host, port)
    cells: dict[int, CellResult | str] = {}
    for conc in args.concurrency:
        queue_url = queues[conc][0][0]
        request = requests.send(queue_url) if workload == "send" else requests.send_batch(queue_url)
        head, _, body = request.partition(b"\r\n\r\n")
        spec = LoadSpec(host=host, port=port, heads=[head + b"\r\n\r\n"], body=body, concurrency=conc,
                        warmup_s=args.warmup, duration_s=args.duration, max_requests=args.max_requests,
                        cpu=plan.client)
        cpu = _Cpu(running.proc.pid)
        cell: CellResult | str
        try:
            cell = run_cell(spec, workdir)
        except LoadgenError as exc:
            cell = str(exc)
        else:
            cell.server_cpu, cell.other_cpu = cpu.shares()
        cells[conc] = cell
        _log_cell(running.name, workload, conc, cell)
    return cells


def _flow(workload: str, running: targets.RunningTarget, queues: list[str], topic: str, conc: int,
          args: argparse.Namespace, plan: procs.CpuPlan, workdir: Path) -> FlowResult | str:
    url = urlsplit(running.url)
    kind = "sns" if workload.startswith("sns-") else workload
    spec = FlowSpec(host=url.hostname or "127.0.0.1", port=url.port or 80, kind=kind, queue_urls=queues,
                    topic_arn=topic, concurrency=conc, count=args.drain if kind == "drain" else args.samples,
                    duration_s=args.duration, warmup_s=args.warmup, cpu=plan.client)
    cpu = _Cpu(running.proc.pid)
    try:
        result = run_flow(spec, workdir)
    except FlowError as exc:
        print(f"[{running.name}] {workload} c{conc}: {exc}", file=sys.stderr, flush=True)
        return str(exc)
    result.server_cpu, result.other_cpu = cpu.shares()
    rate = f"{result.msgs_per_s:,.0f} msgs/s, " if kind in ("drain", "e2e") else ""
    errors = f", {result.errors} errors ({result.first_error})" if result.errors else ""
    print(f"[{running.name}] {workload} c{conc}: {rate}p50 {result.p50_ms:.3f} ms, p99 {result.p99_ms:.3f} ms, "
          f"cpu server {result.server_cpu:.0%} client {result.client_cpu:.0%}{errors}", file=sys.stderr, flush=True)
    return result


def _log_cell(name: str, workload: str, conc: int, cell: CellResult | str) -> None:
    if isinstance(cell, str):
        print(f"[{name}] {workload} c{conc}: {cell}", file=sys.stderr, flush=True)
        return
    flag = f", {cell.errors} errors ({cell.first_error})" if cell.errors else ""
    print(f"[{name}] {workload} c{conc}: {cell.ops_per_s:,.0f} ops/s, p50 {cell.p50_ms:.3f} ms, "
          f"p99 {cell.p99_ms:.3f} ms, cpu server {cell.server_cpu:.0%} client {cell.client_cpu:.0%}{flag}",
          file=sys.stderr, flush=True)


def _measure_target(target: targets.Target, args: argparse.Namespace, plan: procs.CpuPlan, workdir: Path
                    ) -> tuple[report.TargetResult, dict[str, dict[int, FlowResult | str]]]:
    result = report.TargetResult(target.name, target.role)
    flows: dict[str, dict[int, FlowResult | str]] = {}
    print(f"[{target.name}] starting", file=sys.stderr, flush=True)
    try:
        running = targets.start(target, workdir, plan.server)
    except targets.StartFailure as exc:
        result.status = "skipped" if isinstance(exc, targets.NotInstalled) else "failed"
        result.note = str(exc)
        print(f"[{target.name}] {result.status}: {exc}", file=sys.stderr, flush=True)
        return result, flows
    try:
        result.startup_s = round(running.startup_s, 4)
        targets.settle()
        result.idle_rss_mib = round(running.rss_mib(), 1)
        ceiling = target.role == "ceiling"
        wanted = [w for w in args.workloads if not ceiling or w in THROUGHPUT]
        if ceiling:
            setup = {w: {c: ([f"{running.url}/000000000000/bench-{w}"], "") for c in args.concurrency}
                     for w in wanted}
        else:
            try:
                setup = _setup(running.url, wanted, args)
            except Exception as exc:  # noqa: BLE001 - any boto3 failure means the target cannot be measured
                result.note = f"setup failed: {type(exc).__name__}: {exc}"[:200]
                print(f"[{target.name}] {result.note}", file=sys.stderr, flush=True)
                return result, flows
        for workload in wanted:
            if workload in THROUGHPUT:
                result.cells[workload] = _throughput(workload, running, setup[workload], args, plan, workdir)
            else:
                flows[workload] = {c: _flow(workload, running, *setup[workload][c], c, args, plan, workdir)
                                   for c in _levels(workload, args)}
        result.peak_rss_mib = round(running.peak_rss_mib(), 1)
    finally:
        code = running.stop()
        print(f"[{target.name}] stopped (exit {code})", file=sys.stderr, flush=True)
    return result, flows


# -- reporting ----------------------------------------------------------------------------------------
def _ms(value: float) -> str:
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def _flow_table(workload: str, results: list[report.TargetResult],
                flows: dict[str, dict[str, dict[int, FlowResult | str]]]) -> list[str]:
    latency = workload in LATENCY_FLOWS
    header = ("target", "conc", "samples", "p50 ms", "p99 ms", "max ms", "errors") if latency else \
        ("target", "conc", "msgs/s", "p50 ms", "p99 ms", "errors", "vs moto")
    moto = flows.get("moto", {}).get(workload, {})
    rows: list[tuple[str, ...]] = []
    for target in results:
        if target.role == "ceiling":
            continue
        if target.status != "ok":
            rows.append((target.name, "-", target.status if target.status == "skipped" else "failed to start"))
            continue
        for conc, cell in flows.get(target.name, {}).get(workload, {}).items():
            if isinstance(cell, str):
                rows.append((target.name, str(conc), cell[:120]))
                continue
            errors = f"{cell.errors} !" if cell.errors else "0"
            if latency:
                rows.append((target.name, str(conc), str(cell.samples), _ms(cell.p50_ms), _ms(cell.p99_ms),
                             _ms(cell.max_ms), errors))
                continue
            theirs = moto.get(conc)
            ratio = f"{cell.msgs_per_s / theirs.msgs_per_s:.1f}×" if isinstance(theirs, FlowResult) and \
                theirs.msgs_per_s and target.name != "moto" else ""
            rows.append((target.name, str(conc), f"{cell.msgs_per_s:,.0f}", _ms(cell.p50_ms), _ms(cell.p99_ms),
                         errors, ratio))
    return [FLOWS[workload], *report._table(header, rows, "lrrrrrr")]


def _goals(run: report.RunReport, flows: dict[str, dict[str, dict[int, FlowResult | str]]]) -> list[str]:
    subject = next((name for name in report.SUBJECTS if run.by_name(name)), None)
    lines = [GOALS_LINE]
    target = run.by_name(subject) if subject else None

    def check(ok: bool | None, text: str, detail: str) -> None:
        lines.append(f"  {({True: '✓', False: '✗', None: '–'})[ok]} {text}: {detail}")

    for other, need, text in ((report.CEILING, 0.5, "SendMessage ≥ 50 % of ceiling"),
                              (report.MOTO, 20.0, "SendMessage ≥ 20× moto")):
        ref = run.by_name(other)
        parts, oks = [], []
        for conc in run.concurrencies:
            mine, theirs = (target.cell("send", conc) if target else None), (ref.cell("send", conc) if ref else None)
            if mine is None or theirs is None or mine.errors or theirs.errors > 0.01 * theirs.requests:
                continue
            ratio = mine.ops_per_s / theirs.ops_per_s
            oks.append(ratio >= need)
            parts.append(f"c{conc} " + (f"{ratio * 100:.0f} %" if need < 1 else f"{ratio:.1f}×"))
        check(all(oks) if parts else None, text, f"{subject} " + ", ".join(parts) if parts else "not measured")
    for workload, text in (("wake", "long-poll wake p50 < 2 ms"), ("sns-8", "SNS → SQS p50 < 2 ms, 8 queues")):
        cell = flows.get(subject or "", {}).get(workload, {}).get(1)
        if isinstance(cell, FlowResult) and cell.samples and not cell.errors:
            check(cell.p50_ms < 2.0, text, f"{subject} p50 {cell.p50_ms:.3f} ms, p99 {cell.p99_ms:.3f} ms")
        else:
            check(None, text, "not measured")
    return lines


def _render(run: report.RunReport, flows: dict[str, dict[str, dict[int, FlowResult | str]]],
            workloads: list[str]) -> str:
    out = [f"{k}: {v}" for k, v in run.meta.items() if k in ("machine", "pinning", "timing")]
    for name, title in run.workloads:
        out += ["", *report.workload_table(run, name, title)]
    for workload in workloads:
        if workload in FLOWS:
            out += ["", *_flow_table(workload, run.targets, flows)]
    out += ["", *report.startup_table(run)]
    noisy = [(cell.other_cpu, f"{t.name}/{w}/c{c}") for t in run.targets for w, cells in t.cells.items()
             for c, cell in cells.items() if isinstance(cell, CellResult) and cell.other_cpu > 0.15]
    noisy += [(cell.other_cpu, f"{t}/{w}/c{c}") for t, per in flows.items() for w, cells in per.items()
              for c, cell in cells.items() if isinstance(cell, FlowResult) and cell.other_cpu > 0.15]
    if noisy:
        worst = max(noisy)
        out += ["", f"warning: other processes were busy during {len(noisy)} cell(s), up to {worst[0]:.0%} of a "
                    f"core ({worst[1]}); those numbers are noisy, rerun on an idle machine"]
    out += ["", *_goals(run, flows)]
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    unknown = [t for t in args.targets if t not in targets.TARGETS]
    unknown += [w for w in args.workloads if w not in THROUGHPUT and w not in FLOWS]
    if unknown or not args.concurrency or min(args.concurrency) < 1:
        print(f"benchmarks sqs: unknown target or workload, or bad --concurrency: {', '.join(unknown)}",
              file=sys.stderr)
        return 2
    quick = args.quick
    args.duration = args.duration if args.duration is not None else (0.7 if quick else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if quick else 1.0)
    args.max_requests = args.max_requests or (5000 if quick else 20000)
    args.samples = args.samples or (100 if quick else 500)
    args.drain = args.drain or (5000 if quick else 20000)
    procs.install_cleanup()
    plan = procs.plan_cpus()
    procs.pin_self(plan.client)
    meta = {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform(terse=True)}",
        "pinning": plan.describe(),
        "timing": f"per cell {args.warmup:g} s warm-up, then up to {args.duration:g} s or {args.max_requests:,} "
                  f"requests; {args.samples} latency samples; drains of {args.drain:,} messages",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv,
    }
    results: list[report.TargetResult] = []
    flows: dict[str, dict[str, dict[int, FlowResult | str]]] = {}
    with tempfile.TemporaryDirectory(prefix="miniaws-bench-sqs-") as tmp:
        for name in args.targets:
            workdir = Path(tmp) / name
            workdir.mkdir()
            result, flows[name] = _measure_target(targets.TARGETS[name], args, plan, workdir)
            results.append(result)
    titles = [(w, THROUGHPUT[w]) for w in args.workloads if w in THROUGHPUT]
    run_report = report.RunReport(meta, titles, args.concurrency, results)
    print(_render(run_report, flows, args.workloads), flush=True)
    if args.json:
        import json

        document = {**asdict(run_report), "flows": {t: {w: {c: asdict(v) if isinstance(v, FlowResult) else v
                                                            for c, v in cells.items()}
                                                        for w, cells in per.items()} for t, per in flows.items()}}
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"\nraw results written to {args.json}", file=sys.stderr)
    return 0
