"""KMS keys and aliases through boto3: every KeySpec/KeyUsage combination validated like AWS, the four KeyId forms,
pagination, key states (DisabledException, KMSInvalidStateException), deletion scheduling, tags, descriptions.

Each module talks as its own account (a 12-digit access key selects it), so listings see only its own keys.
"""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client

ACCOUNT = "100000000001"
REGION = "us-east-1"


@pytest.fixture(scope="module")
def kms(endpoint: str) -> Any:
    return make_client(endpoint, "kms", aws_access_key_id=ACCOUNT)


def error(call: Any, *args: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return dict(err.value.response["Error"])


def new_key(kms: Any, **params: Any) -> dict[str, Any]:
    meta: dict[str, Any] = kms.create_key(**params)["KeyMetadata"]
    return meta


@pytest.mark.parametrize("spec, usage, algorithms", [
    ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", {"EncryptionAlgorithms": ["SYMMETRIC_DEFAULT"]}),
    ("RSA_2048", "ENCRYPT_DECRYPT", {"EncryptionAlgorithms": ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]}),
    ("RSA_3072", "SIGN_VERIFY", {"SigningAlgorithms": [
        "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
        "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"]}),
    ("RSA_4096", "ENCRYPT_DECRYPT", {"EncryptionAlgorithms": ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]}),
    ("ECC_NIST_P256", "SIGN_VERIFY", {"SigningAlgorithms": ["ECDSA_SHA_256"]}),
    ("ECC_NIST_P384", "SIGN_VERIFY", {"SigningAlgorithms": ["ECDSA_SHA_384"]}),
    ("ECC_NIST_P521", "SIGN_VERIFY", {"SigningAlgorithms": ["ECDSA_SHA_512"]}),
    ("ECC_SECG_P256K1", "SIGN_VERIFY", {"SigningAlgorithms": ["ECDSA_SHA_256"]}),
    ("ECC_NIST_P256", "KEY_AGREEMENT", {"KeyAgreementAlgorithms": ["ECDH"]}),
    ("HMAC_224", "GENERATE_VERIFY_MAC", {"MacAlgorithms": ["HMAC_SHA_224"]}),
    ("HMAC_256", "GENERATE_VERIFY_MAC", {"MacAlgorithms": ["HMAC_SHA_256"]}),
    ("HMAC_384", "GENERATE_VERIFY_MAC", {"MacAlgorithms": ["HMAC_SHA_384"]}),
    ("HMAC_512", "GENERATE_VERIFY_MAC", {"MacAlgorithms": ["HMAC_SHA_512"]}),
])
def test_create_key_for_every_spec(kms: Any, spec: str, usage: str, algorithms: dict[str, list[str]]) -> None:
    meta = new_key(kms, KeySpec=spec, KeyUsage=usage, Description=f"{spec} key")
    assert meta["KeySpec"] == meta["CustomerMasterKeySpec"] == spec
    assert (meta["KeyUsage"], meta["KeyState"], meta["Enabled"], meta["Origin"], meta["KeyManager"]) == (
        usage, "Enabled", True, "AWS_KMS", "CUSTOMER")
    assert meta["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{meta['KeyId']}"
    assert meta["AWSAccountId"] == ACCOUNT and meta["MultiRegion"] is False
    for member in ("EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms"):
        assert meta.get(member) == algorithms.get(member)
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"] == meta


def test_symmetric_is_the_default(kms: Any) -> None:
    meta = new_key(kms)
    assert (meta["KeySpec"], meta["KeyUsage"], meta["Description"]) == ("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT", "")
    assert len(meta["CurrentKeyMaterialId"]) == 64


@pytest.mark.parametrize("params, message", [
    ({"KeySpec": "HMAC_256"},
     "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."),
    ({"KeySpec": "RSA_2048"},
     "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."),
    ({"KeySpec": "ECC_NIST_P256", "KeyUsage": "ENCRYPT_DECRYPT"},
     "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec ECC_NIST_P256"),
    ({"KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "SIGN_VERIFY"},
     "KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT"),
    ({"KeySpec": "HMAC_256", "KeyUsage": "ENCRYPT_DECRYPT"},
     "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec HMAC_256"),
    ({"KeySpec": "ECC_SECG_P256K1", "KeyUsage": "KEY_AGREEMENT"},
     "KeyUsage KEY_AGREEMENT is not compatible with KeySpec ECC_SECG_P256K1"),
    ({"KeySpec": "RSA_2048", "CustomerMasterKeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"},
     "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated."),
])
def test_create_key_validation(kms: Any, params: dict[str, str], message: str) -> None:
    assert error(kms.create_key, **params) == {"Code": "ValidationException", "Message": message}


def test_invalid_enum_is_named_like_aws(endpoint: str) -> None:
    raw = make_client(endpoint, "kms", aws_access_key_id=ACCOUNT)
    raw.meta.events.register("before-parameter-build.kms.CreateKey",
                             lambda params, **_: params.update(KeySpec="HMAC_random"))
    err = error(raw.create_key, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    assert err["Code"] == "ValidationException"
    assert err["Message"].startswith("1 validation error detected: Value 'HMAC_random' at 'keySpec' failed to "
                                     "satisfy constraint: Member must satisfy enum value set: [RSA_2048")


def test_legacy_customer_master_key_spec_and_multi_region(kms: Any) -> None:
    assert new_key(kms, CustomerMasterKeySpec="ECC_NIST_P384", KeyUsage="SIGN_VERIFY")["KeySpec"] == "ECC_NIST_P384"
    meta = new_key(kms, MultiRegion=True)
    assert meta["KeyId"].startswith("mrk-") and len(meta["KeyId"]) == 36 and meta["MultiRegion"] is True
    assert meta["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"


def test_key_with_chosen_id_and_material_via_tags(kms: Any) -> None:
    chosen = str(uuid.uuid4())
    tags = [{"TagKey": "miniaws:key-id", "TagValue": chosen},
            {"TagKey": "miniaws:key-material", "TagValue": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
            {"TagKey": "team", "TagValue": "payments"}]
    meta = new_key(kms, Tags=tags)
    assert meta["KeyId"] == chosen
    # the convention's tags are consumed, never stored (one of them is key material)
    assert kms.list_resource_tags(KeyId=chosen)["Tags"] == [{"TagKey": "team", "TagValue": "payments"}]
    assert error(kms.create_key, Tags=tags[:1]) == {
        "Code": "AlreadyExistsException", "Message": f"Key '{meta['Arn']}' already exists"}
    bad = error(kms.create_key, Tags=[{"TagKey": "miniaws:key-id", "TagValue": str(uuid.uuid4())},
                                      {"TagKey": "miniaws:key-material", "TagValue": "AAEC"}])
    assert bad["Code"] == "ValidationException" and "32 bytes" in bad["Message"]


def test_every_key_id_form_and_not_found_messages(kms: Any) -> None:
    meta = new_key(kms)
    alias = f"alias/forms-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=alias, TargetKeyId=meta["Arn"])  # a key ARN works as TargetKeyId too
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:{alias}"
    for form in (meta["KeyId"], meta["Arn"], alias, alias_arn):
        assert kms.describe_key(KeyId=form)["KeyMetadata"]["KeyId"] == meta["KeyId"]
        assert kms.encrypt(KeyId=form, Plaintext=b"x")["KeyId"] == meta["Arn"]
    missing = str(uuid.uuid4())
    assert error(kms.describe_key, KeyId=missing) == {
        "Code": "NotFoundException", "Message": f"Key 'arn:aws:kms:{REGION}:{ACCOUNT}:key/{missing}' does not exist"}
    assert error(kms.describe_key, KeyId="fake-key-id")["Message"] == "Invalid keyId 'fake-key-id'"
    assert error(kms.encrypt, KeyId="alias/missing", Plaintext=b"x") == {
        "Code": "NotFoundException", "Message": f"Alias 'arn:aws:kms:{REGION}:{ACCOUNT}:alias/missing' is not found."}


def test_list_keys_paginates(endpoint: str) -> None:
    isolated = make_client(endpoint, "kms", aws_access_key_id="100000000002")
    created = [new_key(isolated)["KeyId"] for _ in range(5)]
    seen: list[str] = []
    page = isolated.list_keys(Limit=2)
    while True:
        seen += [k["KeyId"] for k in page["Keys"]]
        assert all(k["KeyArn"].endswith(k["KeyId"]) for k in page["Keys"])
        if not page["Truncated"]:
            assert "NextMarker" not in page
            break
        assert len(page["Keys"]) == 2
        page = isolated.list_keys(Limit=2, Marker=page["NextMarker"])
    assert seen == created
    assert [k["KeyId"] for p in isolated.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 3})
            for k in p["Keys"]] == created
    assert error(isolated.list_keys, Marker="not-a-marker")["Code"] == "InvalidMarkerException"


def test_disable_and_enable(kms: Any) -> None:
    meta = new_key(kms)
    kms.disable_key(KeyId=meta["KeyId"])
    described = kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]
    assert (described["KeyState"], described["Enabled"]) == ("Disabled", False)
    assert error(kms.encrypt, KeyId=meta["KeyId"], Plaintext=b"x") == {
        "Code": "DisabledException", "Message": f"{meta['Arn']} is disabled."}
    assert error(kms.generate_data_key, KeyId=meta["KeyId"], KeySpec="AES_256")["Code"] == "DisabledException"
    kms.enable_key(KeyId=meta["KeyId"])
    assert kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"x")["KeyId"] == meta["Arn"]


def test_schedule_and_cancel_deletion(kms: Any) -> None:
    meta = new_key(kms)
    blob = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"kept")["CiphertextBlob"]
    for days, bound in ((6, "greater than or equal to 7"), (31, "less than or equal to 30")):
        assert error(kms.schedule_key_deletion, KeyId=meta["KeyId"], PendingWindowInDays=days)["Message"] == (
            f"1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: "
            f"Member must have value {bound}")
    scheduled = kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
    assert (scheduled["KeyId"], scheduled["KeyState"], scheduled["PendingWindowInDays"]) == (
        meta["Arn"], "PendingDeletion", 7)
    described = kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]
    assert described["DeletionDate"] == scheduled["DeletionDate"] and described["PendingDeletionWindowInDays"] == 7
    pending = {"Code": "KMSInvalidStateException", "Message": f"{meta['Arn']} is pending deletion."}
    assert error(kms.decrypt, CiphertextBlob=blob) == pending
    assert error(kms.schedule_key_deletion, KeyId=meta["KeyId"]) == pending
    assert error(kms.enable_key, KeyId=meta["KeyId"]) == pending
    assert error(kms.tag_resource, KeyId=meta["KeyId"], Tags=[{"TagKey": "a", "TagValue": "b"}]) == pending
    assert kms.cancel_key_deletion(KeyId=meta["KeyId"])["KeyId"] == meta["Arn"]
    # a key whose deletion is cancelled comes back disabled
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["KeyState"] == "Disabled"
    assert error(kms.cancel_key_deletion, KeyId=meta["KeyId"]) == {
        "Code": "KMSInvalidStateException", "Message": f"{meta['Arn']} is not pending deletion."}
    kms.enable_key(KeyId=meta["KeyId"])
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"kept"


