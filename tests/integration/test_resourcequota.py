"""LimitRange and ResourceQuota against a real API server (and the controller manager where a flow needs the
resource quota and ReplicaSet controllers): the Kubernetes docs' task pages with their manifests and words,
two creates racing for the last of a quota, and the recount after pods go."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from control.client import Client
from control.errors import ApiError
from tests.conftest import FAST, running_plane
from tests.helpers import wait_for
from tests.integration import test_rest as base
from tests.integration.test_rest import call
from tui.printers.describers import describe

pytestmark = pytest.mark.timeout(60)
rest_plane, http = base.rest_plane, base.http  # the REST API kubectl talks to


def ns(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def limit_range(name: str, **item: Any) -> dict:
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": name},
            "spec": {"limits": [{"type": "Container", **item}]}}


def resource_quota(name: str, hard: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": name}, "spec": {"hard": hard}}


def pod(name: str, container: str, requests: dict | None = None, limits: dict | None = None) -> dict:
    res = {**({"requests": requests} if requests else {}), **({"limits": limits} if limits else {})}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": container, "image": "nginx", **({"resources": res} if res else {})}]}}


async def refused(client: Client, obj: dict, namespace: str) -> str:
    with pytest.raises(ApiError) as e:
        await client.create(obj, namespace)
    assert e.value.code == 403, e.value.message
    return e.value.message


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Client]:
    """The API server alone: quotas get their status from the test, not from a controller."""
    async with running_plane(tmp_path / "data") as plane:
        c = plane.client("test")
        await c.connect()
        yield c


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Client]:
    """The API server and every controller (the resource quota controller counts, the ReplicaSet's create)."""
    async with running_plane(tmp_path / "data", controllers=True) as plane:
        c = plane.client("test")
        await c.connect()
        yield c


async def counted(client: Client, name: str, namespace: str, **used: str) -> dict:
    """Wait until the quota's status.used reads `used` (the controller has counted)."""
    async def check() -> dict | None:
        rq = await client.get("ResourceQuota", name, namespace)
        return rq if ((rq.get("status") or {}).get("used") or {}) == used else None
    return await wait_for(check, 15, what=f"quota {namespace}/{name} used {used}")


async def test_limit_range_defaults_and_constraints_as_the_docs_show(api: Client) -> None:
    await api.create(ns("default-mem-example"))
    await api.create(limit_range("mem-limit-range", default={"memory": "512Mi"}, defaultRequest={"memory": "256Mi"}),
                     "default-mem-example")
    created = await api.create(pod("default-mem-demo", "default-mem-demo-ctr"), "default-mem-example")
    assert created["spec"]["containers"][0]["resources"] == {"limits": {"memory": "512Mi"},
                                                             "requests": {"memory": "256Mi"}}
    assert created["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: memory request for container default-mem-demo-ctr; "
        "memory limit for container default-mem-demo-ctr")
    assert created["status"]["qosClass"] == "Burstable"  # computed after the defaults went in

    await api.create(ns("constraints-mem-example"))
    lr = await api.create(limit_range("mem-min-max-demo-lr", max={"memory": "1Gi"}, min={"memory": "500Mi"}),
                          "constraints-mem-example")
    assert lr["spec"]["limits"][0]["default"] == {"memory": "1Gi"}  # SetDefaults_LimitRangeItem
    assert lr["spec"]["limits"][0]["defaultRequest"] == {"memory": "1Gi"}
    over = pod("constraints-mem-demo-2", "constraints-mem-demo-2-ctr", {"memory": "800Mi"}, {"memory": "1.5Gi"})
    assert await refused(api, over, "constraints-mem-example") == (
        'pods "constraints-mem-demo-2" is forbidden: maximum memory usage per Container is 1Gi, but limit is 1536Mi.')
    bad = limit_range("bad", min={"memory": "2Gi"}, max={"memory": "1Gi"})
    with pytest.raises(ApiError) as e:
        await api.create(bad, "constraints-mem-example")
    assert e.value.code == 422 and "min value 2Gi is greater than max value 1Gi" in e.value.message


async def test_two_creates_racing_for_the_last_of_a_quota_do_not_both_pass(api: Client) -> None:
    await api.create(ns("race"))
    rq = await api.create(resource_quota("pod-demo", {"pods": "3", "count/configmaps": "2"}), "race")
    rq["status"] = {"hard": {"pods": "3", "count/configmaps": "2"}, "used": {"pods": "1", "count/configmaps": "0"}}
    await api.update_status(rq)  # what the controller would write: one pod already counted
    results = await asyncio.gather(*(api.create(pod(f"p{i}", "c"), "race") for i in range(12)),
                                   return_exceptions=True)
    made = [r for r in results if isinstance(r, dict)]
    errors = [r for r in results if isinstance(r, ApiError)]
    assert len(made) == 2 and len(errors) == 10, results
    assert all(e.code == 403 and "exceeded quota: pod-demo, requested: pods=1, used: pods=3, limited: pods=3"
               in e.message for e in errors)
    assert (await api.get("ResourceQuota", "pod-demo", "race"))["status"]["used"]["pods"] == "3"
    configmaps = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}} for i in range(6)]
    results = await asyncio.gather(*(api.create(cm, "race") for cm in configmaps), return_exceptions=True)
    # kube-root-ca.crt, made for the pods' kube-api-access volumes, counts as one of the two (as in Kubernetes)
    await api.get("ConfigMap", "kube-root-ca.crt", "race")
    assert sum(isinstance(r, dict) for r in results) == 1


