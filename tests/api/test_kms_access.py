"""KMS key policies and grants through boto3: the default policy AWS writes, Put/Get round trips, and the grant
lifecycle (create, list, retire by token or id, revoke, retirable grants); grant tokens are accepted by crypto calls.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.conftest import make_client

ACCOUNT = "100000000031"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
RETIRER = f"arn:aws:iam::{ACCOUNT}:role/retirer"


@pytest.fixture(scope="module")
def kms(endpoint: str) -> Any:
    return make_client(endpoint, "kms", aws_access_key_id=ACCOUNT)


def error(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return dict(err.value.response["Error"])


def test_default_key_policy(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    out = kms.get_key_policy(KeyId=key, PolicyName="default")
    assert out["PolicyName"] == "default"
    # https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
    assert json.loads(out["Policy"]) == {
        "Version": "2012-10-17", "Id": "key-default-1", "Statement": [{
            "Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}]}
    assert kms.list_key_policies(KeyId=key)["PolicyNames"] == ["default"]


def test_put_key_policy_round_trips(kms: Any) -> None:
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "app", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "kms:Decrypt", "Resource": "*"}]})
    key = kms.create_key(Policy=policy)["KeyMetadata"]["KeyId"]
    assert kms.get_key_policy(KeyId=key)["Policy"] == policy
    updated = policy.replace("kms:Decrypt", "kms:*")
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=updated)
    assert kms.get_key_policy(KeyId=key)["Policy"] == updated
    assert error(kms.put_key_policy, KeyId=key, Policy="{not json")["Code"] == "MalformedPolicyDocumentException"
    assert error(kms.create_key, Policy="[]")["Code"] == "MalformedPolicyDocumentException"
    assert error(kms.get_key_policy, KeyId=key, PolicyName="other")["Code"] == "NotFoundException"


def test_grant_lifecycle(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    created = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=ROLE, RetiringPrincipal=RETIRER,
                               Operations=["Encrypt", "Decrypt"], Name="app-grant",
                               Constraints={"EncryptionContextSubset": {"tenant": "acme"}})
    assert len(created["GrantId"]) == 64 and created["GrantToken"]
    again = kms.create_grant(KeyId=key["KeyId"], GranteePrincipal=ROLE, RetiringPrincipal=RETIRER,
                             Operations=["Encrypt", "Decrypt"], Name="app-grant",
                             Constraints={"EncryptionContextSubset": {"tenant": "acme"}})
    assert again["GrantId"] == created["GrantId"]  # a named grant is idempotent
    second = kms.create_grant(KeyId=key["Arn"], GranteePrincipal=RETIRER, Operations=["GenerateDataKey"])
    grants = kms.list_grants(KeyId=key["KeyId"])["Grants"]
    assert [g["GrantId"] for g in grants] == [created["GrantId"], second["GrantId"]]
    first = grants[0]
    assert (first["KeyId"], first["Name"], first["GranteePrincipal"], first["RetiringPrincipal"],
            first["Operations"], first["Constraints"], first["IssuingAccount"]) == (
        key["Arn"], "app-grant", ROLE, RETIRER, ["Encrypt", "Decrypt"],
        {"EncryptionContextSubset": {"tenant": "acme"}}, f"arn:aws:iam::{ACCOUNT}:root")
    assert [g["GrantId"] for g in kms.list_grants(KeyId=key["KeyId"], GranteePrincipal=RETIRER)["Grants"]] == [
        second["GrantId"]]
    retirable = kms.list_retirable_grants(RetiringPrincipal=RETIRER)["Grants"]
    assert [g["GrantId"] for g in retirable] == [created["GrantId"]]
    # grant tokens are accepted where AWS takes them
    assert kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", GrantTokens=[created["GrantToken"]])["KeyId"] == key["Arn"]
    kms.retire_grant(GrantToken=created["GrantToken"])
    kms.revoke_grant(KeyId=key["KeyId"], GrantId=second["GrantId"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"] == []
    assert error(kms.revoke_grant, KeyId=key["KeyId"], GrantId=second["GrantId"])["Code"] == "NotFoundException"
    assert error(kms.retire_grant, GrantToken="bogus")["Code"] == "InvalidGrantTokenException"


def test_retire_grant_by_key_and_id_and_pagination(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    ids = [kms.create_grant(KeyId=key, GranteePrincipal=ROLE, Operations=["Decrypt"])["GrantId"] for _ in range(3)]
    pages = list(kms.get_paginator("list_grants").paginate(KeyId=key, PaginationConfig={"PageSize": 2}))
    assert [g["GrantId"] for p in pages for g in p["Grants"]] == ids and len(pages) == 2
    kms.retire_grant(KeyId=key, GrantId=ids[1])
    assert [g["GrantId"] for g in kms.list_grants(KeyId=key)["Grants"]] == [ids[0], ids[2]]


def test_grant_operations_must_fit_the_key(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    assert error(kms.create_grant, KeyId=key, GranteePrincipal=ROLE, Operations=["Sign"])["Code"] == (
        "ValidationException")
    signer = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    kms.create_grant(KeyId=signer, GranteePrincipal=ROLE, Operations=["Sign", "Verify", "GetPublicKey"])
    kms.disable_key(KeyId=key)
    assert error(kms.create_grant, KeyId=key, GranteePrincipal=ROLE, Operations=["Decrypt"])["Code"] == (
        "DisabledException")
