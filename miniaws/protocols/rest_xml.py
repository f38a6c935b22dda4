"""The rest-xml codec (S3, Route 53, CloudFront): request parsing and response/error rendering, sans-IO.

Routing lives in rest.py (`RestRouter`); this module binds the request once routed and renders results.
Streaming payloads (S3 object bodies) are never touched here: the caller streams them both ways.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from miniaws.core.errors import AwsError, NotImplementedOperation
from miniaws.protocols.errors import InvalidArgument, MalformedXML
from miniaws.protocols.rest import RestInput, RestOutput
from miniaws.protocols.shapes import BadValue, Shapes, XmlReader, XmlWriter, compiled
from miniaws.protocols.xml import XML_DECLARATION, PreRendered, XmlError, element, escape_attr, parse

XML_CONTENT_TYPE = "application/xml"


def _xmlns(shapes: Shapes, *sources: Mapping[str, Any]) -> str:
    """The namespace attribute of a response root: the first declared on the ref/shape, else the service's."""
    for source in sources:
        ns = source.get("xmlNamespace")
        if ns:
            uri = ns if isinstance(ns, str) else ns["uri"]
            prefix = "" if isinstance(ns, str) or not ns.get("prefix") else f":{ns['prefix']}"
            return f' xmlns{prefix}="{escape_attr(uri)}"'
    default = shapes.metadata.get("xmlNamespace")
    return f' xmlns="{escape_attr(default)}"' if default else ""


class _Operation:
    """Everything rest-xml needs for one operation, compiled once."""

    def __init__(self, shapes: Shapes, name: str) -> None:
        op = shapes.spec["operations"][name]
        self.input = RestInput(shapes, op.get("input"))
        self.output = RestOutput(shapes, op.get("output"), int(op["http"].get("responseCode", 200)))
        self.body_reader: XmlReader | None = None
        if self.input.payload_ref is not None:
            if shapes.type_of(self.input.payload_ref) == "structure":
                self.body_reader = shapes.xml_reader(self.input.payload_ref)
        elif self.input.has_body_members:
            self.body_reader = shapes.xml_reader(op["input"])

        #: "xml" (render body_writer), "text" (encode a str/bytes payload) or None (no body / streamed)
        self.body_kind: str | None = None
        self.body_writer: XmlWriter | None = None
        output_ref = op.get("output")
        if output_ref is None:
            return
        shape = shapes.shapes[output_ref["shape"]]
        if self.output.payload is not None:
            ref = shape["members"][self.output.payload]
            target = shapes.shapes[ref["shape"]]
            if target["type"] == "structure":
                tag = ref.get("locationName") or target.get("locationName") or ref["shape"]
                self.body_writer = shapes.xml_writer(ref, tag, _xmlns(shapes, ref, target))
                self.body_kind = "xml"
            elif target["type"] == "string" and not ref.get("streaming"):
                self.body_kind = "text"  # e.g. GetBucketPolicy: the JSON document is the whole body
        elif self.output.body_members:
            tag = shape.get("locationName") or output_ref["shape"]
            self.body_writer = shapes.xml_writer(output_ref, tag, _xmlns(shapes, output_ref, shape))
            self.body_kind = "xml"


#: (id(spec), operation) → its compiled binding: one lookup, where a request used to pay three compiled() + memo()
#: calls (specs are module constants; the entry keeps the spec it was built from, so a recycled id() is caught)
_OPERATIONS: dict[tuple[int, str], tuple[Mapping[str, Any], _Operation]] = {}


def _operation(spec: Mapping[str, Any], name: str) -> _Operation:
    found = _OPERATIONS.get((id(spec), name))
    if found is not None and found[0] is spec:
        return found[1]
    if name not in spec["operations"]:
        raise NotImplementedOperation(spec["metadata"]["serviceId"], name)
    shapes = compiled(spec)
    op = shapes.memo(("rest-xml", name), lambda: _Operation(shapes, name))
    _OPERATIONS[(id(spec), name)] = (spec, op)
    return op


def _invalid_argument(exc: BadValue) -> InvalidArgument:
    name = exc.name or "value"
    if exc.kind == "integer":
        message = f"Provided {name} not an integer or within integer range"
    else:
        message = f"Provided {name} is not a valid {exc.kind}"
    return InvalidArgument(message, ArgumentName=name, ArgumentValue=exc.value)


