"""S3 Object Lock through boto3: lock-enabled buckets, default and per-object retention (GOVERNANCE with bypass,
COMPLIANCE), legal holds, and deletes refused until the (injected, fake) clock passes the retain-until date."""
from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from miniaws.config import load_config
from miniaws.core.clock import FakeClock
from miniaws.server import ServerThread


class Server:
    def __init__(self, thread: ServerThread, clock: FakeClock) -> None:
        self.thread, self.clock = thread, clock

    def later(self, seconds: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.clock.now() + seconds, tz=dt.timezone.utc)


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
def locked(s3: Any) -> str:
    name = f"lock-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


def test_lock_enabled_bucket(s3: Any, locked: str) -> None:
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled"}
    with pytest.raises(ClientError) as err:
        s3.put_bucket_versioning(Bucket=locked, VersioningConfiguration={"Status": "Suspended"})
    assert _error(err) == ("InvalidBucketState", 409)
    plain = f"plain-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=plain)
    with pytest.raises(ClientError) as err:
        s3.get_object_lock_configuration(Bucket=plain)
    assert _error(err) == ("ObjectLockConfigurationNotFoundError", 404)
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=plain, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                      ObjectLockRetainUntilDate=dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc))
    assert _error(err) == ("InvalidRequest", 400)
    lock = {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}
    with pytest.raises(ClientError) as err:  # an existing bucket needs versioning first
        s3.put_object_lock_configuration(Bucket=plain, ObjectLockConfiguration=lock)
    assert _error(err) == ("InvalidBucketState", 409)
    s3.put_bucket_versioning(Bucket=plain, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object_lock_configuration(Bucket=plain, ObjectLockConfiguration=lock)
    assert s3.get_object_lock_configuration(Bucket=plain)["ObjectLockConfiguration"] == lock


def test_governance_retention_and_bypass(server: Server, s3: Any, locked: str) -> None:
    until = server.later(3600)
    version = s3.put_object(Bucket=locked, Key="k", Body=b"kept", ObjectLockMode="GOVERNANCE",
                            ObjectLockRetainUntilDate=until)["VersionId"]
    head = s3.head_object(Bucket=locked, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert abs(head["ObjectLockRetainUntilDate"].timestamp() - until.timestamp()) < 1
    retention = s3.get_object_retention(Bucket=locked, Key="k")["Retention"]
    assert retention["Mode"] == "GOVERNANCE"
    with pytest.raises(ClientError) as err:
        s3.delete_object(Bucket=locked, Key="k", VersionId=version)
    assert _error(err) == ("AccessDenied", 403)
    assert err.value.response["Error"]["Message"] == "Access Denied because object protected by object lock."
    # shortening needs the bypass header; extending does not
    with pytest.raises(ClientError) as err:
        s3.put_object_retention(Bucket=locked, Key="k", Retention={"Mode": "GOVERNANCE",
                                                                   "RetainUntilDate": server.later(60)})
    assert _error(err) == ("AccessDenied", 403)
    s3.put_object_retention(Bucket=locked, Key="k", Retention={"Mode": "GOVERNANCE",
                                                               "RetainUntilDate": server.later(7200)})
    # a simple DELETE only adds a delete marker: the locked version stays
    assert s3.delete_object(Bucket=locked, Key="k")["DeleteMarker"] is True
    assert s3.get_object(Bucket=locked, Key="k", VersionId=version)["Body"].read() == b"kept"
    s3.delete_object(Bucket=locked, Key="k", VersionId=version, BypassGovernanceRetention=True)
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=locked, Key="k", VersionId=version)
    assert _error(err)[1] == 404


def test_compliance_retention_expires_with_the_clock(server: Server, s3: Any, locked: str) -> None:
    version = s3.put_object(Bucket=locked, Key="c", Body=b"x", ObjectLockMode="COMPLIANCE",
                            ObjectLockRetainUntilDate=server.later(600))["VersionId"]
    for call in (lambda: s3.delete_object(Bucket=locked, Key="c", VersionId=version,
                                          BypassGovernanceRetention=True),
                 lambda: s3.put_object_retention(Bucket=locked, Key="c", BypassGovernanceRetention=True,
                                                 Retention={"Mode": "GOVERNANCE",
                                                            "RetainUntilDate": server.later(600)})):
        with pytest.raises(ClientError) as err:
            call()
        assert _error(err) == ("AccessDenied", 403)
    result = s3.delete_objects(Bucket=locked, Delete={"Objects": [{"Key": "c", "VersionId": version}]})
    assert result["Errors"][0]["Code"] == "AccessDenied"
    server.clock.advance(601)
    s3.delete_object(Bucket=locked, Key="c", VersionId=version)


def test_default_retention_applies_to_new_versions(server: Server, s3: Any, locked: str) -> None:
    s3.put_object_lock_configuration(Bucket=locked, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}})
    version = s3.put_object(Bucket=locked, Key="d", Body=b"x")["VersionId"]
    retention = s3.get_object_retention(Bucket=locked, Key="d")["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    assert abs(retention["RetainUntilDate"].timestamp() - (server.clock.now() + 86400)) < 2
    with pytest.raises(ClientError) as err:
        s3.delete_object(Bucket=locked, Key="d", VersionId=version)
    assert _error(err) == ("AccessDenied", 403)
    server.clock.advance(86401)
    s3.delete_object(Bucket=locked, Key="d", VersionId=version)


def test_legal_hold(s3: Any, locked: str) -> None:
    version = s3.put_object(Bucket=locked, Key="h", Body=b"x")["VersionId"]
    with pytest.raises(ClientError) as err:
        s3.get_object_legal_hold(Bucket=locked, Key="h")
    assert _error(err) == ("NoSuchObjectLockConfiguration", 404)
    with pytest.raises(ClientError) as err:
        s3.get_object_retention(Bucket=locked, Key="h")
    assert _error(err) == ("NoSuchObjectLockConfiguration", 404)
    s3.put_object_legal_hold(Bucket=locked, Key="h", LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="h")["LegalHold"] == {"Status": "ON"}
    assert s3.head_object(Bucket=locked, Key="h")["ObjectLockLegalHoldStatus"] == "ON"
    with pytest.raises(ClientError) as err:
        s3.delete_object(Bucket=locked, Key="h", VersionId=version, BypassGovernanceRetention=True)
    assert _error(err) == ("AccessDenied", 403)
    s3.put_object_legal_hold(Bucket=locked, Key="h", LegalHold={"Status": "OFF"})
    s3.delete_object(Bucket=locked, Key="h", VersionId=version)


def test_write_validation(server: Server, s3: Any, locked: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE",
                      ObjectLockRetainUntilDate=server.later(-60))
    assert _error(err) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=locked, Key="k", Body=b"x", ObjectLockMode="GOVERNANCE")
    assert _error(err) == ("InvalidArgument", 400)
    # the legal hold and retention of a copy come from the copy request, not from the source
    s3.put_object(Bucket=locked, Key="src", Body=b"x", ObjectLockLegalHoldStatus="ON")
    s3.copy_object(Bucket=locked, Key="dst", CopySource={"Bucket": locked, "Key": "src"})
    with pytest.raises(ClientError) as err:
        s3.get_object_legal_hold(Bucket=locked, Key="dst")
    assert _error(err) == ("NoSuchObjectLockConfiguration", 404)
