"""``python -m benchmarks kms``: KMS Encrypt, Decrypt and GenerateDataKey throughput and latency, and what SSE-KMS
costs S3 (PutObject/GetObject 1 KiB into a bucket whose default encryption is SSE-KMS, against a plain bucket in the
same run), for miniaws (persistent, and in memory if asked) and moto's server when it is installed.

For each target in turn: start it pinned to one core, create the key, buckets and objects with boto3 (untimed), then
drive each workload from the raw load client (benchmarks.loadgen) on the other core. KMS requests are SigV4-signed
JSON 1.1 POSTs built once per target (static bytes, signed minutes before they are sent); S3 requests are presigned.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks import procs, report, s3names, targets, workloads
from benchmarks.loadgen import CellResult, LoadgenError, LoadSpec, run_cell

KIB = 1024
PLAINTEXT = os.urandom(256)
CONTEXT = {"purpose": "benchmark"}
KMS_BUCKET = "bench-sse-kms"
DEFAULT_TARGETS = ("miniaws", "moto")


@dataclass(frozen=True, slots=True)
class KmsWorkload:
    name: str
    title: str
    kind: str  # "kms" (a TrentService action) or "put" / "get" (S3)
    action: str = ""
    sse_kms: bool = False


WORKLOADS: dict[str, KmsWorkload] = {w.name: w for w in (
    KmsWorkload("encrypt", "KMS Encrypt 256 B (with encryption context)", "kms", "Encrypt"),
    KmsWorkload("decrypt", "KMS Decrypt 256 B (with encryption context)", "kms", "Decrypt"),
    KmsWorkload("generate-data-key", "KMS GenerateDataKey AES_256", "kms", "GenerateDataKey"),
    KmsWorkload("s3-put-1k", "S3 PutObject 1 KiB, SSE-S3 (plain)", "put"),
    KmsWorkload("s3-put-1k-kms", "S3 PutObject 1 KiB, SSE-KMS (bucket default)", "put", sse_kms=True),
    KmsWorkload("s3-get-1k", "S3 GetObject 1 KiB, SSE-S3 (plain)", "get"),
    KmsWorkload("s3-get-1k-kms", "S3 GetObject 1 KiB, SSE-KMS", "get", sse_kms=True),
)}
GOALS_LINE = ("Goals: GenerateDataKey ≥ 10× moto; SSE-KMS GetObject 1 KiB ≥ 70 % of plain GetObject "
              "(same target, same run)")


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true", help="short cells (smoke run, noisy numbers)")
    parser.add_argument("--targets", type=_csv, default=list(DEFAULT_TARGETS),
                        help=f"comma-separated, in run order (default: {','.join(DEFAULT_TARGETS)}; "
                             "miniaws-ephemeral also works)")
    parser.add_argument("--workloads", type=_csv, default=list(WORKLOADS),
                        help=f"comma-separated (default: {','.join(WORKLOADS)})")
    parser.add_argument("--concurrency", type=lambda v: [int(c) for c in _csv(v)], default=[1, 32],
                        help="connections per cell, comma-separated (default: 1,32)")
    parser.add_argument("--duration", type=float, help="timed seconds per cell (default 3, quick 0.7)")
    parser.add_argument("--warmup", type=float, help="untimed seconds before each cell (default 1, quick 0.3)")
    parser.add_argument("--max-requests", type=int, help="timed requests per cell at most (default 20000, quick 5000)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the raw results here")


# -- setup (boto3, untimed) and the static requests -----------------------------------------------------
def _kms_client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("kms", endpoint_url=url, region_name=workloads.REGION,
                        aws_access_key_id=workloads.ACCESS_KEY, aws_secret_access_key=workloads.SECRET_KEY,
                        config=Config(retries={"max_attempts": 1}))


def _setup(url: str) -> dict[str, Any]:
    """The key, a ciphertext to decrypt, and the two buckets with a 1 KiB object each; checked as it goes."""
    kms, s3 = _kms_client(url), workloads.make_client(url)
    key_arn = kms.create_key(Description="benchmark")["KeyMetadata"]["Arn"]
    blob = kms.encrypt(KeyId=key_arn, Plaintext=PLAINTEXT, EncryptionContext=CONTEXT)["CiphertextBlob"]
    if kms.decrypt(CiphertextBlob=blob, EncryptionContext=CONTEXT)["Plaintext"] != PLAINTEXT:
        raise workloads.SetupError("Decrypt did not return what Encrypt was given")
    body = s3names.payload(KIB)
    for bucket in (s3names.BUCKET, KMS_BUCKET):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_encryption(Bucket=KMS_BUCKET, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}}]})
    for bucket in (s3names.BUCKET, KMS_BUCKET):
        s3.put_object(Bucket=bucket, Key=s3names.get_key(KIB), Body=body)
        got = s3.get_object(Bucket=bucket, Key=s3names.get_key(KIB))
        if got["Body"].read() != body:
            raise workloads.SetupError(f"GetObject from {bucket} did not return what was put")
    head = s3.head_object(Bucket=KMS_BUCKET, Key=s3names.get_key(KIB))
    return {"key": key_arn, "blob": blob, "s3": s3, "sse": head.get("ServerSideEncryption", "none")}


def _kms_request(url: str, action: str, payload: dict[str, Any]) -> tuple[bytes, bytes]:
    """(head, body) of a SigV4-signed TrentService POST, as botocore would send it."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = json.dumps(payload).encode()
    request = AWSRequest("POST", url + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"TrentService.{action}"})
    SigV4Auth(Credentials(workloads.ACCESS_KEY, workloads.SECRET_KEY), "kms", workloads.REGION).add_auth(request)
    lines = ["POST / HTTP/1.1", f"Host: {urlsplit(url).netloc}", "User-Agent: miniaws-bench",
             *(f"{name}: {value}" for name, value in request.headers.items()), f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), body


