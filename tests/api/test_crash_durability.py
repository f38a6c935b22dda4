"""Durability of a real `python -m miniaws --data-dir …` process: SIGKILL in the middle of concurrent PUTs loses
no acknowledged write and exposes no half-written one; a clean SIGTERM restart keeps buckets, objects, metadata
and in-progress multipart uploads; a second process cannot open the same data directory.
"""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from tests.helpers.process import ServerProcess, start_server

pytestmark = pytest.mark.subprocess

KIB = 1024
MIB = 1024 * KIB
INLINE_LIMIT = 64 * KIB  # pinned via MINIAWS_INLINE_BODY_LIMIT: bodies above it are files, the rest inline
SIZES = (0, KIB, 100 * KIB, MIB)


@dataclass(frozen=True)
class Body:
    etag: str
    sha256: str
    size: int

    @classmethod
    def of(cls, data: bytes) -> "Body":
        return cls(f'"{hashlib.md5(data).hexdigest()}"', hashlib.sha256(data).hexdigest(), len(data))


# -------------------------------------------------------------------------------------------- helpers
class Server:
    """A miniaws process on a data directory whose output is drained (a full pipe would stall it)."""

    def __init__(self, data_dir: Path, durability: str = "fsync") -> None:
        self.data_dir = data_dir
        self.process: ServerProcess = start_server("--data-dir", str(data_dir),
                                                   env={"MINIAWS_INLINE_BODY_LIMIT": str(INLINE_LIMIT),
                                                        "MINIAWS_DURABILITY": durability})
        self.output = bytearray(self.process.output)
        self._drain = threading.Thread(target=self._read_output, daemon=True)
        self._drain.start()

    @property
    def endpoint_url(self) -> str:
        return self.process.endpoint_url

    @property
    def pid(self) -> int:
        return self.process.proc.pid

    def _read_output(self) -> None:
        stream = self.process.proc.stdout
        assert stream is not None
        with stream:
            while chunk := os.read(stream.fileno(), 65536):
                self.output += chunk

    def kill(self) -> None:
        self.process.kill()
        self._drain.join(10)

    def terminate(self) -> int:
        code = self.process.terminate()
        self._drain.join(10)
        return code


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """Every server a test starts; whatever is still running at the end is killed."""
    started: list[Server] = []
    yield started
    for server in started:
        server.kill()


def _start(servers: list[Server], data_dir: Path, durability: str = "fsync") -> Server:
    server = Server(data_dir, durability)
    servers.append(server)
    return server


def _client(endpoint: str, pool: int = 10) -> Any:
    # no retries: a retried PUT would blur which attempt the server acknowledged
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test",
                        config=BotoConfig(retries={"max_attempts": 1}, max_pool_connections=pool,
                                          connect_timeout=5, read_timeout=30))


def _all_keys(s3: Any, bucket: str) -> list[str]:
    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return keys


def _read(s3: Any, bucket: str, key: str) -> tuple[dict[str, Any], bytes]:
    got = s3.get_object(Bucket=bucket, Key=key)
    return got, got["Body"].read()


def _blob_files(data_dir: Path) -> tuple[list[Path], list[Path]]:
    """(body files in place, leftover temp files) under the blob directory."""
    blobs = data_dir / "blobs"
    placed = [p for p in blobs.glob("*/*") if p.is_file() and p.parent.name != "tmp"]
    temps = [p for p in (blobs / "tmp").iterdir()] if (blobs / "tmp").exists() else []
    return placed, temps


# ------------------------------------------------------------------------------------ SIGKILL test
class Writer:
    """PUTs new keys from background threads until told to stop or the server goes away."""

    def __init__(self, s3: Any, bucket: str, threads: int = 3) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.intended: dict[str, Body] = {}  # every key we tried to write → what we sent
        self.acked: dict[str, Body] = {}     # keys the server answered 200 for
        self.failures = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._counter = 0
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def _next(self) -> int:
        with self._lock:
            self._counter += 1
            return self._counter

    def _run(self, worker: int) -> None:
        while not self._stop.is_set():
            n = self._next()
            data = os.urandom(SIZES[n % len(SIZES)] + n % 7)
            key = f"inflight/{worker}/{n:05d}"
            body = Body.of(data)
            with self._lock:
                self.intended[key] = body
            try:
                response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=data)
            except (BotoCoreError, ClientError, OSError):
                with self._lock:
                    self.failures += 1
                if self._stop.is_set():
                    return
                time.sleep(0.01)
                continue
            assert response["ETag"] == body.etag
            with self._lock:
                self.acked[key] = body

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)


