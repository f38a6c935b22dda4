"""What every CloudFront operation shares: the wiring (store, edge), ids, ETag checks, lookups and paging."""
from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from miniaws.config import Config
from miniaws.core.clock import Clock
from miniaws.core.context import RequestContext
from miniaws.dataplane.edge.engine import Edge, ObjectReader
from miniaws.dataplane.edge.functions import FunctionInvoker
from miniaws.dataplane.edge.names import ZoneAnswer
from miniaws.services.base import Service
from miniaws.services.cloudfront._spec import SPEC
from miniaws.services.cloudfront.errors import (InvalidArgument, InvalidIfMatchVersion, NoSuchCachePolicy,
                                                NoSuchDistribution, NoSuchOriginAccessControl,
                                                NoSuchOriginRequestPolicy, NoSuchResponseHeadersPolicy,
                                                PreconditionFailed)
from miniaws.services.cloudfront.managed import (MANAGED_CACHE_POLICIES, MANAGED_ETAG, MANAGED_MODIFIED,
                                                 MANAGED_ORIGIN_REQUEST_POLICIES, MANAGED_RESPONSE_HEADERS_POLICIES)
from miniaws.services.cloudfront.models import (CACHE, ORIGIN_REQUEST, RESPONSE_HEADERS, CloudFrontStore,
                                                Distribution, OriginAccessControl, Policy)
from miniaws.state.journal import Journal

LOCATION_PREFIX = "https://cloudfront.amazonaws.com/2020-05-31/"
#: the domain suffix of distributions (`<id>.cloudfront.localhost` resolves to loopback everywhere, RFC 6761)
DOMAIN_SUFFIX = ".cloudfront.localhost"
_ID_ALPHABET = string.ascii_uppercase + string.digits
_random = random.Random()

MANAGED: dict[str, dict[str, Policy]] = {
    kind: {pid: Policy(kind, pid, "", config, MANAGED_ETAG, MANAGED_MODIFIED, managed=True)
           for pid, config in table.items()}
    for kind, table in ((CACHE, MANAGED_CACHE_POLICIES), (ORIGIN_REQUEST, MANAGED_ORIGIN_REQUEST_POLICIES),
                        (RESPONSE_HEADERS, MANAGED_RESPONSE_HEADERS_POLICIES))
}
_NO_SUCH_POLICY = {CACHE: NoSuchCachePolicy, ORIGIN_REQUEST: NoSuchOriginRequestPolicy,
                   RESPONSE_HEADERS: NoSuchResponseHeadersPolicy}

T = TypeVar("T")


class EdgeFunctions(FunctionInvoker, Protocol):
    """What CloudFront needs from Lambda (LambdaService has it): look up a published version when an association is
    made, and invoke it when the edge runs it."""

    def published_version(self, function_arn: str) -> dict[str, Any] | None: ...


def resource_id(prefix: str = "E") -> str:
    """CloudFront's ids and ETags: a letter and 13 upper-case letters and digits (E2QWRUHAPOMQZL)."""
    return prefix + "".join(_random.choice(_ID_ALPHABET) for _ in range(13))


def new_etag() -> str:
    return resource_id("E")


def check_if_match(params: Mapping[str, Any], etag: str) -> None:
    """Update/Delete calls must name the current ETag (API_UpdateDistribution.html, "IfMatch")."""
    given = params.get("IfMatch")
    if not given:
        raise InvalidIfMatchVersion("The If-Match version is missing or not valid for the resource.")
    if given != etag:
        raise PreconditionFailed("The If-Match version does not match the current version of the resource.")


def page(entries: Sequence[T], params: Mapping[str, Any], key: Any, default: int = 100) -> tuple[list[T], str]:
    """(this page, NextMarker or "") for Marker/MaxItems paging, where the marker is the key of the first entry of
    the next page."""
    raw = params.get("MaxItems")
    try:
        limit = int(raw) if raw not in (None, "") else default
    except (TypeError, ValueError):
        raise InvalidArgument(f"The parameter MaxItems is not valid: {raw}") from None
    if limit < 0:
        raise InvalidArgument(f"The parameter MaxItems is not valid: {raw}")
    start = 0
    marker = params.get("Marker")
    if marker:
        keys = [key(e) for e in entries]
        start = keys.index(marker) if marker in keys else len(entries)
    chunk = list(entries[start:start + limit])
    following = start + limit
    return chunk, key(entries[following]) if following < len(entries) else ""


