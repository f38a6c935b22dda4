"""S3 access control through boto3: ObjectOwnership and ACLs, bucket policies (validation, status, evaluation),
Block Public Access, and what one principal can do in another's bucket with auth enforced (Alice, Bob, anonymous).
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from miniaws.config import load_config
from miniaws.core.clock import FakeClock
from miniaws.server import ServerThread
from miniaws.testing import MiniAws

ALICE = ("AKIDALICE", "alice-secret-key")
BOB = ("AKIDBOB", "bob-secret-key")
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = exc.value.response
    return str(response["Error"]["Code"]), int(response["ResponseMetadata"]["HTTPStatusCode"])


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


# ------------------------------------------------------------------------------- auth off: configuration
def test_new_bucket_defaults_like_aws_today(s3: Any, bucket: str) -> None:
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                     "RestrictPublicBuckets": True}
    acl = s3.get_bucket_acl(Bucket=bucket)
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    assert acl["Grants"][0]["Grantee"] == {"Type": "CanonicalUser", "ID": acl["Owner"]["ID"],
                                           "DisplayName": acl["Owner"]["DisplayName"]}


def test_acls_disabled_refuse_all_but_owner_full_control(s3: Any, bucket: str) -> None:
    for call in (lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read"),
                 lambda: s3.put_bucket_acl(Bucket=bucket, ACL="public-read"),
                 lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="authenticated-read")):
        with pytest.raises(ClientError) as err:
            call()
        assert _error(err) == ("AccessControlListNotSupported", 400)
        assert err.value.response["Error"]["Message"] == "The bucket does not allow ACLs"
    # what s3cmd and rclone send is accepted: it grants the owner full control and nothing else
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    s3.put_object(Bucket=bucket, Key="k2", Body=b"x", ACL="private")
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    s3.put_object_acl(Bucket=bucket, Key="k", ACL="bucket-owner-full-control")
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"]
    s3.put_object(Bucket=bucket, Key="k3", Body=b"x", GrantFullControl=f'id="{owner}"')
    assert s3.get_object_acl(Bucket=bucket, Key="k")["Grants"][0]["Permission"] == "FULL_CONTROL"
    with pytest.raises(ClientError) as err:
        s3.create_bucket(Bucket=f"acl-{uuid.uuid4().hex[:12]}", ACL="public-read")
    assert _error(err) == ("InvalidBucketAclWithObjectOwnership", 400)


def test_object_writer_buckets_keep_acls(s3: Any) -> None:
    name = f"acl-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectOwnership="ObjectWriter")
    s3.delete_public_access_block(Bucket=name)
    s3.put_object(Bucket=name, Key="pub", Body=b"x", ACL="public-read")
    grants = s3.get_object_acl(Bucket=name, Key="pub")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"} in grants
    s3.put_bucket_acl(Bucket=name, ACL="authenticated-read")
    uris = [g["Grantee"].get("URI") for g in s3.get_bucket_acl(Bucket=name)["Grants"]]
    assert "http://acs.amazonaws.com/groups/global/AuthenticatedUsers" in uris
    policy = s3.get_bucket_acl(Bucket=name)
    s3.put_bucket_acl(Bucket=name, AccessControlPolicy={
        "Owner": policy["Owner"],
        "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": policy["Owner"]["ID"]}, "Permission": "FULL_CONTROL"},
                   {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ_ACP"}]})
    assert [g["Permission"] for g in s3.get_bucket_acl(Bucket=name)["Grants"]] == ["FULL_CONTROL", "READ_ACP"]
    # enforcing ownership needs the bucket ACL to be private first
    with pytest.raises(ClientError) as err:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    assert _error(err) == ("InvalidBucketAclWithObjectOwnership", 400)
    s3.put_bucket_acl(Bucket=name, ACL="private")
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    s3.delete_bucket_ownership_controls(Bucket=name)
    with pytest.raises(ClientError) as err:
        s3.get_bucket_ownership_controls(Bucket=name)
    assert _error(err) == ("OwnershipControlsNotFoundError", 404)


def test_block_public_acls(s3: Any) -> None:
    name = f"acl-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectOwnership="BucketOwnerPreferred")
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="public-read")
    assert _error(err) == ("AccessDenied", 403)
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={"BlockPublicAcls": False})
    assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is False
    s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="public-read")
    s3.delete_public_access_block(Bucket=name)
    with pytest.raises(ClientError) as err:
        s3.get_public_access_block(Bucket=name)
    assert _error(err) == ("NoSuchPublicAccessBlockConfiguration", 404)


def test_policy_round_trip_and_status(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as err:
        s3.get_bucket_policy(Bucket=bucket)
    assert _error(err) == ("NoSuchBucketPolicy", 404)
    private = _policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                       "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"})
    s3.put_bucket_policy(Bucket=bucket, Policy=private)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(private)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    public = _policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                      "Resource": f"arn:aws:s3:::{bucket}/*"})
    with pytest.raises(ClientError) as err:  # BlockPublicPolicy is on for new buckets
        s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert _error(err) == ("AccessDenied", 403)
    s3.delete_public_access_block(Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=public)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    limited = _policy({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{bucket}/*",
                       "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}})
    s3.put_bucket_policy(Bucket=bucket, Policy=limited)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is False
    s3.delete_bucket_policy(Bucket=bucket)
    with pytest.raises(ClientError) as err:
        s3.get_bucket_policy_status(Bucket=bucket)
    assert _error(err) == ("NoSuchBucketPolicy", 404)


@pytest.mark.parametrize("document, message", [
    ("not json", "This policy contains invalid Json"),
    ('{"Version": "2012-10-17"}', "Missing required field Statement"),
    ({"Effect": "Maybe", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{b}/*"},
     "Invalid effect: Maybe"),
    ({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{b}/*"},
     "Missing required field Principal"),
    ({"Effect": "Allow", "Principal": {"AWS": "bob"}, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{b}/*"},
     "Invalid principal in policy"),
    ({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObjects", "Resource": "arn:aws:s3:::{b}/*"},
     "Policy has invalid action"),
    ({"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": "arn:aws:s3:::{b}/*"},
     "Policy has invalid action"),
    ({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::other-bucket/*"},
     "Policy has invalid resource"),
    ({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{b}"},
     "Action does not apply to any resource(s) in statement"),
    ({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{b}/*",
      "Condition": {"StringEqualz": {"s3:prefix": "x"}}}, "Invalid Condition type : StringEqualz"),
])
def test_malformed_policies(s3: Any, bucket: str, document: Any, message: str) -> None:
    if isinstance(document, dict):
        document = json.dumps({"Version": "2012-10-17", "Statement": [document]}).replace("{b}", bucket)
    with pytest.raises(ClientError) as err:
        s3.put_bucket_policy(Bucket=bucket, Policy=document)
    assert _error(err) == ("MalformedPolicy", 400)
    assert err.value.response["Error"]["Message"] == message


# ------------------------------------------------------------------- auth enforced: two principals
@pytest.fixture(scope="module")
def enforcing() -> Iterator[MiniAws]:
    config = load_config(env={}, overrides={"port": 0, "dns_port": 0, "edge_port": 0, "ephemeral": True, "auth": "enforce",
                                            "credentials": f"{ALICE[0]}:{ALICE[1]},{BOB[0]}:{BOB[1]}"})
    thread = ServerThread(config, clock=FakeClock(start=time.time())).start()
    try:
        yield MiniAws(thread)
    finally:
        thread.stop()


def _client(endpoint: str, key: str, secret: str, **config: Any) -> Any:
    config.setdefault("signature_version", "s3v4")
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=BotoConfig(retries={"max_attempts": 1}, **config))


@pytest.fixture(scope="module")
def alice(enforcing: MiniAws) -> Any:
    return _client(enforcing.endpoint_url, *ALICE)


@pytest.fixture(scope="module")
def bob(enforcing: MiniAws) -> Any:
    return _client(enforcing.endpoint_url, *BOB)


@pytest.fixture(scope="module")
def anonymous(enforcing: MiniAws) -> Any:
    return _client(enforcing.endpoint_url, "unused", "unused", signature_version=UNSIGNED)


@pytest.fixture(scope="module")
def bob_id(bob: Any) -> str:
    return str(bob.list_buckets()["Owner"]["ID"])


@pytest.fixture
def shared(alice: Any) -> str:
    """Alice's bucket with a few objects and Block Public Access off (so public grants can be tested)."""
    name = f"alice-{uuid.uuid4().hex[:16]}"
    alice.create_bucket(Bucket=name)
    alice.delete_public_access_block(Bucket=name)
    for key in ("public/a.txt", "private/b.txt", "tagged.txt"):
        alice.put_object(Bucket=name, Key=key, Body=key.encode())
    return name


