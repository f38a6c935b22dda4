"""The REST half shared by rest-xml and rest-json: routing a method + path + query + headers to an
operation, binding uri labels / query strings / headers to input members, and rendering output members
that live in the status line and headers. Bodies are the concern of rest_xml.py (and rest_json.py).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from miniaws.protocols.querystring import percent_decode
from miniaws.protocols.shapes import BadValue, Shapes, TextReader, TextWriter

_LABEL = re.compile(r"\{([^}]+)\}")


class _Route:
    __slots__ = ("name", "literal", "required_query", "required_headers", "weight")

    def __init__(self, route: Mapping[str, Any]) -> None:
        self.name: str = route["name"]
        self.literal: tuple[tuple[str, str | None], ...] = tuple(sorted(route.get("query", {}).items()))
        self.required_query: tuple[str, ...] = tuple(route.get("requiredQuery", ()))
        self.required_headers: tuple[str, ...] = tuple(route.get("requiredHeaders", ()))
        self.weight = len(self.literal) + len(self.required_query) + len(self.required_headers)

    def accepts(self, query: Mapping[str, str], headers: Mapping[str, str]) -> bool:
        for key, value in self.literal:
            got = query.get(key)
            if got is None or (value is not None and got != value):
                return False
        for key in self.required_query:
            if key not in query:
                return False
        for key in self.required_headers:
            if key not in headers:
                return False
        return True


class _Template:
    __slots__ = ("regex", "labels", "literal_length", "routes", "plain_routes", "_plain_positions", "_by_key")

    def __init__(self, path: str) -> None:
        pattern, literal_length, pos = "", 0, 0
        labels: list[str] = []
        for match in _LABEL.finditer(path):
            literal = path[pos:match.start()]
            pattern += re.escape(literal)
            literal_length += len(literal)
            name = match.group(1)
            pattern += f"({'.+' if name.endswith('+') else '[^/]+'})"
            labels.append(name.rstrip("+"))
            pos = match.end()
        tail = path[pos:]
        pattern += re.escape(tail)
        literal_length += len(tail)
        if path != "/" and not path.endswith("+}"):
            # S3: "/bucket/" (an empty key) addresses the bucket itself; Route 53 and CloudFront templates
            # end with "/" or not, and SDKs differ: the trailing slash is optional either way
            pattern = pattern.rstrip("/") + "/?"
        #: one capturing group per label, in order (literals are escaped, the optional slash is not a group)
        self.regex = re.compile(pattern)
        self.labels: list[str] = labels
        self.literal_length = literal_length
        self.routes: list[_Route] = []
        #: the routes a request without a query string can reach (the hot GetObject/PutObject case)
        self.plain_routes: list[_Route] = []
        self._plain_positions: list[int] = []
        #: query key -> positions in `routes` of the routes that need that key (each route under one key)
        self._by_key: dict[str, list[int]] = {}

    def add(self, route: _Route) -> None:
        self.routes.append(route)
        # most specific first: more literal query keys / required members win ties on the same path
        self.routes.sort(key=lambda r: (-r.weight, r.name))
        self._plain_positions = [i for i, r in enumerate(self.routes) if not r.literal and not r.required_query]
        self.plain_routes = [self.routes[i] for i in self._plain_positions]
        # A route that needs query keys can only accept a query that has all of them, so it is indexed under
        # one (its literal key shared by the fewest routes here): a request then checks the plain routes and
        # the routes indexed under its own keys, instead of all of them (S3 has 10-34 routes per path shape).
        counts: dict[str, int] = {}
        for r in self.routes:
            for key in {key for key, _ in r.literal} | set(r.required_query):
                counts[key] = counts.get(key, 0) + 1
        self._by_key = {}
        for position, r in enumerate(self.routes):
            keys = [key for key, _ in r.literal] or list(r.required_query)
            if keys:
                key = min(keys, key=lambda k: (counts[k], k))
                self._by_key.setdefault(key, []).append(position)

    def candidates(self, query: Mapping[str, str]) -> list[_Route]:
        """The routes that may accept `query`, in priority order (a superset of those that do)."""
        if not query:
            return self.plain_routes
        positions: list[int] | None = None
        by_key = self._by_key
        for key in query:
            hit = by_key.get(key)
            if hit is not None:
                positions = hit if positions is None else positions + hit
        if positions is None:
            return self.plain_routes
        routes = self.routes
        return [routes[i] for i in sorted(set(positions).union(self._plain_positions))]


class RestRouter:
    """Finds the operation a path-style REST request addresses, among *all* operations of the service."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        templates: dict[tuple[str, str], _Template] = {}
        for route in spec["routes"]:
            if "shadowedBy" in route:  # same wire signature as the route it names (see genspec)
                continue
            key = (route["method"].upper(), route["path"])
            if key not in templates:
                templates[key] = _Template(route["path"])
            templates[key].add(_Route(route))
        self._by_method: dict[str, list[_Template]] = {}
        for (method, _path), template in sorted(templates.items()):
            self._by_method.setdefault(method, []).append(template)
        for group in self._by_method.values():
            # a literal path ("/WriteGetObjectResponse") beats a label that would also match it
            group.sort(key=lambda t: (-t.literal_length, len(t.labels)))

    def match(self, method: str, path: str, query: Mapping[str, str],
              headers: Mapping[str, str]) -> tuple[str, dict[str, str]] | None:
        """(operation, decoded labels) for a raw (percent-encoded) path, or None. `query` maps each key
        to its first value ("" for a bare key); `headers` must be case-insensitive."""
        for template in self._by_method.get(method.upper(), ()):
            match = template.regex.fullmatch(path)
            if match is None:
                continue
            for route in template.candidates(query):
                if route.accepts(query, headers):
                    # percent_decode (unquote) leaves '+' alone: in a path it is a literal plus, not a space
                    labels = {name: percent_decode(value) for name, value in zip(template.labels, match.groups())}
                    return route.name, labels
        return None