async def test_the_docs_memory_and_cpu_quota(cluster: Client) -> None:
    await cluster.create(ns("quota-mem-cpu-example"))
    await cluster.create(resource_quota("mem-cpu-demo", {"requests.cpu": "1", "requests.memory": "1Gi",
                                                         "limits.cpu": "2", "limits.memory": "2Gi"}),
                         "quota-mem-cpu-example")
    await counted(cluster, "mem-cpu-demo", "quota-mem-cpu-example", **{
        "requests.cpu": "0", "requests.memory": "0", "limits.cpu": "0", "limits.memory": "0"})
    await cluster.create(pod("quota-mem-cpu-demo", "quota-mem-cpu-demo-ctr", {"memory": "600Mi", "cpu": "400m"},
                             {"memory": "800Mi", "cpu": "800m"}), "quota-mem-cpu-example")
    rq = await cluster.get("ResourceQuota", "mem-cpu-demo", "quota-mem-cpu-example")
    assert rq["status"]["used"] == {"limits.cpu": "800m", "limits.memory": "800Mi", "requests.cpu": "400m",
                                    "requests.memory": "600Mi"}
    second = pod("quota-mem-cpu-demo-2", "quota-mem-cpu-demo-2-ctr", {"memory": "700Mi", "cpu": "400m"},
                 {"memory": "1Gi", "cpu": "800m"})
    assert await refused(cluster, second, "quota-mem-cpu-example") == (
        'pods "quota-mem-cpu-demo-2" is forbidden: exceeded quota: mem-cpu-demo, requested: requests.memory=700Mi, '
        "used: requests.memory=600Mi, limited: requests.memory=1Gi")
    assert (await refused(cluster, pod("bare", "nginx"), "quota-mem-cpu-example")).endswith(
        "failed quota: mem-cpu-demo: must specify limits.cpu for: nginx; limits.memory for: nginx; "
        "requests.cpu for: nginx; requests.memory for: nginx")
    assert describe(dict(rq, kind="ResourceQuota"), []).splitlines()[2:] == [
        "Resource         Used   Hard", "--------         ----   ----", "limits.cpu       800m   2",
        "limits.memory    800Mi  2Gi", "requests.cpu     400m   1", "requests.memory  600Mi  1Gi"]


