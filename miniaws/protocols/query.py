"""The AWS query protocol codec (STS, SNS, ELBv2; SQS's legacy form): form-encoded requests in, XML out.

Requests are `Action=Op&Version=...&Tags.member.1.Key=...` forms; responses are
`<OpResponse><OpResult>…</OpResult><ResponseMetadata>…</ResponseMetadata></OpResponse>` (text/xml).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from miniaws.core.errors import AwsError, NotImplementedOperation, UnknownOperation, ValidationError
from miniaws.protocols.errors import MissingAction
from miniaws.protocols.shapes import BadValue, XmlWriter, compiled, query_tree
from miniaws.protocols.xml import element, escape_attr

CONTENT_TYPE = "text/xml"
_ENVELOPE_KEYS = ("Action", "Version")


def parse_request(spec: Mapping[str, Any], form: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """(operation, typed params) from a decoded form (the POST body, or the query string of a GET)."""
    action = form.get("Action")
    if not action:
        raise MissingAction()
    op = spec["operations"].get(action)
    if op is None:
        if action in spec.get("operationNames", ()):
            raise NotImplementedOperation(spec["metadata"]["serviceId"], action)
        # the wording AWS query services use for an unknown Action
        raise UnknownOperation(f"Could not find operation {action} for version "
                               f"{form.get('Version') or 'NO_VERSION_SPECIFIED'}")
    if "input" not in op:
        return action, {}
    reader = compiled(spec).query_reader(op["input"])
    tree = query_tree({k: v for k, v in form.items() if k not in _ENVELOPE_KEYS})
    try:
        return action, reader(tree)
    except BadValue as exc:
        raise ValidationError(f"Value '{exc.value}' for parameter {exc.name or 'input'} is not a valid "
                              f"{exc.kind}") from None


def _result_writer(spec: Mapping[str, Any], operation: str) -> XmlWriter | None:
    shapes = compiled(spec)

    def build() -> XmlWriter | None:
        output = spec["operations"][operation].get("output")
        if output is None:
            return None
        return shapes.xml_writer(output, output.get("resultWrapper", f"{operation}Result"))

    return shapes.memo(("query-out", operation), build)


def _xmlns(spec: Mapping[str, Any]) -> str:
    ns = spec["metadata"].get("xmlNamespace")
    return f' xmlns="{escape_attr(ns)}"' if ns else ""


def serialize_response(spec: Mapping[str, Any], operation: str, result: Mapping[str, Any],
                       request_id: str) -> bytes:
    """The XML body of a successful response (send it as text/xml)."""
    out = [f"<{operation}Response{_xmlns(spec)}>"]
    writer = _result_writer(spec, operation)
    if writer is not None:
        writer(result, out)
    out.append(f"<ResponseMetadata>{element('RequestId', request_id)}</ResponseMetadata>"
               f"</{operation}Response>")
    return "".join(out).encode()


def serialize_error(spec: Mapping[str, Any], error: AwsError,
                    request_id: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of an error response in the query protocol's <ErrorResponse> form."""
    kind = "Sender" if error.sender_fault else "Receiver"
    extra = "".join(element(name, value) for name, value in error.fields.items())
    body = (f"<ErrorResponse{_xmlns(spec)}><Error>{element('Type', kind)}{element('Code', error.error_code)}"
            f"{element('Message', error.message or '')}{extra}</Error>{element('RequestId', request_id)}"
            f"</ErrorResponse>")
    return error.status, {"Content-Type": CONTENT_TYPE, **error.headers}, body.encode()
