"""KMS state survives a restart of a persistent server: keys, aliases, grants, rotation history and schedule, and
every old ciphertext still decrypts; key material never reaches the state database in plaintext; the root key
file is private and required. Seeded keys reproduce ciphertexts across separate in-memory servers.
"""
from __future__ import annotations

import base64
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from miniaws.config import load_config
from miniaws.server import ServerThread
from miniaws.services.kms.rootkey import RootKeyError
from tests.api.conftest import make_client

ROOT = Path(__file__).resolve().parents[2]
MATERIAL = os.urandom(32)
KEY_ID = "5a5a5a5a-0000-4000-8000-000000000001"


@contextmanager
def server(**settings: Any) -> Iterator[Any]:
    thread = ServerThread(load_config(env={}, overrides={"port": 0, "dns_port": 0, "edge_port": 0, **settings})).start()
    try:
        yield make_client(thread.endpoint_url, "kms")
    finally:
        thread.stop()


def test_restart_keeps_keys_ciphertexts_and_history(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with server(data_dir=str(data)) as kms:
        key = kms.create_key(Description="durable", Tags=[
            {"TagKey": "miniaws:key-id", "TagValue": KEY_ID},
            {"TagKey": "miniaws:key-material", "TagValue": base64.b64encode(MATERIAL).decode()},
            {"TagKey": "team", "TagValue": "payments"}])["KeyMetadata"]
        kms.create_alias(AliasName="alias/durable", TargetKeyId=KEY_ID)
        before = kms.encrypt(KeyId="alias/durable", Plaintext=b"v0", EncryptionContext={"n": "0"})["CiphertextBlob"]
        kms.rotate_key_on_demand(KeyId=KEY_ID)
        after = kms.encrypt(KeyId=KEY_ID, Plaintext=b"v1")["CiphertextBlob"]
        kms.enable_key_rotation(KeyId=KEY_ID, RotationPeriodInDays=180)
        status = kms.get_key_rotation_status(KeyId=KEY_ID)
        grant = kms.create_grant(KeyId=KEY_ID, GranteePrincipal="arn:aws:iam::000000000000:role/app",
                                 Operations=["Decrypt"])["GrantId"]
        signer = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        signature = kms.sign(KeyId=signer, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        hmac_key = kms.create_key(KeySpec="HMAC_384", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]["KeyId"]
        mac = kms.generate_mac(KeyId=hmac_key, Message=b"m", MacAlgorithm="HMAC_SHA_384")["Mac"]
        rotations = kms.list_key_rotations(KeyId=KEY_ID)["Rotations"]
        described = kms.describe_key(KeyId=KEY_ID)["KeyMetadata"]

    root_key = data / "kms-root.key"
    assert stat.S_IMODE(root_key.stat().st_mode) == 0o600
    stored = b"".join(p.read_bytes() for p in data.glob("state.sqlite3*"))
    assert b"alias/durable" in stored  # the state really is in there ...
    for leaked in (MATERIAL, base64.b64encode(MATERIAL), MATERIAL.hex().encode()):
        assert leaked not in stored  # ... but not the key material

    with server(data_dir=str(data)) as kms:
        assert kms.describe_key(KeyId="alias/durable")["KeyMetadata"] == described
        assert kms.decrypt(CiphertextBlob=before, EncryptionContext={"n": "0"})["Plaintext"] == b"v0"
        assert kms.decrypt(CiphertextBlob=after)["Plaintext"] == b"v1"
        assert kms.list_key_rotations(KeyId=KEY_ID)["Rotations"] == rotations
        assert kms.get_key_rotation_status(KeyId=KEY_ID) | {"ResponseMetadata": None} == status | {
            "ResponseMetadata": None}
        assert [g["GrantId"] for g in kms.list_grants(KeyId=KEY_ID)["Grants"]] == [grant]
        assert kms.list_resource_tags(KeyId=KEY_ID)["Tags"] == [{"TagKey": "team", "TagValue": "payments"}]
        assert kms.verify(KeyId=signer, Message=b"m", Signature=signature,
                          SigningAlgorithm="ECDSA_SHA_256")["SignatureValid"] is True
        assert kms.verify_mac(KeyId=hmac_key, Message=b"m", Mac=mac, MacAlgorithm="HMAC_SHA_384")["MacValid"]
        assert key["Arn"] in [k["KeyArn"] for k in kms.list_keys()["Keys"]]

    os.unlink(root_key)
    with pytest.raises(RootKeyError, match="kms-root.key is missing"):
        ServerThread(load_config(env={}, overrides={"port": 0, "dns_port": 0, "edge_port": 0, "data_dir": str(data)})).start()


def test_seeded_keys_reproduce_across_servers() -> None:
    seed = str(ROOT / "conf" / "kms-seed.toml")
    with server(ephemeral=True, kms_seed_file=seed) as kms:
        blob = kms.encrypt(KeyId="alias/storefront-payments", Plaintext=b"pan",
                           EncryptionContext={"order": "1"})["CiphertextBlob"]
        mac = kms.generate_mac(KeyId="22222222-2222-4222-8222-222222222222", Message=b"hook",
                               MacAlgorithm="HMAC_SHA_256")["Mac"]
        public = kms.get_public_key(KeyId="33333333-3333-4333-8333-333333333333")["PublicKey"]
    with server(ephemeral=True, kms_seed_file=seed) as kms:
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"order": "1"})["Plaintext"] == b"pan"
        assert kms.generate_mac(KeyId="22222222-2222-4222-8222-222222222222", Message=b"hook",
                                MacAlgorithm="HMAC_SHA_256")["Mac"] == mac
        assert kms.get_public_key(KeyId="33333333-3333-4333-8333-333333333333")["PublicKey"] == public
        signature = kms.sign(KeyId="33333333-3333-4333-8333-333333333333", Message=b"release",
                             SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    loaded = serialization.load_der_public_key(public)
    assert isinstance(loaded, ec.EllipticCurvePublicKey)
    loaded.verify(signature, b"release", ec.ECDSA(hashes.SHA256()))
