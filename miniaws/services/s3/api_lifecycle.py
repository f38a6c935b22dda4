"""S3 lifecycle: Put/Get/DeleteBucketLifecycleConfiguration, and the background sweep that applies the rules.

The sweep wakes every second but acts only once the injected clock has moved a minute past the last sweep, so a
real clock sweeps once a minute and a test's fake clock, advanced by days, is acted on within a second.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from miniaws.core.context import RequestContext
from miniaws.services.base import operation
from miniaws.services.s3 import lifecycle
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.errors import NoSuchLifecycleConfiguration
from miniaws.services.s3.models import Bucket
from miniaws.services.s3.versions import delete_key

log = logging.getLogger("miniaws.s3")

SWEEP_WAKE_SECONDS = 1.0
SWEEP_EVERY_SECONDS = 60.0


class LifecycleOperations(S3Base):
    _sweeper: asyncio.Task[None] | None = None
    _last_sweep: float = float("-inf")

    @operation("PutBucketLifecycleConfiguration")
    def put_bucket_lifecycle_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketLifecycleConfiguration.html"""
        bucket = self.bucket(ctx, params["Bucket"], params)
        bucket.config["lifecycle"] = lifecycle.check_configuration(params.get("LifecycleConfiguration"))
        self.store.save_bucket(bucket)
        return {"TransitionDefaultMinimumObjectSize": params.get("TransitionDefaultMinimumObjectSize")
                or "all_storage_classes_128K"}

    @operation("GetBucketLifecycleConfiguration")
    def get_bucket_lifecycle_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        rules = bucket.config.get("lifecycle")
        if not rules:
            raise NoSuchLifecycleConfiguration(BucketName=bucket.name)
        return {"Rules": rules, "TransitionDefaultMinimumObjectSize": "all_storage_classes_128K"}

    @operation("DeleteBucketLifecycle")
    def delete_bucket_lifecycle(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        if bucket.config.pop("lifecycle", None) is not None:
            self.store.save_bucket(bucket)
        return {}

    # -- the sweep ------------------------------------------------------------------------------
    async def start(self) -> None:
        await super().start()
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await super().stop()

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_WAKE_SECONDS)
            now = self.clock.now()
            if now - self._last_sweep < SWEEP_EVERY_SECONDS:
                continue
            self._last_sweep = now
            try:
                self.sweep(now)
            except Exception:  # one bad rule must not stop lifecycle for every bucket
                log.exception("lifecycle sweep failed")

    def sweep(self, now: float) -> int:
        """Apply every bucket's lifecycle rules as of `now`; the number of actions taken."""
        done = 0
        for bucket in list(self.store.buckets.values()):
            rules = bucket.config.get("lifecycle")
            if rules:
                for item in lifecycle.due_now(bucket, rules, now):
                    self._expire(bucket, item, now)
                    done += 1
        return done

    def _expire(self, bucket: Bucket, item: lifecycle.Expired, now: float) -> None:
        if item.kind == "upload":
            self.store.remove_upload(bucket, item.target)
            return
        if item.kind == "version":
            self.store.remove_version(bucket, item.target)
            self.notify(None, bucket, "LifecycleExpiration:Delete", item.key, None, item.target.version_id)
            return
        result = delete_key(self.store, bucket, item.key, None, now=now, owner_id=bucket.owner.id,
                            owner_name=bucket.owner.name)
        event = "LifecycleExpiration:DeleteMarkerCreated" if result.delete_marker else "LifecycleExpiration:Delete"
        self.notify(None, bucket, event, item.key, None, result.version_id)
