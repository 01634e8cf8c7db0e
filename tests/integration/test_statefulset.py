"""StatefulSets end to end: the API server's refusals, the controller against a stand-in kubelet (ordering,
identity, events, rolling update, rollback, garbage collection), and a real node running the docs' web set."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from itertools import pairwise
from pathlib import Path

import pytest
import yaml

from control.api import meta
from control.client import Client
from control.controllers import controller_utils as cu
from control.controllers import statefulset as ssc
from control.errors import ApiError
from control.informer import Informer
from control.plane import ControlPlane
from nodes.node import Node
from nodes.nodestatus import NodeConfig
from tests.conftest import FAST, running_plane
from tests.helpers import ROOT, wait_for
from tests.integration.test_controllers import (
    _background,
    event_messages,
    events,
    kubelet,
    manager,
    node,
    pods,
    renew_lease,
)
from tests.integration.test_kubelet import node_options


def statefulset(name: str = "web", replicas: int = 3, image: str = "nginx:1.27", **spec: object) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name},
        "spec": {"replicas": replicas, "serviceName": "nginx", "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"terminationGracePeriodSeconds": 1,
                                       "containers": [{"name": "nginx", "image": image,
                                                       "ports": [{"name": "web", "containerPort": 80}]}]}},
                 **spec},
    }


async def names(client: Client, selector: str) -> list[str]:
    return sorted(p["metadata"]["name"] for p in await pods(client, selector))


async def test_bad_statefulsets_are_refused(client: Client) -> None:
    bad = statefulset()
    bad["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    with pytest.raises(ApiError) as e:
        await client.create(bad)
    assert e.value.code == 422
    assert e.value.message == ('StatefulSet.apps "web" is invalid: spec.template.metadata.labels: Invalid value: '
                               '`selector` does not match template `labels`')
    created = await client.create(statefulset(volumeClaimTemplates=[{"metadata": {"name": "www"}, "spec": {}}]))
    assert not any("volumeClaimTemplates" in w for w in client.last_warnings)  # claims are made and bound now
    assert created["spec"]["podManagementPolicy"] == "OrderedReady"
    changed = copy.deepcopy(created)
    changed["spec"]["serviceName"] = "other"
    with pytest.raises(ApiError) as e:
        await client.update(changed)
    assert e.value.code == 422
    assert e.value.message == (
        "StatefulSet.apps \"web\" is invalid: spec: Forbidden: updates to statefulset spec for fields other than "
        "'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and "
        "'minReadySeconds' are forbidden")
    # the fields that may change do
    await client.patch("StatefulSet", "web", {"spec": {"replicas": 5, "updateStrategy": {"type": "OnDelete",
                                                                                         "rollingUpdate": None}}})
    assert (await client.get("sts", "web"))["metadata"]["generation"] == 2


async def test_pods_come_in_order_keep_their_names_and_roll_from_the_top(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["statefulset", "garbagecollector"]), kubelet(client) as k:
        k.ready = {"web-0": False}  # web-0 Running but not Ready: OrderedReady waits for it
        await client.create(statefulset())
        await wait_for(lambda: names(client, "app=web"), what="web-0")
        assert await names(client, "app=web") == ["web-0"]
        first = await wait_for(lambda: _status(client, replicas=1), what="the set's status to count web-0")
        assert not first["status"].get("readyReplicas")
        assert await names(client, "app=web") == ["web-0"]  # still nothing else: web-0 is not Ready
        k.ready = {}
        await wait_for(lambda: _names_are(client, ["web-0", "web-1", "web-2"]), what="web-0, web-1, web-2")
        sts = await wait_for(lambda: _status(client, readyReplicas=3, availableReplicas=3), what="3 ready")
        ps = {p["metadata"]["name"]: p for p in await pods(client, "app=web")}
        created = sorted(ps, key=lambda n: meta.parse_time(ps[n]["metadata"]["creationTimestamp"]) or 0)
        assert created == ["web-0", "web-1", "web-2"]
        web1 = ps["web-1"]
        assert web1["spec"]["hostname"] == "web-1" and web1["spec"]["subdomain"] == "nginx"
        labels = web1["metadata"]["labels"]
        assert labels[ssc.POD_NAME_LABEL] == "web-1" and labels[ssc.POD_INDEX_LABEL] == "1"
        rev1 = sts["status"]["updateRevision"]
        assert labels[ssc.REVISION_LABEL] == rev1 == sts["status"]["currentRevision"]
        assert meta.controller_of(web1)["uid"] == sts["metadata"]["uid"]
        made = await events(client, "SuccessfulCreate")
        assert [e["message"] for e in made] == [f"create Pod web-{i} in StatefulSet web successful" for i in range(3)]
        assert all(e["source"]["component"] == "statefulset-controller" for e in made)
        revs = (await client.list("ControllerRevision", "default"))["items"]
        assert [(r["metadata"]["name"], r["revision"]) for r in revs] == [(rev1, 1)]

        # a deleted pod comes back under its name
        uid = web1["metadata"]["uid"]
        await client.delete("Pod", "web-1")
        await wait_for(lambda: _recreated(client, "web-1", uid), what="web-1 again, a new pod")

        # a new image: the pods are replaced from the highest ordinal down
        await client.patch("StatefulSet", "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "nginx", "image": "nginx:1.28", "ports": [{"name": "web", "containerPort": 80}]}]}}}})
        sts = await wait_for(lambda: _status(client, updatedReplicas=3, readyReplicas=3, generation=2),
                             timeout=20, what="the rolling update to finish")
        rev2 = sts["status"]["updateRevision"]
        assert rev2 != rev1 and sts["status"]["currentRevision"] == rev2
        await event_messages(client, "SuccessfulDelete",
                             lambda m: m[-3:] == [f"delete Pod web-{i} in StatefulSet web successful" for i in (2, 1, 0)],
                             what="the deletes, highest ordinal first")
        assert {p["spec"]["containers"][0]["image"] for p in await pods(client, "app=web")} == {"nginx:1.28"}

        # rollback: kubectl rollout undo patches the previous revision's template back, which renumbers it
        assert await ssc.rollback(client, sts) == "rolled back"
        await wait_for(lambda: _status(client, updatedReplicas=3, readyReplicas=3, generation=3, currentRevision=rev1),
                       timeout=20, what="the rollback")
        revs = {r["metadata"]["name"]: r["revision"] for r in (await client.list("ControllerRevision", "default"))["items"]}
        assert revs == {rev1: 3, rev2: 2}

        # scale down: from the highest ordinal, the next once that one is gone
        gone: list[str] = []
        k.informer.add_handler(on_delete=lambda p: gone.append(p["metadata"]["name"]))
        await client.patch("StatefulSet", "web", {"spec": {"replicas": 1}})
        await wait_for(lambda: _names_are(client, ["web-0"]), what="only web-0 left")
        await wait_for(lambda: len(gone) == 2, what="the stand-in kubelet to see both go")
        assert gone == ["web-2", "web-1"]

        # deleting the set takes its pods and revisions with it
        await client.delete("StatefulSet", "web")
        await wait_for(lambda: _names_are(client, []), what="the pods to be collected")
        await wait_for(lambda: _no_revisions(client), what="the revisions to be collected")


async def _status(client: Client, generation: int = 1, **want: object) -> dict | None:
    sts = await client.get("StatefulSet", "web")
    st = sts.get("status") or {}
    if st.get("observedGeneration") != generation or sts["metadata"]["generation"] != generation:
        return None
    return sts if all(st.get(k, 0) == v for k, v in want.items()) else None


async def _names_are(client: Client, want: list[str], selector: str = "app=web") -> bool:
    items = (await client.list("Pod", "default", label_selector=selector))["items"]
    return sorted(p["metadata"]["name"] for p in items) == want


async def _recreated(client: Client, name: str, old_uid: str) -> bool:
    try:
        pod = await client.get("Pod", name)
    except ApiError:
        return False
    return pod["metadata"]["uid"] != old_uid and not pod["metadata"].get("deletionTimestamp")


async def _no_revisions(client: Client) -> bool:
    return not (await client.list("ControllerRevision", "default"))["items"]


async def test_parallel_sets_do_not_wait(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["statefulset"]), kubelet(client) as k:
        k.ready = {f"db-{i}": False for i in range(3)}  # none ever Ready
        await client.create(statefulset("db", podManagementPolicy="Parallel"))
        await wait_for(lambda: _all_named(client, "app=db", ["db-0", "db-1", "db-2"]), what="all three at once")


async def test_a_pod_on_a_lost_node_is_not_replaced_until_it_is_gone(plane: ControlPlane, client: Client) -> None:
    """Kubernetes' at-most-one guarantee: web-1 on an unreachable node is evicted (Terminating) but never
    force-deleted by the control plane, so no second web-1 starts while the lost node may still run the first;
    once the node is declared out of service (or the pod is force-deleted), web-1 comes back elsewhere."""
    async with manager(plane, ["statefulset", "nodelifecycle"]), kubelet(client, {"n1", "n2"}) as k:
        await node(client, "n1")
        await node(client, "n2")
        alive = {"n1", "n2"}
        place = {"web-0": "n1", "web-1": "n2"}

        async def heartbeat_and_bind() -> None:  # the live kubelets' Leases, and a stand-in scheduler
            while True:
                for n in alive:
                    await renew_lease(client, n)
                for p in (await client.list("Pod", "default", label_selector="app=web"))["items"]:
                    if not p["spec"].get("nodeName") and not p["metadata"].get("deletionTimestamp"):
                        with contextlib.suppress(ApiError):
                            await client.bind("default", p["metadata"]["name"], place.get(p["metadata"]["name"], "n1"))
                await asyncio.sleep(0.2)

        async with _background(heartbeat_and_bind()):
            await client.create(statefulset(replicas=2))
            await wait_for(lambda: _status(client, readyReplicas=2), timeout=15, what="web-0 and web-1 Ready")
            lost = await client.get("Pod", "web-1")
            assert lost["spec"]["nodeName"] == "n2"
            alive.discard("n2")
            k.nodes = {"n1"}  # n2's kubelet is dead: nobody will confirm web-1 stopped
            place["web-1"] = "n1"
            terminating = await wait_for(lambda: _terminating(client, "web-1"), timeout=15, what="web-1 evicted")
            deadline = meta.parse_time(terminating["metadata"]["deletionTimestamp"])
            await wait_for(lambda: time.time() > deadline + 4 * FAST.node_monitor_period, what="its grace period to pass")
            still = await client.get("Pod", "web-1")
            assert still["metadata"]["uid"] == lost["metadata"]["uid"], "a second web-1 while the first may still run"
            assert still["spec"]["nodeName"] == "n2"
            # the admin's word that n2 is down (non-graceful node shutdown): PodGC force-deletes, web-1 comes back
            await client.patch("Node", "n2", {"spec": {"taints": [
                {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"},
                *((await client.get("Node", "n2", None))["spec"].get("taints") or [])]}}, None)
            await wait_for(lambda: _recreated(client, "web-1", lost["metadata"]["uid"]), timeout=15, what="a new web-1")
            await wait_for(lambda: _status(client, readyReplicas=2), timeout=15, what="web-1 Ready on n1")
            assert (await client.get("Pod", "web-1"))["spec"]["nodeName"] == "n1"


async def _terminating(client: Client, name: str) -> dict | None:
    try:
        pod = await client.get("Pod", name)
    except ApiError:
        return None
    return pod if pod["metadata"].get("deletionTimestamp") else None


async def _all_named(client: Client, selector: str, want: list[str]) -> bool:
    return await names(client, selector) == want


@pytest.mark.slow
async def test_a_real_node_runs_the_set_in_order(tmp_path: Path) -> None:
    """The README's example (docs/examples) on a real node: nginx processes, ready by their probe, made one
    after the other."""
    async with running_plane(tmp_path / "data", scheduler=True, controllers=True) as plane:
        client = plane.client("test")
        await client.connect()
        node = Node(NodeConfig(name="node-1", cpu="2", memory="4Gi", pods=20), node_options(plane, tmp_path / "node-1"),
                    say=lambda s: None)
        await node.start()
        # what the watch shows when each pod appears: was the one before it Ready? (the store's order)
        seen = Informer(client, "Pod")
        ready_before: dict[str, bool] = {}

        def added(pod: dict) -> None:
            o = ssc.ordinal_of(pod)
            if o > 0:
                prev = seen.get("default", f"web-{o - 1}")
                ready_before[pod["metadata"]["name"]] = prev is not None and cu.is_pod_ready(prev)

        seen.add_handler(on_add=added)
        await seen.start()
        await seen.wait_synced()
        try:
            service, obj = yaml.safe_load_all((ROOT / "docs" / "examples" / "statefulset-web.yaml").read_text())
            obj["spec"]["replicas"] = 2  # two show the order and cost half
            await client.create(service)
            await client.create(obj)
            sts = await wait_for(lambda: _status(client, readyReplicas=2), timeout=60, what="web-0 and web-1 Ready")
            ps = {p["metadata"]["name"]: p for p in await pods(client, "app=nginx")}
            assert sorted(ps) == ["web-0", "web-1"]
            assert ready_before == {"web-1": True}  # OrderedReady: web-1 was made once web-0 was Ready
            assert all(p["status"]["phase"] == "Running" for p in ps.values())
            assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"]
            await client.delete("StatefulSet", "web")
            await wait_for(lambda: _names_are(client, [], "app=nginx"), timeout=30, what="the pods to go with the set")
        finally:
            await seen.stop()
            await node.stop()
            await client.close()


async def test_rollout_history_shows_the_change_cause(plane: ControlPlane, client: Client) -> None:
    """Each ControllerRevision carries the set's annotations when it is made, so kubectl rollout history sts
    shows the kubernetes.io/change-cause of each template."""
    async with manager(plane, ["statefulset"]), kubelet(client):
        obj = statefulset(replicas=1)
        obj["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first"}
        await client.create(obj)
        await wait_for(lambda: _status(client, readyReplicas=1), what="web-0 ready")
        await client.patch("StatefulSet", "web", {
            "metadata": {"annotations": {"kubernetes.io/change-cause": "kubectl set image sts/web nginx=nginx:1.28"}},
            "spec": {"template": {"spec": {"containers": [
                {"name": "nginx", "image": "nginx:1.28", "ports": [{"name": "web", "containerPort": 80}]}]}}}})
        sts = await wait_for(lambda: _status(client, updatedReplicas=1, readyReplicas=1, generation=2),
                             timeout=20, what="the rolling update to finish")
        causes = [(r["revision"], (r["metadata"].get("annotations") or {}).get("kubernetes.io/change-cause"))
                  for r in await ssc.controlled_history(client, sts)]
        assert causes == [(1, "first"), (2, "kubectl set image sts/web nginx=nginx:1.28")]


async def test_a_name_taken_by_a_pod_the_set_does_not_own_is_retried_with_back_off(
        plane: ControlPlane, client: Client) -> None:
    """db-0 exists but is not the set's (its labels do not match: a pod taken out of the set by relabelling
    looks the same). Creating db-0 fails AlreadyExists at every sync; the controller backs off between tries, as
    a failed sync is requeued rate-limited in Kubernetes, instead of trying again every 0.2 s forever."""
    conflicts: list[float] = []
    plane.server.request_observers.append(
        lambda verb, body, code, elapsed: conflicts.append(time.monotonic()) if verb == "create" and code == 409 else None)
    await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0", "labels": {"app": "other"}},
                         "spec": {"containers": [{"name": "c", "image": "pause"}]}})
    async with manager(plane, ["statefulset"]):
        await client.create(statefulset("db", replicas=1, podManagementPolicy="Parallel"))
        await wait_for(lambda: len(conflicts) >= 12, timeout=30, what="a dozen tries at db-0")
    gaps = [b - a for a, b in pairwise(conflicts)]
    assert gaps[-1] >= 0.5, gaps  # FAST timings cap the back-off at 1 s; the fixed retry was 0.2 s
