"""What every CloudWatch Logs operation shares: the wiring and lifecycle, input checking, finding a log group by
name or ARN (logGroupIdentifier) with AWS's errors, and the Describe* pagination."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from miniaws.config import Config
from miniaws.core.clock import Clock
from miniaws.core.context import RequestContext
from miniaws.services.base import Service
from miniaws.services.logs._spec import SPEC
from miniaws.services.logs.errors import InvalidParameterException, group_not_found
from miniaws.services.logs.models import LogGroup
from miniaws.services.logs.store import LogsStore
from miniaws.services.logs.tokens import parse_opaque
from miniaws.services.logs.tokens import opaque as opaque_token
from miniaws.services.logs.validation import check_input
from miniaws.state.journal import Journal

T = TypeVar("T")

#: arn:aws:logs:<region>:<account>:log-group:<name> (logGroupIdentifier, TagResource's resourceArn: AWS's
#: patterns for both leave out the `*` of DescribeLogGroups' `arn`, so that form never gets this far)
_GROUP_ARN = re.compile(r"arn:aws[a-z-]*:logs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):log-group:"
                        r"(?P<name>[.\-_/#A-Za-z0-9]+)")
DESCRIBE_LIMIT = 50


class LogsBase(Service):
    name = "logs"
    protocol = "json"
    spec = SPEC

    def __init__(self, config: Config, clock: Clock, journal: Journal) -> None:
        self.config = config
        self.clock = clock
        self.store = LogsStore(journal, clock)

    async def call(self, operation_name: str, ctx: RequestContext, params: dict[str, Any]) -> Any:
        if operation_name in self.operations:
            check_input(operation_name, params)
        return await super().call(operation_name, ctx, params)

    # -- lifecycle ------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        self.store.restore(rows)

    def reset(self) -> None:
        self.store.reset()

    def now_ms(self) -> int:
        return self.store.now_ms()

    # -- finding log groups ---------------------------------------------------------------------
    def group_named(self, ctx: RequestContext, name: str) -> LogGroup:
        group = self.store.get_group(ctx.account_id, ctx.region, name)
        if group is None:
            raise group_not_found()
        return group

    def group_by_arn(self, arn: str) -> LogGroup:
        match = _GROUP_ARN.fullmatch(arn)
        if match is None:
            raise InvalidParameterException(f"Invalid ARN: {arn}")
        group = self.store.get_group(match["account"], match["region"], match["name"])
        if group is None:
            raise group_not_found()
        return group

    def group_of(self, ctx: RequestContext, params: dict[str, Any]) -> LogGroup:
        """The group named by logGroupName or logGroupIdentifier (a name or a log group ARN), not both."""
        name, identifier = params.get("logGroupName"), params.get("logGroupIdentifier")
        if name is not None and identifier is not None:
            raise InvalidParameterException("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
        if identifier is not None:
            return self.group_by_arn(identifier) if identifier.startswith("arn:") else self.group_named(ctx, identifier)
        if name is None:
            raise InvalidParameterException("Either logGroupName or logGroupIdentifier must be specified.")
        return self.group_named(ctx, name)


def paginate(items: Sequence[T], key: Callable[[T], list[Any]], params: dict[str, Any], kind: str,
             descending: bool = False) -> tuple[list[T], str | None]:
    """One Describe* page: `items` are sorted by `key`; the token names the last key returned."""
    limit = params.get("limit") or DESCRIBE_LIMIT
    token = params.get("nextToken")
    if token is not None:
        after = parse_opaque(kind, token)
        if not isinstance(after, list):
            raise InvalidParameterException("The specified nextToken is invalid.")
        try:
            items = [item for item in items if (key(item) < after if descending else key(item) > after)]
        except TypeError:
            raise InvalidParameterException("The specified nextToken is invalid.") from None
    page = list(items[:limit])
    more = len(items) > limit
    return page, opaque_token(kind, key(page[-1])) if more and page else None
