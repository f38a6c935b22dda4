"""Bare aiohttp + uvloop server shaped like S3: the throughput ceiling for any Python server here.

It does the least an S3 server must do on the wire (answer GETs with fixed bytes, read PUT bodies,
return a pre-built 1,000-key listing) and nothing else: no auth, no storage, no hashing.
Run: ``python -m benchmarks.baseline_server --port 0``; prints ``AWS endpoint http://HOST:PORT``.

With ``--fsync DIR`` it is the same server plus the least a server that acknowledges a write only once it is on
disk must add: each PUT body is written to one log file and flushed (fdatasync) before the answer, bodies that
arrive during a flush sharing the next one (group commit). That is the floor for durable PUTs on this disk.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import queue
import signal
import threading
from pathlib import Path
from email.utils import formatdate
from xml.sax.saxutils import escape

from aiohttp import web

from benchmarks import s3names

_LAST_MODIFIED_HTTP = formatdate(1767225600, usegmt=True)  # 2026-01-01T00:00:00Z
_LAST_MODIFIED_ISO = "2026-01-01T00:00:00.000Z"
_S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_COMMON_HEADERS = {"x-amz-request-id": "0123456789ABCDEF", "x-amz-id-2": "bench/bench/bench="}
# A PUT answer carries a fixed ETag: hashing the body would be work a ceiling must not do.
_PUT_HEADERS = {**_COMMON_HEADERS, "ETag": '"d41d8cd98f00b204e9800998ecf8427e"'}
_XML_HEADERS = {**_COMMON_HEADERS, "Content-Type": "application/xml"}


def _etag(body: bytes) -> str:
    return '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'


def build_listing_xml() -> bytes:
    """ListObjectsV2 page of the benchmark's 1,000 list keys, as S3 returns it for boto3 uploads."""
    etag = escape(_etag(s3names.payload(s3names.LIST_OBJECT_SIZE)), {'"': "&quot;"})
    entries = "".join(
        f"<Contents><Key>{escape(s3names.list_key(i))}</Key>"
        f"<LastModified>{_LAST_MODIFIED_ISO}</LastModified><ETag>{etag}</ETag>"
        "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType>"
        f"<Size>{s3names.LIST_OBJECT_SIZE}</Size><StorageClass>STANDARD</StorageClass></Contents>"
        for i in range(s3names.LIST_KEY_COUNT)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{_S3_NS}">'
        f"<Name>{s3names.LIST_BUCKET}</Name><Prefix></Prefix>"
        f"<KeyCount>{s3names.LIST_KEY_COUNT}</KeyCount><MaxKeys>1000</MaxKeys>"
        f"<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>{entries}</ListBucketResult>"
    ).encode()


def build_list_buckets_xml() -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<ListAllMyBucketsResult xmlns="{_S3_NS}">'
        "<Owner><ID>bench</ID><DisplayName>bench</DisplayName></Owner><Buckets>"
        + "".join(
            f"<Bucket><Name>{name}</Name><CreationDate>{_LAST_MODIFIED_ISO}</CreationDate></Bucket>"
            for name in (s3names.BUCKET, s3names.LIST_BUCKET)
        )
        + "</Buckets></ListAllMyBucketsResult>"
    ).encode()


#: the log file is overwritten in place within this many bytes, written out once at start: rewriting allocated
#: blocks is the cheapest flush (fdatasync then has no file size or extent to record)
_LOG_REGION = 64 << 20


class DurableLog:
    """Group commit of PUT bodies to one file: one writer thread; a batch is written and flushed with one
    fdatasync, and every request in it is answered after that."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(directory / "bodies.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        zeros = bytes(1 << 20)
        for offset in range(0, _LOG_REGION, len(zeros)):
            os.pwrite(self._fd, zeros, offset)
        os.fsync(self._fd)
        self._position = 0
        self._pending: list[bytes] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._flushing = False
        self._jobs: queue.SimpleQueue[tuple[list[bytes], list[asyncio.Future[None]]]] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None

    async def write(self, body: bytes) -> None:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            threading.Thread(target=self._work, daemon=True).start()
        waiter = loop.create_future()
        self._pending.append(body)
        self._waiters.append(waiter)
        if not self._flushing:
            self._flush()
        await waiter

    def _flush(self) -> None:
        self._flushing = True
        batch, self._pending = self._pending, []
        waiters, self._waiters = self._waiters, []
        self._jobs.put((batch, waiters))

    def _flushed(self, waiters: list[asyncio.Future[None]]) -> None:
        for waiter in waiters:
            if not waiter.done():  # a client that went away cancelled its handler
                waiter.set_result(None)
        if self._pending:
            self._flush()
        else:
            self._flushing = False

    def _work(self) -> None:
        loop = self._loop
        assert loop is not None
        while True:
            batch, waiters = self._jobs.get()
            for body in batch:
                if self._position + len(body) > _LOG_REGION:
                    self._position = 0
                os.pwrite(self._fd, body, self._position)
                self._position += len(body)
            os.fdatasync(self._fd)
            loop.call_soon_threadsafe(self._flushed, waiters)


class BaselineS3:
    """Request handler holding the pre-built answers."""

    def __init__(self, log: DurableLog | None = None) -> None:
        self._log = log
        self._listing = build_listing_xml()
        self._list_buckets = build_list_buckets_xml()
        self._objects: dict[int, tuple[bytes, dict[str, str]]] = {}

    def _object(self, size: int) -> tuple[bytes, dict[str, str]]:
        cached = self._objects.get(size)
        if cached is None:
            body = s3names.payload(size)
            headers = {
                **_COMMON_HEADERS,
                "ETag": _etag(body),
                "Last-Modified": _LAST_MODIFIED_HTTP,
                "Content-Type": "binary/octet-stream",
                "Accept-Ranges": "bytes",
            }
            cached = self._objects[size] = (body, headers)
        return cached

    async def handle(self, request: web.Request) -> web.StreamResponse:
        method = request.method
        bucket, _, key = request.path[1:].partition("/")
        if method == "GET" or method == "HEAD":
            if not bucket:
                return web.Response(body=self._list_buckets, headers=_XML_HEADERS)
            if not key:
                return web.Response(body=self._listing, headers=_XML_HEADERS)
            body, headers = self._object(s3names.size_from_key(key))
            if method == "HEAD":
                return web.Response(headers={**headers, "Content-Length": str(len(body))})
            return web.Response(body=body, headers=headers)
        if method == "PUT" or method == "POST":
            body = await request.read()
            if self._log is not None and key:
                await self._log.write(body)
            return web.Response(headers=_PUT_HEADERS if key else _COMMON_HEADERS)
        if method == "DELETE":
            return web.Response(status=204, headers=_COMMON_HEADERS)
        return web.Response(status=405)


def build_app(fsync_dir: Path | None = None) -> web.Application:
    # S3 bodies go well past aiohttp's 1 MiB default request limit.
    app = web.Application(client_max_size=1 << 30)
    app.router.add_route("*", "/{tail:.*}", BaselineS3(DurableLog(fsync_dir) if fsync_dir else None).handle)
    return app


async def serve(host: str, port: int, fsync_dir: Path | None = None) -> None:
    runner = web.AppRunner(build_app(fsync_dir), access_log=None)
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port (default)")
    parser.add_argument("--fsync", metavar="DIR", type=Path, help="flush each PUT body to a log in DIR before answering")
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port, args.fsync))
    else:
        uvloop.run(serve(args.host, args.port, args.fsync))


if __name__ == "__main__":
    main()
