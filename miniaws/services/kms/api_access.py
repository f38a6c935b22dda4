"""KMS access control, stored and returned (miniaws does not evaluate them): key policies (Get/PutKeyPolicy,
ListKeyPolicies) and grants (CreateGrant, ListGrants, RetireGrant, RevokeGrant, ListRetirableGrants).

A grant token carries its grant id, so RetireGrant can find the grant from the token alone, as in AWS.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.kms import algorithms
from miniaws.services.kms.api_common import KmsBase, dry_run, paginate
from miniaws.services.kms.api_keys import check_policy
from miniaws.services.kms.errors import (InvalidGrantIdException, InvalidGrantTokenException, NotFoundException,
                                         ValidationException)
from miniaws.services.kms.identifiers import partition
from miniaws.services.kms.models import Grant, Key

DEFAULT_POLICY_NAME = "default"
_GRANT_ID = re.compile(r"[0-9a-f]{64}")
_TOKEN_MAGIC = b"miniaws-grant-v1"
_COMMON_GRANT_OPERATIONS = frozenset({"CreateGrant", "RetireGrant", "DescribeKey"})


def grant_operations(key: Key) -> frozenset[str]:
    """The grant operations valid for a key of this type (https://docs.aws.amazon.com/kms/latest/developerguide/
    grants.html#terms-grant-operations)."""
    if key.usage == algorithms.ENCRYPT_DECRYPT and algorithms.is_symmetric(key.spec):
        ops = {"Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
               "ReEncryptTo", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"}
    elif key.usage == algorithms.ENCRYPT_DECRYPT:
        ops = {"Decrypt", "Encrypt", "ReEncryptFrom", "ReEncryptTo", "GetPublicKey"}
    elif key.usage == algorithms.SIGN_VERIFY:
        ops = {"Sign", "Verify", "GetPublicKey"}
    elif key.usage == algorithms.GENERATE_VERIFY_MAC:
        ops = {"GenerateMac", "VerifyMac"}
    else:
        ops = {"DeriveSharedSecret", "GetPublicKey"}
    return _COMMON_GRANT_OPERATIONS | ops


def new_token(grant_id: str) -> str:
    # each CreateGrant returns a fresh token, even when a named grant already existed (API_CreateGrant.html)
    return base64.urlsafe_b64encode(_TOKEN_MAGIC + bytes.fromhex(grant_id) + os.urandom(16)).decode("ascii")


def grant_id_of(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidGrantTokenException("Invalid grant token.") from None
    if not raw.startswith(_TOKEN_MAGIC) or len(raw) != len(_TOKEN_MAGIC) + 48:
        raise InvalidGrantTokenException("Invalid grant token.")
    return raw[len(_TOKEN_MAGIC):len(_TOKEN_MAGIC) + 32].hex()


class AccessOperations(KmsBase):
    # -- key policies ---------------------------------------------------------------------------
    @staticmethod
    def _policy_name(key: Key, params: dict[str, Any]) -> str:
        name = params.get("PolicyName") or DEFAULT_POLICY_NAME
        if name != DEFAULT_POLICY_NAME:
            # every key has exactly one policy, named "default" (API_GetKeyPolicy.html)
            raise NotFoundException(f"Policy {name} does not exist on {key.arn}; the only policy is 'default'.")
        return name

    @operation("GetKeyPolicy")
    def get_key_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.key(ctx, params["KeyId"], aliases=False)
        return {"Policy": key.policy, "PolicyName": self._policy_name(key, params)}

    @operation("PutKeyPolicy")
    def put_key_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.key(ctx, params["KeyId"], aliases=False)
        self._policy_name(key, params)
        check_policy(params["Policy"])
        key.policy = params["Policy"]
        self.store.save(key)
        return {}

    @operation("ListKeyPolicies")
    def list_key_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.key(ctx, params["KeyId"], aliases=False)
        return {"PolicyNames": [DEFAULT_POLICY_NAME], "Truncated": False}

    # -- grants ---------------------------------------------------------------------------------
    @staticmethod
    def _wire(key: Key, grant: Grant) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "KeyId": key.arn, "GrantId": grant.grant_id, "Name": grant.name, "CreationDate": grant.created,
            "GranteePrincipal": grant.grantee, "RetiringPrincipal": grant.retiring,
            "IssuingAccount": f"arn:{partition(key.region)}:iam::{grant.issuing_account}:root",
            "Operations": grant.operations, "Constraints": grant.constraints,
        }
        return {k: v for k, v in entry.items() if v is not None}

    @operation("CreateGrant")
    def create_grant(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateGrant.html"""
        key = self.find_key(ctx.account_id, ctx.region, params["KeyId"], aliases=False, cross_account=True)
        self.check_usable(key)
        grantee = params.get("GranteePrincipal") or params.get("GranteeServicePrincipal")
        if not grantee:
            raise ValidationException("1 validation error detected: Value null at 'granteePrincipal' failed to "
                                      "satisfy constraint: Member must not be null")
        operations = list(dict.fromkeys(params["Operations"]))
        invalid = [op for op in operations if op not in grant_operations(key)]
        if not operations or invalid:
            raise ValidationException(f"Grant operations {invalid or operations} are not valid for a {key.spec} "
                                      f"{key.usage} KMS key.")
        constraints = params.get("Constraints") or None
        if constraints and "EncryptionContextEquals" in constraints and "EncryptionContextSubset" in constraints:
            raise ValidationException("A grant can have EncryptionContextEquals or EncryptionContextSubset, "
                                      "not both.")
        retiring = params.get("RetiringPrincipal") or params.get("RetiringServicePrincipal")
        name = params.get("Name")
        dry_run(params)
        if name is not None:
            # a named grant is idempotent: the same request again returns the existing grant's id
            for grant in key.grants.values():
                if (grant.name, grant.grantee, grant.retiring, grant.operations, grant.constraints) == (
                        name, grantee, retiring, operations, constraints):
                    return {"GrantId": grant.grant_id, "GrantToken": new_token(grant.grant_id)}
        grant = Grant(os.urandom(32).hex(), name, grantee, retiring, operations, constraints, ctx.clock.now(),
                      ctx.account_id)
        key.grants[grant.grant_id] = grant
        self.store.save(key)
        return {"GrantId": grant.grant_id, "GrantToken": new_token(grant.grant_id)}

    @operation("ListGrants")
    def list_grants(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.find_key(ctx.account_id, ctx.region, params["KeyId"], aliases=False, cross_account=True)
        grants = sorted(key.grants.values(), key=lambda g: (g.created, g.grant_id))
        if params.get("GrantId"):
            grants = [g for g in grants if g.grant_id == params["GrantId"]]
        grantee = params.get("GranteePrincipal") or params.get("GranteeServicePrincipal")
        if grantee:
            grants = [g for g in grants if g.grantee == grantee]
        page, extra = paginate(grants, lambda g: [g.created, g.grant_id], params, default_limit=50, max_limit=100)
        return {"Grants": [self._wire(key, g) for g in page], **extra}

    @operation("ListRetirableGrants")
    def list_retirable_grants(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        principal = params.get("RetiringPrincipal") or params.get("RetiringServicePrincipal")
        if not principal:
            raise ValidationException("1 validation error detected: Value null at 'retiringPrincipal' failed to "
                                      "satisfy constraint: Member must not be null")
        found = sorted(((g, k) for k in self.space(ctx).keys.values() for g in k.grants.values()
                        if g.retiring == principal), key=lambda gk: (gk[0].created, gk[0].grant_id))
        page, extra = paginate(found, lambda gk: [gk[0].created, gk[0].grant_id], params, default_limit=50,
                               max_limit=100)
        return {"Grants": [self._wire(k, g) for g, k in page], **extra}

    def _grant(self, key: Key, grant_id: str) -> Grant:
        if not _GRANT_ID.fullmatch(grant_id):
            raise InvalidGrantIdException(f"Invalid grant ID {grant_id}")
        grant = key.grants.get(grant_id)
        if grant is None:
            raise NotFoundException(f"Grant ID {grant_id} not found")
        return grant

    @operation("RetireGrant")
    def retire_grant(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        token, grant_id, key_text = params.get("GrantToken"), params.get("GrantId"), params.get("KeyId")
        if token:
            grant_id = grant_id_of(token)
            owners = [k for k in self.space(ctx).keys.values() if grant_id in k.grants]
            if key_text:
                owners = [self.find_key(ctx.account_id, ctx.region, key_text, aliases=False, cross_account=True)]
            if not owners:
                raise NotFoundException(f"Grant ID {grant_id} not found")
            key = owners[0]
        elif grant_id and key_text:
            key = self.find_key(ctx.account_id, ctx.region, key_text, aliases=False, cross_account=True)
        else:
            raise ValidationException("Specify either GrantToken, or KeyId and GrantId.")
        self._grant(key, grant_id)
        dry_run(params)
        del key.grants[grant_id]
        self.store.save(key)
        return {}

    @operation("RevokeGrant")
    def revoke_grant(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.find_key(ctx.account_id, ctx.region, params["KeyId"], aliases=False, cross_account=True)
        self._grant(key, params["GrantId"])
        dry_run(params)
        del key.grants[params["GrantId"]]
        self.store.save(key)
        return {}