def _values(query: Any, key: str) -> list[str]:
    getall = getattr(query, "getall", None)
    values = getall(key) if getall is not None else query[key]
    return [values] if isinstance(values, str) else list(values)


class RestInput:
    """Binds the non-body parts of a request to input members, typed; built once per operation."""

    def __init__(self, shapes: Shapes, input_ref: Mapping[str, Any] | None) -> None:
        self.uri: list[tuple[str, str, TextReader]] = []
        self.query: dict[str, tuple[str, TextReader, bool]] = {}
        self.query_map: tuple[str, TextReader, bool] | None = None
        self.headers: dict[str, tuple[str, TextReader, bool]] = {}
        self.header_maps: list[tuple[str, str, TextReader]] = []
        self.payload: str | None = None
        self.payload_ref: Mapping[str, Any] | None = None
        #: members carried in the body when there is no payload member (Route 53 style)
        self.has_body_members = False
        if input_ref is None:
            return
        shape = shapes.shapes[input_ref["shape"]]
        self.payload = shape.get("payload")
        self.payload_ref = shape["members"][self.payload] if self.payload else None
        for name, ref in shape["members"].items():
            location = ref.get("location")
            wire = ref.get("locationName", name)
            kind = shapes.type_of(ref)
            if location == "uri":
                self.uri.append((wire, name, shapes.text_reader(ref)))
            elif location == "querystring":
                if kind == "map":
                    value = shapes.shapes[ref["shape"]]["value"]
                    value_is_list = shapes.type_of(value) == "list"
                    reader = shapes.text_reader(shapes.shapes[value["shape"]]["member"] if value_is_list
                                                else value)
                    self.query_map = (name, reader, value_is_list)
                elif kind == "list":
                    self.query[wire] = (name, shapes.text_reader(shapes.shapes[ref["shape"]]["member"]), True)
                else:
                    self.query[wire] = (name, shapes.text_reader(ref), False)
            elif location == "header":
                # RFC 9110: an unparsable date in If-Modified-Since & co. is ignored, not an error
                self.headers[wire.lower()] = (name, shapes.text_reader(ref), kind == "timestamp")
            elif location == "headers":
                value_ref = shapes.shapes[ref["shape"]]["value"]
                self.header_maps.append((wire.lower(), name, shapes.text_reader(value_ref)))
            elif location is None and name != self.payload:
                self.has_body_members = True

    def bind(self, labels: Mapping[str, str], query: Any, headers: Mapping[str, str]) -> dict[str, Any]:
        """Typed params from uri labels, the query string (multidict or key -> list) and headers.
        Raises BadValue (with `.name` set to the wire name) for a value of the wrong type."""
        out: dict[str, Any] = {}
        wire = ""
        try:
            for wire, name, read in self.uri:
                if wire in labels:
                    out[name] = read(labels[wire])
            for wire in query:
                bound = self.query.get(wire)
                if bound is not None:
                    name, read, is_list = bound
                    if name not in out:
                        values = _values(query, wire)
                        out[name] = [read(v) for v in values] if is_list else read(values[0])
                elif self.query_map is not None:
                    name, read, is_list = self.query_map
                    values = _values(query, wire)
                    out.setdefault(name, {}).setdefault(wire, [read(v) for v in values] if is_list
                                                        else read(values[0]))
            for wire, value in headers.items():
                lowered = wire.lower()
                header = self.headers.get(lowered)
                if header is not None:
                    name, read, lenient = header
                    if name not in out:
                        try:
                            out[name] = read(value)
                        except BadValue:
                            if not lenient:
                                raise
                    continue
                for prefix, name, read in self.header_maps:
                    if lowered.startswith(prefix):
                        # S3 lower-cases user metadata keys; the first of repeated headers wins
                        out.setdefault(name, {}).setdefault(lowered[len(prefix):], read(value))
        except BadValue as exc:
            exc.name = wire
            raise
        return out


class RestOutput:
    """Renders output members bound to the status code and headers; built once per operation."""

    def __init__(self, shapes: Shapes, output_ref: Mapping[str, Any] | None, status: int) -> None:
        self.status = status
        #: member -> (0 header | 1 header map | 2 status code, header name or prefix, writer)
        self.members: dict[str, tuple[int, str, TextWriter]] = {}
        self.body_members: list[str] = []
        self.payload: str | None = None
        if output_ref is None:
            return
        shape = shapes.shapes[output_ref["shape"]]
        self.payload = shape.get("payload")
        for name, ref in shape["members"].items():
            location = ref.get("location")
            wire = ref.get("locationName", name)
            if location == "header":
                self.members[name] = (0, wire, shapes.text_writer(ref, "rfc822"))
            elif location == "headers":
                value_ref = shapes.shapes[ref["shape"]]["value"]
                self.members[name] = (1, wire, shapes.text_writer(value_ref, "rfc822"))
            elif location == "statusCode":
                self.members[name] = (2, wire, str)
            elif location is None and name != self.payload:
                self.body_members.append(name)

    def head(self, result: Mapping[str, Any]) -> tuple[int, dict[str, str]]:
        """(status, headers) for the members of `result` that live outside the body."""
        status, headers = self.status, {}
        members = self.members
        for name, value in result.items():
            bound = members.get(name)
            if bound is None or value is None:
                continue
            kind, wire, write = bound
            if kind == 0:
                if not (isinstance(value, list) and not value):  # botocore: an empty list sends no header
                    headers[wire] = write(value)
            elif kind == 1:
                for key, item in value.items():
                    headers[wire + key] = write(item)
            else:
                status = int(value)
        return status, headers
