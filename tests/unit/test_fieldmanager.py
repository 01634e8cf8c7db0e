"""Server-side apply's field sets, merge, removal and conflicts (control/apiserver/fieldmanager.py), checked
against what kube-apiserver stores for the same manifests."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from control.apiserver import fieldmanager as fm
from control.errors import ApiError

NGINX: dict[str, Any] = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "nginx-deployment", "labels": {"app": "nginx"}},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "nginx"}},
             "template": {"metadata": {"labels": {"app": "nginx"}},
                          "spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2",
                                                   "ports": [{"containerPort": 80}],
                                                   "env": [{"name": "A", "value": "1"}]}]}}},
}
CONTAINER = 'k:{"name":"nginx"}'


def nginx(**changes: Any) -> dict:
    d = copy.deepcopy(NGINX)
    c = d["spec"]["template"]["spec"]["containers"][0]
    for k, v in changes.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return d


def entry(obj: dict, manager: str, operation: str = "Apply") -> dict:
    return next(e for e in obj["metadata"]["managedFields"] if (e["manager"], e["operation"]) == (manager, operation))


def scale(obj: dict, replicas: int, manager: str = "kubectl-scale") -> dict:
    new = copy.deepcopy(obj)
    new["spec"]["replicas"] = replicas
    assert fm.record(new, obj, manager, "scale")
    return new


def env_only() -> dict:
    """A second manager's configuration of the nginx Deployment: only its container's env A=1."""
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx-deployment"},
            "spec": {"template": {"spec": {"containers": [{"name": "nginx", "env": [{"name": "A", "value": "1"}]}]}}}}


def test_the_field_set_of_an_apply_is_kubernetes_fieldsv1() -> None:
    obj = fm.apply(None, nginx(), manager="kubectl", force=False)
    e = entry(obj, "kubectl")
    assert (e["operation"], e["apiVersion"], e["fieldsType"]) == ("Apply", "apps/v1", "FieldsV1")
    # as kube-apiserver stores it for this manifest: the selector is an atomic map, containers, ports and env
    # associative lists by their keys (a port's protocol defaulted to TCP in its key)
    assert e["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:containers": {CONTAINER: {
                ".": {}, "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
                "f:image": {}, "f:name": {},
                "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}}}}}},
    }
    assert list(e["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][CONTAINER]) == [
        ".", "f:env", "f:image", "f:name", "f:ports"]  # Kubernetes' order: "." first, then fields
    assert fm.from_fields_v1(fm.to_fields_v1(fm.from_fields_v1(e["fieldsV1"]))) == fm.from_fields_v1(e["fieldsV1"])


def test_an_update_records_what_it_added_with_its_maps_and_items() -> None:
    live = fm.apply(None, nginx(), manager="kubectl", force=False)
    new = copy.deepcopy(live)
    new["metadata"]["annotations"] = {"a": "b"}
    new["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    assert fm.record(new, live, "editor")
    # an Update's set names the maps and items it created (".") as in Kubernetes' Update entries
    assert entry(new, "editor", "Update")["fieldsV1"] == {
        "f:metadata": {"f:annotations": {".": {}, "f:a": {}}},
        "f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"side"}': {
            ".": {}, "f:image": {}, "f:name": {}}}}}}}
    assert new["metadata"]["managedFields"][-1]["manager"] == "editor"  # the last writer last


def test_an_object_without_an_applier_costs_nothing_on_update() -> None:
    old = copy.deepcopy(NGINX)
    old["metadata"]["managedFields"] = [{"manager": "kubectl", "operation": "Update", "time": "t"}]
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 5
    assert not fm.record(new, old, "kubectl")
    assert new["metadata"]["managedFields"] == old["metadata"]["managedFields"]


def test_associative_lists_merge_by_key_and_keep_other_managers_items() -> None:
    live = fm.apply(None, nginx(), manager="kubectl", force=False)
    other = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx-deployment"},
             "spec": {"template": {"spec": {"containers": [
                 {"name": "nginx", "env": [{"name": "B", "value": "2"}], "ports": [{"containerPort": 9090}]},
                 {"name": "sidecar", "image": "busybox"}]}}}}
    both = fm.apply(live, other, manager="team-b", force=False)
    containers = both["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["nginx", "sidecar"]
    assert containers[0]["image"] == "nginx:1.14.2"
    assert containers[0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert containers[0]["ports"] == [{"containerPort": 80}, {"containerPort": 9090}]
    # each owns what it applied; the container item itself is shared
    b = fm.from_fields_v1(entry(both, "team-b")["fieldsV1"])
    item = ("f:spec", "f:template", "f:spec", "f:containers", CONTAINER)
    assert (*item, "f:env", 'k:{"name":"B"}', "f:value") in b and (*item, "f:image") not in b
    assert item in b and item in fm.from_fields_v1(entry(both, "kubectl")["fieldsV1"])


def test_atomic_lists_and_maps_are_replaced_and_sets_merged() -> None:
    live = fm.apply(None, nginx(args=["a", "b"]), manager="kubectl", force=False)
    obj = fm.apply(live, nginx(args=["c"]), manager="kubectl", force=False)
    assert obj["spec"]["template"]["spec"]["containers"][0]["args"] == ["c"]  # x-kubernetes-list-type: atomic
    sel = copy.deepcopy(NGINX)
    sel["spec"]["selector"] = {"matchLabels": {"tier": "web"}}
    assert fm.apply(live, sel, manager="kubectl", force=True)["spec"]["selector"] == {"matchLabels": {"tier": "web"}}
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["a/x"]},
           "spec": {"containers": [{"name": "c", "image": "i"}]}}
    live = fm.apply(None, pod, manager="one", force=False)
    two = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "finalizers": ["b/y"]}}
    merged = fm.apply(live, two, manager="two", force=False)
    assert merged["metadata"]["finalizers"] == ["a/x", "b/y"]  # a set (patch strategy merge, no key)
    assert ("f:metadata", "f:finalizers", 'v:"b/y"') in fm.from_fields_v1(entry(merged, "two")["fieldsV1"])


def test_a_field_dropped_from_the_applied_config_is_removed_unless_another_manager_owns_it() -> None:
    live = fm.apply(None, nginx(), manager="kubectl", force=False)
    labels = copy.deepcopy(nginx(env=None))
    del labels["metadata"]["labels"]
    obj = fm.apply(live, labels, manager="kubectl", force=False)
    c = obj["spec"]["template"]["spec"]["containers"][0]
    assert "env" not in c and "labels" not in obj["metadata"]
    assert "f:env" not in entry(obj, "kubectl")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"][CONTAINER]
    # the same value applied by a second manager: shared, so dropping it from one config keeps it
    shared = fm.apply(live, env_only(), manager="team-b", force=False)
    kept = fm.apply(shared, nginx(env=None), manager="kubectl", force=False)
    assert kept["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]


def test_a_changed_value_another_manager_owns_conflicts_and_force_takes_it() -> None:
    live = scale(fm.apply(None, nginx(), manager="kubectl", force=False), 5)
    with pytest.raises(ApiError) as e:
        fm.apply(live, nginx(image="nginx:1.16.1"), manager="kubectl", force=False)
    err = e.value
    assert (err.code, err.reason) == (409, "Conflict")
    assert err.message == ('Apply failed with 1 conflict: conflict with "kubectl-scale" with subresource "scale" '
                           "using apps/v1: .spec.replicas")
    assert err.details == {"causes": [{"type": "FieldManagerConflict", "field": ".spec.replicas",
                                       "message": 'conflict with "kubectl-scale" with subresource "scale" using apps/v1'}]}
    won = fm.apply(live, nginx(), manager="kubectl", force=True)
    assert won["spec"]["replicas"] == 3
    assert [e["manager"] for e in won["metadata"]["managedFields"]] == ["kubectl"]  # the scaler owned nothing else
    # the same value as the live one: no conflict, shared ownership
    same = copy.deepcopy(NGINX)
    same["spec"]["replicas"] = 5
    shared = fm.apply(live, same, manager="kubectl", force=False)
    assert ("f:spec", "f:replicas") in fm.from_fields_v1(entry(shared, "kubectl-scale", "Update")["fieldsV1"])
    assert ("f:spec", "f:replicas") in fm.from_fields_v1(entry(shared, "kubectl")["fieldsV1"])


def test_conflicts_with_several_fields_and_managers_are_worded_as_kube_apiserver() -> None:
    live = fm.apply(None, nginx(), manager="a", force=False)
    with pytest.raises(ApiError) as e:
        fm.apply(live, nginx(image="x", env=[{"name": "A", "value": "2"}]), manager="b", force=False)
    assert e.value.message == ('Apply failed with 2 conflicts: conflicts with "a":\n'
                               '- .spec.template.spec.containers[name="nginx"].env[name="A"].value\n'
                               '- .spec.template.spec.containers[name="nginx"].image')


def test_an_apply_that_changes_nothing_keeps_its_time() -> None:
    live = fm.apply(None, nginx(), manager="kubectl", force=False)
    live["metadata"]["managedFields"][0]["time"] = "2020-01-01T00:00:00Z"
    again = fm.apply(live, nginx(), manager="kubectl", force=False)
    assert again["metadata"]["managedFields"] == live["metadata"]["managedFields"]


def test_the_first_apply_to_an_object_nobody_applied_conflicts_with_before_first_apply() -> None:
    live = copy.deepcopy(NGINX)
    live["metadata"]["managedFields"] = [{"manager": "kubectl-create", "operation": "Update", "time": "t"}]
    live["status"] = {"replicas": 3}
    with pytest.raises(ApiError) as e:
        fm.apply(live, nginx(image="nginx:2"), manager="kubectl", force=False)
    assert 'conflict with "before-first-apply" using apps/v1' in e.value.message
    obj = fm.apply(live, nginx(), manager="kubectl", force=False)  # the same values: shared
    assert [m["manager"] for m in obj["metadata"]["managedFields"]] == ["before-first-apply", "kubectl"]
    assert "f:status" not in entry(obj, "before-first-apply", "Update")["fieldsV1"]


def test_patch_options_are_checked_as_kube_apiserver_checks_them() -> None:
    with pytest.raises(ApiError) as e:
        fm.check_options("apply", None, None)
    assert (e.value.code, e.value.message) == (422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                                                    "Required value: is required for apply patch")
    with pytest.raises(ApiError) as e:
        fm.check_options("merge", None, True)
    assert "force: Forbidden: may not be specified for non-apply patch" in e.value.message


def test_a_field_an_update_removes_is_no_longer_owned_by_anyone() -> None:
    # kubectl label x- after an apply of x: the applier owns nothing that is gone, so another applier setting
    # x is no conflict (structured-merge-diff's update takes Removed from every manager)
    live = fm.apply(None, nginx(), manager="a", force=False)
    new = copy.deepcopy(live)
    del new["metadata"]["labels"]
    assert fm.record(new, live, "kubectl-label")
    assert "f:metadata" not in entry(new, "a")["fieldsV1"]
    b = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx-deployment",
                                                                      "labels": {"app": "web"}}}
    assert fm.apply(new, b, manager="b", force=False)["metadata"]["labels"] == {"app": "web"}


def test_a_list_item_dropped_from_the_config_goes_whole_though_another_manager_changed_a_field_of_it() -> None:
    # kubectl set image on a container, then an apply without the container: kube-apiserver removes the
    # container (nobody else owns the item itself), not its name alone (which left an item without its key)
    two = nginx()
    two["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "busybox"})
    live = fm.apply(None, two, manager="kubectl", force=False)
    new = copy.deepcopy(live)
    new["spec"]["template"]["spec"]["containers"][1]["image"] = "busybox:2"
    assert fm.record(new, live, "kubectl-set")
    obj = fm.apply(new, nginx(), manager="kubectl", force=False)
    assert [c["name"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["nginx"]
    assert "kubectl-set" not in [e["manager"] for e in obj["metadata"]["managedFields"]]  # it owned only that
    # an item another manager owns itself stays, with that manager's fields
    shared = fm.apply(live, env_only(), manager="b", force=False)
    kept = fm.apply(shared, nginx(env=None), manager="kubectl", force=False)
    assert kept["spec"]["template"]["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]


def test_an_applied_config_with_managed_fields_is_refused_as_kube_apiserver_refuses_it() -> None:
    # `kubectl get -o yaml` output applied back: kube-apiserver says 400, it does not take them or drop them
    live = fm.apply(None, nginx(), manager="kubectl", force=False)
    for managed in (live["metadata"]["managedFields"], []):
        config = nginx()
        config["metadata"]["managedFields"] = managed
        with pytest.raises(ApiError) as e:
            fm.apply(live, config, manager="kubectl", force=False)
        assert (e.value.code, e.value.reason, e.value.message) == (400, "BadRequest",
                                                                   "metadata.managedFields must be nil")


def test_each_kind_is_read_by_its_own_schema_whatever_kind_came_before() -> None:
    # the schema of a kind was cached by the id() of a dict made for the lookup and freed after it, so the next
    # kind got the first one's (a Service's ports read by a Deployment's schema were an atomic list)
    for _ in range(3):
        assert "strategy" in fm.root_of("apps/v1", "Deployment").child("spec").fields
        ports = fm.root_of("v1", "Service").child("spec").child("ports")
        assert (ports.shape, ports.list_type, ports.keys) == ("list", "map", ("port", "protocol"))
        assert "data" in fm.root_of("v1", "ConfigMap").fields
