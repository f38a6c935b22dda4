"""Compiles a generated SPEC into per-shape reader/writer closures, built once per shape and cached.

The codecs (rest-xml, query, later rest-json) ask `compiled(spec)` for a `Shapes` and pull converters from
it: scalar text conversions (headers, query strings, labels), XML element readers/writers, and readers
for the query protocol's flattened `A.member.1.B` form. Timestamp parsing/formatting lives here too.
"""
from __future__ import annotations

import base64
import binascii
import calendar
import datetime as _dt
import math
import re
import time
from collections.abc import Callable, Hashable, Mapping
from email.utils import parsedate_tz
from typing import Any, TypeVar

from miniaws.protocols.xml import Node, PreRendered, escape_attr, escape_value

Ref = Mapping[str, Any]
TextReader = Callable[[str], Any]
TextWriter = Callable[[Any], str]
XmlReader = Callable[[Node], Any]
XmlWriter = Callable[[Any, list[str]], None]
QueryReader = Callable[[Any], Any]
_T = TypeVar("_T")


class BadValue(ValueError):
    """A wire value that does not fit its shape's type; each codec turns it into its own AWS error."""

    def __init__(self, kind: str, value: str) -> None:
        super().__init__(f"{value!r} is not a valid {kind}")
        self.kind = kind
        self.value = value
        #: the wire name (header, query key, label) it came from, when the binder knows it
        self.name: str | None = None


# --- timestamps -------------------------------------------------------------------------------------

