"""The KMS store on a fake clock: lazy deletion and rotation, journal records that never hold plaintext key
material, restore from the journal, and the root key file."""
from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from miniaws.config import Config
from miniaws.core.clock import FakeClock
from miniaws.services.kms.errors import KMSInvalidStateException, NotFoundException
from miniaws.services.kms.models import DAY
from miniaws.services.kms.rootkey import ROOT_KEY_FILE, RootKey, RootKeyError
from miniaws.services.kms.seed import TAG_KEY_ID, TAG_KEY_MATERIAL
from tests.unit.kms.conftest import Kms, RecordingJournal

MATERIAL = bytes(range(100, 132))
KEY_ID = "0f0f0f0f-1111-4222-8333-444455556666"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def chosen_key(kms: Kms) -> dict[str, object]:
    tags = [{"TagKey": TAG_KEY_ID, "TagValue": KEY_ID}, {"TagKey": TAG_KEY_MATERIAL, "TagValue": b64(MATERIAL)}]
    meta: dict[str, object] = (await kms("CreateKey", Tags=tags))["KeyMetadata"]
    return meta


async def test_deletion_happens_when_the_clock_passes_the_date(kms: Kms) -> None:
    key = (await kms("CreateKey"))["KeyMetadata"]
    await kms("CreateAlias", AliasName="alias/doomed", TargetKeyId=key["KeyId"])
    scheduled = await kms("ScheduleKeyDeletion", KeyId=key["KeyId"], PendingWindowInDays=7)
    assert scheduled["DeletionDate"] == kms.clock.now() + 7 * DAY
    with pytest.raises(KMSInvalidStateException, match="is pending deletion"):
        await kms("Encrypt", KeyId=key["KeyId"], Plaintext="aGk=")
    kms.clock.advance(7 * DAY - 1)
    assert (await kms("DescribeKey", KeyId=key["KeyId"]))["KeyMetadata"]["KeyState"] == "PendingDeletion"
    kms.clock.advance(1)
    with pytest.raises(NotFoundException):
        await kms("DescribeKey", KeyId=key["KeyId"])
    assert (await kms("ListAliases"))["Aliases"] == []  # the key's aliases go with it
    assert not [k for k in kms.journal.rows if k[0] == "kms.key"]


async def test_automatic_rotation_is_dated_when_due_and_old_versions_decrypt(kms: Kms) -> None:
    key = (await kms("CreateKey"))["KeyMetadata"]["KeyId"]
    old = (await kms("Encrypt", KeyId=key, Plaintext="b2xk"))["CiphertextBlob"]
    start = kms.clock.now()
    await kms("EnableKeyRotation", KeyId=key, RotationPeriodInDays=90)
    kms.clock.advance(200 * DAY)  # two rotations fell due while nobody looked
    rotations = (await kms("ListKeyRotations", KeyId=key))["Rotations"]
    assert [(r["RotationDate"], r["RotationType"]) for r in rotations] == [
        (start + 90 * DAY, "AUTOMATIC"), (start + 180 * DAY, "AUTOMATIC")]
    status = await kms("GetKeyRotationStatus", KeyId=key)
    assert status["NextRotationDate"] == start + 270 * DAY
    assert (await kms("Decrypt", CiphertextBlob=old))["Plaintext"] == "b2xk"


async def test_disabled_keys_do_not_rotate_until_enabled(kms: Kms) -> None:
    key = (await kms("CreateKey"))["KeyMetadata"]["KeyId"]
    await kms("EnableKeyRotation", KeyId=key, RotationPeriodInDays=90)
    await kms("DisableKey", KeyId=key)
    kms.clock.advance(100 * DAY)
    assert (await kms("ListKeyRotations", KeyId=key))["Rotations"] == []
    await kms("EnableKey", KeyId=key)
    assert len((await kms("ListKeyRotations", KeyId=key))["Rotations"]) == 1


async def test_journal_never_holds_plaintext_material_and_restores(kms: Kms) -> None:
    meta = await chosen_key(kms)
    await kms("RotateKeyOnDemand", KeyId=KEY_ID)
    blob = (await kms("Encrypt", KeyId=KEY_ID, Plaintext="c2VjcmV0", EncryptionContext={"a": "b"}))["CiphertextBlob"]
    await kms("CreateAlias", AliasName="alias/kept", TargetKeyId=KEY_ID)
    records = b"".join(kms.journal.rows.values())
    assert MATERIAL not in records and b64(MATERIAL).encode() not in records
    assert TAG_KEY_MATERIAL.encode() not in records
    # a new service on the same journal (and the same in-memory root key) comes back with everything
    again = Kms(kms.config, kms.clock, kms.journal)
    again.service.store.root = kms.service.store.root
    again.service.restore(kms.journal.grouped())
    described = (await kms("DescribeKey", KeyId=KEY_ID))["KeyMetadata"]
    assert described["CreationDate"] == meta["CreationDate"]
    assert (await again("DescribeKey", KeyId="alias/kept"))["KeyMetadata"] == described
    assert len((await again("ListKeyRotations", KeyId=KEY_ID))["Rotations"]) == 1
    assert (await again("Decrypt", CiphertextBlob=blob, EncryptionContext={"a": "b"}))["Plaintext"] == "c2VjcmV0"


async def test_chosen_material_is_deterministic_across_servers(kms: Kms) -> None:
    await chosen_key(kms)
    blob = (await kms("Encrypt", KeyId=KEY_ID, Plaintext="eA=="))["CiphertextBlob"]
    elsewhere = Kms(Config(ephemeral=True), FakeClock(), RecordingJournal())
    await chosen_key(elsewhere)
    assert (await elsewhere("Decrypt", CiphertextBlob=blob))["Plaintext"] == "eA=="


def test_root_key_file_is_private_and_required_once_used(tmp_path: Path) -> None:
    path = tmp_path / ROOT_KEY_FILE
    root = RootKey(path)
    wrapped = root.wrap(MATERIAL, "acct/region/key/0")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert RootKey(path).unwrap(wrapped, "acct/region/key/0") == MATERIAL
    with pytest.raises(RootKeyError, match="replaced"):
        RootKey(path).unwrap(wrapped, "acct/region/other/0")  # bound to its key and version
    os.unlink(path)
    with pytest.raises(RootKeyError, match="missing"):
        RootKey(path).unwrap(wrapped, "acct/region/key/0")


def test_persistent_service_creates_root_key_only_when_a_key_is_made(tmp_path: Path) -> None:
    config = Config(data_dir=str(tmp_path))
    Kms(config, FakeClock(), RecordingJournal())
    assert not (tmp_path / ROOT_KEY_FILE).exists()
