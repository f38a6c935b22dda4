"""KMS cryptographic operations through boto3, checked independently with `cryptography` where possible:
envelope encryption with encryption context, data keys and key pairs, ReEncrypt, signatures, RSA-OAEP, HMAC.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Any

import pytest
from botocore.exceptions import ClientError
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

from tests.api.conftest import make_client

ACCOUNT = "100000000011"
HASHES = {"256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}


@pytest.fixture(scope="module")
def kms(endpoint: str) -> Any:
    return make_client(endpoint, "kms", aws_access_key_id=ACCOUNT)


@pytest.fixture(scope="module")
def key(kms: Any) -> dict[str, Any]:
    meta: dict[str, Any] = kms.create_key(Description="envelope")["KeyMetadata"]
    return meta


@pytest.fixture(scope="module")
def rsa_sign_key(kms: Any) -> dict[str, Any]:
    meta: dict[str, Any] = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    return meta


@pytest.fixture(scope="module")
def rsa_encrypt_key(kms: Any) -> dict[str, Any]:
    meta: dict[str, Any] = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    return meta


def error(call: Any, **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return dict(err.value.response["Error"])


def public_key(kms: Any, key_id: str) -> Any:
    return serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])


# -- symmetric encryption ------------------------------------------------------------------------
def test_encrypt_decrypt_without_key_id(kms: Any, key: dict[str, Any]) -> None:
    out = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"card 4111")
    assert (out["KeyId"], out["EncryptionAlgorithm"]) == (key["Arn"], "SYMMETRIC_DEFAULT")
    assert b"card 4111" not in out["CiphertextBlob"]
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"])
    assert (back["Plaintext"], back["KeyId"], back["EncryptionAlgorithm"]) == (b"card 4111", key["Arn"],
                                                                                "SYMMETRIC_DEFAULT")
    assert back["KeyMaterialId"] == key["CurrentKeyMaterialId"]
    assert kms.encrypt(KeyId=key["KeyId"], Plaintext=b"card 4111")["CiphertextBlob"] != out["CiphertextBlob"]


def test_encryption_context_is_bound(kms: Any, key: dict[str, Any]) -> None:
    context = {"order": "1234", "tenant": "acme"}
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", EncryptionContext=context)["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=dict(reversed(context.items())))["Plaintext"] == b"x"
    for wrong in ({}, {"order": "1234"}, {"order": "1234", "tenant": "ACME"}, {**context, "extra": "1"}):
        assert error(kms.decrypt, CiphertextBlob=blob, EncryptionContext=wrong) == {
            "Code": "InvalidCiphertextException", "Message": ""}
    plain = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    assert error(kms.decrypt, CiphertextBlob=plain, EncryptionContext=context)["Code"] == "InvalidCiphertextException"


def test_tampered_or_foreign_blobs_are_invalid(kms: Any, key: dict[str, Any]) -> None:
    blob = bytearray(kms.encrypt(KeyId=key["KeyId"], Plaintext=b"payload")["CiphertextBlob"])
    for index in (0, 5, len(blob) // 2, len(blob) - 1):
        tampered = bytearray(blob)
        tampered[index] ^= 0x80
        assert error(kms.decrypt, CiphertextBlob=bytes(tampered)) == {"Code": "InvalidCiphertextException",
                                                                       "Message": ""}
    assert error(kms.decrypt, CiphertextBlob=os.urandom(100))["Code"] == "InvalidCiphertextException"
    assert error(kms.decrypt, CiphertextBlob=bytes(blob[:-1]))["Code"] == "InvalidCiphertextException"


def test_wrong_key_id_is_incorrect_key(kms: Any, key: dict[str, Any]) -> None:
    other = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob, KeyId=key["Arn"])["Plaintext"] == b"x"
    assert error(kms.decrypt, CiphertextBlob=blob, KeyId=other["KeyId"]) == {
        "Code": "IncorrectKeyException",
        "Message": "The key ID in the request does not identify a CMK that can perform this operation."}


def test_plaintext_limit_is_4096_bytes(kms: Any, key: dict[str, Any]) -> None:
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=bytes(4096))["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == bytes(4096)
    assert error(kms.encrypt, KeyId=key["KeyId"], Plaintext=bytes(4097)) == {
        "Code": "ValidationException",
        "Message": "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must "
                   "have length less than or equal to 4096"}


def test_key_usage_is_enforced(kms: Any, rsa_sign_key: dict[str, Any]) -> None:
    hmac_key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")["KeyMetadata"]
    assert error(kms.encrypt, KeyId=rsa_sign_key["KeyId"], Plaintext=b"x") == {
        "Code": "InvalidKeyUsageException",
        "Message": f"{rsa_sign_key['Arn']} key usage is SIGN_VERIFY which is not valid for Encrypt."}
    assert error(kms.sign, KeyId=hmac_key["KeyId"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")["Message"] == (
        f"{hmac_key['Arn']} key usage is GENERATE_VERIFY_MAC which is not valid for Sign.")


# -- data keys -----------------------------------------------------------------------------------
@pytest.mark.parametrize("params, size", [({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16),
                                          ({"NumberOfBytes": 1}, 1), ({"NumberOfBytes": 1024}, 1024)])
def test_generate_data_key(kms: Any, key: dict[str, Any], params: dict[str, Any], size: int) -> None:
    out = kms.generate_data_key(KeyId=key["KeyId"], EncryptionContext={"bucket": "b"}, **params)
    assert len(out["Plaintext"]) == size and out["KeyId"] == key["Arn"]
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"bucket": "b"})["Plaintext"] == (
        out["Plaintext"])
    bare = kms.generate_data_key_without_plaintext(KeyId=key["KeyId"], **params)
    assert "Plaintext" not in bare
    assert len(kms.decrypt(CiphertextBlob=bare["CiphertextBlob"])["Plaintext"]) == size


def test_generate_data_key_needs_exactly_one_size(kms: Any, key: dict[str, Any]) -> None:
    for params in ({}, {"KeySpec": "AES_256", "NumberOfBytes": 32}):
        assert error(kms.generate_data_key, KeyId=key["KeyId"], **params) == {
            "Code": "ValidationException", "Message": "Please specify either number of bytes or key spec."}
    assert error(kms.generate_data_key, KeyId=key["KeyId"], NumberOfBytes=1025)["Message"].endswith(
        "Member must have value less than or equal to 1024")


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256", "ECC_SECG_P256K1"])
def test_generate_data_key_pair(kms: Any, key: dict[str, Any], spec: str) -> None:
    out = kms.generate_data_key_pair(KeyId=key["KeyId"], KeyPairSpec=spec, EncryptionContext={"k": "v"})
    private = serialization.load_der_private_key(out["PrivateKeyPlaintext"], password=None)
    public = serialization.load_der_public_key(out["PublicKey"])
    assert private.public_key().public_bytes(serialization.Encoding.DER,  # type: ignore[union-attr]
                                             serialization.PublicFormat.SubjectPublicKeyInfo) == out["PublicKey"]
    assert isinstance(public, rsa.RSAPublicKey if spec.startswith("RSA") else ec.EllipticCurvePublicKey)
    assert (out["KeyId"], out["KeyPairSpec"]) == (key["Arn"], spec)
    sealed = kms.decrypt(CiphertextBlob=out["PrivateKeyCiphertextBlob"], EncryptionContext={"k": "v"})
    assert sealed["Plaintext"] == out["PrivateKeyPlaintext"]
    bare = kms.generate_data_key_pair_without_plaintext(KeyId=key["KeyId"], KeyPairSpec=spec)
    assert "PrivateKeyPlaintext" not in bare
    serialization.load_der_private_key(kms.decrypt(CiphertextBlob=bare["PrivateKeyCiphertextBlob"])["Plaintext"],
                                       password=None)


def test_re_encrypt_between_keys_and_contexts(kms: Any, key: dict[str, Any]) -> None:
    target = kms.create_key()["KeyMetadata"]
    blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"moving", EncryptionContext={"from": "a"})["CiphertextBlob"]
    assert error(kms.re_encrypt, CiphertextBlob=blob, DestinationKeyId=target["KeyId"])["Code"] == (
        "InvalidCiphertextException")
    out = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext={"from": "a"}, DestinationKeyId=target["Arn"],
                         DestinationEncryptionContext={"to": "b"})
    assert (out["SourceKeyId"], out["KeyId"]) == (key["Arn"], target["Arn"])
    assert out["SourceEncryptionAlgorithm"] == out["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    back = kms.decrypt(CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"to": "b"})
    assert (back["Plaintext"], back["KeyId"]) == (b"moving", target["Arn"])
    assert error(kms.decrypt, CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"from": "a"})["Code"] == (
        "InvalidCiphertextException")


def test_generate_random(kms: Any) -> None:
    assert len(kms.generate_random(NumberOfBytes=1024)["Plaintext"]) == 1024
    assert kms.generate_random(NumberOfBytes=32)["Plaintext"] != kms.generate_random(NumberOfBytes=32)["Plaintext"]
    assert error(kms.generate_random) == {"Code": "ValidationException", "Message": "NumberOfBytes is required."}


def test_dry_run(kms: Any, key: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as err:
        kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x", DryRun=True)
    assert err.value.response["Error"]["Code"] == "DryRunOperationException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412


# -- signatures ------------------------------------------------------------------------------------
def _independent_verify(public: Any, algorithm: str, message: bytes, signature: bytes, digest: bool) -> None:
    chosen = HASHES[algorithm.rsplit("_", 1)[-1]]()
    hash_arg = Prehashed(chosen) if digest else chosen
    if algorithm.startswith("ECDSA"):
        public.verify(signature, message, ec.ECDSA(hash_arg))
    elif algorithm.startswith("RSASSA_PSS"):
        public.verify(signature, message, padding.PSS(mgf=padding.MGF1(chosen), salt_length=chosen.digest_size),
                      hash_arg)
    else:
        public.verify(signature, message, padding.PKCS1v15(), hash_arg)


@pytest.mark.parametrize("algorithm", ["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512",
                                       "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
                                       "RSASSA_PKCS1_V1_5_SHA_512"])
@pytest.mark.parametrize("message_type", ["RAW", "DIGEST"])
def test_rsa_signatures_verify_independently(kms: Any, rsa_sign_key: dict[str, Any], algorithm: str,
                                             message_type: str) -> None:
    message = b"release 1.2.3"
    if message_type == "DIGEST":
        message = hashlib.new("sha" + algorithm[-3:], message).digest()
    out = kms.sign(KeyId=rsa_sign_key["KeyId"], Message=message, MessageType=message_type, SigningAlgorithm=algorithm)
    assert (out["KeyId"], out["SigningAlgorithm"]) == (rsa_sign_key["Arn"], algorithm)
    _independent_verify(public_key(kms, rsa_sign_key["KeyId"]), algorithm, message, out["Signature"],
                        message_type == "DIGEST")
    verified = kms.verify(KeyId=rsa_sign_key["KeyId"], Message=message, MessageType=message_type,
                          Signature=out["Signature"], SigningAlgorithm=algorithm)
    assert verified["SignatureValid"] is True


@pytest.mark.parametrize("spec, algorithm, curve", [
    ("ECC_NIST_P256", "ECDSA_SHA_256", ec.SECP256R1), ("ECC_NIST_P384", "ECDSA_SHA_384", ec.SECP384R1),
    ("ECC_NIST_P521", "ECDSA_SHA_512", ec.SECP521R1), ("ECC_SECG_P256K1", "ECDSA_SHA_256", ec.SECP256K1)])
def test_ecdsa_signatures_verify_independently(kms: Any, spec: str, algorithm: str, curve: type) -> None:
    signer = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    public = public_key(kms, signer["KeyId"])
    assert isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, curve)
    for message_type, message in (("RAW", b"hello"), ("DIGEST", hashlib.new("sha" + algorithm[-3:], b"hi").digest())):
        signature = kms.sign(KeyId=signer["KeyId"], Message=message, MessageType=message_type,
                             SigningAlgorithm=algorithm)["Signature"]
        _independent_verify(public, algorithm, message, signature, message_type == "DIGEST")
    assert error(kms.sign, KeyId=signer["KeyId"], Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256") == {
        "Code": "InvalidKeyUsageException",
        "Message": f"Algorithm RSASSA_PSS_SHA_256 is incompatible with key spec {spec}."}


def test_bad_signatures_and_digests(kms: Any, rsa_sign_key: dict[str, Any]) -> None:
    key_id, algorithm = rsa_sign_key["KeyId"], "RSASSA_PSS_SHA_256"
    signature = kms.sign(KeyId=key_id, Message=b"original", SigningAlgorithm=algorithm)["Signature"]
    assert error(kms.verify, KeyId=key_id, Message=b"forged", Signature=signature, SigningAlgorithm=algorithm) == {
        "Code": "KMSInvalidSignatureException", "Message": ""}
    with pytest.raises(InvalidSignature):
        _independent_verify(public_key(kms, key_id), algorithm, b"forged", signature, False)
    assert error(kms.sign, KeyId=key_id, Message=b"short", MessageType="DIGEST", SigningAlgorithm=algorithm) == {
        "Code": "ValidationException", "Message": "Digest is invalid length for algorithm RSASSA_PSS_SHA_256."}


def test_get_public_key(kms: Any, rsa_sign_key: dict[str, Any], key: dict[str, Any]) -> None:
    out = kms.get_public_key(KeyId=rsa_sign_key["Arn"])
    assert isinstance(serialization.load_der_public_key(out["PublicKey"]), rsa.RSAPublicKey)
    assert (out["KeyId"], out["KeySpec"], out["KeyUsage"]) == (rsa_sign_key["Arn"], "RSA_2048", "SIGN_VERIFY")
    assert "RSASSA_PSS_SHA_256" in out["SigningAlgorithms"] and "EncryptionAlgorithms" not in out
    assert error(kms.get_public_key, KeyId=key["KeyId"])["Code"] == "UnsupportedOperationException"


# -- RSA encryption --------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm, limit, digest", [("RSAES_OAEP_SHA_1", 214, hashes.SHA1),
                                                      ("RSAES_OAEP_SHA_256", 190, hashes.SHA256)])
def test_rsa_oaep(kms: Any, rsa_encrypt_key: dict[str, Any], algorithm: str, limit: int, digest: type) -> None:
    key_id = rsa_encrypt_key["KeyId"]
    out = kms.encrypt(KeyId=key_id, Plaintext=bytes(limit), EncryptionAlgorithm=algorithm)
    assert len(out["CiphertextBlob"]) == 256 and out["EncryptionAlgorithm"] == algorithm
    assert kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=key_id,
                       EncryptionAlgorithm=algorithm)["Plaintext"] == bytes(limit)
    # encrypted independently with the public key, decrypted by KMS: real OAEP with the named hash
    oaep = padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)
    outside = public_key(kms, key_id).encrypt(b"from outside", oaep)
    assert kms.decrypt(CiphertextBlob=outside, KeyId=key_id, EncryptionAlgorithm=algorithm)["Plaintext"] == (
        b"from outside")
    assert error(kms.encrypt, KeyId=key_id, Plaintext=bytes(limit + 1), EncryptionAlgorithm=algorithm) == {
        "Code": "ValidationException",
        "Message": f"Algorithm {algorithm} and key spec RSA_2048 cannot encrypt data larger than {limit} bytes."}
    other = "RSAES_OAEP_SHA_256" if algorithm == "RSAES_OAEP_SHA_1" else "RSAES_OAEP_SHA_1"
    assert error(kms.decrypt, CiphertextBlob=outside, KeyId=key_id, EncryptionAlgorithm=other)["Code"] == (
        "InvalidCiphertextException")


def test_rsa_and_symmetric_algorithms_do_not_mix(kms: Any, rsa_encrypt_key: dict[str, Any],
                                                 key: dict[str, Any]) -> None:
    assert error(kms.encrypt, KeyId=rsa_encrypt_key["KeyId"], Plaintext=b"x") == {
        "Code": "InvalidKeyUsageException",
        "Message": "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."}
    assert error(kms.encrypt, KeyId=key["KeyId"], Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_1")[
        "Code"] == "InvalidKeyUsageException"
    assert error(kms.generate_data_key, KeyId=rsa_encrypt_key["KeyId"], KeySpec="AES_256")["Code"] == (
        "InvalidKeyUsageException")


# -- HMAC ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, size", [("HMAC_224", 28), ("HMAC_256", 32), ("HMAC_384", 48), ("HMAC_512", 64)])
def test_mac_matches_an_independent_hmac(kms: Any, spec: str, size: int) -> None:
    material = os.urandom(size)
    mac_key = kms.create_key(KeySpec=spec, KeyUsage="GENERATE_VERIFY_MAC", Tags=[
        {"TagKey": "miniaws:key-material", "TagValue": base64.b64encode(material).decode()}])["KeyMetadata"]
    algorithm = "HMAC_SHA_" + spec[-3:]
    out = kms.generate_mac(KeyId=mac_key["KeyId"], Message=b"webhook body", MacAlgorithm=algorithm)
    assert out["Mac"] == hmac.new(material, b"webhook body", "sha" + spec[-3:]).digest()
    assert kms.verify_mac(KeyId=mac_key["KeyId"], Message=b"webhook body", MacAlgorithm=algorithm,
                          Mac=out["Mac"])["MacValid"] is True
    assert error(kms.verify_mac, KeyId=mac_key["KeyId"], Message=b"tampered", MacAlgorithm=algorithm,
                 Mac=out["Mac"]) == {"Code": "KMSInvalidMacException", "Message": ""}
    wrong = "HMAC_SHA_512" if spec != "HMAC_512" else "HMAC_SHA_256"
    assert error(kms.generate_mac, KeyId=mac_key["KeyId"], Message=b"m", MacAlgorithm=wrong) == {
        "Code": "InvalidKeyUsageException", "Message": f"Algorithm {wrong} is incompatible with key spec {spec}."}
