"""kubectl edit's pure parts: the two-way strategic merge patch it sends, the header it reopens the file with,
and how it reads the saved file and its arguments (the patches are the ones kubectl 1.32 printed with
--output-patch for the same edits)."""

from __future__ import annotations

import argparse
import copy

import pytest

from control.api.patch import strategic_merge_patch, two_way_merge_patch
from tui.commands import edit

DEPLOY = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "uid": "u1", "labels": {"app": "web"},
                 "finalizers": ["a.io/x", "b.io/y"]},
    "spec": {
        "replicas": 3,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
        "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx", "env": [
            {"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}]}]}},
    },
}


def edited(change) -> dict:  # type: ignore[no-untyped-def]
    obj = copy.deepcopy(DEPLOY)
    change(obj)
    return obj


def container(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def test_an_unchanged_object_has_an_empty_patch() -> None:
    assert two_way_merge_patch(DEPLOY, copy.deepcopy(DEPLOY)) == {}


def test_a_scalar_changed_is_the_only_thing_in_the_patch() -> None:
    assert two_way_merge_patch(DEPLOY, edited(lambda o: o["spec"].update(replicas=2))) == {"spec": {"replicas": 2}}


def test_a_field_removed_is_null_and_a_label_added_is_alone() -> None:
    assert two_way_merge_patch(DEPLOY, edited(lambda o: o["metadata"]["labels"].update(tier="front"))) == \
        {"metadata": {"labels": {"tier": "front"}}}
    assert two_way_merge_patch(DEPLOY, edited(lambda o: o["metadata"].pop("labels"))) == {"metadata": {"labels": None}}


def test_a_container_changed_is_sent_by_its_name_with_the_order_of_the_list() -> None:
    patch = two_way_merge_patch(DEPLOY, edited(lambda o: container(o).update(image="nginx:1.26")))
    assert patch == {"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "nginx"}],
                                                    "containers": [{"image": "nginx:1.26", "name": "nginx"}]}}}}


def test_env_items_changed_added_removed_and_reordered() -> None:
    def change(o: dict) -> None:
        container(o)["env"] = [{"name": "B", "value": "22"}, {"name": "D", "value": "4"}, {"name": "C", "value": "3"}]
    patch = two_way_merge_patch(DEPLOY, edited(change))
    assert patch["spec"]["template"]["spec"]["containers"] == [{
        "$setElementOrder/env": [{"name": "B"}, {"name": "D"}, {"name": "C"}],
        "env": [{"name": "B", "value": "22"}, {"name": "D", "value": "4"}, {"$patch": "delete", "name": "A"}],
        "name": "nginx"}]
    # only the order changed: the order alone
    patch = two_way_merge_patch(DEPLOY, edited(lambda o: container(o)["env"].reverse()))
    assert patch["spec"]["template"]["spec"]["containers"] == [
        {"$setElementOrder/env": [{"name": "C"}, {"name": "B"}, {"name": "A"}], "name": "nginx"}]


def test_finalizers_are_a_set_and_the_strategy_keeps_only_its_keys() -> None:
    patch = two_way_merge_patch(DEPLOY, edited(lambda o: o["metadata"].update(finalizers=["c.io/z", "b.io/y"])))
    assert patch == {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.io/x"],
                                  "$setElementOrder/finalizers": ["c.io/z", "b.io/y"], "finalizers": ["c.io/z"]}}
    patch = two_way_merge_patch(DEPLOY, edited(lambda o: o["spec"]["strategy"]["rollingUpdate"].update(maxSurge="50%")))
    assert patch == {"spec": {"strategy": {"$retainKeys": ["rollingUpdate", "type"], "rollingUpdate": {"maxSurge": "50%"}}}}
    patch = two_way_merge_patch(DEPLOY, edited(lambda o: o["spec"].update(strategy={"type": "Recreate"})))
    assert patch == {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": None, "type": "Recreate"}}}


def test_a_service_port_is_matched_by_its_port() -> None:
    svc = {"spec": {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}}
    patch = two_way_merge_patch(svc, {"spec": {"ports": [{"port": 81, "protocol": "TCP", "targetPort": 80}]}})
    assert patch == {"spec": {"$setElementOrder/ports": [{"port": 81}], "ports": [
        {"port": 81, "protocol": "TCP", "targetPort": 80}, {"$patch": "delete", "port": 80}]}}


@pytest.mark.parametrize("change", [
    lambda o: o["spec"].update(replicas=2),
    lambda o: o["metadata"].pop("labels"),
    lambda o: o["metadata"].update(finalizers=["c.io/z", "b.io/y"]),
    lambda o: o["spec"].update(strategy={"type": "Recreate"}),
    lambda o: container(o).update(env=[{"name": "C", "value": "3"}, {"name": "E", "value": "5"}]),
    lambda o: container(o).pop("env"),
    lambda o: o["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"}),
    lambda o: o["spec"].update(template={"spec": {"containers": []}}),
])
def test_the_patch_applied_to_the_original_gives_the_edited_object(change) -> None:  # type: ignore[no-untyped-def]
    want = edited(change)
    assert strategic_merge_patch(DEPLOY, two_way_merge_patch(DEPLOY, want)) == want


