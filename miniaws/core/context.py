"""The per-request context handed to every service operation."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from miniaws.core.clock import Clock

if TYPE_CHECKING:
    from miniaws.gateway.http1 import HttpRequest


@dataclass(slots=True)
class Principal:
    """Who made the request: an access key (or nobody, for anonymous requests)."""

    access_key: str | None
    account_id: str

    @property
    def anonymous(self) -> bool:
        return self.access_key is None

    @property
    def canonical_id(self) -> str:
        """A stable 64-hex canonical user id, like S3's, derived from the access key (or the account)."""
        return _canonical_id(f"key:{self.access_key}" if self.access_key else f"account:{self.account_id}")

    @property
    def display_name(self) -> str:
        return self.access_key.lower() if self.access_key else f"account-{self.account_id}"


@lru_cache(maxsize=256)
def _canonical_id(basis: str) -> str:
    # every S3 write asks for its writer's id (owner): a few keys make nearly all requests, so the hash is memoised
    return hashlib.sha256(basis.encode()).hexdigest()


@dataclass(slots=True)
class RequestContext:
    service: str
    operation: str
    account_id: str
    region: str
    request_id: str
    clock: Clock
    principal: Principal
    #: the HTTP request, for operations that stream their body (S3 PutObject, UploadPart) or read its headers
    request: "HttpRequest | None" = None
    #: anything the gateway learned while routing (e.g. the virtual-hosted bucket)
    extras: dict[str, Any] = field(default_factory=dict)
    #: False when the answer acknowledges none of the request's writes (an SQS standard queue's ReceiveMessage):
    #: the gateway then sends it without waiting for them to commit
    acknowledges_writes: bool = True
