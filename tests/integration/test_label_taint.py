"""kube-tui label / annotate / taint / patch against a real API server, with kubectl's rules and words."""

from __future__ import annotations

from pathlib import Path

import pytest

from control.api import kinds
from control.client import Client
from control.errors import ApiError
from control.plane import ControlPlane
from tui.commands.label import parse_changes, relabel
from tui.commands.taint import parse_taints, taint

NODE = kinds.lookup("node")


async def test_label_and_annotate(client: Client) -> None:
    await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    assert await relabel(client, NODE, "n1", None, "labels", {"disktype": "ssd"}, [], False) == "node/n1 labeled"
    with pytest.raises(ValueError, match=r"'disktype' already has a value \(ssd\), and --overwrite is false"):
        await relabel(client, NODE, "n1", None, "labels", {"disktype": "hdd"}, [], False)
    assert await relabel(client, NODE, "n1", None, "labels", {"disktype": "hdd"}, [], True) == "node/n1 labeled"
    assert await relabel(client, NODE, "n1", None, "labels", {"disktype": "hdd"}, [], False) == "node/n1 not labeled"
    assert (await client.get("nodes", "n1", None))["metadata"]["labels"] == {"disktype": "hdd"}
    assert await relabel(client, NODE, "n1", None, "labels", {}, ["disktype"], False) == "node/n1 unlabeled"
    assert not (await client.get("nodes", "n1", None))["metadata"].get("labels")
    with pytest.raises(ApiError) as e:  # the API server validates the key, as ever
        await relabel(client, NODE, "n1", None, "labels", {"bad key": "x"}, [], False)
    assert e.value.reason == "Invalid" and "metadata.labels" in e.value.message
    assert await relabel(client, NODE, "n1", None, "annotations", {"note": "hi"}, [], False) == "node/n1 annotated"
    assert (await client.get("nodes", "n1", None))["metadata"]["annotations"] == {"note": "hi"}


def test_label_and_taint_syntax() -> None:
    assert parse_changes(["a=1", "b=", "c-"]) == ({"a": "1", "b": ""}, ["c"])
    with pytest.raises(ValueError, match="invalid label spec: oops"):
        parse_changes(["oops"])
    assert parse_taints(["k=v:NoSchedule", "k2:NoExecute", "k3:PreferNoSchedule-", "k4-"]) == (
        [{"key": "k", "value": "v", "effect": "NoSchedule"}, {"key": "k2", "effect": "NoExecute"}],
        [("k3", "PreferNoSchedule"), ("k4", "")])
    assert parse_taints(["key1=value1:NoSchedule-"]) == ([], [("key1", "NoSchedule")])  # as the docs remove one
    for bad in ("k=v:Sometimes", "just-a-key", "k:Nope-"):
        with pytest.raises(ValueError, match="invalid taint"):
            parse_taints([bad])


