"""The Kubernetes REST API (control/apiserver/rest.py): kube-apiserver's paths over HTTPS, for the real kubectl.

Raw HTTP requests check the shapes kubectl relies on (discovery, Tables, watch lines, Status errors);
the last tests drive the real kubectl binary when the machine has one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import ssl
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from control import config
from control.api import kinds
from control.plane import ControlPlane
from tests.conftest import running_plane
from tests.helpers import K8S_DOCS, wait_for
from tui.printers.explain import explain

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1", "labels": {"app": "web"}},
       "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


@pytest.fixture
async def rest_plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    async with running_plane(tmp_path / "data", rest_listen="127.0.0.1:0") as p:
        yield p


@contextlib.asynccontextmanager
async def admin_session(plane: ControlPlane) -> AsyncIterator[aiohttp.ClientSession]:
    """A session that trusts the cluster's CA and carries the admin token, as kubectl's kubeconfig does."""
    tls = ssl.create_default_context(cadata=plane.rest.ca_pem.decode())
    assert plane.credentials is not None
    async with aiohttp.ClientSession(
        base_url=plane.rest.address, connector=aiohttp.TCPConnector(ssl=tls),
        headers={"Authorization": f"Bearer {plane.credentials.admin}"},
    ) as s:
        yield s


@pytest.fixture
async def http(rest_plane: ControlPlane) -> AsyncIterator[aiohttp.ClientSession]:
    async with admin_session(rest_plane) as s:
        yield s


async def call(http: aiohttp.ClientSession, method: str, path: str, body: object = None, *,
               ctype: str = "application/json", **headers: str) -> tuple[int, dict]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    async with http.request(method, path, data=data, headers={"Content-Type": ctype, **headers}) as r:
        return r.status, await r.json(content_type=None)


async def test_discovery_as_kubectl_reads_it(http: aiohttp.ClientSession) -> None:
    code, api = await call(http, "GET", "/api")
    assert code == 200 and api["versions"] == ["v1"]
    _, groups = await call(http, "GET", "/apis")
    assert {"apps", "batch", "coordination.k8s.io"} <= {g["name"] for g in groups["groups"]}
    _, core = await call(http, "GET", "/api/v1")
    pods = next(r for r in core["resources"] if r["name"] == "pods")
    assert pods["shortNames"] == ["po"] and pods["namespaced"] and "watch" in pods["verbs"] and pods["categories"] == ["all"]
    assert {"pods/log", "pods/status"} <= {r["name"] for r in core["resources"]}
    _, apps = await call(http, "GET", "/apis/apps/v1")
    assert "deployments/scale" in {r["name"] for r in apps["resources"]}
    code, version = await call(http, "GET", "/version")
    assert code == 200 and version["major"] == "1"
    # kubectl leaves validation to the server when the PATCH operation takes fieldValidation
    _, root = await call(http, "GET", "/openapi/v3")
    _, doc = await call(http, "GET", root["paths"]["apis/apps/v1"]["serverRelativeURL"])
    op = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert op["x-kubernetes-group-version-kind"]["kind"] == "Deployment"
    assert "fieldValidation" in {p["name"] for p in op["parameters"]}


async def test_a_missing_or_wrong_token_is_401_and_nothing_is_served(rest_plane: ControlPlane,
                                                                     http: aiohttp.ClientSession) -> None:
    for auth in ({}, {"Authorization": "Bearer admin.wrong"}, {"Authorization": "Basic eDp5"}):
        async with aiohttp.ClientSession(base_url=rest_plane.rest.address,
                                         connector=aiohttp.TCPConnector(ssl=ssl.create_default_context(
                                             cadata=rest_plane.rest.ca_pem.decode()))) as anon:
            async with anon.post("/api/v1/namespaces/default/pods", json=POD, headers=auth) as r:
                assert r.status == 401
                st = await r.json()
    assert st["kind"] == "Status" and st["reason"] == "Unauthorized"
    code, pods = await call(http, "GET", "/api/v1/namespaces/default/pods")
    assert code == 200 and pods["items"] == []


async def test_health_endpoints_answer_without_credentials_from_the_running_server(rest_plane: ControlPlane) -> None:
    tls = ssl.create_default_context(cadata=rest_plane.rest.ca_pem.decode())
    async with aiohttp.ClientSession(base_url=rest_plane.rest.address, connector=aiohttp.TCPConnector(ssl=tls)) as anon:
        async with anon.get("/readyz", params={"verbose": ""}) as r:
            assert r.status == 200 and r.content_type == "text/plain"
            text = await r.text()
        async with anon.get("/livez/etcd") as r:
            assert r.status == 200 and await r.text() == "ok"
    lines = text.splitlines()
    assert lines[:3] == ["[+]ping ok", "[+]log ok", "[+]etcd ok"] and lines[-2:] == ["[+]shutdown ok", "readyz check passed"]
    assert "[+]poststarthook/bootstrap-controller ok" in lines  # set once the kubernetes Service exists


async def test_create_get_list_table_patch_update_delete(http: aiohttp.ClientSession) -> None:
    code, created = await call(http, "POST", "/api/v1/namespaces/default/pods", POD)
    assert code == 201 and created["metadata"]["uid"] and created["status"]["phase"] == "Pending"
    code, got = await call(http, "GET", "/api/v1/namespaces/default/pods/p1")
    assert code == 200 and got["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
    # kubectl get asks for a Table: kubectl's columns, the wide ones at priority 1, the object's metadata per row
    table_accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    code, table = await call(http, "GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb", Accept=table_accept)
    assert code == 200 and table["kind"] == "Table"
    cols = [(c["name"], c["priority"]) for c in table["columnDefinitions"]]
    assert cols[:5] == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0)] and ("Node", 1) in cols
    assert table["rows"][0]["cells"][:3] == ["p1", "0/1", "Pending"]
    assert table["rows"][0]["object"]["metadata"]["labels"] == {"app": "web"}
    _, none = await call(http, "GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Ddb")
    assert none["kind"] == "PodList" and none["items"] == []
    # a strategic merge patch (kubectl's default) merges labels in
    code, patched = await call(http, "PATCH", "/api/v1/namespaces/default/pods/p1", {"metadata": {"labels": {"tier": "x"}}},
                               ctype="application/strategic-merge-patch+json")
    assert code == 200 and patched["metadata"]["labels"] == {"app": "web", "tier": "x"}
    # an update with the resourceVersion it read before the patch: 409, and nothing changes
    stale = dict(got, metadata=dict(got["metadata"], labels={"stale": "1"}))
    code, st = await call(http, "PUT", "/api/v1/namespaces/default/pods/p1", stale)
    assert code == 409 and st["reason"] == "Conflict"
    _, now = await call(http, "GET", "/api/v1/namespaces/default/pods/p1")
    assert now["metadata"]["labels"] == {"app": "web", "tier": "x"}
    code, gone = await call(http, "DELETE", "/api/v1/namespaces/default/pods/p1", {"kind": "DeleteOptions",
                                                                                   "propagationPolicy": "Background"})
    assert code == 200 and gone["metadata"]["name"] == "p1"
    code, st = await call(http, "GET", "/api/v1/namespaces/default/pods/p1")
    assert code == 404 and st["message"] == 'pods "p1" not found' and st["details"]["name"] == "p1"


async def test_bad_input_gets_a_status_naming_the_problem(http: aiohttp.ClientSession) -> None:
    bad = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad_Name"}, "spec": {"containers": [{"name": "c"}]}}
    code, st = await call(http, "POST", "/api/v1/namespaces/default/pods", bad)
    assert code == 422 and st["reason"] == "Invalid"
    assert "metadata.name" in st["message"] and "spec.containers[0].image: Required value" in st["message"]
    code, st = await call(http, "POST", "/api/v1/namespaces/default/pods", b"{not json")
    assert code == 400 and "not valid JSON" in st["message"]
    code, st = await call(http, "GET", "/api/v1/namespaces/default/widgets")
    assert code == 404 and 'no "widgets" in v1' in st["message"]
    code, st = await call(http, "GET", "/apis/apps/v1/namespaces/default/pods")  # pods are not in apps/v1
    assert code == 404
    code, st = await call(http, "POST", "/api/v1/namespaces/nowhere/pods", POD)
    assert code == 404 and st["message"] == 'namespaces "nowhere" not found'
    code, st = await call(http, "PATCH", "/api/v1/namespaces/default/pods/p1", b"{}", ctype="application/apply-patch+yaml")
    assert code == 422 and "fieldManager: Required value: is required for apply patch" in st["message"]
    code, st = await call(http, "POST", "/api/v1/namespaces/default/pods/p1/exec?command=sh")  # SPDY, no pod
    assert code == 404 and st["message"] == 'pods "p1" not found'
    code, st = await call(http, "POST", "/api/v1/namespaces/default/pods?dryRun=Some", POD)
    assert code == 400 and st["message"] == 'Invalid dryRun value "Some": supported values: "All"'
    code, st = await call(http, "POST", "/api/v1/namespaces/default/pods", b"x" * (5 << 20))
    assert code == 413
    code, pods = await call(http, "GET", "/api/v1/pods")
    assert code == 200 and pods["items"] == []  # nothing was stored by any of them


async def test_a_dry_run_admits_in_full_and_writes_nothing(rest_plane: ControlPlane, http: aiohttp.ClientSession) -> None:
    assert rest_plane.store is not None
    rev = rest_plane.store.revision
    code, obj = await call(http, "POST", "/api/v1/namespaces/default/pods?dryRun=All", POD)
    assert code == 201 and obj["metadata"]["uid"] and "resourceVersion" not in obj["metadata"]
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80, "nodePort": 30123}]}}
    code, dry = await call(http, "POST", "/api/v1/namespaces/default/services?dryRun=All", svc)
    assert code == 201 and dry["spec"]["clusterIP"] and dry["spec"]["ports"][0]["nodePort"] == 30123
    code, st = await call(http, "POST", "/api/v1/namespaces/default/pods?dryRun=All", dict(POD, metadata={"name": "Bad_"}))
    assert code == 422  # admission still refuses what is invalid
    assert rest_plane.store.revision == rev  # nothing was written
    code, _ = await call(http, "GET", "/api/v1/namespaces/default/pods/p1")
    assert code == 404
    # the dry run gave back the node port and cluster IP it took: a real create gets the same port
    code, real = await call(http, "POST", "/api/v1/namespaces/default/services", svc)
    assert code == 201 and real["spec"]["ports"][0]["nodePort"] == 30123
    code, patched = await call(http, "PATCH", "/api/v1/namespaces/default/services/s?dryRun=All",
                               {"metadata": {"labels": {"dry": "run"}}}, ctype="application/merge-patch+json")
    assert code == 200 and patched["metadata"]["labels"] == {"dry": "run"}
    code, _ = await call(http, "DELETE", "/api/v1/namespaces/default/services/s?dryRun=All")
    assert code == 200
    # kubectl delete --dry-run=server puts it in the DeleteOptions body, not the URL
    code, _ = await call(http, "DELETE", "/api/v1/namespaces/default/services/s",
                         {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background", "dryRun": ["All"]})
    assert code == 200
    code, still = await call(http, "GET", "/api/v1/namespaces/default/services/s")
    assert code == 200 and still["spec"]["type"] == "NodePort" and "labels" not in still["metadata"]
    # a dry run refused part way (its second nodePort is taken) gives back the first one it took
    two = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "two"}, "spec": {"type": "NodePort", "ports": [
        {"name": "a", "port": 80, "nodePort": 30200}, {"name": "b", "port": 81, "nodePort": 30123}]}}
    for query in ("?dryRun=All", ""):
        code, st = await call(http, "POST", f"/api/v1/namespaces/default/services{query}", two)
        assert code == 422 and "30123" in st["message"]
    two["spec"]["ports"] = two["spec"]["ports"][:1]
    code, real = await call(http, "POST", "/api/v1/namespaces/default/services", two)
    assert code == 201 and real["spec"]["ports"][0]["nodePort"] == 30200
    code, st = await call(http, "GET", "/api/v1/namespaces/default/services/s?dryRun=All")
    assert code == 200  # a read ignores dryRun, as the apiserver does


async def test_watch_streams_changes_and_filters_by_selector(http: aiohttp.ClientSession) -> None:
    _, listed = await call(http, "GET", "/api/v1/namespaces/default/pods")
    rv = listed["metadata"]["resourceVersion"]
    async with http.get(f"/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}&labelSelector=app%3Dweb") as r:
        assert r.status == 200

        async def next_event() -> dict:
            return json.loads(await asyncio.wait_for(r.content.readline(), 10))

        await call(http, "POST", "/api/v1/namespaces/default/pods", POD)
        ev = await next_event()
        assert (ev["type"], ev["object"]["metadata"]["name"]) == ("ADDED", "p1")
        await call(http, "POST", "/api/v1/namespaces/default/pods", dict(POD, metadata={"name": "other"}))  # not selected
        await call(http, "PATCH", "/api/v1/namespaces/default/pods/p1", {"metadata": {"annotations": {"a": "1"}}},
                   ctype="application/merge-patch+json")
        ev = await next_event()
        assert (ev["type"], ev["object"]["metadata"]["annotations"]) == ("MODIFIED", {"a": "1"})
        # a label change that leaves the selector is a DELETED for this watch, carrying the object as the
        # watcher last saw it, at the change's revision
        _, moved = await call(http, "PATCH", "/api/v1/namespaces/default/pods/p1", {"metadata": {"labels": {"app": "db"}}},
                              ctype="application/merge-patch+json")
        ev = await next_event()
        assert (ev["type"], ev["object"]["metadata"]["labels"]) == ("DELETED", {"app": "web"})
        assert ev["object"]["metadata"]["resourceVersion"] == moved["metadata"]["resourceVersion"]


async def test_watch_from_a_compacted_revision_is_410_gone(rest_plane: ControlPlane, http: aiohttp.ClientSession) -> None:
    await call(http, "POST", "/api/v1/namespaces/default/pods", POD)
    await call(http, "DELETE", "/api/v1/namespaces/default/pods/p1")
    assert rest_plane.store is not None
    await rest_plane.store.compact(rest_plane.store.revision)
    async with http.get("/api/v1/namespaces/default/pods?watch=1&resourceVersion=1") as r:
        ev = json.loads(await asyncio.wait_for(r.content.readline(), 10))
    assert ev["type"] == "ERROR" and ev["object"]["code"] == 410 and "too old resource version" in ev["object"]["message"]


async def test_a_watch_from_a_revision_not_reached_is_504_too_large(rest_plane: ControlPlane,
                                                                   http: aiohttp.ClientSession) -> None:
    assert rest_plane.store is not None
    ahead = rest_plane.store.revision + 1000
    code, st = await call(http, "GET", f"/api/v1/namespaces/default/pods?watch=true&resourceVersion={ahead}")
    assert code == 504 and st["message"].startswith(f"Too large resource version: {ahead}, current: ")
    assert st["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"


async def test_watchers_that_hang_up_are_let_go(rest_plane: ControlPlane, http: aiohttp.ClientSession) -> None:
    """A client that disconnects ends its watch at once (even a quiet one that never writes again)."""
    assert rest_plane.store is not None
    store = rest_plane.store
    before = len(store._subscribers)
    for _ in range(5):
        async with http.get("/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dnone") as r:
            assert r.status == 200
            await asyncio.sleep(0)  # the response started: the watch is subscribed
    await wait_for(lambda: len(store._subscribers) == before and not rest_plane.rest._streams, what="watches let go")


async def test_the_url_decides_the_kind_and_scope(http: aiohttp.ClientSession) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}
    code, st = await call(http, "POST", "/api/v1/namespaces/default/pods", svc)
    assert code == 400 and "the URL names pods" in st["message"]
    bare = {"metadata": {"name": "p1"}, "spec": POD["spec"]}  # kind and apiVersion come from the URL
    code, obj = await call(http, "POST", "/api/v1/namespaces/default/pods", bare)
    assert code == 201 and obj["kind"] == "Pod"
    code, _ = await call(http, "GET", "/api/v1/pods/p1")  # a named pod needs its namespace in the path
    assert code == 404
    code, _ = await call(http, "GET", "/api/v1/namespaces/default/nodes")  # nodes are cluster-scoped
    assert code == 404
    code, ns = await call(http, "GET", "/api/v1/namespaces/default/status")  # the Namespace's own status
    assert code == 200 and ns["kind"] == "Namespace"
    for query in ("limit=%C2%B2", "watch=1&resourceVersion=%C2%B2", "timeoutSeconds=x&watch=1"):
        code, st = await call(http, "GET", f"/api/v1/namespaces/default/pods?{query}")
        assert code == 400, query
    code, st = await call(http, "GET", "/api/v1/pods", Authorization="Bearer \u00e9")
    assert code == 401
    code, st = await call(http, "PUT", "/api/v1/namespaces/default/pods/p1", {"metadata": [1]})
    assert code == 400


async def test_a_warning_with_a_control_character_still_answers(http: aiohttp.ClientSession) -> None:
    pod = dict(POD, spec=dict(POD["spec"], **{"bo\ngus": 1}))
    async with http.post("/api/v1/namespaces/default/pods", json=pod) as r:
        assert r.status == 201
        warning = r.headers.get("Warning", "")
    assert "unknown field" in warning and "bo gus" in warning and "\n" not in warning


async def test_protobuf_bodies_of_kubectls_typed_clients(http: aiohttp.ClientSession) -> None:
    """kubectl create deployment|namespace|service|job and drain send protobuf (no JSON fallback): decoded as
    the same objects (control/api/protobuf.py); bodies captured from kubectl 1.32 with -v=9."""
    from tests.unit.test_protobuf import KUBECTL

    pb = "application/vnd.kubernetes.protobuf"
    code, ns = await call(http, "POST", "/api/v1/namespaces", bytes.fromhex(KUBECTL["namespace"][1]), ctype=pb)
    assert code == 201 and ns["metadata"]["name"] == "foo" and ns["status"]["phase"] == "Active"
    body = bytes.fromhex(KUBECTL["deployment_replicas_3"][1])
    code, d = await call(http, "POST", "/apis/apps/v1/namespaces/default/deployments", body, ctype=pb)
    assert code == 201 and d["spec"]["replicas"] == 3 and d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    code, st = await call(http, "POST", "/api/v1/namespaces/default/pods", body, ctype=pb)  # a Deployment, to pods
    assert code == 400 and "the URL names pods" in st["message"]
    code, st = await call(http, "POST", "/api/v1/namespaces/default/pods", b"k8s\x00\x0a", ctype=pb)
    assert code == 400 and "protobuf body is malformed" in st["message"]


async def test_scale_subresource(http: aiohttp.ClientSession) -> None:
    labels = {"app": "w"}
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "w"}, "spec": {
        "replicas": 1, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
    assert (await call(http, "POST", "/apis/apps/v1/namespaces/default/deployments", deploy))[0] == 201
    code, scale = await call(http, "GET", "/apis/apps/v1/namespaces/default/deployments/w/scale")
    assert code == 200 and scale["kind"] == "Scale" and scale["spec"]["replicas"] == 1 and scale["status"]["selector"] == "app=w"
    code, scale = await call(http, "PATCH", "/apis/apps/v1/namespaces/default/deployments/w/scale",
                             {"spec": {"replicas": 4}}, ctype="application/merge-patch+json")
    assert code == 200 and scale["spec"]["replicas"] == 4
    _, d = await call(http, "GET", "/apis/apps/v1/namespaces/default/deployments/w")
    assert d["spec"]["replicas"] == 4


def test_kubeconfig_carries_the_ca_and_the_token(tmp_path: Path) -> None:
    path = config.write_kubeconfig("https://127.0.0.1:7080", "admin.t", b"-----BEGIN CERTIFICATE-----\n")
    doc = json.loads(path.read_text())
    assert path.stat().st_mode & 0o777 == 0o600
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:7080"
    assert doc["clusters"][0]["cluster"]["certificate-authority-data"]
    assert doc["users"][0]["user"]["token"] == "admin.t"


# -- the real kubectl -------------------------------------------------------------------------------------
def _kubectl(kubeconfig: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kubectl", "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True,
                          timeout=60, input=input)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on this machine")
async def test_the_real_kubectl_explains_fields_with_kubernetes_descriptions(rest_plane: ControlPlane) -> None:
    assert rest_plane.credentials is not None
    kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, rest_plane.rest.ca_pem)
    r = await asyncio.to_thread(_kubectl, kubeconfig, "explain", "pods.spec.containers.resources")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("KIND:       Pod\nVERSION:    v1\n\nFIELD: resources <ResourceRequirements>")
    assert "limits\t<map[string]Quantity>" in r.stdout and "Compute Resources required by this container" in r.stdout
    r = await asyncio.to_thread(_kubectl, kubeconfig, "explain", "deployment.spec.strategy.rollingUpdate", "--recursive")
    assert r.returncode == 0 and "GROUP:      apps" in r.stdout and "maxSurge\t<IntOrString>" in r.stdout, r.stderr
    r = await asyncio.to_thread(_kubectl, kubeconfig, "explain", "pdb.spec.minAvailable")
    assert r.returncode == 0 and "FIELD: minAvailable <IntOrString>" in r.stdout, r.stderr
    r = await asyncio.to_thread(_kubectl, kubeconfig, "explain", "pods.spec.nope")
    assert r.returncode != 0 and 'error: field "nope" does not exist' in r.stderr
    # `kube-tui explain` prints what kubectl prints, byte for byte
    for target, recursive in (("pods", False), ("deploy.spec", True), ("svc.spec.ports", False),
                              ("endpoints.subsets", False), ("pods.spec.containers.livenessProbe", False)):
        r = await asyncio.to_thread(_kubectl, kubeconfig, "explain", target, *(["--recursive"] * recursive))
        info = kinds.lookup(target.split(".")[0])
        assert r.stdout == explain(info.api_version, info.kind, target.split(".")[1:], recursive=recursive), target


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on this machine")
async def test_the_real_kubectl_applies_gets_patches_and_deletes(rest_plane: ControlPlane) -> None:
    assert rest_plane.credentials is not None
    kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, rest_plane.rest.ca_pem)
    manifest = (K8S_DOCS / "nginx-deployment.yaml").read_text()

    def kubectl(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return _kubectl(kubeconfig, *args, input=input)

    r = await asyncio.to_thread(kubectl, "apply", "-f", "-", input=manifest)
    assert r.returncode == 0 and r.stdout.strip() == "deployment.apps/nginx-deployment created", r.stderr
    r = await asyncio.to_thread(kubectl, "apply", "-f", "-", input=manifest)
    assert r.stdout.strip() == "deployment.apps/nginx-deployment unchanged", r.stderr
    r = await asyncio.to_thread(kubectl, "apply", "-f", "-", input=manifest.replace("nginx:1.14.2", "nginx:1.16.1"))
    assert r.stdout.strip() == "deployment.apps/nginx-deployment configured", r.stderr
    r = await asyncio.to_thread(kubectl, "get", "deploy", "nginx-deployment", "-o", "json")
    d = json.loads(r.stdout)
    # the apply's strategic merge patch changed the image and kept what the server defaulted
    (c,) = d["spec"]["template"]["spec"]["containers"]
    assert (c["image"], c["imagePullPolicy"], d["spec"]["replicas"]) == ("nginx:1.16.1", "IfNotPresent", 3)
    # kubectl's patch was a strategic merge patch: its directives were applied, not stored
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert "$setElementOrder" not in json.dumps(d)
    r = await asyncio.to_thread(kubectl, "get", "deployments", "-o", "wide")
    header, row = r.stdout.splitlines()
    assert header.split()[:5] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"] and "IMAGES" in header
    assert row.split()[0] == "nginx-deployment" and "nginx:1.16.1" in row
    r = await asyncio.to_thread(kubectl, "label", "deploy", "nginx-deployment", "tier=web")
    assert r.stdout.strip() == "deployment.apps/nginx-deployment labeled", r.stderr
    r = await asyncio.to_thread(kubectl, "scale", "deploy", "nginx-deployment", "--replicas=5")
    assert r.stdout.strip() == "deployment.apps/nginx-deployment scaled", r.stderr
    r = await asyncio.to_thread(kubectl, "get", "widgets")
    assert r.returncode != 0 and 'the server doesn\'t have a resource type "widgets"' in r.stderr
    r = await asyncio.to_thread(kubectl, "delete", "deploy", "nginx-deployment", "--dry-run=server")
    assert r.stdout.strip() == 'deployment.apps "nginx-deployment" deleted (server dry run)', r.stderr
    r = await asyncio.to_thread(kubectl, "get", "deploy", "nginx-deployment", "-o", "name")
    assert r.stdout.strip() == "deployment.apps/nginx-deployment", "a dry-run delete deleted it"
    r = await asyncio.to_thread(kubectl, "delete", "deploy", "nginx-deployment")
    assert r.stdout.strip() == 'deployment.apps "nginx-deployment" deleted', r.stderr
    r = await asyncio.to_thread(kubectl, "get", "deploy")
    assert "No resources found in default namespace." in r.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on this machine")
async def test_the_real_kubectl_refuses_a_server_it_cannot_verify(rest_plane: ControlPlane, tmp_path: Path) -> None:
    assert rest_plane.credentials is not None
    kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, b"")
    other = tmp_path / "other-ca.json"
    doc = json.loads(kubeconfig.read_text())
    from control.apiserver import pki

    doc["clusters"][0]["cluster"]["certificate-authority-data"] = __import__("base64").b64encode(pki.make_ca()[0]).decode()
    other.write_text(json.dumps(doc))
    r = await asyncio.to_thread(_kubectl, other, "get", "pods")
    assert r.returncode != 0 and "certificate signed by unknown authority" in r.stderr


# -- exec over WebSocket (control/apiserver/rest_exec.py) ------------------------------------------------------
@contextlib.asynccontextmanager
async def running_node(plane: ControlPlane, directory: Path) -> AsyncIterator[object]:
    """node-1, a real node (kubelet, process runtime) of `plane`, stopped on the way out."""
    from nodes.node import Node
    from nodes.nodestatus import NodeConfig
    from tests.integration.test_kubelet import node_options

    n = Node(NodeConfig(name="node-1", cpu="2", memory="4Gi", pods=20), node_options(plane, directory), say=lambda s: None)
    await n.start()
    try:
        yield n
    finally:
        await n.stop()


@pytest.fixture
async def rest_node(rest_plane: ControlPlane, tmp_path: Path) -> AsyncIterator[object]:
    async with running_node(rest_plane, tmp_path / "node-1") as n:
        yield n


async def running_pod(http: aiohttp.ClientSession, name: str, script: str) -> None:
    from tests.integration.test_kubelet import pod

    assert (await call(http, "POST", "/api/v1/namespaces/default/pods", pod(name, script)))[0] == 201

    async def running() -> bool:
        return (await call(http, "GET", f"/api/v1/namespaces/default/pods/{name}"))[1]["status"]["phase"] == "Running"
    await wait_for(running, 15, what=f"{name} Running")


def exec_url(name: str, *command: str, stdin: bool = False, tty: bool = False) -> str:
    from urllib.parse import urlencode

    q = [("command", c) for c in command] + [("stdout", "true"), ("stderr", "true")]
    q += [("stdin", "true")] if stdin else []
    q += [("tty", "true")] if tty else []
    return f"/api/v1/namespaces/default/pods/{name}/exec?{urlencode(q)}"


async def test_exec_over_websocket_speaks_kubectls_channel_protocol(rest_plane: ControlPlane, rest_node: object,
                                                                    http: aiohttp.ClientSession) -> None:
    await running_pod(http, "shell", "exec sleep 300")
    url = exec_url("shell", "sh", "-c", "cat; echo oops >&2; exit 3", stdin=True)
    out: dict[int, bytes] = {1: b"", 2: b"", 3: b""}
    async with http.ws_connect(url, protocols=("v5.channel.k8s.io",)) as ws:
        assert ws.protocol == "v5.channel.k8s.io"
        await ws.send_bytes(b"\x00hello ")
        await ws.send_bytes(b"\x00world")
        await ws.send_bytes(b"\xff\x00")  # v5: stdin is closed
        async for msg in ws:
            out[msg.data[0]] += msg.data[1:]
    assert (out[1], out[2]) == (b"hello world", b"oops\n")
    status = json.loads(out[3])
    assert status["reason"] == "NonZeroExitCode" and status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    # a pod that does not exist is refused before the upgrade, with its Status
    with pytest.raises(aiohttp.WSServerHandshakeError) as e:
        await http.ws_connect(exec_url("nope", "true"), protocols=("v5.channel.k8s.io",))
    assert e.value.status == 404
    # a client that hangs up takes its command with it, as when kubectl is killed
    marker = f"hung-{uuid.uuid4().hex[:8]}"
    async with http.ws_connect(exec_url("shell", "sh", "-c", f"exec sleep 300 # {marker}"),
                               protocols=("v5.channel.k8s.io",)):
        from tests.integration.test_kubelet import marked

        await wait_for(lambda: marked(marker), 10, what="the exec runs")
    await wait_for(lambda: not marked(marker), 15, what="the exec is killed when its client hangs up")


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on this machine")
async def test_the_real_kubectl_execs_and_copies(rest_plane: ControlPlane, rest_node: object,
                                                 http: aiohttp.ClientSession, tmp_path: Path) -> None:
    assert rest_plane.credentials is not None
    kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, rest_plane.rest.ca_pem)
    await running_pod(http, "shell", "exec sleep 300")
    r = await asyncio.to_thread(_kubectl, kubeconfig, "exec", "shell", "--", "sh", "-c", "echo out; exit 3")
    assert (r.stdout, r.returncode) == ("out\n", 3) and "command terminated with exit code 3" in r.stderr
    r = await asyncio.to_thread(_kubectl, kubeconfig, "exec", "-i", "shell", "--", "wc", "-c", input="x" * 200_000)
    assert (r.stdout.strip(), r.returncode) == ("200000", 0), r.stderr
    src = tmp_path / "site"
    src.mkdir()
    (src / "index.html").write_text("<h1>hi</h1>\n")
    dest = f"/tmp/kube-tui-test-{uuid.uuid4().hex[:8]}"
    try:
        r = await asyncio.to_thread(_kubectl, kubeconfig, "cp", str(src), f"shell:{dest}")
        assert r.returncode == 0, r.stderr
        r = await asyncio.to_thread(_kubectl, kubeconfig, "cp", f"shell:{dest}", str(tmp_path / "back"))
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "back" / "index.html").read_text() == "<h1>hi</h1>\n"
    finally:
        shutil.rmtree(dest, ignore_errors=True)  # in the container's own layer: never here, unless that broke


async def refusal(http: aiohttp.ClientSession, url: str, *, websocket: bool) -> tuple[int, str]:
    """(status, what kubectl would print from it: a Status' message, or the plain text) of a refused upgrade."""
    if websocket:
        headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Protocol": "v5.channel.k8s.io"}
    else:  # kubectl's SPDY request: what it falls back to once the WebSocket upgrade is refused
        headers = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "v4.channel.k8s.io"}
    async with http.post(url, headers=headers) as r:
        text = await r.text()
        if r.content_type == "application/json":
            return r.status, json.loads(text)["message"]
        return r.status, "unable to upgrade connection: " + text


