"""Compiled shape readers/writers on a synthetic spec (traits S3/STS do not use), and timestamps."""
from __future__ import annotations

from typing import Any

import pytest

from miniaws.protocols.shapes import BadValue, compiled, iso8601, parse_timestamp, query_tree, rfc822, \
    timestamp_formatter
from miniaws.protocols.xml import parse
from miniaws.services.s3._spec import SPEC as S3

SPEC: dict[str, Any] = {
    "metadata": {"protocol": "rest-xml", "serviceId": "Synthetic"},
    "operations": {},
    "shapes": {
        "Node": {"type": "structure", "members": {
            "Kind": {"shape": "String", "locationName": "kind", "xmlAttribute": True},
            "Label": {"shape": "String", "xmlText": True},
            "Children": {"shape": "NodeList"},
            "Props": {"shape": "FlatMap", "locationName": "Prop"},
            "Named": {"shape": "NamedMap"},
            "Matrix": {"shape": "Matrix"},
            "Data": {"shape": "Blob"},
            "Ratio": {"shape": "Double"},
            "On": {"shape": "Boolean"},
            "Count": {"shape": "Long"},
            "When": {"shape": "Time"},
            "WhenHttp": {"shape": "HttpTime"},
            "WhenEpoch": {"shape": "EpochTime"},
            "Header": {"shape": "String", "location": "header", "locationName": "x-h"},
        }},
        "NodeList": {"type": "list", "member": {"shape": "Node", "locationName": "Node"}},
        "FlatMap": {"type": "map", "flattened": True, "key": {"shape": "String"}, "value": {"shape": "String"}},
        "NamedMap": {"type": "map", "key": {"shape": "String", "locationName": "Name"},
                     "value": {"shape": "Long", "locationName": "Value"}},
        "Matrix": {"type": "list", "member": {"shape": "Row"}},
        "Row": {"type": "list", "member": {"shape": "Long", "locationName": "Cell"}},
        "String": {"type": "string"}, "Blob": {"type": "blob"}, "Double": {"type": "double"},
        "Boolean": {"type": "boolean"}, "Long": {"type": "long"}, "Time": {"type": "timestamp"},
        "HttpTime": {"type": "timestamp", "timestampFormat": "rfc822"},
        "EpochTime": {"type": "timestamp", "timestampFormat": "unixTimestamp"},
    },
}
REF = {"shape": "Node"}


def test_xml_roundtrip_of_every_trait() -> None:
    shapes = compiled(SPEC)
    value = {
        "Kind": 'a"b', "Label": "top & text", "On": False, "Count": 2**40, "Ratio": 0.25, "Data": b"\x00\xff",
        "When": 1.5, "WhenHttp": 86400.0, "WhenEpoch": 7.0,
        "Props": {"a": "1", "b": "2"}, "Named": {"x": 1, "y": 2}, "Matrix": [[1, 2], [], [3]],
        "Children": [{"Kind": "leaf", "Label": "c1"}, {"Children": [{"Label": "deep"}]}],
    }
    out: list[str] = []
    shapes.xml_writer(REF, "Root", ' xmlns="urn:x"')({**value, "Header": "skipped", "Unknown": 1, "Ratio2": None}, out)
    text = "".join(out)
    assert text.startswith('<Root xmlns="urn:x" kind="a&quot;b">top &amp; text<')
    assert "<Prop><key>a</key><value>1</value></Prop><Prop>" in text
    assert "<Named><entry><Name>x</Name><Value>1</Value></entry>" in text
    assert "<Matrix><member><Cell>1</Cell><Cell>2</Cell></member><member></member>" in text
    assert "<When>1970-01-01T00:00:01.500Z</When><WhenHttp>Fri, 02 Jan 1970 00:00:00 GMT</WhenHttp>" in text
    assert "<WhenEpoch>7</WhenEpoch>" in text and "Header" not in text and "Unknown" not in text
    assert shapes.xml_reader(REF)(parse(text)) == value


def test_writers_and_readers_are_cached() -> None:
    shapes = compiled(SPEC)
    assert compiled(SPEC) is shapes and compiled(S3) is not shapes
    assert shapes.xml_writer(REF, "Root") is shapes.xml_writer(REF, "Root")
    assert shapes.xml_reader(REF) is shapes.xml_reader(REF)
    assert shapes.memo("k", lambda: object()) is shapes.memo("k", lambda: object())


def test_text_readers() -> None:
    shapes = compiled(SPEC)
    assert shapes.text_reader({"shape": "Boolean"})("TRUE") is True
    assert shapes.text_reader({"shape": "Long"})("-3") == -3
    assert shapes.text_reader({"shape": "Blob"})("AP8=") == b"\x00\xff"
    assert shapes.text_reader({"shape": "Row"})('1, 2,3') == [1, 2, 3]
    for shape, text in (("Boolean", "yes"), ("Long", "1e3"), ("Double", "x"), ("Blob", "!!"), ("Time", "soon")):
        with pytest.raises(BadValue):
            shapes.text_reader({"shape": shape})(text)


def test_header_list_quoting() -> None:
    shapes = compiled(S3)
    read = shapes.text_reader({"shape": "OptionalObjectAttributesList"})
    assert read('RestoreStatus, "a,b", "q\\"x"') == ["RestoreStatus", "a,b", 'q"x']


@pytest.mark.parametrize(("text", "epoch"), [
    ("2009-10-12T17:50:30.000Z", 1255369830.0),
    ("2009-10-12T17:50:30Z", 1255369830.0),
    ("2009-10-12T17:50:30.25Z", 1255369830.25),
    ("2009-10-12T17:50:30+02:00", 1255369830.0 - 7200),
    ("2009-10-12T17:50:30-0130", 1255369830.0 + 5400),
    ("2009-10-12T17:50:30", 1255369830.0),
    ("Mon, 12 Oct 2009 17:50:30 GMT", 1255369830.0),
    ("1255369830", 1255369830.0),
    ("1255369830.5", 1255369830.5),
])
def test_parse_timestamp(text: str, epoch: float) -> None:
    assert parse_timestamp(text) == pytest.approx(epoch)


def test_format_timestamps() -> None:
    assert iso8601(0) == "1970-01-01T00:00:00.000Z"
    assert iso8601(1255369830.9996) == "2009-10-12T17:50:31.000Z"  # rounding carries into the seconds
    assert rfc822(1255369830.9) == "Mon, 12 Oct 2009 17:50:30 GMT"
    fmt = timestamp_formatter("iso8601")
    assert fmt("already formatted") == "already formatted" and fmt(1.0) == "1970-01-01T00:00:01.000Z"


def test_query_tree() -> None:
    tree = query_tree({"A.member.1.B": "x", "A.member.2.B": "y", "C": "", "C.member.1": "z", "D": "d"})
    assert tree == {"A": {"member": {"1": {"B": "x"}, "2": {"B": "y"}}}, "C": {"member": {"1": "z"}}, "D": "d"}
    assert query_tree({"C.member.1": "z", "C": ""}) == {"C": {"member": {"1": "z"}}}
