"""The AWS Encryption SDK (the real envelope-encryption client, PyPI `aws-encryption-sdk`) encrypting and
decrypting with a KMS master key that lives in miniaws. Skipped where the SDK is not installed.
"""
from __future__ import annotations

import warnings
from typing import Any

import pytest

from tests.api.conftest import make_client


def test_encryption_sdk_round_trip(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the SDK warns about its own deprecated pieces on import
        sdk: Any = pytest.importorskip("aws_encryption_sdk")
        from aws_encryption_sdk.key_providers.kms import StrictAwsKmsMasterKeyProvider
    import botocore.session

    # the SDK makes its own KMS clients; botocore's service endpoint variable points them at miniaws
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", endpoint)
    kms = make_client(endpoint, "kms", aws_access_key_id="100000000051")
    arn = kms.create_key(Description="encryption sdk")["KeyMetadata"]["Arn"]
    session = botocore.session.Session()
    session.set_credentials("100000000051", "test")
    provider = StrictAwsKmsMasterKeyProvider(key_ids=[arn], botocore_session=session)
    client = sdk.EncryptionSDKClient(commitment_policy=sdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    message, header = client.encrypt(source=b"card 4111 1111 1111 1111", key_provider=provider,
                                     encryption_context={"order": "42"})
    assert b"4111" not in message
    assert [key.key_provider.key_info for key in header.encrypted_data_keys] == [arn.encode()]
    plaintext, decrypted = client.decrypt(source=message, key_provider=provider)
    assert plaintext == b"card 4111 1111 1111 1111"
    assert decrypted.encryption_context["order"] == "42"
