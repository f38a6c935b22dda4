"""KMS key rotation: Enable/DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations.

Rotation adds a material version and keeps every earlier one, so old ciphertexts (which name their version)
still decrypt. Automatic rotation happens lazily when the clock passes NextRotationDate (see models.tick).
"""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.kms import algorithms
from miniaws.services.kms.api_common import KmsBase, paginate
from miniaws.services.kms.errors import LimitExceededException, UnsupportedOperationException
from miniaws.services.kms.models import DAY, Key

DEFAULT_ROTATION_DAYS = 365
#: https://docs.aws.amazon.com/kms/latest/developerguide/rotating-keys-on-demand.html (not adjustable)
MAX_ON_DEMAND_ROTATIONS = 25


def _rotatable(key: Key, operation_name: str) -> None:
    # only symmetric encryption keys rotate (https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html)
    if not algorithms.is_symmetric(key.spec):
        raise UnsupportedOperationException(f"{key.arn} key spec {key.spec} is not valid for {operation_name}: "
                                            "only symmetric encryption keys rotate.")


class RotationOperations(KmsBase):
    @operation("EnableKeyRotation")
    def enable_key_rotation(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html"""
        key = self.key(ctx, params["KeyId"], aliases=False)
        self.check_usable(key)
        _rotatable(key, "EnableKeyRotation")
        period = params.get("RotationPeriodInDays") or DEFAULT_ROTATION_DAYS
        if not (key.rotation_enabled and key.rotation_period == period):
            key.rotation_enabled, key.rotation_period = True, period
            key.next_rotation = ctx.clock.now() + period * DAY
            self.store.save(key)
            self.store.refresh_due(self.space(ctx))
        return {}

    @operation("DisableKeyRotation")
    def disable_key_rotation(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.key(ctx, params["KeyId"], aliases=False)
        self.check_usable(key)
        _rotatable(key, "DisableKeyRotation")
        if key.rotation_enabled:
            key.rotation_enabled, key.rotation_period, key.next_rotation = False, None, None
            self.store.save(key)
            self.store.refresh_due(self.space(ctx))
        return {}

    @operation("GetKeyRotationStatus")
    def get_key_rotation_status(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.find_key(ctx.account_id, ctx.region, params["KeyId"], aliases=False, cross_account=True)
        result: dict[str, Any] = {"KeyId": key.arn, "KeyRotationEnabled": key.rotation_enabled}
        if key.rotation_enabled:
            result["RotationPeriodInDays"] = key.rotation_period
            result["NextRotationDate"] = key.next_rotation
        return result

    @operation("RotateKeyOnDemand")
    def rotate_key_on_demand(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Completes at once (AWS reports it in progress for a while); the automatic schedule is unchanged."""
        key = self.key(ctx, params["KeyId"], aliases=False)
        self.check_usable(key)
        _rotatable(key, "RotateKeyOnDemand")
        if key.on_demand_rotations() >= MAX_ON_DEMAND_ROTATIONS:
            raise LimitExceededException(f"{key.arn} has reached the maximum of {MAX_ON_DEMAND_ROTATIONS} "
                                         "on-demand rotations.")
        self.store.rotate(key, ctx.clock.now(), "ON_DEMAND")
        return {"KeyId": key.key_id}

    @operation("ListKeyRotations")
    def list_key_rotations(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.key(ctx, params["KeyId"], aliases=False)
        _rotatable(key, "ListKeyRotations")
        first = 0 if params.get("IncludeKeyMaterial") == "ALL_KEY_MATERIAL" else 1
        versions = key.versions[first:]
        page, extra = paginate(versions, lambda v: [v.number], params, default_limit=100, max_limit=1000)
        current = key.current.number
        rotations = []
        for version in page:
            entry: dict[str, Any] = {"KeyId": key.key_id, "KeyMaterialId": version.material_id,
                                     "KeyMaterialState": "CURRENT" if version.number == current else "NON_CURRENT"}
            if version.rotation_type is not None:
                entry["RotationDate"] = version.created
                entry["RotationType"] = version.rotation_type
            rotations.append(entry)
        return {"Rotations": rotations, **extra}
