"""boto3 against one real server per session, hosted in a background thread with its own loop (DESIGN §9)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig

from miniaws.testing import MiniAws


@pytest.fixture(scope="session")
def endpoint(miniaws: MiniAws) -> str:
    return miniaws.endpoint_url


def make_client(endpoint: str, service: str, **kwargs: Any) -> Any:
    kwargs.setdefault("region_name", "us-east-1")
    kwargs.setdefault("aws_access_key_id", "test")
    kwargs.setdefault("aws_secret_access_key", "test")
    config = kwargs.pop("config", BotoConfig(retries={"max_attempts": 1}))
    return boto3.client(service, endpoint_url=endpoint, config=config, **kwargs)


@pytest.fixture(scope="session")
def s3(endpoint: str) -> Any:
    return make_client(endpoint, "s3")


@pytest.fixture(scope="session")
def s3_vhost(endpoint: str) -> Any:
    """Virtual-hosted-style addressing: requests carry `Host: <bucket>.s3.localhost:<port>`.

    `*.localhost` resolves to loopback where the system resolver follows RFC 6761 (systemd-resolved, macOS);
    CI's glibc may not, so the connection goes to 127.0.0.1 while the signed Host header keeps the bucket.
    """
    url = endpoint.replace("127.0.0.1", "s3.localhost")
    client = make_client(url, "s3", config=BotoConfig(s3={"addressing_style": "virtual"},
                                                      retries={"max_attempts": 1}))

    def connect_to_loopback(request: Any, **_: Any) -> None:
        host = request.url.split("/")[2]
        request.headers["Host"] = host
        request.url = request.url.replace(host.rsplit(":", 1)[0], "127.0.0.1", 1)

    client.meta.events.register_last("before-send.s3", connect_to_loopback)
    return client


@pytest.fixture
def bucket(s3: Any) -> Iterator[str]:
    name = f"test-{uuid.uuid4().hex[:20]}"
    s3.create_bucket(Bucket=name)
    yield name
