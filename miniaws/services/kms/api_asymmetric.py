"""KMS asymmetric and HMAC operations: Sign, Verify, GetPublicKey, GenerateMac, VerifyMac, and
GenerateDataKeyPair(+WithoutPlaintext), whose private key comes back sealed under a symmetric key.
"""
from __future__ import annotations

import asyncio
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.kms import algorithms
from miniaws.services.kms.api_common import dry_run, incompatible
from miniaws.services.kms.api_crypto import CryptoOperations
from miniaws.services.kms.errors import (KMSInvalidMacException, KMSInvalidSignatureException,
                                         UnsupportedOperationException, ValidationException)
from miniaws.services.kms.models import Key


class AsymmetricOperations(CryptoOperations):
    def _signing_key(self, ctx: RequestContext, params: dict[str, Any], operation_name: str) -> tuple[Key, bool]:
        key = self.crypto_key(ctx, params["KeyId"], operation_name, algorithms.SIGN_VERIFY)
        algorithm = params["SigningAlgorithm"]
        if algorithm not in algorithms.signing_algorithms(key.spec, key.usage):
            raise incompatible(algorithm, key)
        message_type = params.get("MessageType") or "RAW"
        if message_type == "EXTERNAL_MU":
            raise incompatible(algorithm, key)  # EXTERNAL_MU exists only for ML-DSA keys
        digest = message_type == "DIGEST"
        if digest and len(params["Message"]) != algorithms.signing_hash(algorithm).digest_size:
            raise ValidationException(f"Digest is invalid length for algorithm {algorithm}.")
        return key, digest

    @operation("Sign")
    def sign(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html"""
        key, digest = self._signing_key(ctx, params, "Sign")
        algorithm = params["SigningAlgorithm"]
        signature = algorithms.sign(key.current.private_key(), algorithm, params["Message"], digest)
        dry_run(params)
        return {"KeyId": key.arn, "Signature": signature, "SigningAlgorithm": algorithm}

    @operation("Verify")
    def verify(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key, digest = self._signing_key(ctx, params, "Verify")
        algorithm = params["SigningAlgorithm"]
        valid = algorithms.verify(key.current.private_key(), algorithm, params["Message"], digest,
                                  params["Signature"])
        dry_run(params)
        if not valid:
            # AWS answers an invalid signature with this error (and no message), never SignatureValid=false
            raise KMSInvalidSignatureException()
        return {"KeyId": key.arn, "SignatureValid": True, "SigningAlgorithm": algorithm}

    @operation("GetPublicKey")
    def get_public_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.find_key(ctx.account_id, ctx.region, params["KeyId"], cross_account=True)
        self.check_usable(key)
        if key.spec not in algorithms.RSA_BITS and key.spec not in algorithms.EC_CURVES:
            raise UnsupportedOperationException(f"{key.arn} key spec {key.spec} is not valid for GetPublicKey: "
                                                "only asymmetric keys have a public key.")
        result: dict[str, Any] = {
            "KeyId": key.arn, "PublicKey": algorithms.public_key_der(key.current.private_key()),
            "CustomerMasterKeySpec": key.spec, "KeySpec": key.spec, "KeyUsage": key.usage,
        }
        for member, values in (("EncryptionAlgorithms", algorithms.encryption_algorithms(key.spec, key.usage)),
                               ("SigningAlgorithms", algorithms.signing_algorithms(key.spec, key.usage)),
                               ("KeyAgreementAlgorithms", algorithms.key_agreement_algorithms(key.usage))):
            if values:
                result[member] = values
        return result

    # -- HMAC -----------------------------------------------------------------------------------
    def _mac_key(self, ctx: RequestContext, params: dict[str, Any], operation_name: str) -> Key:
        key = self.crypto_key(ctx, params["KeyId"], operation_name, algorithms.GENERATE_VERIFY_MAC)
        if params["MacAlgorithm"] not in algorithms.mac_algorithms(key.spec):
            raise incompatible(params["MacAlgorithm"], key)
        return key

    @operation("GenerateMac")
    def generate_mac(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self._mac_key(ctx, params, "GenerateMac")
        tag = algorithms.mac(key.current.material, params["MacAlgorithm"], params["Message"])
        dry_run(params)
        return {"Mac": tag, "MacAlgorithm": params["MacAlgorithm"], "KeyId": key.arn}

    @operation("VerifyMac")
    def verify_mac(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self._mac_key(ctx, params, "VerifyMac")
        valid = algorithms.mac_matches(key.current.material, params["MacAlgorithm"], params["Message"],
                                       params["Mac"])
        dry_run(params)
        if not valid:
            raise KMSInvalidMacException()
        return {"KeyId": key.arn, "MacValid": True, "MacAlgorithm": params["MacAlgorithm"]}

    # -- data key pairs -------------------------------------------------------------------------
    async def _data_key_pair(self, ctx: RequestContext, params: dict[str, Any], operation_name: str,
                             with_plaintext: bool) -> dict[str, Any]:
        spec = params["KeyPairSpec"]
        key = self.crypto_key(ctx, params["KeyId"], operation_name, algorithms.ENCRYPT_DECRYPT)
        if not algorithms.is_symmetric(key.spec):
            raise incompatible(algorithms.SYMMETRIC_DEFAULT, key)
        if spec not in algorithms.KEY_PAIR_SPECS:
            raise UnsupportedOperationException(f"KeyPairSpec {spec} is not supported by miniaws.")
        if params.get("Recipient"):
            raise UnsupportedOperationException("Recipient (Nitro Enclaves attestation) is not supported by miniaws.")
        dry_run(params)
        if spec in algorithms.RSA_BITS:
            private, public = await asyncio.to_thread(algorithms.generate_key_pair, spec)
        else:
            private, public = algorithms.generate_key_pair(spec)
        # look the key up again: it may have been disabled or scheduled for deletion during the await
        key = self.crypto_key(ctx, params["KeyId"], operation_name, algorithms.ENCRYPT_DECRYPT)
        blob, version = self.encrypt_with(key, algorithms.SYMMETRIC_DEFAULT, private, params.get("EncryptionContext"))
        assert version is not None
        result: dict[str, Any] = {"PrivateKeyCiphertextBlob": blob, "PublicKey": public, "KeyId": key.arn,
                                  "KeyPairSpec": spec, "KeyMaterialId": version.material_id}
        if with_plaintext:
            result["PrivateKeyPlaintext"] = private
        return result

    @operation("GenerateDataKeyPair")
    async def generate_data_key_pair(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateDataKeyPair.html"""
        return await self._data_key_pair(ctx, params, "GenerateDataKeyPair", True)

    @operation("GenerateDataKeyPairWithoutPlaintext")
    async def generate_data_key_pair_without_plaintext(self, ctx: RequestContext,
                                                       params: dict[str, Any]) -> dict[str, Any]:
        return await self._data_key_pair(ctx, params, "GenerateDataKeyPairWithoutPlaintext", False)
