"""What the real kubectl asks the REST API for beyond plain CRUD, found by running kubectl against
kube-tui: tables with whole objects (--sort-by), logs that end with their container (-f), log options,
bare 404s with details (kubectl debug), /openapi/v2, `auth can-i --list`, and the cordon taint."""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timedelta
from pathlib import Path

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
    # kubectl debug reads details.name of a 404 to tell a subresource not served from a pod not found
    code, status = await call(http, "PATCH", "/api/v1/namespaces/default/configmaps/x/nosuch", {},
                              ctype="application/strategic-merge-patch+json")
    assert code == 404 and status["details"] == {}
    async with http.get("/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"}) as r:
        assert r.status == 200 and await r.read() == b"\x0a\x032.0"
    code, doc = await call(http, "GET", "/openapi/v2")
    assert code == 200 and doc["swagger"] == "2.0" and doc["definitions"] == {}
    _, v3 = await call(http, "GET", "/openapi/v3/api/v1")
    # kubectl explain finds a kind's schema by its x-kubernetes-group-version-kind, and follows its refs
    pod = v3["components"]["schemas"]["io.k8s.api.core.v1.Pod"]
    assert pod["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod", "version": "v1"}]
    assert pod["properties"]["spec"]["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}]
    assert "io.k8s.api.core.v1.PodSpec" in v3["components"]["schemas"]
    # only what the group version's kinds refer to: no Deployment in /api/v1
    assert not any(".apps." in name for name in v3["components"]["schemas"])
    _, apps = await call(http, "GET", "/openapi/v3/apis/apps/v1")
    assert "io.k8s.api.apps.v1.Deployment" in apps["components"]["schemas"]
    # as kube-apiserver: the root names each document with its hash, and that URL may be cached for good
    _, root = await call(http, "GET", "/openapi/v3")
    url = root["paths"]["api/v1"]["serverRelativeURL"]
    assert url.startswith("/openapi/v3/api/v1?hash=")
    async with http.get(url) as r:
        assert r.status == 200 and r.headers["Cache-Control"] == "public, immutable"
        etag = r.headers["ETag"]
        assert json.loads(await r.read()) == v3
    async with http.get("/openapi/v3/api/v1", headers={"If-None-Match": etag}) as r:
        assert r.status == 304


async def test_can_i_list(rest_plane: ControlPlane, http: aiohttp.ClientSession) -> None:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview", "spec": {"namespace": "default"}}
    code, out = await call(http, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", review)
    # system:masters may do anything; RBAC's rules for the admin follow (cluster-admin's, basic-user's), as
    # kube-apiserver's union of authorizers lists them
    assert code == 201 and out["status"]["resourceRules"][0] == {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    assert out["status"]["incomplete"] is False
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
    async with http.get(f"{PODS}/short/log?limitBytes=7") as r:
        assert await r.text() == "line 1\n" and "Warning" not in r.headers
    code, status = await call(http, "GET", f"{PODS}/short/log?limitBytes=0")
    assert code == 422 and status["message"] == \
        'PodLogOptions "short" is invalid: limitBytes: Invalid value: 0: must be greater than 0'


STAMPED = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (.*)")


async def _log(http: aiohttp.ClientSession, name: str, query: str) -> str:
    async with http.get(f"{PODS}/{name}/log?{query}", timeout=aiohttp.ClientTimeout(total=20)) as r:
        assert r.status == 200 and "Warning" not in r.headers, (r.status, await r.text())
        return await r.text()


async def test_logs_keep_the_time_each_line_was_read(rest_plane: ControlPlane, rest_node: object,
                                                     http: aiohttp.ClientSession) -> None:
    """kubectl logs --timestamps, --since, --since-time, --tail and --limit-bytes together, as the kubelet
    answers them (tail first, then since; the limit counts the stamps), and a line printed in two goes (a
    partial record, then its end) read as one line, also by a follower."""
    spec = pod("stamped", "echo one; sleep 0.3; echo two; sleep 0.3; printf 'thr'; sleep 0.6; echo ee",
               policy="Never")
    assert (await call(http, "POST", PODS, spec))[0] == 201

    async def started() -> bool:
        p = (await call(http, "GET", f"{PODS}/stamped"))[1]
        return any(set(c.get("state") or {}) & {"running", "terminated"}
                   for c in (p.get("status") or {}).get("containerStatuses") or [])
    await wait_for(started, 15, what="the container started")
    followed = await _log(http, "stamped", "follow=true&timestamps=true")  # ends with the container
    stamped = await _log(http, "stamped", "timestamps=true")
    assert followed == stamped and await _log(http, "stamped", "") == "one\ntwo\nthree\n"
    lines = [STAMPED.fullmatch(line) for line in stamped.splitlines()]
    assert all(lines) and [m[2] for m in lines if m] == ["one", "two", "three"], stamped
    times = [m[1] for m in lines if m]
    assert times == sorted(times) and times[0] < times[1] < times[2]  # 0.3 s apart at least
    assert await _log(http, "stamped", "tailLines=2&timestamps=true") == "".join(stamped.splitlines(keepends=True)[1:])
    assert await _log(http, "stamped", "limitBytes=40&timestamps=true") == stamped[:40]
    # sinceTime goes to the kubelet in whole seconds, as kube-apiserver sends it: from a second before the first
    first = datetime.fromisoformat(times[0][:19] + "+00:00")
    since = (first - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await _log(http, "stamped", f"sinceTime={since}") == "one\ntwo\nthree\n"
    later = (first + timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert await _log(http, "stamped", f"sinceTime={later}") == ""
    assert await _log(http, "stamped", f"sinceTime={since}&tailLines=1") == "three\n"
    assert await _log(http, "stamped", "sinceSeconds=3600") == "one\ntwo\nthree\n"

    async def all_older_than_a_second() -> bool:
        return await _log(http, "stamped", "sinceSeconds=1") == ""
    await wait_for(all_older_than_a_second, 5, what="sinceSeconds=1 leaving every line out")

    code, status = await call(http, "GET", f"{PODS}/stamped/log?sinceSeconds=5&sinceTime={since}")
    assert code == 422 and status["reason"] == "Invalid" and status["message"] == \
        'PodLogOptions "stamped" is invalid: : Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified'
    code, status = await call(http, "GET", f"{PODS}/stamped/log?sinceSeconds=0")
    assert code == 422 and "sinceSeconds: Invalid value: 0: must be greater than 0" in status["message"]
    code, status = await call(http, "GET", f"{PODS}/stamped/log?tailLines=-1")
    assert code == 422 and "tailLines: Invalid value: -1: must be greater than or equal to 0" in status["message"]
    code, status = await call(http, "GET", f"{PODS}/stamped/log?sinceTime=yesterday")
    assert code == 400 and status["message"].startswith('parsing time "yesterday" as "2006-01-02T15:04:05Z07:00"')
    code, status = await call(http, "GET", f"{PODS}/stamped/log?sinceSeconds=ten")
    assert code == 400 and status["message"] == 'sinceSeconds: not a whole number: "ten"'


async def test_logs_written_by_an_older_kube_tui_are_read(rest_plane: ControlPlane, rest_node: object,
                                                          http: aiohttp.ClientSession, tmp_path: Path) -> None:
    """A log file without records (kube-tui kept raw output before): shown as it is; with --timestamps its
    lines carry the attempt's start, the only time known for them."""
    assert (await call(http, "POST", PODS, pod("old", "echo new", policy="Never")))[0] == 201

    async def finished() -> bool:
        return (await call(http, "GET", f"{PODS}/old"))[1]["status"].get("phase") == "Succeeded"
    await wait_for(finished, 15, what="old Succeeded")
    logs = [f for f in (tmp_path / "node-1").rglob("*.log") if "_old_" in str(f)]
    assert len(logs) == 1
    logs[0].write_bytes(b"from before\nthe upgrade")
    assert await _log(http, "old", "") == "from before\nthe upgrade"
    stamped = await _log(http, "old", "timestamps=true")
    assert [STAMPED.fullmatch(line)[2] for line in stamped.splitlines()] == ["from before", "the upgrade"]  # type: ignore[index]
    assert await _log(http, "old", "tailLines=1") == "the upgrade"


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
    """kubectl --as jane: jane has no rights here (no RBAC role bound to her); --as a node with its group
    system:nodes: the node's (without the group, as kube-apiserver's Node authorizer, none); only the admin may."""
    code, status = await call(http, "GET", PODS, **{"Impersonate-User": "jane"})
    assert code == 403 and 'User "jane" cannot list resource "pods"' in status["message"]
    assert (await call(http, "GET", "/api/v1/nodes", **{"Impersonate-User": "system:node:n1",
                                                        "Impersonate-Group": "system:nodes"}))[0] == 200
    assert (await call(http, "GET", "/api/v1/nodes", **{"Impersonate-User": "system:node:n1"}))[0] == 403
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
