"""Scheduling profiles end to end: a control plane whose scheduler runs a KubeSchedulerConfiguration with
an out-of-tree plugin file; pods pick a profile with spec.schedulerName."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from control.api import meta
from control.client import Client
from control.scheduler import config as sc
from control.scheduler.record import parse as parse_record
from tests.conftest import FAST, running_plane
from tests.helpers import communicate, wait_for

CONFIG = """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
  - schedulerName: default-scheduler
  - schedulerName: bin-packing
    pluginConfig:
      - name: NodeResourcesFit
        args: {scoringStrategy: {type: MostAllocated}}
    plugins:
      score:
        disabled: [{name: NodeResourcesBalancedAllocation}]
  - schedulerName: only-b
    plugins:
      filter:
        enabled: [{name: OnlyNode}]
    pluginConfig:
      - name: OnlyNode
        args: {node: b}
  - schedulerName: broken
    plugins:
      score:
        enabled: [{name: Broken}]
"""

PLUGINS = """
class OnlyNode:
    name = "OnlyNode"
    def __init__(self, args):
        self.node = args["node"]
    def filter(self, pod, node):
        return None if node.name == self.node else f"node(s) are not {self.node}"

class Broken:
    name = "Broken"
    def score(self, pod, node):
        raise KeyError("no such label")
