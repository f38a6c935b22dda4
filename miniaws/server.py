"""Composition root: builds the journal, the blob store, every service and the listeners, and wires them.

`Server(config).start()` / `.stop()` inside a running loop; `run_in_thread(config)` hosts one on its own loop in a
background thread (tests, embedding). Nothing else in miniaws constructs services or reads global state.
"""
from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from miniaws import __version__
from miniaws.config import Config
from miniaws.core.auth import SigV4Verifier
from miniaws.core.clock import Clock, make_clock
from miniaws.dataplane.dns.forward import Forwarder
from miniaws.dataplane.dns.server import DnsServer
from miniaws.dataplane.edge.server import EdgeServer
from miniaws.dataplane.health import HealthChecker
from miniaws.gateway.app import make_request_handler
from miniaws.gateway.dispatch import Gateway
from miniaws.gateway.http1 import HttpServer
from miniaws.gateway.internal import InternalApi
from miniaws.services.base import Service
from miniaws.state.blobs import BLOB_NS, BlobStore
from miniaws.state.db import open_database
from miniaws.state.journal import Journal, MemoryJournal, SqliteJournal, group_rows

log = logging.getLogger("miniaws")

SHUTDOWN_GRACE_SECONDS = 10.0


class DataDirectoryBusy(RuntimeError):
    """Another miniaws process owns the data directory."""


def build_services(config: Config, clock: Clock, journal: Journal, blobs: BlobStore,
                   endpoint: Callable[[], str] = lambda: "",
                   health: HealthChecker | None = None) -> dict[str, Service]:
    """Every service, constructed with exactly what it needs (explicit wiring, no globals). `endpoint` gives the
    AWS endpoint URL once the listener is bound (functions get it as AWS_ENDPOINT_URL); `health` is the one
    active health checker (Route 53 health checks, load balancer target groups)."""
    from miniaws.services.cloudfront.api import CloudFrontService
    from miniaws.services.elbv2.api import ElbV2Service
    from miniaws.services.kms.api import KmsService
    from miniaws.services.lambda_.api import LambdaService
    from miniaws.services.logs.api import LogsService
    from miniaws.services.route53.api import Route53Service
    from miniaws.services.s3.api import S3Service
    from miniaws.services.s3.origin import S3Origin
    from miniaws.services.sns.api import SnsService
    from miniaws.services.sqs.api import SqsService
    from miniaws.services.sts.api import StsService

    sqs = SqsService(config, clock, journal)
    kms = KmsService(config, clock, journal)
    # Lambda comes first: SNS `lambda` subscriptions and S3 notifications call into it; it calls back into S3
    # (code), SQS (event source mappings, destinations) and SNS (destinations) once they exist (connect below)
    functions = LambdaService(config, clock, journal, blobs, endpoint=endpoint)
    sns = SnsService(config, clock, journal, sqs=sqs, functions=functions, endpoint=endpoint)
    # S3 event notifications go to queues, topics and functions in-process; SSE-KMS data keys come from KMS
    s3 = S3Service(config, clock, journal, blobs, queues=sqs, topics=sns, functions=functions, kms=kms)
    functions.connect(s3=s3, queues=sqs, topics=sns)
    # function output goes to CloudWatch Logs (/aws/lambda/<name>): one store the Logs API reads
    logs = LogsService(config, clock, journal)
    functions.runtime.logs.attach(logs.store, config.account_id, config.region)
    checker = health or HealthChecker(clock)
    route53 = Route53Service(config, clock, journal, checker)
    elbv2 = ElbV2Service(config, clock, journal, checker, functions=functions)
    # load balancers' DNS names (and Route 53 aliases to them) answer from miniaws's DNS server; their changes
    # and their targets' health clear its cached answers
    route53.resolver.external.append(elbv2)
    elbv2.on_change(route53.resolver.invalidate)
    # CloudFront reads S3 origins, resolves origin names and runs Lambda@Edge functions in-process; its
    # distributions' names (and Route 53 aliases to them, zone Z2FDTNDATAQYW2) answer from the DNS server too
    cloudfront = CloudFrontService(config, clock, journal, s3=S3Origin(s3), dns=route53.resolver.handle,
                                   functions=functions)
    route53.resolver.external.append(cloudfront)
    cloudfront.on_change(route53.resolver.invalidate)
    # Started in this order and stopped in reverse: what invokes functions or publishes (CloudFront, load
    # balancers, S3 notifications, SNS) stops before the function runtime, and that before the queues its pollers
    # read and the logs it writes — so a stopping service never starts a worker nobody will stop.
    services: list[Service] = [
        StsService(config),
        kms,
        sqs,
        logs,
        functions,
        sns,
        s3,
        route53,
        elbv2,
        cloudfront,
    ]
    return {svc.name: svc for svc in services}