# "process" durability hands writes to the OS without flushing them: a killed process must still lose none
@pytest.mark.parametrize("durability", ["fsync", "process"])
def test_sigkill_during_puts_keeps_every_acknowledged_write(tmp_path: Path, servers: list[Server],
                                                            durability: str) -> None:
    data_dir = tmp_path / "data"
    server = _start(servers, data_dir, durability)
    s3 = _client(server.endpoint_url)
    bucket = f"crash-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    acked: dict[str, Body] = {}

    # 1. ~200 objects of every storage class (empty, inline, file) from four threads
    def put(index: int) -> tuple[str, Body]:
        data = os.urandom(SIZES[index % len(SIZES)])
        key = f"obj/{index:04d}"
        etag = s3.put_object(Bucket=bucket, Key=key, Body=data)["ETag"]
        assert etag == Body.of(data).etag
        return key, Body.of(data)

    with ThreadPoolExecutor(4) as pool:
        acked.update(pool.map(put, range(200)))

    # one completed multipart upload (a 5 MiB file part and a small inline part) and one copy
    parts = [os.urandom(5 * MIB), os.urandom(3 * KIB)]
    uid = s3.create_multipart_upload(Bucket=bucket, Key="multi/done")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="multi/done", UploadId=uid, PartNumber=n, Body=d)["ETag"]
             for n, d in enumerate(parts, start=1)]
    done = s3.complete_multipart_upload(Bucket=bucket, Key="multi/done", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]})
    whole = b"".join(parts)
    multipart_etag = f'"{hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest()}-2"'
    assert done["ETag"] == multipart_etag
    acked["multi/done"] = Body(multipart_etag, hashlib.sha256(whole).hexdigest(), len(whole))
    s3.copy_object(Bucket=bucket, Key="copied", CopySource={"Bucket": bucket, "Key": "obj/0001"})
    acked["copied"] = acked["obj/0001"]

    # 2. SIGKILL while background threads are still sending PUTs (1 MiB bodies among them)
    writer = Writer(s3, bucket)
    writer.start()
    deadline = time.monotonic() + 30
    while len(writer.acked) < 24 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(writer.acked) >= 24, "the background writers made no progress"
    os.kill(server.pid, signal.SIGKILL)
    server.kill()  # reap it
    writer.stop()
    assert server.process.proc.returncode == -signal.SIGKILL
    acked.update(writer.acked)

    # 3. restart on the same directory: every acknowledged object, byte for byte
    server = _start(servers, data_dir, durability)
    s3 = _client(server.endpoint_url)
    for key, body in acked.items():
        got, data = _read(s3, bucket, key)
        assert got["ETag"] == body.etag, key
        assert hashlib.sha256(data).hexdigest() == body.sha256, key
        assert got["ContentLength"] == body.size, key

    # 4. nothing half-written: whatever is visible was fully sent and is self-consistent
    listed = _all_keys(s3, bucket)
    assert set(acked) <= set(listed)
    unexpected = set(listed) - set(acked) - set(writer.intended)
    assert not unexpected, f"keys nobody wrote: {sorted(unexpected)[:5]}"
    large = 0
    for key in listed:
        got, data = _read(s3, bucket, key)
        assert len(data) == got["ContentLength"], key
        if "-" not in got["ETag"]:
            assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"', key
        expected = acked.get(key) or writer.intended[key]  # an unacknowledged PUT may have committed
        assert Body.of(data) == expected if "-" not in expected.etag else len(data) == expected.size, key
        large += key != "copied" and len(data) > INLINE_LIMIT

    # 5. no temp files left, and no body file without an object (the copy shares an inline body)
    placed, temps = _blob_files(data_dir)
    assert temps == []
    assert len(placed) == large
    assert server.terminate() == 0


