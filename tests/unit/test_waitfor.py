"""kubectl wait's --for: how it is read, and when an object meets it (kubectl v1.32's pkg/cmd/wait)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from tui.commands.wait import targets
from tui.waitfor import For, met, parse_for, relaxed_jsonpath, split_jsonpath_input


@pytest.mark.parametrize(("text", "want"), [
    ("delete", For("delete")),
    ("Delete", For("delete")),
    ("CREATE", For("create")),
    ("condition=Ready", For("condition", condition="Ready", status="true")),
    ("condition=Ready=false", For("condition", condition="Ready", status="false")),
    ("condition=Available=True", For("condition", condition="Available", status="True")),
    ("condition=a=b=c", For("condition", condition="a", status="b=c")),  # split at the first "="
    ("condition=", For("condition", condition="", status="true")),
    ("jsonpath={.status.phase}=Running", For("jsonpath", path=".status.phase", value="Running")),
    ("jsonpath={.status.phase}", For("jsonpath", path=".status.phase")),
    ("jsonpath=.status.phase", For("jsonpath", path=".status.phase")),
    ("jsonpath=status.phase='Running'", For("jsonpath", path=".status.phase", value="Running")),
    ('jsonpath={.status.conditions[?(@.type=="Ready")].status}=True',
     For("jsonpath", path='.status.conditions[?(@.type=="Ready")].status', value="True")),
])
def test_for_is_read_as_kubectl_reads_it(text: str, want: For) -> None:
    assert parse_for(text) == want


@pytest.mark.parametrize(("text", "error"), [
    ("foo", 'unrecognized condition: "foo"'),
    ("", 'unrecognized condition: ""'),
    ("Condition=Ready", 'unrecognized condition: "Condition=Ready"'),  # only delete and create ignore case
    ("jsonpath=", "jsonpath expression cannot be empty"),
    ("jsonpath={.a}=", "jsonpath wait has to have a value after equal sign, like "
                       "--for=jsonpath='{.status.readyReplicas}'=3"),
    ("jsonpath={.a}=b=c", "jsonpath wait format must be --for=jsonpath='{.status.readyReplicas}'=3 or "
                          "--for=jsonpath='{.status.readyReplicas}'"),
    ("jsonpath={.a", "unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or "
                     "'{.name1.name2}'"),
    ("jsonpath={.a[}", "unterminated array"),
])
def test_bad_for_gets_kubectls_error(text: str, error: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_for(text)
    assert error in str(e.value)


def test_jsonpath_input_splits_on_single_equals_only() -> None:
    assert split_jsonpath_input("a.b.c====d.e.f===g.h.i===") == ["a.b.c====d.e.f==", "g.h.i==", ""]
    assert relaxed_jsonpath("{.a.b}") == relaxed_jsonpath("a.b") == relaxed_jsonpath(".a.b") == "{.a.b}"
    assert relaxed_jsonpath("") == ""


def pod(conditions: Any, generation: int | None = None, observed: int | None = None, **status: Any) -> dict:
    md: dict[str, Any] = {"name": "web"}
    if generation is not None:
        md["generation"] = generation
    st: dict[str, Any] = {"conditions": conditions, **status}
    if observed is not None:
        st["observedGeneration"] = observed
    return {"metadata": md, "status": st}


READY = [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}]


@pytest.mark.parametrize(("obj", "text", "want"), [
    (pod(READY), "condition=Ready", True),
    (pod(READY), "condition=ready", True),  # the type without case
    (pod(READY), "condition=Ready=TRUE", True),  # and the status
    (pod(READY), "condition=Ready=False", False),
    (pod([{"type": "Ready", "status": "False"}]), "condition=Ready=false", True),
    (pod(READY), "condition=Available", False),  # no such condition
    ({"metadata": {"name": "web"}}, "condition=Ready", False),  # no status at all
    (pod(["not a map", *READY]), "condition=Ready", False),  # kubectl stops at an entry that is not a map
    (pod([{"type": "Ready"}, {"type": "Ready", "status": "True"}]), "condition=Ready", True),  # no status: next
    # conditions older than the spec are ignored: the condition's own observedGeneration first, then the status's
    (pod([{"type": "Available", "status": "True"}], generation=2, observed=1), "condition=Available", False),
    (pod([{"type": "Available", "status": "True"}], generation=2, observed=2), "condition=Available", True),
    (pod([{"type": "Available", "status": "True", "observedGeneration": 2}], generation=2, observed=1),
     "condition=Available", True),
    (pod([{"type": "Available", "status": "True", "observedGeneration": 1}], generation=2), "condition=Available",
     False),
])
def test_condition_matching(obj: dict, text: str, want: bool) -> None:
    assert met(obj, parse_for(text)) is want


@pytest.mark.parametrize(("obj", "text", "want"), [
    (pod(READY, phase="Running"), "jsonpath={.status.phase}=Running", True),
    (pod(READY, phase="Running"), "jsonpath={.status.phase}=running", False),  # values are compared as they are
    (pod(READY, phase="Running"), "jsonpath={.status.phase}", True),  # no value: the field is there
    (pod(READY), "jsonpath={.status.phase}", False),
    (pod(READY, replicas=3), "jsonpath={.status.replicas}=3", True),  # numbers as Go prints them
    (pod(READY, ok=True), "jsonpath={.status.ok}=true", True),
    (pod(READY, phase=" Running "), "jsonpath={.status.phase}=Running", True),  # spaces around are ignored
    (pod(READY), 'jsonpath={.status.conditions[?(@.type=="Ready")].status}=True', True),
    (pod(READY), 'jsonpath={.status.conditions[?(@.type=="Gone")].status}=True', False),
    (pod(READY), "jsonpath={.status.conditions}", True),  # a list is there
])
def test_jsonpath_matching(obj: dict, text: str, want: bool) -> None:
    assert met(obj, parse_for(text)) is want


def test_jsonpath_that_cannot_be_compared_is_an_error() -> None:
    with pytest.raises(ValueError, match="jsonpath leads to a nested object or list which is not supported"):
        met(pod(READY), parse_for("jsonpath={.status.conditions}=x"))
    with pytest.raises(ValueError, match="given jsonpath expression matches more than one value"):
        met(pod(READY), parse_for("jsonpath={.status.conditions[*].type}=Ready"))


def args(*resources: str, **options: Any) -> argparse.Namespace:
    base = {"namespace": None, "filename": None, "selector": "", "field_selector": "", "all": False,
            "all_namespaces": False}
    return argparse.Namespace(resources=list(resources), **{**base, **options})


def test_targets_as_kubectls_builder_reads_them() -> None:
    found = targets(args("pods", "web-1", "web-2", namespace="team"))
    assert [(t.info.kind, t.namespace, t.name) for t in found] == [("Pod", "team", "web-1"), ("Pod", "team", "web-2")]
    found = targets(args("deploy/web", "node/n1"))
    assert [(t.info.kind, t.namespace, t.name) for t in found] == [("Deployment", "default", "web"), ("Node", None, "n1")]
    found = targets(args("pods", selector="app=web", all_namespaces=True))
    assert [(t.info.kind, t.namespace, t.name) for t in found] == [("Pod", None, "")]  # a list, every namespace
    assert [t.info.kind for t in targets(args("pods,nodes", all=True))] == ["Pod", "Node"]


@pytest.mark.parametrize(("a", "error"), [
    (args(), "error: You must provide one or more resources by argument or filename."),
    (args("pods"), "error: resource(s) were provided, but no name was specified"),
    (args("pods", all_namespaces=True), "error: resource(s) were provided, but no name was specified"),
    (args("pods", "web", selector="app=web"), "error: name cannot be provided when a selector is specified"),
    (args("pod/web", "other"), "error: there is no need to specify a resource type as a separate argument"),
    (args("pod/web", all_namespaces=True), "error: a resource cannot be retrieved by name across all namespaces"),
    (args("pod/web", filename=["x.yaml"]), "error: resource/name arguments cannot be provided when a path is "
                                           "specified"),
])
def test_targets_kubectl_refuses(a: argparse.Namespace, error: str) -> None:
    with pytest.raises(ValueError) as e:
        targets(a)
    assert str(e.value).startswith(error)