def test_tags_and_description(kms: Any) -> None:
    meta = new_key(kms, Tags=[{"TagKey": "env", "TagValue": "test"}], Description="before")
    kms.tag_resource(KeyId=meta["Arn"], Tags=[{"TagKey": f"k{i}", "TagValue": str(i)} for i in range(3)])
    kms.tag_resource(KeyId=meta["KeyId"], Tags=[{"TagKey": "env", "TagValue": "prod"}])
    kms.untag_resource(KeyId=meta["KeyId"], TagKeys=["k1", "absent"])
    first = kms.list_resource_tags(KeyId=meta["KeyId"], Limit=2)
    assert first["Truncated"] is True
    rest = kms.list_resource_tags(KeyId=meta["KeyId"], Marker=first["NextMarker"])
    assert first["Tags"] + rest["Tags"] == [{"TagKey": "env", "TagValue": "prod"}, {"TagKey": "k0", "TagValue": "0"},
                                            {"TagKey": "k2", "TagValue": "2"}]
    assert error(kms.tag_resource, KeyId=meta["KeyId"], Tags=[{"TagKey": "aws:x", "TagValue": "1"}])["Code"] == (
        "TagException")
    kms.update_key_description(KeyId=meta["KeyId"], Description="after")
    assert kms.describe_key(KeyId=meta["KeyId"])["KeyMetadata"]["Description"] == "after"


