"""What the real kubectl asks the REST API for beyond plain CRUD, found by running kubectl against
kube-tui: tables with whole objects (--sort-by), logs that end with their container (-f), log options,
bare 404s with details (kubectl debug), /openapi/v2, `auth can-i --list`, and the cordon taint."""

from __future__ import annotations

import time

import aiohttp

from control.plane import ControlPlane
from tests.helpers import wait_for
from tests.integration import test_rest as base
from tests.integration.test_kubelet import pod
from tests.integration.test_rest import call

# The REST tests' fixtures: a control plane with the REST API, an HTTPS session as kubectl's, a node.
rest_plane, http, rest_node = base.rest_plane, base.http, base.rest_node

PODS = "/api/v1/namespaces/default/pods"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


async def test_tables_carry_the_whole_object_when_asked(http: aiohttp.ClientSession) -> None:
    body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "t1"},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    assert (await call(http, "POST", PODS, body))[0] == 201
    _, table = await call(http, "GET", f"{PODS}?includeObject=Object", Accept=TABLE)
    row = table["rows"][0]["object"]
    assert row["kind"] == "Pod" and row["spec"]["containers"][0]["image"] == "nginx"  # what --sort-by reads
    _, table = await call(http, "GET", PODS, Accept=TABLE)
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata" and "spec" not in table["rows"][0]["object"]
    _, table = await call(http, "GET", f"{PODS}?includeObject=None", Accept=TABLE)
    assert "object" not in table["rows"][0]
    code, status = await call(http, "GET", f"{PODS}?includeObject=Everything", Accept=TABLE)
    assert code == 400 and 'includeObject: Unsupported value: "Everything"' in status["message"]