class CloudFrontBase(Service):
    name = "cloudfront"
    protocol = "rest-xml"
    spec = SPEC

    def __init__(self, config: Config, clock: Clock, journal: Journal, s3: ObjectReader | None = None,
                 dns: ZoneAnswer | None = None, functions: EdgeFunctions | None = None) -> None:
        """`s3` reads S3 origins in-process; `dns` (the Route 53 resolver's `handle`) resolves custom origin names
        that fall in a hosted zone; `functions` (the Lambda service) checks and runs Lambda@Edge associations."""
        self.config = config
        self.clock = clock
        self.store = CloudFrontStore(journal)
        self.functions = functions
        #: the data plane: the composition root puts it behind the edge listener (dataplane/edge/server.py)
        self.edge = Edge(self.store, self.find_policy, self.find_oac, clock, config, s3, dns, functions)

    # -- lifecycle ------------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        self.store.restore(rows)

    async def start(self) -> None:
        await self.edge.start()

    async def stop(self) -> None:
        await self.edge.stop()

    def reset(self) -> None:
        self.store.reset()
        self.edge.clear()

    # -- DNS ------------------------------------------------------------------------------------------
    def on_change(self, callback: Callable[[], None]) -> None:
        """Call `callback` when distributions come or go (DNS answers for their names depend on them)."""
        self.store.watchers.append(callback)

    def addresses(self, name: str) -> tuple[str, ...] | None:
        """The addresses a distribution's domain name (`<id>.cloudfront.localhost.`) answers: the host the edge
        listener is bound on (loopback when it listens on every interface); None for other names."""
        suffix = DOMAIN_SUFFIX + "."
        lowered = name.lower()
        if not lowered.endswith(suffix) or lowered[:-len(suffix)].upper() not in self.store.distributions:
            return None
        host = self.config.host
        return ("127.0.0.1",) if host in ("0.0.0.0", "") else ("::1",) if host == "::" else (host,)

    def healthy(self, name: str) -> bool:
        """EvaluateTargetHealth for an alias to a distribution: it exists and is enabled."""
        suffix = DOMAIN_SUFFIX + "."
        dist = self.store.distributions.get(name.lower()[:-len(suffix)].upper())
        return dist is not None and dist.enabled

    # -- /_miniaws/cloudfront/<id>/stats ----------------------------------------------------------
    def internal(self, method: str, path: str, query: Mapping[str, str],
                 headers: Mapping[str, str]) -> tuple[int, Any]:
        """`GET <distribution id>/stats`: the edge's counters for one distribution (labs watch the hit ratio);
        `GET stats`: every distribution's."""
        parts = [p for p in path.split("/") if p]
        if method not in ("GET", "HEAD"):
            return 405, {"message": "use GET"}
        if parts == ["stats"]:
            return 200, {d: self.edge.stats(d) for d in sorted(self.store.distributions)}
        if len(parts) == 2 and parts[1] == "stats":
            if parts[0] not in self.store.distributions:
                return 404, {"message": f"no distribution {parts[0]}"}
            return 200, {"Id": parts[0], **self.edge.stats(parts[0])}
        return 404, {"message": "use /_miniaws/cloudfront/<distribution id>/stats"}

    # -- /_miniaws/metrics ------------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        """The "cloudfront" section of GET /_miniaws/metrics: the edge cache, and per distribution its requests,
        hits, misses, refresh hits, hit ratios by requests and bytes, origin fetches, collapsed requests and
        evictions (the same counters as /_miniaws/cloudfront/<id>/stats), with their totals."""
        return self.edge.metrics({d.id: d.domain for d in self.store.distributions.values()})

    # -- lookups --------------------------------------------------------------------------------
    def distribution(self, ctx: RequestContext, ident: Any) -> Distribution:
        dist = self.store.distributions.get(str(ident or ""))
        if dist is None or dist.account_id != ctx.account_id:
            raise NoSuchDistribution(f"The specified distribution does not exist: {ident}")
        return dist

    def find_policy(self, kind: str, ident: str, account_id: str | None = None) -> Policy | None:
        """A managed policy, or a custom one (of `account_id` when given)."""
        managed = MANAGED[kind].get(ident)
        if managed is not None:
            return managed
        policy = self.store.policies.get((kind, ident))
        if policy is None or (account_id is not None and policy.account_id != account_id):
            return None
        return policy

    def policy(self, ctx: RequestContext, kind: str, ident: Any) -> Policy:
        policy = self.find_policy(kind, str(ident or ""), ctx.account_id)
        if policy is None:
            raise _NO_SUCH_POLICY[kind](f"The {kind.replace('-', ' ')} policy does not exist: {ident}")
        return policy

    def find_oac(self, ident: str) -> OriginAccessControl | None:
        return self.store.oacs.get(ident)

    def oac(self, ctx: RequestContext, ident: Any) -> OriginAccessControl:
        oac = self.store.oacs.get(str(ident or ""))
        if oac is None or oac.account_id != ctx.account_id:
            raise NoSuchOriginAccessControl(f"The origin access control does not exist: {ident}")
        return oac

    def observe(self, dist: Distribution) -> Distribution:
        """A read after a change sees the change deployed (so `distribution_deployed` waiters pass at once)."""
        dist.deployed = True
        return dist

    def distribution_wire(self, dist: Distribution, in_progress: bool = False) -> dict[str, Any]:
        # an invalidation purges at once: InProgress only in its CreateInvalidation answer, Completed on any read
        for inv in self.store.invalidations.get(dist.id, ()):
            inv.completed = True
        invalidating = 0
        return {
            "Id": dist.id, "ARN": dist.arn,
            "Status": "InProgress" if in_progress or not dist.deployed else "Deployed",
            "LastModifiedTime": dist.modified, "InProgressInvalidationBatches": invalidating,
            "DomainName": dist.domain,
            "ActiveTrustedSigners": {"Enabled": False, "Quantity": 0},
            "ActiveTrustedKeyGroups": {"Enabled": False, "Quantity": 0},
            "DistributionConfig": dist.config,
        }
