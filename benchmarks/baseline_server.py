"""Bare aiohttp + uvloop server shaped like S3: the throughput ceiling for any Python server here.

It does the least an S3 server must do on the wire (answer GETs with fixed bytes, read PUT bodies,
return a pre-built 1,000-key listing) and nothing else: no auth, no storage, no hashing.
Run: ``python -m benchmarks.baseline_server --port 0``; prints ``AWS endpoint http://HOST:PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import signal
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


class BaselineS3:
    """Request handler holding the pre-built answers."""

    def __init__(self) -> None:
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
            await request.read()
            return web.Response(headers=_PUT_HEADERS if key else _COMMON_HEADERS)
        if method == "DELETE":
            return web.Response(status=204, headers=_COMMON_HEADERS)
        return web.Response(status=405)


def build_app() -> web.Application:
    # S3 bodies go well past aiohttp's 1 MiB default request limit.
    app = web.Application(client_max_size=1 << 30)
    app.router.add_route("*", "/{tail:.*}", BaselineS3().handle)
    return app


async def serve(host: str, port: int) -> None:
    runner = web.AppRunner(build_app(), access_log=None)
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
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args.host, args.port))
    else:
        uvloop.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
