"""`kube-tui wait` against a real API server (and a node, for a pod to become Ready): what it prints, its exit
codes, and that it learns of changes on its watch (each change is made only once its subscription is live)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from control.api import kinds
from control.client import Client
from control.plane import ControlPlane
from tests.helpers import communicate, kube_tui_env, wait_for
from tests.integration.test_imperative import cli
from tests.integration.test_kubelet import pod
from tests.integration.test_rest import running_node

pytestmark = pytest.mark.timeout(90)


class Waiting:
    """A `kube-tui wait` running in the background."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    async def result(self) -> tuple[int, str, str]:
        out, err = await communicate(self.proc, timeout=60)
        return self.proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def start(plane: ControlPlane, tmp_path: Path) -> AsyncIterator:
    """start(*args): a `kube-tui wait ...` process once it watches (it has subscribed to its kind's topic)."""
    running: list[asyncio.subprocess.Process] = []
    assert plane.server is not None and plane.credentials is not None
    server, token = plane.server.address, plane.credentials.admin

    async def begin(kind: str, *args: str) -> Waiting:
        hub = plane.server.hub  # type: ignore[union-attr]
        topic = kinds.lookup(kind).topic()
        before = hub.subscribers.get(topic, 0)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tui.cli", "wait", "--server", server, "--token", token, *args,
            env=kube_tui_env(tmp_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL)
        running.append(proc)
        await wait_for(lambda: hub.subscribers.get(topic, 0) > before or proc.returncode is not None, 20,
                       what=f"kube-tui wait {' '.join(args)} watching")
        return Waiting(proc)

    yield begin
    for proc in running:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def test_a_pod_becomes_ready_while_waiting(plane: ControlPlane, client: Client, tmp_path: Path, start) -> None:
    """The pod is not scheduled when the wait begins; it is bound to the node only once the wait watches."""
    async with running_node(plane, tmp_path / "node-1"):
        spec = pod("web-1", "exec sleep 300")
        del spec["spec"]["nodeName"]
        spec["metadata"]["labels"] = {"app": "web"}
        await client.create(spec)
        waiting = await start("Pod", "--for=condition=Ready", "pod/web-1", "--timeout=60s")
        await client.bind("default", "web-1", "node-1")
        assert await waiting.result() == (0, "pod/web-1 condition met\n", "")
        # now met at once: a selector's objects, a jsonpath, -o name
        assert await cli(plane, tmp_path, "wait", "--for=jsonpath={.status.phase}=Running", "pods", "-l", "app=web",
                         "-o", "name") == (0, "pod/web-1\n", "")


async def test_timeouts_and_failures_are_said_as_kubectl_says_them(plane: ControlPlane, client: Client,
                                                                   tmp_path: Path) -> None:
    spec = pod("web-1", "exec sleep 300")
    del spec["spec"]["nodeName"]  # no scheduler: it stays Pending, never Ready
    await client.create(spec)
    assert await cli(plane, tmp_path, "wait", "--for=condition=Ready", "pod/web-1", "--timeout=1s") == \
        (1, "", "error: timed out waiting for the condition on pods/web-1\n")
    assert await cli(plane, tmp_path, "wait", "--for=condition=Ready", "pod/web-1", "--timeout=0") == \
        (1, "", "error: condition not met for pods/web-1\n")
    # each object in turn: what is met is printed, the failures follow, exit 1
    assert await cli(plane, tmp_path, "wait", "--for=jsonpath={.status.phase}=Pending", "pods", "nope", "web-1") == \
        (1, "pod/web-1 condition met\n", 'Error from server (NotFound): pods "nope" not found\n')
    assert await cli(plane, tmp_path, "wait", "--for=condition=Ready", "pods", "web-1", "web-1", "--timeout=1s") == \
        (1, "", "timed out waiting for the condition on pods/web-1\n" * 2)  # several: kubectl's list, no "error: "
    assert await cli(plane, tmp_path, "wait", "--for=condition=Ready", "pods", "-l", "app=nope") == \
        (1, "", "error: no matching resources found\n")
    manifest = tmp_path / "web.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-1\n")
    assert await cli(plane, tmp_path, "wait", "--for=condition=Ready", "-f", str(manifest),
                     "--timeout=1s") == (1, "", "error: timed out waiting for the condition on pods/web-1\n")


async def test_delete_and_create_are_seen_on_the_watch(plane: ControlPlane, client: Client, tmp_path: Path,
                                                       start) -> None:
    held = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    await client.create(held)
    await client.delete("ConfigMap", "held")  # it stays, terminating, until its finalizer goes
    assert await cli(plane, tmp_path, "wait", "--for=delete", "cm/held", "--timeout=0") == \
        (1, "", "error: condition not met for configmaps/held\n")
    waiting = await start("ConfigMap", "--for=delete", "cm/held", "configmap/never-was", "--timeout=30s")
    await client.patch("ConfigMap", "held", {"metadata": {"finalizers": None}})
    assert await waiting.result() == (0, "configmap/held condition met\n", "")  # what never was is not waited on

    waiting = await start("ConfigMap", "--for=create", "cm/later", "--timeout=30s")
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later"}})
    assert await waiting.result() == (0, "configmap/later condition met\n", "")
    assert await cli(plane, tmp_path, "wait", "--for=create", "cm/missing", "--timeout=1s") == \
        (1, "", "error: timed out waiting for the condition\n")

    # deleted meanwhile, then made again: a condition wait goes on, and sees the new one
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}})
    waiting = await start("ConfigMap", "--for=jsonpath={.data.x}=y", "cm/c1", "--timeout=30s")
    await client.delete("ConfigMap", "c1")
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}, "data": {"x": "y"}})
    assert await waiting.result() == (0, "configmap/c1 condition met\n", "")


@pytest.mark.parametrize(("args", "error"), [
    (["--for=foo", "pod/web"], 'error: unrecognized condition: "foo"\n'),
    (["pod/web"], 'error: unrecognized condition: ""\n'),
    (["--for=condition=Ready", "pod/web", "--timeout=5"],
     'error: invalid argument "5" for "--timeout" flag: time: missing unit in duration "5"\n'
     "See 'kube-tui wait --help' for usage.\n"),
    (["--for=condition=Ready", "pod/web", "-o", "wide"],
     'error: unable to match a printer suitable for the output format "wide", allowed formats are: '
     "json,jsonpath,name,yaml\n"),
    (["--for=jsonpath={.status.phase", "pod/web"],
     "error: unexpected path string, expected a 'name1.name2' or '.name1.name2' or '{name1.name2}' or "
     "'{.name1.name2}'\n"),
    (["--for=condition=Ready", "pods"], "error: resource(s) were provided, but no name was specified\n"),
])
async def test_bad_input_gets_kubectls_error(plane: ControlPlane, tmp_path: Path, args: list[str], error: str) -> None:
    assert await cli(plane, tmp_path, "wait", *args) == (1, "", error)