async def test_exec_and_attach_refusals_name_the_real_reason_over_websocket_and_spdy(
        rest_plane: ControlPlane, rest_node: object, http: aiohttp.ClientSession) -> None:
    """kubectl 1.30 falls back to SPDY when the WebSocket upgrade is refused and prints the SPDY answer: both say
    what is wrong with the request, in kube-apiserver's and the kubelet's words; only a request that would be
    served hears that SPDY is not."""
    from tests.integration.test_kubelet import marked
    from tests.integration.test_kubelet import pod as make_pod

    await running_pod(http, "shell", "exec sleep 300")
    unscheduled = make_pod("nginx", "true")
    del unscheduled["spec"]["nodeName"]  # no scheduler runs here: it stays unscheduled
    proxy = make_pod("goproxy", "true", image="registry.k8s.io/goproxy:0.1")
    proxy["spec"]["containers"][0].update(name="goproxy")
    del proxy["spec"]["containers"][0]["command"]  # an image kube-tui has not: never running
    for p in (unscheduled, proxy):
        assert (await call(http, "POST", "/api/v1/namespaces/default/pods", p))[0] == 201

    async def pulling() -> bool:
        st = (await call(http, "GET", "/api/v1/namespaces/default/pods/goproxy"))[1]["status"]
        return bool(st.get("containerStatuses"))
    await wait_for(pulling, 15, what="goproxy's status from its kubelet")
    marker = f"spdy-{uuid.uuid4().hex[:8]}"
    base = "/api/v1/namespaces/default/pods"
    for websocket in (True, False):
        for sub in ("exec?command=sh&command=-c&command=" + f"sleep+300+%23+{marker}&", "attach?"):
            what = sub[:sub.index("?")]
            assert await refusal(http, f"{base}/shell/{sub}container=nope&stdout=true", websocket=websocket) == (
                400, "container nope is not valid for pod shell")
            assert await refusal(http, f"{base}/nginx/{sub}container=main&stdout=true", websocket=websocket) == (
                400, "pod nginx does not have a host assigned")
            assert await refusal(http, f"{base}/goproxy/{sub}container=goproxy&stdout=true", websocket=websocket) == (
                400, 'unable to upgrade connection: container not found ("goproxy")')
            assert await refusal(http, f"{base}/gone/{sub}stdout=true", websocket=websocket) == (
                404, 'pods "gone" not found')
            if not websocket:  # a request that would be served: only then the protocol is the reason
                code, message = await refusal(http, f"{base}/shell/{sub}container=main&stdout=true", websocket=False)
                assert code == 400 and message.startswith(f"{what} over SPDY is not served by kube-tui: kubectl 1.30")
    assert not marked(marker)  # checking a SPDY exec ran nothing


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on this machine")
async def test_the_real_kubectl_prints_why_an_exec_or_attach_is_refused(rest_plane: ControlPlane, rest_node: object,
                                                                        http: aiohttp.ClientSession) -> None:
    assert rest_plane.credentials is not None
    kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, rest_plane.rest.ca_pem)
    from tests.integration.test_kubelet import pod as make_pod

    await running_pod(http, "shell", "exec sleep 300")
    unscheduled = make_pod("nginx", "true")
    del unscheduled["spec"]["nodeName"]
    assert (await call(http, "POST", "/api/v1/namespaces/default/pods", unscheduled))[0] == 201
    proxy = make_pod("goproxy", "true", image="registry.k8s.io/goproxy:0.1")
    proxy["spec"]["containers"][0].update(name="goproxy")
    del proxy["spec"]["containers"][0]["command"]
    assert (await call(http, "POST", "/api/v1/namespaces/default/pods", proxy))[0] == 201

    async def pulling() -> bool:
        st = (await call(http, "GET", "/api/v1/namespaces/default/pods/goproxy"))[1]["status"]
        return bool(st.get("containerStatuses"))
    await wait_for(pulling, 15, what="goproxy's status from its kubelet")
    for args, said in (
            (("exec", "shell", "-c", "nope", "--", "true"),
             "Error from server (BadRequest): container nope is not valid for pod shell"),
            (("exec", "nginx", "--", "true"), "Error from server (BadRequest): pod nginx does not have a host assigned"),
            (("exec", "goproxy", "--", "true"), 'error: unable to upgrade connection: container not found ("goproxy")')):
        r = await asyncio.to_thread(_kubectl, kubeconfig, *args)
        assert (r.returncode, r.stderr.strip()) == (1, said), r.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on this machine")
