"""The rest-json codec (Lambda): request parsing and response/error rendering, sans-IO.

Routing and the members bound to the path, query string, headers and status line are shared with rest-xml
(rest.py); this module owns the JSON bodies: plain orjson, blobs as base64, timestamps as epoch seconds
(DESIGN §4). A blob payload (Invoke's Payload) is the raw body both ways.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from miniaws.core.errors import AwsError, NotImplementedOperation
from miniaws.protocols.rest import RestInput, RestOutput
from miniaws.protocols.shapes import BadValue, Ref, Shapes, compiled, parse_timestamp

JSON_CONTENT_TYPE = "application/json"
Convert = Callable[[Any], Any]


class InvalidRequestContentException(AwsError):
    """A body that is not JSON, or not a JSON object where one is expected (Lambda's wording and code)."""

    status = 400


class ValidationException(AwsError):
    """A header, query-string or path value of the wrong type (e.g. MaxItems=abc)."""

    status = 400


def _identity(value: Any) -> Any:
    return value


# --- converters: JSON-decoded values <-> typed params, built once per shape -------------------------------

def _decode_blob(value: Any) -> bytes:
    if not isinstance(value, str):
        raise BadValue("base64 blob", repr(value))
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise BadValue("base64 blob", value[:64]) from None


def _encode_blob(value: Any) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else bytes(value)).decode("ascii")


