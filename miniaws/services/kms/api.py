"""The KMS service (TrentService, json-1.1), composed from its resource modules. Other services call it in-process:

    kms.generate_data_key(account, region, key_id, context) -> (plaintext, ciphertext_blob)
    kms.decrypt(account, region, ciphertext_blob, context, key_id=None) -> plaintext
    kms.check_key(account, region, key_id) -> None, or the error Decrypt would raise for the key's state
    kms.key_arn_of(account, region, key_id) -> key ARN;  kms.aws_managed_key(account, region, "s3") -> key ARN
(key_id: key id, key ARN, alias name or alias ARN; errors are the API's: NotFoundException, DisabledException, …)
"""
from __future__ import annotations

from miniaws.services.kms.api_access import AccessOperations
from miniaws.services.kms.api_aliases import AliasOperations
from miniaws.services.kms.api_asymmetric import AsymmetricOperations
from miniaws.services.kms.api_keys import KeyOperations
from miniaws.services.kms.api_rotation import RotationOperations


class KmsService(KeyOperations, AliasOperations, AsymmetricOperations, RotationOperations, AccessOperations):
    """KMS as SDKs see it on the one AWS endpoint, and as S3 sees it in-process."""
