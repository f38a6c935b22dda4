"""botocore as the oracle: its serializers produce the requests we parse, its parsers read what we write."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import botocore.session
import pytest
from botocore.awsrequest import prepare_request_dict
from botocore.model import ServiceModel
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from multidict import CIMultiDict, MultiDict

from miniaws._dev import genspec


@dataclass
class WireRequest:
    method: str
    path: str
    query: MultiDict[str]
    headers: CIMultiDict[str]
    body: bytes | None
    form: dict[str, str]

    @property
    def first_query(self) -> dict[str, str]:
        return {k: self.query[k] for k in self.query}


class Oracle:
    """One botocore service: serialize requests, parse responses, build specs for any operation set."""

    def __init__(self, service: str) -> None:
        session = botocore.session.get_session()
        self.service = service
        self.model: ServiceModel = session.get_service_model(service)
        self.raw = genspec.load_model(service)
        self.protocol = self.model.metadata["protocol"]
        self._serializer = create_serializer(self.protocol, include_validation=False)
        self._parser = create_parser(self.protocol)

    def spec(self, *operations: str) -> dict[str, Any]:
        """A spec for an arbitrary operation set, built in-process (not the committed one)."""
        return genspec.build_spec(self.service, self.raw, list(operations))

    def request(self, operation: str, params: dict[str, Any]) -> WireRequest:
        op = self.model.operation_model(operation)
        req = self._serializer.serialize_to_request(params, op)
        form: dict[str, str] = {}
        if self.protocol == "query":
            # what the wire carries: the urlencoded form, decoded again as a server would
            form = dict(parse_qsl(urlencode(req["body"]), keep_blank_values=True))
            req["body"] = b""
        prepare_request_dict(req, endpoint_url="http://localhost:4566")
        url = urlsplit(req["url"])
        body = req["body"]
        return WireRequest(
            method=req["method"], path=url.path,
            query=MultiDict(parse_qsl(url.query, keep_blank_values=True)),
            headers=CIMultiDict({k: str(v) for k, v in req["headers"].items()}),
            body=body if isinstance(body, bytes) else None, form=form,
        )

    def parse(self, operation: str, status: int, headers: dict[str, str], body: bytes | None) -> Any:
        shape = self.model.operation_model(operation).output_shape
        response = {"status_code": status, "headers": CIMultiDict(headers), "body": body or b""}
        parsed = self._parser.parse(response, shape)
        parsed.pop("ResponseMetadata", None)
        return normalize(parsed)


def normalize(value: Any) -> Any:
    """datetimes -> epoch seconds, recursively, so parsed output compares with our result dicts."""
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: normalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value


@pytest.fixture(scope="session")
def oracle() -> Callable[[str], Oracle]:
    cache: dict[str, Oracle] = {}

    def get(service: str) -> Oracle:
        if service not in cache:
            cache[service] = Oracle(service)
        return cache[service]

    return get


@pytest.fixture(scope="session")
def s3(oracle: Callable[[str], Oracle]) -> Oracle:
    return oracle("s3")


@pytest.fixture(scope="session")
def sts(oracle: Callable[[str], Oracle]) -> Oracle:
    return oracle("sts")
