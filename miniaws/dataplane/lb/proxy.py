"""Proxying one request to an ip or instance target: over a pooled upstream connection (`upstream`), or as a
WebSocket relay.

Bodies up to `BUFFER_LIMIT` are read whole and go out in one write each way; larger or unframed ones stream with
backpressure on both sides. A target that refuses or breaks the connection is a 502; one that cannot be connected
to within 10 seconds, or sends nothing within the idle timeout, a 504 (https://docs.aws.amazon.com/
elasticloadbalancing/latest/application/load-balancer-troubleshooting.html). Once the status line is sent all the
load balancer can do about a failing target is close the client's connection. A WebSocket upgrade is opened to the
target first, then accepted from the client, and messages are relayed both ways until either side closes (its
close code is passed on).
"""
from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from miniaws.dataplane.lb import forwarding, responses
from miniaws.dataplane.lb.targets import LiveTarget, TargetPool, stickiness_cookies
from miniaws.dataplane.lb.upstream import TargetFailed, TargetTimeout

if TYPE_CHECKING:
    from miniaws.dataplane.lb.plane import LoadBalancerPlane, RouteTable

log = logging.getLogger("miniaws.lb")

#: bodies up to this size are read whole (one write each way); larger ones stream
BUFFER_LIMIT = 1024 * 1024
#: ALB gives up connecting to a target after 10 seconds and answers 504 (load-balancer-troubleshooting.html
#: #http-504-issues)
CONNECT_TIMEOUT = 10.0
_DROP_RESPONSE = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                            "proxy-authorization", "te", "trailer", "trailers", "transfer-encoding", "upgrade",
                            "content-length"})
_WS_HANDSHAKE = ("Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol",
                 "Sec-WebSocket-Accept")
_WS_FAILURES = (aiohttp.ClientConnectionError, aiohttp.ClientResponseError, ConnectionError)


def reply(answer: responses.Reply) -> web.Response:
    return web.Response(status=answer.status, body=answer.body, headers=answer.headers)


def wants_websocket(request: web.BaseRequest) -> bool:
    headers = request.headers
    return ("Upgrade" in headers and request.method == "GET" and headers["Upgrade"].lower() == "websocket"
            and "upgrade" in headers.get("Connection", "").lower())


def tls_facts(request: web.BaseRequest) -> tuple[str, str] | None:
    """(protocol version, cipher suite) of a TLS client connection."""
    transport = request.transport
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return None
    cipher = ssl_object.cipher()
    return str(ssl_object.version() or ""), str(cipher[0] if cipher else "")


def forwarded(request: web.BaseRequest, table: "RouteTable", source: str, peer: Any) -> list[tuple[bytes, bytes]]:
    settings = table.forward
    return forwarding.headers(request.raw_headers, settings, source, peer[1] if peer else None,
                              tls_facts(request) if settings.tls_headers else None)


