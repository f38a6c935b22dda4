"""Delivery: a published message to every confirmed subscription whose filter policy passes it.

SQS is a method call on the SQS service, made before Publish answers (so the message is in the queue, durably,
when the publisher hears back). HTTP/S endpoints get a POST from a background task over one shared client
session, retried by the delivery policy; each POST still owed is journaled with its attempt count and next attempt
time (before Publish answers), so a restart — even after a crash — resumes its retries instead of losing them.
Email, email-json and SMS land in the outbox. Lambda goes through the FunctionInvoker hook. A delivery that fails
for good goes to the subscription's dead-letter queue (RedrivePolicy), if it has one
(https://docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html).
"""
from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import aiohttp

from miniaws.core.errors import AwsError
from miniaws.core.ids import hex_id, request_id
from miniaws.core.timestamps import iso8601_ms
from miniaws.services.sns.api_common import SnsBase, log
from miniaws.services.sns.attributes import DEFAULT_CONTENT_TYPE, DEFAULT_RETRY, RetryPolicy
from miniaws.services.sns.messages import (Published, confirmation, http_headers, lambda_event, notification_text,
                                           render, sqs_attributes)
from miniaws.services.sns.models import PendingPost, Subscription, Topic

#: "Amazon SNS ... waits up to 15 seconds for a response" from an HTTP/S endpoint before it counts as failed
HTTP_TIMEOUT_SECONDS = 15.0
_EMAIL_SENDER = "no-reply@sns.amazonaws.com"
_EMAIL_FOOTER = ("\n\n--\nIf you wish to stop receiving notifications from this topic, please click or visit the "
                 "link below to unsubscribe:\n{url}\n\nPlease do not reply directly to this email.")


