"""S3 Object Lock: Put/GetObjectLockConfiguration, Put/GetObjectRetention, Put/GetObjectLegalHold.

What deletes may do to a locked version is in versions.py; the rules for a write's lock headers in lock.py.
"""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.s3 import lock
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.errors import (InvalidBucketState, MalformedXML, NoSuchObjectLockConfiguration,
                                        ObjectLockConfigurationNotFoundError)


class LockOperations(S3Base):
    @operation("PutObjectLockConfiguration")
    def put_object_lock_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectLockConfiguration.html"""
        bucket = self.bucket(ctx, params["Bucket"], params)
        configuration = lock.check_configuration(params.get("ObjectLockConfiguration"))
        if bucket.object_lock is None and bucket.versioning != "Enabled":
            # S3 lets an existing bucket turn Object Lock on, once versioning is enabled
            raise InvalidBucketState("Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                                     "configuration")
        bucket.object_lock = configuration
        self.store.save_bucket(bucket)
        return {}

    @operation("GetObjectLockConfiguration")
    def get_object_lock_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        if bucket.object_lock is None:
            raise ObjectLockConfigurationNotFoundError(BucketName=bucket.name)
        return {"ObjectLockConfiguration": bucket.object_lock}

    @operation("PutObjectRetention")
    def put_object_retention(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObjectRetention.html"""
        bucket, obj = self.read_target(ctx, params)
        lock.require_lock(bucket)
        retention = params.get("Retention") or {}
        mode, until = retention.get("Mode"), retention.get("RetainUntilDate")
        now = ctx.clock.now()
        if (mode is None) != (until is None):
            raise MalformedXML()
        if mode is not None:
            mode, until = lock.check_mode(mode), lock.check_until(until, now)
        bypass = bool(params.get("BypassGovernanceRetention"))
        if bypass:
            self.check_bypass(ctx, bucket, obj.key, params)
        lock.check_retention_change(obj, mode, until, now, bypass)
        obj.lock_mode, obj.lock_until = mode, until
        self.store.save_version(bucket, obj)
        return {}

    @operation("GetObjectRetention")
    def get_object_retention(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket, obj = self.read_target(ctx, params)
        lock.require_lock(bucket)
        if obj.lock_mode is None or obj.lock_until is None:
            raise NoSuchObjectLockConfiguration()
        return {"Retention": {"Mode": obj.lock_mode, "RetainUntilDate": obj.lock_until}}

    @operation("PutObjectLegalHold")
    def put_object_legal_hold(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket, obj = self.read_target(ctx, params)
        lock.require_lock(bucket)
        status = (params.get("LegalHold") or {}).get("Status")
        if status not in lock.HOLD_STATES:
            raise MalformedXML()
        obj.legal_hold = status
        self.store.save_version(bucket, obj)
        return {}

    @operation("GetObjectLegalHold")
    def get_object_legal_hold(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket, obj = self.read_target(ctx, params)
        lock.require_lock(bucket)
        if obj.legal_hold is None:
            raise NoSuchObjectLockConfiguration()
        return {"LegalHold": {"Status": obj.legal_hold}}
