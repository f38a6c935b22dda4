"""XML primitives: escaping, and a parser that refuses DTDs and strips namespaces."""
from __future__ import annotations

import pytest

from miniaws.protocols.xml import XmlError, escape, escape_attr, escape_value, parse


def test_escape() -> None:
    assert escape("plain key.txt") == "plain key.txt"
    assert escape('a&b<c>"d"\r\n') == 'a&amp;b&lt;c&gt;"d"&#13;\n'
    assert escape_attr('a&"b"\n\t') == "a&amp;&quot;b&quot;&#10;&#9;"
    assert escape_value(12) == "12" and escape_value("<") == "&lt;"
    value = 'x"&y'
    assert parse(f'<K a="{escape_attr(value)}"/>'.encode()).attrs == {"a": value}
    assert parse(f"<K>{escape(chr(13) + '&<>' + chr(10))}</K>".encode()).text == "\r&<>\n"


def test_parse_strips_namespaces_keeps_text() -> None:
    root = parse(b'<?xml version="1.0"?><a:Root xmlns:a="urn:x" xmlns="urn:y"><a:K>  spaced  </a:K>'
                 b"<V><![CDATA[<raw>&]]></V><E/></a:Root>")
    assert root.tag == "Root" and root.attrs == {"xmlns:a": "urn:x", "xmlns": "urn:y"}
    assert [(c.tag, c.text) for c in root.children] == [("K", "  spaced  "), ("V", "<raw>&"), ("E", "")]
    assert root.find("V") is root.children[1] and root.find("missing") is None


def test_parse_encodings() -> None:
    assert parse("<K>été €</K>".encode()).text == "été €"
    assert parse('<?xml version="1.0" encoding="ISO-8859-1"?><K>\xe9</K>'.encode("latin-1")).text == "é"


@pytest.mark.parametrize("body", [
    b"",
    b"<a>",
    b"<a></b>",
    b"<a/><b/>",
    b"text",
    # billion laughs: refused at the DOCTYPE, before any expansion
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><l>&b;</l>',
    # XXE
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>',
    b'<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://example.com/evil.dtd"><r/>',
    b"<r>&undefined;</r>",
])
def test_parse_refuses(body: bytes) -> None:
    with pytest.raises(XmlError):
        parse(body)
