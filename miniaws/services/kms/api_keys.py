"""KMS key lifecycle: CreateKey, DescribeKey, ListKeys, Enable/DisableKey, Schedule/CancelKeyDeletion,
UpdateKeyDescription and tags (TagResource, UntagResource, ListResourceTags).
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.kms import algorithms
from miniaws.services.kms.api_common import KmsBase, paginate
from miniaws.services.kms.errors import (AlreadyExistsException, KMSInvalidStateException, LimitExceededException,
                                         MalformedPolicyDocumentException, TagException,
                                         UnsupportedOperationException, ValidationException)
from miniaws.services.kms.identifiers import is_key_id, key_arn, new_key_id
from miniaws.services.kms.models import DAY, DISABLED, ENABLED, PENDING_DELETION
from miniaws.services.kms.seed import TAG_KEY_ID, TAG_KEY_MATERIAL, SeedError, decode_material
from miniaws.services.kms.validation import validation_error

#: https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html#tags-per-key
MAX_TAGS = 50


def check_policy(policy: str) -> None:
    try:
        document = json.loads(policy)
    except ValueError:
        raise MalformedPolicyDocumentException("The key policy is not valid JSON.") from None
    if not isinstance(document, dict) or "Statement" not in document:
        raise MalformedPolicyDocumentException("The key policy must be a JSON object with a Statement.")


def tag_dict(tags: list[dict[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for tag in tags:
        name = tag["TagKey"]
        # https://docs.aws.amazon.com/kms/latest/developerguide/tagging-keys.html: the aws: prefix is reserved
        if name.lower().startswith("aws:"):
            raise TagException("Tags beginning with aws: are reserved.")
        if name in out:
            raise TagException(f"Duplicate tag key {name}")
        out[name] = tag.get("TagValue", "")
    return out


class KeyOperations(KmsBase):
    @operation("CreateKey")
    async def create_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html"""
        spec, legacy = params.get("KeySpec"), params.get("CustomerMasterKeySpec")
        if spec and legacy:
            raise ValidationException("You cannot specify KeySpec and CustomerMasterKeySpec in the same request. "
                                      "CustomerMasterKeySpec is deprecated.")
        spec = spec or legacy or algorithms.SYMMETRIC_DEFAULT
        usage = params.get("KeyUsage")
        if usage is None:
            if not algorithms.is_symmetric(spec):
                raise ValidationException("You must specify a KeyUsage value for all KMS keys except for "
                                          "symmetric encryption keys.")
            usage = algorithms.ENCRYPT_DECRYPT
        if spec not in algorithms.KEY_USAGES:
            raise UnsupportedOperationException(f"KeySpec {spec} is not supported by miniaws.")
        if usage not in algorithms.KEY_USAGES[spec]:
            raise ValidationException(f"KeyUsage {usage} is not compatible with KeySpec {spec}")
        origin = params.get("Origin") or "AWS_KMS"
        if origin != "AWS_KMS" or params.get("CustomKeyStoreId") or params.get("XksKeyId"):
            raise UnsupportedOperationException(f"Origin {origin} and custom key stores are not supported by "
                                                "miniaws; only AWS_KMS keys are.")
        multi_region = bool(params.get("MultiRegion"))
        policy = params.get("Policy")
        if policy is not None:
            check_policy(policy)
        tags = tag_dict(params.get("Tags") or [])
        chosen_id = tags.pop(TAG_KEY_ID, None)
        material_text = tags.pop(TAG_KEY_MATERIAL, None)
        if len(tags) > MAX_TAGS:
            raise LimitExceededException(f"A KMS key can have at most {MAX_TAGS} tags.")
        key_id = chosen_id or new_key_id(multi_region)
        if chosen_id is not None:
            self._check_chosen_id(ctx, chosen_id, multi_region)
        if material_text is not None:
            try:
                material = decode_material(spec, material_text, f"tag {TAG_KEY_MATERIAL}")
            except SeedError as exc:
                raise ValidationException(str(exc)) from None
        elif spec in algorithms.RSA_BITS:
            # RSA key generation takes up to seconds: off the loop (no model state is touched meanwhile)
            material = await asyncio.to_thread(algorithms.generate_material, spec)
        else:
            material = algorithms.generate_material(spec)
        if chosen_id is not None:
            self._check_chosen_id(ctx, chosen_id, multi_region)  # again: another request may have won the race
        key = self.new_key(ctx.account_id, ctx.region, spec, usage, material, key_id, ctx.clock.now(),
                           description=params.get("Description") or "", policy=policy, tags=tags,
                           multi_region=multi_region)
        return {"KeyMetadata": self.metadata(key)}

    def _check_chosen_id(self, ctx: RequestContext, key_id: str, multi_region: bool) -> None:
        if not is_key_id(key_id) or key_id.startswith("mrk-") != multi_region:
            raise ValidationException(f"Tag {TAG_KEY_ID} must be a key id: a UUID, or mrk-<32 hex digits> for a "
                                      f"multi-Region key; got '{key_id}'")
        if key_id in self.space(ctx).keys:
            raise AlreadyExistsException(f"Key '{key_arn(ctx.region, ctx.account_id, key_id)}' already exists")

    @operation("DescribeKey")
    def describe_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"KeyMetadata": self.metadata(self.find_key(ctx.account_id, ctx.region, params["KeyId"],
                                                           cross_account=True))}

    @operation("ListKeys")
    def list_keys(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        keys = sorted(self.space(ctx).keys.values(), key=lambda k: (k.created, k.key_id))
        page, extra = paginate(keys, lambda k: [k.created, k.key_id], params, default_limit=100, max_limit=1000)
        return {"Keys": [{"KeyId": k.key_id, "KeyArn": k.arn} for k in page], **extra}

    @operation("EnableKey")
    def enable_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.key(ctx, params["KeyId"], aliases=False)
        self.check_not_pending_deletion(key)
        if key.state != ENABLED:
            key.state = ENABLED
            self.store.save(key)
            self.store.refresh_due(self.space(ctx))
        return {}

    @operation("DisableKey")
    def disable_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.key(ctx, params["KeyId"], aliases=False)
        self.check_not_pending_deletion(key)
        if key.state != DISABLED:
            key.state = DISABLED
            self.store.save(key)
            self.store.refresh_due(self.space(ctx))
        return {}

    @operation("ScheduleKeyDeletion")
    def schedule_key_deletion(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Deletion happens when the clock passes DeletionDate (checked whenever the region's keys are used)."""
        days = params.get("PendingWindowInDays", 30)
        # the model allows 1-365; KMS itself accepts 7-30 days
        if days < 7:
            raise validation_error(days, "pendingWindowInDays", "Member must have value greater than or equal to 7")
        if days > 30:
            raise validation_error(days, "pendingWindowInDays", "Member must have value less than or equal to 30")
        key = self.key(ctx, params["KeyId"], aliases=False)
        self.check_not_pending_deletion(key)
        key.state = PENDING_DELETION
        key.deletion_date = ctx.clock.now() + days * DAY
        key.pending_window = days
        self.store.save(key)
        self.store.refresh_due(self.space(ctx))
        return {"KeyId": key.arn, "DeletionDate": key.deletion_date, "KeyState": key.state,
                "PendingWindowInDays": days}

    @operation("CancelKeyDeletion")
    def cancel_key_deletion(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.key(ctx, params["KeyId"], aliases=False)
        if key.state != PENDING_DELETION:
            raise KMSInvalidStateException(f"{key.arn} is not pending deletion.")
        # a key whose deletion is cancelled comes back disabled, not enabled
        key.state = DISABLED
        key.deletion_date = key.pending_window = None
        self.store.save(key)
        self.store.refresh_due(self.space(ctx))
        return {"KeyId": key.arn}

    @operation("UpdateKeyDescription")
    def update_key_description(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.key(ctx, params["KeyId"], aliases=False)
        self.check_not_pending_deletion(key)
        key.description = params["Description"]
        self.store.save(key)
        return {}

    # -- tags -----------------------------------------------------------------------------------
    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.key(ctx, params["KeyId"], aliases=False)
        self.check_not_pending_deletion(key)
        merged = {**key.tags, **tag_dict(params["Tags"])}
        if len(merged) > MAX_TAGS:
            raise LimitExceededException(f"A KMS key can have at most {MAX_TAGS} tags.")
        key.tags = merged
        self.store.save(key)
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.key(ctx, params["KeyId"], aliases=False)
        self.check_not_pending_deletion(key)
        for name in params["TagKeys"]:
            key.tags.pop(name, None)
        self.store.save(key)
        return {}

    @operation("ListResourceTags")
    def list_resource_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.key(ctx, params["KeyId"], aliases=False)
        tags = sorted(key.tags.items())
        page, extra = paginate(tags, lambda t: [t[0]], params, default_limit=50, max_limit=50)
        return {"Tags": [{"TagKey": k, "TagValue": v} for k, v in page], **extra}
