"""One listener's socket (an aiohttp low-level server, TLS-terminating for HTTPS) and the request path through it:
rules by priority → action → target group → target → proxied request or function invocation.

Proxying follows https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html
(X-Forwarded-For by `routing.http.xff_header_processing.mode`, X-Forwarded-Proto, X-Forwarded-Port — the port the
client connected to, which is the bound port) and load-balancer-request-tracing.html (X-Amzn-Trace-Id: a new Root,
or `Self` added to an incoming Root). Hop-by-hop headers are not forwarded. A target that refuses or breaks the
connection is a 502, one that does not answer within the idle timeout a 504, no registered target a 503
(load-balancer-troubleshooting.html); the load balancer's own answers never carry a traceback. A WebSocket upgrade
is opened to the target first, then accepted from the client, and messages are relayed both ways until either side
closes (its close code is passed on).
"""
from __future__ import annotations

import asyncio
import logging
import ssl
import time
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from miniaws.core.ids import hex_id
from miniaws.dataplane.lb import functions, responses
from miniaws.dataplane.lb.rules import RequestFacts
from miniaws.dataplane.lb.targets import LiveTarget, TargetPool, decode_cookie, encode_cookie

if TYPE_CHECKING:
    from miniaws.dataplane.lb.plane import Action, LoadBalancerPlane, RouteTable

log = logging.getLogger("miniaws.lb")

SHUTDOWN_GRACE_SECONDS = 5.0
#: bodies up to this size are read whole (one write each way); larger ones stream
BUFFER_LIMIT = 1024 * 1024
#: Lambda targets take request bodies up to 1 MB (lambda-functions.html)
MAX_LAMBDA_BODY = 1024 * 1024
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
                         "te", "trailer", "trailers", "transfer-encoding", "upgrade"})
_DROP_RESPONSE = _HOP_BY_HOP | {"content-length"}
_WS_HANDSHAKE = ("Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Extensions", "Sec-WebSocket-Protocol",
                 "Sec-WebSocket-Accept")
_TARGET_FAILURES = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError,
                    ConnectionError)


