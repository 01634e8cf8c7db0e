"""Pod volumes mounted for real on a process node: configMap, secret, emptyDir shared by two containers,
hostPath, readOnly, subPath, a missing ConfigMap (FailedMount, then Running), exec in the container's mounts,
and nothing left mounted or created on the host."""

from __future__ import annotations

import base64
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from control.client import Client
from control.errors import ApiError
from control.plane import ControlPlane
from nodes.node import Node
from nodes.nodestatus import NodeConfig
from tests.helpers import wait_for
from tests.integration.test_kubelet import node_options, phase_is

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def mountinfo(below: Path | None = None) -> set[str]:
    """The host's mount points (this test's process is in the host's mount namespace); with `below`, only those
    inside that directory (tests in other workers mount and unmount their own at the same time)."""
    with open("/proc/self/mountinfo") as f:
        points = {line.split()[4] for line in f}
    if below is None:
        return points
    return {p for p in points if p == str(below) or p.startswith(f"{below}/")}


@contextlib.asynccontextmanager
async def process_node(plane: ControlPlane, tmp_path: Path, **options: Any) -> AsyncIterator[Node]:
    """node-1, a process node in this test's own process (`options`: NodeOptions'), stopped on the way out; every
    mount was made in a container's own namespace or is gone with its pod, so the host's mount table is as it was."""
    before = mountinfo(tmp_path)
    n = Node(NodeConfig(name="node-1", cpu="2", memory="4Gi", pods=20),
             node_options(plane, tmp_path / "node-1", **options), say=lambda s: None)
    await n.start()
    try:
        yield n
    finally:
        await n.stop()
    assert mountinfo(tmp_path) == before


@pytest.fixture
async def node(plane: ControlPlane, tmp_path: Path) -> AsyncIterator[Node]:
    async with process_node(plane, tmp_path) as n:
        yield n
    # nor any mountPath
    for path in ("/etc/config", "/cache", "/etc/secret-volume", "/usr/share/nginx", "/data", "/ro"):
        assert not os.path.exists(path), path


def pod(name: str, containers: list[dict[str, Any]], volumes: list[dict[str, Any]], **spec: Any) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 1, "containers": containers,
                     "volumes": volumes, **spec}}


def sh(name: str, script: str, *mounts: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "image": "busybox", "command": ["sh", "-c", script], "volumeMounts": list(mounts)}


async def logs_of(client: Client, name: str, container: str | None = None) -> str:
    body: dict[str, Any] = {"name": name, "namespace": "default"}
    if container:
        body["container"] = container
    try:
        return str((await client.request("logs", body)).get("text", ""))
    except ApiError:
        return ""


def logs_say(client: Client, name: str, text: str, container: str | None = None) -> Any:
    async def check() -> str | None:
        out = await logs_of(client, name, container)
        return out if text in out else None
    return check


async def events(client: Client, name: str) -> list[dict]:
    return [e for e in (await client.list("Event", "default"))["items"]
            if (e.get("involvedObject") or {}).get("name") == name]


async def test_configmap_volume_files_update_and_the_atomic_layout(client: Client, node: Node,
                                                                   tmp_path: Path) -> None:
    """kubernetes.io's "Add ConfigMap data to a Volume": each key a file under the mountPath, and an updated
    ConfigMap reaches the file."""
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "special-config"},
                         "data": {"SPECIAL_LEVEL": "very", "SPECIAL_TYPE": "charm"}})
    await client.create(pod("cm", [sh("main", "ls /etc/config/; cat /etc/config/SPECIAL_LEVEL; echo; "
                                      "while true; do sleep 0.1; done",
                                      {"name": "config-volume", "mountPath": "/etc/config"})],
                            [{"name": "config-volume", "configMap": {"name": "special-config"}}]))
    await wait_for(logs_say(client, "cm", "very"), 20, what="the file's value in the logs")
    assert (await logs_of(client, "cm")).startswith("SPECIAL_LEVEL\nSPECIAL_TYPE\nvery\n")
    got = await client.get("Pod", "cm")
    volume = tmp_path / "node-1" / "pods" / got["metadata"]["uid"] / "volumes" / "kubernetes.io~configmap" / \
        "config-volume"
    assert os.readlink(volume / "SPECIAL_LEVEL") == "..data/SPECIAL_LEVEL"
    first = os.readlink(volume / "..data")
    assert first.startswith("..20") and (volume / first / "SPECIAL_LEVEL").read_text() == "very"
    # the container sees the files read-only, and the host never got /etc/config
    out = await client.exec("cm", ["sh", "-c", "cat /etc/config/SPECIAL_TYPE; echo x > /etc/config/new"])
    assert out["exitCode"] != 0 and out["output"].startswith("charm") and "Read-only file system" in out["output"]

    cm = await client.get("ConfigMap", "special-config")
    cm["data"]["SPECIAL_LEVEL"] = "extremely"
    await client.update(cm)

    async def updated() -> bool:
        out = await client.exec("cm", ["cat", "/etc/config/SPECIAL_LEVEL"])
        return out["output"] == "extremely"

    await wait_for(updated, 10, what="the updated value in the mounted file")
    assert os.readlink(volume / "..data") != first and not (volume / first).exists()
    await client.delete("Pod", "cm")
    await wait_for(lambda: not volume.exists(), 10, what="the pod's volume directory to go")