async def test_the_docs_pod_quota_deployment_and_the_recount_after_its_pods_go(cluster: Client) -> None:
    await cluster.create(ns("quota-pod-example"))
    await cluster.create(resource_quota("pod-demo", {"pods": "2"}), "quota-pod-example")
    await counted(cluster, "pod-demo", "quota-pod-example", pods="0")
    labels = {"purpose": "quota-demo"}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "pod-quota-demo", "image": "nginx"}]}}
    await cluster.create({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "pod-quota-demo"},
                          "spec": {"selector": {"matchLabels": labels}, "replicas": 3,
                                   "template": copy.deepcopy(template)}}, "quota-pod-example")

    async def failed() -> dict | None:
        d = await cluster.get("Deployment", "pod-quota-demo", "quota-pod-example")
        cond = next((c for c in (d.get("status") or {}).get("conditions") or [] if c["type"] == "ReplicaFailure"), None)
        return d if cond is not None and d["status"].get("replicas") == 2 else None
    d = await wait_for(failed, 20, what="the Deployment's ReplicaFailure condition with 2 replicas")
    cond = next(c for c in d["status"]["conditions"] if c["type"] == "ReplicaFailure")
    assert cond["reason"] == "FailedCreate" and cond["status"] == "True"
    assert cond["message"].startswith('pods "pod-quota-demo-') and cond["message"].endswith(
        "is forbidden: exceeded quota: pod-demo, requested: pods=1, used: pods=2, limited: pods=2")
    rs = (await cluster.list("ReplicaSet", "quota-pod-example"))["items"][0]
    events = (await cluster.list("Event", "quota-pod-example"))["items"]
    assert any(e["reason"] == "FailedCreate" and e["involvedObject"]["name"] == rs["metadata"]["name"]
               and "exceeded quota: pod-demo" in e["message"] for e in events)
    assert len((await cluster.list("Pod", "quota-pod-example"))["items"]) == 2

    await cluster.delete("Deployment", "pod-quota-demo", "quota-pod-example")
    await wait_for(lambda: _no_pods(cluster, "quota-pod-example"), 20, what="the Deployment's pods to go")
    rq = await counted(cluster, "pod-demo", "quota-pod-example", pods="0")  # replenished, not at the next resync
    assert rq["status"]["hard"] == {"pods": "2"}


async def test_the_full_resync_corrects_a_wrong_count(tmp_path: Path) -> None:
    """A status.used that is wrong (written by hand here; a lost replenishment in life) is recounted at the next
    full resync, though no quota or pod event asks for it."""
    timings = dataclasses.replace(FAST, resource_quota_sync=0.5)
    async with running_plane(tmp_path / "data", controllers=True, timings=timings) as plane:
        c = plane.client("test")
        await c.connect()
        await c.create(resource_quota("pod-demo", {"pods": "2"}), "default")
        rq = await counted(c, "pod-demo", "default", pods="0")
        rq["status"]["used"] = {"pods": "2"}
        await c.update_status(rq)
        await counted(c, "pod-demo", "default", pods="0")


async def _no_pods(client: Client, namespace: str) -> bool:
    return not (await client.list("Pod", namespace))["items"]


async def test_kubectl_finds_and_lists_both_kinds_on_the_rest_api(http: aiohttp.ClientSession) -> None:
    _, v1 = await call(http, "GET", "/api/v1")
    served = {r["name"]: r for r in v1["resources"]}
    assert served["resourcequotas"]["shortNames"] == ["quota"] and served["resourcequotas"]["namespaced"]
    assert "resourcequotas/status" in served and served["limitranges"]["shortNames"] == ["limits"]
    code, _ = await call(http, "POST", "/api/v1/namespaces/default/resourcequotas",
                         resource_quota("pod-demo", {"pods": "2"}))
    assert code == 201
    code, _ = await call(http, "POST", "/api/v1/namespaces/default/limitranges",
                         limit_range("cpu-limit-range", default={"cpu": 1}, defaultRequest={"cpu": 0.5}))
    assert code == 201
    table_type = "application/json;as=Table;v=v1;g=meta.k8s.io"
    _, table = await call(http, "GET", "/api/v1/namespaces/default/resourcequotas", Accept=table_type)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age", "Request", "Limit"]
    _, table = await call(http, "GET", "/api/v1/namespaces/default/limitranges", Accept=table_type)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Created At"]
    _, lr = await call(http, "GET", "/api/v1/namespaces/default/limitranges/cpu-limit-range")
    assert lr["spec"]["limits"][0]["defaultRequest"] == {"cpu": "500m"}
