"""KeyId parsing and key lookup: key id, key ARN, alias name and alias ARN all work; AWS's NotFound messages."""
from __future__ import annotations

import pytest

from miniaws.services.kms.errors import NotFoundException
from miniaws.services.kms.identifiers import BadArn, is_key_id, key_arn, parse_key_ref
from tests.unit.kms.conftest import ACCOUNT, REGION, Kms


def test_parse_key_ref_forms() -> None:
    kid = "1234abcd-12ab-34cd-56ef-1234567890ab"
    assert parse_key_ref(kid).key_id == kid
    arn = parse_key_ref(f"arn:aws:kms:us-west-2:111122223333:key/{kid}")
    assert (arn.key_id, arn.region, arn.account) == (kid, "us-west-2", "111122223333")
    assert parse_key_ref("alias/app").alias == "alias/app"
    alias = parse_key_ref("arn:aws:kms:us-west-2:111122223333:alias/app/x")
    assert (alias.alias, alias.key_id, alias.region) == ("alias/app/x", None, "us-west-2")
    for bad in ("arn:aws:s3:::bucket", "arn:aws:kms:us-west-2:111122223333:grant/x", "arn:aws:kms"):
        with pytest.raises(BadArn):
            parse_key_ref(bad)


def test_key_id_formats() -> None:
    assert is_key_id("1234abcd-12ab-34cd-56ef-1234567890ab")
    assert is_key_id("mrk-1234abcd12ab34cd56ef1234567890ab")
    for bad in ("fake-key-id", "134f2428cec14b25a1ae9048164dba47", "mrk-fake-key-id", ""):
        assert not is_key_id(bad)


async def test_every_form_finds_the_key(kms: Kms) -> None:
    key = (await kms("CreateKey"))["KeyMetadata"]
    await kms("CreateAlias", AliasName="alias/app", TargetKeyId=key["KeyId"])
    forms = [key["KeyId"], key["Arn"], "alias/app", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app"]
    for form in forms:
        assert (await kms("DescribeKey", KeyId=form))["KeyMetadata"]["KeyId"] == key["KeyId"]


async def test_not_found_messages(kms: Kms) -> None:
    missing = "1234abcd-12ab-34cd-56ef-1234567890ab"
    cases = {
        missing: f"Key '{key_arn(REGION, ACCOUNT, missing)}' does not exist",
        "fake-key-id": "Invalid keyId 'fake-key-id'",
        "alias/none": f"Alias 'arn:aws:kms:{REGION}:{ACCOUNT}:alias/none' is not found.",
        f"arn:aws:kms:ap-southeast-1:{ACCOUNT}:key/{missing}": "Invalid arn ap-southeast-1",
    }
    for text, message in cases.items():
        with pytest.raises(NotFoundException) as err:
            await kms("DescribeKey", KeyId=text)
        assert err.value.message == message


async def test_regions_and_accounts_are_separate_but_arns_cross_accounts(kms: Kms) -> None:
    key = (await kms("CreateKey"))["KeyMetadata"]
    with pytest.raises(NotFoundException):
        await kms("DescribeKey", region="us-east-1", KeyId=key["KeyId"])
    with pytest.raises(NotFoundException):
        await kms("DescribeKey", account="999999999999", KeyId=key["KeyId"])
    # crypto operations (and DescribeKey) accept another account's key by ARN, as AWS does
    other = await kms("Encrypt", account="999999999999", KeyId=key["Arn"], Plaintext="aGk=")
    assert other["KeyId"] == key["Arn"]
    with pytest.raises(NotFoundException):  # management operations do not
        await kms("EnableKey", account="999999999999", KeyId=key["Arn"])
