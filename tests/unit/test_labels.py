"""Label and field selectors: kubectl's syntax, LabelSelector objects, matching, and apimachinery's error wording."""

from __future__ import annotations

import pytest

from control.api.fieldsel import parse_field_selector
from control.api.labels import (
    from_label_selector,
    is_dns1123_label,
    is_qualified_name,
    is_valid_label_value,
    parse_selector,
)
from control.errors import ApiError

QUALIFIED_NAME_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def test_full_syntax_parses_and_prints_sorted_by_key() -> None:
    sel = parse_selector("a=b,c!=d,e in (y,x),f notin (z),g,!h,i==j")
    assert str(sel) == "a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j"
    assert not sel.empty


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"a": "b", "e": "x", "g": "1", "i": "j"}, True),
        ({"a": "b", "c": "d", "e": "x", "g": "1", "i": "j"}, False),  # c!=d
        ({"a": "b", "e": "q", "g": "1", "i": "j"}, False),  # e in (x,y)
        ({"a": "b", "e": "y", "f": "z", "g": "1", "i": "j"}, False),  # f notin (z)
        ({"a": "b", "e": "y", "i": "j"}, False),  # g must exist
        ({"a": "b", "e": "y", "g": "", "h": "", "i": "j"}, False),  # !h
    ],
)
def test_matches(labels: dict[str, str], expected: bool) -> None:
    sel = parse_selector("a=b,c!=d,e in (x,y),f notin (z),g,!h,i==j")
    assert sel.matches(labels) is expected


def test_empty_selector_matches_everything() -> None:
    for sel in (parse_selector(""), parse_selector("  "), parse_selector(None), from_label_selector({})):
        assert sel.empty
        assert sel.matches({}) and sel.matches({"x": "y"})


def test_null_label_selector_matches_nothing() -> None:
    sel = from_label_selector(None)
    assert not sel.empty
    assert not sel.matches({})


def test_in_and_notin_are_values_in_value_position() -> None:
    assert parse_selector("a in (in,notin)").matches({"a": "notin"})


def test_empty_values() -> None:
    sel = parse_selector("x in (foo,,baz),y,z notin ()")
    assert str(sel) == "x in (,baz,foo),y,z notin ()"
    assert sel.matches({"x": "", "y": "1"})
    assert parse_selector("a=").matches({"a": ""})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a in b", "unable to parse requirement: found 'b' expected: '('"),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("a=b,", "found '', expected: identifier after ','"),
        ("=a", "found '=', expected: !, identifier, or 'end of string'"),
        ("!a=b", "found '=', expected: ',' or 'end of string'"),
        ("a in (b", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("foo$=bar", f'unable to parse requirement: <nil>: Invalid value: "foo$": {QUALIFIED_NAME_MSG}'),
        ("a=" + "x" * 64, 'unable to parse requirement: values[0][a]: Invalid value: "' + "x" * 64
         + '": must be no more than 63 characters'),
    ],
)
def test_parse_errors_are_400_with_apimachinery_wording(text: str, message: str) -> None:
    with pytest.raises(ApiError) as err:
        parse_selector(text)
    assert err.value.code == 400
    assert err.value.reason == "BadRequest"
    assert err.value.message == message


def test_label_selector_object() -> None:
    sel = from_label_selector({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["front", "edge"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "zone", "operator": "Exists"},
            {"key": "env", "operator": "NotIn", "values": ["dev"]},
        ],
    })
    assert str(sel) == "app=web,!canary,env notin (dev),tier in (edge,front),zone"
    assert sel.matches({"app": "web", "tier": "edge", "zone": "a"})
    assert not sel.matches({"app": "web", "tier": "edge", "zone": "a", "canary": "1"})
    assert not sel.matches({"app": "web", "tier": "edge", "zone": "a", "env": "dev"})
    assert sel.requires_exact_match("app") == "web"


def test_label_selector_object_errors() -> None:
    with pytest.raises(ApiError) as err:
        from_label_selector({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["b"]}]})
    assert err.value.message == '"Equals" is not a valid label selector operator'
    with pytest.raises(ApiError) as err:
        from_label_selector({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})
    assert "for 'in', 'notin' operators, values set can't be empty" in err.value.message


def test_name_rules() -> None:
    assert is_qualified_name("app.kubernetes.io/name") == []
    assert is_qualified_name("example.com/MyName") == []
    assert is_qualified_name("a/b/c")[0].startswith("a qualified name must consist of")
    assert is_qualified_name("/a") == ["prefix part must be non-empty"]
    assert is_qualified_name("x" * 64) == ["name part must be no more than 63 characters"]
    assert is_valid_label_value("") == []
    assert is_valid_label_value("-a")[0].startswith("a valid label must be an empty string or consist of")
    assert is_dns1123_label("my-name") == []
    assert is_dns1123_label("My") == [
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start "
        "and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
        "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    ]


# --- field selectors -----------------------------------------------------------------------------


POD = {"metadata": {"name": "web-1", "namespace": "default"}, "spec": {"nodeName": "node-1"},
       "status": {"phase": "Running"}}


def test_field_selector_matches_and_requirement() -> None:
    sel = parse_field_selector("spec.nodeName=node-1,status.phase!=Pending", "Pod")
    assert sel.matches(POD)
    assert sel.requirement("spec.nodeName") == "node-1"
    assert sel.requirement("status.phase") is None  # != is not an exact match
    assert not parse_field_selector("metadata.name==web-2", "Pod").matches(POD)
    assert parse_field_selector("", "Pod").empty


def test_field_selector_zero_values_and_events() -> None:
    assert parse_field_selector("spec.unschedulable=false", "Node").matches({"spec": {}})
    assert not parse_field_selector("spec.unschedulable=false", "Node").matches({"spec": {"unschedulable": True}})
    ev = {"involvedObject": {"kind": "Pod", "name": "web-1"}, "reason": "Scheduled"}
    assert parse_field_selector("involvedObject.name=web-1,involvedObject.kind=Pod,reason=Scheduled", "Event").matches(ev)


def test_field_selector_unsupported_field() -> None:
    with pytest.raises(ApiError) as err:
        parse_field_selector("spec.foo=bar", "Pod")
    assert (err.value.code, err.value.message) == (400, "field label not supported: spec.foo")
    with pytest.raises(ApiError) as err:
        parse_field_selector("spec.nodeName=x", "Deployment")
    assert err.value.message == "field label not supported: spec.nodeName"


def test_field_selector_syntax_error_and_escapes() -> None:
    with pytest.raises(ApiError) as err:
        parse_field_selector("abc", "Pod")
    assert err.value.message == "invalid selector: 'abc'; can't understand 'abc'"
    sel = parse_field_selector(r"metadata.name=a\,b", "Pod")
    assert sel.requirement("metadata.name") == "a,b"