async def test_the_real_kubectl_attach_gets_the_output_of_a_running_pod(rest_plane: ControlPlane, rest_node: object,
                                                                       http: aiohttp.ClientSession) -> None:
    assert rest_plane.credentials is not None
    kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, rest_plane.rest.ca_pem)
    await running_pod(http, "ticker", 'i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.1; done')
    proc = await asyncio.create_subprocess_exec("kubectl", "--kubeconfig", str(kubeconfig), "attach", "ticker",
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lines = [await asyncio.wait_for(proc.stdout.readline(), 15) for _ in range(3)]  # type: ignore[union-attr]
        assert all(line.startswith(b"tick ") for line in lines), lines
    finally:
        proc.terminate()
        await proc.wait()


async def test_exec_over_websocket_survives_a_slow_reader_a_bad_resize_and_a_stopping_server(
        rest_plane: ControlPlane, rest_node: object, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch) -> None:
    import nodes.remotecommand
    from control.api import remotecommand
    from tests.integration.test_kubelet import marked

    # the node closes a session nobody asks about: here after 2 s (60 s in earnest), kept alive every 0.5 s
    monkeypatch.setattr(nodes.remotecommand, "IDLE_TIMEOUT", 2.0)
    monkeypatch.setattr(remotecommand, "KEEPALIVE", 0.5)
    await running_pod(http, "shell", "exec sleep 300")
    async with http.ws_connect(exec_url("shell", "sh", "-c", "head -c 30000000 /dev/zero; exit 7"),
                               protocols=("v5.channel.k8s.io",)) as ws:
        await asyncio.sleep(4)  # kubectl's reader is slow: the output waits, the session must not be closed
        got, status = 0, b""
        async for msg in ws:
            if msg.data[0] == 1:
                got += len(msg.data) - 1
            elif msg.data[0] == 3:
                status += msg.data[1:]
    assert got == 30_000_000 and json.loads(status)["details"]["causes"][0]["message"] == "7"
    # a resize kubectl would never send (a number too big for an int) is ignored, not fatal
    async with http.ws_connect(exec_url("shell", "sh", "-c", "cat", stdin=True), protocols=("v5.channel.k8s.io",)) as ws:
        await ws.send_bytes(b'\x04{"Width":1e999,"Height":30}')
        await ws.send_bytes(b"\x00still here")
        await ws.send_bytes(b"\xff\x00")
        out = b"".join([m.data[1:] async for m in ws if m.data[0] == 1])
    assert out == b"still here"
    # the REST API stopping (the control plane going down) takes the running execs' commands with it
    marker = f"stopping-{uuid.uuid4().hex[:8]}"
    ws = await http.ws_connect(exec_url("shell", "sh", "-c", f"exec sleep 300 # {marker}"), protocols=("v5.channel.k8s.io",))
    try:
        await wait_for(lambda: marked(marker), 10, what="the exec runs")
        await rest_plane.rest.stop()
        await wait_for(lambda: not marked(marker), 10, what="its command is killed")
    finally:
        await ws.close()


async def test_metrics_api_for_kubectl_top(rest_plane: ControlPlane, http: aiohttp.ClientSession) -> None:
    from control.api.meta import USAGE_ANNOTATION

    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "annotations": {
        USAGE_ANNOTATION: json.dumps({"default/p1": [250, 100 << 20], "kube-system/other": [50, 1 << 20]})}},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    assert (await call(http, "POST", "/api/v1/nodes", node))[0] == 201
    gone = {**node, "metadata": {**node["metadata"], "name": "n2"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}}
    assert (await call(http, "POST", "/api/v1/nodes", gone))[0] == 201
    code, _ = await call(http, "GET", "/apis/metrics.k8s.io/v1beta1/nodes/n2")
    assert code == 404  # not Ready: no fresh metrics (metrics-server has none either); kubectl top shows <unknown>
    assert (await call(http, "POST", "/api/v1/namespaces/default/pods", POD))[0] == 201
    _, groups = await call(http, "GET", "/apis")
    assert "metrics.k8s.io" in {g["name"] for g in groups["groups"]}
    code, n = await call(http, "GET", "/apis/metrics.k8s.io/v1beta1/nodes/n1")
    assert code == 200 and n["usage"] == {"cpu": "300m", "memory": f"{(101 << 20) // 1024}Ki"}
    code, pods = await call(http, "GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Dweb")
    assert code == 200 and [(p["metadata"]["name"], p["containers"]) for p in pods["items"]] == [
        ("p1", [{"name": "c", "usage": {"cpu": "250m", "memory": "102400Ki"}}])]
    code, st = await call(http, "GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope")
    assert code == 404 and st["message"] == 'podmetrics.metrics.k8s.io "default/nope" not found'
    if shutil.which("kubectl"):
        assert rest_plane.credentials is not None
        kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, rest_plane.rest.ca_pem)
        r = await asyncio.to_thread(_kubectl, kubeconfig, "top", "pod", "p1")
        assert r.stdout.split() == ["NAME", "CPU(cores)", "MEMORY(bytes)", "p1", "250m", "100Mi"], r.stderr


