"""Server-side apply through the API server: kube-tui's own wire API and CLI, and the real kubectl 1.32 over
the REST API (control/apiserver/fieldmanager.py)."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from control import config
from control.client import Client
from control.errors import ApiError
from control.plane import ControlPlane
from tests.conftest import running_plane
from tests.helpers import K8S_DOCS, KUBECTL_132
from tui import manifests
from tui.commands.apply import CONFLICT_HELP, apply_all

NGINX: dict[str, Any] = manifests.load([str(K8S_DOCS / "nginx-deployment.yaml")])[0].obj


def managers(obj: dict) -> list[tuple[str, str, str]]:
    return [(e["manager"], e["operation"], e.get("subresource", "")) for e in obj["metadata"]["managedFields"]]


async def test_apply_creates_then_updates_and_an_update_after_it_conflicts(plane: ControlPlane, client: Client) -> None:
    created = await client.apply(copy.deepcopy(NGINX), field_manager="team-a")
    assert created["metadata"]["resourceVersion"] and created["spec"]["replicas"] == 3
    assert managers(created) == [("team-a", "Apply", "")]
    fields = created["metadata"]["managedFields"][0]["fieldsV1"]
    assert fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']["f:image"] == {}
    newer = copy.deepcopy(NGINX)
    newer["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.16.1"
    updated = await client.apply(newer, field_manager="team-a")
    assert updated["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.16.1"
    assert updated["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"  # defaulted
    # an ordinary patch by another client (a scale) now records the fields it changed
    scaler = plane.client("scaler")
    await scaler.connect()
    scaled = await scaler.patch("Deployment", "nginx-deployment", {"spec": {"replicas": 5}})
    assert managers(scaled)[-1] == ("scaler", "Update", "")
    assert scaled["metadata"]["managedFields"][-1]["fieldsV1"] == {"f:spec": {"f:replicas": {}}}
    with pytest.raises(ApiError) as e:
        await client.apply(copy.deepcopy(NGINX), field_manager="team-a")
    assert (e.value.code, e.value.reason) == (409, "Conflict")
    assert e.value.message.endswith('conflict with "scaler" using apps/v1: .spec.replicas')
    forced = await client.apply(copy.deepcopy(NGINX), field_manager="team-a", force=True)
    assert forced["spec"]["replicas"] == 3 and ("scaler", "Update", "") not in managers(forced)
    # an apply that changes nothing writes nothing
    again = await client.apply(copy.deepcopy(NGINX), field_manager="team-a")
    assert again["metadata"]["resourceVersion"] == forced["metadata"]["resourceVersion"]


async def test_bad_apply_requests_are_refused_naming_the_fix(client: Client) -> None:
    with pytest.raises(ApiError) as e:
        await client.request("patch", {"kind": "Deployment", "name": "x", "namespace": "default", "type": "apply",
                                       "patch": copy.deepcopy(NGINX)})
    assert e.value.code == 422 and "fieldManager: Required value: is required for apply patch" in e.value.message
    with pytest.raises(ApiError) as e:
        await client.request("patch", {"kind": "Deployment", "name": "x", "namespace": "default", "patch": {},
                                       "force": True})
    assert e.value.code == 422 and "force: Forbidden" in e.value.message
    wrong = copy.deepcopy(NGINX)
    wrong["kind"] = "ReplicaSet"
    with pytest.raises(ApiError) as e:
        await client.request("patch", {"kind": "Deployment", "name": "nginx-deployment", "namespace": "default",
                                       "type": "apply", "fieldManager": "m", "patch": wrong})
    assert e.value.code == 400 and "give it the kind and apiVersion" in e.value.message


async def test_managed_fields_written_by_an_update_are_taken_and_an_empty_entry_clears_them(client: Client) -> None:
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned", "labels": {"x": "1"}},
          "data": {"k": "v"}}
    live = await client.apply(copy.deepcopy(cm), field_manager="a")
    # what kubectl apply --server-side does to move kubectl-client-side-apply's fields: write them to another
    # manager's entry with a JSON patch; that manager then drops the label by applying without it
    moved = [dict(e, manager="b") for e in live["metadata"]["managedFields"]]
    patched = await client.patch("ConfigMap", "owned", [{"op": "replace", "path": "/metadata/managedFields",
                                                         "value": moved}], patch_type="json")
    assert managers(patched) == [("b", "Apply", "")]
    del cm["metadata"]["labels"]
    dropped = await client.apply(copy.deepcopy(cm), field_manager="b")
    assert "labels" not in dropped["metadata"]
    # [{}] clears them (Kubernetes' documented reset); [] and a missing list keep them
    kept = await client.patch("ConfigMap", "owned", {"metadata": {"managedFields": [], "annotations": {"n": "1"}}})
    assert ("b", "Apply", "") in managers(kept)
    cleared = await client.patch("ConfigMap", "owned", {"metadata": {"managedFields": [{}]}})
    assert all(not e.get("fieldsV1") for e in cleared["metadata"]["managedFields"])  # no field sets left


async def test_kube_tui_apply_server_side_prints_as_kubectl(plane: ControlPlane, client: Client,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    items = manifests.load([str(K8S_DOCS / "nginx-deployment.yaml")])
    lines: list[str] = []
    assert await apply_all(client, items, create_only=False, namespace=None, out=lines.append,
                           field_manager="kubectl") == 0
    assert lines == ["deployment.apps/nginx-deployment serverside-applied"]
    await client.patch("Deployment", "nginx-deployment", {"spec": {"replicas": 5}}, subresource="scale")
    items = manifests.load([str(K8S_DOCS / "nginx-deployment.yaml")])
    assert await apply_all(client, items, create_only=False, namespace=None, out=lines.append,
                           field_manager="kubectl") == 1
    err = capsys.readouterr().err
    assert err.startswith('error: Apply failed with 1 conflict: conflict with "test" with subresource "scale" '
                          "using apps/v1: .spec.replicas\nPlease review the fields above")
    assert await apply_all(client, items, create_only=False, namespace=None, out=lines.append,
                           field_manager="kubectl", force=True) == 0
    assert (await client.get("Deployment", "nginx-deployment"))["spec"]["replicas"] == 3


# -- the real kubectl --------------------------------------------------------------------------------------
@pytest.fixture
async def rest_plane(tmp_path: Path) -> Any:
    async with running_plane(tmp_path / "data", rest_listen="127.0.0.1:0") as p:
        yield p


@pytest.mark.skipif(not KUBECTL_132.exists(), reason="no kubectl 1.32 on this machine")
async def test_the_real_kubectl_applies_server_side_and_reports_conflicts(rest_plane: ControlPlane) -> None:
    assert rest_plane.credentials is not None
    kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, rest_plane.rest.ca_pem)
    manifest = (K8S_DOCS / "nginx-deployment.yaml").read_text()

    def kubectl(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(KUBECTL_132), "--kubeconfig", str(kubeconfig), *args], capture_output=True,
                              text=True, timeout=60, input=input)

    r = await asyncio.to_thread(kubectl, "apply", "--server-side", "-f", "-", input=manifest)
    assert (r.returncode, r.stdout) == (0, "deployment.apps/nginx-deployment serverside-applied\n"), r.stderr
    r = await asyncio.to_thread(kubectl, "get", "deploy", "nginx-deployment", "-o", "json", "--show-managed-fields")
    (entry,) = json.loads(r.stdout)["metadata"]["managedFields"]
    assert (entry["manager"], entry["operation"], entry["fieldsType"]) == ("kubectl", "Apply", "FieldsV1")
    assert entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']["f:ports"] == {
        'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}
    r = await asyncio.to_thread(kubectl, "scale", "deploy", "nginx-deployment", "--replicas=5")
    assert r.returncode == 0, r.stderr
    r = await asyncio.to_thread(kubectl, "apply", "--server-side", "-f", "-", input=manifest)
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr == ('error: Apply failed with 1 conflict: conflict with "kubectl.1.32" with subresource "scale" '
                        f"using apps/v1: .spec.replicas\n{CONFLICT_HELP}\n")
    r = await asyncio.to_thread(kubectl, "apply", "--server-side", "--force-conflicts", "-f", "-", input=manifest)
    assert r.returncode == 0 and r.stdout == "deployment.apps/nginx-deployment serverside-applied\n", r.stderr
    r = await asyncio.to_thread(kubectl, "get", "deploy", "nginx-deployment", "-o", "jsonpath={.spec.replicas}")
    assert r.stdout == "3"
    # a field dropped from the manifest goes (the label); the server-side dry run stores nothing
    r = await asyncio.to_thread(kubectl, "apply", "--server-side", "--dry-run=server", "-f", "-",
                                input=manifest.replace("nginx:1.14.2", "nginx:1.16.1"))
    assert r.stdout == "deployment.apps/nginx-deployment serverside-applied (server dry run)\n", r.stderr
    unlabelled = manifest.replace("  labels:\n    app.kubernetes.io/name: nginx\nspec:", "spec:")
    assert unlabelled != manifest
    r = await asyncio.to_thread(kubectl, "apply", "--server-side", "-f", "-", input=unlabelled)
    assert r.returncode == 0, r.stderr
    r = await asyncio.to_thread(kubectl, "get", "deploy", "nginx-deployment", "-o", "json")
    d = json.loads(r.stdout)
    assert "labels" not in d["metadata"] and d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.14.2"


@pytest.mark.skipif(not KUBECTL_132.exists(), reason="no kubectl 1.32 on this machine")
async def test_the_real_kubectl_moves_client_side_apply_fields_to_its_apply_entry(rest_plane: ControlPlane) -> None:
    # apply --server-side, apply (client-side), apply --server-side: kubectl's migration patch of managedFields
    # takes, so kubectl-client-side-apply's entry goes and the next apply is one request, not four
    assert rest_plane.credentials is not None
    kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, rest_plane.rest.ca_pem)
    manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: mig\ndata:\n  x: '1'\n"

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(KUBECTL_132), "--kubeconfig", str(kubeconfig), *args], capture_output=True,
                              text=True, timeout=60, input=manifest)

    for args in (("--server-side",), (), ("--server-side",)):
        r = await asyncio.to_thread(kubectl, "apply", *args, "-f", "-")
        assert r.returncode == 0, r.stderr
    r = await asyncio.to_thread(kubectl, "get", "cm", "mig", "-o", "json", "--show-managed-fields")
    assert [e["manager"] for e in json.loads(r.stdout)["metadata"]["managedFields"]] == [
        "kubectl-last-applied", "kubectl"]
    r = await asyncio.to_thread(kubectl, "apply", "--server-side", "-f", "-", "-v=6")
    assert r.stderr.count(" PATCH ") == 1, r.stderr


@pytest.mark.skipif(not KUBECTL_132.exists(), reason="no kubectl 1.32 on this machine")
async def test_the_real_kubectl_applies_over_entries_without_field_sets(rest_plane: ControlPlane, tmp_path: Path) -> None:
    """kubectl apply --server-side decodes every managedFields entry's fieldsV1, and crashed (a nil pointer in
    csaupgrade) on a pod whose entries kube-tui wrote without one: the scheduler's binding entry, or any
    entry an older kube-tui stored. Every entry is served with a field set, empty when the fields are not tracked."""
    assert rest_plane.credentials is not None and rest_plane.server is not None
    kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, rest_plane.rest.ca_pem)
    client = rest_plane.client("test")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    await client.create(copy.deepcopy(pod))
    kv = rest_plane.store.get("/registry/pods/default/p")  # type: ignore[union-attr]
    assert kv is not None
    from control.apiserver.watch import decode

    stored = decode(kv.value, kv.mod_revision)
    assert all("fieldsV1" not in e for e in stored["metadata"]["managedFields"])  # kube-tui's own Update entries

    def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(KUBECTL_132), "--kubeconfig", str(kubeconfig), *args], capture_output=True,
                              text=True, timeout=60, input=json.dumps(pod))

    r = await asyncio.to_thread(kubectl, "get", "pod", "p", "-o", "json", "--show-managed-fields")
    assert all(e["fieldsType"] == "FieldsV1" and e["fieldsV1"] == {} for e in json.loads(r.stdout)["metadata"]["managedFields"])
    r = await asyncio.to_thread(kubectl, "apply", "--server-side", "-f", "-")
    assert "panic" not in r.stderr and r.returncode == 0, r.stderr
    assert r.stdout == "pod/p serverside-applied\n"
