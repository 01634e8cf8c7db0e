"""PodDisruptionBudgets, the disruption controller and the Eviction subresource, against a real API server.

The controller manager runs in-process with a fake kubelet (tests/integration/test_controllers.py), so
pods become Ready and graceful deletes complete without real processes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from control.api import meta
from control.api import poddisruptionbudget as pdbs
from control.client import Client
from control.errors import ApiError
from control.plane import ControlPlane
from tests.conftest import running_plane
from tests.helpers import gone, wait_for
from tests.integration.test_controllers import kubelet, manager, template
from tests.integration.test_rest import call

pytestmark = pytest.mark.timeout(60)


def budget(name: str, labels: dict[str, str], **spec: Any) -> dict:
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": labels}, **spec}}


def deployment(name: str, n: int, labels: dict[str, str]) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": n, "selector": {"matchLabels": labels}, "template": template(labels)}}


def bare_pod(name: str, labels: dict[str, str], node: str | None = "n1") -> dict:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels}, "spec": spec}


async def status_of(client: Client, name: str) -> dict:
    return (await client.get("PodDisruptionBudget", name, "default")).get("status") or {}


async def settled(client: Client, name: str, **want: int) -> dict:
    """Wait until the budget's status says what `want` says (and the controller saw its generation)."""
    async def check() -> dict | None:
        st = await status_of(client, name)
        ok = all(st.get(k) == v for k, v in want.items()) and st.get("observedGeneration") is not None
        return st if ok else None
    return await wait_for(check, timeout=15, what=f"pdb {name} status {want}")