async def proxy_http(plane: "LoadBalancerPlane", request: web.BaseRequest, table: "RouteTable", pool: TargetPool,
                     live: LiveTarget, source: str, peer: Any, stick: list[str],
                     close_after: bool) -> web.StreamResponse:
    fields = forwarded(request, table, source, peer)
    method = request.method
    body: bytes | None = None
    stream: Any = None
    length: int | None = None
    if request.body_exists:
        length = request.content_length
        if request.headers.get("Expect", "").lower() == "100-continue":
            # ALB answers 100-continue itself and sends the target the whole request
            await request.writer.write(b"HTTP/%d.%d 100 Continue\r\n\r\n" % request.version)
        if length is not None and length <= BUFFER_LIMIT:
            body = await request.read()
        else:
            stream = request.content
    elif request.content_length is not None:
        body = b""
    if body is not None:
        fields.append((b"Content-Length", b"%d" % len(body)))
    elif stream is not None:
        fields.append((b"Content-Length", b"%d" % length) if length is not None
                      else (b"Transfer-Encoding", b"chunked"))
    head = forwarding.request_head(method, request.raw_path, fields)
    idle = table.idle_timeout
    upstream = plane.upstream
    try:
        conn = await upstream.acquire(live.host, live.port, pool.protocol == "HTTPS", CONNECT_TIMEOUT)
    except TargetTimeout:
        return reply(responses.error(504))
    except TargetFailed as exc:
        log.debug("target %s:%d failed: %s", live.host, live.port, exc)
        return reply(responses.error(502))
    done = False
    try:
        try:
            conn.begin(idle, method == "HEAD")
            if stream is None:
                conn.write(head + body if body else head)
            else:
                conn.write(head)
                chunked = length is None
                async for piece in stream.iter_any():
                    conn.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                    await conn.drain()
                if chunked:
                    conn.write(b"0\r\n\r\n")
            answer = await conn.response_head()
        except TargetTimeout:
            return reply(responses.error(504))
        except TargetFailed as exc:
            log.debug("target %s:%d failed: %s", live.host, live.port, exc)
            return reply(responses.error(502))
        kept = [(name, value) for name, value in answer.headers if name.lower() not in _DROP_RESPONSE]
        out_headers: CIMultiDict[str] = CIMultiDict(kept)
        app_cookie = pool.app_cookie_name if pool.stickiness == "app_cookie" else ""
        # application-based stickiness starts when the target sets its cookie
        app_cookie_set = bool(app_cookie) and any(
            value.split("=", 1)[0].strip() == app_cookie for value in out_headers.getall("Set-Cookie", ()))
        for cookie in stick:
            out_headers.add("Set-Cookie", cookie)
        if app_cookie_set:
            for cookie in stickiness_cookies("AWSALBAPP-0", pool.cookie_for(live), pool.app_cookie_seconds,
                                             cors=False):
                out_headers.add("Set-Cookie", cookie)
        if close_after:
            out_headers["Connection"] = "close"
        status, reason = answer.status, answer.reason or None
        if method == "HEAD" or status in (204, 304):
            response = web.StreamResponse(status=status, reason=reason, headers=out_headers)
            declared = next((value for name, value in answer.headers if name.lower() == "content-length"), None)
            if method == "HEAD" and declared is not None and declared.isdigit():
                response.content_length = int(declared)
            await response.prepare(request)
            await response.write_eof()
            done = True
            return response
        if answer.length is not None and answer.length <= BUFFER_LIMIT:
            try:
                whole = conn.complete_body()
                if whole is None:
                    whole = await conn.read_all()
            except TargetTimeout:
                return reply(responses.error(504))
            except TargetFailed as exc:
                log.debug("target %s:%d failed: %s", live.host, live.port, exc)
                return reply(responses.error(502))
            done = True
            return web.Response(status=status, reason=reason, headers=out_headers, body=whole)
        response = web.StreamResponse(status=status, reason=reason, headers=out_headers)
        if answer.length is not None:
            response.content_length = answer.length
        await response.prepare(request)
        try:
            while True:
                piece = await conn.read()
                if not piece:
                    break
                await response.write(piece)
        except TargetFailed as exc:
            # the status is sent: all ALB can do now is close the client's connection too
            log.debug("target %s:%d failed mid-body: %s", live.host, live.port, exc)
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        done = True
        return response
    finally:
        if done and not close_after:
            upstream.release(conn, idle)
        else:
            upstream.discard(conn)


async def proxy_websocket(plane: "LoadBalancerPlane", request: web.BaseRequest, table: "RouteTable",
                          pool: TargetPool, live: LiveTarget, source: str, peer: Any,
                          stick: list[str]) -> web.StreamResponse:
    """An upgrade to a websocket: open one to the target first (its failure is the usual 502/504), then accept
    the client's and relay messages both ways until either side closes."""
    skip = {name.lower() for name in _WS_HANDSHAKE}  # the client session makes its own handshake
    headers: CIMultiDict[str] = CIMultiDict(
        (name.decode("latin-1"), value.decode("latin-1")) for name, value in forwarded(request, table, source, peer)
        if name.decode("latin-1").lower() not in skip)
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    protocols = [p.strip() for p in offered.split(",") if p.strip()]
    url = URL(f"{'wss' if pool.protocol == 'HTTPS' else 'ws'}://{netloc(live.host, live.port)}"
              f"{request.raw_path}", encoded=True)
    try:
        upstream = await asyncio.wait_for(plane.session.ws_connect(
            url, headers=headers, protocols=protocols, ssl=False, max_msg_size=0, autoping=True,
            autoclose=True), table.idle_timeout)
    except asyncio.TimeoutError:
        return reply(responses.error(504))
    except _WS_FAILURES as exc:  # a refused connection, or a target that does not upgrade
        log.debug("target %s:%d refused the websocket: %s", live.host, live.port, exc)
        return reply(responses.error(502))
    client = web.WebSocketResponse(protocols=(upstream.protocol,) if upstream.protocol else (),
                                   max_msg_size=0, autoping=True)
    for cookie in stick:
        client.headers.add("Set-Cookie", cookie)
    try:
        await client.prepare(request)
        relays = [asyncio.ensure_future(_relay(upstream, client)), asyncio.ensure_future(_relay(client, upstream))]
        try:
            await asyncio.wait(relays, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for relay in relays:
                relay.cancel()
            await asyncio.gather(*relays, return_exceptions=True)
        # pass on the close code of the side that closed first
        code = (upstream.close_code if upstream.closed else client.close_code) or 1000
        if code in (1005, 1006, 1015):  # reserved: never sent in a close frame
            code = 1011 if code == 1006 else 1000
        await client.close(code=code)
        await upstream.close(code=code)
        return client
    finally:
        if not upstream.closed:
            await upstream.close()


async def _relay(source: Any, sink: Any) -> None:
    """Messages from one websocket to the other until `source` closes (or fails)."""
    async for message in source:
        if message.type == aiohttp.WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        else:  # ERROR: the connection broke
            break


def netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