def test_a_patch_applied_over_a_concurrent_change_keeps_it() -> None:
    live = edited(lambda o: container(o).update(image="nginx:2"))  # someone else's change meanwhile
    patch = two_way_merge_patch(DEPLOY, edited(lambda o: o["spec"].update(replicas=5)))
    out = strategic_merge_patch(live, patch)
    assert out["spec"]["replicas"] == 5 and container(out)["image"] == "nginx:2"


def test_renaming_or_changing_the_kind_is_refused_in_kubectls_words() -> None:
    for change in (lambda o: o["metadata"].update(name="web2"), lambda o: o.update(kind="ReplicaSet"),
                   lambda o: o.update(apiVersion="apps/v2")):
        with pytest.raises(edit.Fatal, match="^error: At least one of apiVersion, kind and name was changed$"):
            edit.patch_for(DEPLOY, edited(change))


def test_the_header_lists_each_reason_as_comments() -> None:
    text = edit.header([edit.Reason('deployments.apps "web" was not valid',
                                    ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]),
                        edit.Reason("The edited file had a syntax error: one\ntwo")])
    assert text == (edit.EDIT_HEADER
                    + '# deployments.apps "web" was not valid:\n'
                    + "# * spec.replicas: Invalid value: -1: must be greater than or equal to 0\n#\n"
                    + "# The edited file had a syntax error: one\n# two\n#\n")


def test_comments_are_stripped_but_not_a_shebang() -> None:
    assert edit.manual_strip("# a\n  # b\n#!keep\nx: 1\n") == "#!keep\nx: 1\n"
    assert edit.strip_comments("# a\nx: 1\n") == edit.strip_comments("x:   1   # same\n")
    assert not edit.has_lines("# only\n\n   # comments\n") and edit.has_lines("# c\nx: 1\n")


def test_the_saved_file_is_read_back_or_refused_in_kubectls_words() -> None:
    items = edit.parse_edited("# c\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Service, metadata: {name: a}}\n"
                              "- {apiVersion: apps/v1, kind: Deployment, metadata: {name: b}}\n")
    assert [i["kind"] for i in items] == ["Service", "Deployment"]
    with pytest.raises(edit.EditedFileError, match="^error parsing edited-file: error converting YAML to JSON: yaml: "
                                                   "line 3: mapping values are not allowed in this context$"):
        edit.parse_edited("apiVersion: v1\nkind: Service\n  bad: [x\n")
    with pytest.raises(edit.EditedFileError, match='no matches for kind "Foo" in version "apps/v1"\nensure CRDs'):
        edit.parse_edited("apiVersion: apps/v1\nkind: Foo\nmetadata: {name: web, namespace: default}\n")
    assert edit.validation_problem("# only a comment\n") == "invalid object to validate"
    assert edit.validation_problem("# header\na: b: c\n") == "yaml: line 1: mapping values are not allowed in this context"
    assert edit.validation_problem("kind: Service\nkind: Pod\n").startswith('yaml: line 2: key "kind" already set in map')


def args(*targets: str, filename: list[str] | None = None, selector: str = "") -> argparse.Namespace:
    return argparse.Namespace(targets=list(targets), filename=filename or [], recursive=False, namespace=None,
                              selector=selector)


def test_targets_are_read_as_kubectl_reads_resource_arguments() -> None:
    assert [(t.info.kind, t.namespace, t.name) for t in edit.targets_of(args("deploy/a", "svc/b", "ns/c"))] == [
        ("Deployment", "default", "a"), ("Service", "default", "b"), ("Namespace", None, "c")]
    assert [(t.info.kind, t.name) for t in edit.targets_of(args("deploy,svc", "a", "b"))] == [
        ("Deployment", "a"), ("Deployment", "b"), ("Service", "a"), ("Service", "b")]
    assert [(t.info.kind, t.name) for t in edit.targets_of(args("deploy"))] == [("Deployment", None)]
    with pytest.raises(ValueError, match="no need to specify a resource type as a separate argument"):
        edit.targets_of(args("deploy", "svc/b"))
    with pytest.raises(ValueError, match="You must provide one or more resources"):
        edit.targets_of(args())
    with pytest.raises(ValueError, match="resource/name arguments cannot be provided when a path is specified"):
        edit.targets_of(args("deploy/a", filename=["x.yaml"]))
    with pytest.raises(ValueError, match="name cannot be provided when a selector is specified"):
        edit.targets_of(args("deploy", "a", selector="app=web"))


def test_objects_in_another_namespace_are_refused_and_those_without_one_get_the_commands() -> None:
    objs = [{"kind": "Deployment", "metadata": {"name": "a"}}, {"kind": "Namespace", "metadata": {"name": "n"}}]
    edit.check_namespaces(objs, "dev")
    assert objs[0]["metadata"]["namespace"] == "dev" and "namespace" not in objs[1]["metadata"]
    with pytest.raises(edit.Fatal, match="You must pass '--namespace=other' to perform this operation."):
        edit.check_namespaces([{"kind": "Deployment", "metadata": {"name": "a", "namespace": "other"}}], "dev")


def test_go_json_is_compact_sorted_and_escapes_html() -> None:
    assert edit.go_json({"b": 1, "a": "<&>"}) == '{"a":"\\u003c\\u0026\\u003e","b":1}'