def _denied(call: Any) -> None:
    with pytest.raises(ClientError) as err:
        call()
    assert _error(err)[1] == 403, err.value.response


def test_private_by_default(alice: Any, bob: Any, anonymous: Any, shared: str) -> None:
    for client in (bob, anonymous):
        _denied(lambda: client.get_object(Bucket=shared, Key="public/a.txt"))
        _denied(lambda: client.list_objects_v2(Bucket=shared))
        _denied(lambda: client.get_bucket_acl(Bucket=shared))
        _denied(lambda: client.put_bucket_policy(Bucket=shared, Policy=_policy(
            {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": f"arn:aws:s3:::{shared}/*"})))


def test_policy_grants_exactly_what_it_says(alice: Any, bob: Any, anonymous: Any, shared: str) -> None:
    alice.put_bucket_policy(Bucket=shared, Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::000000000000:user/{BOB[0]}"},
         "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{shared}/public/*"},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::000000000000:user/{BOB[0]}"},
         "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{shared}",
         "Condition": {"StringLike": {"s3:prefix": "public/*"}}}))
    assert bob.get_object(Bucket=shared, Key="public/a.txt")["Body"].read() == b"public/a.txt"
    bob.put_object(Bucket=shared, Key="public/from-bob.txt", Body=b"hi")
    assert alice.get_object(Bucket=shared, Key="public/from-bob.txt")["Body"].read() == b"hi"
    assert [o["Key"] for o in bob.list_objects_v2(Bucket=shared, Prefix="public/")["Contents"]] == [
        "public/a.txt", "public/from-bob.txt"]
    _denied(lambda: bob.list_objects_v2(Bucket=shared))  # s3:prefix condition not met
    _denied(lambda: bob.get_object(Bucket=shared, Key="private/b.txt"))
    _denied(lambda: bob.delete_object(Bucket=shared, Key="public/a.txt"))
    _denied(lambda: bob.put_object(Bucket=shared, Key="private/x", Body=b"x"))
    _denied(lambda: anonymous.get_object(Bucket=shared, Key="public/a.txt"))


def test_explicit_deny_wins(alice: Any, bob: Any, shared: str) -> None:
    alice.put_bucket_policy(Bucket=shared, Policy=_policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{shared}/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{shared}/private/*"}))
    assert bob.get_object(Bucket=shared, Key="public/a.txt")["Body"].read() == b"public/a.txt"
    _denied(lambda: bob.get_object(Bucket=shared, Key="private/b.txt"))
    # the Deny binds the owner too; the owner can still manage the policy
    _denied(lambda: alice.get_object(Bucket=shared, Key="private/b.txt"))
    alice.delete_bucket_policy(Bucket=shared)
    assert alice.get_object(Bucket=shared, Key="private/b.txt")["Body"].read() == b"private/b.txt"


def test_anonymous_access_through_a_public_policy(enforcing: MiniAws, alice: Any, anonymous: Any,
                                                  shared: str) -> None:
    alice.put_bucket_policy(Bucket=shared, Policy=_policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{shared}/public/*"}))
    assert anonymous.get_object(Bucket=shared, Key="public/a.txt")["Body"].read() == b"public/a.txt"
    with urllib.request.urlopen(f"{enforcing.endpoint_url}/{shared}/public/a.txt", timeout=10) as response:
        assert response.read() == b"public/a.txt"
    _denied(lambda: anonymous.get_object(Bucket=shared, Key="private/b.txt"))
    _denied(lambda: anonymous.put_object(Bucket=shared, Key="public/new", Body=b"x"))
    # RestrictPublicBuckets: the public statement stops applying to anonymous callers
    alice.put_public_access_block(Bucket=shared, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    _denied(lambda: anonymous.get_object(Bucket=shared, Key="public/a.txt"))
    with pytest.raises(urllib.error.HTTPError) as raw:
        urllib.request.urlopen(f"{enforcing.endpoint_url}/{shared}/public/a.txt", timeout=10)
    raw.value.close()
    assert raw.value.code == 403


def test_conditions(alice: Any, bob: Any, shared: str) -> None:
    alice.put_bucket_policy(Bucket=shared, Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": "000000000000"}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{shared}/public/*", "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
        {"Effect": "Allow", "Principal": {"AWS": "000000000000"}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{shared}/private/*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{shared}/*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
    assert bob.get_object(Bucket=shared, Key="public/a.txt")["Body"].read() == b"public/a.txt"
    _denied(lambda: bob.get_object(Bucket=shared, Key="private/b.txt"))
    # plain HTTP is not secure transport: the Deny applies to everyone, the owner included
    _denied(lambda: alice.put_object(Bucket=shared, Key="public/new", Body=b"x"))


def test_existing_object_tag_condition(alice: Any, bob: Any, shared: str) -> None:
    alice.put_object_tagging(Bucket=shared, Key="tagged.txt", Tagging={"TagSet": [{"Key": "share", "Value": "yes"}]})
    alice.put_object(Bucket=shared, Key="untagged.txt", Body=b"u")
    alice.put_bucket_policy(Bucket=shared, Policy=_policy(
        {"Effect": "Allow", "Principal": {"AWS": "000000000000"}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{shared}/*", "Condition": {"StringEquals": {"s3:ExistingObjectTag/share": "yes"}}}))
    assert bob.get_object(Bucket=shared, Key="tagged.txt")["Body"].read() == b"tagged.txt"
    _denied(lambda: bob.get_object(Bucket=shared, Key="untagged.txt"))
    alice.delete_object_tagging(Bucket=shared, Key="tagged.txt")
    _denied(lambda: bob.get_object(Bucket=shared, Key="tagged.txt"))


def test_acl_grants_across_principals(alice: Any, bob: Any, anonymous: Any, bob_id: str) -> None:
    name = f"alice-acl-{uuid.uuid4().hex[:12]}"
    alice.create_bucket(Bucket=name, ObjectOwnership="ObjectWriter")
    alice.delete_public_access_block(Bucket=name)
    alice.put_object(Bucket=name, Key="for-bob", Body=b"bob may read", GrantRead=f'id="{bob_id}"')
    alice.put_object(Bucket=name, Key="for-all", Body=b"everyone", ACL="public-read")
    alice.put_object(Bucket=name, Key="mine", Body=b"alice only")
    assert bob.get_object(Bucket=name, Key="for-bob")["Body"].read() == b"bob may read"
    _denied(lambda: anonymous.get_object(Bucket=name, Key="for-bob"))
    assert anonymous.get_object(Bucket=name, Key="for-all")["Body"].read() == b"everyone"
    _denied(lambda: bob.get_object(Bucket=name, Key="mine"))
    _denied(lambda: bob.put_object(Bucket=name, Key="bobs", Body=b"x"))
    _denied(lambda: bob.list_objects_v2(Bucket=name))
    # a bucket WRITE grant lets Bob write; under ObjectWriter he owns what he writes
    alice.put_bucket_acl(Bucket=name, GrantWrite=f'id="{bob_id}"', GrantFullControl=f'id="{_owner(alice)}"')
    bob.put_object(Bucket=name, Key="bobs", Body=b"bob wrote this")
    assert bob.get_object_acl(Bucket=name, Key="bobs")["Owner"]["ID"] == bob_id
    # Bob's object is his: the bucket owner reads it only once he grants her that
    _denied(lambda: alice.get_object(Bucket=name, Key="bobs"))
    bob.put_object_acl(Bucket=name, Key="bobs", GrantRead=f'id="{_owner(alice)}"', GrantFullControl=f'id="{bob_id}"')
    assert alice.get_object(Bucket=name, Key="bobs")["Body"].read() == b"bob wrote this"
    alice.delete_object(Bucket=name, Key="bobs")  # deleting needs only the bucket's WRITE, which she has
    # IgnorePublicAcls: the public-read grant stops counting
    alice.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    _denied(lambda: anonymous.get_object(Bucket=name, Key="for-all"))
    assert bob.get_object(Bucket=name, Key="for-bob")["Body"].read() == b"bob may read"


def _owner(client: Any) -> str:
    return str(client.list_buckets()["Owner"]["ID"])


def test_canonical_user_principal_and_deny_on_delete(alice: Any, bob: Any, bob_id: str, shared: str) -> None:
    alice.put_bucket_policy(Bucket=shared, Policy=_policy(
        {"Effect": "Allow", "Principal": {"CanonicalUser": bob_id}, "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{shared}", f"arn:aws:s3:::{shared}/*"]},
        {"Effect": "Deny", "Principal": {"CanonicalUser": bob_id}, "Action": "s3:Delete*",
         "Resource": f"arn:aws:s3:::{shared}/*"}))
    assert bob.list_objects_v2(Bucket=shared)["KeyCount"] == 3
    bob.put_object(Bucket=shared, Key="bob.txt", Body=b"b")
    _denied(lambda: bob.delete_object(Bucket=shared, Key="bob.txt"))
    result = bob.delete_objects(Bucket=shared, Delete={"Objects": [{"Key": "bob.txt"}]})
    assert result["Errors"][0]["Code"] == "AccessDenied"
    assert "bob.txt" in [o["Key"] for o in alice.list_objects_v2(Bucket=shared)["Contents"]]
