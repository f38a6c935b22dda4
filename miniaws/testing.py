"""Run miniaws inside your own test suite: a context manager and pytest fixtures (auto-registered plugin).

    from miniaws.testing import miniaws_server
    with miniaws_server() as aws:                 # free port, in memory, background thread
        s3 = boto3.client("s3", endpoint_url=aws.endpoint_url, ...)

With pytest, the `miniaws` fixture (session scope) yields the same handle; `miniaws_reset` clears its state.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from miniaws.config import Config, load_config
from miniaws.server import ServerThread


class MiniAws:
    """A running miniaws: its endpoint and helpers to make clients for it."""

    def __init__(self, thread: ServerThread) -> None:
        self._thread = thread
        self.endpoint_url = thread.endpoint_url
        self.region = thread.server.config.region

    @property
    def server_thread(self) -> ServerThread:
        return self._thread

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client pointed at this server (dummy credentials unless given)."""
        import boto3

        kwargs.setdefault("region_name", self.region)
        kwargs.setdefault("aws_access_key_id", "test")
        kwargs.setdefault("aws_secret_access_key", "test")
        return boto3.client(service, endpoint_url=self.endpoint_url, **kwargs)

    def reset(self) -> None:
        self._thread.call(self._thread.server.reset())


@contextlib.contextmanager
def miniaws_server(config: Config | None = None, **settings: Any) -> Iterator[MiniAws]:
    """Start miniaws on free loopback ports (API, DNS and edge; ephemeral unless told otherwise) and stop it on exit."""
    if config is None:
        settings.setdefault("port", 0)
        settings.setdefault("dns_port", 0)
        settings.setdefault("edge_port", 0)
        settings.setdefault("ephemeral", True)
        config = load_config(env={}, overrides=settings)
    thread = ServerThread(config).start()
    try:
        yield MiniAws(thread)
    finally:
        thread.stop()


@pytest.fixture(scope="session")
def miniaws() -> Iterator[MiniAws]:
    """A miniaws server for the whole test session (in memory, free port)."""
    with miniaws_server() as server:
        yield server


@pytest.fixture
def miniaws_reset(miniaws: MiniAws) -> Iterator[MiniAws]:
    """The session server, cleared before the test."""
    miniaws.reset()
    yield miniaws
