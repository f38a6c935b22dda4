"""S3 server-side encryption with boto3 against the session server: SSE-S3 (the default), SSE-KMS with keys from
miniaws's KMS (by id, alias or ARN, the aws/s3 managed key, bucket defaults, S3 Bucket Keys, encryption context),
SSE-C (blocked by default since April 2026, customer key on every read), ranges, multipart, copies between modes,
and the errors S3 answers when a KMS key is disabled or pending deletion or a customer key is missing or wrong.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client

KIB = 1024
MIB = 1024 * KIB
CUSTOMER_KEY = os.urandom(32)
OTHER_KEY = os.urandom(32)
SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": CUSTOMER_KEY}
COPY_SOURCE_SSE_C = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": CUSTOMER_KEY}


def _error(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response = err.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def _md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


@pytest.fixture(scope="module")
def kms(endpoint: str) -> Any:
    return make_client(endpoint, "kms")


@pytest.fixture
def key(kms: Any) -> dict[str, Any]:
    """A fresh KMS key with an alias: {"KeyId", "Arn", "Alias"}."""
    meta = kms.create_key(Description="s3 sse")["KeyMetadata"]
    alias = f"alias/s3-{uuid.uuid4().hex[:12]}"
    kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return {"KeyId": meta["KeyId"], "Arn": meta["Arn"], "Alias": alias}


@pytest.fixture
def ssec_bucket(s3: Any, bucket: str) -> Iterator[str]:
    """A bucket that allows SSE-C writes (BlockedEncryptionTypes NONE)."""
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
        "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]})
    yield bucket


# ------------------------------------------------------------------------------------------------ SSE-S3
def test_default_is_sse_s3_with_md5_etag(s3: Any, bucket: str) -> None:
    body = os.urandom(3000)
    put = s3.put_object(Bucket=bucket, Key="plain", Body=body)
    assert put["ServerSideEncryption"] == "AES256" and put["ETag"] == _md5(body)
    got = s3.get_object(Bucket=bucket, Key="plain")
    assert got["Body"].read() == body
    assert got["ServerSideEncryption"] == "AES256" and "SSEKMSKeyId" not in got
    assert s3.get_object(Bucket=bucket, Key="plain", Range="bytes=100-199")["Body"].read() == body[100:200]


# ----------------------------------------------------------------------------------------------- SSE-KMS
def test_kms_key_by_id_alias_and_arn(s3: Any, bucket: str, key: dict[str, Any]) -> None:
    body = b"payment batch " * 100
    for n, key_id in enumerate((key["KeyId"], key["Alias"], key["Arn"])):
        put = s3.put_object(Bucket=bucket, Key=f"k{n}", Body=body, ServerSideEncryption="aws:kms",
                            SSEKMSKeyId=key_id)
        assert (put["ServerSideEncryption"], put["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
        assert put["ETag"] != _md5(body)  # SSE-KMS ETags are not an MD5 of the data
        got = s3.get_object(Bucket=bucket, Key=f"k{n}")
        assert got["Body"].read() == body
        assert (got["ServerSideEncryption"], got["SSEKMSKeyId"], got["ETag"]) == ("aws:kms", key["Arn"], put["ETag"])
        head = s3.head_object(Bucket=bucket, Key=f"k{n}")
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
        assert "BucketKeyEnabled" not in head


def test_kms_without_key_uses_the_aws_managed_key(s3: Any, kms: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="managed", Body=b"x", ServerSideEncryption="aws:kms")
    managed = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
    assert put["SSEKMSKeyId"] == managed["Arn"] and managed["KeyManager"] == "AWS"
    assert s3.get_object(Bucket=bucket, Key="managed")["Body"].read() == b"x"


def test_bucket_default_kms_with_bucket_key(s3: Any, bucket: str, key: dict[str, Any]) -> None:
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Alias"]},
        "BucketKeyEnabled": True}]})
    put = s3.put_object(Bucket=bucket, Key="d", Body=b"defaulted")
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"], put["BucketKeyEnabled"]) == (
        "aws:kms", key["Arn"], True)
    head = s3.head_object(Bucket=bucket, Key="d")
    assert head["BucketKeyEnabled"] is True and head["SSEKMSKeyId"] == key["Arn"]
    assert s3.get_object(Bucket=bucket, Key="d")["Body"].read() == b"defaulted"
    # the object's header overrides the bucket's S3 Bucket Key setting; an explicit SSE-S3 write overrides it all
    off = s3.put_object(Bucket=bucket, Key="nobk", Body=b"n", BucketKeyEnabled=False)
    assert off["ServerSideEncryption"] == "aws:kms" and "BucketKeyEnabled" not in off
    assert s3.put_object(Bucket=bucket, Key="s3", Body=b"s", ServerSideEncryption="AES256")[
        "ServerSideEncryption"] == "AES256"


def test_bucket_default_with_unknown_key_fails_writes(s3: Any, bucket: str) -> None:
    # S3 does not validate KMSMasterKeyID when it is configured, only when it is used
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/no-such-key"}}]})
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert _error(err) == ("KMS.NotFoundException", 400)


def test_kms_ranges_of_inline_and_file_bodies(s3: Any, bucket: str, key: dict[str, Any]) -> None:
    for name, size in (("small", 5000), ("large", 300 * KIB + 7)):
        body = os.urandom(size)
        s3.put_object(Bucket=bucket, Key=name, Body=body, ServerSideEncryption="aws:kms", SSEKMSKeyId=key["Arn"])
        assert s3.get_object(Bucket=bucket, Key=name)["Body"].read() == body
        for first, last in ((0, 0), (1, 1), (size - 1, size - 1), (65535, 65536), (65530, 131080), (4000, size - 1)):
            if last >= size:
                continue
            got = s3.get_object(Bucket=bucket, Key=name, Range=f"bytes={first}-{last}")
            assert got["Body"].read() == body[first:last + 1], (name, first, last)
            assert got["ContentRange"] == f"bytes {first}-{last}/{size}"
        assert s3.get_object(Bucket=bucket, Key=name, Range="bytes=-10")["Body"].read() == body[-10:]


def test_disabled_or_pending_deletion_key_fails_reads_like_s3(s3: Any, kms: Any, bucket: str,
                                                             key: dict[str, Any]) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"secret", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="k")
    assert _error(err) == ("KMS.DisabledException", 400)
    assert err.value.response["Error"]["Message"] == f"{key['Arn']} is disabled."
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="k2", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    assert _error(err) == ("KMS.DisabledException", 400)
    # HeadObject reads metadata only: it needs no KMS Decrypt
    assert s3.head_object(Bucket=bucket, Key="k")["SSEKMSKeyId"] == key["Arn"]
    kms.enable_key(KeyId=key["KeyId"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"secret"

    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="k")
    assert _error(err) == ("KMS.KMSInvalidStateException", 400)
    assert err.value.response["Error"]["Message"] == f"{key['Arn']} is pending deletion."
    kms.cancel_key_deletion(KeyId=key["KeyId"])
    kms.enable_key(KeyId=key["KeyId"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"secret"


def test_unknown_key_and_header_mistakes(s3: Any, bucket: str, key: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="alias/nope")
    assert _error(err) == ("KMS.NotFoundException", 400)
    with pytest.raises(ClientError) as err:  # a KMS key id needs x-amz-server-side-encryption: aws:kms
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", SSEKMSKeyId=key["Arn"])
    assert _error(err) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="AES256", SSEKMSKeyId=key["Arn"])
    assert _error(err) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                      SSEKMSEncryptionContext="not base64 json")
    assert _error(err) == ("InvalidArgument", 400)


def test_encryption_context_is_the_object_arn_plus_the_callers(s3: Any, bucket: str, key: dict[str, Any]) -> None:
    context = base64.b64encode(json.dumps({"tenant": "acme"}).encode()).decode()
    put = s3.put_object(Bucket=bucket, Key="a/b.txt", Body=b"ctx", ServerSideEncryption="aws:kms",
                        SSEKMSKeyId=key["KeyId"], SSEKMSEncryptionContext=context)
    assert json.loads(base64.b64decode(put["SSEKMSEncryptionContext"])) == {
        "tenant": "acme", "aws:s3:arn": f"arn:aws:s3:::{bucket}/a/b.txt"}
    assert s3.get_object(Bucket=bucket, Key="a/b.txt")["Body"].read() == b"ctx"
    with_bucket_key = s3.put_object(Bucket=bucket, Key="bk", Body=b"ctx", ServerSideEncryption="aws:kms",
                                    SSEKMSKeyId=key["KeyId"], BucketKeyEnabled=True, SSEKMSEncryptionContext=context)
    assert json.loads(base64.b64decode(with_bucket_key["SSEKMSEncryptionContext"]))["aws:s3:arn"] == \
        f"arn:aws:s3:::{bucket}"


# ------------------------------------------------------------------------------------------------- SSE-C
def test_sse_c_is_blocked_on_new_buckets(s3: Any, bucket: str) -> None:
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["BlockedEncryptionTypes"] == {"EncryptionType": ["SSE-C"]}
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=bucket, Key="c", Body=b"x", **SSE_C)
    assert _error(err) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as err:
        s3.create_multipart_upload(Bucket=bucket, Key="c", **SSE_C)
    assert _error(err) == ("AccessDenied", 403)
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
        "BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]})
    assert s3.put_object(Bucket=bucket, Key="c", Body=b"x", **SSE_C)["SSECustomerAlgorithm"] == "AES256"
    with pytest.raises(ClientError) as err:
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            "BlockedEncryptionTypes": {"EncryptionType": ["SSE-KMS"]}}]})
    assert _error(err)[1] == 400


def test_sse_c_round_trip_and_key_errors(s3: Any, ssec_bucket: str) -> None:
    body = os.urandom(100 * KIB)
    key_md5 = base64.b64encode(hashlib.md5(CUSTOMER_KEY).digest()).decode()
    put = s3.put_object(Bucket=ssec_bucket, Key="c", Body=body, **SSE_C)
    assert (put["SSECustomerAlgorithm"], put["SSECustomerKeyMD5"]) == ("AES256", key_md5)
    assert "ServerSideEncryption" not in put and put["ETag"] != _md5(body)
    got = s3.get_object(Bucket=ssec_bucket, Key="c", **SSE_C)
    assert got["Body"].read() == body
    assert (got["SSECustomerAlgorithm"], got["SSECustomerKeyMD5"]) == ("AES256", key_md5)
    ranged = s3.get_object(Bucket=ssec_bucket, Key="c", Range="bytes=65000-70000", **SSE_C)
    assert ranged["Body"].read() == body[65000:70001]
    assert s3.head_object(Bucket=ssec_bucket, Key="c", **SSE_C)["ContentLength"] == len(body)

    for call in (s3.get_object, s3.head_object):
        with pytest.raises(ClientError) as err:  # no key: the object needs one
            call(Bucket=ssec_bucket, Key="c")
        assert _error(err)[1] == 400
        with pytest.raises(ClientError) as err:  # another key: S3 answers 403
            call(Bucket=ssec_bucket, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=OTHER_KEY)
        assert _error(err)[1] == 403
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=ssec_bucket, Key="c")
    assert _error(err) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=ssec_bucket, Key="c", SSECustomerAlgorithm="AES256", SSECustomerKey=OTHER_KEY)
    assert _error(err) == ("AccessDenied", 403)
    with pytest.raises(ClientError) as err:  # an MD5 that is not the key's (given, boto3 sends both as they are)
        s3.put_object(Bucket=ssec_bucket, Key="d", Body=b"x", SSECustomerAlgorithm="AES256",
                      SSECustomerKey=base64.b64encode(CUSTOMER_KEY).decode(),
                      SSECustomerKeyMD5=base64.b64encode(b"0" * 16).decode())
    assert _error(err) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=ssec_bucket, Key="d", Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey=b"short")
    assert _error(err) == ("InvalidArgument", 400)
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=ssec_bucket, Key="d", Body=b"x", SSECustomerAlgorithm="AES128",
                      SSECustomerKey=CUSTOMER_KEY)
    assert _error(err) == ("InvalidEncryptionAlgorithmError", 400)
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=ssec_bucket, Key="d", Body=b"x", ServerSideEncryption="AES256", **SSE_C)
    assert _error(err) == ("InvalidArgument", 400)
    s3.put_object(Bucket=ssec_bucket, Key="plain", Body=b"p")
    with pytest.raises(ClientError) as err:  # customer-key headers on an object that has none
        s3.get_object(Bucket=ssec_bucket, Key="plain", **SSE_C)
    assert _error(err) == ("InvalidRequest", 400)


def test_empty_sse_c_object_still_needs_its_key(s3: Any, ssec_bucket: str) -> None:
    s3.put_object(Bucket=ssec_bucket, Key="empty", Body=b"", **SSE_C)
    assert s3.get_object(Bucket=ssec_bucket, Key="empty", **SSE_C)["Body"].read() == b""
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=ssec_bucket, Key="empty", SSECustomerAlgorithm="AES256", SSECustomerKey=OTHER_KEY)
    assert _error(err) == ("AccessDenied", 403)


# --------------------------------------------------------------------------------------------- multipart
def test_multipart_sse_kms(s3: Any, bucket: str, key: dict[str, Any]) -> None:
    parts = [os.urandom(5 * MIB), os.urandom(70 * KIB)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ServerSideEncryption="aws:kms",
                                        SSEKMSKeyId=key["Alias"])
    assert (upload["ServerSideEncryption"], upload["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
    etags = []
    for number, data in enumerate(parts, 1):
        part = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=number, Body=data)
        assert (part["ServerSideEncryption"], part["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
        etags.append({"PartNumber": number, "ETag": part["ETag"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload["UploadId"],
                                        MultipartUpload={"Parts": etags})
    assert (done["ServerSideEncryption"], done["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
    whole = b"".join(parts)
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == whole
    first, last = 5 * MIB - 100, 5 * MIB + 100  # across the part boundary
    assert s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={first}-{last}")["Body"].read() == \
        whole[first:last + 1]
    assert s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)["Body"].read() == parts[1]


def test_multipart_sse_c_parts_need_the_key(s3: Any, ssec_bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=ssec_bucket, Key="mp", **SSE_C)
    assert upload["SSECustomerAlgorithm"] == "AES256"
    with pytest.raises(ClientError) as err:
        s3.upload_part(Bucket=ssec_bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"x")
    assert _error(err) == ("InvalidRequest", 400)
    with pytest.raises(ClientError) as err:
        s3.upload_part(Bucket=ssec_bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"x",
                       SSECustomerAlgorithm="AES256", SSECustomerKey=OTHER_KEY)
    assert _error(err) == ("AccessDenied", 403)
    data = os.urandom(200 * KIB)
    part = s3.upload_part(Bucket=ssec_bucket, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=data,
                          **SSE_C)
    s3.complete_multipart_upload(Bucket=ssec_bucket, Key="mp", UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert s3.get_object(Bucket=ssec_bucket, Key="mp", **SSE_C)["Body"].read() == data
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=ssec_bucket, Key="mp")
    assert _error(err) == ("InvalidRequest", 400)


def test_upload_part_copy_from_kms_into_sse_c(s3: Any, ssec_bucket: str, key: dict[str, Any]) -> None:
    source = os.urandom(150 * KIB)
    s3.put_object(Bucket=ssec_bucket, Key="src", Body=source, ServerSideEncryption="aws:kms", SSEKMSKeyId=key["Arn"])
    upload = s3.create_multipart_upload(Bucket=ssec_bucket, Key="dst", **SSE_C)
    part = s3.upload_part_copy(Bucket=ssec_bucket, Key="dst", UploadId=upload["UploadId"], PartNumber=1,
                               CopySource={"Bucket": ssec_bucket, "Key": "src"}, CopySourceRange="bytes=1000-99999",
                               **SSE_C)
    s3.complete_multipart_upload(Bucket=ssec_bucket, Key="dst", UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=ssec_bucket, Key="dst", **SSE_C)["Body"].read() == source[1000:100000]


# -------------------------------------------------------------------------------------------------- copy
# a 1 KiB body is sealed whole under its envelope's key (re-encrypted by a copy to another key); a 90 KiB one
# has its own blob key (re-wrapped)
@pytest.mark.parametrize("size", [KIB, 90 * KIB])
def test_copy_between_modes(s3: Any, ssec_bucket: str, key: dict[str, Any], size: int) -> None:
    body = os.urandom(size)
    s3.put_object(Bucket=ssec_bucket, Key="s3", Body=body)
    to_kms = s3.copy_object(Bucket=ssec_bucket, Key="kms", CopySource={"Bucket": ssec_bucket, "Key": "s3"},
                            ServerSideEncryption="aws:kms", SSEKMSKeyId=key["Alias"])
    assert (to_kms["ServerSideEncryption"], to_kms["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
    assert s3.get_object(Bucket=ssec_bucket, Key="kms")["Body"].read() == body

    to_c = s3.copy_object(Bucket=ssec_bucket, Key="c", CopySource={"Bucket": ssec_bucket, "Key": "kms"}, **SSE_C)
    assert to_c["SSECustomerAlgorithm"] == "AES256" and "ServerSideEncryption" not in to_c
    assert s3.get_object(Bucket=ssec_bucket, Key="c", **SSE_C)["Body"].read() == body

    with pytest.raises(ClientError) as err:  # an SSE-C source needs its key in the copy-source headers
        s3.copy_object(Bucket=ssec_bucket, Key="back", CopySource={"Bucket": ssec_bucket, "Key": "c"})
    assert _error(err) == ("InvalidRequest", 400)
    back = s3.copy_object(Bucket=ssec_bucket, Key="back", CopySource={"Bucket": ssec_bucket, "Key": "c"},
                          **COPY_SOURCE_SSE_C)
    assert back["ServerSideEncryption"] == "AES256"
    assert back["CopyObjectResult"]["ETag"] == _md5(body)  # an SSE-S3 copy's ETag is the data's MD5 again
    assert s3.get_object(Bucket=ssec_bucket, Key="back")["Body"].read() == body
    # deleting the sources leaves the copies readable (they share the ciphertext, re-keyed)
    s3.delete_objects(Bucket=ssec_bucket, Delete={"Objects": [{"Key": "s3"}, {"Key": "kms"}, {"Key": "c"}]})
    assert s3.get_object(Bucket=ssec_bucket, Key="back")["Body"].read() == body


def test_copy_in_place_to_change_encryption(s3: Any, bucket: str, key: dict[str, Any]) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"rekey me")
    with pytest.raises(ClientError) as err:  # nothing changes: S3 refuses
        s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k"})
    assert _error(err) == ("InvalidRequest", 400)
    done = s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k"},
                          ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    assert done["SSEKMSKeyId"] == key["Arn"]
    assert s3.head_object(Bucket=bucket, Key="k")["ServerSideEncryption"] == "aws:kms"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"rekey me"


def test_copy_from_a_disabled_key_fails(s3: Any, kms: Any, bucket: str, key: dict[str, Any]) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
    kms.disable_key(KeyId=key["KeyId"])
    with pytest.raises(ClientError) as err:
        s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "k"})
    assert _error(err) == ("KMS.DisabledException", 400)
    kms.enable_key(KeyId=key["KeyId"])


def test_browser_post_upload_with_sse_kms(s3: Any, bucket: str, key: dict[str, Any]) -> None:
    import urllib3

    sse = {"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": key["Arn"]}
    post = s3.generate_presigned_post(bucket, "form.txt", Fields=sse, Conditions=[{k: v} for k, v in sse.items()])
    fields: dict[str, Any] = dict(post["fields"])
    fields["file"] = ("form.txt", b"posted secret")
    assert urllib3.PoolManager().request("POST", post["url"], fields=fields).status == 204
    head = s3.head_object(Bucket=bucket, Key="form.txt")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key["Arn"])
    assert s3.get_object(Bucket=bucket, Key="form.txt")["Body"].read() == b"posted secret"


@pytest.mark.parametrize("encryption", [{}, SSE_C])
@pytest.mark.parametrize("first, last", [(100, 2099), (0, 999), (2000, 2999)])  # the middle, its start, its end
def test_upload_part_copy_of_part_of_a_small_body(s3: Any, ssec_bucket: str, encryption: dict[str, Any],
                                                  first: int, last: int) -> None:
    """A small body is sealed whole: a range of it shares the ciphertext under the same key, or is re-encrypted."""
    source = os.urandom(3000)
    s3.put_object(Bucket=ssec_bucket, Key="small", Body=source)
    upload = s3.create_multipart_upload(Bucket=ssec_bucket, Key="dst", **encryption)
    part = s3.upload_part_copy(Bucket=ssec_bucket, Key="dst", UploadId=upload["UploadId"], PartNumber=1,
                               CopySource={"Bucket": ssec_bucket, "Key": "small"},
                               CopySourceRange=f"bytes={first}-{last}", **encryption)
    s3.complete_multipart_upload(Bucket=ssec_bucket, Key="dst", UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]})
    s3.delete_object(Bucket=ssec_bucket, Key="small")
    assert s3.get_object(Bucket=ssec_bucket, Key="dst", **encryption)["Body"].read() == source[first:last + 1]
    assert s3.get_object(Bucket=ssec_bucket, Key="dst", Range="bytes=10-19", **encryption)["Body"].read() == \
        source[first + 10:first + 20]