# ----------------------------------------------------------------------------------- SIGTERM test
def test_sigterm_restart_keeps_buckets_objects_metadata_and_uploads(tmp_path: Path,
                                                                    servers: list[Server]) -> None:
    data_dir = tmp_path / "data"
    server = _start(servers, data_dir)
    s3 = _client(server.endpoint_url)
    buckets = [f"keep-{uuid.uuid4().hex[:12]}", f"keep-{uuid.uuid4().hex[:12]}"]
    for name in buckets:
        s3.create_bucket(Bucket=name)
    main = buckets[0]
    page = b"<h1>catalogue</h1>"
    s3.put_object(Bucket=main, Key="site/index.html", Body=page, ContentType="text/html",
                  Metadata={"build": "1234", "team": "web"}, CacheControl="max-age=60",
                  ContentDisposition="inline")
    big = os.urandom(300 * KIB)
    s3.put_object(Bucket=main, Key="media/big.bin", Body=big)
    s3.put_object(Bucket=main, Key="gone.txt", Body=b"delete me")
    s3.delete_object(Bucket=main, Key="gone.txt")
    s3.put_object(Bucket=buckets[1], Key="empty", Body=b"")

    first = os.urandom(5 * MIB)
    second = os.urandom(5 * MIB)  # every part but the last must be at least 5 MiB
    uid = s3.create_multipart_upload(Bucket=main, Key="uploads/video.mp4", ContentType="video/mp4",
                                     Metadata={"codec": "h264"})["UploadId"]
    e1 = s3.upload_part(Bucket=main, Key="uploads/video.mp4", UploadId=uid, PartNumber=1, Body=first)["ETag"]
    e2 = s3.upload_part(Bucket=main, Key="uploads/video.mp4", UploadId=uid, PartNumber=2, Body=second)["ETag"]
    before = s3.head_object(Bucket=main, Key="site/index.html")

    assert server.terminate() == 0
    assert b"shutting down" in server.output

    server = _start(servers, data_dir)
    s3 = _client(server.endpoint_url)
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    assert set(buckets) <= names
    assert sorted(_all_keys(s3, main)) == ["media/big.bin", "site/index.html"]
    assert _all_keys(s3, buckets[1]) == ["empty"]

    got, data = _read(s3, main, "site/index.html")
    assert data == page
    assert got["ContentType"] == "text/html"
    assert got["Metadata"] == {"build": "1234", "team": "web"}
    assert got["CacheControl"] == "max-age=60" and got["ContentDisposition"] == "inline"
    assert got["ETag"] == before["ETag"] and got["LastModified"] == before["LastModified"]
    got, data = _read(s3, main, "media/big.bin")
    assert data == big and got["ETag"] == f'"{hashlib.md5(big).hexdigest()}"'
    assert _read(s3, buckets[1], "empty")[1] == b""

    uploads = s3.list_multipart_uploads(Bucket=main)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in uploads] == [("uploads/video.mp4", uid)]
    listed = s3.list_parts(Bucket=main, Key="uploads/video.mp4", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in listed] == [
        (1, e1, len(first)), (2, e2, len(second))]
    third = b"tail"
    e3 = s3.upload_part(Bucket=main, Key="uploads/video.mp4", UploadId=uid, PartNumber=3, Body=third)["ETag"]
    s3.complete_multipart_upload(Bucket=main, Key="uploads/video.mp4", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate((e1, e2, e3), start=1)]})
    got, data = _read(s3, main, "uploads/video.mp4")
    assert data == first + second + third
    assert got["ContentType"] == "video/mp4" and got["Metadata"] == {"codec": "h264"}
    assert got["ETag"].endswith('-3"')
    assert s3.list_multipart_uploads(Bucket=main).get("Uploads", []) == []
    assert server.terminate() == 0


# -------------------------------------------------------------------------------------- data lock
def test_second_server_on_same_data_dir_refuses_to_start(tmp_path: Path, servers: list[Server]) -> None:
    data_dir = tmp_path / "data"
    server = _start(servers, data_dir)
    s3 = _client(server.endpoint_url)
    s3.create_bucket(Bucket="locked")

    second = subprocess.run([sys.executable, "-m", "miniaws", "--port", "0", "--dns-port", "0", "--edge-port", "0", "--data-dir", str(data_dir)],
                            capture_output=True, text=True, timeout=60,
                            env={k: v for k, v in os.environ.items() if not k.startswith("MINIAWS_")})
    assert second.returncode != 0
    output = second.stdout + second.stderr
    assert "another miniaws process is using" in output and str(data_dir.resolve()) in output
    assert "Traceback" not in output, output
    assert "AWS endpoint" not in output

    # the first server is unharmed and still owns the directory
    s3.put_object(Bucket="locked", Key="still-here", Body=b"yes")
    assert _read(s3, "locked", "still-here")[1] == b"yes"