async def test_auth_whoami_and_can_i(rest_plane: ControlPlane, http: aiohttp.ClientSession) -> None:
    """kubectl auth whoami | can-i: the same authentication and authorization as every request (rest_auth.py)."""
    assert rest_plane.credentials is not None
    code, me = await call(http, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                          {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert code == 201 and me["status"]["userInfo"]["username"] == "admin"
    node_token = rest_plane.credentials.node_credential("n1")

    async def may(token: str, **attrs: str) -> dict:
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": attrs}}
        code, out = await call(http, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review,
                               Authorization=f"Bearer {token}")
        assert code == 201
        return out["status"]

    admin = rest_plane.credentials.admin
    assert (await may(admin, verb="delete", resource="nodes"))["allowed"] is True
    assert (await may(node_token, verb="get", resource="nodes", name="n2"))["allowed"] is True
    assert (await may(node_token, verb="update", resource="nodes", name="n1"))["allowed"] is True
    refused = await may(node_token, verb="update", resource="nodes", name="n2")
    assert refused["allowed"] is False and "a node may only modify its own Node object (n1)" in refused["reason"]
    refused = await may(node_token, verb="list", resource="pods", namespace="default")
    assert refused["allowed"] is False and "spec.nodeName=n1" in refused["reason"]
    assert (await may(node_token, verb="get", resource="pods", subresource="log", name="p"))["allowed"] is False
    assert (await may(node_token, verb="create", resource="widgets"))["allowed"] is False
    if shutil.which("kubectl"):
        kubeconfig = config.write_kubeconfig(rest_plane.rest.address, node_token, rest_plane.rest.ca_pem)
        r = await asyncio.to_thread(_kubectl, kubeconfig, "auth", "whoami")
        assert "system:node:n1" in r.stdout, r.stderr
        r = await asyncio.to_thread(_kubectl, kubeconfig, "auth", "can-i", "create", "pods")
        assert r.returncode == 1 and r.stdout.startswith('no - pods is forbidden: User "system:node:n1" cannot create'), r.stdout
        r = await asyncio.to_thread(_kubectl, kubeconfig, "auth", "can-i", "get", "nodes")
        assert (r.stdout.strip(), r.returncode) == ("yes", 0), r.stderr


# -- port-forward over SPDY/3.1 (control/apiserver/rest_portforward.py) ------------------------------------------
class SpdyClient:
    """Just enough of kubectl's side of pods/portforward: the upgrade, then SYN_STREAMs and DATA frames."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        import zlib

        from control.apiserver.rest_portforward import DICTIONARY, Frames

        self.reader, self.writer = reader, writer
        self.deflate = zlib.compressobj(zdict=DICTIONARY)
        self.inflate = Frames(reader, writer.transport)  # to read the server's frames (and header blocks)

    @classmethod
    async def connect(cls, plane: ControlPlane, pod: str) -> SpdyClient:
        assert plane.credentials is not None
        host, port = plane.rest.host, plane.rest.port
        tls = ssl.create_default_context(cadata=plane.rest.ca_pem.decode())
        reader, writer = await asyncio.open_connection(host, port, ssl=tls)
        writer.write((f"POST /api/v1/namespaces/default/pods/{pod}/portforward HTTP/1.1\r\nHost: {host}\r\n"
                      f"Authorization: Bearer {plane.credentials.admin}\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                      "X-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n").encode())
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    def syn(self, stream: int, headers: dict[str, str]) -> None:
        import struct
        import zlib

        raw = struct.pack(">I", len(headers)) + b"".join(
            struct.pack(">I", len(k)) + k.encode() + struct.pack(">I", len(v)) + v.encode() for k, v in headers.items())
        block = self.deflate.compress(raw) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        payload = struct.pack(">IIH", stream, 0, 0) + block
        self.writer.write(struct.pack(">HHI", 0x8003, 1, len(payload)) + payload)

    def data(self, stream: int, data: bytes, fin: bool = False) -> None:
        import struct

        self.writer.write(struct.pack(">II", stream, ((1 if fin else 0) << 24) | len(data)) + data)

    async def read_stream(self, stream: int, error_stream: int = 0) -> tuple[bytes, bytes]:
        """Every DATA byte of one stream until its FIN, or of its error stream until that one's FIN
        (replies and other streams' frames skipped): (data, error)."""
        got = {stream: b"", error_stream: b""}
        while True:
            control, kind, flags, payload = await asyncio.wait_for(self.inflate.read(), 15)
            if not control and kind in got:
                got[kind] += payload
                if flags & 1 and (kind == stream or got[kind]):
                    return got[stream], got[error_stream]


async def nginx_pod(http: aiohttp.ClientSession, plane: ControlPlane | None = None) -> None:
    """A pod of the built-in nginx on 8080; with `plane`, also wait until nginx listens (Running comes first)."""
    from control.errors import ApiError
    from tests.integration.test_kubelet import pod as make_pod

    web = make_pod("web", "")
    web["spec"]["containers"][0].update(image="nginx", command=None, ports=[{"name": "http", "containerPort": 8080}])
    assert (await call(http, "POST", "/api/v1/namespaces/default/pods", web))[0] == 201

    async def running() -> bool:
        return (await call(http, "GET", "/api/v1/namespaces/default/pods/web"))[1]["status"]["phase"] == "Running"
    await wait_for(running, 15, what="web Running")
    if plane is None:
        return
    client = plane.client("probe")

    async def listening() -> bool:
        try:
            sid = (await client.port_forward_open("web", 8080))["session"]
        except ApiError as e:
            assert "connection refused" in e.message, e.message
            return False
        await client.exec_stream("web", sid, close=True, verb="portforward")
        return True
    await wait_for(listening, 15, what="nginx listening")


async def test_port_forward_over_spdy_carries_connections_and_reports_errors(
        rest_plane: ControlPlane, rest_node: object, http: aiohttp.ClientSession) -> None:
    await nginx_pod(http)
    client = await SpdyClient.connect(rest_plane, "web")
    try:
        async def get(n: int) -> bytes | None:
            """One forwarded connection (streams 4n+1, 4n+3): an HTTP GET, the answer until the pod closes."""
            err, data = 4 * n + 1, 4 * n + 3
            client.syn(err, {"streamtype": "error", "port": "8080", "requestid": str(n)})
            client.syn(data, {"streamtype": "data", "port": "8080", "requestid": str(n)})
            client.data(data, b"GET / HTTP/1.0\r\n\r\n", fin=True)
            answer, error = await client.read_stream(data, err)
            if error:
                assert b"connection refused" in error, error  # nginx not listening yet
                return None
            return answer

        n = 0
        answer = None
        deadline = asyncio.get_running_loop().time() + 20
        while answer is None:  # Running comes before nginx listens (no readiness probe here)
            answer = await get(n)
            n += 1
            if answer is None:  # each try is a new forwarded connection: poll, by time, not by count
                assert asyncio.get_running_loop().time() < deadline, f"nginx not listening after {n} tries"
                await asyncio.sleep(0.05)
        assert answer.startswith(b"HTTP/1.1 200") and b"Welcome to nginx" in answer
        assert (await get(n)).startswith(b"HTTP/1.1 200")  # another connection on the same tunnel
        # a port nothing listens on: the error stream says why, as kubectl prints it
        client.syn(1001, {"streamtype": "error", "port": "7999", "requestid": "x"})
        client.syn(1003, {"streamtype": "data", "port": "7999", "requestid": "x"})
        _, error = await client.read_stream(1003, 1001)
        assert b"7999" in error and b"refused" in error
    finally:
        client.writer.close()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on this machine")
async def test_the_real_kubectl_port_forwards(rest_plane: ControlPlane, rest_node: object,
                                              http: aiohttp.ClientSession) -> None:
    from control.netutil import stable_port_pair

    assert rest_plane.credentials is not None
    kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, rest_plane.rest.ca_pem)
    await nginx_pod(http, rest_plane)  # listening: kubectl ends a port-forward whose connection is refused
    local = stable_port_pair()
    proc = await asyncio.create_subprocess_exec(
        "kubectl", "--kubeconfig", str(kubeconfig), "port-forward", "pod/web", f"{local}:8080",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 30)  # type: ignore[union-attr]
        assert f"Forwarding from 127.0.0.1:{local} -> 8080" in line.decode()

        async def answered() -> bytes | None:
            reader, writer = await asyncio.open_connection("127.0.0.1", local)
            try:
                writer.write(b"GET / HTTP/1.0\r\n\r\n")
                answer = await asyncio.wait_for(reader.read(), 10)
            finally:
                writer.close()
            return answer if answer.startswith(b"HTTP/1.1 200") else None
        answer = await wait_for(answered, 20, interval=0.5, what="nginx through kubectl port-forward")
        assert b"Welcome to nginx" in answer
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), 10)


