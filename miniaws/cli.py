"""`python -m miniaws` / `miniaws`: argument parsing, logging setup and the process lifecycle."""
from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from typing import Any, Sequence

from miniaws import __version__
from miniaws.config import AUTH_MODES, DURABILITY_MODES, LOG_LEVELS, Config, ConfigError, load_config
from miniaws.core import memory


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="miniaws", description="Local AWS emulator: S3, STS and more on one port.")
    parser.add_argument("--version", action="version", version=f"miniaws {__version__}")
    parser.add_argument("--config", metavar="FILE", help="TOML settings file (see conf/miniaws.toml)")
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="AWS API port (default 4566; 0 picks a free port)")
    parser.add_argument("--data-dir", help="directory for durable state (default ./.miniaws)")
    parser.add_argument("--ephemeral", action="store_true", default=None, help="keep all state in memory")
    parser.add_argument("--durability", choices=DURABILITY_MODES,
                        help="fsync: acknowledged writes survive a power loss (default); process: they survive "
                             "miniaws being killed; a power loss may lose the last seconds of writes (faster small writes)")
    parser.add_argument("--log-level", choices=LOG_LEVELS)
    parser.add_argument("--account-id", help="12-digit account for non-numeric access keys (default 000000000000)")
    parser.add_argument("--region", help="default region (default us-east-1)")
    parser.add_argument("--auth", choices=AUTH_MODES, help="verify SigV4 signatures (enforce) or not (off)")
    parser.add_argument("--credentials", metavar="AKID:SECRET[,AKID:SECRET]",
                        help="access keys accepted when auth is enforced")
    parser.add_argument("--time-scale", type=float, help="run the injected clock N times faster (labs)")
    parser.add_argument("--lambda-concurrency-limit", type=int,
                        help="Lambda concurrent executions per account (default 1000)")
    parser.add_argument("--lambda-keep-warm", type=float, metavar="SECONDS",
                        help="idle seconds before a warm function environment is reaped (default 600; 0 = always cold)")
    parser.add_argument("--dns-port", type=int, help="DNS port, UDP and TCP (default 1053; 0 picks a free port)")
    parser.add_argument("--edge-port", type=int,
                        help="CloudFront edge port, distributions chosen by Host (default 8080; 0 picks a free port)")
    parser.add_argument("--lb-port-offset", type=int, metavar="N",
                        help="load balancer listeners that cannot bind their port bind port + N (default 10000: "
                             "80 → 10080), else a free port")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> Config:
    overrides: dict[str, Any] = {
        "host": args.host, "port": args.port, "data_dir": args.data_dir, "ephemeral": args.ephemeral,
        "durability": args.durability, "log_level": args.log_level, "account_id": args.account_id, "region": args.region, "auth": args.auth,
        "credentials": args.credentials, "time_scale": args.time_scale,
        "lambda_concurrency_limit": args.lambda_concurrency_limit, "lambda_keep_warm_seconds": args.lambda_keep_warm,
        "dns_port": args.dns_port, "edge_port": args.edge_port, "lb_port_offset": args.lb_port_offset,
    }
    return load_config(args.config, overrides=overrides)


async def serve(config: Config) -> None:
    from miniaws.server import Server

    server = Server(config)
    await server.start()
    # start-up made ~100k long-lived objects (modules, specs, routes): the permanent generation spares every later
    # collection from scanning them again, and collection restarts now that start-up's allocation burst is over
    gc.freeze()
    # A young collection every 10,000 container allocations instead of 700: a request allocates dozens, so at the
    # default every few requests promoted in-flight objects to older generations, and their full collections over
    # a heap of queued messages showed as 100 ms p99 stalls (SendMessageBatch c32: p99 98 → 29 ms, +18 % msgs/s)
    gc.set_threshold(10_000, 10, 10)
    gc.enable()
    print(server.banner(), flush=True)
    from miniaws.core import cabundle

    trust_store = asyncio.get_running_loop().create_task(cabundle.load_in_background())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        print("miniaws: shutting down", flush=True)
        trust_store.cancel()
        await server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    # no cyclic collection while start-up imports and builds everything: it allocates only objects that live for
    # the whole process, and ~140 collections over them cost ~0.1 s of a ~0.6 s start (serve() turns it back on)
    gc.disable()
    memory.tune_allocator()
    try:
        return _run(argv)
    finally:
        gc.enable()


def _run(argv: Sequence[str] | None) -> int:
    try:
        config = build_config(parse_args(argv))
    except (ConfigError, OSError) as exc:
        print(f"miniaws: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    from miniaws.core import cabundle

    with cabundle.deferred():  # aiohttp's import would parse the CA bundle twice on the start-up path
        from miniaws.server import DataDirectoryBusy

    try:
        import uvloop
    except ImportError:  # pragma: no cover
        run: Any = asyncio.run
    else:
        run = uvloop.run
    try:
        run(serve(config))
    except (OSError, DataDirectoryBusy, ConfigError) as exc:
        # A busy port, or a data directory another miniaws process holds locked: one clear line, exit 1,
        # no traceback (DataDirectoryBusy is a RuntimeError, so it used to escape as a traceback).
        print(f"miniaws: {exc}", file=sys.stderr)
        return 1
    return 0
