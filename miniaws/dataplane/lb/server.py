"""One listener's socket (an aiohttp low-level server, TLS-terminating for HTTPS) and the request path through it:
desync check → rules by priority → action → target group → target → proxied request (`proxy`) or function
invocation. No registered target is a 503 (load-balancer-troubleshooting.html); the load balancer's own answers
never carry a traceback.

Client connections follow the load balancer's attributes: one idle for `idle_timeout.timeout_seconds` is closed
(edit-load-balancer-attributes.html#connection-idle-timeout; the value in force when the connection opened), and
`routing.http.desync_mitigation_mode` decides about each request (`desync`). A request the HTTP parser cannot read
gets ALB's own 400 page and the connection is closed.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from multidict import CIMultiDict

from miniaws.dataplane.lb import desync, forwarding, functions, responses
from miniaws.dataplane.lb.proxy import proxy_http, proxy_websocket, reply, wants_websocket
from miniaws.dataplane.lb.rules import RequestFacts
from miniaws.dataplane.lb.targets import LiveTarget, TargetPool, decode_cookie, encode_cookie, stickiness_cookies

if TYPE_CHECKING:
    from miniaws.dataplane.lb.plane import Action, LoadBalancerPlane, RouteTable

log = logging.getLogger("miniaws.lb")

SHUTDOWN_GRACE_SECONDS = 5.0
#: Lambda targets take request bodies up to 1 MB (lambda-functions.html)
MAX_LAMBDA_BODY = 1024 * 1024
_DROP_RESPONSE = frozenset({"connection", "keep-alive", "proxy-connection", "proxy-authenticate",
                            "proxy-authorization", "te", "trailer", "trailers", "transfer-encoding", "upgrade",
                            "content-length"})


class _Connection(RequestHandler):
    """aiohttp's per-connection handler, answering what its parser rejects with ALB's 400 page."""

    def handle_error(self, request: web.BaseRequest, status: int = 500, exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        if status != 400:
            return super().handle_error(request, status, exc, message)
        log.debug("load balancer rejected a malformed request: %s", message)
        response = reply(responses.error(400))
        response.force_close()
        return response


class _Server(web.Server):
    """Each new connection gets the load balancer's idle timeout in force now (aiohttp's keep-alive timeout: it
    closes a connection that sends nothing, before its first request and between requests)."""

    def __init__(self, owner: "ListenerServer", *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner

    def __call__(self) -> RequestHandler:
        table = self._owner.plane.table(self._owner.listener_arn)
        return _Connection(self, loop=self._loop, keepalive_timeout=table.idle_timeout if table else 60.0,
                           **self._kwargs)


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

        server = _Server(self, self._handle, request_factory=make_request, access_log=None)
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
            return reply(responses.error(503))
        self.plane.lb_request(table.lb.arn)
        verdict = desync.ALLOW
        if table.desync_mode != "monitor":
            tier, why = desync.classify(request.method, request.version, request.raw_headers)
            verdict = desync.decide(table.desync_mode, tier)
            if verdict == desync.REJECT:
                log.info("load balancer rejected a %s request (%s) under desync mitigation mode %s",
                         desync.TIERS[tier], why, table.desync_mode)
                rejected = reply(responses.error(400))
                rejected.force_close()
                return rejected
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
                return reply(action.reply)
            if action.kind == "redirect":
                origin = responses.Origin(self.scheme, host, self.port, path, query)
                ports = table.ports
                return reply(responses.redirect(action.redirect, origin, lambda p: ports.get(p, p)))
            response = await self._forward(request, table, action, facts, peer, verdict == desync.CLOSE)
            if verdict == desync.CLOSE:
                response.force_close()
            return response
        except Exception:
            log.exception("load balancer request %s %s failed", request.method, request.raw_path)
            self.plane.elb_error(table.lb.arn, 502)
            return reply(responses.error(502))

    async def _forward(self, request: web.BaseRequest, table: "RouteTable", action: "Action", facts: RequestFacts,
                       peer: Any, close_after: bool) -> web.StreamResponse:
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
                stick += stickiness_cookies("AWSALBTG", encode_cookie(tg_arn), action.group_stickiness)
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
            return reply(responses.error(503))
        if pool.stickiness == "lb_cookie":
            stick += stickiness_cookies("AWSALB", pool.cookie_for(live), pool.lb_cookie_seconds)
        live.in_flight += 1
        live.requests += 1
        started = time.perf_counter()
        try:
            if pool.target_type == "lambda":
                response = await self._invoke(request, table, pool, live, facts, stick)
            elif wants_websocket(request):
                response = await proxy_websocket(plane, request, table, pool, live, facts.source, peer, stick)
            else:
                response = await proxy_http(plane, request, table, pool, live, facts.source, peer, stick,
                                            close_after)
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

    # -- lambda targets ---------------------------------------------------------------------------------
    async def _invoke(self, request: web.BaseRequest, table: "RouteTable", pool: TargetPool, live: LiveTarget,
                      facts: RequestFacts, stick: list[str]) -> web.StreamResponse:
        invoker = self.plane.invoker
        if invoker is None:
            return reply(responses.error(502))
        body = await request.read() if request.body_exists else b""
        if len(body) > MAX_LAMBDA_BODY:
            return reply(responses.error(413))
        sent: CIMultiDict[str] = CIMultiDict(request.headers)
        if table.forward.drop_invalid:
            sent = CIMultiDict((k, v) for k, v in sent.items() if forwarding.valid_name(k.encode("latin-1")))
        event = functions.event(pool.arn, request.method, facts.path, facts.query, sent, body,
                                pool.multi_value_headers)
        try:
            payload, failed = await invoker.invoke_for_target(live.host, event)
        except Exception as exc:  # an unknown or throttled function: ALB answers for it
            log.info("lambda target %s failed: %s", live.host, exc)
            return reply(responses.error(503 if "TooManyRequests" in type(exc).__name__ else 502))
        if failed:
            return reply(responses.error(502))
        try:
            status, headers, out = functions.response(payload, pool.multi_value_headers)
        except functions.BadFunctionResponse as exc:
            log.info("lambda target %s: %s", live.host, exc)
            return reply(responses.error(502))
        out_headers: CIMultiDict[str] = CIMultiDict((k, v) for k, v in headers if k.lower() not in _DROP_RESPONSE)
        for cookie in stick:
            out_headers.add("Set-Cookie", cookie)
        return web.Response(status=status, headers=out_headers, body=out)