async def test_port_forward_tunnel_with_garbage_frames_is_closed_and_the_server_goes_on(
        rest_plane: ControlPlane, http: aiohttp.ClientSession) -> None:
    assert (await call(http, "POST", "/api/v1/namespaces/default/pods", POD))[0] == 201
    for garbage in (b"\x80\x03\x00\x01\x00\x00\x00\x0c" + b"\x00" * 12,  # a SYN_STREAM whose header block is not zlib
                    b"\x80\x03\x00\x01\x00\x00\x00\x0e" + b"\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"\x78\x9c\xff\xff",
                    # a frame of an unknown type and one for a stream nobody opened are skipped; then a bad one
                    b"\x80\x03\x00\x63\x00\x00\x00\x02xx" + b"\x00\x00\x00\x09\x00\x00\x00\x01y"
                    + b"\x80\x03\x00\x01\x00\x00\x00\x0c" + b"\x00" * 12):
        client = await SpdyClient.connect(rest_plane, "p1")
        client.writer.write(garbage)
        rest = await asyncio.wait_for(client.reader.read(), 10)  # the server ends the tunnel
        client.writer.close()
        assert b"\x80\x03\x00\x02" not in rest  # no stream was answered
    code, version = await call(http, "GET", "/version")
    assert code == 200
    code, st = await call(http, "POST", "/api/v1/namespaces/default/pods/p1/portforward")  # no upgrade asked
    assert code == 400 and "SPDY/3.1" in st["message"]