async def test_a_bare_404_has_details_and_openapi_v2_is_served(http: aiohttp.ClientSession) -> None:
    # kubectl debug reads details.name of the 404 to say "ephemeral containers are disabled"
    code, status = await call(http, "PATCH", f"{PODS}/x/ephemeralcontainers", {}, ctype="application/strategic-merge-patch+json")
    assert code == 404 and status["details"] == {}
    async with http.get("/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}) as r:
        assert r.status == 200 and await r.read() == b"\x0a\x032.0"
    code, doc = await call(http, "GET", "/openapi/v2")
    assert code == 200 and doc["swagger"] == "2.0" and doc["definitions"] == {}
    _, v3 = await call(http, "GET", "/openapi/v3/api/v1")
    assert v3["components"] == {"schemas": {}}  # kubectl explain: a clean "not found in OpenAPI schema"


async def test_can_i_list(rest_plane: ControlPlane, http: aiohttp.ClientSession) -> None:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": "default"}}
    code, out = await call(http, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", review)
    assert code == 201 and out["status"]["resourceRules"] == [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
    assert rest_plane.credentials is not None
    token = rest_plane.credentials.node_credential("n1")
    code, out = await call(http, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", review,
                           Authorization=f"Bearer {token}")
    assert code == 201 and out["status"]["incomplete"] is True
    assert "pods" in out["status"]["resourceRules"][0]["resources"]


async def test_logs_follow_ends_with_the_container_and_options_apply(rest_plane: ControlPlane, rest_node: object,
                                                                     http: aiohttp.ClientSession) -> None:
    spec = pod("short", "for i in 1 2 3; do echo line $i; sleep 0.3; done", policy="Never")
    assert (await call(http, "POST", PODS, spec))[0] == 201

    async def started() -> bool:
        p = (await call(http, "GET", f"{PODS}/short"))[1]
        return any("running" in (c.get("state") or {}) or "terminated" in (c.get("state") or {})
                   for c in (p.get("status") or {}).get("containerStatuses") or [])
    await wait_for(started, 15, what="the container started")
    t0 = time.monotonic()
    async with http.get(f"{PODS}/short/log?follow=true", timeout=aiohttp.ClientTimeout(total=20)) as r:
        text = await r.text()  # returns only because the stream ends when the container does
    assert text == "line 1\nline 2\nline 3\n" and time.monotonic() - t0 < 15
    async with http.get(f"{PODS}/short/log?limitBytes=7&timestamps=true") as r:
        assert await r.text() == "line 1\n"
        assert "keeps no timestamps in container logs: --timestamps ignored" in r.headers["Warning"]
    code, status = await call(http, "GET", f"{PODS}/short/log?limitBytes=0")
    assert code == 400 and "limitBytes: Invalid value: 0" in status["message"]


async def test_uncordon_clears_the_taint_at_once(tmp_path: object) -> None:
    from dataclasses import replace
    from pathlib import Path

    from tests.conftest import FAST, running_plane
    from tests.integration.test_scheduler_profiles import make_node

    # The monitor pass comes only every 60 s here: the taint must follow the node update itself.
    async with running_plane(Path(str(tmp_path)) / "data", controllers=True,
                             timings=replace(FAST, node_monitor_period=60.0)) as plane:
        client = plane.client("test")
        await client.connect()
        try:
            await make_node(client, "n1")

            async def taints() -> list:
                return ((await client.get("Node", "n1", None)).get("spec") or {}).get("taints") or []
            await client.patch("Node", "n1", {"spec": {"unschedulable": True}}, namespace=None)
            await wait_for(taints, 3, what="the unschedulable taint")
            await client.patch("Node", "n1", {"spec": {"unschedulable": False}}, namespace=None)
            await wait_for(lambda: _no(taints), 3, what="the taint gone")
        finally:
            await client.close()


async def _no(f: object) -> bool:
    return not await f()  # type: ignore[operator]


async def test_kubectl_proxy_urls_reach_a_pod_and_a_service(rest_plane: ControlPlane, rest_node: object,
                                                           http: aiohttp.ClientSession) -> None:
    """/api/v1/namespaces/NS/pods/NAME:PORT/proxy/ and services/NAME:PORT/proxy/, as the Kubernetes Basics
    tutorial uses them through `kubectl proxy`."""
    from tests.integration.test_proxy import PORT, nginx

    web = nginx("web-a")
    web["metadata"]["labels"] = {"app": "web"}
    assert (await call(http, "POST", PODS, web))[0] == 201

    async def ready() -> bool:
        p = (await call(http, "GET", f"{PODS}/web-a"))[1]
        return any(c["type"] == "Ready" and c["status"] == "True" for c in (p.get("status") or {}).get("conditions") or [])
    await wait_for(ready, 20, what="web-a Ready")
    async with http.get(f"{PODS}/web-a:{PORT}/proxy/?x=1") as r:
        assert r.status == 200 and "Served by pod <b>web-a</b>" in await r.text()
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 8080, "targetPort": PORT}]}}
    assert (await call(http, "POST", "/api/v1/namespaces/default/services", svc))[0] == 201
    ip = (await call(http, "GET", f"{PODS}/web-a"))[1]["status"]["podIP"]
    ep = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web"},  # no controllers run here
          "subsets": [{"addresses": [{"ip": ip}], "ports": [{"name": "http", "port": PORT}]}]}
    assert (await call(http, "POST", "/api/v1/namespaces/default/endpoints", ep))[0] == 201

    async def via_service() -> bool:
        async with http.get("/api/v1/namespaces/default/services/web:http/proxy/") as r:
            return r.status == 200 and "Served by pod <b>web-a</b>" in await r.text()
    await wait_for(via_service, 15, what="the Service's endpoint through services/web:http/proxy/")
    code, status = await call(http, "GET", f"{PODS}/web-a:1/proxy/")  # nothing listens there
    assert code == 503 and status["message"].startswith("error trying to reach service")
    code, status = await call(http, "GET", "/api/v1/namespaces/default/services/nope/proxy/")
    assert code == 404 and status["message"] == 'services "nope" not found'


async def test_impersonation_is_the_admins_and_gives_the_users_rights(rest_plane: ControlPlane,
                                                                      http: aiohttp.ClientSession) -> None:
    """kubectl --as jane: jane has no rights here (no RBAC roles); --as a node: the node's; only the admin may."""
    code, status = await call(http, "GET", PODS, **{"Impersonate-User": "jane"})
    assert code == 403 and 'User "jane" cannot list resource "pods"' in status["message"]
    assert (await call(http, "GET", "/api/v1/nodes", **{"Impersonate-User": "system:node:n1"}))[0] == 200
    assert (await call(http, "GET", PODS, **{"Impersonate-User": "jane", "Impersonate-Group": "system:masters"}))[0] == 200
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "default"}}}
    _, out = await call(http, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", review,
                        **{"Impersonate-User": "jane"})
    assert out["status"]["allowed"] is False  # kubectl auth can-i list pods --as jane: no
    assert rest_plane.credentials is not None
    node = rest_plane.credentials.node_credential("n1")
    code, status = await call(http, "GET", PODS, Authorization=f"Bearer {node}", **{"Impersonate-User": "admin"})
    assert code == 403 and "cannot impersonate" in status["message"]
