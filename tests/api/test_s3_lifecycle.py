"""S3 lifecycle through boto3: configuration validation, and expirations applied by the background sweep once the
server's fake clock is advanced (no sleeping through days)."""
from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from miniaws.config import load_config
from miniaws.core.clock import FakeClock
from miniaws.server import ServerThread

DAY = 86400


class Server:
    def __init__(self, thread: ServerThread, clock: FakeClock) -> None:
        self.thread, self.clock = thread, clock

    def sweep(self) -> None:
        """Run a lifecycle sweep now, on the server's loop, instead of waiting for the background one."""
        service: Any = self.thread.server.services["s3"]

        async def run() -> None:
            service.sweep(self.clock.now())

        self.thread.call(run())


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    clock = FakeClock(start=time.time())
    thread = ServerThread(load_config(env={}, overrides={"port": 0, "dns_port": 0, "edge_port": 0, "ephemeral": True}),
                          clock=clock).start()
    try:
        yield Server(thread, clock)
    finally:
        thread.stop()


@pytest.fixture(scope="module")
def s3(server: Server) -> Any:
    return boto3.client("s3", endpoint_url=server.thread.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test",
                        config=BotoConfig(retries={"max_attempts": 1}))


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"life-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the lifecycle sweep did not act in time"
        time.sleep(0.1)


def _keys(s3: Any, bucket: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_configuration_round_trip_and_validation(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert _error(err) == ("NoSuchLifecycleConfiguration", 404)
    rules = [{"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}},
             {"ID": "mpu", "Status": "Enabled", "Filter": {"Prefix": ""},
              "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == rules
    bad = [
        ({"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}}, "InvalidRequest"),
        ({"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 0}}, "InvalidArgument"),
        ({"ID": "x", "Status": "Enabled", "Filter": {"Prefix": ""},
          "Expiration": {"Date": dt.datetime(2030, 1, 1, 12, tzinfo=dt.timezone.utc)}}, "InvalidArgument"),
        ({"ID": "x", "Status": "Enabled", "Filter": {"Tag": {"Key": "a", "Value": "b"}},
          "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}, "InvalidRequest"),
    ]
    for rule, code in bad:
        with pytest.raises(ClientError) as err:
            s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})
        assert _error(err) == (code, 400), rule
    with pytest.raises(ClientError) as err:
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rules[0], rules[0]]})
    assert _error(err) == ("InvalidArgument", 400)
    s3.delete_bucket_lifecycle(Bucket=bucket)
    with pytest.raises(ClientError) as err:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert _error(err) == ("NoSuchLifecycleConfiguration", 404)


def test_expiration_with_the_fake_clock(server: Server, s3: Any, bucket: str) -> None:
    for key in ("logs/a.log", "logs/b.log", "keep/c.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.put_object(Bucket=bucket, Key="logs/tagged.log", Body=b"x", Tagging="keep=yes")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin")["UploadId"]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 1}},
        {"ID": "mpu", "Status": "Enabled", "Filter": {"Prefix": ""},
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3}}]})
    server.clock.advance(DAY / 2)
    server.sweep()  # nothing is due yet
    assert len(_keys(s3, bucket)) == 4
    server.clock.advance(2 * DAY)
    _eventually(lambda: _keys(s3, bucket) == ["keep/c.txt"])
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])] == [upload]
    server.clock.advance(2 * DAY)
    _eventually(lambda: not s3.list_multipart_uploads(Bucket=bucket).get("Uploads"))


def test_versioned_expiration(server: Server, s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=bucket, Key="doc", Body=b"old")["VersionId"]
    s3.put_object(Bucket=bucket, Key="doc", Body=b"new")
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "versions", "Status": "Enabled", "Filter": {"Prefix": ""},
         "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
        {"ID": "current", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 5}}]})
    server.clock.advance(2 * DAY)
    _eventually(lambda: old not in [v["VersionId"] for v in s3.list_object_versions(Bucket=bucket)["Versions"]])
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"new"
    server.clock.advance(5 * DAY)
    # the current version expires into a delete marker; the data stays as a noncurrent version
    _eventually(lambda: bool(s3.list_object_versions(Bucket=bucket).get("DeleteMarkers")))
    assert _keys(s3, bucket) == []