async def running_pods(client: Client, labels: str) -> list[dict]:
    items = (await client.list("pods", "default", label_selector=labels))["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


@pytest.fixture
async def cluster(plane: ControlPlane, client: Client) -> AsyncIterator[Client]:
    """The controller manager and a fake kubelet that makes every pod Ready."""
    async with manager(plane), kubelet(client):
        yield client


async def test_validation_uses_kube_apiservers_words(client: Client) -> None:
    bad = [
        ({"minAvailable": 1, "maxUnavailable": 1}, "spec: Invalid value: minAvailable and maxUnavailable cannot be both set"),
        ({"minAvailable": "150%"}, 'spec.minAvailable: Invalid value: "150%": must not be greater than 100%'),
        ({"maxUnavailable": -1}, "spec.maxUnavailable: Invalid value: -1: must be greater than or equal to 0"),
        ({"unhealthyPodEvictionPolicy": "Never", "minAvailable": 1},
         'spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: "AlwaysAllow", "IfHealthyBudget"'),
    ]
    for spec, message in bad:
        with pytest.raises(ApiError) as e:
            await client.create(budget("bad", {"app": "x"}, **spec))
        assert e.value.code == 422
        assert e.value.message == f'PodDisruptionBudget.policy "bad" is invalid: {message}'
    created = await client.create(budget("ok", {"app": "x"}, minAvailable="50%"))
    # the API server starts the status at zero (these counts have no omitempty); the controller fills it in
    assert created["status"] == pdbs.empty_status() and created["metadata"]["generation"] == 1
    st = dict(created["status"], disruptionsAllowed=-1)
    with pytest.raises(ApiError) as e:
        await client.update_status(dict(created, status=st))
    assert "status.disruptionsAllowed: Invalid value: -1: must be greater than or equal to 0" in e.value.message


async def test_the_controller_counts_expected_desired_and_healthy_pods(cluster: Client) -> None:
    client = cluster
    await client.create(deployment("web", 3, {"app": "web"}))
    await client.create(deployment("api", 4, {"app": "api"}))
    await client.create(budget("web-min", {"app": "web"}, minAvailable=2))
    await client.create(budget("api-max", {"app": "api"}, maxUnavailable="30%"))
    await client.create(budget("empty", {"app": "none"}, minAvailable=1))
    # minAvailable as a number: expectedPods is the number of pods the selector finds
    st = await settled(client, "web-min", expectedPods=3, currentHealthy=3, desiredHealthy=2, disruptionsAllowed=1)
    assert st["observedGeneration"] == 1
    cond = st["conditions"][0]
    assert (cond["type"], cond["status"], cond["reason"]) == ("DisruptionAllowed", "True", "SufficientPods")
    # maxUnavailable 30% of the Deployment's 4 replicas, rounded up: 2 may go
    await settled(client, "api-max", expectedPods=4, currentHealthy=4, desiredHealthy=2, disruptionsAllowed=2)
    st = await settled(client, "empty", expectedPods=0, currentHealthy=0, desiredHealthy=1, disruptionsAllowed=0)
    assert st["conditions"][0]["reason"] == "InsufficientPods" and st["conditions"][0]["status"] == "False"

    async def no_pods_event() -> dict | None:
        return next((e for e in (await client.list("Event", "default"))["items"]
                     if e["reason"] == "NoPods" and e["involvedObject"]["name"] == "empty"), None)
    ev = await wait_for(no_pods_event, 10, what="the NoPods event")
    assert (ev["message"], ev["source"]["component"]) == ("No matching pods found", "controllermanager")
    # a scale change moves expectedPods (and so the budget) as soon as the Deployment changes
    await client.patch("Deployment", "api", {"spec": {"replicas": 2}}, "default")
    await settled(client, "api-max", expectedPods=2, currentHealthy=2, desiredHealthy=1, disruptionsAllowed=1)
    # a spec change is a new generation: observed once the controller has looked again
    await client.patch("PodDisruptionBudget", "web-min", {"spec": {"minAvailable": 3}}, "default")
    st = await settled(client, "web-min", desiredHealthy=3, disruptionsAllowed=0)
    assert st["observedGeneration"] == 2


async def test_pods_no_controller_scales_fail_safe(cluster: Client) -> None:
    client = cluster
    await client.create(bare_pod("lone", {"app": "lone"}, node=None))
    await client.create(budget("lone-max", {"app": "lone"}, maxUnavailable=1))
    # with no controller there is no scale: the pod is unmanaged and counts for nothing
    st = await settled(client, "lone-max", expectedPods=0, currentHealthy=1, desiredHealthy=0, disruptionsAllowed=0)
    assert st["conditions"][0]["reason"] == "InsufficientPods"
    # minAvailable as a number needs no controller: the pod count is what is expected
    await client.create(bare_pod("solo", {"app": "solo"}, node=None))
    await client.create(budget("solo-min", {"app": "solo"}, minAvailable=0))
    await settled(client, "solo-min", expectedPods=1, currentHealthy=1, desiredHealthy=0, disruptionsAllowed=1)


async def test_eviction_takes_a_disruption_then_is_refused_with_429(cluster: Client) -> None:
    client = cluster
    await client.create(deployment("web", 3, {"app": "web"}))
    await client.create(budget("web", {"app": "web"}, minAvailable=2))
    await settled(client, "web", currentHealthy=3, disruptionsAllowed=1)
    first, second = sorted(p["metadata"]["name"] for p in await running_pods(client, "app=web"))[:2]

    answer = await client.evict(first)
    assert answer == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
    st = await status_of(client, "web")
    # the eviction took the disruption itself, before the controller saw anything
    assert first in (st.get("disruptedPods") or {}) or st["disruptionsAllowed"] == 0

    with pytest.raises(ApiError) as e:
        await client.evict(second)
    assert e.value.code == 429 and e.value.reason == "TooManyRequests"
    assert e.value.message == "Cannot evict pod as it would violate the pod's disruption budget."
    cause = e.value.details["causes"][0]
    assert cause["reason"] == "DisruptionBudget"
    assert cause["message"].startswith("The disruption budget web needs 2 healthy pods and has ")
    assert any(p["metadata"]["name"] == second for p in await running_pods(client, "app=web"))

    # the evicted pod was marked, as the API server marks it, then deleted; its replacement becomes Ready
    await wait_for(lambda: gone(client, "Pod", first), timeout=15, what="the evicted pod gone")
    await settled(client, "web", currentHealthy=3, disruptionsAllowed=1)
    assert "disruptedPods" not in await status_of(client, "web")
    assert (await client.evict(second))["status"] == "Success"


async def test_eviction_marks_the_pod_and_honors_delete_options(client: Client) -> None:
    """No budget: the eviction is a delete (graceful, with the eviction's options), after DisruptionTarget."""
    await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    await client.create(bare_pod("p1", {"app": "p"}))
    pod = await client.get("Pod", "p1", "default")
    pod["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    await client.update_status(pod)
    await client.evict("p1", grace_period=7)
    pod = await client.get("Pod", "p1", "default")
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 7
    cond = next(c for c in pod["status"]["conditions"] if c["type"] == "DisruptionTarget")
    assert (cond["status"], cond["reason"], cond["message"]) == ("True", "EvictionByEvictionAPI", "Eviction API: evicting")
    # a dry run changes nothing; a stale resourceVersion precondition is a conflict
    await client.create(bare_pod("p2", {"app": "p"}, node=None))
    await client.evict("p2", dry_run=True)
    assert "deletionTimestamp" not in (await client.get("Pod", "p2", "default"))["metadata"]
    with pytest.raises(ApiError) as e:
        await client.evict("p2", delete_options={"preconditions": {"resourceVersion": "1"}})
    assert e.value.code == 409 and "Precondition failed: ResourceVersion in precondition: 1" in e.value.message
    with pytest.raises(ApiError) as e:
        await client.evict("nope")
    assert e.value.code == 404 and e.value.message == 'pods "nope" not found'


async def test_two_budgets_are_a_500_and_unhealthy_pods_follow_the_policy(client: Client) -> None:
    """The budgets' status is written by hand here (no controller), as the eviction reads it."""
    await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    for name, ready in (("a", "True"), ("b", "False"), ("c", "False")):
        await client.create(bare_pod(name, {"app": "x", "pod": name}))
        pod = await client.get("Pod", name, "default")
        pod["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": ready}]}
        await client.update_status(pod)

    async def set_status(name: str, **status: int) -> None:
        cur = await client.get("PodDisruptionBudget", name, "default")
        cur["status"] = dict(pdbs.empty_status(), observedGeneration=1, **status)
        await client.update_status(cur)

    await client.create(budget("all", {"app": "x"}, minAvailable=1))
    await client.create(budget("just-a", {"pod": "a"}, minAvailable=1))
    with pytest.raises(ApiError) as e:
        await client.evict("a")
    assert e.value.code == 500
    assert e.value.message == "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
    await client.delete("PodDisruptionBudget", "just-a", "default")

    # a budget not yet observed by the controller: 429, retry after 10 s
    with pytest.raises(ApiError) as e:
        await client.evict("a")
    assert e.value.code == 429 and e.value.details["retryAfterSeconds"] == 10
    assert e.value.details["causes"][0]["message"] == "The disruption budget all is still being processed by the server."

    # IfHealthyBudget (the default): an unready pod goes freely only while the budget is met
    await set_status("all", currentHealthy=0, desiredHealthy=1, expectedPods=3)
    with pytest.raises(ApiError) as e:
        await client.evict("b")
    assert e.value.code == 429
    await set_status("all", currentHealthy=1, desiredHealthy=1, expectedPods=3)
    await client.evict("b")
    assert (await client.get("Pod", "b", "default"))["metadata"].get("deletionTimestamp")
    # AlwaysAllow: an unready pod goes even when the budget is not met, and takes no disruption
    await client.patch("PodDisruptionBudget", "all", {"spec": {"unhealthyPodEvictionPolicy": "AlwaysAllow"}}, "default")
    cur = await client.get("PodDisruptionBudget", "all", "default")
    cur["status"] = dict(pdbs.empty_status(), observedGeneration=2, currentHealthy=0, desiredHealthy=1, expectedPods=3)
    await client.update_status(cur)
    await client.evict("c")
    assert (await client.get("Pod", "c", "default"))["metadata"].get("deletionTimestamp")
    assert (await status_of(client, "all"))["disruptionsAllowed"] == 0


