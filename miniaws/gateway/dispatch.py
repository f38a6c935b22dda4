"""One AWS request, end to end (DESIGN §3): route → authenticate → decode → call the service → encode.

The codecs are sans-IO; this module is the only place that adapts them to HTTP requests and responses. A request
that fails in any way gets an AWS-shaped error in its protocol's shape with a request id that is also in the log
line.
"""
from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol, cast

import orjson
from aiohttp import web

from miniaws.config import Config
from miniaws.core.auth import SigV4Verifier, VerifiedRequest
from miniaws.core.clock import Clock
from miniaws.core.context import Principal, RequestContext
from miniaws.core.httpbody import body_left_unread, read_body
from miniaws.core.responses import PlainResponse, Response, StreamedResponse
from miniaws.core.errors import (AwsError, InternalFailure, InvalidAccessKeyId, InvalidClientTokenId,
                                 MissingAuthenticationToken, NotImplementedOperation, UnknownOperation,
                                 UnrecognizedClientException)
from miniaws.core.ids import host_id, request_id, s3_request_id
from miniaws.gateway import routing
from miniaws.gateway.http1 import HttpRequest
from miniaws.protocols import query as query_codec
from miniaws.protocols import rest_json, rest_xml
from miniaws.protocols.querystring import split_query
from miniaws.protocols.rest import RestRouter
from miniaws.services.base import Service
from miniaws.state.journal import Journal

log = logging.getLogger("miniaws.gateway")

_JSON_CONTENT_TYPES = {"1.0": "application/x-amz-json-1.0", "1.1": "application/x-amz-json-1.1"}
_UNKNOWN_KEY_ERRORS: dict[str, type[AwsError]] = {
    "sts": InvalidClientTokenId, "sns": InvalidClientTokenId, "elbv2": InvalidClientTokenId,
    "route53": InvalidClientTokenId, "cloudfront": InvalidClientTokenId,
    "sqs": UnrecognizedClientException, "kms": UnrecognizedClientException, "lambda": UnrecognizedClientException,
    "logs": UnrecognizedClientException,
}


class StreamingBody(Protocol):
    """A response body too large to hold in memory (S3 GetObject): sent piece by piece."""

    content_length: int

    def chunks(self) -> AsyncIterator[bytes]: ...