def _s3_head(method: str, url: str, extra: tuple[str, ...] = ()) -> bytes:
    parts = urlsplit(url)
    lines = (f"{method} {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}", "User-Agent: miniaws-bench",
             *extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _requests(workload: KmsWorkload, url: str, setup: dict[str, Any]) -> tuple[list[bytes], bytes]:
    if workload.kind == "kms":
        payload: dict[str, Any] = {"KeyId": setup["key"], "EncryptionContext": CONTEXT}
        if workload.action == "Encrypt":
            payload["Plaintext"] = base64.b64encode(PLAINTEXT).decode()
        elif workload.action == "Decrypt":
            payload = {"CiphertextBlob": base64.b64encode(setup["blob"]).decode(), "EncryptionContext": CONTEXT}
        else:
            payload["KeySpec"] = "AES_256"
        head, body = _kms_request(url, workload.action, payload)
        return [head], body
    sign = setup["s3"].generate_presigned_url
    bucket = KMS_BUCKET if workload.sse_kms else s3names.BUCKET
    if workload.kind == "get":
        return [_s3_head("GET", sign("get_object", Params={"Bucket": bucket, "Key": s3names.get_key(KIB)}))], b""
    extra = (f"Content-Length: {KIB}", "Content-Type: application/octet-stream")
    heads = [_s3_head("PUT", sign("put_object", Params={"Bucket": bucket, "Key": s3names.put_key(KIB, i)}), extra)
             for i in range(2000)]
    return heads, s3names.payload(KIB)


# -- measuring ------------------------------------------------------------------------------------------
def _cell(spec: LoadSpec, pid: int, workdir: Path) -> CellResult | str:
    server_before, own_before = procs.tree_cpu_seconds(pid), procs.own_cpu_seconds()
    machine_before, wall_before = procs.machine_busy_seconds(), time.perf_counter()
    try:
        cell = run_cell(spec, workdir)
    except LoadgenError as exc:
        return str(exc)
    wall = time.perf_counter() - wall_before
    server = procs.tree_cpu_seconds(pid) - server_before
    other = procs.machine_busy_seconds() - machine_before - server - (procs.own_cpu_seconds() - own_before)
    cell.server_cpu, cell.other_cpu = round(server / wall, 3), round(max(other, 0.0) / wall, 3)
    return cell


def _measure_target(target: targets.Target, args: argparse.Namespace, plan: procs.CpuPlan,
                    workdir: Path) -> report.TargetResult:
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
        try:
            setup = _setup(running.url)
        except Exception as exc:  # noqa: BLE001 - any boto3 failure means the target cannot be measured
            result.note = f"setup failed: {type(exc).__name__}: {exc}"[:200]
            print(f"[{target.name}] {result.note}", file=sys.stderr, flush=True)
            return result
        result.note = f"SSE-KMS bucket objects report ServerSideEncryption {setup['sse']}"
        url = urlsplit(running.url)
        for name in args.workloads:
            workload = WORKLOADS[name]
            heads, body = _requests(workload, running.url, setup)
            result.cells[name] = {}
            for conc in args.concurrency:
                spec = LoadSpec(host=url.hostname or "127.0.0.1", port=url.port or 80, heads=heads, body=body,
                                concurrency=conc, warmup_s=args.warmup, duration_s=args.duration,
                                max_requests=args.max_requests, cpu=plan.client)
                cell = _cell(spec, running.proc.pid, workdir)
                result.cells[name][conc] = cell
                _log(target.name, name, conc, cell)
        result.peak_rss_mib = round(running.peak_rss_mib(), 1)
    finally:
        code = running.stop()
        print(f"[{target.name}] stopped (exit {code})", file=sys.stderr, flush=True)
    return result


def _log(name: str, workload: str, conc: int, cell: CellResult | str) -> None:
    if isinstance(cell, str):
        print(f"[{name}] {workload} c{conc}: {cell}", file=sys.stderr, flush=True)
        return
    flag = f", {cell.errors} errors ({cell.first_error})" if cell.errors else ""
    print(f"[{name}] {workload} c{conc}: {cell.ops_per_s:,.0f} ops/s, p50 {cell.p50_ms:.3f} ms, "
          f"p99 {cell.p99_ms:.3f} ms, cpu server {cell.server_cpu:.0%} client {cell.client_cpu:.0%}{flag}",
          file=sys.stderr, flush=True)


# -- reporting ------------------------------------------------------------------------------------------
def _usable(cell: CellResult | None) -> bool:
    return cell is not None and cell.ops_per_s > 0 and cell.errors <= 0.01 * cell.requests


def _sse_table(run: report.RunReport) -> list[str]:
    """SSE-KMS against plain, per target and concurrency: the cost of asking KMS on every request."""
    header = ("target", "conc", "PUT kms/plain", "GET kms/plain", "GET p99 kms/plain ms")
    rows: list[tuple[str, ...]] = []
    for target in run.targets:
        if target.status != "ok":
            continue
        for conc in run.concurrencies:
            put = (target.cell("s3-put-1k-kms", conc), target.cell("s3-put-1k", conc))
            get = (target.cell("s3-get-1k-kms", conc), target.cell("s3-get-1k", conc))
            if not any(c is not None for c in (*put, *get)):
                continue
            put_ratio = f"{put[0].ops_per_s / put[1].ops_per_s * 100:.0f} %" if put[0] and put[1] and _usable(
                put[0]) and _usable(put[1]) else ""
            get_ratio = f"{get[0].ops_per_s / get[1].ops_per_s * 100:.0f} %" if get[0] and get[1] and _usable(
                get[0]) and _usable(get[1]) else ""
            p99 = f"{get[0].p99_ms:.3f} / {get[1].p99_ms:.3f}" if get[0] and get[1] else ""
            rows.append((target.name, str(conc), put_ratio, get_ratio, p99))
    return ["SSE-KMS against plain (ops/s ratio; same target, same run)", *report._table(header, rows, "lrrrr")]


def _goals(run: report.RunReport) -> list[str]:
    subject = next((name for name in report.SUBJECTS if run.by_name(name)), None)
    target = run.by_name(subject) if subject else None
    moto = run.by_name(report.MOTO)
    lines = [GOALS_LINE]

    def check(ok: bool | None, text: str, detail: str) -> None:
        lines.append(f"  {({True: '✓', False: '✗', None: '–'})[ok]} {text}: {detail}")

    parts, oks = [], []
    for conc in run.concurrencies:
        mine = target.cell("generate-data-key", conc) if target else None
        theirs = moto.cell("generate-data-key", conc) if moto else None
        if _usable(mine) and _usable(theirs):
            assert mine is not None and theirs is not None
            ratio = mine.ops_per_s / theirs.ops_per_s
            oks.append(ratio >= 10)
            parts.append(f"c{conc} {ratio:.1f}×")
    check(all(oks) if parts else None, "GenerateDataKey ≥ 10× moto",
          f"{subject} " + ", ".join(parts) if parts else "not measured (needs miniaws and moto)")
    parts, oks = [], []
    for conc in run.concurrencies:
        kms_get = target.cell("s3-get-1k-kms", conc) if target else None
        plain = target.cell("s3-get-1k", conc) if target else None
        if _usable(kms_get) and _usable(plain):
            assert kms_get is not None and plain is not None
            ratio = kms_get.ops_per_s / plain.ops_per_s
            oks.append(ratio >= 0.7)
            parts.append(f"c{conc} {ratio * 100:.0f} %")
    check(all(oks) if parts else None, "SSE-KMS GetObject 1 KiB ≥ 70 % of plain",
          f"{subject} " + ", ".join(parts) if parts else "not measured")
    return lines


def _render(run: report.RunReport) -> str:
    out = [f"{k}: {v}" for k, v in run.meta.items() if k in ("machine", "pinning", "timing")]
    for name, title in run.workloads:
        out += ["", *report.workload_table(run, name, title)]
    out += ["", *_sse_table(run), "", *report.startup_table(run)]
    noisy = [(c.other_cpu, f"{t.name}/{w}/c{conc}") for t in run.targets for w, cells in t.cells.items()
             for conc, c in cells.items() if isinstance(c, CellResult) and c.other_cpu > 0.15]
    if noisy:
        worst = max(noisy)
        out += ["", f"warning: other processes were busy during {len(noisy)} cell(s), up to {worst[0]:.0%} of a core"
                    f" ({worst[1]}); those numbers are noisy, rerun on an idle machine"]
    out += ["", *_goals(run)]
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    unknown = [t for t in args.targets if t not in targets.TARGETS or t in ("bare-aiohttp", "ministack")]
    unknown += [w for w in args.workloads if w not in WORKLOADS]
    if unknown or not args.concurrency or min(args.concurrency) < 1:
        print(f"benchmarks kms: unknown target or workload, or bad --concurrency: {', '.join(unknown)}",
              file=sys.stderr)
        return 2
    quick = args.quick
    args.duration = args.duration if args.duration is not None else (0.7 if quick else 3.0)
    args.warmup = args.warmup if args.warmup is not None else (0.3 if quick else 1.0)
    args.max_requests = args.max_requests or (5000 if quick else 20000)
    procs.install_cleanup()
    plan = procs.plan_cpus()
    procs.pin_self(plan.client)
    meta = {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}, {platform.platform(terse=True)}",
        "pinning": plan.describe(),
        "timing": f"per cell {args.warmup:g} s warm-up, then up to {args.duration:g} s or {args.max_requests:,} "
                  "requests",
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv,
    }
    results: list[report.TargetResult] = []
    with tempfile.TemporaryDirectory(prefix="miniaws-bench-kms-") as tmp:
        for name in args.targets:
            workdir = Path(tmp) / name
            workdir.mkdir()
            results.append(_measure_target(targets.TARGETS[name], args, plan, workdir))
    titles = [(name, WORKLOADS[name].title) for name in args.workloads]
    run_report = report.RunReport(meta, titles, args.concurrency, results)
    print(_render(run_report), flush=True)
    if args.json:
        report.write_json(run_report, args.json)
        print(f"\nraw results written to {args.json}", file=sys.stderr)
    return 0
