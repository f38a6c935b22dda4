"""`dns_forwarder`: names outside the hosted zones go to an upstream resolver (a tiny asyncio DNS server on
loopback here), over UDP, then TCP when a TCP client's answer came back truncated; SERVFAIL when the upstream
stays silent; hosted zones still answer authoritatively."""
from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from dnslib import QTYPE, RCODE, RR, TXT, A, DNSRecord

from miniaws.config import ConfigError, load_config
from miniaws.dataplane.dns.forward import parse_upstream
from miniaws.server import ServerThread
from tests.api.conftest import make_client
from tests.dataplane.conftest import a_values, change, dig, needs_dig, new_zone, start

BIG = [f"{i:02d}" + "x" * 250 for i in range(8)]


def _answer(data: bytes, tcp: bool) -> bytes | None:
    query = DNSRecord.parse(data)
    name = str(query.q.qname).lower()
    reply = query.reply()
    if name == "silent.upstream.test.":
        return None
    if name == "ext.upstream.test.":
        reply.add_answer(RR("ext.upstream.test.", QTYPE.A, rdata=A("198.51.100.7"), ttl=30))
    elif name == "big.upstream.test.":
        if not tcp:
            reply.header.tc = 1
        else:
            for text in BIG:
                reply.add_answer(RR("big.upstream.test.", QTYPE.TXT, rdata=TXT(text), ttl=30))
    else:
        reply.header.rcode = RCODE.NXDOMAIN
    return reply.pack()


class Upstream:
    """UDP and TCP on one loopback port, on its own loop in a thread; records the query ids it saw."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ids: list[int] = []
        self.port = 0
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> "Upstream":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(5)
        return self

    async def _start(self) -> None:
        upstream = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: Any) -> None:
                upstream.ids.append(int.from_bytes(data[:2], "big"))
                reply = _answer(data, False)
                if reply is not None:
                    self.transport.sendto(reply, addr)

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            length = int.from_bytes(await reader.readexactly(2), "big")
            reply = _answer(await reader.readexactly(length), True)
            if reply is not None:
                writer.write(len(reply).to_bytes(2, "big") + reply)
                await writer.drain()
            writer.close()

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.udp, _ = await self.loop.create_datagram_endpoint(Udp, sock=sock)
        self.tcp = await asyncio.start_server(tcp, "127.0.0.1", self.port)

    def stop(self) -> None:
        async def _stop() -> None:
            self.udp.close()
            self.tcp.close()
            await self.tcp.wait_closed()

        asyncio.run_coroutine_threadsafe(_stop(), self.loop).result(5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    up = Upstream().start()
    yield up
    up.stop()


@pytest.fixture(scope="module")
def forwarding(upstream: Upstream) -> Iterator[ServerThread]:
    thread = start(dns_forwarder=f"127.0.0.1:{upstream.port}")
    yield thread
    thread.stop()


def _port(thread: ServerThread) -> int:
    assert thread.server.dns is not None
    return thread.server.dns.port


def test_outside_names_are_forwarded_with_our_query_id(forwarding: ServerThread, upstream: Upstream) -> None:
    port = _port(forwarding)
    for tcp in (False, True):
        query = DNSRecord.question("ext.upstream.test", "A")
        response = DNSRecord.parse(query.send("127.0.0.1", port, tcp=tcp, timeout=3))
        assert response.header.id == query.header.id
        assert response.header.rcode == RCODE.NOERROR
        assert a_values(response) == ["198.51.100.7"]
    nx = DNSRecord.parse(DNSRecord.question("nope.upstream.test", "A").send("127.0.0.1", port, timeout=3))
    assert nx.header.rcode == RCODE.NXDOMAIN
    assert upstream.ids  # the upstream saw queries (under ids of the forwarder's own choosing)


@needs_dig
def test_dig_through_the_forwarder(forwarding: ServerThread) -> None:
    out = dig(_port(forwarding), "ext.upstream.test")
    assert "status: NOERROR" in out and "198.51.100.7" in out, out


def test_truncated_upstream_answer_retries_over_tcp(forwarding: ServerThread) -> None:
    port = _port(forwarding)
    udp = DNSRecord.parse(DNSRecord.question("big.upstream.test", "TXT").send("127.0.0.1", port, timeout=3))
    assert udp.header.tc == 1 and not udp.rr  # relayed as is: the client retries over TCP
    tcp = DNSRecord.parse(DNSRecord.question("big.upstream.test", "TXT").send("127.0.0.1", port, tcp=True,
                                                                              timeout=3))
    assert tcp.header.tc == 0
    assert sorted(str(rr.rdata).strip('"') for rr in tcp.rr) == BIG


def test_silent_upstream_is_servfail(forwarding: ServerThread) -> None:
    reply = DNSRecord.question("silent.upstream.test", "A").send("127.0.0.1", _port(forwarding), timeout=6)
    assert DNSRecord.parse(reply).header.rcode == RCODE.SERVFAIL


def test_hosted_zones_still_answer_and_tcp_keeps_order(forwarding: ServerThread) -> None:
    r53 = make_client(forwarding.endpoint_url, "route53")
    zone_id, name = new_zone(r53)
    change(r53, zone_id, {"Name": "www." + name, "Type": "A", "TTL": 60,
                          "ResourceRecords": [{"Value": "192.0.2.9"}]})
    port = _port(forwarding)
    own = DNSRecord.parse(DNSRecord.question("www." + name, "A").send("127.0.0.1", port, timeout=3))
    assert own.header.aa and a_values(own) == ["192.0.2.9"]
    # pipelined over one TCP connection: forwarded, ours, forwarded — answered in that order
    queries = [DNSRecord.question("ext.upstream.test", "A"), DNSRecord.question("www." + name, "A"),
               DNSRecord.question("nope.upstream.test", "A")]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"".join(len(q.pack()).to_bytes(2, "big") + q.pack() for q in queries))
        answers = []
        for _ in queries:
            length = int.from_bytes(_read(conn, 2), "big")
            answers.append(DNSRecord.parse(_read(conn, length)))
    assert [a.header.id for a in answers] == [q.header.id for q in queries]
    assert a_values(answers[0]) == ["198.51.100.7"] and a_values(answers[1]) == ["192.0.2.9"]
    assert answers[2].header.rcode == RCODE.NXDOMAIN


def _read(conn: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        assert chunk
        data += chunk
    return data


def test_forwarder_setting_is_parsed_and_checked() -> None:
    assert parse_upstream("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_upstream("[::1]:53") == ("::1", 53)
    assert parse_upstream("192.0.2.1") == ("192.0.2.1", 53)
    assert load_config(env={"MINIAWS_DNS_FORWARDER": "127.0.0.1:5353"}).dns_forwarder == "127.0.0.1:5353"
    assert load_config(env={}).dns_forwarder is None
    with pytest.raises(ConfigError):
        load_config(env={"MINIAWS_DNS_FORWARDER": "127.0.0.1:notaport"})