class Gateway:
    def __init__(self, config: Config, clock: Clock, services: Mapping[str, Service], journal: Journal,
                 verifier: SigV4Verifier) -> None:
        self.config = config
        self.clock = clock
        self.services = dict(services)
        self.journal = journal
        self.verifier = verifier
        self._enforce = config.auth == "enforce"
        # built on a service's first REST request: compiling every route table at start-up cost ~0.15 s
        self._routers: dict[str, RestRouter] = {}

    def _router(self, service: Service) -> RestRouter:
        router = self._routers.get(service.name)
        if router is None:
            router = self._routers[service.name] = RestRouter(service.spec)
        return router

    # -- entry point ------------------------------------------------------------------------------
    async def handle(self, request: HttpRequest) -> Response:
        raw = request.raw_path
        raw_path, _, raw_query = raw.partition("?")
        query_pairs = split_query(raw_query)
        query = dict(query_pairs) if query_pairs else {}
        route = routing.resolve(request.headers, query)
        service = self.services.get(route.service)
        if service is None:
            return _plain_error(404, "UnsupportedService", f"Service {route.service} is not available in miniaws")
        if service.protocol == "rest-xml":
            return await self._handle_rest_xml(request, service, route, raw_path, raw_query, query_pairs, query)
        if service.protocol == "query":
            return await self._handle_query(request, service, route, raw_path, raw_query, query_pairs)
        if service.protocol == "json":
            # SQS still takes its legacy query protocol (older SDKs): a form with Action=…, no X-Amz-Target
            if "query" in getattr(service, "legacy_protocols", ()) and "X-Amz-Target" not in request.headers:
                return await self._handle_query(request, service, route, raw_path, raw_query, query_pairs)
            return await self._handle_json(request, service, route, raw_path, raw_query)
        if service.protocol == "rest-json":
            return await self._handle_rest_json(request, service, route, raw_path, raw_query, query_pairs, query)
        return _plain_error(501, "NotImplemented", f"protocol {service.protocol} is not implemented")

    # -- authentication ---------------------------------------------------------------------------
    def _authenticate(self, request: HttpRequest, route: routing.Route, raw_path: str, raw_query: str,
                      query: Mapping[str, str], signed_body: bytes | None,
                      anonymous_allowed: bool) -> tuple[Principal, VerifiedRequest | None]:
        """`signed_body`: the body whose SHA-256 the signature covers (None for S3, which signs the
        x-amz-content-sha256 header instead). Hashed only when a signature is checked: with auth off that is rare."""
        scope = route.scope
        if scope is None:
            if self._enforce and not anonymous_allowed:
                raise MissingAuthenticationToken()
            return Principal(None, self.config.account_id), None
        verified = None
        presigned = "X-Amz-Signature" in query or "X-Amz-Credential" in query or "Signature" in query
        # With auth off we still reject a tampered or expired presigned URL that carries a key we know:
        # AWS would, and tests that rely on presigning must not pass against us by accident.
        if self._enforce or (presigned and self.verifier.is_known(scope.access_key)):
            body_sha256 = hashlib.sha256(signed_body).hexdigest() if signed_body is not None else None
            try:
                verified = self.verifier.verify(request.method, raw_path, raw_query, request.headers, body_sha256,
                                                virtual_bucket=route.vhost_bucket)
            except InvalidAccessKeyId:
                # S3 says InvalidAccessKeyId; the other protocols have their own code for an unknown key
                raise _UNKNOWN_KEY_ERRORS.get(route.service, InvalidAccessKeyId)() from None
        key = scope.access_key
        account = key if len(key) == 12 and key.isdigit() else self.config.account_id
        return Principal(key, account), verified

    def _context(self, service: Service, operation: str, route: routing.Route, principal: Principal,
                 rid: str, request: HttpRequest) -> RequestContext:
        region = route.scope.region if route.scope is not None and route.scope.region else self.config.region
        return RequestContext(service.name, operation, principal.account_id, region, rid, self.clock, principal,
                              request)

    async def _call(self, service: Service, operation: str, ctx: RequestContext, params: dict[str, Any]) -> Any:
        before = self.journal.write_count
        result = await service.call(operation, ctx, params)
        if self.journal.write_count != before and ctx.acknowledges_writes:
            # the response is an acknowledgement: it goes out only after the batch holding this write commits
            await self.journal.durable()
        return result

    # -- rest-xml (S3, Route 53, CloudFront) -------------------------------------------------------
    async def _handle_rest_xml(self, request: HttpRequest, service: Service, route: routing.Route,
                               raw_path: str, raw_query: str, query_pairs: list[tuple[str, str]],
                               query: dict[str, str]) -> Response:
        is_s3 = service.name == "s3"
        rid = s3_request_id() if is_s3 else request_id()
        operation = "Unknown"
        labels: dict[str, str] = {}
        try:
            path = raw_path
            if route.vhost_bucket is not None:
                path = "/" + route.vhost_bucket + (raw_path if raw_path != "/" else "")
            # an S3 website endpoint (Route.website) serves pages, not the REST API
            matched = None if route.website else self._router(service).match(request.method, path, query,
                                                                                    request.headers)
            if matched is None and is_s3:
                # S3 answers requests botocore's model has no operation for: a CORS preflight (OPTIONS), a browser
                # upload (POST multipart/form-data to the bucket) and website endpoint pages. The S3 service routes
                # them and answers with a whole response (see S3Service.route_unmodelled)
                unmodelled = cast(Any, service).route_unmodelled(request.method, path, request.headers,
                                                                  route.website)
                if unmodelled is not None:
                    operation, labels = unmodelled
                    principal, _ = self._authenticate(request, route, raw_path, raw_query, query, None,
                                                      anonymous_allowed=True)
                    ctx = self._context(service, operation, route, principal, rid, request)
                    answer: Response = await self._call(service, operation, ctx, labels)
                    answer.headers.update(_request_id_headers(is_s3, rid))
                    return answer
            if matched is None:
                raise UnknownOperation(f"Unable to route {request.method} {raw_path} to an operation of {service.name}")
            operation, labels = matched
            if not service.implements(operation):
                raise NotImplementedOperation(service.name, operation)
            streams_input = operation in getattr(service, "streaming_input", ())
            body: bytes | None = None
            if not streams_input:
                body = await read_body(request)
            principal, verified = self._authenticate(request, route, raw_path, raw_query, query,
                                                     None if is_s3 else body,
                                                     anonymous_allowed=is_s3)
            params = rest_xml.parse_request(service.spec, operation, labels, _multi(query_pairs),
                                            request.headers, body)
            ctx = self._context(service, operation, route, principal, rid, request)
            if verified is not None:
                ctx.extras["verified"] = verified
            result = await self._call(service, operation, ctx, params)
            result = result or {}
            status, headers, out = rest_xml.serialize_response(service.spec, operation, result)
            # S3 answers 206 for ranges although the model has no status member for it
            status = result.get("__status__", status)
            headers.update(_request_id_headers(is_s3, rid))
            if is_s3 and "Origin" in request.headers:
                headers.update(_s3_cors_headers(service, request, labels))
            if out is None:
                payload = rest_xml.output_payload(service.spec, operation)
                if payload is not None:
                    value = result.get(payload)
                    if isinstance(value, (bytes, bytearray)):
                        out = bytes(value)
                    elif value is not None:
                        # not isinstance(value, StreamingBody): a runtime Protocol check costs ~80 µs a call
                        return _stream(request, status, headers, value)
            return _response(request, status, headers, out)
        except AwsError as err:
            response = self._rest_xml_error(request, service, operation, err, rid, is_s3)
            if is_s3 and "Origin" in request.headers and operation != "OptionsObject":
                response.headers.update(_s3_cors_headers(service, request, labels))
            return response
        except Exception:
            log.exception("request %s %s %s failed (request id %s)", service.name, operation, raw_path, rid)
            return self._rest_xml_error(request, service, operation, InternalFailure(), rid, is_s3)

    def _rest_xml_error(self, request: HttpRequest, service: Service, operation: str, err: AwsError,
                        rid: str, is_s3: bool) -> web.Response:
        _log_error(service.name, operation, err, rid)
        status, headers, body = rest_xml.serialize_error(service.spec, err, rid, host_id=host_id() if is_s3 else None)
        headers.update(_request_id_headers(is_s3, rid))
        if request.method == "HEAD" or status == 304:
            # HEAD errors and 304 Not Modified carry no body (S3), only the status and headers
            response = web.Response(status=status, headers=headers)
        else:
            response = web.Response(status=status, headers=headers, body=body)
        if body_left_unread(request):
            response.force_close()
        return response

    # -- query (SNS, ELBv2, STS, legacy SQS) ------------------------------------------------------
    async def _handle_query(self, request: HttpRequest, service: Service, route: routing.Route,
                            raw_path: str, raw_query: str,
                            query_pairs: list[tuple[str, str]]) -> Response:
        rid = request_id()
        operation = "Unknown"
        try:
            body = await read_body(request)
            form = dict(query_pairs)
            if body:
                form.update(split_query(body.decode("utf-8", "replace")))
            principal, _ = self._authenticate(request, route, raw_path, raw_query, dict(query_pairs),
                                              body, anonymous_allowed=False)
            operation, params = query_codec.parse_request(service.spec, form)
            ctx = self._context(service, operation, route, principal, rid, request)
            result = await self._call(service, operation, ctx, params)
            out = query_codec.serialize_response(service.spec, operation, result or {}, rid)
            return PlainResponse(200, {"Content-Type": "text/xml", "x-amzn-RequestId": rid}, out)
        except AwsError as err:
            _log_error(service.name, operation, err, rid)
            status, headers, out = query_codec.serialize_error(service.spec, _legacy_coded(err), rid)
        except Exception:
            log.exception("request %s %s failed (request id %s)", service.name, operation, rid)
            status, headers, out = query_codec.serialize_error(service.spec, InternalFailure(), rid)
        headers["x-amzn-RequestId"] = rid
        return web.Response(status=status, headers=headers, body=out)

    # -- rest-json (Lambda) ------------------------------------------------------------------------
    async def _handle_rest_json(self, request: HttpRequest, service: Service, route: routing.Route,
                                raw_path: str, raw_query: str, query_pairs: list[tuple[str, str]],
                                query: dict[str, str]) -> Response:
        rid = request_id()
        operation = "Unknown"
        try:
            matched = self._router(service).match(request.method, raw_path, query, request.headers)
            if matched is None:
                raise UnknownOperation(f"Unable to route {request.method} {raw_path} to an operation of {service.name}")
            operation, labels = matched
            if not service.implements(operation):
                raise NotImplementedOperation(service.name, operation)
            body = await read_body(request)
            principal, _ = self._authenticate(request, route, raw_path, raw_query, query,
                                              body, anonymous_allowed=False)
            params = rest_json.parse_request(service.spec, operation, labels, _multi(query_pairs),
                                             request.headers, body)
            ctx = self._context(service, operation, route, principal, rid, request)
            result = await self._call(service, operation, ctx, params)
            # a function error (Invoke) is not an API error: the service returns it as FunctionError + Payload
            status, headers, out = rest_json.serialize_response(service.spec, operation, result or {})
        except AwsError as err:
            _log_error(service.name, operation, err, rid)
            status, headers, out = rest_json.serialize_error(err)
        except Exception:
            log.exception("request %s %s %s failed (request id %s)", service.name, operation, raw_path, rid)
            status, headers, out = rest_json.serialize_error(InternalFailure())
        headers["x-amzn-RequestId"] = rid
        response = web.Response(status=status, headers=headers, body=out)
        if body_left_unread(request):
            response.force_close()
        return response

    # -- json (SQS, KMS) --------------------------------------------------------------------------
    async def _handle_json(self, request: HttpRequest, service: Service, route: routing.Route,
                           raw_path: str, raw_query: str) -> Response:
        rid = request_id()
        operation = "Unknown"
        content_type = _JSON_CONTENT_TYPES.get(str(service.spec.get("metadata", {}).get("jsonVersion")),
                                               "application/x-amz-json-1.0")
        try:
            body = await read_body(request)
            target = request.headers.get("X-Amz-Target", "")
            prefix = service.spec.get("metadata", {}).get("targetPrefix", "")
            if not target.startswith(prefix + ".") if prefix else "." not in target:
                raise UnknownOperation(f"Unable to determine the operation from X-Amz-Target {target!r}")
            operation = target.rsplit(".", 1)[-1]
            principal, _ = self._authenticate(request, route, raw_path, raw_query, {},
                                              body, anonymous_allowed=False)
            try:
                params = orjson.loads(body) if body else {}
            except orjson.JSONDecodeError:
                raise _json_error("SerializationException", "Malformed JSON body") from None
            if not isinstance(params, dict):
                raise _json_error("SerializationException", "The request body must be a JSON object")
            # a real AWS operation we do not implement answers NotImplemented (Service.call), anything else
            # InvalidAction; `operationNames` lists every operation of the service, `operations` only ours
            known = service.spec.get("operationNames", ()) or service.spec.get("operations", {})
            if operation not in known and not service.implements(operation):
                raise UnknownOperation(f"Operation {operation} is not recognised by {service.name}")
            ctx = self._context(service, operation, route, principal, rid, request)
            result = await self._call(service, operation, ctx, params)
            return PlainResponse(200, {"Content-Type": content_type, "x-amzn-RequestId": rid},
                                 orjson.dumps(result or {}))
        except AwsError as err:
            _log_error(service.name, operation, err, rid)
            return _json_error_response(service, err, rid, content_type)
        except Exception:
            log.exception("request %s %s failed (request id %s)", service.name, operation, rid)
            return _json_error_response(service, InternalFailure(), rid, content_type)


