"""STS: who am I (GetCallerIdentity, which SDKs and the AWS CLI call) and temporary credentials."""
from __future__ import annotations

import base64
import os
from typing import Any

from miniaws.config import Config
from miniaws.core.context import RequestContext
from miniaws.core.timestamps import iso8601_ms
from miniaws.services.base import Service, operation
from miniaws.services.sts._spec import SPEC
from miniaws.services.sts.errors import ValidationError

_TEMPORARY_KEY_PREFIX = "ASIA"


def _random_key(prefix: str) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return prefix + "".join(alphabet[b % 32] for b in os.urandom(16))


class StsService(Service):
    name = "sts"
    protocol = "query"
    spec = SPEC

    def __init__(self, config: Config) -> None:
        self.config = config

    @operation("GetCallerIdentity")
    def get_caller_identity(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"""
        key = ctx.principal.access_key
        if key is None:
            arn, user_id = f"arn:aws:iam::{ctx.account_id}:root", ctx.account_id
        else:
            # each access key is its own IAM user principal, named after the key
            arn, user_id = f"arn:aws:iam::{ctx.account_id}:user/{key}", "AIDA" + ctx.principal.canonical_id[:17].upper()
        return {"UserId": user_id, "Account": ctx.account_id, "Arn": arn}

    @operation("AssumeRole")
    def assume_role(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        role_arn = params.get("RoleArn") or ""
        session = params.get("RoleSessionName") or ""
        duration = params.get("DurationSeconds") or 3600
        if not 900 <= duration <= 43200:
            raise ValidationError(f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
                                  "satisfy constraint: Member must have value less than or equal to 43200")
        if not 2 <= len(session) <= 64:
            raise ValidationError("1 validation error detected: Value at 'roleSessionName' failed to satisfy "
                                  "constraint: Member must have length between 2 and 64")
        parts = role_arn.split(":")
        if len(parts) < 6 or not parts[5].startswith("role/"):
            raise ValidationError(f"{role_arn} is invalid")
        account, role_name = parts[4], parts[5].split("/")[-1]
        role_id = "AROA" + _random_key("")[:17]
        return {
            "Credentials": self._credentials(ctx, duration),
            "AssumedRoleUser": {"AssumedRoleId": f"{role_id}:{session}",
                                "Arn": f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}"},
            "PackedPolicySize": 0,
        }

    @operation("GetSessionToken")
    def get_session_token(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        duration = params.get("DurationSeconds") or 43200
        if not 900 <= duration <= 129600:
            raise ValidationError(f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
                                  "satisfy constraint: Member must have value less than or equal to 129600")
        return {"Credentials": self._credentials(ctx, duration)}

    @staticmethod
    def _credentials(ctx: RequestContext, duration: int) -> dict[str, Any]:
        return {
            "AccessKeyId": _random_key(_TEMPORARY_KEY_PREFIX),
            "SecretAccessKey": base64.b64encode(os.urandom(30)).decode(),
            "SessionToken": base64.b64encode(os.urandom(96)).decode(),
            "Expiration": iso8601_ms(ctx.clock.now() + duration),
        }
