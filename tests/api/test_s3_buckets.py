"""S3 bucket operations through boto3."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_create_head_list_delete(s3: Any) -> None:
    name = f"life-{uuid.uuid4().hex[:12]}"
    assert s3.create_bucket(Bucket=name)["Location"] == f"/{name}"
    head = s3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"
    listed = s3.list_buckets()
    assert name in [b["Name"] for b in listed["Buckets"]]
    assert len(listed["Owner"]["ID"]) == 64
    s3.delete_bucket(Bucket=name)
    with pytest.raises(ClientError) as err:
        s3.head_bucket(Bucket=name)
    assert err.value.response["Error"]["Code"] == "404"


def test_recreate_own_bucket_in_us_east_1_is_ok_elsewhere_conflicts(endpoint: str, s3: Any) -> None:
    name = f"again-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.create_bucket(Bucket=name)  # us-east-1 legacy behaviour: 200
    eu = make_client(endpoint, "s3", region_name="eu-west-1")
    eu_name = f"eu-{uuid.uuid4().hex[:12]}"
    eu.create_bucket(Bucket=eu_name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(ClientError) as err:
        eu.create_bucket(Bucket=eu_name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert _code(err) == "BucketAlreadyOwnedByYou"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert eu.get_bucket_location(Bucket=eu_name)["LocationConstraint"] == "eu-west-1"
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None


def test_bucket_owned_by_another_key_is_taken(endpoint: str, s3: Any) -> None:
    name = f"taken-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    other = make_client(endpoint, "s3", aws_access_key_id="someone-else")
    with pytest.raises(ClientError) as err:
        other.create_bucket(Bucket=name)
    assert _code(err) == "BucketAlreadyExists"


@pytest.mark.parametrize("constraint, region, code", [
    ("us-east-1", "us-east-1", "InvalidLocationConstraint"),
    ("eu-west-1", "us-east-1", "IllegalLocationConstraintException"),
    ("mars-north-1", "us-east-1", "InvalidLocationConstraint"),
])
def test_location_constraint_rules(endpoint: str, constraint: str, region: str, code: str) -> None:
    client = make_client(endpoint, "s3", region_name=region)
    with pytest.raises(ClientError) as err:
        client.create_bucket(Bucket=f"lc-{uuid.uuid4().hex[:12]}",
                             CreateBucketConfiguration={"LocationConstraint": constraint})
    assert _code(err) == code


def test_missing_constraint_outside_us_east_1(endpoint: str) -> None:
    client = make_client(endpoint, "s3", region_name="eu-central-1")
    with pytest.raises(ClientError) as err:
        client.create_bucket(Bucket=f"nolc-{uuid.uuid4().hex[:12]}")
    assert _code(err) == "IllegalLocationConstraintException"


@pytest.mark.parametrize("name", ["ab", "UPPER-case", "-leading", "trailing-", "a..b", "192.168.1.1",
                                  "xn--punycode", "bad_underscore", "x" * 64, "ends-s3alias"])
def test_invalid_bucket_names(s3: Any, name: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.create_bucket(Bucket=name)
    assert _code(err) == "InvalidBucketName"


def test_delete_non_empty_and_missing(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as err:
        s3.delete_bucket(Bucket=bucket)
    assert _code(err) == "BucketNotEmpty"
    with pytest.raises(ClientError) as err:
        s3.delete_bucket(Bucket=f"missing-{uuid.uuid4().hex[:12]}")
    assert _code(err) == "NoSuchBucket"


def test_list_buckets_pagination_and_prefix(s3: Any) -> None:
    tag = uuid.uuid4().hex[:8]
    names = [f"page-{tag}-{i}" for i in range(5)]
    for name in names:
        s3.create_bucket(Bucket=name)
    first = s3.list_buckets(Prefix=f"page-{tag}", MaxBuckets=2)
    assert [b["Name"] for b in first["Buckets"]] == names[:2]
    seen = [b["Name"] for b in first["Buckets"]]
    token = first.get("ContinuationToken")
    while token:
        page = s3.list_buckets(Prefix=f"page-{tag}", MaxBuckets=2, ContinuationToken=token)
        seen += [b["Name"] for b in page["Buckets"]]
        token = page.get("ContinuationToken")
    assert seen == names
    paginator = s3.get_paginator("list_buckets")
    assert [b["Name"] for p in paginator.paginate(Prefix=f"page-{tag}", PaginationConfig={"PageSize": 3})
            for b in p["Buckets"]] == names


def test_virtual_hosted_style(s3_vhost: Any, s3: Any) -> None:
    name = f"vhost-{uuid.uuid4().hex[:12]}"
    s3_vhost.create_bucket(Bucket=name)
    s3_vhost.put_object(Bucket=name, Key="dir/file.txt", Body=b"virtual")
    assert s3.get_object(Bucket=name, Key="dir/file.txt")["Body"].read() == b"virtual"
    assert [o["Key"] for o in s3_vhost.list_objects_v2(Bucket=name)["Contents"]] == ["dir/file.txt"]