# -- aliases ---------------------------------------------------------------------------------------
def test_alias_lifecycle(kms: Any) -> None:
    first, second = new_key(kms), new_key(kms)
    name = f"alias/app-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=name, TargetKeyId=first["KeyId"])
    assert error(kms.create_alias, AliasName=name, TargetKeyId=second["KeyId"]) == {
        "Code": "AlreadyExistsException",
        "Message": f"An alias with the name arn:aws:kms:{REGION}:{ACCOUNT}:{name} already exists"}
    listed = kms.list_aliases(KeyId=first["KeyId"])["Aliases"]
    assert [(a["AliasName"], a["AliasArn"], a["TargetKeyId"]) for a in listed] == [
        (name, f"arn:aws:kms:{REGION}:{ACCOUNT}:{name}", first["KeyId"])]
    blob = kms.encrypt(KeyId=name, Plaintext=b"under first")["CiphertextBlob"]
    kms.update_alias(AliasName=name, TargetKeyId=second["KeyId"])
    assert kms.encrypt(KeyId=name, Plaintext=b"x")["KeyId"] == second["Arn"]
    assert kms.decrypt(CiphertextBlob=blob)["KeyId"] == first["Arn"]  # the blob names its key, not the alias
    kms.delete_alias(AliasName=name)
    assert error(kms.describe_key, KeyId=name)["Code"] == "NotFoundException"
    assert error(kms.delete_alias, AliasName=name)["Code"] == "NotFoundException"


