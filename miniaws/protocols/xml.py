"""XML primitives for the query and rest-xml codecs: text escaping for building responses, and a safe
parser for request bodies (no DTDs, no entity declarations, namespaces stripped) into a small Node tree.
"""
from __future__ import annotations

import re
from typing import Any
from xml.parsers import expat

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

# '\r' is escaped because an XML parser would otherwise normalise it to '\n' and a key containing it
# would not round-trip. '"' needs escaping in attribute values only; leaving it alone in text keeps
# ETags (always quoted) on the fast path of a listing.
_TEXT_SPECIALS = re.compile(r"[&<>\r]").search
_ATTR_SPECIALS = re.compile(r'[&<>"\r\n\t]').search


def _replace(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def escape(text: str) -> str:
    """Escape character data."""
    if _TEXT_SPECIALS(text) is None:  # the common case: no copy at all
        return text
    return _replace(text)


def escape_value(value: Any) -> str:
    """`escape(str(value))`, in one call: it runs once per string element of a listing."""
    if value.__class__ is not str:
        value = str(value)
    if _TEXT_SPECIALS(value) is None:
        return value
    return _replace(value)


def escape_attr(text: str) -> str:
    """Escape an attribute value (double-quoted), keeping whitespace characters intact."""
    if _ATTR_SPECIALS(text) is None:
        return text
    return (_replace(text).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;"))


class PreRendered(str):
    """An element already rendered by this codec (e.g. a listing entry cached on an immutable object):
    structure writers emit it verbatim instead of walking the value again."""

    __slots__ = ()


def element(tag: str, text: str) -> str:
    """`<tag>text</tag>` with the text escaped."""
    return f"<{tag}>{escape(text)}</{tag}>"


class XmlError(ValueError):
    """The body is not well-formed XML, or uses a DTD/entity declaration we refuse to process."""


class Node:
    """One element: local tag name (namespace prefix stripped), raw attributes, child elements, text."""

    __slots__ = ("tag", "attrs", "children", "text")

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[Node] = []
        self.text = ""

    def __repr__(self) -> str:
        return f"Node({self.tag!r}, {self.attrs!r}, children={len(self.children)}, text={self.text!r})"

    def find(self, tag: str) -> Node | None:
        for child in self.children:
            if child.tag == tag:
                return child
        return None


def _refuse(*_args: Any) -> int:
    # XXE and "billion laughs" both need a DOCTYPE; AWS rejects them too, so refusing costs nothing.
    raise XmlError("DTDs and entity declarations are not allowed")


def parse(data: bytes | str) -> Node:
    """Parse a whole document into a Node tree; raises XmlError on anything but one well-formed element."""
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    stack: list[Node] = []
    texts: list[list[str]] = []
    roots: list[Node] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        node = Node(tag.rpartition(":")[2], attrs)
        (stack[-1].children if stack else roots).append(node)
        stack.append(node)
        texts.append([])

    def end(_tag: str) -> None:
        parts = texts.pop()
        if parts:
            stack[-1].text = "".join(parts)
        stack.pop()

    def text(data: str) -> None:
        # Only text before an element's first child is kept (AWS bodies have no mixed content): the
        # indentation between thousands of siblings is dropped instead of being concatenated.
        if stack and not stack[-1].children:
            texts[-1].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise XmlError(str(exc)) from None
    if not roots:
        raise XmlError("no root element")
    return roots[0]
