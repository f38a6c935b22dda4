"""miniaws's own endpoints beside the AWS API: health, reset, and the aliases other emulators' users expect.

GET  /_miniaws/health      (also GET /_localstack/health, GET /moto-api/health)
POST /_miniaws/reset       (also POST /moto-api/reset, POST /_localstack/state/reset)
GET  /_miniaws/metrics     one JSON object, a section per service that has a `metrics` method (see MetricsSource):
                           {"cloudfront": {"cache": …, "totals": …, "distributions": {id: counters}}}
GET  /_miniaws/state       one JSON object, a section per service that has a `state` method (see StateSource):
                           {"elbv2": {"LoadBalancers": {arn: {"Listeners": [{"Port": 80, "BoundPort": 10080, …}]}}}}
*    /_miniaws/<service>/… (a service's own endpoints, when it has an `internal` method: see ServiceEndpoints)
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

import orjson
from aiohttp import web

from miniaws import __version__
from miniaws.core.responses import Response, StreamedResponse
from miniaws.gateway.http1 import HttpRequest
from miniaws.services.base import Service
from miniaws.state.journal import Journal

INTERNAL_PREFIXES = ("/_miniaws/", "/_localstack/", "/moto-api/")

_HEALTH_PATHS = {"/_miniaws/health", "/_localstack/health", "/moto-api/health"}
_RESET_PATHS = {"/_miniaws/reset", "/moto-api/reset", "/_localstack/state/reset"}
METRICS_PATH = "/_miniaws/metrics"
STATE_PATH = "/_miniaws/state"


@runtime_checkable
class ServiceEndpoints(Protocol):
    """A service that answers under /_miniaws/<its name>/ (e.g. SQS's peek at a queue's messages)."""

    def internal(self, method: str, path: str, query: Mapping[str, str],
                 headers: Mapping[str, str]) -> tuple[int, Any]:
        """(status, JSON-able body) for `path`, the part after /_miniaws/<service>/."""


@runtime_checkable
class MetricsSource(Protocol):
    """A service with a section in GET /_miniaws/metrics (CloudFront's edge counters; others may add theirs)."""

    def metrics(self) -> dict[str, Any]:
        """This service's counters as JSON-able values, under its name."""


@runtime_checkable
class StateSource(Protocol):
    """A service with a section in GET /_miniaws/state (ELBv2's listener port mapping; others may add theirs)."""

    def state(self) -> dict[str, Any]:
        """An overview of this service's runtime state as JSON-able values, under its name."""


class InternalApi:
    def __init__(self, services: Mapping[str, Service], reset: Callable[[], Awaitable[None]],
                 info: Callable[[], dict[str, object]], journal: Journal) -> None:
        self._services = services
        self._reset = reset
        self._info = info
        self._journal = journal

    async def handle(self, request: HttpRequest, path: str) -> Response:
        if path in _HEALTH_PATHS:
            if request.method not in ("GET", "HEAD"):
                return _json({"message": "use GET"}, 405)
            body = {
                "version": __version__,
                "edition": "miniaws",
                "services": {name: svc.health() for name, svc in sorted(self._services.items())},
                **self._info(),
            }
            return _json(body, 200)
        if path in _RESET_PATHS:
            if request.method != "POST":
                return _json({"message": "use POST"}, 405)
            await self._reset()
            return _json({"reset": True}, 200)
        if path == METRICS_PATH:
            if request.method not in ("GET", "HEAD"):
                return _json({"message": "use GET"}, 405)
            return _json({name: svc.metrics() for name, svc in sorted(self._services.items())
                          if isinstance(svc, MetricsSource) and callable(svc.metrics)}, 200)
        if path == STATE_PATH:
            if request.method not in ("GET", "HEAD"):
                return _json({"message": "use GET"}, 405)
            return _json({name: svc.state() for name, svc in sorted(self._services.items())
                          if isinstance(svc, StateSource) and callable(svc.state)}, 200)
        if path.startswith("/_miniaws/"):
            name, _, rest = path[len("/_miniaws/"):].partition("/")
            service = self._services.get(name)
            if isinstance(service, ServiceEndpoints):
                status, body = service.internal(request.method, rest, request.query, request.headers)
                # an acknowledgement (SNS's confirm/unsubscribe URLs) goes out only once its change is durable, and
                # what an answer shows (SNS's pending deliveries) is committed before it is shown (DESIGN §6)
                await self._journal.durable()
                if isinstance(body, (web.Response, StreamedResponse)):  # bytes the service serves itself
                    return body
                return _json(body, status)
        return _json({"message": f"no internal endpoint {path}"}, 404)


def _json(body: object, status: int) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")
