"""kubectl get's --sort-by and -o custom-columns, as kubectl 1.32 orders and prints them."""

from __future__ import annotations

import pytest

from tui.printers.columns import (
    custom_columns,
    go_sprint,
    parse_spec,
    parse_template,
    relaxed_jsonpath,
    sort_objects,
)


def pod(name: str, cpu: str | None = None, restarts: int | None = None) -> dict:
    c: dict = {"name": "c", "image": "busybox"}
    if cpu is not None:
        c["resources"] = {"requests": {"cpu": cpu}}
    status = {"containerStatuses": [{"restartCount": restarts}]} if restarts is not None else {}
    return {"metadata": {"name": name, "labels": {"app": "web"}}, "spec": {"containers": [c]}, "status": status}


def names(objs: list[dict]) -> list[str]:
    return [o["metadata"]["name"] for o in objs]


def test_relaxed_paths_are_kubectls() -> None:
    assert [relaxed_jsonpath(p) for p in ("metadata.name", ".metadata.name", "{metadata.name}", "{.metadata.name}")] \
        == [".metadata.name"] * 4
    with pytest.raises(ValueError, match="^unexpected path string, expected a 'name1.name2'"):
        relaxed_jsonpath("a{b")


def test_sort_by_orders_numbers_quantities_and_strings_as_kubectl_132() -> None:
    pods = [pod("q-1", "1"), pod("q-2", "2"), pod("q-100", "100m"), pod("none"), pod("q-1500", "1500m"), pod("q-250", "250m")]
    assert names(sort_objects(pods, ".spec.containers[0].resources.requests.cpu")) == \
        ["none", "q-100", "q-250", "q-1", "q-1500", "q-2"]  # no value first; then as quantities
    # strings that are not quantities: byte order, as kubectl 1.32 (a-10 before a-2)
    assert names(sort_objects([pod("a-9"), pod("a-2"), pod("a-10")], "{.metadata.name}")) == ["a-10", "a-2", "a-9"]
    assert names(sort_objects([pod("x", restarts=10), pod("y", restarts=2), pod("z", restarts=0)],
                              "status.containerStatuses[0].restartCount")) == ["z", "y", "x"]
    with pytest.raises(ValueError) as e:
        sort_objects([pod("a"), pod("b")], ".nope")
    assert str(e.value) == 'couldn\'t find any field with path "{.nope}" in the list of objects'
    assert sort_objects([], ".nope") == []
    # values kubectl cannot order: its words, with Go's name for the type
    with pytest.raises(ValueError) as e:
        sort_objects([pod("a"), pod("b")], ".metadata")
    assert str(e.value) == "Field {.metadata} is an unsortable type: map[string]interface {}"


def test_custom_columns_print_values_joined_or_none() -> None:
    cols = parse_spec("NAME:.metadata.name,IMAGES:.spec.containers[*].image,LABELS:metadata.labels,CPU:{.nope}")
    two = pod("web")
    two["spec"]["containers"].append({"name": "side", "image": "nginx"})
    assert custom_columns(cols, [two, pod("db")]) == (
        "NAME   IMAGES          LABELS         CPU\n"
        "web    busybox,nginx   map[app:web]   <none>\n"
        "db     busybox         map[app:web]   <none>")
    assert custom_columns(cols[:1], [pod("db")], headers=False) == "db"
    with pytest.raises(ValueError, match="^unexpected custom-columns spec: NAME, expected <header>:<json-path-expr>$"):
        parse_spec("NAME")
    with pytest.raises(ValueError, match="^custom-columns format specified but no custom columns given$"):
        parse_spec("")
    assert parse_template("NAME   NODE\n.metadata.name {.spec.nodeName}\n") == parse_spec("NAME:metadata.name,NODE:.spec.nodeName")
    with pytest.raises(ValueError, match=r"number of headers \(2\) and field specifications \(1\) don't match"):
        parse_template("A B\n.a\n")


def test_values_print_as_gos_fmt_sprint() -> None:
    assert [go_sprint(v) for v in (1, 1.5, 2.0, True, None, "x", ["a", 1], {"b": 1, "a": {"c": "d"}})] == \
        ["1", "1.5", "2", "true", "<nil>", "x", "[a 1]", "map[a:map[c:d] b:1]"]