async def test_the_rest_eviction_subresource(tmp_path: Path) -> None:
    """What kubectl drain posts, and what it must not: a wrong kind, a wrong name, a malformed body."""
    import ssl

    async with running_plane(tmp_path / "data", rest_listen="127.0.0.1:0") as plane:
        tls = ssl.create_default_context(cadata=plane.rest.ca_pem.decode())
        assert plane.credentials is not None
        async with aiohttp.ClientSession(base_url=plane.rest.address, connector=aiohttp.TCPConnector(ssl=tls),
                                         headers={"Authorization": f"Bearer {plane.credentials.admin}"}) as http:
            _, core = await call(http, "GET", "/api/v1")
            ev = next(r for r in core["resources"] if r["name"] == "pods/eviction")
            assert (ev["group"], ev["version"], ev["kind"], ev["verbs"]) == ("policy", "v1", "Eviction", ["create"])
            _, policy = await call(http, "GET", "/apis/policy/v1")
            pdb = next(r for r in policy["resources"] if r["name"] == "poddisruptionbudgets")
            assert pdb["shortNames"] == ["pdb"] and pdb["namespaced"]

            code, _ = await call(http, "POST", "/api/v1/namespaces/default/pods",
                                 bare_pod("p1", {"app": "p"}, node=None))
            assert code == 201
            url = "/api/v1/namespaces/default/pods/p1/eviction"
            code, st = await call(http, "POST", url, b"{not json")
            assert code == 400 and st["reason"] == "BadRequest" and "not valid JSON" in st["message"]
            code, st = await call(http, "POST", url, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p1"}})
            assert code == 400 and "not a Eviction object" in st["message"]
            code, st = await call(http, "POST", url, {"apiVersion": "policy/v1", "kind": "Eviction",
                                                      "metadata": {"name": "other"}})
            assert code == 400 and st["message"] == "name in URL does not match name in Eviction object"
            code, st = await call(http, "POST", url, {"apiVersion": "policy/v1", "kind": "Eviction",
                                                      "metadata": {"name": "p1"}, "deleteOptions": "soon"})
            assert code == 400 and "deleteOptions" in st["message"]
            code, st = await call(http, "GET", url)
            assert code == 405
            code, st = await call(http, "POST", url, {"apiVersion": "policy/v1", "kind": "Eviction",
                                                      "metadata": {"name": "p1", "namespace": "default"},
                                                      "deleteOptions": {"gracePeriodSeconds": 0}})
            assert code == 201 and st["status"] == "Success", json.dumps(st)
            code, _ = await call(http, "GET", "/api/v1/namespaces/default/pods/p1")
            assert code == 404  # a Pending pod is deleted without asking any budget

            # A running pod whose budget the controller has not counted yet: 429 with a Retry-After header,
            # as kube-apiserver sends it (client-go waits that long and asks again).
            client = plane.client("t")
            await client.connect()
            try:
                await client.create(bare_pod("p2", {"app": "q"}))
                p2 = await client.get("Pod", "p2", "default")
                p2["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
                await client.update_status(p2)
                await client.create(budget("q", {"app": "q"}, minAvailable=1))
            finally:
                await client.close()
            async with http.post("/api/v1/namespaces/default/pods/p2/eviction",
                                 json={"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "p2"}}) as r:
                assert r.status == 429 and r.headers.get("Retry-After") == "10"


async def test_a_stale_disruption_target_is_set_back_to_false(plane: ControlPlane, client: Client,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """An eviction or preemption whose delete never happened leaves DisruptionTarget=True on a pod that stays:
    the disruption controller sets it back to False after stalePodDisruptionTimeout (2 minutes; 0.5 s here)."""
    from control.controllers.disruption import DisruptionController

    monkeypatch.setattr(DisruptionController, "stale_pod_disruption_timeout", 0.5)
    await client.create(bare_pod("kept", {"app": "kept"}))
    pod = await client.get("Pod", "kept", "default")
    pod["status"] = {"phase": "Running", "conditions": [
        {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
         "message": "default-scheduler: preempting to accommodate a higher priority pod",
         "lastTransitionTime": meta.now()}]}
    await client.update_status(pod)

    async def reset() -> dict | None:
        got = await client.get("Pod", "kept", "default")
        cond = next(c for c in got["status"]["conditions"] if c["type"] == "DisruptionTarget")
        return cond if cond["status"] == "False" else None

    async with manager(plane, controllers=["disruption"]):
        cond = await wait_for(reset, 10, what="the stale DisruptionTarget set back to False")
    assert cond["status"] == "False"
    # a pod being deleted keeps it (its disruption is happening); a False or missing condition has nothing to reset
    dc = DisruptionController.__new__(DisruptionController)
    old = {"type": "DisruptionTarget", "status": "True", "lastTransitionTime": "2020-01-01T00:00:00Z"}
    assert dc._stale_in({"metadata": {}, "status": {"conditions": [old]}}) <= 0
    assert dc._stale_in({"metadata": {"deletionTimestamp": "2020-01-01T00:00:00Z"}, "status": {"conditions": [old]}}) is None
    assert dc._stale_in({"metadata": {}, "status": {"conditions": [dict(old, status="False")]}}) is None
    assert dc._stale_in({"metadata": {}, "status": {}}) is None
