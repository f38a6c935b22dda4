"""Custom origin names resolved the way a CloudFront edge in front of Route 53 would see them: from miniaws's own
hosted zones when one holds the name (so a Route 53 failover or weighted change moves edge traffic), honouring the
answer's TTL on the injected clock; from the system resolver otherwise.

The zone answers come from the Route 53 resolver in-process (its bytes-in, bytes-out `handle`), never over UDP.
"""
from __future__ import annotations

import socket
from collections.abc import Callable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver
from dnslib import QTYPE, RCODE, DNSRecord

from miniaws.core.clock import Clock

#: (query bytes, client address, tcp) → response bytes, or None (the Route 53 resolver's `handle`)
ZoneAnswer = Callable[[bytes, str, bool], "bytes | None"]
_FAMILIES = {socket.AF_INET: "A", socket.AF_INET6: "AAAA"}
MAX_CACHED_NAMES = 1024


class ZoneResolver(AbstractResolver):
    def __init__(self, answer: ZoneAnswer, clock: Clock, fallback: AbstractResolver | None = None) -> None:
        self._answer = answer
        self._clock = clock
        #: the system resolver, made on first use (aiohttp's needs the running loop)
        self._fallback = fallback
        #: (name, record type) → (expires on clock.monotonic(), addresses, or None: in no hosted zone)
        self._cache: dict[tuple[str, str], tuple[float, list[str] | None]] = {}

    def lookup(self, host: str, qtype: str) -> list[str] | None:
        """Addresses for `host` from the hosted zones (following CNAMEs they hold), [] when a zone holds the name
        with no such records, None when no zone holds it."""
        name = host.rstrip(".").lower()
        now = self._clock.monotonic()
        cached = self._cache.get((name, qtype))
        if cached is not None and now < cached[0]:
            return cached[1]
        reply = self._answer(DNSRecord.question(name, qtype).pack(), "127.0.0.1", False)
        if reply is None:
            return None
        parsed = DNSRecord.parse(reply)
        if parsed.header.rcode == RCODE.REFUSED:
            # not in any hosted zone: remember that briefly, then ask the system resolver
            self._remember(name, qtype, now + 5.0, None)
            return None
        wanted = getattr(QTYPE, qtype)
        records = [rr for rr in parsed.rr if rr.rtype == wanted]
        addresses = [str(rr.rdata) for rr in records]
        ttl = min((rr.ttl for rr in records), default=0)
        if not addresses:
            targets = [str(rr.rdata).rstrip(".") for rr in parsed.rr if rr.rtype == QTYPE.CNAME]
            if targets and targets[-1].lower() != name:
                return self.lookup(targets[-1], qtype)
        self._remember(name, qtype, now + ttl, addresses)
        return addresses

    def _remember(self, name: str, qtype: str, expires: float, addresses: list[str] | None) -> None:
        if len(self._cache) >= MAX_CACHED_NAMES:
            self._cache.clear()
        self._cache[(name, qtype)] = (expires, addresses)

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        families = [family] if family in _FAMILIES else [socket.AF_INET, socket.AF_INET6]
        results: list[ResolveResult] = []
        held = False
        for fam in families:
            addresses = self.lookup(host, _FAMILIES[fam])
            if addresses is None:
                continue
            held = True
            results += [ResolveResult(hostname=host, host=a, port=port, family=fam, proto=0,
                                      flags=socket.AI_NUMERICHOST) for a in addresses]
        if held:
            if not results:
                raise OSError(f"{host} has no address records in its hosted zone")
            return results
        if self._fallback is None:
            self._fallback = ThreadedResolver()
        return await self._fallback.resolve(host, port, family)

    async def close(self) -> None:
        if self._fallback is not None:
            await self._fallback.close()
