"""ListObjects v1 and v2 through boto3: prefixes, delimiters, paging, start-after, url encoding, owners."""
from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

KEYS = ["a/1.txt", "a/2.txt", "a/b/3.txt", "c.txt", "d/4.txt", "d/5.txt", "e"]


@pytest.fixture
def filled(s3: Any, bucket: str) -> str:
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    return bucket


def test_v2_delimiter_and_prefix(s3: Any, filled: str) -> None:
    top = s3.list_objects_v2(Bucket=filled, Delimiter="/")
    assert [o["Key"] for o in top["Contents"]] == ["c.txt", "e"]
    assert [p["Prefix"] for p in top["CommonPrefixes"]] == ["a/", "d/"]
    assert top["KeyCount"] == 4
    inner = s3.list_objects_v2(Bucket=filled, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in inner["Contents"]] == ["a/1.txt", "a/2.txt"]
    assert [p["Prefix"] for p in inner["CommonPrefixes"]] == ["a/b/"]
    entry = inner["Contents"][0]
    assert entry["Size"] == 7 and entry["StorageClass"] == "STANDARD" and entry["ETag"].startswith('"')
    assert "Owner" not in entry


def test_v2_pagination_with_delimiter_counts_prefixes(s3: Any, filled: str) -> None:
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs: dict[str, Any] = {"Bucket": filled, "Delimiter": "/", "MaxKeys": 1}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        pages += 1
        seen += [o["Key"] for o in page.get("Contents", [])] + [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert seen == ["a/", "c.txt", "d/", "e"]
    assert pages == 4


def test_v2_paginator_all_keys(s3: Any, filled: str) -> None:
    paginator = s3.get_paginator("list_objects_v2")
    keys = [o["Key"] for page in paginator.paginate(Bucket=filled, PaginationConfig={"PageSize": 2})
            for o in page.get("Contents", [])]
    assert keys == KEYS


def test_v2_start_after_and_fetch_owner(s3: Any, filled: str) -> None:
    page = s3.list_objects_v2(Bucket=filled, StartAfter="c.txt", FetchOwner=True)
    assert [o["Key"] for o in page["Contents"]] == ["d/4.txt", "d/5.txt", "e"]
    assert len(page["Contents"][0]["Owner"]["ID"]) == 64


def test_v1_marker_and_next_marker(s3: Any, filled: str) -> None:
    page = s3.list_objects(Bucket=filled, MaxKeys=2)
    assert [o["Key"] for o in page["Contents"]] == ["a/1.txt", "a/2.txt"]
    assert page["IsTruncated"] and "Owner" in page["Contents"][0]
    rest = s3.list_objects(Bucket=filled, Marker="a/2.txt")
    assert [o["Key"] for o in rest["Contents"]] == KEYS[2:]
    grouped = s3.list_objects(Bucket=filled, Delimiter="/", MaxKeys=1)
    assert grouped["NextMarker"] == "a/"
    paginator = s3.get_paginator("list_objects")
    assert [o["Key"] for p in paginator.paginate(Bucket=filled, PaginationConfig={"PageSize": 3})
            for o in p.get("Contents", [])] == KEYS


def test_max_keys_zero_and_negative(s3: Any, filled: str) -> None:
    page = s3.list_objects_v2(Bucket=filled, MaxKeys=0)
    assert page["KeyCount"] == 0 and page["IsTruncated"]
    with pytest.raises(ClientError) as err:
        s3.list_objects_v2(Bucket=filled, MaxKeys=-1)
    assert err.value.response["Error"]["Code"] == "InvalidArgument"


def test_encoding_type_url_roundtrip(s3: Any, bucket: str) -> None:
    weird = ["sp ace", "plus+sign", "amp&lt", "ctl\x01char", "ünï"]
    for key in weird:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    # boto3 asks for encoding-type=url by default and decodes the answer
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(listed) == sorted(weird)
    listed_v1 = [o["Key"] for o in s3.list_objects(Bucket=bucket)["Contents"]]
    assert sorted(listed_v1) == sorted(weird)


def test_thousand_keys_one_page(s3: Any, bucket: str) -> None:
    for i in range(1100):
        s3.put_object(Bucket=bucket, Key=f"k{i:05d}", Body=b"")
    page = s3.list_objects_v2(Bucket=bucket)
    assert page["KeyCount"] == 1000 and page["IsTruncated"]
    second = s3.list_objects_v2(Bucket=bucket, ContinuationToken=page["NextContinuationToken"])
    assert second["KeyCount"] == 100 and not second["IsTruncated"]
    assert second["Contents"][0]["Key"] == "k01000"