# -- helpers --------------------------------------------------------------------------------------
def _multi(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in pairs:
        out.setdefault(key, []).append(value)
    return out


def _s3_cors_headers(service: Service, request: HttpRequest, labels: Mapping[str, str]) -> dict[str, str]:
    """S3 adds the matching CORS rule's Access-Control-* headers to any response to a request with an Origin
    header (https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html); the bucket's rules decide."""
    headers: dict[str, str] = cast(Any, service).cors_headers(labels.get("Bucket"), request.method,
                                                              request.headers["Origin"])
    return headers


def _request_id_headers(is_s3: bool, rid: str) -> dict[str, str]:
    if is_s3:
        return {"x-amz-request-id": rid, "x-amz-id-2": host_id()}
    return {"x-amzn-RequestId": rid}


def _response(request: HttpRequest, status: int, headers: dict[str, str], body: bytes | bytearray | None
              ) -> PlainResponse:
    if request.method == "HEAD" or body is None:
        return PlainResponse(status, headers)
    return PlainResponse(status, headers, bytes(body))


def _stream(request: HttpRequest, status: int, headers: dict[str, str], body: StreamingBody) -> Response:
    chunks = None if request.method == "HEAD" else body.chunks()
    return StreamedResponse(status, headers, body.content_length, chunks)


def _log_error(service: str, operation: str, err: AwsError, rid: str) -> None:
    log.debug("%s %s -> %s %s (request id %s)", service, operation, err.status, err.error_code, rid)


class _JsonError(AwsError):
    pass


def _json_error(code: str, message: str) -> AwsError:
    err = _JsonError(message)
    err.code = code  # type: ignore[misc]
    return err


def _legacy_coded(err: AwsError) -> AwsError:
    """The error as the query protocol names it: awsQueryCompatible services (SQS) carry their legacy code."""
    query_code = getattr(err, "query_code", None)
    if not query_code or query_code == err.error_code:
        return err
    legacy = copy.copy(err)
    legacy.code = query_code  # type: ignore[misc]
    return legacy


def _json_error_response(service: Service, err: AwsError, rid: str, content_type: str) -> web.Response:
    headers = {"Content-Type": content_type, "x-amzn-RequestId": rid, **err.headers}
    query_code = getattr(err, "query_code", None)
    if query_code:
        # awsQueryCompatible services (SQS): SDKs compare the legacy query error code carried in this header
        headers["x-amzn-query-error"] = f"{query_code};{'Sender' if err.sender_fault else 'Receiver'}"
    body = {"__type": err.error_code, "message": err.message}
    return web.Response(status=err.status, headers=headers, body=orjson.dumps(body))


def _plain_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"__type": code, "message": message}, status=status)


__all__ = ["Gateway", "StreamingBody"]