class ListenerServer:
    def __init__(self, plane: "LoadBalancerPlane", listener_arn: str, host: str,
                 context: ssl.SSLContext | None) -> None:
        self.plane = plane
        self.listener_arn = listener_arn
        self.host = host
        self.context = context
        self.scheme = "https" if context is not None else "http"
        self.port = 0
        self._runner: web.ServerRunner | None = None

    async def start(self, port: int) -> int:
        loop = asyncio.get_running_loop()

        def make_request(message: Any, payload: Any, protocol: Any, writer: Any, task: Any) -> web.BaseRequest:
            return web.BaseRequest(message, payload, protocol, writer, task, loop, client_max_size=1 << 62)

        server = web.Server(self._handle, request_factory=make_request, access_log=None)
        runner = web.ServerRunner(server, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, port, ssl_context=self.context, reuse_address=True)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- one request ----------------------------------------------------------------------------------
    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        table = self.plane.table(self.listener_arn)
        if table is None:  # the listener is being deleted
            return _reply(responses.error(503))
        self.plane.lb_request(table.lb.arn)
        raw_host = request.headers.get("Host", "")
        host = raw_host.rsplit(":", 1)[0] if not raw_host.endswith("]") else raw_host
        path, _, query = request.raw_path.partition("?")
        peer = request.transport.get_extra_info("peername") if request.transport is not None else None
        source = str(peer[0]) if peer else ""
        facts = RequestFacts(request.method, host, path, query, request.headers, source)
        action = table.default
        for predicate, candidate in table.rules:
            if predicate(facts):
                action = candidate
                break
        try:
            if action.kind == "fixed-response":
                assert action.reply is not None
                return _reply(action.reply)
            if action.kind == "redirect":
                origin = responses.Origin(self.scheme, host, self.port, path, query)
                ports = table.ports
                return _reply(responses.redirect(action.redirect, origin, lambda p: ports.get(p, p)))
            return await self._forward(request, table, action, facts, peer)
        except Exception:
            log.exception("load balancer request %s %s failed", request.method, request.raw_path)
            self.plane.elb_error(table.lb.arn, 502)
            return _reply(responses.error(502))

    async def _forward(self, request: web.BaseRequest, table: "RouteTable", action: "Action", facts: RequestFacts,
                       peer: Any) -> web.StreamResponse:
        plane = self.plane
        cookies: dict[str, str] = {}
        stick: list[str] = []
        if len(action.groups) == 1:
            tg_arn: str | None = action.groups[0][0]
        else:
            cookies = dict(request.cookies)
            tg_arn = self._pick_group(action, cookies.get("AWSALBTG"))
            if tg_arn is not None and action.group_stickiness:
                # target group stickiness: AWSALBTG names the group (sticky-sessions.html#sticky-sessions-target-group)
                stick += _cookies("AWSALBTG", encode_cookie(tg_arn), action.group_stickiness)
        pool = plane.pools.get(tg_arn) if tg_arn else None
        live = None
        if pool is not None:
            sticky = None
            if pool.stickiness is not None:
                cookies = cookies or dict(request.cookies)
                name = "AWSALB" if pool.stickiness == "lb_cookie" else "AWSALBAPP-0"
                sticky = pool.from_cookie(cookies.get(name))
            live = pool.choose(sticky)
        if tg_arn is None or pool is None or live is None:
            plane.elb_error(table.lb.arn, 503)
            return _reply(responses.error(503))
        if pool.stickiness == "lb_cookie":
            stick += _cookies("AWSALB", pool.cookie_for(live), pool.lb_cookie_seconds)
        live.in_flight += 1
        live.requests += 1
        started = time.perf_counter()
        try:
            if pool.target_type == "lambda":
                response = await self._invoke(request, pool, live, facts, stick)
            else:
                response = await self._proxy(request, table, pool, live, facts, peer, stick)
        finally:
            live.in_flight -= 1
            if live.draining:
                pool.expire()
        if response.headers.get("Server") == responses.SERVER and response.status >= 500:
            plane.elb_error(table.lb.arn, response.status)
        else:
            # a websocket's lifetime is no response time
            plane.record(tg_arn, response.status,
                         None if response.status == 101 else time.perf_counter() - started, table.lb.arn)
        return response

    def _pick_group(self, action: "Action", cookie: str | None) -> str | None:
        weighted = [(arn, weight) for arn, weight in action.groups if weight > 0]
        if not weighted:
            return None
        if action.group_stickiness and cookie:
            parts = decode_cookie(cookie)
            if parts and any(arn == parts[0] for arn, _ in weighted):
                return parts[0]
        arns, weights = zip(*weighted)
        return str(self.plane.rng.choices(arns, weights=weights)[0])

    # -- ip and instance targets ------------------------------------------------------------------------
    async def _proxy(self, request: web.BaseRequest, table: "RouteTable", pool: TargetPool, live: LiveTarget,
                     facts: RequestFacts, peer: Any, stick: list[str]) -> web.StreamResponse:
        if _wants_websocket(request):
            return await self._proxy_websocket(request, table, pool, live, facts, peer, stick)
        headers = self._forward_headers(request, table, facts, peer)
        data: Any = None
        if request.body_exists:
            length = request.content_length
            data = await request.read() if length is not None and length <= BUFFER_LIMIT else request.content
        url = URL(f"{'https' if pool.protocol == 'HTTPS' else 'http'}://{_netloc(live.host, live.port)}"
                  f"{request.raw_path}", encoded=True)
        idle = table.idle_timeout
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=idle, sock_read=idle)
        try:
            async with self.plane.session.request(request.method, url, headers=headers, data=data,
                                                  allow_redirects=False, timeout=timeout) as upstream:
                out_headers = CIMultiDict((k, v) for k, v in upstream.headers.items()
                                          if k.lower() not in _DROP_RESPONSE)
                for cookie in stick:
                    out_headers.add("Set-Cookie", cookie)
                if pool.stickiness == "app_cookie" and pool.app_cookie_name and any(
                        c.split("=", 1)[0].strip() == pool.app_cookie_name
                        for c in upstream.headers.getall("Set-Cookie", ())):
                    # application-based stickiness starts when the target sets its cookie
                    for cookie in _cookies("AWSALBAPP-0", pool.cookie_for(live), pool.app_cookie_seconds, cors=False):
                        out_headers.add("Set-Cookie", cookie)
                length = upstream.content_length
                if request.method == "HEAD" or upstream.status in (204, 304):
                    response = web.StreamResponse(status=upstream.status, reason=upstream.reason,
                                                  headers=out_headers)
                    if length is not None and request.method == "HEAD":
                        response.content_length = length
                    await response.prepare(request)
                    await response.write_eof()
                    return response
                if length is not None and length <= BUFFER_LIMIT:
                    body = await upstream.read()
                    return web.Response(status=upstream.status, reason=upstream.reason, headers=out_headers,
                                        body=body)
                response = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=out_headers)
                if length is not None:
                    response.content_length = length
                await response.prepare(request)
                try:
                    async for chunk in upstream.content.iter_any():
                        await response.write(chunk)
                except (asyncio.TimeoutError, *_TARGET_FAILURES):
                    # the status is sent: all ALB can do now is close the client's connection too
                    if request.transport is not None:
                        request.transport.close()
                    return response
                await response.write_eof()
                return response
        except asyncio.TimeoutError:
            return _reply(responses.error(504))
        except _TARGET_FAILURES as exc:
            log.debug("target %s:%d failed: %s", live.host, live.port, exc)
            return _reply(responses.error(502))

    async def _proxy_websocket(self, request: web.BaseRequest, table: "RouteTable", pool: TargetPool,
                               live: LiveTarget, facts: RequestFacts, peer: Any,
                               stick: list[str]) -> web.StreamResponse:
        """An upgrade to a websocket: open one to the target first (its failure is the usual 502/504), then
        accept the client's and relay messages both ways until either side closes."""
        headers = self._forward_headers(request, table, facts, peer)
        for name in _WS_HANDSHAKE:  # the client session makes its own handshake
            headers.popall(name, None)
        offered = request.headers.get("Sec-WebSocket-Protocol", "")
        protocols = [p.strip() for p in offered.split(",") if p.strip()]
        url = URL(f"{'wss' if pool.protocol == 'HTTPS' else 'ws'}://{_netloc(live.host, live.port)}"
                  f"{request.raw_path}", encoded=True)
        try:
            upstream = await asyncio.wait_for(self.plane.session.ws_connect(
                url, headers=headers, protocols=protocols, ssl=False, max_msg_size=0, autoping=True,
                autoclose=True), table.idle_timeout)
        except asyncio.TimeoutError:
            return _reply(responses.error(504))
        except _TARGET_FAILURES as exc:  # a refused connection, or a target that does not upgrade
            log.debug("target %s:%d refused the websocket: %s", live.host, live.port, exc)
            return _reply(responses.error(502))
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

    def _forward_headers(self, request: web.BaseRequest, table: "RouteTable", facts: RequestFacts,
                         peer: Any) -> CIMultiDict[str]:
        incoming = request.headers
        headers = CIMultiDict(incoming)
        connection = incoming.get("Connection")
        drop = set(_HOP_BY_HOP)
        if connection:
            drop.update(token.strip().lower() for token in connection.split(","))
        for name in list(headers.keys()):
            if name.lower() in drop:
                headers.popall(name, None)
        mode = table.xff_mode
        if mode == "remove":
            headers.popall("X-Forwarded-For", None)
        elif mode == "append":
            client = facts.source
            if table.xff_client_port and peer:
                client = f"[{client}]:{peer[1]}" if ":" in client else f"{client}:{peer[1]}"
            existing = incoming.get("X-Forwarded-For")
            headers["X-Forwarded-For"] = f"{existing}, {client}" if existing else client
        headers["X-Forwarded-Proto"] = self.scheme
        headers["X-Forwarded-Port"] = str(self.port)
        headers["X-Amzn-Trace-Id"] = _trace(incoming.get("X-Amzn-Trace-Id"))
        return headers

    # -- lambda targets ---------------------------------------------------------------------------------
    async def _invoke(self, request: web.BaseRequest, pool: TargetPool, live: LiveTarget,
                      facts: RequestFacts, stick: list[str]) -> web.StreamResponse:
        invoker = self.plane.invoker
        if invoker is None:
            return _reply(responses.error(502))
        body = await request.read() if request.body_exists else b""
        if len(body) > MAX_LAMBDA_BODY:
            return _reply(responses.error(413))
        event = functions.event(pool.arn, request.method, facts.path, facts.query, CIMultiDict(request.headers),
                                body, pool.multi_value_headers)
        try:
            payload, failed = await invoker.invoke_for_target(live.host, event)
        except Exception as exc:  # an unknown or throttled function: ALB answers for it
            log.info("lambda target %s failed: %s", live.host, exc)
            return _reply(responses.error(503 if "TooManyRequests" in type(exc).__name__ else 502))
        if failed:
            return _reply(responses.error(502))
        try:
            status, headers, out = functions.response(payload, pool.multi_value_headers)
        except functions.BadFunctionResponse as exc:
            log.info("lambda target %s: %s", live.host, exc)
            return _reply(responses.error(502))
        out_headers: CIMultiDict[str] = CIMultiDict((k, v) for k, v in headers if k.lower() not in _DROP_RESPONSE)
        for cookie in stick:
            out_headers.add("Set-Cookie", cookie)
        return web.Response(status=status, headers=out_headers, body=out)


