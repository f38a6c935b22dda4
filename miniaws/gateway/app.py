"""The AWS endpoint's request handler: internal endpoints (/_miniaws, /_localstack, /moto-api) or the gateway."""
from __future__ import annotations

from miniaws.gateway.dispatch import Gateway
from miniaws.core.responses import Response
from miniaws.gateway.http1 import Handler, HttpRequest
from miniaws.gateway.internal import INTERNAL_PREFIXES, InternalApi


def make_request_handler(gateway: Gateway, internal: InternalApi) -> Handler:
    async def handle(request: HttpRequest) -> Response:
        path = request.path
        if path.startswith(INTERNAL_PREFIXES):
            return await internal.handle(request, path)
        return await gateway.handle(request)

    return handle
