"""What every SQS operation shares: the service's wiring and lifecycle, queue URLs and ARNs, and request basics."""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from miniaws.config import Config
from miniaws.core.clock import Clock
from miniaws.core.context import RequestContext
from miniaws.services.base import Service
from miniaws.services.sqs._spec import SPEC
from miniaws.services.sqs.errors import InvalidAddress, MissingParameter, QueueDoesNotExist
from miniaws.services.sqs.models import Queue
from miniaws.services.sqs.store import SqsStore
from miniaws.services.sqs.waiting import Waiters
from miniaws.state.journal import Journal


#: sender ids remembered per access key (hashed and formatted otherwise) and (account, name) per queue URL:
#: memos, cleared when full, so always bounded
_MEMO_MAX = 1024


class SqsBase(Service):
    name = "sqs"
    protocol = "json"
    #: older SDKs still speak SQS's query protocol (form posts to the queue URL, XML answers)
    legacy_protocols = ("query",)
    spec = SPEC

    def __init__(self, config: Config, clock: Clock, journal: Journal) -> None:
        self.config = config
        self.clock = clock
        self.waiters = Waiters(clock)
        self.store = SqsStore(journal, self.waiters.signal)
        #: the next step of each running message move task
        self.move_timers: dict[str, asyncio.TimerHandle] = {}
        self._sender_ids: dict[str, str] = {}
        self._url_parts: dict[str, tuple[str, str]] = {}

    # -- lifecycle ------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        self.store.restore(rows, self.clock.now())

    def reset(self) -> None:
        self.waiters.close()
        for handle in self.move_timers.values():
            handle.cancel()
        self.move_timers.clear()
        self.store.reset()

    async def stop(self) -> None:
        self.waiters.close()

    # -- queue addressing -----------------------------------------------------------------------
    def queue_url(self, via: RequestContext | str | None, queue: Queue) -> str:
        """`http://<host>:<port>/<account>/<name>`, with the Host the client used (`via` a request or a Host
        header), so the URL works from wherever the client is."""
        host = via if isinstance(via, str) else None
        if isinstance(via, RequestContext) and via.request is not None:
            host = via.request.headers.get("Host")
        if not host:
            shown = f"[{self.config.host}]" if ":" in self.config.host else self.config.host
            host = f"{shown}:{self.config.port}"
        return f"http://{host}/{queue.account}/{queue.name}"

    def queue_for(self, ctx: RequestContext, params: Mapping[str, Any]) -> Queue:
        """The queue a QueueUrl names. Like AWS with its own hosts, only the path (account/name) matters."""
        url = params.get("QueueUrl")
        if not url and ctx.request is not None and ctx.request.path.count("/") >= 2:
            # query-protocol clients post to the queue URL itself and may leave the parameter out
            url = ctx.request.path
        if not url:
            raise MissingParameter("The request must contain the parameter QueueUrl.")
        url = str(url)
        parts = self._url_parts.get(url)
        if parts is None:
            path = urlsplit(url).path if "://" in url else url
            segments = [segment for segment in path.split("/") if segment]
            if len(segments) < 2:
                raise InvalidAddress(f"The address {url} is not valid for this endpoint.")
            if len(self._url_parts) >= _MEMO_MAX:
                self._url_parts.clear()
            parts = self._url_parts[url] = (segments[-2], segments[-1])
        queue = self.store.get(parts[0], ctx.region, parts[1])
        if queue is None:
            raise QueueDoesNotExist()
        return queue

    @staticmethod
    def speaks_query(ctx: RequestContext) -> bool:
        """Whether the request came in the legacy query protocol (whose blobs the codec encodes itself)."""
        return ctx.request is not None and "X-Amz-Target" not in ctx.request.headers

    def sender_id(self, ctx: RequestContext) -> str:
        """The IAM user id STS reports for the caller's access key (the account id for anonymous callers)."""
        key = ctx.principal.access_key
        if key is None:
            return ctx.account_id
        sender = self._sender_ids.get(key)
        if sender is None:
            if len(self._sender_ids) >= _MEMO_MAX:
                self._sender_ids.clear()
            sender = self._sender_ids[key] = "AIDA" + ctx.principal.canonical_id[:17].upper()
        return sender
