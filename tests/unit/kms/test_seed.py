"""Deterministic keys: the shipped seed file loads; bad seeds fail at start naming the problem, never the material."""
from __future__ import annotations

from pathlib import Path

import pytest

from miniaws.config import Config
from miniaws.core.clock import FakeClock
from miniaws.services.kms.seed import SeedError, load_seed_file
from tests.unit.kms.conftest import Kms, RecordingJournal

ROOT = Path(__file__).resolve().parents[3]
SEED = ROOT / "conf" / "kms-seed.toml"


def test_shipped_seed_file_loads() -> None:
    seeds = load_seed_file(str(SEED), "000000000000", "us-east-1")
    assert [(s.key_id, s.spec, s.usage) for s in seeds] == [
        ("11111111-1111-4111-8111-111111111111", "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
        ("22222222-2222-4222-8222-222222222222", "HMAC_256", "GENERATE_VERIFY_MAC"),
        ("33333333-3333-4333-8333-333333333333", "ECC_NIST_P256", "SIGN_VERIFY"),
    ]
    assert seeds[0].aliases == ("alias/storefront-payments",)
    assert "jEng" not in repr(seeds[0])  # key material never shows in a repr (or a log line made from one)


async def test_seeded_keys_exist_at_start_and_after_reset() -> None:
    kms = Kms(Config(ephemeral=True, kms_seed_file=str(SEED)), FakeClock(), RecordingJournal())
    kms.service.restore({})
    meta = (await kms("DescribeKey", account="000000000000", region="us-east-1",
                      KeyId="alias/storefront-payments"))["KeyMetadata"]
    assert meta["KeyId"] == "11111111-1111-4111-8111-111111111111"
    assert kms.journal.rows == {}  # seeds are recreated from the file, not journaled until they change
    kms.service.reset()
    assert (await kms("DescribeKey", account="000000000000", region="us-east-1",
                      KeyId="33333333-3333-4333-8333-333333333333"))["KeyMetadata"]["KeySpec"] == "ECC_NIST_P256"


@pytest.mark.parametrize("body, problem", [
    ('[[key]]\nid = "nope"\nmaterial = "AA=="\n', "id must be a UUID"),
    ('[[key]]\nid = "11111111-1111-4111-8111-111111111111"\nmaterial = "AA=="\n', "must be 32 bytes"),
    ('[[key]]\nid = "11111111-1111-4111-8111-111111111111"\n', "material"),
    ('[[key]]\nid = "11111111-1111-4111-8111-111111111111"\nkey_spec = "RSA_2048"\nkey_usage = "SIGN_VERIFY"\n'
     'material = "AAAA"\n', "RSA_2048"),
    ('[[key]]\nid = "11111111-1111-4111-8111-111111111111"\nkey_spec = "HMAC_256"\nkey_usage = "SIGN_VERIFY"\n'
     'material = "AA=="\n', "not compatible"),
    ("[[key]\n", "kms-seed"),
])
def test_bad_seed_files(tmp_path: Path, body: str, problem: str) -> None:
    path = tmp_path / "kms-seed.toml"
    path.write_text(body)
    with pytest.raises(SeedError, match=problem):
        load_seed_file(str(path), "000000000000", "us-east-1")


def test_missing_seed_file_stops_the_service() -> None:
    with pytest.raises(SeedError, match="cannot read"):
        Kms(Config(ephemeral=True, kms_seed_file="/nonexistent/kms-seed.toml"), FakeClock(), RecordingJournal())
