"""kubectl apply's three-way merge (control/api/patch.py): what it changes, deletes and leaves alone."""

from __future__ import annotations

import copy

from control.api.patch import merge_patch, strategic_merge_patch, three_way_merge_patch


def applied(original: dict | None, modified: dict, current: dict) -> dict:
    """The live object after the apply: the patch merged over it."""
    return merge_patch(current, three_way_merge_patch(original, modified, current))


MANIFEST = {
    "kind": "Pod",
    "metadata": {"name": "p", "labels": {"app": "web", "tier": "front"}},
    "spec": {"containers": [{"name": "c", "image": "nginx", "env": [{"name": "A", "value": "1"}]}]},
}
LIVE = {
    "kind": "Pod",
    "metadata": {"name": "p", "namespace": "default", "uid": "u", "labels": {"app": "web", "tier": "front"},
                 "annotations": {"other/owner": "x"}},
    "spec": {"nodeName": "node-1", "containers": [
        {"name": "c", "image": "nginx", "imagePullPolicy": "Always", "env": [{"name": "A", "value": "1"}]},
        {"name": "sidecar", "image": "envoy"},  # added by someone else
    ]},
    "status": {"phase": "Running"},
}


def test_the_same_manifest_again_is_no_patch() -> None:
    assert three_way_merge_patch(MANIFEST, MANIFEST, LIVE) == {}


def test_what_others_set_stays_and_what_the_last_manifest_set_goes() -> None:
    modified = copy.deepcopy(MANIFEST)
    del modified["metadata"]["labels"]["tier"]
    out = applied(MANIFEST, modified, LIVE)
    assert out["metadata"]["labels"] == {"app": "web"}
    assert out["metadata"]["annotations"] == {"other/owner": "x"} and out["spec"]["nodeName"] == "node-1"
    assert out["status"] == {"phase": "Running"}
    # Without a last-applied manifest nothing is deleted: the field was never known to be ours.
    assert applied(None, modified, LIVE)["metadata"]["labels"] == {"app": "web", "tier": "front"}


def test_containers_merge_by_name_keeping_what_the_server_filled_in() -> None:
    modified = copy.deepcopy(MANIFEST)
    modified["spec"]["containers"][0]["image"] = "nginx:1.27"
    out = applied(MANIFEST, modified, LIVE)
    c, sidecar = out["spec"]["containers"]
    assert c == {"name": "c", "image": "nginx:1.27", "imagePullPolicy": "Always", "env": [{"name": "A", "value": "1"}]}
    assert sidecar == {"name": "sidecar", "image": "envoy"}  # not ours: kept


def test_an_item_the_last_manifest_had_is_removed_and_new_ones_are_added_in_order() -> None:
    modified = copy.deepcopy(MANIFEST)
    modified["spec"]["containers"][0]["env"] = [{"name": "B", "value": "2"}]
    modified["spec"]["containers"].insert(0, {"name": "first", "image": "busybox"})
    out = applied(MANIFEST, modified, LIVE)
    assert [c["name"] for c in out["spec"]["containers"]] == ["first", "c", "sidecar"]
    assert out["spec"]["containers"][1]["env"] == [{"name": "B", "value": "2"}]