_ISO = re.compile(r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?(?:([Zz])|([+-])(\d\d):?(\d\d))?")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def parse_timestamp(text: str) -> float:
    """Epoch seconds from ISO 8601, RFC 822/1123 or an epoch number (AWS accepts all three on input)."""
    text = text.strip()
    match = _ISO.fullmatch(text)
    if match:
        y, mo, d, h, mi, s, frac, _z, sign, oh, om = match.groups()
        epoch = calendar.timegm((int(y), int(mo), int(d), int(h), int(mi), int(s), 0, 0, 0))
        if sign:
            offset = int(oh) * 3600 + int(om) * 60
            epoch -= offset if sign == "+" else -offset
        return epoch + (float(frac) if frac else 0.0)
    try:
        value = float(text)
        if math.isfinite(value):
            return value
    except ValueError:
        pass
    parsed = parsedate_tz(text)
    if parsed is None:
        raise BadValue("timestamp", text)
    return float(calendar.timegm(parsed[:9]) - (parsed[9] or 0))


def _epoch(value: Any) -> float:
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.timestamp()
    return float(value)


def iso8601(value: Any) -> str:
    """`2009-10-12T17:50:30.000Z` (milliseconds, UTC) from epoch seconds or a datetime."""
    epoch = _epoch(value)
    secs = math.floor(epoch)
    millis = int((epoch - secs) * 1000 + 0.5)
    if millis >= 1000:
        secs, millis = secs + 1, millis - 1000
    t = time.gmtime(secs)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (t[0], t[1], t[2], t[3], t[4], t[5], millis)


def rfc822(value: Any) -> str:
    """`Wed, 12 Oct 2009 17:50:00 GMT` (HTTP date, whole seconds) from epoch seconds or a datetime."""
    t = time.gmtime(math.floor(_epoch(value)))
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (_DAYS[t[6]], t[2], _MONTHS[t[1] - 1], t[0], t[3], t[4], t[5])


def _unix(value: Any) -> str:
    epoch = _epoch(value)
    return str(int(epoch)) if epoch == int(epoch) else repr(epoch)


_TS_FORMATTERS: dict[str, Callable[[Any], str]] = {"iso8601": iso8601, "rfc822": rfc822, "unixtimestamp": _unix}


def timestamp_formatter(fmt: str) -> Callable[[Any], str]:
    """Formatter for a model `timestampFormat`; an already formatted str passes through verbatim (S3
    keeps LastModified pre-formatted because strftime would dominate a 1,000-key listing)."""
    convert = _TS_FORMATTERS[fmt.lower()]

    def format_timestamp(value: Any) -> str:
        return value if value.__class__ is str else convert(value)

    return format_timestamp


# --- scalars ----------------------------------------------------------------------------------------

def _read_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise BadValue("integer", text) from None


def _read_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise BadValue("number", text) from None


def _read_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise BadValue("boolean", text)


def _read_blob(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadValue("base64 blob", text) from None


def _write_bool(value: Any) -> str:
    if isinstance(value, str):
        return "true" if value.lower() == "true" else "false"
    return "true" if value else "false"


def _write_blob(value: Any) -> str:
    return base64.b64encode(value.encode() if isinstance(value, str) else bytes(value)).decode("ascii")


def _write_float(value: Any) -> str:
    return repr(float(value))


_READERS: dict[str, TextReader] = {
    "integer": _read_int, "long": _read_int, "short": _read_int, "byte": _read_int,
    "float": _read_float, "double": _read_float, "boolean": _read_bool, "blob": _read_blob,
    "timestamp": parse_timestamp,
}
_WRITERS: dict[str, TextWriter] = {
    "integer": str, "long": str, "short": str, "byte": str, "float": _write_float, "double": _write_float,
    "boolean": _write_bool, "blob": _write_blob,
}


def _identity(text: str) -> str:
    return text


def _ns_attr(traits: Mapping[str, Any]) -> str:
    ns = traits.get("xmlNamespace")
    if not ns:
        return ""
    if isinstance(ns, str):
        return f' xmlns="{escape_attr(ns)}"'
    name = f"xmlns:{ns['prefix']}" if ns.get("prefix") else "xmlns"
    return f' {name}="{escape_attr(ns["uri"])}"'


class Shapes:
    """The compiled view of one SPEC. Every builder memoises, so a request only runs closures."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.shapes: Mapping[str, Any] = spec["shapes"]
        self.metadata: Mapping[str, Any] = spec["metadata"]
        self._memo: dict[Hashable, Any] = {}

    def memo(self, key: Hashable, build: Callable[[], _T]) -> _T:
        """Per-spec cache for the codecs' own compiled objects (e.g. one binding per operation)."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = build()
            return value

    def traits(self, ref: Ref) -> dict[str, Any]:
        """A member's effective traits: the target shape's, overridden by the reference's (as botocore)."""
        return {**self.shapes[ref["shape"]], **ref}

    def name_of(self, ref: Ref, default: str) -> str:
        """The serialized (element or query) name of a reference: its locationName, or the target shape's."""
        return str(ref.get("locationName") or self.shapes[ref["shape"]].get("locationName") or default)

    def type_of(self, ref: Ref) -> str:
        return str(self.shapes[ref["shape"]]["type"])

    # --- text (headers, query strings, uri labels, XML leaves) ---------------------------------------

    def text_reader(self, ref: Ref) -> TextReader:
        """str -> typed value; any timestamp format is accepted."""
        kind = self.type_of(ref)
        if kind == "list":
            item = self.text_reader(self.shapes[ref["shape"]]["member"])
            # header lists are comma separated (RFC 9110); query-string lists arrive already split
            return lambda text: [item(part.strip()) for part in _split_header_list(text)]
        return _READERS.get(kind, _identity)

    def text_writer(self, ref: Ref, default_timestamp: str) -> TextWriter:
        """typed value -> str for headers and query strings (not escaped)."""
        traits = self.traits(ref)
        kind = traits["type"]
        if kind == "timestamp":
            return timestamp_formatter(traits.get("timestampFormat", default_timestamp))
        if kind == "list":
            item = self.text_writer(traits["member"], default_timestamp)
            return lambda value: ",".join(item(v) for v in value)
        return _WRITERS.get(kind, str)

    # --- XML ------------------------------------------------------------------------------------------

    def xml_writer(self, ref: Ref, tag: str, attrs: str = "") -> XmlWriter:
        """Writer appending `<tag attrs>…</tag>` for a value of `ref` to an output list of str."""
        traits = self.traits(ref)
        key = ("xw", ref["shape"], traits.get("timestampFormat"), tag, attrs)
        if key in self._memo:
            return self._memo[key]
        kind = traits["type"]
        if kind == "structure":
            return self._struct_writer(key, ref["shape"], tag, attrs)
        if kind == "list":
            writer = self._list_writer(traits, tag, attrs)
        elif kind == "map":
            writer = self._map_writer(traits, tag, attrs)
        else:
            writer = self._scalar_writer(self._xml_text(traits), f"<{tag}{attrs}>", f"</{tag}>")
        self._memo[key] = writer
        return writer

    def _xml_text(self, traits: Mapping[str, Any]) -> TextWriter:
        kind = traits["type"]
        if kind == "timestamp":
            return timestamp_formatter(traits.get("timestampFormat", "iso8601"))
        return _WRITERS.get(kind, escape_value)

    @staticmethod
    def _scalar_writer(convert: TextWriter, open_: str, close: str) -> XmlWriter:
        def write(value: Any, out: list[str]) -> None:
            out.append(open_ + convert(value) + close)

        return write

    def member_tag(self, name: str, ref: Ref) -> str:
        """The element name of a structure member (for a flattened list: of each item), as parsers read it."""
        traits = self.traits(ref)
        if traits["type"] == "list" and traits.get("flattened"):
            item_name = self.name_of(traits["member"], "")
            if item_name:
                return item_name
        return self.name_of(ref, name)

    def _struct_writer(self, key: Hashable, shape_name: str, tag: str, attrs: str) -> XmlWriter:
        shape = self.shapes[shape_name]
        body = {n: r for n, r in shape["members"].items() if "location" not in r}
        attr_members = {n: r["locationName"] for n, r in body.items() if r.get("xmlAttribute")}
        text_members = [n for n, r in body.items() if r.get("xmlText")]
        # member -> (open tag, close tag, text converter) for scalars, inlined below because this loop
        # runs for every entry of a 1,000-key listing; or the member's own writer for anything else
        members: dict[str, tuple[str, str, TextWriter] | XmlWriter] = {}
        open_, close = f"<{tag}{attrs}>", f"</{tag}>"

        if not attr_members and not text_members:
            def write(value: Any, out: list[str]) -> None:
                if value.__class__ is PreRendered:
                    out.append(value)
                    return
                append = out.append
                append(open_)
                for name, item in value.items():
                    member = members.get(name)
                    if member is None or item is None:
                        continue
                    if member.__class__ is tuple:
                        append(member[0] + member[2](item) + member[1])
                    else:
                        member(item, out)  # type: ignore[operator]
                append(close)
        else:
            text_convert = self._xml_text(self.traits(body[text_members[0]])) if text_members else None

            def write(value: Any, out: list[str]) -> None:
                extra = "".join(f' {attr}="{escape_attr(str(value[name]))}"'
                                for name, attr in attr_members.items() if value.get(name) is not None)
                out.append(f"<{tag}{attrs}{extra}>")
                if text_convert is not None and value.get(text_members[0]) is not None:
                    out.append(text_convert(value[text_members[0]]))
                for name, item in value.items():
                    member = members.get(name)
                    if member is None or item is None:
                        continue
                    if member.__class__ is tuple:
                        out.append(member[0] + member[2](item) + member[1])
                    else:
                        member(item, out)  # type: ignore[operator]
                out.append(close)

        self._memo[key] = write  # registered before the members are built: shapes may be recursive
        for name, ref in body.items():
            if name in attr_members or name in text_members:
                continue
            traits = self.traits(ref)
            if traits["type"] in ("structure", "list", "map"):
                members[name] = self._member_writer(name, ref)
            else:
                member_tag = self.member_tag(name, ref)
                members[name] = (f"<{member_tag}{_ns_attr(traits)}>", f"</{member_tag}>", self._xml_text(traits))
        return write

    def _member_writer(self, name: str, ref: Ref) -> XmlWriter:
        traits = self.traits(ref)
        tag = self.member_tag(name, ref)
        if traits["type"] == "list" and traits.get("flattened"):
            item = self.xml_writer(traits["member"], tag, _ns_attr(self.traits(traits["member"])))

            def write_items(value: Any, out: list[str]) -> None:
                append = out.append
                for element in value:
                    if element.__class__ is PreRendered:
                        append(element)
                    else:
                        item(element, out)

            return write_items
        return self.xml_writer(ref, tag, _ns_attr(traits))

    def _list_writer(self, traits: Mapping[str, Any], tag: str, attrs: str) -> XmlWriter:
        member = traits["member"]
        item = self.xml_writer(member, self.name_of(member, "member"), _ns_attr(self.traits(member)))
        open_, close = f"<{tag}{attrs}>", f"</{tag}>"

        def write(value: Any, out: list[str]) -> None:
            out.append(open_)
            for element in value:
                item(element, out)
            out.append(close)

        return write

    def _map_writer(self, traits: Mapping[str, Any], tag: str, attrs: str) -> XmlWriter:
        key_tag = self.name_of(traits["key"], "key")
        value_tag = self.name_of(traits["value"], "value")
        write_key = self.xml_writer(traits["key"], key_tag)
        write_value = self.xml_writer(traits["value"], value_tag)
        flattened = bool(traits.get("flattened"))
        entry_open, entry_close = (f"<{tag}{attrs}>", f"</{tag}>") if flattened else ("<entry>", "</entry>")

        def write(value: Any, out: list[str]) -> None:
            if not flattened:
                out.append(f"<{tag}{attrs}>")
            for k, v in value.items():
                out.append(entry_open)
                write_key(k, out)
                write_value(v, out)
                out.append(entry_close)
            if not flattened:
                out.append(f"</{tag}>")

        return write

    def xml_reader(self, ref: Ref) -> XmlReader:
        """Node -> value for `ref` (the node is the member's own element)."""
        key = ("xr", ref["shape"])
        if key in self._memo:
            return self._memo[key]
        traits = self.traits(ref)
        kind = traits["type"]
        if kind == "structure":
            return self._struct_reader(key, ref["shape"])
        if kind == "list":
            item = self.xml_reader(traits["member"])
            item_tag = self.name_of(traits["member"], "member")

            def reader(node: Node) -> Any:
                return [item(child) for child in node.children if child.tag == item_tag]
        elif kind == "map":
            entry = self._map_entry_reader(traits)

            def reader(node: Node) -> Any:
                return dict(entry(child) for child in node.children if child.tag == "entry")
        else:
            convert = self.text_reader(ref)

            def reader(node: Node) -> Any:
                return convert(node.text)
        self._memo[key] = reader
        return reader

    def _map_entry_reader(self, traits: Mapping[str, Any]) -> Callable[[Node], tuple[Any, Any]]:
        key_tag = self.name_of(traits["key"], "key")
        value_tag = self.name_of(traits["value"], "value")
        read_key, read_value = self.xml_reader(traits["key"]), self.xml_reader(traits["value"])

        def entry(node: Node) -> tuple[Any, Any]:
            key_node, value_node = node.find(key_tag), node.find(value_tag)
            if key_node is None or value_node is None:
                raise BadValue("map entry", node.tag)
            return read_key(key_node), read_value(value_node)

        return entry

    def _struct_reader(self, key: Hashable, shape_name: str) -> XmlReader:
        shape = self.shapes[shape_name]
        # tag -> (member name, reader, mode): 0 plain, 1 flattened-list item, 2 flattened-map entry
        table: dict[str, tuple[str, Callable[[Node], Any], int]] = {}
        attributes: list[tuple[str, str, TextReader]] = []
        text_member: list[tuple[str, TextReader]] = []

        def reader(node: Node) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for child in node.children:
                entry = table.get(child.tag)
                if entry is None:
                    continue
                name, read, mode = entry
                if mode == 0:
                    out[name] = read(child)
                elif mode == 1:
                    out.setdefault(name, []).append(read(child))
                else:
                    k, v = read(child)
                    out.setdefault(name, {})[k] = v
            for attr, name, convert in attributes:
                if attr in node.attrs:
                    out[name] = convert(node.attrs[attr])
            text = node.text
            if text_member and text and not (node.children and text.isspace()):  # not mere indentation
                out[text_member[0][0]] = text_member[0][1](text)
            return out

        self._memo[key] = reader
        for name, ref in shape["members"].items():
            if "location" in ref:
                continue
            traits = self.traits(ref)
            if ref.get("xmlAttribute"):
                attributes.append((ref["locationName"], name, self.text_reader(ref)))
            elif ref.get("xmlText"):
                text_member.append((name, self.text_reader(ref)))
            elif traits["type"] == "list" and traits.get("flattened"):
                item = self.xml_reader(traits["member"])
                # botocore's serializer names items after the member, its parser after the list's member
                for tag in {self.member_tag(name, ref), self.name_of(ref, name)}:
                    table[tag] = (name, item, 1)
            elif traits["type"] == "map" and traits.get("flattened"):
                table[self.name_of(ref, name)] = (name, self._map_entry_reader(traits), 2)
            else:
                table[self.name_of(ref, name)] = (name, self.xml_reader(ref), 0)
        return reader

    # --- query protocol input (`Tags.member.1.Key=...`, pre-split into a tree of dicts) ---------------

    def query_reader(self, ref: Ref) -> QueryReader:
        key = ("qr", ref["shape"])
        if key in self._memo:
            return self._memo[key]
        traits = self.traits(ref)
        kind = traits["type"]
        if kind == "structure":
            return self._query_struct_reader(key, ref["shape"])
        if kind == "list":
            item = self.query_reader(traits["member"])
            wrapper = None if traits.get("flattened") else self.name_of(traits["member"], "member")

            def reader(node: Any) -> Any:
                if wrapper is not None and isinstance(node, dict):
                    node = node.get(wrapper, {})
                return [item(v) for v in _indexed(node)]
        elif kind == "map":
            read_key, read_value = self.query_reader(traits["key"]), self.query_reader(traits["value"])
            key_name = self.name_of(traits["key"], "key")
            value_name = self.name_of(traits["value"], "value")
            flattened = bool(traits.get("flattened"))

            def reader(node: Any) -> Any:
                if not flattened and isinstance(node, dict):
                    node = node.get("entry", {})
                return {read_key(e.get(key_name, "")): read_value(e.get(value_name, ""))
                        for e in _indexed(node) if isinstance(e, dict)}
        else:
            convert = self.text_reader(ref)

            def reader(node: Any) -> Any:
                if not isinstance(node, str):
                    raise BadValue(kind, "(a nested parameter)")
                return convert(node)
        self._memo[key] = reader
        return reader

    def _query_struct_reader(self, key: Hashable, shape_name: str) -> QueryReader:
        members: list[tuple[str, str, QueryReader]] = []

        def reader(node: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            if isinstance(node, dict):
                for wire, name, read in members:
                    if wire in node:
                        try:
                            out[name] = read(node[wire])
                        except BadValue as exc:
                            exc.name = exc.name or wire
                            raise
            return out

        self._memo[key] = reader
        for name, ref in self.shapes[shape_name]["members"].items():
            traits = self.traits(ref)
            wire = self.name_of(ref, name)
            if traits["type"] == "list" and traits.get("flattened"):
                wire = self.name_of(traits["member"], wire)  # botocore: `Prefix.Original` becomes `Prefix.Item`
            members.append((wire, name, self.query_reader(ref)))
        return reader


def _indexed(node: Any) -> list[Any]:
    """Values of a `{"1": a, "2": b}` level in index order; "" (an explicitly empty list) gives []."""
    if not isinstance(node, dict):
        return []
    try:
        return [node[k] for k in sorted(node, key=int)]
    except ValueError:
        raise BadValue("list index", next(k for k in node if not k.isdigit())) from None


def _split_header_list(text: str) -> list[str]:
    if '"' not in text:
        return text.split(",")
    # quoted items may contain commas and \" (botocore quotes them that way when serializing)
    items, current, quoted, i = [], [], False, 0
    while i < len(text):
        char = text[i]
        if quoted and char == "\\" and i + 1 < len(text):
            current.append(text[i + 1])
            i += 1
        elif char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    items.append("".join(current))
    return items


def query_tree(form: Mapping[str, str]) -> dict[str, Any]:
    """`{"A.member.1.B": "x"}` -> `{"A": {"member": {"1": {"B": "x"}}}}`."""
    root: dict[str, Any] = {}
    for key, value in form.items():
        node = root
        *parents, last = key.split(".")
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}  # replaces an "empty list" marker the same key may carry
            node = child
        if not isinstance(node.get(last), dict):
            node[last] = value
    return root


_COMPILED: dict[int, Shapes] = {}


def compiled(spec: Mapping[str, Any]) -> Shapes:
    """The Shapes of `spec`, built on first use. The cache holds immutable compiled tables only; specs
    are module constants, and the identity check guards against a recycled id()."""
    shapes = _COMPILED.get(id(spec))
    if shapes is None or shapes.spec is not spec:
        shapes = _COMPILED[id(spec)] = Shapes(spec)
    return shapes