async def test_secret_volume_is_decoded_with_modes_and_items(client: Client, node: Node) -> None:
    await client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "test-secret"},
                         "data": {"username": base64.b64encode(b"my-app").decode(),
                                  "password": base64.b64encode(b"39528$vdg7Jb").decode()}})
    await client.create(pod("sec", [sh("main", "cd /etc/secret-volume; for f in *; do echo \"$f $(stat -L -c %a $f) "
                                       "$(cat $f)\"; done; cat /etc/items/my-group/my-username; echo; "
                                       "stat -L -c %a /etc/items/my-group/my-username; sleep 30",
                                       {"name": "secret-volume", "mountPath": "/etc/secret-volume"},
                                       {"name": "items", "mountPath": "/etc/items"})],
                            [{"name": "secret-volume", "secret": {"secretName": "test-secret"}},
                             {"name": "items", "secret": {"secretName": "test-secret", "items": [
                                 {"key": "username", "path": "my-group/my-username", "mode": 0o400}]}}]))
    out = await wait_for(logs_say(client, "sec", "\n400\n"), 20, what="the secret's files")
    assert out == "password 644 39528$vdg7Jb\nusername 644 my-app\nmy-app\n400\n"


async def test_empty_dir_shared_by_two_containers(client: Client, node: Node) -> None:
    """kubernetes.io's "Communicate Between Containers in the Same Pod Using a Shared Volume": debian writes
    index.html into the emptyDir, nginx serves it from /usr/share/nginx/html."""
    await client.create(pod("two-containers", [
        {"name": "nginx-container", "image": "nginx", "ports": [{"containerPort": 18080}],
         "volumeMounts": [{"name": "shared-data", "mountPath": "/usr/share/nginx/html"}]},
        sh("debian-container", "echo Hello from the debian container > /pod-data/index.html; sleep 30",
           {"name": "shared-data", "mountPath": "/pod-data"})],
        [{"name": "shared-data", "emptyDir": {}}], restartPolicy="Never"))
    await wait_for(phase_is(client, "two-containers", "Running"), 20, what="Running")

    async def served() -> bool:
        out = await client.exec("two-containers", ["python3", "-c", (
            "import os, urllib.request;"
            "print(urllib.request.urlopen('http://%s:18080/' % os.environ['POD_IP']).read().decode(), end='')")],
            container="debian-container")
        return out["output"] == "Hello from the debian container\n"

    await wait_for(served, 15, what="nginx to serve the file the other container wrote")


async def test_host_path_read_only_and_sub_path(client: Client, node: Node, tmp_path: Path) -> None:
    host = tmp_path / "made-by-kubelet" / "data"
    await client.create(pod("hp", [sh("main", "echo from-pod > /data/out; echo x > /ro/f || echo ro-refused;"
                                      " echo sub > /sub/in-sub; ls /data; sleep 30",
                                      {"name": "host", "mountPath": "/data"},
                                      {"name": "host", "mountPath": "/ro", "readOnly": True},
                                      {"name": "host", "mountPath": "/sub", "subPath": "nested/dir"})],
                            [{"name": "host", "hostPath": {"path": str(host), "type": "DirectoryOrCreate"}}]))
    await wait_for(logs_say(client, "hp", "out"), 20, what="the container's writes")
    assert await logs_of(client, "hp") == "sh: 1: cannot create /ro/f: Read-only file system\nro-refused\nnested\nout\n"
    assert (host / "out").read_text() == "from-pod\n" and (host / "nested" / "dir" / "in-sub").read_text() == "sub\n"
    assert not (host / "f").exists()
    # a File that is not there: the kubelet's check fails, as FailedMount
    await client.create(pod("hp-file", [sh("main", "true", {"name": "f", "mountPath": "/f"})],
                            [{"name": "f", "hostPath": {"path": str(tmp_path / "absent"), "type": "File"}}]))

    async def failed_mount() -> str | None:
        return next((e["message"] for e in await events(client, "hp-file") if e["reason"] == "FailedMount"), None)

    message = await wait_for(failed_mount, 10, what="FailedMount")
    assert message == f'MountVolume.SetUp failed for volume "f" : hostPath {tmp_path / "absent"} doesn\'t exist'


async def test_missing_configmap_fails_the_mount_until_it_is_created(client: Client, node: Node) -> None:
    await client.create(pod("waits", [sh("main", "cat /etc/config/k; sleep 30",
                                         {"name": "config", "mountPath": "/etc/config"})],
                            [{"name": "config", "configMap": {"name": "x"}}]))

    async def failed_mount() -> list[dict] | None:
        found = [e for e in await events(client, "waits") if e["reason"] == "FailedMount"]
        return found or None

    found = await wait_for(failed_mount, 10, what="a FailedMount event")
    assert found[0]["type"] == "Warning"
    assert found[0]["message"] == 'MountVolume.SetUp failed for volume "config" : configmap "x" not found'

    async def creating() -> dict | None:
        # the status goes out on its own, after the event or before it: wait for it, not for a moment
        got = await client.get("Pod", "waits")
        statuses = (got.get("status") or {}).get("containerStatuses") or [{}]
        return got if statuses[0].get("state") == {"waiting": {"reason": "ContainerCreating"}} else None

    got = await wait_for(creating, 10, what="the container waiting in ContainerCreating")
    assert got["status"]["phase"] == "Pending"
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"k": "v"}})
    await wait_for(phase_is(client, "waits", "Running"), 10, what="Running once the ConfigMap exists")
    await wait_for(logs_say(client, "waits", "v"), 10, what="the file")