def _wants_websocket(request: web.BaseRequest) -> bool:
    return (request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket"
            and "upgrade" in request.headers.get("Connection", "").lower())


async def _relay(source: Any, sink: Any) -> None:
    """Messages from one websocket to the other until `source` closes (or fails)."""
    async for message in source:
        if message.type == aiohttp.WSMsgType.TEXT:
            await sink.send_str(message.data)
        elif message.type == aiohttp.WSMsgType.BINARY:
            await sink.send_bytes(message.data)
        else:  # ERROR: the connection broke
            break


def _reply(reply: responses.Reply) -> web.Response:
    return web.Response(status=reply.status, body=reply.body, headers=reply.headers)


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _cookies(name: str, value: str, seconds: int, cors: bool = True) -> list[str]:
    """Set-Cookie values for a stickiness cookie and (as ALB sends) its CORS twin with SameSite=None."""
    expires = formatdate(time.time() + seconds, usegmt=True)
    out = [f"{name}={value}; Expires={expires}; Path=/"]
    if cors:
        out.append(f"{name}CORS={value}; Expires={expires}; Path=/; SameSite=None; Secure")
    return out


def _trace(incoming: str | None) -> str:
    """X-Amzn-Trace-Id to send on: keep a valid incoming Root and add Self, else start a new Root."""
    stamp = f"1-{int(time.time()):08x}-{hex_id(12)}"
    if incoming and "Root=" in incoming:
        fields = [f for f in incoming.split(";") if f and not f.startswith("Self=")]
        return ";".join([f"Self={stamp}", *fields])
    return f"Root={stamp}"

