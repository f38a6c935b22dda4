"""S3 versioning through boto3: version ids, delete markers, ListObjectVersions, reads/copies/deletes by version,
the null version under Suspended, and versions surviving a restart of a persistent server."""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from miniaws.testing import miniaws_server
from tests.api.conftest import make_client


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


@pytest.fixture
def versioned(s3: Any, bucket: str) -> str:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def test_versioning_configuration(s3: Any, bucket: str) -> None:
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled", "MFADelete": "Disabled"})
    got = s3.get_bucket_versioning(Bucket=bucket)
    assert got["Status"] == "Enabled" and got["MFADelete"] == "Disabled"
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
    with pytest.raises(ClientError) as err:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Sometimes"})
    assert _error(err) == ("MalformedXML", 400)


def test_every_write_gets_a_version(s3: Any, versioned: str) -> None:
    first = s3.put_object(Bucket=versioned, Key="doc", Body=b"one")
    second = s3.put_object(Bucket=versioned, Key="doc", Body=b"two")
    v1, v2 = first["VersionId"], second["VersionId"]
    assert v1 != v2 and len(v1) == 32 and v1 != "null"
    assert s3.get_object(Bucket=versioned, Key="doc")["Body"].read() == b"two"
    old = s3.get_object(Bucket=versioned, Key="doc", VersionId=v1)
    assert old["Body"].read() == b"one" and old["VersionId"] == v1
    assert s3.head_object(Bucket=versioned, Key="doc", VersionId=v2)["VersionId"] == v2
    assert s3.head_object(Bucket=versioned, Key="doc")["VersionId"] == v2
    # the listing shows only the current version
    contents = s3.list_objects_v2(Bucket=versioned)["Contents"]
    assert [(o["Key"], o["Size"]) for o in contents] == [("doc", 3)]


def test_delete_marker_hides_then_removal_restores(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"data")["VersionId"]
    deleted = s3.delete_object(Bucket=versioned, Key="k")
    assert deleted["DeleteMarker"] is True
    marker = deleted["VersionId"]
    assert marker not in ("null", v1)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=versioned, Key="k")
    assert _error(err) == ("NoSuchKey", 404)
    headers = err.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amz-delete-marker"] == "true" and headers["x-amz-version-id"] == marker
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=versioned, Key="k", VersionId=marker)
    assert _error(err)[1] == 405
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=versioned, Key="k", VersionId=marker)
    assert _error(err) == ("MethodNotAllowed", 405)
    assert s3.list_objects_v2(Bucket=versioned)["KeyCount"] == 0
    assert s3.get_object(Bucket=versioned, Key="k", VersionId=v1)["Body"].read() == b"data"
    # removing the marker makes the old version current again
    gone = s3.delete_object(Bucket=versioned, Key="k", VersionId=marker)
    assert gone["DeleteMarker"] is True and gone["VersionId"] == marker
    assert s3.get_object(Bucket=versioned, Key="k")["Body"].read() == b"data"


def test_delete_specific_version_is_permanent(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="k", Body=b"1")["VersionId"]
    v2 = s3.put_object(Bucket=versioned, Key="k", Body=b"2")["VersionId"]
    assert s3.delete_object(Bucket=versioned, Key="k", VersionId=v2)["VersionId"] == v2
    assert s3.get_object(Bucket=versioned, Key="k")["Body"].read() == b"1"
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=versioned, Key="k", VersionId=v2)
    assert _error(err) == ("NoSuchVersion", 404)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=versioned, Key="k", VersionId="not a version")
    assert _error(err) == ("InvalidArgument", 400)
    s3.delete_object(Bucket=versioned, Key="k", VersionId=v1)
    assert "Versions" not in s3.list_object_versions(Bucket=versioned)
    s3.delete_bucket(Bucket=versioned)


def test_bucket_with_only_old_versions_is_not_empty(s3: Any, versioned: str) -> None:
    s3.put_object(Bucket=versioned, Key="k", Body=b"1")
    s3.delete_object(Bucket=versioned, Key="k")
    with pytest.raises(ClientError) as err:
        s3.delete_bucket(Bucket=versioned)
    assert _error(err) == ("BucketNotEmpty", 409)