"""


async def make_node(client: Client, name: str) -> None:
    now = meta.now()
    await client.create({
        "apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ready",
                                   "lastHeartbeatTime": now, "lastTransitionTime": now}]}})


def pod(name: str, scheduler: str | None = None, cpu: str = "500m") -> dict:
    spec: dict = {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "60"],
                                  "resources": {"requests": {"cpu": cpu, "memory": "128Mi"}}}]}
    if scheduler:
        spec["schedulerName"] = scheduler
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


async def bound(client: Client, name: str) -> str | None:
    return (await client.get("Pod", name, "default"))["spec"].get("nodeName")


async def test_pods_are_scheduled_by_the_profile_they_name(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "sched.yaml").write_text(CONFIG)
    (tmp_path / "mine.py").write_text(textwrap.dedent(PLUGINS))
    cfg = sc.load(tmp_path / "sched.yaml", [str(tmp_path / "mine.py")])
    async with running_plane(tmp_path / "data", scheduler=True, scheduler_config=cfg, timings=FAST) as plane:
        client = plane.client("test")
        await client.connect()
        try:
            for n in ("a", "b", "c"):
                await make_node(client, n)
            # A node with load: bin-packing piles onto it, the default profile avoids it.
            await client.create({**pod("load", cpu="2"), "spec": {**pod("load", cpu="2")["spec"], "nodeName": "c"}})
            await client.create(pod("packed", "bin-packing"))
            await client.create(pod("spread"))
            await client.create(pod("picky", "only-b"))
            await client.create(pod("broken", "broken"))
            await client.create(pod("elsewhere", "another-scheduler"))
            assert await wait_for(lambda: bound(client, "packed"), what="packed bound") == "c"
            assert await wait_for(lambda: bound(client, "spread"), what="spread bound") in ("a", "b")
            assert await wait_for(lambda: bound(client, "picky"), what="picky bound") == "b"
            picky = await client.get("Pod", "picky", "default")
            record = parse_record(picky["metadata"]["annotations"]["kube-tui.io/scheduling"])
            assert record["profile"] == "only-b"
            assert {n["node"]: [f["reason"] for f in n["filters"] if not f["ok"]] for n in record["nodes"]}["a"] == \
                ["node(s) are not b"]

            async def failed() -> dict | None:
                p = await client.get("Pod", "broken", "default")
                cond = next((c for c in p.get("status", {}).get("conditions") or [] if c["type"] == "PodScheduled"), None)
                return cond if cond and cond.get("reason") == "SchedulerError" else None

            cond = await wait_for(failed, what="the broken plugin's error on the pod")
            assert cond["message"] == ('running Score plugins: plugin "Broken" failed with: KeyError: \'no such label\' '
                                      "(mine.py, line 12)")
            async def failed_events() -> list[dict]:
                return [e for e in (await client.list("Event", "default"))["items"]
                        if e["reason"] == "FailedScheduling" and e["involvedObject"]["name"] == "broken"]

            events = await wait_for(failed_events, what="the FailedScheduling event")
            assert events[0]["source"]["component"] == "broken"
            assert "scheduling default/broken failed: running Score plugins" in caplog.text  # the scheduler's log too
            assert await bound(client, "broken") is None
            # The scheduler is still up: a later pod is scheduled; a pod for another scheduler is left alone.
            await client.create(pod("later"))
            assert await wait_for(lambda: bound(client, "later"), what="a pod after the failure") is not None
            elsewhere = await client.get("Pod", "elsewhere", "default")
            assert not elsewhere["spec"].get("nodeName")
            assert "kube-tui.io/scheduling" not in (elsewhere["metadata"].get("annotations") or {})
        finally:
            await client.close()


async def test_the_scheduler_reads_its_configuration_again_when_the_file_changes(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    conf = tmp_path / "sched.yaml"
    conf.write_text(f"apiVersion: {sc.API_VERSION}\nkind: {sc.KIND}\n")
    (tmp_path / "mine.py").write_text(textwrap.dedent(PLUGINS))
    cfg = sc.load(conf, [str(tmp_path / "mine.py")])
    async with running_plane(tmp_path / "data", scheduler=True, scheduler_config=cfg, timings=FAST) as plane:
        client = plane.client("test")
        await client.connect()
        try:
            for n in ("a", "b"):
                await make_node(client, n)
            await client.create(pod("waiting", "only-b"))
            await client.create(pod("plain-0"))
            assert await wait_for(lambda: bound(client, "plain-0"), what="the default profile works") is not None
            assert await bound(client, "waiting") is None  # no profile names only-b yet
            # A broken edit is reported and changes nothing; the fixed file is taken, the waiting pod scheduled.
            conf.write_text(CONFIG.replace("OnlyNode}", "NoSuchPlugin}", 1))
            await wait_for(lambda: "not reloaded, the previous one stays in use" in caplog.text, what="the bad edit reported")
            await client.create(pod("plain-1"))
            assert await wait_for(lambda: bound(client, "plain-1"), what="still scheduling after a bad edit") is not None
            assert 'FilterPlugin "NoSuchPlugin" does not exist' in caplog.text
            conf.write_text(CONFIG)
            assert await wait_for(lambda: bound(client, "waiting"), timeout=15, what="the new profile's pod") == "b"
        finally:
            await client.close()


async def test_a_pods_events_read_in_the_order_things_happened(tmp_path: Path) -> None:
    from nodes.node import Node
    from nodes.nodestatus import NodeConfig
    from tests.integration.test_kubelet import node_options, phase_is
    from tests.integration.test_kubelet import pod as kubelet_pod

    async with running_plane(tmp_path / "data", scheduler=True, timings=FAST) as plane:
        client = plane.client("test")
        await client.connect()
        n = Node(NodeConfig(name="only"), node_options(plane, tmp_path / "only"), say=lambda s: None)
        await n.start()
        try:
            p = kubelet_pod("ordered", "exec sleep 300", grace=1)
            del p["spec"]["nodeName"]  # the scheduler places it
            await client.create(p)
            await wait_for(phase_is(client, "ordered", "Running"), 15, what="the pod Running")

            async def reasons() -> list[str] | None:
                items = [e for e in (await client.list("Event", "default"))["items"]
                         if e["involvedObject"]["name"] == "ordered"]
                items.sort(key=lambda e: e["metadata"]["name"])  # <object>.<creation time in ns, hex>: as made
                got = [e["reason"] for e in items]
                return got if "Scheduled" in got and "Started" in got else None

            got = await wait_for(reasons, 10, what="the Scheduled and Started events")
            assert got[0] == "Scheduled", got  # describe pod lists it first, as kubectl does
        finally:
            await n.stop()
            await client.close()


async def test_a_second_scheduler_may_not_run_the_control_planes_own_profiles(tmp_path: Path) -> None:
    import asyncio
    import sys

    from tests.helpers import kube_tui_env

    async with running_plane(tmp_path / "data", scheduler=True, timings=FAST) as plane:
        assert plane.server is not None and plane.credentials is not None
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tui.cli", "scheduler", "--server", plane.server.address,
            "--token", plane.credentials.admin, env=kube_tui_env(tmp_path), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, stdin=asyncio.subprocess.DEVNULL)
        _, err = await communicate(proc, timeout=30)
        assert proc.returncode == 2
        assert "the control plane's own scheduler already runs profile(s) default-scheduler" in err.decode()