def parse_request(spec: Mapping[str, Any], operation: str, labels: Mapping[str, str], query: Any,
                  headers: Mapping[str, str], body: bytes | None) -> dict[str, Any]:
    """Typed input params (member names as boto3 uses them) from a routed request.

    `query` is a multidict or a key -> list-of-values mapping; `headers` a case-insensitive mapping.
    A streaming payload (PutObject/UploadPart Body) is left out: the caller reads it from the socket.
    """
    op = _operation(spec, operation)
    try:
        params = op.input.bind(labels, query, headers)
    except BadValue as exc:
        raise _invalid_argument(exc) from None
    if op.body_reader is not None and body:
        try:
            value = op.body_reader(parse(body))
        except (XmlError, BadValue):
            raise MalformedXML() from None
        if op.input.payload is not None:
            params[op.input.payload] = value
        else:
            params.update(value)
    return params


def _render(writer: XmlWriter, value: Any) -> bytes:
    out = [XML_DECLARATION]
    writer(value, out)
    return "".join(out).encode()


def serialize_response(spec: Mapping[str, Any], operation: str,
                       result: Mapping[str, Any]) -> tuple[int, dict[str, str], bytes | None]:
    """(status, headers, body) for an operation's result. Absent (or None) members are omitted. For a
    blob/streaming payload the body is None and the caller sends `result[payload]` itself."""
    op = _operation(spec, operation)
    status, headers = op.output.head(result)
    body: bytes | None = None
    if op.body_kind == "xml":
        assert op.body_writer is not None
        value = result.get(op.output.payload) if op.output.payload is not None else result
        if value is not None:
            body = _render(op.body_writer, value)
            headers.setdefault("Content-Type", XML_CONTENT_TYPE)
    elif op.body_kind == "text":
        assert op.output.payload is not None
        text = result.get(op.output.payload)
        if text is not None:
            body = text.encode() if isinstance(text, str) else bytes(text)
    return status, headers, body


def output_payload(spec: Mapping[str, Any], operation: str) -> str | None:
    """The output member that is the whole body (S3 GetObject's Body), if the operation has one."""
    return _operation(spec, operation).output.payload


def prerender_item(spec: Mapping[str, Any], operation: str, member: str, value: Mapping[str, Any]) -> PreRendered:
    """Render one entry of the list member `member` of an operation's output, for caching by the caller
    (S3 caches each object's listing entry: objects are immutable, and listings dominate the cost)."""
    shapes = compiled(spec)
    output = spec["operations"][operation]["output"]
    ref = shapes.shapes[output["shape"]]["members"][member]
    traits = shapes.traits(ref)
    item_ref = traits["member"]
    tag = shapes.member_tag(member, ref) if traits.get("flattened") else shapes.name_of(item_ref, "member")
    out: list[str] = []
    shapes.xml_writer(item_ref, tag)(value, out)
    return PreRendered("".join(out))


def serialize_error(spec: Mapping[str, Any], error: AwsError, request_id: str, *,
                    host_id: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) for an error. S3 uses a bare <Error> root; Route 53 and CloudFront the
    namespaced <ErrorResponse> form. HEAD responses must drop the body: that is the caller's call."""
    code, message = error.error_code, error.message or ""
    extra = "".join(element(name, value) for name, value in error.fields.items())
    if spec["metadata"].get("serviceId") == "S3":
        # https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html#RESTErrorResponses
        host = element("HostId", host_id) if host_id is not None else ""
        text = (f"{XML_DECLARATION}<Error>{element('Code', code)}{element('Message', message)}{extra}"
                f"{element('RequestId', request_id)}{host}</Error>")
    else:
        ns = spec["metadata"].get("xmlNamespace")
        xmlns = f' xmlns="{escape_attr(ns)}"' if ns else ""
        kind = "Sender" if error.sender_fault else "Receiver"
        text = (f"{XML_DECLARATION}<ErrorResponse{xmlns}><Error>{element('Type', kind)}{element('Code', code)}"
                f"{element('Message', message)}{extra}</Error>{element('RequestId', request_id)}</ErrorResponse>")
    headers = {"Content-Type": XML_CONTENT_TYPE, **error.headers}
    return error.status, headers, text.encode()