async def test_a_sub_path_leading_out_of_its_volume_is_a_config_error_and_nothing_is_made(client: Client, node: Node,
                                                                                          tmp_path: Path) -> None:
    """subPathExpr expanding to an absolute path, and a subPath through a file an init container left in the
    emptyDir: each container waits in CreateContainerConfigError with the kubelet's message, and the node made
    nothing outside the volume (it made the absolute path on the host before, and the file case killed the
    pod's worker)."""
    outside = tmp_path / "outside" / "made"
    c = sh("main", "sleep 30", {"name": "cache", "mountPath": "/c", "subPathExpr": "$(TARGET)"})
    c["env"] = [{"name": "TARGET", "value": str(outside)}]
    await client.create(pod("abs", [c], [{"name": "cache", "emptyDir": {}}]))
    await client.create(pod("through-file", [sh("main", "sleep 30", {"name": "cache", "mountPath": "/c",
                                                                      "subPath": "f/x"})],
                            [{"name": "cache", "emptyDir": {}}],
                            initContainers=[sh("init", "echo > /cache/f", {"name": "cache", "mountPath": "/cache"})]))

    def waiting(name: str) -> Any:
        async def check() -> dict | None:
            got = await client.get("Pod", name)
            state = ((got.get("status") or {}).get("containerStatuses") or [{}])[0].get("state") or {}
            return state["waiting"] if (state.get("waiting") or {}).get("reason") == "CreateContainerConfigError" \
                else None
        return check

    got = await wait_for(waiting("abs"), 20, what="abs in CreateContainerConfigError")
    assert got["message"] == f"error SubPath `{outside}` must not be an absolute path"
    got = await wait_for(waiting("through-file"), 20, what="through-file in CreateContainerConfigError")
    assert got["message"] == 'failed to prepare subPath for volumeMount "cache" of container "main"'
    assert not (tmp_path / "outside").exists()


async def test_a_pod_deleted_while_its_node_was_down_leaves_no_volume_files(plane: ControlPlane, client: Client,
                                                                            tmp_path: Path) -> None:
    """The restarted kubelet never hears of the pod: it finds the pod's directory (a Secret's files in it)
    orphaned when it starts, and removes it."""
    await client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                         "data": {"password": base64.b64encode(b"s3cr3t").decode()}})
    await client.create(pod("sec", [sh("main", "sleep 30", {"name": "s", "mountPath": "/etc/s"})],
                            [{"name": "s", "secret": {"secretName": "s"}}]))
    first = Node(NodeConfig(name="node-1", cpu="2", memory="4Gi", pods=20), node_options(plane, tmp_path / "node-1"),
                 say=lambda s: None)
    await first.start()
    try:
        got = await wait_for(phase_is(client, "sec", "Running"), 20, what="Running")
    finally:
        await first.stop()
    secret = tmp_path / "node-1" / "pods" / got["metadata"]["uid"] / "volumes" / "kubernetes.io~secret" / "s"
    assert (secret / "password").read_text() == "s3cr3t"  # the node stopped with it there
    await client.delete("Pod", "sec", grace_period=0)
    second = Node(NodeConfig(name="node-1", cpu="2", memory="4Gi", pods=20), node_options(plane, tmp_path / "node-1"),
                  say=lambda s: None)
    await second.start()
    try:
        assert not (tmp_path / "node-1" / "pods" / got["metadata"]["uid"]).exists()
    finally:
        await second.stop()


async def test_nginx_serves_an_index_html_mounted_by_sub_path(client: Client, node: Node) -> None:
    """The common configMap + subPath: index.html alone at /usr/share/nginx/html/index.html is what nginx serves."""
    await client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "page"},
                         "data": {"index.html": "from the configmap\n"}})
    await client.create(pod("web", [
        {"name": "nginx", "image": "nginx", "ports": [{"containerPort": 18081}],
         "volumeMounts": [{"name": "page", "mountPath": "/usr/share/nginx/html/index.html",
                           "subPath": "index.html"}]}],
        [{"name": "page", "configMap": {"name": "page"}}]))
    await wait_for(phase_is(client, "web", "Running"), 20, what="Running")

    async def served() -> bool:
        out = await client.exec("web", ["python3", "-c", (
            "import os, urllib.request;"
            "print(urllib.request.urlopen('http://%s:18081/' % os.environ['POD_IP']).read().decode(), end='')")])
        return out["output"] == "from the configmap\n"

    await wait_for(served, 15, what="nginx to serve the configMap's index.html")
