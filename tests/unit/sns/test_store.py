"""The SNS store and journal replay: topics, subscriptions (with their parsed settings and pending tokens), FIFO
deduplication entries and the signing key all come back after a restart; removed ones never do."""
from __future__ import annotations

from miniaws.services.sns.models import PendingPost, Subscription, Topic
from miniaws.services.sns.store import SnsStore
from tests.unit.sqs.test_store import RecordingJournal

T0 = 1_700_000_000.0


def _topic(store: SnsStore, name: str, fifo: bool = False, **attributes: str) -> Topic:
    topic = Topic(name, "123456789012", "eu-west-1", fifo, T0, dict(attributes))
    store.save_topic(topic)
    return topic


def test_replay_brings_everything_back() -> None:
    journal = RecordingJournal()
    store = SnsStore(journal)
    topic = _topic(store, "orders", SignatureVersion="2")
    fifo = _topic(store, "ledger.fifo", True, ContentBasedDeduplication="true")
    confirmed = Subscription(f"{topic.arn}:1", topic.arn, "123456789012", "sqs",
                             "arn:aws:sqs:eu-west-1:123456789012:q", T0,
                             {"RawMessageDelivery": "true", "FilterPolicy": '{"a": ["b"]}'})
    pending = Subscription(f"{topic.arn}:2", topic.arn, "123456789012", "https", "https://example.com/hook",
                           T0 + 1, {}, pending=True, authenticated=False, token="t0ken", token_expires=T0 + 10)
    store.save_subscription(confirmed)
    store.save_subscription(pending)
    store.remember(fifo, "dedup-1", "m-1", 42, T0)

    again = SnsStore(journal)
    again.restore(journal.rows(), T0 + 5)
    assert set(again.topics) == {topic.arn, fifo.arn}
    restored = again.topics[topic.arn]
    assert restored.signature_version == "2"
    assert list(restored.subscriptions) == [confirmed.arn, pending.arn]
    sub = again.subscriptions[confirmed.arn]
    assert sub.raw and sub.policy is not None
    assert again.tokens == {"t0ken": pending.arn}
    assert again.topics[fifo.arn].content_dedup
    assert again.duplicate_of(again.topics[fifo.arn], "dedup-1", T0 + 5) == ("m-1", 42)


def test_removed_and_expired_records_stay_gone() -> None:
    journal = RecordingJournal()
    store = SnsStore(journal)
    topic = _topic(store, "gone")
    fifo = _topic(store, "kept.fifo", True)
    store.save_subscription(Subscription(f"{topic.arn}:1", topic.arn, "123456789012", "sqs",
                                         "arn:aws:sqs:eu-west-1:123456789012:q", T0, {}))
    store.remember(fifo, "old", "m-1", 1, T0)
    store.remove_topic(topic)
    assert not [key for key in journal.records if key[0] == "sns.subscription"]

    again = SnsStore(journal)
    again.restore(journal.rows(), T0 + 301)  # past the five-minute deduplication interval
    assert list(again.topics) == [fifo.arn]
    assert again.duplicate_of(again.topics[fifo.arn], "old", T0 + 301) is None
    assert ("sns.dedup", f"{fifo.arn}/old") not in journal.records


def test_confirming_forgets_the_token() -> None:
    journal = RecordingJournal()
    store = SnsStore(journal)
    topic = _topic(store, "t")
    pending = Subscription(f"{topic.arn}:1", topic.arn, "123456789012", "http", "http://x", T0, {}, pending=True,
                           authenticated=False, token="tok", token_expires=T0 + 1)
    store.save_subscription(pending)
    store.confirm(pending, authenticated=True)
    again = SnsStore(journal)
    again.restore(journal.rows(), T0)
    assert again.tokens == {}
    assert not again.subscriptions[pending.arn].pending
    assert again.subscriptions[pending.arn].authenticated


def test_owed_http_posts_come_back_until_removed() -> None:
    journal = RecordingJournal()
    store = SnsStore(journal)
    retrying = PendingPost("p1", "arn:aws:sns:eu-west-1:123456789012:t:1", "http://x/hook", '{"Message": "m"}',
                           {"x-amz-sns-message-id": "m-1"}, [1.0, 2.5], True, attempts=1, next_at=T0 + 1)
    accepted = PendingPost("p2", "arn:aws:sns:eu-west-1:123456789012:t:1", "http://x/hook", "body", {}, [], False,
                           next_at=T0)
    store.save_post(retrying)
    store.save_post(accepted)
    store.remove_post(accepted)
    retrying.attempts, retrying.next_at = 2, T0 + 4
    store.save_post(retrying)  # a second failure moves the next attempt

    again = SnsStore(journal)
    again.restore(journal.rows(), T0 + 2)
    assert list(again.posts) == ["p1"]
    back = again.posts["p1"]
    assert (back.url, back.body, back.headers, back.delays, back.notify, back.attempts, back.next_at) == (
        "http://x/hook", '{"Message": "m"}', {"x-amz-sns-message-id": "m-1"}, [1.0, 2.5], True, 2, T0 + 4)
    again.remove_post(back)
    assert not [key for key in journal.records if key[0] == "sns.post"]
