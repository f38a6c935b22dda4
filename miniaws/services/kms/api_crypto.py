"""KMS encryption: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(+WithoutPlaintext), GenerateRandom, and the
in-process interface other services call (S3 SSE-KMS): generate_data_key, decrypt, check_key, key_arn_of,
aws_managed_key.

Symmetric keys use the self-describing blob of `ciphertext.py`; RSA ENCRYPT_DECRYPT keys use raw RSAES-OAEP
output, which (as in AWS) needs KeyId and EncryptionAlgorithm to decrypt.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.kms import algorithms, ciphertext
from miniaws.services.kms.api_common import KmsBase, check_usage, dry_run, incompatible
from miniaws.services.kms.errors import (IncorrectKeyException, InvalidCiphertextException,
                                         UnsupportedOperationException, ValidationException)
from miniaws.services.kms.identifiers import AWS_ALIAS_PREFIX, is_key_id, key_arn, new_key_id
from miniaws.services.kms.models import Alias, Key, KeyVersion

SYMMETRIC_DEFAULT = algorithms.SYMMETRIC_DEFAULT
DATA_KEY_BYTES = {"AES_256": 32, "AES_128": 16}
#: the description AWS gives the AWS managed key of a service, e.g. aws/s3
MANAGED_KEY_DESCRIPTION = "Default key that protects my {service} resources when no other key is defined"


def _no_recipient(params: dict[str, Any]) -> None:
    if params.get("Recipient"):
        raise UnsupportedOperationException("Recipient (Nitro Enclaves attestation) is not supported by miniaws.")


class CryptoOperations(KmsBase):
    # -- the shared encrypt/decrypt paths -------------------------------------------------------
    def encrypt_with(self, key: Key, algorithm: str, plaintext: bytes,
                     context: Mapping[str, str] | None) -> tuple[bytes, KeyVersion | None]:
        if algorithms.is_symmetric(key.spec):
            if algorithm != SYMMETRIC_DEFAULT:
                raise incompatible(algorithm, key)
            version = key.current
            return ciphertext.seal(version.cipher(), key.key_id, version.number, plaintext, context), version
        if algorithm not in algorithms.RSA_ENCRYPTION or key.spec not in algorithms.RSA_BITS:
            raise incompatible(algorithm, key)
        limit = algorithms.rsa_max_plaintext(key.spec, algorithm)
        if len(plaintext) > limit:
            raise ValidationException(f"Algorithm {algorithm} and key spec {key.spec} cannot encrypt data larger "
                                      f"than {limit} bytes.")
        private = key.current.private_key()
        assert isinstance(private, rsa.RSAPrivateKey)
        return algorithms.rsa_encrypt(private, algorithm, plaintext), None

    def decrypt_with(self, account: str, region: str, blob: bytes, key_text: str | None, algorithm: str,
                     context: Mapping[str, str] | None, operation_name: str) -> tuple[Key, KeyVersion | None, bytes]:
        given = self.find_key(account, region, key_text, cross_account=True) if key_text else None
        if algorithm != SYMMETRIC_DEFAULT:
            if given is None:
                raise ValidationException(f"KeyId is required to decrypt with {algorithm}.")
            self.check_usable(given)
            check_usage(given, operation_name, algorithms.ENCRYPT_DECRYPT)
            if given.spec not in algorithms.RSA_BITS:
                raise incompatible(algorithm, given)
            private = given.current.private_key()
            assert isinstance(private, rsa.RSAPrivateKey)
            try:
                return given, None, algorithms.rsa_decrypt(private, algorithm, blob)
            except ValueError:
                raise InvalidCiphertextException() from None
        try:
            envelope = ciphertext.parse(blob)
        except InvalidCiphertextException:
            if given is not None and not algorithms.is_symmetric(given.spec):
                raise incompatible(algorithm, given) from None
            raise
        if given is not None and given.key_id != envelope.key_id:
            raise IncorrectKeyException()
        if not is_key_id(envelope.key_id):
            raise InvalidCiphertextException()
        key = given or self.find_key(account, region, envelope.key_id)
        self.check_usable(key)
        check_usage(key, operation_name, algorithms.ENCRYPT_DECRYPT)
        # the blob names the material version it was sealed with, so every rotated-out version still decrypts
        version = key.version(envelope.version)
        if version is None:
            raise InvalidCiphertextException()
        return key, version, ciphertext.open_envelope(version.cipher(), envelope, context)

    def _data_key_source(self, ctx: RequestContext, params: dict[str, Any], operation_name: str) -> tuple[Key, int]:
        spec, count = params.get("KeySpec"), params.get("NumberOfBytes")
        if (spec is None) == (count is None):
            raise ValidationException("Please specify either number of bytes or key spec.")
        _no_recipient(params)
        key = self.crypto_key(ctx, params["KeyId"], operation_name, algorithms.ENCRYPT_DECRYPT)
        if not algorithms.is_symmetric(key.spec):
            raise incompatible(SYMMETRIC_DEFAULT, key)
        if spec is not None:
            return key, DATA_KEY_BYTES[spec]
        assert count is not None
        return key, int(count)

    # -- operations -----------------------------------------------------------------------------
    @operation("Encrypt")
    def encrypt(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html"""
        key = self.crypto_key(ctx, params["KeyId"], "Encrypt", algorithms.ENCRYPT_DECRYPT)
        algorithm = params.get("EncryptionAlgorithm") or SYMMETRIC_DEFAULT
        blob, _ = self.encrypt_with(key, algorithm, params["Plaintext"], params.get("EncryptionContext"))
        dry_run(params)
        return {"CiphertextBlob": blob, "KeyId": key.arn, "EncryptionAlgorithm": algorithm}

    @operation("Decrypt")
    def handle_decrypt(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html (`decrypt` is the in-process API)"""
        if params.get("CiphertextBlob") is None:
            raise ValidationException("1 validation error detected: Value null at 'ciphertextBlob' failed to "
                                      "satisfy constraint: Member must not be null")
        _no_recipient(params)
        algorithm = params.get("EncryptionAlgorithm") or SYMMETRIC_DEFAULT
        key, version, plaintext = self.decrypt_with(ctx.account_id, ctx.region, params["CiphertextBlob"],
                                                    params.get("KeyId"), algorithm,
                                                    params.get("EncryptionContext"), "Decrypt")
        dry_run(params)
        result = {"KeyId": key.arn, "Plaintext": plaintext, "EncryptionAlgorithm": algorithm}
        if version is not None:
            result["KeyMaterialId"] = version.material_id
        return result

    @operation("ReEncrypt")
    def re_encrypt(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Decrypt under the source key and context, encrypt under the destination's, in one call."""
        if params.get("CiphertextBlob") is None:
            raise ValidationException("1 validation error detected: Value null at 'ciphertextBlob' failed to "
                                      "satisfy constraint: Member must not be null")
        source_algorithm = params.get("SourceEncryptionAlgorithm") or SYMMETRIC_DEFAULT
        target_algorithm = params.get("DestinationEncryptionAlgorithm") or SYMMETRIC_DEFAULT
        source, source_version, plaintext = self.decrypt_with(
            ctx.account_id, ctx.region, params["CiphertextBlob"], params.get("SourceKeyId"), source_algorithm,
            params.get("SourceEncryptionContext"), "ReEncryptFrom")
        target = self.crypto_key(ctx, params["DestinationKeyId"], "ReEncryptTo", algorithms.ENCRYPT_DECRYPT)
        blob, target_version = self.encrypt_with(target, target_algorithm, plaintext,
                                                 params.get("DestinationEncryptionContext"))
        dry_run(params)
        result = {"CiphertextBlob": blob, "SourceKeyId": source.arn, "KeyId": target.arn,
                  "SourceEncryptionAlgorithm": source_algorithm, "DestinationEncryptionAlgorithm": target_algorithm}
        if source_version is not None:
            result["SourceKeyMaterialId"] = source_version.material_id
        if target_version is not None:
            result["DestinationKeyMaterialId"] = target_version.material_id
        return result

    @operation("GenerateDataKey")
    def handle_generate_data_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKey.html (`generate_data_key` is the
        in-process API)"""
        key, count = self._data_key_source(ctx, params, "GenerateDataKey")
        plaintext = os.urandom(count)
        blob, version = self.encrypt_with(key, SYMMETRIC_DEFAULT, plaintext, params.get("EncryptionContext"))
        dry_run(params)
        assert version is not None
        return {"CiphertextBlob": blob, "Plaintext": plaintext, "KeyId": key.arn, "KeyMaterialId": version.material_id}

    @operation("GenerateDataKeyWithoutPlaintext")
    def generate_data_key_without_plaintext(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key, count = self._data_key_source(ctx, params, "GenerateDataKeyWithoutPlaintext")
        blob, version = self.encrypt_with(key, SYMMETRIC_DEFAULT, os.urandom(count), params.get("EncryptionContext"))
        dry_run(params)
        assert version is not None
        return {"CiphertextBlob": blob, "KeyId": key.arn, "KeyMaterialId": version.material_id}

    @operation("GenerateRandom")
    def generate_random(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        count = params.get("NumberOfBytes")
        if count is None:
            raise ValidationException("NumberOfBytes is required.")
        if params.get("CustomKeyStoreId"):
            raise UnsupportedOperationException("Custom key stores are not supported by miniaws.")
        _no_recipient(params)
        return {"Plaintext": os.urandom(count)}

    # -- in-process interface (S3 server-side encryption) ----------------------------------------
    def generate_data_key(self, account: str, region: str, key_id: str, context: Mapping[str, str] | None = None,
                          number_of_bytes: int = 32) -> tuple[bytes, bytes]:
        """(plaintext data key, ciphertext blob) under `key_id` (any KeyId form), like GenerateDataKey.

        Raises the same errors as the API (NotFoundException, DisabledException, KMSInvalidStateException, ...).
        """
        key = self.find_key(account, region, key_id, cross_account=True)
        self.check_usable(key)
        check_usage(key, "GenerateDataKey", algorithms.ENCRYPT_DECRYPT)
        if not algorithms.is_symmetric(key.spec):
            raise incompatible(SYMMETRIC_DEFAULT, key)
        plaintext = os.urandom(number_of_bytes)
        blob, _ = self.encrypt_with(key, SYMMETRIC_DEFAULT, plaintext, context)
        return plaintext, blob

    def decrypt(self, account: str, region: str, ciphertext_blob: bytes, context: Mapping[str, str] | None = None,
                key_id: str | None = None) -> bytes:
        """The plaintext of a symmetric ciphertext blob, like Decrypt (InvalidCiphertextException on any mismatch)."""
        return self.decrypt_with(account, region, ciphertext_blob, key_id, SYMMETRIC_DEFAULT, context, "Decrypt")[2]

    def check_key(self, account: str, region: str, key_id: str) -> None:
        """Raise what Decrypt would for the key itself (NotFoundException, DisabledException,
        KMSInvalidStateException): S3 asks on every read of an SSE-KMS object whose data key it has unwrapped before."""
        key = self.find_key(account, region, key_id, cross_account=True)
        self.check_usable(key)
        check_usage(key, "Decrypt", algorithms.ENCRYPT_DECRYPT)

    def key_arn_of(self, account: str, region: str, key_id: str) -> str:
        """The key ARN a KeyId (id, ARN, alias name or alias ARN) names; NotFoundException when there is none."""
        return self.find_key(account, region, key_id, cross_account=True).arn

    def aws_managed_key(self, account: str, region: str, service: str) -> str:
        """The ARN of the AWS managed key `alias/aws/<service>` (aws/s3 ...), created the first time it is used."""
        space = self.space_of(account, region)
        name = f"{AWS_ALIAS_PREFIX}{service}"
        alias = space.aliases.get(name)
        if alias is not None and alias.key_id in space.keys:
            return key_arn(region, account, alias.key_id)
        now = self.clock.now()
        key = self.new_key(account, region, SYMMETRIC_DEFAULT, algorithms.ENCRYPT_DECRYPT,
                           algorithms.generate_material(SYMMETRIC_DEFAULT), new_key_id(False), now,
                           description=MANAGED_KEY_DESCRIPTION.format(service=service.upper()), manager="AWS")
        # AWS managed keys rotate every year (https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html)
        key.rotation_enabled, key.rotation_period = True, 365
        key.next_rotation = now + 365 * 86400.0
        self.store.save(key)
        self.store.refresh_due(space)
        self.store.put_alias(space, Alias(name, key.key_id, now, now))
        return key.arn
