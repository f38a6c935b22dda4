"""Spec-driven input checks word their errors like AWS and never echo sensitive values or blobs."""
from __future__ import annotations

import base64

import pytest

from miniaws.services.kms.errors import SerializationException, ValidationException
from miniaws.services.kms.validation import encode_output, parse_input


def message(operation: str, **params: object) -> str:
    with pytest.raises(ValidationException) as err:
        parse_input(operation, params)
    return err.value.message


def test_aws_worded_constraint_messages() -> None:
    # these strings are what AWS returns (recorded in LocalStack's AWS-validated snapshots)
    assert message("GenerateRandom", NumberOfBytes=1025) == (
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must "
        "have value less than or equal to 1024")
    too_long = base64.b64encode(bytes(4097)).decode()
    assert message("Encrypt", KeyId="k", Plaintext=too_long) == (
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length "
        "less than or equal to 4096")
    assert message("CreateKey", KeyUsage="RANDOM").startswith(
        "1 validation error detected: Value 'RANDOM' at 'keyUsage' failed to satisfy constraint: Member must "
        "satisfy enum value set: [SIGN_VERIFY, ENCRYPT_DECRYPT")


def test_several_errors_and_nested_paths() -> None:
    text = message("TagResource", Tags=[{"TagKey": "", "TagValue": "v"}])
    assert text.startswith("2 validation errors detected: ")
    assert "Value null at 'keyId' failed to satisfy constraint: Member must not be null" in text
    assert "at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length greater" in text


def test_blobs_are_decoded_and_encoded() -> None:
    parsed = parse_input("Encrypt", {"KeyId": "k", "Plaintext": base64.b64encode(b"hi").decode(),
                                     "EncryptionContext": {"a": "b"}, "Unknown": 1})
    assert parsed == {"KeyId": "k", "Plaintext": b"hi", "EncryptionContext": {"a": "b"}}
    assert encode_output({"Plaintext": b"hi", "Skip": None, "L": [b"\x00"]}) == {"Plaintext": "aGk=", "L": ["AA=="]}


@pytest.mark.parametrize("params", [{"KeyId": 5, "Plaintext": "aGk="}, {"KeyId": "k", "Plaintext": "***"},
                                    {"KeyId": "k", "Plaintext": "aGk=", "GrantTokens": "t"}])
def test_wrong_json_types_are_serialization_errors(params: dict[str, object]) -> None:
    with pytest.raises(SerializationException):
        parse_input("Encrypt", params)
