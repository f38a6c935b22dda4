"""What every SNS operation shares: the service's wiring and lifecycle, the signing key, URLs, and looking topics
and subscriptions up by ARN with AWS's errors.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import aiohttp

from miniaws.config import Config
from miniaws.core import cabundle
from miniaws.core.clock import Clock
from miniaws.core.context import RequestContext
from miniaws.services.base import Service
from miniaws.services.sns._spec import SPEC
from miniaws.services.sns.errors import InvalidParameter, NotFound
from miniaws.services.sns.messages import Urls
from miniaws.services.sns.models import Subscription, Topic, parse_topic_arn
from miniaws.services.sns.signing import Signer
from miniaws.services.sns.store import SnsStore
from miniaws.state.journal import Journal

log = logging.getLogger("miniaws.sns")

#: the email/SMS outbox keeps the most recent messages only (it stands in for a mail server, not a mailbox)
OUTBOX_LIMIT = 10_000


class QueueSender(Protocol):
    """The SQS service's in-process entry point (SqsService.send_to_queue): SNS → SQS is a method call."""

    def send_to_queue(self, queue_arn: str, body: str, *, attributes: Mapping[str, Any] | None = None,
                      group_id: str | None = None, dedup_id: str | None = None,
                      sender_id: str = ...) -> dict[str, Any]: ...


class FunctionInvoker(Protocol):
    """The Lambda hook (wired by the composition root when the function runtime provides it).

    `queue_event` starts an asynchronous (InvocationType=Event) invocation of `function_arn` with `payload`
    (the SNS event JSON) and returns at once, as AWS's SNS → Lambda delivery does; it raises LookupError (or
    an AwsError) when the function does not exist, which SNS treats as a failed delivery (dead-letter queue).
    """

    def queue_event(self, function_arn: str, payload: bytes) -> None: ...


class SnsBase(Service):
    name = "sns"
    protocol = "query"
    spec = SPEC

    def __init__(self, config: Config, clock: Clock, journal: Journal, sqs: QueueSender | None = None,
                 functions: FunctionInvoker | None = None, endpoint: Callable[[], str] = lambda: "") -> None:
        self.config = config
        self.clock = clock
        self.journal = journal
        self.sqs = sqs
        #: Lambda delivery; None until the function runtime is wired (lambda subscriptions then dead-letter)
        self.functions = functions
        self._endpoint = endpoint
        self.store = SnsStore(journal)
        #: email, email-json and sms deliveries, newest last (GET /_miniaws/sns/outbox)
        self.outbox: deque[dict[str, Any]] = deque(maxlen=OUTBOX_LIMIT)
        #: UnsubscribeConfirmation tokens -> the removed subscription, so its SubscribeURL can restore it
        self.resubscribe: dict[str, Subscription] = {}
        #: HTTP/S deliveries in flight (each a task with its own retries)
        self.tasks: set[asyncio.Task[None]] = set()
        self.session: aiohttp.ClientSession | None = None
        self._signer_saved = True
        self._signer_task: asyncio.Task[None] | None = None
        self._urls: Urls | None = None

    # -- lifecycle ------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        self.store.restore(rows, self.clock.now())

    async def start(self) -> None:
        if self.store.signer is None:
            # an RSA key takes tens of milliseconds to make: in a thread, off the start-up path
            self._signer_task = asyncio.get_running_loop().create_task(self._make_signer())

    async def _make_signer(self) -> None:
        signer = await asyncio.to_thread(Signer.generate)
        if self.store.signer is None:
            self.store.save_signer(signer)

    def reset(self) -> None:
        self._cancel_tasks()
        self.store.reset()
        self.outbox.clear()
        self.resubscribe.clear()
        # the journal is cleared after this: the key is journaled again on next use
        self._signer_saved = False

    async def stop(self) -> None:
        if self._signer_task is not None:
            self._signer_task.cancel()
        self._cancel_tasks()
        if self.session is not None:
            await self.session.close()
            self.session = None

    def _cancel_tasks(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        self.tasks.clear()

    def spawn(self, coroutine: Any) -> None:
        """Run a delivery in the background (the publish response never waits for an HTTP endpoint)."""
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def http_session(self) -> aiohttp.ClientSession:
        """The one client session every HTTP/S delivery shares (created on first use, on the server's loop)."""
        if self.session is None:
            cabundle.ensure_loaded()
            self.session = aiohttp.ClientSession(headers={"Accept-Encoding": "gzip,deflate"})
        return self.session

    # -- signing and URLs -----------------------------------------------------------------------
    def signer(self) -> Signer:
        signer = self.store.signer
        if signer is None:
            signer = Signer.generate()  # only when a message is signed before the background key is ready
            self.store.save_signer(signer)
        elif not self._signer_saved:
            self.store.save_signer(signer)
        self._signer_saved = True
        return signer

    def urls(self) -> Urls:
        base = self._endpoint()
        if not base:
            host = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
            base = f"http://{host}:{self.config.port}"
        if self._urls is None or self._urls.endpoint != base:
            self._urls = Urls(base)
        return self._urls

    # -- lookups --------------------------------------------------------------------------------
    def topic_for(self, ctx: RequestContext | None, arn: Any, name: str = "TopicArn") -> Topic:
        """The topic an ARN names, in the caller's region (None: any region, for the unsigned confirm URLs)."""
        if not arn:
            raise InvalidParameter(f"Invalid parameter: {name} Reason: no value for required parameter")
        parsed = parse_topic_arn(str(arn))
        if parsed is None:
            raise InvalidParameter(f"Invalid parameter: {name}")
        topic = self.store.topics.get(str(arn))
        if topic is None or (ctx is not None and parsed[0] != ctx.region):
            raise NotFound("Topic does not exist")
        return topic

    def subscription_for(self, arn: Any) -> Subscription:
        check_subscription_arn(arn)
        subscription = self.store.subscriptions.get(str(arn))
        if subscription is None:
            raise NotFound("Subscription does not exist")
        return subscription


def check_subscription_arn(arn: Any) -> None:
    parts = str(arn or "").split(":")
    if len(parts) < 6:
        raise InvalidParameter(f"Invalid parameter: SubscriptionArn Reason: An ARN must have at least 6 elements, "
                               f"not {len(parts)}")
    if len(parts) != 7 or parts[0] != "arn" or parts[2] != "sns":
        raise InvalidParameter("Invalid parameter: SubscriptionArn")