def test_alias_names_are_validated(kms: Any) -> None:
    key = new_key(kms)["KeyId"]
    assert error(kms.create_alias, AliasName="no-prefix", TargetKeyId=key) == {
        "Code": "ValidationException",
        "Message": 'Alias must start with the prefix "alias/". Please see '
                   "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"}
    assert error(kms.create_alias, AliasName="alias/aws/mine", TargetKeyId=key)["Code"] == "NotAuthorizedException"
    assert error(kms.create_alias, AliasName="alias/bad name", TargetKeyId=key)["Code"] == "ValidationException"
    assert error(kms.create_alias, AliasName="alias/ok", TargetKeyId="alias/other")["Code"] == "NotFoundException"


def test_alias_moves_only_between_keys_of_the_same_type(kms: Any) -> None:
    symmetric = new_key(kms)["KeyId"]
    hmac_key = new_key(kms, KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyId"]
    name = f"alias/typed-{uuid.uuid4().hex[:8]}"
    kms.create_alias(AliasName=name, TargetKeyId=symmetric)
    assert error(kms.update_alias, AliasName=name, TargetKeyId=hmac_key)["Code"] == "ValidationException"


def test_list_aliases_paginates(endpoint: str) -> None:
    isolated = make_client(endpoint, "kms", aws_access_key_id="100000000003")
    key = new_key(isolated)["KeyId"]
    names = [f"alias/page-{i}" for i in range(5)]
    for name in reversed(names):
        isolated.create_alias(AliasName=name, TargetKeyId=key)
    pages = list(isolated.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) == 3
    assert [a["AliasName"] for p in pages for a in p["Aliases"]] == names


def test_unimplemented_operation_is_named(kms: Any) -> None:
    with pytest.raises(ClientError) as err:
        kms.connect_custom_key_store(CustomKeyStoreId="cks-1234567890abcdef0")
    assert err.value.response["Error"]["Code"] == "NotImplemented"
    assert "ConnectCustomKeyStore" in err.value.response["Error"]["Message"]
