"""The controller manager end to end against an in-process API server (no scheduler, a fake kubelet)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import pytest

from control.api import meta
from control.client import Client
from control.controllers import deployment as deploy
from control.controllers.leaderelection import LeaderElector, run_with_leader_election
from control.controllers.manager import run_controller_manager
from control.errors import ApiError
from control.informer import Informer
from control.plane import ControlPlane
from tests.conftest import FAST
from tests.helpers import gone, wait_for

pytestmark = pytest.mark.timeout(60)


# --- fixtures and helpers ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def manager(plane: ControlPlane, controllers: Iterable[str] | None = None) -> AsyncIterator[Client]:
    """run_controller_manager as a task on its own client; cancelled and awaited on exit."""
    c = plane.client("controller-manager")
    await c.connect()
    task = asyncio.create_task(run_controller_manager(c, timings=FAST, controllers=controllers))
    try:
        yield c
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await c.close()


class FakeKubelet:
    """Stands in for kubelets: pods on `nodes` (or every pod, if nodes is None) become Running and Ready
    with an IP; terminating ones are confirmed gone. `ready=False` leaves them Running but not Ready."""

    def __init__(self, client: Client, nodes: set[str] | None = None) -> None:
        self.client = client
        self.nodes = nodes
        self.ready: dict[str, bool] = {}  # pod name -> readiness override
        self.informer = Informer(client, "Pod")
        self._task: asyncio.Task[None] | None = None
        self._ips = 0

    async def start(self) -> None:
        await self.informer.start()
        await self.informer.wait_synced()
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.informer.stop()

    def _mine(self, pod: dict) -> bool:
        return self.nodes is None or (pod.get("spec") or {}).get("nodeName") in self.nodes

    async def _loop(self) -> None:
        while True:
            for pod in self.informer.list():
                if not self._mine(pod):
                    continue
                try:
                    await self._tend(pod)
                except ApiError:
                    pass
            await asyncio.sleep(0.02)

    async def _tend(self, pod: dict) -> None:
        md = pod["metadata"]
        if md.get("deletionTimestamp"):
            await self.client.delete("Pod", md["name"], md["namespace"], grace_period=0)
            return
        st = pod.get("status") or {}
        if st.get("phase") in ("Succeeded", "Failed"):
            return
        want_ready = self.ready.get(md["name"], True)
        ready = next((c for c in st.get("conditions") or [] if c["type"] == "Ready"), None)
        if st.get("phase") == "Running" and ready is not None and (ready["status"] == "True") == want_ready:
            return
        self._ips += 1
        new = dict(pod)
        now = meta.now()
        new["status"] = dict(
            st,
            phase="Running",
            podIP=st.get("podIP") or f"127.200.{self._ips // 250}.{self._ips % 250 + 1}",
            conditions=[{"type": "Ready", "status": "True" if want_ready else "False", "lastTransitionTime": now}],
            containerStatuses=[{"name": c["name"], "ready": want_ready, "restartCount": 0, "state": {"running": {"startedAt": now}}}
                               for c in pod["spec"]["containers"]],
        )
        await self.client.update_status(new)

    async def finish(self, name: str, phase: str, namespace: str = "default") -> None:
        pod = await self.client.get("Pod", name, namespace)
        pod["status"] = dict(pod.get("status") or {}, phase=phase)
        pod["status"]["containerStatuses"] = [
            {"name": c["name"], "ready": False, "restartCount": 0,
             "state": {"terminated": {"exitCode": 0 if phase == "Succeeded" else 1, "finishedAt": meta.now()}}}
            for c in pod["spec"]["containers"]
        ]
        pod["status"]["conditions"] = [{"type": "Ready", "status": "False", "lastTransitionTime": meta.now()}]
        await self.client.update_status(pod)


@contextlib.asynccontextmanager
async def kubelet(client: Client, nodes: set[str] | None = None) -> AsyncIterator[FakeKubelet]:
    k = FakeKubelet(client, nodes)
    await k.start()
    try:
        yield k
    finally:
        await k.stop()


def template(labels: dict[str, str], image: str = "nginx:1.25", **spec: Any) -> dict:
    return {
        "metadata": {"labels": labels},
        "spec": {"containers": [{"name": "c", "image": image, "ports": [{"name": "http", "containerPort": 80}]}], **spec},
    }


def replicaset(name: str, n: int, labels: dict[str, str]) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
        "spec": {"replicas": n, "selector": {"matchLabels": labels}, "template": template(labels)},
    }


def deployment(name: str, n: int, labels: dict[str, str], **spec: Any) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": n, "selector": {"matchLabels": labels}, "template": template(labels), **spec},
    }


async def pods(client: Client, selector: str = "", namespace: str = "default") -> list[dict]:
    items = (await client.list("Pod", namespace, label_selector=selector))["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


async def events(client: Client, reason: str, namespace: str = "default") -> list[dict]:
    return [e for e in (await client.list("Event", namespace))["items"] if e["reason"] == reason]


async def event_messages(client: Client, reason: str, until: Callable[[list[str]], bool], what: str) -> list[str]:
    """The messages of the events of `reason`, once `until` holds for them: a controller's events are written by
    its event broadcaster after the object it reports on, so a test that saw the object waits for them."""
    async def ready() -> list[str] | None:
        msgs = [e["message"] for e in await events(client, reason)]
        return msgs if until(msgs) else None

    return await wait_for(ready, 10, what=what)  # type: ignore[no-any-return]


async def node(client: Client, name: str, ready: bool = True) -> dict:
    now = meta.now()
    return await client.create({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False", "reason": "KubeletReady",
                            "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now}],
        },
    })


async def renew_lease(client: Client, name: str) -> None:
    spec = {"holderIdentity": name, "leaseDurationSeconds": 2, "renewTime": meta.now_micro()}
    try:
        cur = await client.get("Lease", name, "kube-node-lease")
    except ApiError:
        await client.create({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                             "metadata": {"name": name, "namespace": "kube-node-lease"}, "spec": spec})
        return
    cur["spec"] = spec
    await client.update(cur)


# --- ReplicaSet --------------------------------------------------------------------------------------------------


async def test_replicaset_scales_and_replaces(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["replicaset"]), kubelet(client):
        await client.create(replicaset("web", 3, {"app": "web"}))
        await wait_for(lambda: _count(client, "app=web", 3), what="3 pods")
        rs = await wait_for(lambda: _rs_status(client, "web", readyReplicas=3, availableReplicas=3, replicas=3), what="rs status")
        assert rs["status"]["observedGeneration"] == rs["metadata"]["generation"]
        assert rs["status"]["fullyLabeledReplicas"] == 3
        ps = await pods(client, "app=web")
        for p in ps:
            assert p["metadata"]["generateName"] == "web-"
            ref = meta.controller_of(p)
            assert ref and ref["kind"] == "ReplicaSet" and ref["uid"] == rs["metadata"]["uid"]
        # a deleted pod is replaced
        victim = ps[0]["metadata"]["name"]
        await client.delete("Pod", victim)
        await wait_for(lambda: _replaced(client, "app=web", victim, 3), what="replacement")
        # scale up and down
        await client.patch("ReplicaSet", "web", {"spec": {"replicas": 5}})
        await wait_for(lambda: _count(client, "app=web", 5), what="5 pods")
        await client.patch("ReplicaSet", "web", {"spec": {"replicas": 1}})
        await wait_for(lambda: _count(client, "app=web", 1), what="1 pod")
        await wait_for(lambda: _rs_status(client, "web", replicas=1), what="status 1")
        created = await wait_for(lambda: _events_n(client, "SuccessfulCreate", 6), what="create events")
        assert all(e["message"].startswith("Created pod: web-") for e in created)
        assert all(e["source"]["component"] == "replicaset-controller" for e in created)
        deleted = await wait_for(lambda: _events_n(client, "SuccessfulDelete", 4), what="delete events")
        assert deleted[0]["message"].startswith("Deleted pod: web-")


async def test_replicaset_adopts_and_releases(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["replicaset"]):
        orphan = await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray", "labels": {"app": "db"}},
                                      "spec": template({})["spec"]})
        await client.create(replicaset("db", 2, {"app": "db"}))
        await wait_for(lambda: _count(client, "app=db", 2), what="2 pods")
        stray = await client.get("Pod", "stray")
        assert meta.controller_of(stray)["name"] == "db"
        assert stray["metadata"]["uid"] == orphan["metadata"]["uid"]
        # relabelled out of the selector: released, and replaced
        stray["metadata"]["labels"] = {"app": "other"}
        await client.update(stray)
        await wait_for(lambda: _released(client, "stray"), what="released")
        await wait_for(lambda: _count(client, "app=db", 2), what="replaced")


async def test_replicaset_does_not_count_failed_pods(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["replicaset"]), kubelet(client) as k:
        await client.create(replicaset("job-like", 2, {"app": "jl"}))
        ps = await wait_for(lambda: _count(client, "app=jl", 2), what="2 pods")
        await _ready_all(client, "app=jl", 2)
        k.nodes = set()  # the kubelet stops tending, so the failed pod stays failed
        await k.finish(ps[0]["metadata"]["name"], "Failed")
        await wait_for(lambda: _active(client, "app=jl", 2), what="a replacement for the failed pod")


# --- Deployment -----------------------------------------------------------------------------------------------


async def test_deployment_rollout_and_rollback(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["replicaset", "deployment"]), kubelet(client) as k:
        d = await client.create(deployment("nginx", 4, {"app": "nginx"}))
        rs1 = await wait_for(lambda: _owned_rs(client, d, replicas=4, ready=4), what="first RS ready")
        h1 = rs1["metadata"]["labels"]["pod-template-hash"]
        assert rs1["metadata"]["name"] == f"nginx-{h1}"
        assert rs1["metadata"]["annotations"][deploy.REVISION] == "1"
        assert rs1["spec"]["selector"]["matchLabels"] == {"app": "nginx", "pod-template-hash": h1}
        d = await wait_for(lambda: _deploy_status(client, "nginx", availableReplicas=4, updatedReplicas=4), what="deploy available")
        conds = {c["type"]: c for c in d["status"]["conditions"]}
        assert conds["Available"]["reason"] == "MinimumReplicasAvailable"
        assert conds["Progressing"]["reason"] == "NewReplicaSetAvailable"
        assert d["metadata"]["annotations"][deploy.REVISION] == "1"
        scaled = await events(client, "ScalingReplicaSet")
        assert scaled[0]["message"] == f"Scaled up replica set nginx-{h1} to 4"

        # a template change: new pods are held un-ready so the rollout stops at the surge/unavailable bounds
        k.ready.update({p["metadata"]["name"]: True for p in await pods(client, "app=nginx")})
        k_default_ready = False
        orig_tend = k._tend

        async def tend(pod: dict) -> None:
            k.ready.setdefault(pod["metadata"]["name"], k_default_ready)
            await orig_tend(pod)

        k._tend = tend  # type: ignore[method-assign]
        d = await client.get("Deployment", "nginx")
        d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
        await client.update(d)
        # maxSurge 25% of 4 -> 1 up; maxUnavailable 25% of 4 -> 1 down: 5 pods at most, 3 available at least
        await wait_for(lambda: _total_pods(client, "app=nginx", 5), what="surge to 5")
        rs_all = await _owned_rss(client, d)
        assert len(rs_all) == 2
        new_rs = next(r for r in rs_all if r["metadata"]["name"] != rs1["metadata"]["name"])
        assert new_rs["metadata"]["annotations"][deploy.REVISION] == "2"
        for _ in range(10):  # it must stay within the bounds while nothing becomes ready
            ps = await pods(client, "app=nginx")
            assert len(ps) <= 5
            assert sum(1 for p in ps if _is_ready(p)) >= 3
            await asyncio.sleep(0.05)
        # let new pods become ready: the rollout completes
        k_default_ready = True
        for name, r in list(k.ready.items()):
            if not r:
                k.ready[name] = True
        d = await wait_for(lambda: _deploy_status(client, "nginx", updatedReplicas=4, availableReplicas=4, replicas=4), timeout=20,
                           what="rollout complete")
        assert d["metadata"]["annotations"][deploy.REVISION] == "2"
        rs1_now = await client.get("ReplicaSet", rs1["metadata"]["name"])
        assert rs1_now["spec"]["replicas"] == 0
        hist = await deploy.history(client, "nginx")
        assert [r for r, _ in hist] == [1, 2]

        # rollback to revision 1: the first RS becomes the new one again with revision 3
        assert await deploy.rollback(client, "nginx") == "rolled back"
        d = await wait_for(lambda: _deploy_status(client, "nginx", updatedReplicas=4, availableReplicas=4, replicas=4,
                                                  revision="3"), timeout=20, what="rolled back")
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
        back = await client.get("ReplicaSet", rs1["metadata"]["name"])
        assert back["spec"]["replicas"] == 4 and back["metadata"]["annotations"][deploy.REVISION] == "3"
        assert "skipped rollback" in await deploy.rollback(client, "nginx", to_revision=3)
        with pytest.raises(deploy.RolloutError):
            await deploy.rollback(client, "nginx", to_revision=9)


async def test_deployment_recreate_and_scale(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["replicaset", "deployment"]), kubelet(client):
        d = await client.create(deployment("rc", 2, {"app": "rc"}, strategy={"type": "Recreate"}, revisionHistoryLimit=0))
        await wait_for(lambda: _deploy_status(client, "rc", availableReplicas=2), what="available")
        await client.patch("Deployment", "rc", {"spec": {"replicas": 3}})
        await wait_for(lambda: _deploy_status(client, "rc", availableReplicas=3, replicas=3), what="scaled")
        # kube-controller-manager's wording: the new size, then the old one
        rs_name = (await _owned_rss(client, d))[0]["metadata"]["name"]
        await event_messages(client, "ScalingReplicaSet", lambda m: f"Scaled up replica set {rs_name} to 3 from 2" in m,
                             what="kube-controller-manager's scaling event")
        d = await client.get("Deployment", "rc")
        d["spec"]["template"]["metadata"]["labels"]["v"] = "2"
        d["spec"]["selector"] = {"matchLabels": {"app": "rc"}}
        await client.update(d)
        await wait_for(lambda: _deploy_status(client, "rc", availableReplicas=3, updatedReplicas=3, replicas=3, revision="2"),
                       timeout=20, what="recreated")
        ps = await pods(client, "app=rc")
        assert all(p["metadata"]["labels"].get("v") == "2" for p in ps)
        # revisionHistoryLimit 0: the old, idle ReplicaSet is cleaned up
        await wait_for(lambda: _n_rss(client, d, 1), what="history cleaned up")


# --- garbage collection --------------------------------------------------------------------------------------------


async def test_cascading_delete_background_and_orphan(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["replicaset", "deployment", "garbagecollector"]):
        await client.create(deployment("gc", 2, {"app": "gc"}))
        await wait_for(lambda: _count(client, "app=gc", 2), what="pods")
        await client.delete("Deployment", "gc")  # background: RS then pods follow
        await wait_for(lambda: _none_left(client, "ReplicaSet"), what="RS collected")
        await wait_for(lambda: _count(client, "app=gc", 0), what="pods collected")

        d = await client.create(deployment("keep", 2, {"app": "keep"}))
        await wait_for(lambda: _count(client, "app=keep", 2), what="pods")
        rs = await wait_for(lambda: _owned_rs(client, d, replicas=2), what="rs")
        await client.delete("Deployment", "keep", propagation_policy="Orphan")
        await wait_for(lambda: gone(client, "Deployment", "keep"), what="deployment gone")
        rs = await client.get("ReplicaSet", rs["metadata"]["name"])
        assert not rs["metadata"].get("ownerReferences")
        assert len(await pods(client, "app=keep")) == 2

        # foreground: the owner waits for its dependents
        await client.delete("ReplicaSet", rs["metadata"]["name"], propagation_policy="Foreground")
        await wait_for(lambda: _count(client, "app=keep", 0), what="pods first")
        await wait_for(lambda: _none_left(client, "ReplicaSet"), what="then the RS")

        # a ConfigMap and a Secret a Deployment owns go with it
        owner = await client.create(deployment("cfg", 0, {"app": "cfg"}))
        ref = [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "cfg", "uid": owner["metadata"]["uid"]}]
        await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "ownerReferences": ref},
                             "data": {"a": "b"}})
        await client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cfg", "ownerReferences": ref},
                             "stringData": {"a": "b"}})
        await client.delete("Deployment", "cfg")
        await wait_for(lambda: gone(client, "ConfigMap", "cfg"), what="the ConfigMap collected")
        await wait_for(lambda: gone(client, "Secret", "cfg"), what="the Secret collected")


# --- node lifecycle --------------------------------------------------------------------------------------------------


async def test_node_lease_expiry_taints_and_evicts(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["replicaset", "nodelifecycle"]):
        await node(client, "n1")
        await node(client, "n2")
        n1 = await wait_for(lambda: _node_with_cidr(client, "n1"), what="pod CIDR")
        n2 = await wait_for(lambda: _node_with_cidr(client, "n2"), what="pod CIDR")
        assert n1["spec"]["podCIDRs"] == [n1["spec"]["podCIDR"]]
        assert n1["spec"]["podCIDR"] != n2["spec"]["podCIDR"]
        rs = replicaset("ev", 2, {"app": "ev"})
        rs["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 1  # a grace period that ends during the test
        await client.create(rs)
        ps = await wait_for(lambda: _count(client, "app=ev", 2), what="pods")
        for p in ps:
            await client.bind("default", p["metadata"]["name"], "n1")
        alive = True

        async def heartbeat() -> None:
            while True:
                await renew_lease(client, "n2")
                if alive:
                    await renew_lease(client, "n1")
                await asyncio.sleep(0.2)

        async with kubelet(client, {"n1", "n2"}) as k, _background(heartbeat()):
            await wait_for(lambda: _ready_count(client, "app=ev", 2), what="pods ready on n1")
            alive = False
            k.nodes = {"n2"}  # n1's kubelet is dead
            n = await wait_for(lambda: _node_ready(client, "n1", "Unknown"), what="n1 Unknown")
            ready = next(c for c in n["status"]["conditions"] if c["type"] == "Ready")
            assert ready["reason"] == "NodeStatusUnknown"
            assert ready["message"] == "Kubelet stopped posting node status."
            await wait_for(lambda: _has_taint(client, "n1", "node.kubernetes.io/unreachable", "NoExecute"), what="taint")
            assert not any(t["key"].startswith("node.kubernetes.io/") for t in ((await client.get("Node", "n2")).get("spec") or {}).get("taints") or [])
            # eviction after min(300, eviction_timeout) seconds; the RS replaces the pods (left Pending: no scheduler)
            old = {p["metadata"]["name"] for p in ps}
            await wait_for(lambda: _new_pods(client, "app=ev", old, 2), timeout=15, what="replacements")
            # the dead kubelet can't confirm the deletion: the old pods stay Terminating past their grace period
            # (as in Kubernetes: the node may still run them), until an admin declares the node out of service
            deadline = max(meta.parse_time(p["metadata"]["deletionTimestamp"]) for p in await _terminating(client, ps))
            await wait_for(lambda: time.time() > deadline + 4 * FAST.node_monitor_period, what="the grace period to pass")
            assert len(await _terminating(client, ps)) == 2, "pods on an unreachable node must not be force-deleted"
            await client.patch("Node", "n1", {"spec": {"taints": [
                {"key": "node.kubernetes.io/out-of-service", "value": "nodeshutdown", "effect": "NoExecute"},
                *((await client.get("Node", "n1", None))["spec"].get("taints") or [])]}}, None)
            await wait_for(lambda: _evicted(client, ps), what="old pods force-deleted (out-of-service)")
            await client.patch("Node", "n1", {"spec": {"taints": [
                t for t in (await client.get("Node", "n1", None))["spec"]["taints"]
                if t["key"] != "node.kubernetes.io/out-of-service"]}}, None)
            await event_messages(client, "TaintManagerEviction",
                                 lambda m: f"Marking for deletion Pod default/{ps[0]['metadata']['name']}" in m,
                                 what="the taint manager's eviction event")
            await event_messages(client, "NodeNotReady", lambda m: "Node is not ready" in m, what="NodeNotReady")
            # recovery: the kubelet posts Ready again, the taint goes
            alive = True
            n1 = await client.get("Node", "n1")
            for c in n1["status"]["conditions"]:
                if c["type"] == "Ready":
                    c.update(status="True", reason="KubeletReady", lastHeartbeatTime=meta.now())
            await client.update_status(n1)
            await wait_for(lambda: _no_taints(client, "n1"), what="taint removed")


async def test_pods_of_a_deleted_node_are_force_deleted(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["nodelifecycle"]):
        await node(client, "gone")
        await client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": template({})["spec"]})
        await client.bind("default", "p", "gone")
        await client.delete("Node", "gone")
        await wait_for(lambda: gone(client, "Pod", "p"), what="pod GC")


# --- endpoints -----------------------------------------------------------------------------------------------------


async def test_endpoints_follow_readiness(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["replicaset", "endpoint"]), kubelet(client) as k:
        await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                             "spec": {"selector": {"app": "ep"}, "ports": [{"name": "http", "port": 8080, "targetPort": "http"}]}})
        await client.create(replicaset("ep", 2, {"app": "ep"}))
        ep = await wait_for(lambda: _endpoints(client, "web", ready=2), what="2 ready addresses")
        assert ep["subsets"][0]["ports"] == [{"name": "http", "port": 80, "protocol": "TCP"}]
        addr = ep["subsets"][0]["addresses"][0]
        assert addr["targetRef"]["kind"] == "Pod" and addr["ip"].startswith("127.200.")
        rv = ep["metadata"]["resourceVersion"]
        name = addr["targetRef"]["name"]
        k.ready[name] = False
        ep = await wait_for(lambda: _endpoints(client, "web", ready=1, not_ready=1), what="one not ready")
        assert ep["subsets"][0]["notReadyAddresses"][0]["targetRef"]["name"] == name
        assert ep["metadata"]["resourceVersion"] != rv
        k.ready[name] = True
        await wait_for(lambda: _endpoints(client, "web", ready=2), what="ready again")
        await client.delete("Service", "web")
        await wait_for(lambda: gone(client, "Endpoints", "web"), what="endpoints deleted")


# --- job ---------------------------------------------------------------------------------------------------------------


async def test_job_completes(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["job"]), kubelet(client) as k:
        job = await client.create({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
            "spec": {"completions": 3, "parallelism": 2, "template": template({}, image="perl", restartPolicy="Never")},
        })
        uid = job["metadata"]["uid"]
        done: set[str] = set()
        while len(done) < 3:
            ps = await wait_for(lambda: _job_pods(client, uid, exclude=done), what="job pods")
            assert len(ps) <= 2
            for p in ps:
                assert p["metadata"]["name"].startswith("pi-") and len(p["metadata"]["name"]) == len("pi-") + 5
                assert p["metadata"]["labels"]["job-name"] == "pi"
                assert p["metadata"]["labels"]["batch.kubernetes.io/job-name"] == "pi"
            p = ps[0]
            await wait_for(lambda p=p: _running(client, p["metadata"]["name"]), what="running")
            k.nodes = set()
            await k.finish(p["metadata"]["name"], "Succeeded")
            k.nodes = None
            done.add(p["metadata"]["name"])
        job = await wait_for(lambda: _job_finished(client, "pi"), what="complete")
        cond = job["status"]["conditions"][-1]
        assert cond["type"] == "Complete" and cond["status"] == "True"
        assert job["status"]["succeeded"] == 3 and job["status"]["active"] == 0
        assert job["status"]["startTime"] and job["status"]["completionTime"]
        await event_messages(client, "Completed", lambda m: m[:1] == ["Job completed"], what="the Completed event")


async def test_job_backoff_limit(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["job"]), kubelet(client) as k:
        k.nodes = set()  # pods stay Pending unless we fail them
        await client.create({
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "bad"},
            "spec": {"backoffLimit": 1, "template": template({}, image="busybox", restartPolicy="Never")},
        })
        failed: set[str] = set()
        for _ in range(2):
            job = await client.get("Job", "bad")
            ps = await wait_for(lambda job=job: _job_pods(client, job["metadata"]["uid"], exclude=failed), what="a pod")
            await k.finish(ps[0]["metadata"]["name"], "Failed")
            failed.add(ps[0]["metadata"]["name"])
        job = await wait_for(lambda: _job_finished(client, "bad"), what="failed")
        cond = job["status"]["conditions"][-1]
        assert (cond["type"], cond["reason"]) == ("Failed", "BackoffLimitExceeded")
        assert job["status"]["failed"] == 2


# --- daemonset ------------------------------------------------------------------------------------------------------


async def test_daemonset_follows_nodes(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["daemonset"]), kubelet(client):
        await node(client, "a")
        await node(client, "b")
        tainted = await node(client, "c")
        tainted["spec"] = {"taints": [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]}
        await client.update(tainted)
        await client.create({
            "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "template": template({"app": "agent"})},
        })
        await wait_for(lambda: _ds_nodes(client, {"a", "b"}), what="a pod on a and b")
        p = (await pods(client, "app=agent"))[0]
        term = p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]
        assert term["matchFields"][0]["key"] == "metadata.name"
        keys = {t["key"] for t in p["spec"]["tolerations"]}
        assert {"node.kubernetes.io/unreachable", "node.kubernetes.io/unschedulable"} <= keys
        await node(client, "d")
        await wait_for(lambda: _ds_nodes(client, {"a", "b", "d"}), what="joins d")
        await client.delete("Node", "a")
        await wait_for(lambda: _ds_nodes(client, {"b", "d"}), what="leaves a")
        ds = await wait_for(lambda: _ds_status(client, "agent", desiredNumberScheduled=2, currentNumberScheduled=2), what="status")
        assert ds["status"]["numberMisscheduled"] == 0
        # a template change rolls through the nodes, one unavailable at a time
        ds = await wait_for(lambda: _ds_status(client, "agent", numberAvailable=2), what="available")
        ds["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
        await client.update(ds)
        await wait_for(lambda: _ds_status(client, "agent", updatedNumberScheduled=2, numberAvailable=2, observedGeneration=2),
                       what="rolled")
        await wait_for(lambda: _ds_nodes(client, {"b", "d"}), what="one pod per node")
        assert all(p["spec"]["containers"][0]["image"] == "nginx:1.26" for p in await pods(client, "app=agent"))


# --- namespace ------------------------------------------------------------------------------------------------------


async def test_namespace_deletion_empties_it(plane: ControlPlane, client: Client) -> None:
    async with manager(plane, ["namespace", "replicaset"]):
        await client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tmp"}})
        rs = replicaset("x", 2, {"app": "x"})
        rs["metadata"]["namespace"] = "tmp"
        await client.create(rs)
        await wait_for(lambda: _count(client, "app=x", 2, namespace="tmp"), what="pods")
        await client.delete("Namespace", "tmp", None)
        await wait_for(lambda: gone(client, "Namespace", "tmp", None), timeout=15, what="namespace gone")


# --- leader election ---------------------------------------------------------------------------------------------


async def test_leader_election_takeover(plane: ControlPlane, client: Client) -> None:
    leading: list[str] = []
    stopped: list[str] = []

    async def work(name: str) -> None:
        leading.append(name)
        try:
            await asyncio.Event().wait()
        finally:
            stopped.append(name)

    electors: list[LeaderElector] = []
    a = asyncio.create_task(run_with_leader_election(client, "lock", "a", lambda: work("a"), scale=0.1,
                                                     release_on_cancel=False, elector_out=electors))
    await wait_for(lambda: leading == ["a"], what="a leads")
    c2 = plane.client("b")
    await c2.connect()
    b = asyncio.create_task(run_with_leader_election(c2, "lock", "b", lambda: work("b"), scale=0.1, elector_out=electors))
    try:
        await wait_for(lambda: electors[-1].leader == "a", what="b sees a")
        assert leading == ["a"]
        a.cancel()  # a dies without releasing: b must wait the lease out
        with contextlib.suppress(asyncio.CancelledError):
            await a
        await wait_for(lambda: leading == ["a", "b"], timeout=5, what="b takes over")
        lease = await client.get("Lease", "lock", "kube-system")
        assert lease["spec"]["holderIdentity"] == "b"
        assert lease["spec"]["leaseTransitions"] == 1
    finally:
        b.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await b
        await c2.close()
    assert "b" in stopped
    # b released the lease on its way out
    lease = await client.get("Lease", "lock", "kube-system")
    assert lease["spec"]["holderIdentity"] == ""


async def test_controller_manager_with_leader_election(plane: ControlPlane, client: Client) -> None:
    c = plane.client("cm")
    await c.connect()
    task = asyncio.create_task(run_controller_manager(c, timings=FAST, leader_elect=True, identity="cm-1",
                                                      controllers=["replicaset"], leader_elect_scale=0.1))
    try:
        await client.create(replicaset("le", 1, {"app": "le"}))
        await wait_for(lambda: _count(client, "app=le", 1), what="a pod from the leader")
        lease = await client.get("Lease", "kube-controller-manager", "kube-system")
        assert lease["spec"]["holderIdentity"] == "cm-1"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await c.close()


# --- conditions ------------------------------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _background(coro: Any) -> AsyncIterator[None]:
    t = asyncio.create_task(coro)
    try:
        yield
    finally:
        t.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await t


def _is_ready(p: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True" for c in (p.get("status") or {}).get("conditions") or [])


async def _count(client: Client, sel: str, n: int, namespace: str = "default") -> list[dict] | bool:
    ps = await pods(client, sel, namespace)
    return (ps or True) if len(ps) == n else False


async def _active(client: Client, sel: str, n: int) -> bool:
    ps = [p for p in await pods(client, sel) if p["status"].get("phase") not in ("Failed", "Succeeded")]
    return len(ps) == n


async def _total_pods(client: Client, sel: str, n: int) -> bool:
    return len(await pods(client, sel)) == n


async def _ready_all(client: Client, sel: str, n: int) -> None:
    await wait_for(lambda: _ready_count(client, sel, n), what=f"{n} ready")


async def _ready_count(client: Client, sel: str, n: int) -> bool:
    return sum(1 for p in await pods(client, sel) if _is_ready(p)) == n


async def _replaced(client: Client, sel: str, victim: str, n: int) -> bool:
    ps = await pods(client, sel)
    return len(ps) == n and victim not in {p["metadata"]["name"] for p in ps}


async def _new_pods(client: Client, sel: str, old: set[str], n: int) -> bool:
    ps = await pods(client, sel)
    return len(ps) == n and not old & {p["metadata"]["name"] for p in ps}


async def _released(client: Client, name: str) -> bool:
    return not (await client.get("Pod", name))["metadata"].get("ownerReferences")


async def _rs_status(client: Client, name: str, **want: int) -> dict | None:
    rs = await client.get("ReplicaSet", name)
    st = rs.get("status") or {}
    return rs if all(st.get(k) == v for k, v in want.items()) else None


async def _events_n(client: Client, reason: str, n: int) -> list[dict] | None:
    evs = await events(client, reason)
    total = sum(e["count"] for e in evs)
    return evs if total >= n else None


async def _owned_rss(client: Client, d: dict) -> list[dict]:
    return [rs for rs in (await client.list("ReplicaSet", "default"))["items"]
            if (meta.controller_of(rs) or {}).get("uid") == d["metadata"]["uid"]]


async def _n_rss(client: Client, d: dict, n: int) -> bool:
    return len(await _owned_rss(client, d)) == n


async def _owned_rs(client: Client, d: dict, replicas: int, ready: int | None = None) -> dict | None:
    for rs in await _owned_rss(client, d):
        if rs["spec"]["replicas"] == replicas and (ready is None or (rs.get("status") or {}).get("readyReplicas") == ready):
            return rs
    return None


async def _deploy_status(client: Client, name: str, revision: str | None = None, **want: int) -> dict | None:
    d = await client.get("Deployment", name)
    st = d.get("status") or {}
    if revision is not None and (d["metadata"].get("annotations") or {}).get(deploy.REVISION) != revision:
        return None
    if st.get("observedGeneration") != d["metadata"]["generation"]:
        return None
    return d if all(st.get(k) == v for k, v in want.items()) else None


async def _none_left(client: Client, kind: str) -> bool:
    return not (await client.list(kind, "default"))["items"]


async def _node_with_cidr(client: Client, name: str) -> dict | None:
    n = await client.get("Node", name, None)
    return n if (n.get("spec") or {}).get("podCIDR") else None


async def _node_ready(client: Client, name: str, status: str) -> dict | None:
    n = await client.get("Node", name, None)
    c = next((c for c in n["status"]["conditions"] if c["type"] == "Ready"), None)
    return n if c and c["status"] == status else None


async def _has_taint(client: Client, name: str, key: str, effect: str) -> bool:
    n = await client.get("Node", name, None)
    return any(t["key"] == key and t["effect"] == effect for t in (n.get("spec") or {}).get("taints") or [])


async def _no_taints(client: Client, name: str) -> bool:
    n = await client.get("Node", name, None)
    return not (n.get("spec") or {}).get("taints")


async def _terminating(client: Client, old: list[dict]) -> list[dict]:
    uids = {p["metadata"]["uid"] for p in old}
    items = (await client.list("Pod", "default"))["items"]
    return [p for p in items if p["metadata"]["uid"] in uids and p["metadata"].get("deletionTimestamp")]


async def _evicted(client: Client, old: list[dict]) -> bool:
    for p in old:
        if not await gone(client, "Pod", p["metadata"]["name"]):
            return False
    return True


async def _endpoints(client: Client, name: str, ready: int, not_ready: int = 0) -> dict | None:
    try:
        ep = await client.get("Endpoints", name)
    except ApiError:
        return None
    subsets = ep.get("subsets") or []
    r = sum(len(s.get("addresses") or []) for s in subsets)
    nr = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
    return ep if (r, nr) == (ready, not_ready) else None


async def _job_pods(client: Client, uid: str, exclude: set[str]) -> list[dict] | None:
    ps = [p for p in await pods(client, f"batch.kubernetes.io/controller-uid={uid}")
          if p["metadata"]["name"] not in exclude and p["status"].get("phase") not in ("Succeeded", "Failed")]
    return ps or None


async def _running(client: Client, name: str) -> bool:
    return (await client.get("Pod", name))["status"].get("phase") == "Running"


async def _job_finished(client: Client, name: str) -> dict | None:
    job = await client.get("Job", name)
    conds = (job.get("status") or {}).get("conditions") or []
    return job if any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in conds) else None


async def _ds_nodes(client: Client, nodes: set[str]) -> bool:
    ps = await pods(client, "app=agent")
    targets = []
    for p in ps:
        terms = p["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        targets.append(terms[0]["matchFields"][0]["values"][0])
    return sorted(targets) == sorted(nodes)


async def _ds_status(client: Client, name: str, **want: int) -> dict | None:
    ds = await client.get("DaemonSet", name)
    st = ds.get("status") or {}
    return ds if all(st.get(k) == v for k, v in want.items()) else None


# --- the real pieces together: scheduler, simulated nodes, every controller -----------------------------------


async def test_end_to_end_with_simulated_nodes(plane: ControlPlane, client: Client) -> None:
    from control.scheduler.scheduler import run_scheduler
    from nodes.nodestatus import NodeConfig
    from nodes.pool import Pool, PoolOptions

    assert plane.server is not None and plane.credentials is not None
    sched_client = plane.client("scheduler")
    await sched_client.connect()
    sched = asyncio.create_task(run_scheduler(sched_client, timings=FAST))
    pool = Pool(NodeConfig(name=""), PoolOptions(server=plane.server.address, token=plane.credentials.admin, count=2,
                                                 prefix="sim-", timings=FAST, start_delay=0.05), say=lambda s: None)
    try:
        async with manager(plane):
            await pool.start()
            await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                 "spec": {"selector": {"app": "e2e"}, "ports": [{"port": 80}]}})
            await client.create(deployment("e2e", 3, {"app": "e2e"}))
            await wait_for(lambda: _deploy_status(client, "e2e", availableReplicas=3, updatedReplicas=3), timeout=20,
                           what="deployment available on simulated nodes")
            ps = await pods(client, "app=e2e")
            assert {p["spec"]["nodeName"] for p in ps} <= {"sim-0", "sim-1"}
            for n in ("sim-0", "sim-1"):
                assert (await _node_with_cidr(client, n)) is not None
            await wait_for(lambda: _endpoints(client, "web", ready=3), what="endpoints")
    finally:
        await pool.stop()
        sched.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sched
        await sched_client.close()
