"""S3 event notifications: Put/GetBucketNotificationConfiguration. Events are sent by S3Base.notify, the rules are
in notifications.py."""
from __future__ import annotations

from typing import Any

from miniaws.core.context import RequestContext
from miniaws.core.ids import host_id
from miniaws.services.base import operation
from miniaws.services.s3 import notifications
from miniaws.services.s3.api_common import S3Base
from miniaws.services.s3.errors import AwsError, InvalidArgument


class NotificationOperations(S3Base):
    @operation("PutBucketNotificationConfiguration")
    def put_bucket_notification_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutBucketNotificationConfiguration.html"""
        bucket = self.bucket(ctx, params["Bucket"], params)
        configuration = notifications.check_configuration(params.get("NotificationConfiguration"))
        if not params.get("SkipDestinationValidation"):
            # S3 checks each SQS/SNS destination by sending it an s3:TestEvent
            message = notifications.test_event(bucket, ctx.clock.now(), ctx.request_id, host_id())
            for member in ("QueueConfigurations", "TopicConfigurations"):
                arn_member, kind = notifications.KINDS[member]
                for entry in configuration.get(member) or ():
                    try:
                        self.destinations.send(kind, entry[arn_member], message)
                    except (AwsError, LookupError) as exc:
                        raise InvalidArgument("Unable to validate the following destination configurations",
                                              ArgumentName=entry[arn_member],
                                              ArgumentValue=f"Error: {getattr(exc, 'message', exc)}") from None
        if configuration:
            bucket.config["notification"] = configuration
        else:
            bucket.config.pop("notification", None)  # an empty configuration turns notifications off
        self.store.save_bucket(bucket)
        return {}

    @operation("GetBucketNotificationConfiguration")
    def get_bucket_notification_configuration(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        bucket = self.bucket(ctx, params["Bucket"], params)
        return dict(bucket.config.get("notification") or {})