def test_list_object_versions(s3: Any, versioned: str) -> None:
    ids = {}
    for key in ("a", "b", "dir/x", "dir/y"):
        ids[key] = [s3.put_object(Bucket=versioned, Key=key, Body=key.encode() * n)["VersionId"] for n in (1, 2)]
    marker = s3.delete_object(Bucket=versioned, Key="b")["VersionId"]
    listing = s3.list_object_versions(Bucket=versioned)
    versions = [(v["Key"], v["VersionId"], v["IsLatest"]) for v in listing["Versions"]]
    assert versions == [("a", ids["a"][1], True), ("a", ids["a"][0], False), ("b", ids["b"][1], False),
                        ("b", ids["b"][0], False), ("dir/x", ids["dir/x"][1], True),
                        ("dir/x", ids["dir/x"][0], False), ("dir/y", ids["dir/y"][1], True),
                        ("dir/y", ids["dir/y"][0], False)]
    assert [(m["Key"], m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [("b", marker, True)]
    assert listing["Versions"][0]["ETag"] and listing["Versions"][0]["Size"] == 2
    assert "Owner" in listing["DeleteMarkers"][0]

    rolled = s3.list_object_versions(Bucket=versioned, Delimiter="/")
    assert [p["Prefix"] for p in rolled["CommonPrefixes"]] == ["dir/"]
    assert {v["Key"] for v in rolled["Versions"]} == {"a", "b"}
    prefixed = s3.list_object_versions(Bucket=versioned, Prefix="dir/")
    assert {v["Key"] for v in prefixed["Versions"]} == {"dir/x", "dir/y"}

    # pagination: three at a time, resumed with the key and version-id markers, covers everything once
    seen: list[tuple[str, str]] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = s3.list_object_versions(Bucket=versioned, MaxKeys=3, **kwargs)
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        assert len(entries) <= 3
        seen += [(e["Key"], e["VersionId"]) for e in entries]
        if not page["IsTruncated"]:
            break
        kwargs = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert sorted(seen) == sorted([(k, v) for k, vs in ids.items() for v in vs] + [("b", marker)])
    # a key marker alone skips every version of that key
    after = s3.list_object_versions(Bucket=versioned, KeyMarker="b")
    assert {v["Key"] for v in after["Versions"]} == {"dir/x", "dir/y"}


def test_unversioned_bucket_lists_null_versions(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
    assert "VersionId" not in put
    assert "VersionId" not in s3.head_object(Bucket=bucket, Key="plain")
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in versions] == [("plain", "null", True)]
    assert s3.get_object(Bucket=bucket, Key="plain", VersionId="null")["Body"].read() == b"x"
    assert "DeleteMarker" not in s3.delete_object(Bucket=bucket, Key="plain")
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)


def test_suspended_writes_replace_the_null_version(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"before versioning")  # the null version
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=bucket, Key="k", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"suspended")
    assert put["VersionId"] == "null"
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    # the suspended write replaced the original null version; the versioned one is untouched
    assert [(v["VersionId"], v["IsLatest"]) for v in versions] == [("null", True), (kept, False)]
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"suspended"
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert deleted["DeleteMarker"] is True and deleted["VersionId"] == "null"
    listing = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listing["Versions"]] == [kept]
    assert [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [("null", True)]


def test_copy_by_version(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="src", Body=b"first")["VersionId"]
    s3.put_object(Bucket=versioned, Key="src", Body=b"second")
    copied = s3.copy_object(Bucket=versioned, Key="dst", CopySource={"Bucket": versioned, "Key": "src",
                                                                     "VersionId": v1})
    assert copied["CopySourceVersionId"] == v1 and copied["VersionId"] not in (v1, "null")
    assert s3.get_object(Bucket=versioned, Key="dst")["Body"].read() == b"first"
    # copying an old version onto its own key restores it as a new current version
    restored = s3.copy_object(Bucket=versioned, Key="src", CopySource={"Bucket": versioned, "Key": "src",
                                                                       "VersionId": v1})
    assert s3.get_object(Bucket=versioned, Key="src")["VersionId"] == restored["VersionId"]
    assert s3.get_object(Bucket=versioned, Key="src")["Body"].read() == b"first"
    marker = s3.delete_object(Bucket=versioned, Key="src")["VersionId"]
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=versioned, Key="x", CopySource={"Bucket": versioned, "Key": "src"})
    assert _error(err) == ("NoSuchKey", 404)
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=versioned, Key="x", CopySource={"Bucket": versioned, "Key": "src",
                                                              "VersionId": marker})
    assert _error(err) == ("InvalidRequest", 400)


def test_delete_objects_with_versions(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="a", Body=b"1")["VersionId"]
    s3.put_object(Bucket=versioned, Key="b", Body=b"2")
    result = s3.delete_objects(Bucket=versioned, Delete={"Objects": [{"Key": "a", "VersionId": v1}, {"Key": "b"}]})
    by_key = {d["Key"]: d for d in result["Deleted"]}
    assert by_key["a"]["VersionId"] == v1 and "DeleteMarker" not in by_key["a"]
    assert by_key["b"]["DeleteMarker"] is True and by_key["b"]["DeleteMarkerVersionId"]
    listing = s3.list_object_versions(Bucket=versioned)
    assert [v["Key"] for v in listing["Versions"]] == ["b"]
    assert [m["Key"] for m in listing["DeleteMarkers"]] == ["b"]