async def test_taint_adds_refuses_a_duplicate_and_removes(client: Client) -> None:
    await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    add, _ = parse_taints(["dedicated=gpu:NoSchedule", "evict=now:NoExecute"])
    assert await taint(client, "n1", add, [], False) == "node/n1 tainted"
    taints = (await client.get("nodes", "n1", None))["spec"]["taints"]
    assert taints[0] == {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    assert taints[1]["effect"] == "NoExecute" and taints[1]["timeAdded"]  # tolerationSeconds count from it
    again, _ = parse_taints(["dedicated=other:NoSchedule"])
    with pytest.raises(ValueError, match="already has dedicated taint"):
        await taint(client, "n1", again, [], False)
    assert await taint(client, "n1", again, [], True) == "node/n1 tainted"
    assert await taint(client, "n1", [], [("dedicated", "NoSchedule"), ("evict", "")], False) == "node/n1 untainted"
    assert not (await client.get("nodes", "n1", None)).get("spec", {}).get("taints")
    with pytest.raises(ValueError, match='taint "dedicated" not found'):
        await taint(client, "n1", [], [("dedicated", "")], False)


async def test_strategic_merge_patch_merges_containers_by_name(client: Client) -> None:
    labels = {"app": "w"}
    await client.create({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}, "spec": {
        "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {"containers": [
            {"name": "a", "image": "nginx", "env": [{"name": "X", "value": "1"}]}, {"name": "b", "image": "busybox"}]}}}})
    change = {"spec": {"template": {"spec": {"containers": [{"name": "a", "env": [{"name": "Y", "value": "2"}]}]}}}}
    out = await client.patch("deployments", "w", change, "default", patch_type="strategic")
    a, b = out["spec"]["template"]["spec"]["containers"]
    assert (a["image"], [e["name"] for e in a["env"]], b["name"]) == ("nginx", ["X", "Y"], "b")
    with pytest.raises(ApiError) as e:  # the same body as a JSON merge patch replaces the list: invalid
        await client.patch("deployments", "w", change, "default", patch_type="merge")
    assert e.value.code == 422 and "containers[0].image: Required value" in e.value.message
    with pytest.raises(ApiError) as e:
        await client.patch("deployments", "w", {"$patch": "sideways"}, "default", patch_type="strategic")
    assert e.value.code == 400 and 'unknown patch directive "$patch: sideways"' in e.value.message


async def test_json_patch_and_unsupported_patch_types(client: Client) -> None:
    await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "labels": {"a": "1"}}})
    out = await client.patch("nodes", "n1", [{"op": "add", "path": "/metadata/labels/b", "value": "2"},
                                             {"op": "remove", "path": "/metadata/labels/a"}], None, patch_type="json")
    assert out["metadata"]["labels"] == {"b": "2"}
    with pytest.raises(ApiError) as e:
        await client.patch("nodes", "n1", [{"op": "remove", "path": "/spec/nope"}], None, patch_type="json")
    assert e.value.code == 400 and "remove operation does not apply: doc is missing" in e.value.message
    with pytest.raises(ApiError) as e:
        await client.patch("nodes", "n1", {"metadata": {}}, None, patch_type="apply-ish")
    assert e.value.code == 415 and 'the patch type "apply-ish" is not supported' in e.value.message
    with pytest.raises(ApiError) as e:  # a JSON patch must be a list of operations
        await client.patch("nodes", "n1", {"op": "add"}, None, patch_type="json")
    assert e.value.code == 400 and "'patch' must be a list" in e.value.message


async def test_label_every_object_found_by_all_or_a_selector_as_kubectl(plane: ControlPlane, client: Client,
                                                                      tmp_path: Path) -> None:
    """kubectl label KIND --all | -l SELECTOR [-A]: one line per object found (the PodSecurity docs label every
    namespace this way, with --dry-run=server)."""
    from tests.integration.test_imperative import cli

    for name, app in (("p1", "x"), ("p2", "y")):
        await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}},
                             "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    assert await cli(plane, tmp_path, "label", "pods", "-l", "app=x", "tier=web") == (0, "pod/p1 labeled\n", "")
    assert (await client.get("Pod", "p2"))["metadata"]["labels"] == {"app": "y"}
    assert await cli(plane, tmp_path, "annotate", "pods", "--all", "note=hi") == (
        0, "pod/p1 annotated\npod/p2 annotated\n", "")
    code, out, _ = await cli(plane, tmp_path, "label", "--dry-run=server", "ns", "--all", "team=a")
    assert code == 0 and "namespace/default labeled (server dry run)\n" in out
    assert "namespace/kube-system labeled (server dry run)\n" in out
    assert not (await client.get("Namespace", "default", None))["metadata"].get("labels", {}).get("team")
    assert await cli(plane, tmp_path, "label", "pods", "--all", "-l", "app=x", "a=b") == (
        1, "", "error: cannot set --all and --selector at the same time\n")
