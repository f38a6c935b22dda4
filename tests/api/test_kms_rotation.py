"""KMS key rotation through boto3: on-demand and automatic rotation add material versions, every earlier version
still decrypts, and the schedule, limits and key-type rules follow AWS. Automatic rotation and key deletion run on
a server with a fake clock that the tests advance.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from miniaws.config import load_config
from miniaws.core.clock import FakeClock
from miniaws.server import ServerThread
from tests.api.conftest import make_client

DAY = 86400.0


@pytest.fixture(scope="module")
def kms(endpoint: str) -> Any:
    return make_client(endpoint, "kms", aws_access_key_id="100000000021")


def error(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return dict(err.value.response["Error"])


def test_on_demand_rotation_keeps_every_version_decryptable(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    blobs = []
    material_ids = [key["CurrentKeyMaterialId"]]
    for i in range(3):
        blobs.append(kms.encrypt(KeyId=key["KeyId"], Plaintext=f"v{i}".encode(),
                                 EncryptionContext={"v": str(i)})["CiphertextBlob"])
        assert kms.rotate_key_on_demand(KeyId=key["KeyId"])["KeyId"] == key["KeyId"]
        material_ids.append(kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CurrentKeyMaterialId"])
    assert len(set(material_ids)) == 4
    for i, blob in enumerate(blobs):
        out = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"v": str(i)})
        assert out["Plaintext"] == f"v{i}".encode() and out["KeyMaterialId"] == material_ids[i]
    fresh = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"new")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=fresh)["KeyMaterialId"] == material_ids[-1]
    rotations = kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"]
    assert [(r["RotationType"], r["KeyMaterialId"]) for r in rotations] == [("ON_DEMAND", m) for m in material_ids[1:]]
    assert [r["KeyMaterialState"] for r in rotations] == ["NON_CURRENT", "NON_CURRENT", "CURRENT"]
    first = kms.list_key_rotations(KeyId=key["KeyId"], Limit=2)
    rest = kms.list_key_rotations(KeyId=key["KeyId"], Marker=first["NextMarker"])
    assert first["Truncated"] and first["Rotations"] + rest["Rotations"] == rotations


def test_rotation_status_and_period(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    assert kms.get_key_rotation_status(KeyId=key)["KeyRotationEnabled"] is False
    kms.enable_key_rotation(KeyId=key)
    status = kms.get_key_rotation_status(KeyId=key)
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, 365)
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    assert kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"] == 90
    assert error(kms.enable_key_rotation, KeyId=key, RotationPeriodInDays=2561)["Message"] == (
        "1 validation error detected: Value '2561' at 'rotationPeriodInDays' failed to satisfy constraint: "
        "Member must have value less than or equal to 2560")
    kms.disable_key_rotation(KeyId=key)
    assert kms.get_key_rotation_status(KeyId=key) | {"ResponseMetadata": None} == {
        "KeyRotationEnabled": False, "KeyId": f"arn:aws:kms:us-east-1:100000000021:key/{key}",
        "ResponseMetadata": None}


def test_only_enabled_symmetric_keys_rotate(kms: Any) -> None:
    signer = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    for call in (kms.enable_key_rotation, kms.rotate_key_on_demand, kms.list_key_rotations):
        assert error(call, KeyId=signer)["Code"] == "UnsupportedOperationException"
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    assert error(kms.rotate_key_on_demand, KeyId=key["KeyId"]) == {
        "Code": "DisabledException", "Message": f"{key['Arn']} is disabled."}


def test_on_demand_rotations_are_limited(kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    for _ in range(25):
        kms.rotate_key_on_demand(KeyId=key)
    assert error(kms.rotate_key_on_demand, KeyId=key)["Code"] == "LimitExceededException"


# -- time-driven: a server whose clock the test moves ----------------------------------------------
@pytest.fixture(scope="module")
def clocked() -> Iterator[tuple[Any, FakeClock]]:
    clock = FakeClock()
    thread = ServerThread(load_config(env={}, overrides={"port": 0, "dns_port": 0, "edge_port": 0, "ephemeral": True}), clock).start()
    try:
        yield make_client(thread.endpoint_url, "kms"), clock
    finally:
        thread.stop()


def test_automatic_rotation_when_the_clock_passes(clocked: tuple[Any, FakeClock]) -> None:
    kms, clock = clocked
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    old = kms.encrypt(KeyId=key, Plaintext=b"before rotation")["CiphertextBlob"]
    kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=90)
    due = kms.get_key_rotation_status(KeyId=key)["NextRotationDate"]
    clock.advance(89 * DAY)
    assert kms.list_key_rotations(KeyId=key)["Rotations"] == []
    clock.advance(2 * DAY)
    rotations = kms.list_key_rotations(KeyId=key)["Rotations"]
    assert [(r["RotationType"], r["RotationDate"]) for r in rotations] == [("AUTOMATIC", due)]
    assert kms.get_key_rotation_status(KeyId=key)["NextRotationDate"] > due
    assert kms.decrypt(CiphertextBlob=old)["Plaintext"] == b"before rotation"


def test_key_is_deleted_when_the_clock_passes_its_deletion_date(clocked: tuple[Any, FakeClock]) -> None:
    kms, clock = clocked
    key = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"doomed")["CiphertextBlob"]
    kms.create_alias(AliasName="alias/doomed", TargetKeyId=key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    clock.advance(7 * DAY - 60)
    assert kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    clock.advance(120)
    missing = {"Code": "NotFoundException", "Message": f"Key '{key['Arn']}' does not exist"}
    assert error(kms.describe_key, KeyId=key["KeyId"]) == missing
    assert error(kms.decrypt, CiphertextBlob=blob) == missing
    assert key["KeyId"] not in [k["KeyId"] for k in kms.list_keys()["Keys"]]
    assert "alias/doomed" not in [a["AliasName"] for a in kms.list_aliases()["Aliases"]]