class Server:
    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or make_clock(config.time_scale)
        self.services: dict[str, Service] = {}
        self.endpoint_url = ""
        self.port = 0
        self.startup_seconds = 0.0
        self._http: HttpServer | None = None
        self._journal: Journal | None = None
        self._blobs: BlobStore | None = None
        self._lock_fd: int | None = None
        #: shared by every service that health-checks (interval_scale: tests and labs need not wait 30 s)
        self.health = HealthChecker(self.clock,
                                    interval_scale=config.health_check_interval_scale / config.time_scale)
        self.dns: DnsServer | None = None
        self.dns_error = ""
        self.edge: EdgeServer | None = None
        self.edge_error = ""

    @property
    def data_path(self) -> Path | None:
        return None if self.config.ephemeral else self.config.data_path.resolve()

    async def start(self) -> None:
        started = time.perf_counter()
        journal: Journal
        rows: dict[str, list[tuple[str, bytes]]] = {}
        data_path = self.data_path
        if data_path is None:
            journal = MemoryJournal()
            blobs = BlobStore(None, journal, self.config.inline_body_limit)
        else:
            data_path.mkdir(parents=True, exist_ok=True)
            self._lock_data_dir(data_path)
            fsync = self.config.durability == "fsync"
            sqlite_journal = SqliteJournal(await open_database(data_path / "state.sqlite3", fsync))
            rows = group_rows(await sqlite_journal.load())
            journal = sqlite_journal
            blobs = BlobStore(data_path / "blobs", journal, self.config.inline_body_limit)
            for blob_id, data in rows.get(BLOB_NS, ()):
                blobs.restore_inline(blob_id, data)
        self._journal, self._blobs = journal, blobs
        self.services = build_services(self.config, self.clock, journal, blobs, lambda: self.endpoint_url,
                                       self.health)
        for service in self.services.values():
            service.restore(rows)
        if data_path is not None:
            referenced: set[str] = set()
            for service in self.services.values():
                referenced.update(getattr(service, "referenced_blobs", lambda: ())())
            await asyncio.to_thread(blobs.collect_garbage, referenced)
        for service in self.services.values():
            await service.start()
        route53: Any = self.services.get("route53")
        if route53 is not None:
            forwarder = Forwarder(self.config.dns_forwarder) if self.config.dns_forwarder else None
            dns = DnsServer(route53.resolver.handle, self.config.host, self.config.dns_port, forwarder)
            try:
                await dns.start()
                self.dns = dns
            except OSError as exc:
                # the AWS API is the main listener; a busy DNS port (another miniaws, a local resolver) only
                # costs the DNS server, and the banner says so
                self.dns_error = f"not started: {dns.host}:{dns.requested_port}: {exc.strerror or exc}"
                log.warning("DNS server %s (set --dns-port, 0 picks a free port)", self.dns_error)
        cloudfront: Any = self.services.get("cloudfront")
        if cloudfront is not None:
            edge = EdgeServer(cloudfront.edge, self.config.host, self.config.edge_port)
            try:
                await edge.start()
                self.edge = edge
            except OSError as exc:
                # like DNS: a busy edge port costs the edge, not the AWS API; the banner says so
                self.edge_error = f"not started: {edge.host}:{edge.requested_port}: {exc.strerror or exc}"
                log.warning("CloudFront edge %s (set --edge-port, 0 picks a free port)", self.edge_error)

        secrets = {c.access_key: c.secret_key for c in self.config.credentials}
        gateway = Gateway(self.config, self.clock, self.services, journal, SigV4Verifier(secrets, self.clock))
        internal = InternalApi(self.services, self.reset, self._info, journal)
        self._http = HttpServer(make_request_handler(gateway, internal))
        addresses = await self._http.start(self.config.host, self.config.port)
        self.port = int(addresses[0][1])
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        self.endpoint_url = f"http://{'127.0.0.1' if host == '0.0.0.0' else shown}:{self.port}"
        self.startup_seconds = time.perf_counter() - started

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.stop(SHUTDOWN_GRACE_SECONDS)  # stops accepting, lets in-flight requests finish
            self._http = None
        if self.dns is not None:
            await self.dns.stop()
            self.dns = None
        if self.edge is not None:
            await self.edge.stop()
            self.edge = None
        # probes first: a load balancer's LAMBDA health checks invoke functions, so none may run once services stop
        await self.health.close()
        for service in reversed(self.services.values()):
            await service.stop()
        if self._journal is not None:
            await self._journal.close()
            self._journal = None
        if self._blobs is not None:
            self._blobs.close()
            self._blobs = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    async def reset(self) -> None:
        for service in self.services.values():
            service.reset()
        if self._journal is not None:
            await self._journal.clear()
        if self._blobs is not None:
            await asyncio.to_thread(self._blobs.clear)

    def banner(self) -> str:
        data = (f"{self.data_path} (durability: {self.config.durability})" if self.data_path is not None
                else "(ephemeral: in memory)")
        lines = [
            f"miniaws {__version__} ready in {self.startup_seconds:.2f} s",
            f"  AWS endpoint    {self.endpoint_url}",
            f"  DNS             udp+tcp {self.dns.address()}" if self.dns is not None else
            f"  DNS             {self.dns_error or 'off'}",
            f"  edge (CloudFront) {self.edge.url}" if self.edge is not None else
            f"  edge (CloudFront) {self.edge_error or 'off'}",
            *self._lb_lines(),
            f"  data directory  {data}",
            f"  auth            {self.config.auth}",
            f"  services        {', '.join(sorted(self.services))}",
        ]
        return "\n".join(lines)

    def _lb_lines(self) -> list[str]:
        """Load balancer listeners as bound (port 80 may be 10080): GET /_miniaws/elbv2/listeners has them too."""
        elbv2: Any = self.services.get("elbv2")
        rows = elbv2.listener_table() if elbv2 is not None else []
        lines = [f"  load balancers  {len(rows)} listener(s), {self.endpoint_url}/_miniaws/elbv2/listeners"]
        for row in rows:
            where = row.get("Url") or f"not bound: {row.get('Error')}"
            lines.append(f"    {row['LoadBalancerName']} {row['Protocol']}:{row['Port']} → {where}")
        return lines

    def _info(self) -> dict[str, object]:
        return {"endpoint": self.endpoint_url, "persistence": self.data_path is not None}

    def _lock_data_dir(self, data_path: Path) -> None:
        fd = os.open(data_path / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise DataDirectoryBusy(f"another miniaws process is using {data_path}") from None
        self._lock_fd = fd


class ServerThread:
    """A Server on its own event loop in a daemon thread (sync callers such as boto3 must not share its loop)."""

    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.server = Server(config, clock)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def endpoint_url(self) -> str:
        return self.server.endpoint_url

    def start(self, timeout: float = 30.0) -> "ServerThread":
        self._thread = threading.Thread(target=self._run, name="miniaws-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("miniaws did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def _run(self) -> None:
        loop = _new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self.server.start())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self.server.stop())
            _cancel_remaining(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's loop from another thread and return its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)


def _cancel_remaining(loop: asyncio.AbstractEventLoop) -> None:
    """Idle keep-alive connection handlers may outlive the runner's shutdown; end them before the loop closes."""
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency where it installs
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


@contextlib.contextmanager
def run_in_thread(config: Config, clock: Clock | None = None) -> Iterator[ServerThread]:
    handle = ServerThread(config, clock).start()
    try:
        yield handle
    finally:
        handle.stop()