def test_service_ports_merge_by_port_and_other_lists_are_replaced_whole() -> None:
    manifest = {"kind": "Service", "metadata": {"name": "s"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}], "externalIPs": ["10.0.0.1"]}}
    live = merge_patch(manifest, {"spec": {"clusterIP": "10.96.0.5",
                                           "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}]}})
    assert three_way_merge_patch(manifest, manifest, live) == {}
    modified = merge_patch(manifest, {"spec": {"externalIPs": ["10.0.0.2"], "ports": [{"port": 80, "name": "http"}]}})
    out = applied(manifest, modified, live)
    assert out["spec"]["ports"] == [{"port": 80, "targetPort": 80, "protocol": "TCP", "name": "http"}]
    assert out["spec"]["externalIPs"] == ["10.0.0.2"] and out["spec"]["clusterIP"] == "10.96.0.5"


def test_a_null_in_the_manifest_deletes_the_field() -> None:
    modified = merge_patch(MANIFEST, {})
    modified["metadata"]["annotations"] = {"other/owner": None}
    patch = three_way_merge_patch(MANIFEST, modified, LIVE)
    assert patch == {"metadata": {"annotations": {"other/owner": None}}}
    assert applied(MANIFEST, modified, LIVE)["metadata"]["annotations"] == {}


def test_ports_are_told_apart_by_protocol_too() -> None:
    manifest = {"kind": "Service", "metadata": {"name": "dns"},
                "spec": {"ports": [{"port": 53, "protocol": "UDP", "name": "dns"}, {"port": 53, "name": "dns-tcp"}]}}
    live = merge_patch(manifest, {"spec": {"ports": [{"port": 53, "protocol": "UDP", "name": "dns", "targetPort": 53},
                                                     {"port": 53, "protocol": "TCP", "name": "dns-tcp", "targetPort": 53}]}})
    assert three_way_merge_patch(manifest, manifest, live) == {}
    modified = merge_patch(manifest, {})
    modified["spec"]["ports"][1]["name"] = "tcp"
    assert applied(manifest, modified, live)["spec"]["ports"] == [
        {"port": 53, "protocol": "UDP", "name": "dns", "targetPort": 53},
        {"port": 53, "protocol": "TCP", "name": "tcp", "targetPort": 53}]


# -- strategic merge patch (kubectl patch's default, and what the real kubectl's apply sends) --------------
def test_strategic_merge_patch_merges_keyed_lists_and_keeps_the_rest() -> None:
    live = copy.deepcopy(LIVE)
    out = strategic_merge_patch(live, {"spec": {"containers": [
        {"name": "c", "image": "nginx:2", "env": [{"name": "B", "value": "2"}]}, {"name": "new", "image": "x"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["c", "sidecar", "new"]
    c = out["spec"]["containers"][0]
    assert (c["image"], c["imagePullPolicy"], c["env"]) == ("nginx:2", "Always", [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
    assert live == LIVE  # inputs untouched


def test_strategic_merge_patch_directives() -> None:
    live = copy.deepcopy(LIVE)
    out = strategic_merge_patch(live, {"spec": {
        "containers": [{"name": "sidecar", "$patch": "delete"}],
        "$setElementOrder/containers": [{"name": "c"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["c"]
    out = strategic_merge_patch(live, {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "i"}]}})
    assert out["spec"]["containers"] == [{"name": "only", "image": "i"}]
    out = strategic_merge_patch(live, {"metadata": {"labels": {"$patch": "replace", "new": "1"}}})
    assert out["metadata"]["labels"] == {"new": "1"}
    out = strategic_merge_patch(live, {"metadata": {"annotations": {"$patch": "delete"}}})
    assert "annotations" not in out["metadata"]
    out = strategic_merge_patch({"metadata": {"finalizers": ["a", "b"]}}, {"metadata": {"finalizers": ["c", "a"],
                                                                                      "$deleteFromPrimitiveList/finalizers": ["b"]}})
    assert out["metadata"]["finalizers"] == ["a", "c"]
    out = strategic_merge_patch({"spec": {"type": "x", "rollingUpdate": {"maxSurge": 1}}},
                                {"spec": {"$retainKeys": ["type"], "type": "Recreate"}})
    assert out == {"spec": {"type": "Recreate"}}
    # ports are their number and protocol: UDP 53 is another item than TCP 53
    svc = {"spec": {"ports": [{"port": 53, "protocol": "TCP", "name": "dns-tcp"}]}}
    out = strategic_merge_patch(svc, {"spec": {"ports": [{"port": 53, "protocol": "UDP", "name": "dns"}]}})
    assert [p["protocol"] for p in out["spec"]["ports"]] == ["TCP", "UDP"]
    # a list without a merge key is replaced, as in a JSON merge patch
    out = strategic_merge_patch(live, {"spec": {"tolerations": [{"key": "k", "operator": "Exists"}]}})
    assert out["spec"]["tolerations"] == [{"key": "k", "operator": "Exists"}]


def test_strategic_merge_patch_set_element_order_interleaves_the_servers_own_items() -> None:
    """apimachinery's normalizeElementOrder: the ordered items in the patch's order, and each item only the
    server has placed before the first ordered item that stood after it in the live list."""
    live = {"spec": {"containers": [{"name": n, "image": "i"} for n in "CBDAE"]}}
    out = strategic_merge_patch(live, {"spec": {"$setElementOrder/containers": [{"name": "A"}, {"name": "B"}],
                                                "containers": [{"name": "A", "image": "new"}]}})
    assert [c["name"] for c in out["spec"]["containers"]] == ["C", "D", "A", "B", "E"]
    assert out["spec"]["containers"][2] == {"name": "A", "image": "new"}
    assert "$setElementOrder/containers" not in out["spec"]
