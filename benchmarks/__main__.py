"""``python -m benchmarks SUBCOMMAND``: dispatch to one benchmark suite.

A suite is a module with ``add_arguments(parser)`` and ``run(args) -> int``; add ``dns``, ``edge``,
``lb`` or ``sqs`` by listing its module in SUITES.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name → (module, one-line help)
SUITES: dict[str, tuple[str, str]] = {
    "s3": ("benchmarks.s3", "S3 PutObject/GetObject/ListObjectsV2 throughput, startup and memory"),
    "dns": ("benchmarks.dns", "DNS queries/s and p50/p99 over UDP and TCP against a bare asyncio ceiling"),
    "edge": ("benchmarks.edge", "CloudFront edge cache hit/miss req/s and p50/p99 against a bare aiohttp ceiling"),
    "lambda": ("benchmarks.lambda_suite", "Lambda cold start, warm invoke latency and invokes/s, RSS drift"),
    "sqs": ("benchmarks.sqs", "SQS send/drain/end-to-end rates, long-poll wake and SNS → SQS latency"),
    "lb": ("benchmarks.lb", "ALB GET 1 KiB req/s and p50/p99 against the target directly, a bare aiohttp proxy, haproxy"),
    "kms": ("benchmarks.kms", "KMS Encrypt/Decrypt/GenerateDataKey ops/s and p99, S3 1 KiB PUT/GET with SSE-KMS vs plain"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="miniaws throughput benchmarks (run from the project root). See benchmarks/README.md.",
    )
    sub = parser.add_subparsers(dest="suite", metavar="SUITE", required=True)
    for name, (module_name, summary) in SUITES.items():
        module = importlib.import_module(module_name)
        suite_parser = sub.add_parser(name, help=summary, description=(module.__doc__ or summary).strip())
        module.add_arguments(suite_parser)
        suite_parser.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