class Delivery(SnsBase):
    async def start(self) -> None:
        await super().start()
        # the posts a previous run still owed (it stopped or crashed while they were pending or retrying)
        for post in list(self.store.posts.values()):
            self.spawn(self._post(post))

    def fan_out(self, published: Published) -> None:
        """Deliver to each confirmed subscription of the topic, oldest first (a FIFO topic's order)."""
        for subscription in list(published.topic.subscriptions.values()):
            if subscription.pending:
                continue
            text = published.text_for(subscription.protocol)
            policy = subscription.policy
            if policy is not None and not policy.matches(published.filter_input, text):
                continue
            try:
                self.deliver(subscription, published, text)
            except Exception:  # one subscriber's failure must not stop the others
                log.exception("delivery of %s to %s failed", published.message_id, subscription.arn)

    def deliver(self, subscription: Subscription, published: Published, text: str) -> None:
        protocol = subscription.protocol
        if protocol == "sqs":
            self._to_queue(subscription, published, text)
        elif protocol in ("http", "https"):
            body = text if subscription.raw else notification_text(published, text, subscription, self.signer(),
                                                                   self.urls())
            headers = http_headers("Notification", published.message_id, published.topic.arn, subscription.arn,
                                   subscription.raw, self._content_type(published.topic, subscription))
            self.post(subscription.arn, subscription.endpoint, body, headers,
                      self._retry_policy(published.topic, subscription), notify=True)
        elif protocol in ("email", "email-json", "sms"):
            self._to_outbox(subscription, published, text)
        elif protocol == "lambda":
            self._to_function(subscription, published, text)

    # -- SQS ------------------------------------------------------------------------------------
    def _to_queue(self, subscription: Subscription, published: Published, text: str) -> None:
        if subscription.raw:
            body, attributes = text, sqs_attributes(published.attributes) or None
        else:
            body = notification_text(published, text, subscription, self.signer(), self.urls())
            attributes = None
        group, dedup = self._fifo_ids(published, body)
        try:
            if self.sqs is None:
                raise _DeliveryFailed("SQS is not available")
            self.sqs.send_to_queue(subscription.endpoint, body, attributes=attributes, group_id=group,
                                   dedup_id=dedup)
        except (AwsError, _DeliveryFailed) as err:
            # a missing queue, or one that refuses the message, is a client-side error: no retries, straight to
            # the dead-letter queue (Developer Guide, "Why do message deliveries fail?")
            self.dead_letter(subscription, published, body, attributes, _code(err), str(err))

    @staticmethod
    def _fifo_ids(published: Published, body: str) -> tuple[str | None, str | None]:
        """MessageGroupId and MessageDeduplicationId for the queue: a FIFO topic passes both on; a standard topic
        passes a MessageGroupId on to SQS standard queues (fair queues) and nothing else."""
        if published.seq is None:
            return published.group_id, None
        return published.group_id, published.dedup_id or hashlib.sha256(body.encode()).hexdigest()

    # -- HTTP/S ---------------------------------------------------------------------------------
    @staticmethod
    def _retry_policy(topic: Topic, subscription: Subscription) -> RetryPolicy:
        if subscription.retry is not None and topic.subscription_overrides:
            return subscription.retry
        return topic.retry or DEFAULT_RETRY

    @staticmethod
    def _content_type(topic: Topic, subscription: Subscription) -> str:
        if subscription.content_type and topic.subscription_overrides:
            return subscription.content_type
        return topic.content_type or DEFAULT_CONTENT_TYPE

    def post(self, subscription_arn: str, url: str, body: str, headers: dict[str, str], retry: RetryPolicy,
             notify: bool) -> None:
        """POST in the background, retried by `retry`; journaled first, so the request that caused it (Publish,
        Subscribe) is answered only once the post is owed durably."""
        post = PendingPost(hex_id(), subscription_arn, url, body, headers, retry.delays(), notify,
                           next_at=self.clock.now())
        self.store.save_post(post)
        self.spawn(self._post(post))

    async def _post(self, post: PendingPost) -> None:
        """Attempt until the endpoint accepts; a notification never accepted goes to the dead-letter queue."""
        delays = post.delays
        remaining = post.next_at - self.clock.now()
        if remaining > 0 and post.attempts:
            # resumed after a restart: wait out the rest of the delay (at most the whole of it: a scaled clock
            # starts again from real time)
            await asyncio.sleep(min(remaining, delays[post.attempts - 1]) / self.config.time_scale)
        code, reason = "", ""
        while True:
            if post.notify and post.subscription_arn not in self.store.subscriptions:
                self.store.remove_post(post)
                return  # unsubscribed meanwhile
            try:
                async with self.http_session().post(post.url, data=post.body.encode(), headers=post.headers,
                                                    timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS),
                                                    allow_redirects=False) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
                status, code, reason = 0, "EndpointUnavailable", f"{type(exc).__name__}: {exc}"
            post.attempts += 1
            if 200 <= status < 300:
                self.store.remove_post(post)
                return
            if status:
                code, reason = f"HTTP{status}", f"the endpoint answered HTTP {status}"
                if 400 <= status < 500 and status != 429:
                    break  # a client-side error is not retried
            if post.attempts > len(delays):
                break
            delay = delays[post.attempts - 1]
            post.next_at = self.clock.now() + delay
            self.store.save_post(post)
            await asyncio.sleep(delay / self.config.time_scale)
        log.info("SNS could not deliver to %s for %s: %s", post.url, post.subscription_arn, reason)
        self.store.remove_post(post)
        subscription = self.store.subscriptions.get(post.subscription_arn)
        if post.notify and subscription is not None:
            self.dead_letter(subscription, None, post.body, None, code, reason,
                             message_id=post.headers["x-amz-sns-message-id"])

    def send_confirmation(self, kind: str, topic: Topic, subscription: Subscription, token: str) -> None:
        """Post a SubscriptionConfirmation / UnsubscribeConfirmation to an HTTP/S endpoint, or mail it."""
        message_id = request_id()
        document = confirmation(kind, topic, subscription.arn, message_id, token, iso8601_ms(self.clock.now()),
                                self.signer(), self.urls())
        if subscription.protocol in ("http", "https"):
            headers = http_headers(kind, message_id, topic.arn, subscription.arn, False,
                                   self._content_type(topic, subscription))
            self.post(subscription.arn, subscription.endpoint, render(document), headers,
                      self._retry_policy(topic, subscription), notify=False)
        elif subscription.protocol in ("email", "email-json"):
            body = render(document) if subscription.protocol == "email-json" else (
                f"You have chosen to subscribe to the topic:\n{topic.arn}\n\nTo confirm this subscription, "
                f"click or visit the link below (If this was in error no action is necessary):\n"
                f"{document['SubscribeURL']}")
            self._mail(topic, subscription, kind, message_id, "AWS Notification - Subscription Confirmation", body)
        elif subscription.protocol == "sqs":
            # a queue in another account confirms by reading this message (Developer Guide, "Cross-account")
            if self.sqs is not None:
                try:
                    self.sqs.send_to_queue(subscription.endpoint, render(document))
                except AwsError as err:
                    log.info("confirmation for %s not delivered: %s", subscription.arn, err)

    # -- email / SMS outbox -----------------------------------------------------------------------
    def _to_outbox(self, subscription: Subscription, published: Published, text: str) -> None:
        if subscription.protocol == "email-json":
            body = notification_text(published, text, subscription, self.signer(), self.urls())
        elif subscription.protocol == "email":
            body = text + _EMAIL_FOOTER.format(url=self.urls().unsubscribe_of(subscription))
        else:
            body = text
        self._mail(published.topic, subscription, "Notification", published.message_id,
                   published.subject or "AWS Notification Message", body)

    def _mail(self, topic: Topic, subscription: Subscription, kind: str, message_id: str, subject: str,
              body: str) -> None:
        display = topic.attributes.get("DisplayName") or "AWS Notifications"
        self.outbox.append({
            "MessageId": message_id, "Type": kind, "Protocol": subscription.protocol,
            "TopicArn": topic.arn, "SubscriptionArn": subscription.arn, "Destination": subscription.endpoint,
            "From": f"{display} <{_EMAIL_SENDER}>" if subscription.protocol != "sms" else display,
            "Subject": subject if subscription.protocol != "sms" else None, "Body": body,
            "Timestamp": iso8601_ms(self.clock.now()),
        })

    # -- Lambda ---------------------------------------------------------------------------------
    def _to_function(self, subscription: Subscription, published: Published, text: str) -> None:
        payload = lambda_event(published, text, subscription, self.signer(), self.urls())
        try:
            if self.functions is None:
                raise _DeliveryFailed("no function runtime is wired to SNS")
            self.functions.queue_event(subscription.endpoint, payload)
        except (AwsError, LookupError, _DeliveryFailed) as err:
            self.dead_letter(subscription, published, payload.decode(), None, _code(err), str(err))

    # -- dead letters ---------------------------------------------------------------------------
    def dead_letter(self, subscription: Subscription, published: Published | None, body: str,
                    attributes: dict[str, Any] | None, code: str, reason: str,
                    message_id: str | None = None) -> None:
        """Send an undeliverable message to the subscription's dead-letter queue, or drop it (logged)."""
        target = subscription.dead_letter_arn
        if target is None or self.sqs is None:
            log.info("SNS dropped a message for %s: %s %s", subscription.arn, code, reason)
            return
        # the error travels as message attributes beside the message as it would have been delivered
        extra = {"ErrorCode": {"DataType": "String", "StringValue": code or "DeliveryFailed"},
                 "ErrorMessage": {"DataType": "String", "StringValue": (reason or "delivery failed")[:1000]},
                 "RequestID": {"DataType": "String", "StringValue": message_id or
                               (published.message_id if published else request_id())}}
        merged = {**(attributes or {}), **extra}
        if len(merged) > 10:  # SQS takes at most ten message attributes
            merged = extra
        group, dedup = (None, None)
        if published is not None:
            group, dedup = self._fifo_ids(published, body)
        elif target.endswith(".fifo"):
            group, dedup = subscription.arn, hashlib.sha256(body.encode()).hexdigest()
        try:
            self.sqs.send_to_queue(target, body, attributes=merged, group_id=group, dedup_id=dedup)
        except AwsError as err:
            log.warning("SNS dead-letter queue %s of %s refused a message: %s", target, subscription.arn, err)


class _DeliveryFailed(Exception):
    pass


def _code(err: Exception) -> str:
    if isinstance(err, AwsError):
        return str(getattr(err, "query_code", "") or err.error_code)
    return "DeliveryFailed"
