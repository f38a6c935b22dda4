"""The SNS store: every topic, subscription, FIFO deduplication entry, HTTP/S post still owed, and the signing key,
and their journal records. Synchronous, no I/O; every mutation is journaled before the request that made it is answered.
"""
from __future__ import annotations

import orjson

from miniaws.services.sns.models import PendingPost, Subscription, Topic
from miniaws.services.sns.signing import Signer
from miniaws.state.journal import Journal

NS_TOPIC = "sns.topic"
NS_SUBSCRIPTION = "sns.subscription"
NS_DEDUP = "sns.dedup"
NS_SIGNING = "sns.signing"
NS_POST = "sns.post"

#: "subsequent messages within the deduplication scope and interval [5 minutes] ... aren't delivered" (Publish)
DEDUP_INTERVAL = 300.0


class SnsStore:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.topics: dict[str, Topic] = {}
        self.subscriptions: dict[str, Subscription] = {}
        #: confirmation token -> subscription ARN, for pending subscriptions
        self.tokens: dict[str, str] = {}
        self.signer: Signer | None = None
        #: HTTP/S posts not yet accepted by their endpoint, by id
        self.posts: dict[str, PendingPost] = {}

    # -- topics ---------------------------------------------------------------------------------
    def topics_of(self, account: str, region: str) -> list[Topic]:
        return [t for t in self.topics.values() if t.account == account and t.region == region]

    def save_topic(self, topic: Topic) -> None:
        topic.configure()
        self.topics[topic.arn] = topic
        self.journal.put(NS_TOPIC, topic.arn, orjson.dumps(topic.record()))

    def remove_topic(self, topic: Topic) -> None:
        for subscription in list(topic.subscriptions.values()):
            self.remove_subscription(subscription)
        for key in topic.dedup:
            self.journal.delete(NS_DEDUP, f"{topic.arn}/{key}")
        topic.dedup.clear()
        self.topics.pop(topic.arn, None)
        self.journal.delete(NS_TOPIC, topic.arn)

    # -- subscriptions --------------------------------------------------------------------------
    def save_subscription(self, subscription: Subscription) -> None:
        subscription.configure()
        topic = self.topics[subscription.topic_arn]
        topic.subscriptions[subscription.arn] = subscription
        self.subscriptions[subscription.arn] = subscription
        if subscription.token is not None:
            self.tokens[subscription.token] = subscription.arn
        self.journal.put(NS_SUBSCRIPTION, subscription.arn, orjson.dumps(subscription.record()))

    def confirm(self, subscription: Subscription, authenticated: bool) -> None:
        if subscription.token is not None:
            self.tokens.pop(subscription.token, None)
        subscription.pending, subscription.authenticated = False, authenticated
        subscription.token, subscription.token_expires = None, 0.0
        self.save_subscription(subscription)

    def remove_subscription(self, subscription: Subscription) -> None:
        topic = self.topics.get(subscription.topic_arn)
        if topic is not None:
            topic.subscriptions.pop(subscription.arn, None)
        if subscription.token is not None:
            self.tokens.pop(subscription.token, None)
        self.subscriptions.pop(subscription.arn, None)
        self.journal.delete(NS_SUBSCRIPTION, subscription.arn)

    # -- FIFO deduplication ---------------------------------------------------------------------
    def duplicate_of(self, topic: Topic, key: str, now: float) -> tuple[str, int] | None:
        """(message id, sequence number) of the message a publish within the deduplication interval repeats."""
        dedup = topic.dedup
        while dedup:
            oldest = next(iter(dedup))
            if dedup[oldest][0] > now:
                break
            del dedup[oldest]
            self.journal.delete(NS_DEDUP, f"{topic.arn}/{oldest}")
        hit = dedup.get(key)
        return (hit[1], hit[2]) if hit is not None else None

    def remember(self, topic: Topic, key: str, message_id: str, seq: int, now: float) -> None:
        entry = (now + DEDUP_INTERVAL, message_id, seq)
        topic.dedup[key] = entry
        self.journal.put(NS_DEDUP, f"{topic.arn}/{key}", orjson.dumps(entry))

    # -- HTTP/S posts still owed ------------------------------------------------------------------
    def save_post(self, post: PendingPost) -> None:
        self.posts[post.post_id] = post
        self.journal.put(NS_POST, post.post_id, orjson.dumps(post.record()))

    def remove_post(self, post: PendingPost) -> None:
        if self.posts.pop(post.post_id, None) is not None:
            self.journal.delete(NS_POST, post.post_id)

    # -- the signing key ------------------------------------------------------------------------
    def save_signer(self, signer: Signer) -> None:
        self.signer = signer
        self.journal.put(NS_SIGNING, "key", orjson.dumps(signer.record()))

    # -- persistence ----------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]], now: float) -> None:
        for _, value in rows.get(NS_TOPIC, ()):
            topic = Topic.from_record(orjson.loads(value))
            topic.configure()
            self.topics[topic.arn] = topic
        subscriptions = [Subscription.from_record(orjson.loads(value)) for _, value in rows.get(NS_SUBSCRIPTION, ())]
        for subscription in sorted(subscriptions, key=lambda s: s.created):
            parent = self.topics.get(subscription.topic_arn)
            if parent is None:
                self.journal.delete(NS_SUBSCRIPTION, subscription.arn)
                continue
            subscription.configure()
            parent.subscriptions[subscription.arn] = subscription
            self.subscriptions[subscription.arn] = subscription
            if subscription.token is not None:
                self.tokens[subscription.token] = subscription.arn
        for key, value in rows.get(NS_DEDUP, ()):
            arn, _, dedup_key = key.partition("/")
            expires, message_id, seq = orjson.loads(value)
            owner = self.topics.get(arn)
            if owner is None or expires <= now:
                self.journal.delete(NS_DEDUP, key)
            else:
                owner.dedup[dedup_key] = (expires, message_id, seq)
                owner.last_seq = max(owner.last_seq, seq)
        for topic in self.topics.values():
            topic.dedup = dict(sorted(topic.dedup.items(), key=lambda item: item[1][0]))
        for _, value in rows.get(NS_SIGNING, ()):
            self.signer = Signer.from_record(orjson.loads(value))
        for _, value in rows.get(NS_POST, ()):
            post = PendingPost.from_record(orjson.loads(value))
            self.posts[post.post_id] = post

    def reset(self) -> None:
        self.topics.clear()
        self.subscriptions.clear()
        self.tokens.clear()
        self.posts.clear()
        # the key stays: certificates that clients fetched keep verifying after a reset
