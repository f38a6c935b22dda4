"""Bare aiohttp + uvloop reverse proxy in front of one target: what a Python proxy built on aiohttp's server and
client does with no load balancer features (miniaws's ALB uses aiohttp's server but its own upstream client).

It does the least a proxy must do (forward method, path and headers over one pooled client session, send the
target's status, headers and body back) and nothing else: no rules, no target choice, no X-Forwarded-* headers.
Run: ``python -m benchmarks.lb_baseline --target http://127.0.0.1:PORT``; prints ``AWS endpoint http://HOST:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

_DROP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length"})


async def serve(host: str, port: int, target: str) -> None:
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ssl=False), auto_decompress=False,
                                    cookie_jar=aiohttp.DummyCookieJar(), trust_env=False,
                                    skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"))

    async def handle(request: web.BaseRequest) -> web.Response:
        data = await request.read() if request.body_exists else None
        async with session.request(request.method, target + request.raw_path, headers=request.headers,
                                   data=data, allow_redirects=False) as upstream:
            body = await upstream.read()
            headers = CIMultiDict((k, v) for k, v in upstream.headers.items() if k.lower() not in _DROP)
            return web.Response(status=upstream.status, headers=headers, body=body)

    runner = web.ServerRunner(web.Server(handle, access_log=None))
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_host, bound_port = runner.addresses[0][:2]
    print(f"AWS endpoint http://{bound_host}:{bound_port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await session.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port (default)")
    parser.add_argument("--target", required=True, help="http://HOST:PORT of the one target")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port, args.target))
    else:
        uvloop.run(serve(args.host, args.port, args.target))


if __name__ == "__main__":
    main()