def _read_timestamp(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return parse_timestamp(str(value))


def _write_timestamp(value: Any) -> Any:
    # rest-json's default timestampFormat is unixTimestamp; Lambda's own "timestamps" are ISO strings in
    # string shapes, which pass through untouched
    if isinstance(value, str):
        return value
    epoch = value.timestamp() if hasattr(value, "timestamp") else float(value)
    return int(epoch) if epoch == int(epoch) else epoch


class _Converters:
    """Readers (wire → params) and writers (result → wire) per shape; identity where nothing changes."""

    def __init__(self, shapes: Shapes) -> None:
        self.shapes = shapes
        self._needs: dict[str, bool] = {}

    def _needs_conversion(self, shape_name: str, seen: frozenset[str] = frozenset()) -> bool:
        cached = self._needs.get(shape_name)
        if cached is not None:
            return cached
        if shape_name in seen:
            return False
        shape = self.shapes.shapes[shape_name]
        kind = shape["type"]
        inner = seen | {shape_name}
        if kind in ("blob", "timestamp"):
            result = True
        elif kind == "structure":
            result = any(ref.get("locationName", name) != name or self._needs_conversion(ref["shape"], inner)
                         for name, ref in shape["members"].items())
        elif kind == "list":
            result = self._needs_conversion(shape["member"]["shape"], inner)
        elif kind == "map":
            result = self._needs_conversion(shape["value"]["shape"], inner)
        else:
            result = False
        if not seen:
            self._needs[shape_name] = result
        return result

    def reader(self, ref: Ref) -> Convert:
        return self.shapes.memo(("json-r", ref["shape"]), lambda: self._build(ref["shape"], reading=True))

    def writer(self, ref: Ref) -> Convert:
        return self.shapes.memo(("json-w", ref["shape"]), lambda: self._build(ref["shape"], reading=False))

    def _build(self, shape_name: str, reading: bool) -> Convert:
        if not self._needs_conversion(shape_name):
            return _identity
        shape = self.shapes.shapes[shape_name]
        kind = shape["type"]
        if kind == "blob":
            return _decode_blob if reading else _encode_blob
        if kind == "timestamp":
            return _read_timestamp if reading else _write_timestamp
        sub = self.reader if reading else self.writer
        if kind == "list":
            item_ref = shape["member"]

            def convert_list(value: Any) -> Any:
                item = sub(item_ref)
                return [item(v) for v in value] if isinstance(value, list) else value

            return convert_list
        if kind == "map":
            value_ref = shape["value"]

            def convert_map(value: Any) -> Any:
                item = sub(value_ref)
                return {k: item(v) for k, v in value.items()} if isinstance(value, dict) else value

            return convert_map
        # structure: (wire key, member name, ref) — converters resolved lazily so recursive shapes work
        members = [(ref.get("locationName", name), name, ref) for name, ref in shape["members"].items()]

        def convert_struct(value: Any) -> Any:
            if not isinstance(value, dict):
                return value
            out: dict[str, Any] = {}
            for wire, name, ref in members:
                src, dst = (wire, name) if reading else (name, wire)
                if src in value and value[src] is not None:
                    out[dst] = sub(ref)(value[src])
            return out

        return convert_struct


class _Operation:
    """Everything rest-json needs for one operation, compiled once."""

    def __init__(self, shapes: Shapes, name: str) -> None:
        op = shapes.spec["operations"][name]
        conv = shapes.memo("json-converters", lambda: _Converters(shapes))
        self.input = RestInput(shapes, op.get("input"))
        self.output = RestOutput(shapes, op.get("output"), int(op["http"].get("responseCode", 200)))
        #: "blob" (raw body), "json" (a structure payload or the body members) or None
        self.body_in: str | None = None
        self.read_body: Convert = _identity
        self.body_member_names: tuple[str, ...] = ()
        input_ref = op.get("input")
        if self.input.payload_ref is not None:
            if shapes.type_of(self.input.payload_ref) in ("blob", "string"):
                self.body_in = "blob"
            else:
                self.body_in = "json"
                self.read_body = conv.reader(self.input.payload_ref)
        elif input_ref is not None and self.input.has_body_members:
            self.body_in = "json"
            self.read_body = conv.reader(input_ref)
            shape = shapes.shapes[input_ref["shape"]]
            self.body_member_names = tuple(n for n, r in shape["members"].items() if r.get("location") is None)

        self.body_out: str | None = None
        self.write_body: Convert = _identity
        output_ref = op.get("output")
        if output_ref is None:
            return
        if self.output.payload is not None:
            ref = shapes.shapes[output_ref["shape"]]["members"][self.output.payload]
            if shapes.type_of(ref) in ("blob", "string"):
                self.body_out = "blob"
            else:
                self.body_out = "json"
                self.write_body = conv.writer(ref)
        elif self.output.body_members:
            self.body_out = "json"
            self.write_body = conv.writer(output_ref)


def _operation(spec: Mapping[str, Any], name: str) -> _Operation:
    if name not in spec["operations"]:
        raise NotImplementedOperation(spec["metadata"]["serviceId"], name)
    shapes = compiled(spec)
    return shapes.memo(("rest-json", name), lambda: _Operation(shapes, name))


def parse_request(spec: Mapping[str, Any], operation: str, labels: Mapping[str, str], query: Any,
                  headers: Mapping[str, str], body: bytes | None) -> dict[str, Any]:
    """Typed input params (member names as boto3 uses them) from a routed request.

    `query` is a multidict or a key -> list-of-values mapping; `headers` a case-insensitive mapping.
    """
    op = _operation(spec, operation)
    try:
        params = op.input.bind(labels, query, headers)
    except BadValue as exc:
        raise ValidationException(f"1 validation error detected: Value '{exc.value}' at '{exc.name}' failed "
                                  f"to satisfy constraint: Member must be a valid {exc.kind}") from None
    if op.body_in == "blob":
        assert op.input.payload is not None
        if body:
            params[op.input.payload] = body
    elif op.body_in == "json" and body and body.strip():
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidRequestContentException(f"Could not parse request body into json: {exc}") from None
        if not isinstance(document, dict):
            raise InvalidRequestContentException("Could not parse request body into json: expected an object")
        try:
            value = op.read_body(document)
        except BadValue as exc:
            raise InvalidRequestContentException(f"Could not parse request body into json: {exc}") from None
        if op.input.payload is not None:
            params[op.input.payload] = value
        else:
            for name in op.body_member_names:
                if name in value:
                    params[name] = value[name]
    return params


def serialize_response(spec: Mapping[str, Any], operation: str,
                       result: Mapping[str, Any]) -> tuple[int, dict[str, str], bytes | None]:
    """(status, headers, body) for an operation's result; absent (or None) members are omitted."""
    op = _operation(spec, operation)
    status, headers = op.output.head(result)
    body: bytes | None = None
    if op.body_out == "blob":
        assert op.output.payload is not None
        value = result.get(op.output.payload)
        if value is not None:
            body = value.encode() if isinstance(value, str) else bytes(value)
    elif op.body_out == "json":
        if op.output.payload is not None:
            value = result.get(op.output.payload)
            if value is not None:
                body = orjson.dumps(op.write_body(value))
        else:
            members = {name: result[name] for name in op.output.body_members if result.get(name) is not None}
            body = orjson.dumps(op.write_body(members))
    if body is not None or status != 204:
        headers.setdefault("Content-Type", JSON_CONTENT_TYPE)
    return status, headers, body


def serialize_error(error: AwsError) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body): the code in `X-Amzn-ErrorType`, `{"Type": "User", "Message": …}` in the body
    (https://docs.aws.amazon.com/lambda/latest/api/CommonErrors.html). An error class may name its message key
    (`json_message_key`): TooManyRequestsException's model spells it `message`."""
    key = getattr(error, "json_message_key", "Message")
    document: dict[str, Any] = {"Type": "User" if error.sender_fault else "Service", key: error.message or ""}
    document.update(error.fields)
    headers = {"Content-Type": JSON_CONTENT_TYPE, "X-Amzn-ErrorType": error.error_code, **error.headers}
    return error.status, headers, orjson.dumps(document)
