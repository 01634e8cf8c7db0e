"""Container lifecycle hooks on a process node: postStart right after the start (a failure kills the container:
FailedPostStartHook, PostStartHookError, a restart), preStop before the SIGTERM and within the grace period (cut
off past it, with killContainer's 2 s), exec in the container's own view, httpGet to a named port with headers,
sleep, and the docs' lifecycle-events example with the built-in nginx's `nginx -s`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from control.client import Client
from control.plane import ControlPlane
from nodes.node import Node
from tests.helpers import gone, wait_for
from tests.integration.test_kubelet import phase_is
from tests.integration.test_volumes import events, logs_of, process_node

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


@pytest.fixture
async def node(plane: ControlPlane, tmp_path: Path) -> AsyncIterator[Node]:
    async with process_node(plane, tmp_path) as n:
        yield n


def pod(name: str, containers: list[dict[str, Any]], grace: int = 10, **spec: Any) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": grace, "containers": containers, **spec}}


def stamps(path: Path) -> dict[str, float]:
    """What the hooks and TERM traps wrote: `<what> <time>` lines."""
    out = {}
    for line in path.read_text().splitlines():
        what, _, when = line.partition(" ")
        out[what] = float(when)
    return out


async def test_the_docs_lifecycle_events_example_with_the_built_in_nginx(client: Client, node: Node) -> None:
    """https://k8s.io/examples/pods/lifecycle-events.yaml, its postStart writing into an emptyDir (the container
    shares the node's /usr/share until containers get a root filesystem of their own); the preStop as in the docs,
    `nginx -s quit` and killall."""
    await client.create(pod("lifecycle-demo", [{
        "name": "lifecycle-demo-container", "image": "nginx", "ports": [{"containerPort": 10431}],
        "volumeMounts": [{"name": "share", "mountPath": "/lifecycle-demo"}],
        "lifecycle": {
            "postStart": {"exec": {"command": ["/bin/sh", "-c",
                                               "echo Hello from the postStart handler > /lifecycle-demo/message"]}},
            "preStop": {"exec": {"command": ["/bin/sh", "-c",
                                             "nginx -s quit; while killall -0 nginx; do sleep 1; done"]}}}}],
        grace=30, volumes=[{"name": "share", "emptyDir": {}}]))
    await wait_for(phase_is(client, "lifecycle-demo", "Running"), 20, what="Running")
    out = await client.exec("lifecycle-demo", ["cat", "/lifecycle-demo/message"])
    assert out == {"exitCode": 0, "output": "Hello from the postStart handler\n"}
    assert not os.path.exists("/lifecycle-demo")
    # The image's nginx command signals the container's own nginx.
    out = await client.exec("lifecycle-demo", ["nginx", "-s", "reload"])
    assert out["exitCode"] == 0 and "signal process started" in out["output"], out

    async def reloaded() -> bool:
        return "signal 1 (SIGHUP) received, reconfiguring" in await logs_of(client, "lifecycle-demo")

    await wait_for(reloaded, 10, what="nginx to get SIGHUP")
    # The preStop's nginx -s quit ends nginx well before the grace period's 30 s.
    began = time.monotonic()
    await client.delete("Pod", "lifecycle-demo")
    await wait_for(lambda: gone(client, "Pod", "lifecycle-demo"), 15, what="the pod to go")
    assert time.monotonic() - began < 10


async def test_nginx_s_quit_ends_the_container_s_nginx(client: Client, node: Node) -> None:
    await client.create(pod("quitter", [{"name": "web", "image": "nginx", "ports": [{"containerPort": 10432}]}],
                        grace=1))
    await wait_for(phase_is(client, "quitter", "Running"), 20, what="Running")
    out = await client.exec("quitter", ["sh", "-c", "nginx -s quit"])
    assert out["exitCode"] == 0, out

    async def restarted() -> dict | None:
        got = await client.get("Pod", "quitter")
        cs = got["status"]["containerStatuses"][0]
        return cs if cs["restartCount"] >= 1 else None

    cs = await wait_for(restarted, 15, what="the container to exit and be restarted")
    assert cs["lastState"]["terminated"]["exitCode"] == 0
    previous = await client.request("logs", {"name": "quitter", "namespace": "default", "previous": True})
    assert "signal 3 (SIGQUIT) received, shutting down" in previous["text"]


async def test_a_failed_post_start_kills_the_container_and_it_is_restarted(client: Client, node: Node) -> None:
    script = "echo out; echo err >&2; exit 3"
    await client.create(pod("hook-fails", [{
        "name": "main", "image": "busybox", "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.05; done"],
        "lifecycle": {"postStart": {"exec": {"command": ["sh", "-c", script]}}}}], grace=2))
    seen: list[dict] = []

    async def restarted() -> dict | None:
        got = await client.get("Pod", "hook-fails")
        cs = ((got.get("status") or {}).get("containerStatuses") or [{}])[0]
        seen.append(cs.get("state") or {})
        return got if cs.get("restartCount", 0) >= 2 else None

    got = await wait_for(restarted, 20, what="two restarts")
    uid = got["metadata"]["uid"]
    # Never Running: the kubelet's sync waited for the hook, then killed the container.
    assert not any("running" in state for state in seen)
    errors = [state["waiting"] for state in seen if (state.get("waiting") or {}).get("reason") == "PostStartHookError"]
    assert errors, seen
    assert errors[0]["message"] == (
        f"Exec lifecycle hook ([sh -c {script}]) for Container \"main\" in Pod \"hook-fails_default({uid})\" failed - "
        f"error: command 'sh -c {script}' exited with 3: err\n, message: \"out\\nerr\\n\"")
    last = got["status"]["containerStatuses"][0]["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (0, "Completed")  # its TERM trap exited 0
    evs = {(e["reason"], e["type"], e["message"]) for e in await events(client, "hook-fails")}
    assert ("FailedPostStartHook", "Warning", "PostStartHook failed") in evs
    assert ("Killing", "Normal", "FailedPostStartHook") in evs


async def test_pre_stop_hooks_run_before_sigterm_and_within_the_grace_period(client: Client, node: Node,
                                                                             tmp_path: Path) -> None:
    """Two containers, one with an exec preStop of 2 s, one with a sleep preStop of 2 s: each container's TERM
    comes after its hook. The hooks and traps write into a hostPath the test reads once the pod is gone."""
    shared = tmp_path / "shared"

    def trapping(name: str, pre_stop: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "image": "busybox",
                "command": ["sh", "-c", f"trap 'echo {name}-term $(date +%s.%N) >> /shared/log; exit 0' TERM; "
                                        "while true; do sleep 0.05; done"],
                "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
                "lifecycle": {"preStop": pre_stop}}

    await client.create(pod("stopper", [
        trapping("exec", {"exec": {"command": ["sh", "-c", "echo exec-hook $(date +%s.%N) >> /shared/log; sleep 2; "
                                                           "echo exec-hook-end $(date +%s.%N) >> /shared/log"]}}),
        trapping("sleep", {"sleep": {"seconds": 2}})],
        grace=10, volumes=[{"name": "shared", "hostPath": {"path": str(shared), "type": "DirectoryOrCreate"}}]))
    await wait_for(phase_is(client, "stopper", "Running"), 20, what="Running")
    deleted = time.time()
    await client.delete("Pod", "stopper")
    await wait_for(lambda: gone(client, "Pod", "stopper"), 20, what="the pod to go")
    at = stamps(shared / "log")
    assert at["exec-hook"] < at["exec-hook-end"] <= at["exec-term"]
    assert at["exec-term"] - at["exec-hook"] >= 2
    assert at["sleep-term"] - deleted >= 2
    # Both well within the 10 s grace period: the SIGTERM came once the hook was over, not at its end.
    assert max(at["exec-term"], at["sleep-term"]) - deleted < 6
    assert not any(e["reason"] == "FailedPreStopHook" for e in await events(client, "stopper"))


async def test_a_pre_stop_longer_than_the_grace_period_is_cut_off(client: Client, node: Node, tmp_path: Path) -> None:
    """A 1 s grace period, a preStop that would take 30 s and a container that ignores SIGTERM: the SIGTERM comes
    after 1 s, the SIGKILL 2 s later (killContainer's minimum), and the hook dies with the container."""
    shared = tmp_path / "shared"
    await client.create(pod("slow-stop", [{
        "name": "main", "image": "busybox",
        "command": ["sh", "-c", "trap 'echo term $(date +%s.%N) >> /shared/log' TERM; "
                                "while true; do sleep 0.05; done"],
        "volumeMounts": [{"name": "shared", "mountPath": "/shared"}],
        "lifecycle": {"preStop": {"exec": {"command": [
            "sh", "-c", "echo hook $(date +%s.%N) >> /shared/log; sleep 30; echo hook-end 0 >> /shared/log"]}}}}],
        grace=1, volumes=[{"name": "shared", "hostPath": {"path": str(shared), "type": "DirectoryOrCreate"}}]))
    await wait_for(phase_is(client, "slow-stop", "Running"), 20, what="Running")
    deleted = time.time()
    await client.delete("Pod", "slow-stop")
    await wait_for(lambda: gone(client, "Pod", "slow-stop"), 15, what="the pod to go")
    ended = time.time()
    at = stamps(shared / "log")
    assert "hook-end" not in at
    assert 1 <= at["term"] - deleted < 2.5
    assert 3 <= ended - deleted < 8
    evs = {(e["reason"], e["type"], e["message"]) for e in await events(client, "slow-stop")}
    assert ("FailedPreStopHook", "Warning", "PreStopHook failed") in evs


async def test_http_get_hook_to_a_named_port_with_headers(client: Client, node: Node) -> None:
    """postStart httpGet: an explicit host, a port named in the container's ports, a path and headers; any answer
    (even a 404) is a success, as Go's client sees it."""
    requests: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await client.create(pod("http-hook", [{
            "name": "main", "image": "busybox", "command": ["sleep", "30"],
            "ports": [{"name": "hook", "containerPort": port}],
            "lifecycle": {"postStart": {"httpGet": {"host": "127.0.0.1", "port": "hook", "path": "/started",
                                                    "httpHeaders": [{"name": "X-Hook", "value": "post-start"}]}}}}],
            grace=1))
        await wait_for(phase_is(client, "http-hook", "Running"), 20, what="Running")
    finally:
        server.close()
        await server.wait_closed()
    head = requests[0].decode()
    assert head.startswith("GET /started HTTP/1.1\r\n")
    assert "\r\nUser-Agent: kube-lifecycle/1.30\r\n" in head and "\r\nX-Hook: post-start\r\n" in head
    assert not any(e["reason"] == "FailedPostStartHook" for e in await events(client, "http-hook"))


async def test_a_tcp_socket_hook_is_not_run_and_fails_as_the_kubelet_fails_it(client: Client, node: Node) -> None:
    await client.create(pod("tcp-hook", [{
        "name": "main", "image": "busybox", "command": ["sleep", "30"],
        "lifecycle": {"postStart": {"tcpSocket": {"port": 10433}}}}], grace=1, restartPolicy="Never"))
    got = await wait_for(phase_is(client, "tcp-hook", "Failed"), 20, what="Failed")
    term = got["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 143  # SIGTERM: killed after the hook failed
    evs = {(e["reason"], e["message"]) for e in await events(client, "tcp-hook")}
    assert ("FailedPostStartHook", "PostStartHook failed") in evs
    with contextlib.suppress(Exception):
        await client.delete("Pod", "tcp-hook")
