"""CloudFront's state: distributions, policies, origin access controls, invalidations and tags. Synchronous, no I/O.

CloudFront is global: one store for every region; each resource remembers its account. Configurations are kept
in their wire form (the validated, defaulted DistributionConfig / CachePolicyConfig / ... dicts), which is what
Get*Config returns and what the edge compiles. Every mutation is journaled; `generation` moves on every change
so the edge knows when its compiled view is stale.

Status is not journaled: a distribution or invalidation answers InProgress in the response to the call that
changed it and Deployed / Completed from the next read on (and after a restart), so SDK waiters pass at once.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from miniaws.state.journal import Journal

NS_DISTRIBUTION = "cloudfront.distribution"
NS_POLICY = "cloudfront.policy"
NS_OAC = "cloudfront.oac"
NS_INVALIDATION = "cloudfront.invalidation"
NS_TAGS = "cloudfront.tags"

#: policy kinds, as the API names them in paths and the journal key prefix
CACHE = "cache"
ORIGIN_REQUEST = "origin-request"
RESPONSE_HEADERS = "response-headers"
POLICY_KINDS = (CACHE, ORIGIN_REQUEST, RESPONSE_HEADERS)

#: invalidations kept per distribution for Get/ListInvalidations (bounds the journal)
MAX_INVALIDATIONS = 1000


@dataclass(slots=True, eq=False)
class Distribution:
    id: str
    account_id: str
    #: the validated DistributionConfig with AWS's defaults filled in (wire form)
    config: dict[str, Any]
    etag: str
    domain: str
    modified: float
    #: False until the first read after a create or update (InProgress → Deployed)
    deployed: bool = False

    @property
    def arn(self) -> str:
        return f"arn:aws:cloudfront::{self.account_id}:distribution/{self.id}"

    @property
    def enabled(self) -> bool:
        return bool(self.config.get("Enabled"))

    @property
    def aliases(self) -> list[str]:
        return [str(a).lower() for a in (self.config.get("Aliases") or {}).get("Items") or ()]

    def record(self) -> dict[str, Any]:
        return {"i": self.id, "a": self.account_id, "c": self.config, "e": self.etag, "d": self.domain,
                "m": self.modified}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Distribution":
        return cls(r["i"], r["a"], r["c"], r["e"], r["d"], r["m"], deployed=True)


@dataclass(slots=True, eq=False)
class Policy:
    """A cache, origin request or response headers policy (the three share their life cycle)."""

    kind: str
    id: str
    account_id: str
    config: dict[str, Any]
    etag: str
    modified: float
    managed: bool = False

    @property
    def name(self) -> str:
        return str(self.config.get("Name", ""))

    def record(self) -> dict[str, Any]:
        return {"k": self.kind, "i": self.id, "a": self.account_id, "c": self.config, "e": self.etag,
                "m": self.modified}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Policy":
        return cls(r["k"], r["i"], r["a"], r["c"], r["e"], r["m"])


@dataclass(slots=True, eq=False)
class OriginAccessControl:
    id: str
    account_id: str
    config: dict[str, Any]
    etag: str

    @property
    def name(self) -> str:
        return str(self.config.get("Name", ""))

    def record(self) -> dict[str, Any]:
        return {"i": self.id, "a": self.account_id, "c": self.config, "e": self.etag}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "OriginAccessControl":
        return cls(r["i"], r["a"], r["c"], r["e"])


@dataclass(slots=True, eq=False)
class Invalidation:
    id: str
    distribution_id: str
    caller_reference: str
    paths: list[str]
    created: float
    completed: bool = False

    def wire(self) -> dict[str, Any]:
        return {"Id": self.id, "Status": "Completed" if self.completed else "InProgress",
                "CreateTime": self.created,
                "InvalidationBatch": {"Paths": {"Quantity": len(self.paths), "Items": list(self.paths)},
                                      "CallerReference": self.caller_reference}}

    def summary(self) -> dict[str, Any]:
        return {"Id": self.id, "CreateTime": self.created, "Status": "Completed" if self.completed else "InProgress"}

    def record(self) -> dict[str, Any]:
        return {"i": self.id, "d": self.distribution_id, "r": self.caller_reference, "p": self.paths,
                "t": self.created}

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> "Invalidation":
        return cls(r["i"], r["d"], r["r"], r["p"], r["t"], completed=True)


@dataclass(slots=True)
class CloudFrontStore:
    journal: Journal
    distributions: dict[str, Distribution] = field(default_factory=dict)
    #: (kind, id) → custom policy (managed policies live in managed.py, not here)
    policies: dict[tuple[str, str], Policy] = field(default_factory=dict)
    oacs: dict[str, OriginAccessControl] = field(default_factory=dict)
    #: distribution id → its invalidations, oldest first
    invalidations: dict[str, list[Invalidation]] = field(default_factory=dict)
    #: resource ARN → tags
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    #: moves on every change (the edge compares it to know when to recompile)
    generation: int = 0
    #: called when distributions come or go (DNS answers for their names depend on them)
    watchers: list[Callable[[], None]] = field(default_factory=list)

    # -- distributions ---------------------------------------------------------------------------
    def put_distribution(self, dist: Distribution) -> None:
        self.distributions[dist.id] = dist
        self.journal.put(NS_DISTRIBUTION, dist.id, orjson.dumps(dist.record()))
        self.generation += 1
        self._notify()

    def remove_distribution(self, dist: Distribution) -> None:
        del self.distributions[dist.id]
        self.journal.delete(NS_DISTRIBUTION, dist.id)
        for inv in self.invalidations.pop(dist.id, ()):
            self.journal.delete(NS_INVALIDATION, f"{dist.id}/{inv.id}")
        self.set_tags(dist.arn, {})
        self.generation += 1
        self._notify()

    def _notify(self) -> None:
        for watcher in self.watchers:
            watcher()

    def distributions_of(self, account_id: str) -> list[Distribution]:
        return [d for d in self.distributions.values() if d.account_id == account_id]

    # -- policies --------------------------------------------------------------------------------
    def put_policy(self, policy: Policy) -> None:
        self.policies[(policy.kind, policy.id)] = policy
        self.journal.put(NS_POLICY, f"{policy.kind}/{policy.id}", orjson.dumps(policy.record()))
        self.generation += 1

    def remove_policy(self, policy: Policy) -> None:
        del self.policies[(policy.kind, policy.id)]
        self.journal.delete(NS_POLICY, f"{policy.kind}/{policy.id}")
        self.generation += 1

    # -- origin access controls ------------------------------------------------------------------
    def put_oac(self, oac: OriginAccessControl) -> None:
        self.oacs[oac.id] = oac
        self.journal.put(NS_OAC, oac.id, orjson.dumps(oac.record()))
        self.generation += 1

    def remove_oac(self, oac: OriginAccessControl) -> None:
        del self.oacs[oac.id]
        self.journal.delete(NS_OAC, oac.id)
        self.generation += 1

    # -- invalidations ---------------------------------------------------------------------------
    def add_invalidation(self, inv: Invalidation) -> None:
        batch = self.invalidations.setdefault(inv.distribution_id, [])
        batch.append(inv)
        self.journal.put(NS_INVALIDATION, f"{inv.distribution_id}/{inv.id}", orjson.dumps(inv.record()))
        while len(batch) > MAX_INVALIDATIONS:
            old = batch.pop(0)
            self.journal.delete(NS_INVALIDATION, f"{old.distribution_id}/{old.id}")

    # -- tags ------------------------------------------------------------------------------------
    def set_tags(self, arn: str, tags: dict[str, str]) -> None:
        if tags:
            self.tags[arn] = tags
            self.journal.put(NS_TAGS, arn, orjson.dumps(tags))
        elif arn in self.tags:
            del self.tags[arn]
            self.journal.delete(NS_TAGS, arn)

    # -- persistence -----------------------------------------------------------------------------
    def restore(self, rows: dict[str, list[tuple[str, bytes]]]) -> None:
        for _, value in rows.get(NS_DISTRIBUTION, ()):
            dist = Distribution.from_record(orjson.loads(value))
            self.distributions[dist.id] = dist
        for _, value in rows.get(NS_POLICY, ()):
            policy = Policy.from_record(orjson.loads(value))
            self.policies[(policy.kind, policy.id)] = policy
        for _, value in rows.get(NS_OAC, ()):
            oac = OriginAccessControl.from_record(orjson.loads(value))
            self.oacs[oac.id] = oac
        restored = [Invalidation.from_record(orjson.loads(value)) for _, value in rows.get(NS_INVALIDATION, ())]
        for inv in sorted(restored, key=lambda i: (i.created, i.id)):
            self.invalidations.setdefault(inv.distribution_id, []).append(inv)
        for key, value in rows.get(NS_TAGS, ()):
            self.tags[key] = orjson.loads(value)
        self.generation += 1
        self._notify()

    def reset(self) -> None:
        self.distributions.clear()
        self.policies.clear()
        self.oacs.clear()
        self.invalidations.clear()
        self.tags.clear()
        self.generation += 1
        self._notify()

    def iter_behaviors(self, dist: Distribution) -> Iterator[dict[str, Any]]:
        """The default cache behaviour, then the ordered ones."""
        yield dist.config["DefaultCacheBehavior"]
        yield from (dist.config.get("CacheBehaviors") or {}).get("Items") or ()