async def test_a_wildcard_listen_is_reached_and_verified_on_loopback(tmp_path: Path) -> None:
    """--https 0.0.0.0:PORT: the kubeconfig names 127.0.0.1, and the certificate covers it and this machine."""
    import socket

    from cryptography import x509

    async with running_plane(tmp_path / "data", rest_listen="0.0.0.0:0") as p:
        assert p.rest.address.startswith("https://127.0.0.1:")
        tls = ssl.create_default_context(cadata=p.rest.ca_pem.decode())
        async with aiohttp.ClientSession() as s, s.get(p.rest.address + "/version", ssl=tls) as r:
            assert r.status == 200
        cert = x509.load_pem_x509_certificate((tmp_path / "data" / "pki" / "apiserver.crt").read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert socket.gethostname() in san.get_values_for_type(x509.DNSName)


# -- attach (kubectl attach, kubectl run -i/-it): the container's own stdio ------------------------------------
async def test_attach_joins_the_containers_own_stdin_and_output(rest_plane: ControlPlane, rest_node: object,
                                                              http: aiohttp.ClientSession) -> None:
    from tests.integration.test_kubelet import pod as make_pod

    attachable = make_pod("att", "")
    attachable["spec"]["containers"][0].update(command=["sh"], stdin=True, stdinOnce=True)
    attachable["spec"]["restartPolicy"] = "Never"
    code, created = await call(http, "POST", "/api/v1/namespaces/default/pods", attachable)
    assert code == 201 and not any("stdin" in w for w in [])  # stdin is enforced now: no "not enforced" warning
    await wait_for(lambda: call(http, "GET", "/api/v1/namespaces/default/pods/att"), 5)

    async def running() -> bool:
        return (await call(http, "GET", "/api/v1/namespaces/default/pods/att"))[1]["status"]["phase"] == "Running"
    await wait_for(running, 15, what="att Running")
    url = "/api/v1/namespaces/default/pods/att/attach?stdin=true&stdout=true&stderr=true"
    out: dict[int, bytes] = {1: b"", 2: b"", 3: b""}
    async with http.ws_connect(url, protocols=("v5.channel.k8s.io",)) as ws:
        await ws.send_bytes(b"\x00echo hi from $HOSTNAME; exit 4\n")
        await ws.send_bytes(b"\xff\x00")  # stdinOnce: this client's end of input ends the container's
        async for msg in ws:
            out[msg.data[0]] += msg.data[1:]
    assert out[1] == b"hi from att\n"
    assert json.loads(out[3])["status"] == "Success"  # the exit code is the pod's to tell, as kubectl run reads it

    async def terminated() -> dict | None:
        st = (await call(http, "GET", "/api/v1/namespaces/default/pods/att"))[1]["status"]
        term = ((st.get("containerStatuses") or [{}])[0].get("state") or {}).get("terminated")
        return term
    assert (await wait_for(terminated, 15, what="att terminated"))["exitCode"] == 4
    async with http.get("/api/v1/namespaces/default/pods/att/log") as r:
        assert "hi from att" in await r.text()  # what went to the attached client went to the log too



async def test_attach_to_a_container_without_stdin_or_tty_streams_its_output(
        rest_plane: ControlPlane, rest_node: object, http: aiohttp.ClientSession) -> None:
    """kubectl attach POD ("Get output from running pod mypod"): what the container writes from now on, until it
    exits (then Success: the exit code is the pod's to tell) or the client lets go (the container goes on)."""
    await running_pod(http, "ticker", 'i=0; while true; do i=$((i+1)); echo "tick $i"; echo "err $i" >&2; sleep 0.1; done')
    node = rest_node.kubelet  # type: ignore[attr-defined]
    async with http.ws_connect("/api/v1/namespaces/default/pods/ticker/attach?stdout=true&stderr=true",
                               protocols=("v5.channel.k8s.io",)) as ws:
        got = b""
        while got.count(b"tick") < 3:
            msg = await asyncio.wait_for(ws.receive(), 10)
            assert msg.type == aiohttp.WSMsgType.BINARY and msg.data[0] == 1, msg
            got += msg.data[1:]
        first = int(got.split(b"tick ")[1].split()[0])
        assert first > 1 and b"err" in got  # from now on, not the log's start; stderr too (one stream, as the log)
        assert len(node.exec_sessions) == 1
    await wait_for(lambda: len(node.exec_sessions) == 0, 10, what="the session ends with its client")
    status = (await call(http, "GET", "/api/v1/namespaces/default/pods/ticker"))[1]["status"]
    assert status["containerStatuses"][0]["restartCount"] == 0 and "running" in status["containerStatuses"][0]["state"]
    # a container that exits ends the attach: its last output, then Success
    await running_pod(http, "brief", "sleep 1.5; echo last words; exit 5")
    out: dict[int, bytes] = {1: b"", 2: b"", 3: b""}
    async with http.ws_connect("/api/v1/namespaces/default/pods/brief/attach?stdout=true&stderr=true",
                               protocols=("v5.channel.k8s.io",)) as ws:
        async for msg in ws:
            out[msg.data[0]] += msg.data[1:]
    assert out[1] == b"last words\n" and json.loads(out[3])["status"] == "Success"


@pytest.fixture
async def scheduled_cluster(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    """A control plane with its scheduler (run creates unscheduled pods), the REST API, and one node."""
    async with running_plane(tmp_path / "data", rest_listen="127.0.0.1:0", scheduler=True) as plane, \
            running_node(plane, tmp_path / "node-1"):
        yield plane


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="no kubectl on this machine")
async def test_the_real_kubectl_run_i_rm(scheduled_cluster: ControlPlane) -> None:
    """kubectl run --rm -i: the pod is created, attached to once Running, its exit code read from its
    status, and the pod deleted."""
    plane = scheduled_cluster
    assert plane.credentials is not None
    kubeconfig = config.write_kubeconfig(plane.rest.address, plane.credentials.admin, plane.rest.ca_pem)
    r = await asyncio.to_thread(_kubectl, kubeconfig, "run", "once", "--rm", "-i", "--image=busybox",
                                "--restart=Never", "--", "sh", input="echo ok from $HOSTNAME; exit 3\n")
    assert r.returncode == 3 and "ok from once" in r.stdout, (r.stdout, r.stderr)
    assert 'pod "once" deleted' in r.stdout + r.stderr
    r = await asyncio.to_thread(_kubectl, kubeconfig, "get", "pod", "once")
    assert 'pods "once" not found' in r.stderr


async def test_kube_tui_run_i_rm_attaches_like_kubectl(scheduled_cluster: ControlPlane, tmp_path: Path) -> None:
    from tests.integration.test_imperative import cli

    code, out, err = await cli(scheduled_cluster, tmp_path, "run", "twice", "--rm", "-i", "--image=busybox",
                               "--restart=Never", "--", "sh", stdin="echo ok from $HOSTNAME; exit 3\n")
    assert (code, out) == (3, 'ok from twice\npod "twice" deleted\n'), err
    assert "pod default/twice terminated (Error)" in err
    client = scheduled_cluster.client("check")
    from control.errors import ApiError

    with pytest.raises(ApiError) as e:
        await client.get("Pod", "twice")
    assert e.value.code == 404
    code, out, err = await cli(scheduled_cluster, tmp_path, "run", "x", "--rm", "--image=busybox")
    assert code == 1 and "--rm should only be used for attached containers" in err


async def test_run_i_of_a_restarted_container_ends_with_the_session_as_kubectl(scheduled_cluster: ControlPlane,
                                                                             tmp_path: Path) -> None:
    """restartPolicy Always (kubectl run's default): the container is restarted, so there is no exit code to
    wait for; the session's end is 0, for kubectl and for kube-tui alike."""
    from tests.integration.test_imperative import cli

    plane = scheduled_cluster
    code, out, err = await cli(plane, tmp_path, "run", "always", "--rm", "-i", "--image=busybox", "--", "sh",
                               stdin="echo ok from $HOSTNAME; exit 3\n")
    assert (code, out) == (0, 'ok from always\npod "always" deleted\n'), err
    assert err == "If you don't see a command prompt, try pressing enter.\n"
    if shutil.which("kubectl") is not None:
        assert plane.credentials is not None
        kubeconfig = config.write_kubeconfig(plane.rest.address, plane.credentials.admin, plane.rest.ca_pem)
        r = await asyncio.to_thread(_kubectl, kubeconfig, "run", "kalways", "--rm", "-i", "--image=busybox", "--", "sh",
                                    input="echo ok from $HOSTNAME; exit 3\n")
        assert r.returncode == 0 and "ok from kalways" in r.stdout, (r.stdout, r.stderr)


async def attachable_pod(http: aiohttp.ClientSession, name: str, script: str) -> None:
    from tests.integration.test_kubelet import pod as make_pod

    p = make_pod(name, script)
    p["spec"]["containers"][0].update(stdin=True, stdinOnce=True)
    p["spec"]["restartPolicy"] = "Never"
    assert (await call(http, "POST", "/api/v1/namespaces/default/pods", p))[0] == 201

    async def running() -> bool:
        return (await call(http, "GET", f"/api/v1/namespaces/default/pods/{name}"))[1]["status"]["phase"] == "Running"
    await wait_for(running, 15, what=f"{name} Running")


async def test_attach_output_is_complete_for_a_slow_reader_and_only_stdin_clients_end_stdin(
        rest_plane: ControlPlane, rest_node: object, http: aiohttp.ClientSession) -> None:
    # 1.3 MB while the client does not read for a while: the container waits, nothing is lost
    await attachable_pod(http, "big", "read x; seq 1 200000")
    async with http.ws_connect("/api/v1/namespaces/default/pods/big/attach?stdin=true&stdout=true",
                               protocols=("v5.channel.k8s.io",)) as ws:
        await ws.send_bytes(b"\x00go\n")
        await asyncio.sleep(2)
        out = b"".join([m.data[1:] async for m in ws if m.data[0] == 1])
    assert out == b"".join(b"%d\n" % i for i in range(1, 200001))
    # a client that only watches (no -i) leaves the container's stdin open when it goes
    await attachable_pod(http, "cat", "cat; echo EOF-SEEN")
    async with http.ws_connect("/api/v1/namespaces/default/pods/cat/attach?stdout=true",
                               protocols=("v5.channel.k8s.io",)) as ws:
        await ws.send_bytes(b"\x00ignored\n")  # no stdin: nothing reaches the container
    async with http.ws_connect("/api/v1/namespaces/default/pods/cat/attach?stdin=true&stdout=true",
                               protocols=("v5.channel.k8s.io",)) as ws:
        await ws.send_bytes(b"\x00typed\n")
        await ws.send_bytes(b"\xff\x00")  # stdinOnce: the end of this client's input is the container's
        out = b"".join([m.data[1:] async for m in ws if m.data[0] == 1])
    assert out == b"typed\nEOF-SEEN\n"


async def test_kube_tui_run_i_shows_a_pod_that_ended_before_the_attach_and_rm_cleans_up_a_timeout(
        scheduled_cluster: ControlPlane, tmp_path: Path) -> None:
    from control.errors import ApiError
    from tests.integration.test_imperative import cli

    code, out, err = await cli(scheduled_cluster, tmp_path, "run", "fast", "--rm", "-i", "--image=busybox",
                               "--restart=Never", "--", "echo", "hello-fast", stdin="")
    assert code == 0 and out.startswith("hello-fast\n") and 'pod "fast" deleted' in out, (out, err)
    client = scheduled_cluster.client("check")
    await client.patch("Node", "node-1", {"spec": {"unschedulable": True}}, None)  # the next pod stays Pending
    code, out, err = await cli(scheduled_cluster, tmp_path, "run", "never", "--rm", "-i", "--image=busybox",
                               "--restart=Never", "--pod-running-timeout=2", "--", "sh", stdin="")
    assert code == 1 and "timed out waiting for the condition" in err and 'pod "never" deleted' in out, (out, err)
    for name in ("fast", "never"):
        with pytest.raises(ApiError) as e:
            await client.get("Pod", name)
        assert e.value.code == 404


async def test_autoscaling_v1_is_served_by_conversion(http: aiohttp.ClientSession) -> None:
    """kubectl autoscale v1.32 posts an autoscaling/v1 HPA; it is stored as v2 and read in either version."""
    _, groups = await call(http, "GET", "/apis")
    autoscaling = next(g for g in groups["groups"] if g["name"] == "autoscaling")
    assert [v["version"] for v in autoscaling["versions"]] == ["v2", "v1"]
    assert autoscaling["preferredVersion"]["version"] == "v2"
    v1 = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
          "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5,
                   "targetCPUUtilizationPercentage": 50}}
    base = "/apis/autoscaling/{}/namespaces/default/horizontalpodautoscalers"
    code, created = await call(http, "POST", base.format("v1"), v1)
    assert code == 201 and created["apiVersion"] == "autoscaling/v1"
    assert created["spec"]["targetCPUUtilizationPercentage"] == 50 and created["spec"]["minReplicas"] == 1
    _, v2 = await call(http, "GET", base.format("v2") + "/web")
    assert v2["spec"]["metrics"] == [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Utilization", "averageUtilization": 50}}}]
    code, patched = await call(http, "PATCH", base.format("v1") + "/web", {"spec": {"targetCPUUtilizationPercentage": 70}},
                               ctype="application/merge-patch+json")
    assert code == 200 and patched["spec"]["targetCPUUtilizationPercentage"] == 70
    _, listed = await call(http, "GET", base.format("v1"))
    assert listed["items"][0]["apiVersion"] == "autoscaling/v1" and "metrics" not in listed["items"][0]["spec"]
    code, bad = await call(http, "POST", base.format("v2"), {**v2, "metadata": {"name": "bad"},
                                                            "spec": {**v2["spec"], "minReplicas": 6}})
    assert code == 422 and bad["message"] == ('HorizontalPodAutoscaler.autoscaling "bad" is invalid: spec.maxReplicas: '
                                              "Invalid value: 5: must be greater than or equal to `minReplicas`")