def test_multipart_completion_adds_a_version(s3: Any, versioned: str) -> None:
    s3.put_object(Bucket=versioned, Key="mp", Body=b"small")
    upload = s3.create_multipart_upload(Bucket=versioned, Key="mp")["UploadId"]
    part = s3.upload_part(Bucket=versioned, Key="mp", UploadId=upload, PartNumber=1, Body=b"multipart")
    done = s3.complete_multipart_upload(Bucket=versioned, Key="mp", UploadId=upload,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert done["VersionId"] not in (None, "null")
    assert len(s3.list_object_versions(Bucket=versioned)["Versions"]) == 2


def test_versions_survive_a_restart(tmp_path: Path) -> None:
    name = f"persist-{uuid.uuid4().hex[:12]}"
    with miniaws_server(port=0, ephemeral=False, data_dir=str(tmp_path)) as aws:
        s3 = make_client(aws.endpoint_url, "s3")
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="k", Body=b"null version")
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        v1 = s3.put_object(Bucket=name, Key="k", Body=b"v1")["VersionId"]
        v2 = s3.put_object(Bucket=name, Key="k", Body=b"v2")["VersionId"]
        marker = s3.delete_object(Bucket=name, Key="k")["VersionId"]
        s3.put_object(Bucket=name, Key="other", Body=b"o")
        before = s3.list_object_versions(Bucket=name)
    with miniaws_server(port=0, ephemeral=False, data_dir=str(tmp_path)) as aws:
        s3 = make_client(aws.endpoint_url, "s3")
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
        after = s3.list_object_versions(Bucket=name)
        strip = ("Versions", "DeleteMarkers")
        assert {k: after[k] for k in strip} == {k: before[k] for k in strip}
        assert [v["VersionId"] for v in after["Versions"] if v["Key"] == "k"] == [v2, v1, "null"]
        assert after["DeleteMarkers"][0]["VersionId"] == marker
        for version, body in ((v1, b"v1"), (v2, b"v2"), ("null", b"null version")):
            assert s3.get_object(Bucket=name, Key="k", VersionId=version)["Body"].read() == body
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["other"]
        # the restored stack keeps working: removing the marker makes v2 current again
        s3.delete_object(Bucket=name, Key="k", VersionId=marker)
        assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"v2"


def test_bucket_and_object_settings_survive_a_restart(tmp_path: Path) -> None:
    name = f"persist-{uuid.uuid4().hex[:12]}"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{name}/*"}]})
    cors = [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]
    with miniaws_server(port=0, ephemeral=False, data_dir=str(tmp_path)) as aws:
        s3 = make_client(aws.endpoint_url, "s3")
        s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True, ObjectOwnership="ObjectWriter")
        s3.put_bucket_policy(Bucket=name, Policy=policy)
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": cors})
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "env", "Value": "test"}]})
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={"BlockPublicAcls": True})
        version = s3.put_object(Bucket=name, Key="k", Body=b"x", Tagging="a=1", GrantRead=f'id="{"a" * 64}"',
                                ObjectLockLegalHoldStatus="ON")["VersionId"]
    with miniaws_server(port=0, ephemeral=False, data_dir=str(tmp_path)) as aws:
        s3 = make_client(aws.endpoint_url, "s3")
        assert json.loads(s3.get_bucket_policy(Bucket=name)["Policy"]) == json.loads(policy)
        assert s3.get_bucket_cors(Bucket=name)["CORSRules"] == cors
        assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "env", "Value": "test"}]
        assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
        assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"] == [
            {"ObjectOwnership": "ObjectWriter"}]
        lock = s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]
        assert lock["ObjectLockEnabled"] == "Enabled"
        assert s3.get_object_tagging(Bucket=name, Key="k")["TagSet"] == [{"Key": "a", "Value": "1"}]
        # explicit grant headers are the whole ACL (S3 adds nothing for the owner)
        assert s3.get_object_acl(Bucket=name, Key="k")["Grants"] == [
            {"Grantee": {"Type": "CanonicalUser", "ID": "a" * 64}, "Permission": "READ"}]
        assert s3.get_object_legal_hold(Bucket=name, Key="k", VersionId=version)["LegalHold"]["Status"] == "ON"
