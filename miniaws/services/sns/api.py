"""The SNS service: topic, subscription and publish operations composed into one Service (split by resource), plus
its endpoints under /_miniaws/sns/:

    GET    SimpleNotificationService-<id>.pem     the certificate messages are signed with (SigningCertURL)
    GET    confirm?TopicArn=…&Token=…             a subscription's SubscribeURL (answers like ConfirmSubscription)
    GET    unsubscribe?SubscriptionArn=…          a message's UnsubscribeURL (answers like Unsubscribe)
    GET    outbox[?Destination=…&TopicArn=…]      email, email-json and SMS deliveries, oldest first
    DELETE outbox[?Destination=…]                 empty the outbox
    GET    deliveries                             HTTP/S posts not yet accepted by their endpoint (retrying), as
                                                  journaled: the answer waits for the commit of what it shows (InternalApi)
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from aiohttp import web

from miniaws.core.errors import AwsError, InternalFailure
from miniaws.core.ids import request_id
from miniaws.protocols import query as query_codec
from miniaws.services.sns._spec import SPEC
from miniaws.services.sns.api_common import log
from miniaws.services.sns.api_publish import PublishOperations
from miniaws.services.sns.api_topics import TopicOperations

_CERT_PREFIX = "SimpleNotificationService-"


class SnsService(PublishOperations, TopicOperations):
    """SNS as SDKs see it (the query protocol) on the one AWS endpoint."""

    def internal(self, method: str, path: str, query: Mapping[str, str],
                 headers: Mapping[str, str]) -> tuple[int, Any]:
        name = path.strip("/")
        if name.startswith(_CERT_PREFIX) and name.endswith(".pem"):
            signer = self.signer()
            if method not in ("GET", "HEAD") or name != f"{_CERT_PREFIX}{signer.certificate_id}.pem":
                return 404, {"message": f"no certificate {name}"}
            return 200, web.Response(body=signer.certificate_pem, content_type="application/x-x509-ca-cert")
        if name == "outbox":
            return self._outbox(method, query)
        if name == "deliveries":
            if method not in ("GET", "HEAD"):
                return 405, {"message": "use GET"}
            return 200, self._deliveries()
        if name in ("confirm", "unsubscribe"):
            if method not in ("GET", "POST"):
                return 405, {"message": "use GET"}
            return 200, self._url_action(name, query)
        return 404, {"message": "use /_miniaws/sns/outbox, deliveries, confirm, unsubscribe or the SigningCertURL"}

    def _outbox(self, method: str, query: Mapping[str, str]) -> tuple[int, Any]:
        destination, topic = query.get("Destination"), query.get("TopicArn")

        def wanted(entry: dict[str, Any]) -> bool:
            return (destination is None or entry["Destination"] == destination) and (
                topic is None or entry["TopicArn"] == topic)

        if method == "DELETE":
            kept = [entry for entry in self.outbox if not wanted(entry)]
            removed = len(self.outbox) - len(kept)
            self.outbox.clear()
            self.outbox.extend(kept)
            return 200, {"Deleted": removed}
        if method not in ("GET", "HEAD"):
            return 405, {"message": "use GET or DELETE"}
        return 200, {"Messages": [entry for entry in self.outbox if wanted(entry)]}

    def _deliveries(self) -> web.Response:
        posts = [{"Id": post.post_id, "SubscriptionArn": post.subscription_arn, "Endpoint": post.url,
                  "Type": post.headers.get("x-amz-sns-message-type"),
                  "MessageId": post.headers.get("x-amz-sns-message-id"), "Attempts": post.attempts,
                  "NextAttempt": int(post.next_at * 1000)} for post in self.store.posts.values()]
        return web.Response(body=orjson.dumps({"Deliveries": posts}), content_type="application/json")

    def _url_action(self, action: str, query: Mapping[str, str]) -> web.Response:
        """SubscribeURL / UnsubscribeURL: unsigned GETs answered with the operation's XML, like AWS."""
        rid = request_id()
        try:
            if action == "confirm":
                topic = self.topic_for(None, query.get("TopicArn"))
                # a visit to the URL is not an authenticated call (ConfirmationWasAuthenticated stays false)
                arn = self.confirm(topic, query.get("Token") or "", authenticated=False)
                operation, result = "ConfirmSubscription", {"SubscriptionArn": arn}
            else:
                self.unsubscribe(None, {"SubscriptionArn": query.get("SubscriptionArn")})
                operation, result = "Unsubscribe", {}
            body = query_codec.serialize_response(SPEC, operation, result, rid)
            return web.Response(body=body, content_type="text/xml", headers={"x-amzn-RequestId": rid})
        except AwsError as err:
            status, headers, body = query_codec.serialize_error(SPEC, err, rid)
        except Exception:
            log.exception("SNS %s URL failed (request id %s)", action, rid)
            status, headers, body = query_codec.serialize_error(SPEC, InternalFailure(), rid)
        headers.pop("Content-Type", None)
        return web.Response(status=status, body=body, content_type="text/xml", headers=headers)
