"""Ephemeral containers (kubectl debug): added through pods/ephemeralcontainers only, run once by the pod's
kubelet beside its own containers and never restarted, reported in status.ephemeralContainerStatuses; what
Kubernetes refuses (on create, changing one, the fields a debug container may not have) is refused in its words."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import aiohttp
import pytest

from control.plane import ControlPlane
from tests.helpers import wait_for
from tests.integration import test_rest as base
from tests.integration.test_imperative import cli
from tests.integration.test_rest import call, running_pod

rest_plane, http, rest_node = base.rest_plane, base.http, base.rest_node
pytestmark = pytest.mark.timeout(90)

PODS = "/api/v1/namespaces/default/pods"
SMP = "application/strategic-merge-patch+json"  # what kubectl debug sends


def debugger(name: str, script: str, **extra: object) -> dict:
    return {"name": name, "image": "busybox", "command": ["sh", "-c", script], "terminationMessagePolicy": "File",
            **extra}


async def ephemeral_state(http: aiohttp.ClientSession, pod: str, name: str) -> dict:
    _, p = await call(http, "GET", f"{PODS}/{pod}")
    for cs in p["status"].get("ephemeralContainerStatuses") or []:
        if cs["name"] == name:
            return dict(cs["state"], restartCount=cs["restartCount"], ready=cs["ready"])
    return {}


async def test_an_ephemeral_container_runs_once_in_a_running_pod(rest_plane: ControlPlane, rest_node: object,
                                                                 http: aiohttp.ClientSession) -> None:
    await running_pod(http, "web", "exec sleep 300")
    code, pod = await call(http, "PATCH", f"{PODS}/web/ephemeralcontainers",
                           {"spec": {"ephemeralContainers": [debugger("debugger", "echo debug in $HOSTNAME; exit 3")]}},
                           ctype=SMP)
    assert code == 200, pod
    ec = pod["spec"]["ephemeralContainers"][0]
    assert ec["name"] == "debugger" and ec["terminationMessagePath"] == "/dev/termination-log"  # defaulted

    async def finished() -> dict:
        state = await ephemeral_state(http, "web", "debugger")
        return state if "terminated" in state else {}
    state = await wait_for(finished, 20, what="the ephemeral container's end")
    # never restarted (exit code 3 would restart a container of this restartPolicy: Always pod), never ready
    assert (state["terminated"]["exitCode"], state["restartCount"], state["ready"]) == (3, 0, False)
    async with http.get(f"{PODS}/web/log?container=debugger") as r:
        assert r.status == 200 and await r.text() == "debug in web\n"
    _, p = await call(http, "GET", f"{PODS}/web")
    assert p["status"]["phase"] == "Running" and p["status"]["containerStatuses"][0]["restartCount"] == 0
    assert {c["type"]: c["status"] for c in p["status"]["conditions"]}["Ready"] == "True"
    code, got = await call(http, "GET", f"{PODS}/web/ephemeralcontainers")
    assert code == 200 and got["spec"]["ephemeralContainers"][0]["name"] == "debugger"

    # A second one goes beside it; the first may be neither changed nor removed.
    code, status = await call(http, "PATCH", f"{PODS}/web/ephemeralcontainers",
                              {"spec": {"ephemeralContainers": [debugger("debugger", "echo changed")]}}, ctype=SMP)
    assert code == 422 and status["message"] == ('Pod "web" is invalid: spec.ephemeralContainers: Forbidden: existing '
                                                 'ephemeral containers "debugger" may not be changed')
    code, status = await call(http, "PUT", f"{PODS}/web/ephemeralcontainers", dict(p, spec=dict(p["spec"], ephemeralContainers=[])))
    assert code == 422 and 'existing ephemeral containers "debugger" may not be removed' in status["message"]
    code, pod = await call(http, "PATCH", f"{PODS}/web/ephemeralcontainers",
                           {"spec": {"ephemeralContainers": [debugger("second", "sleep 300")]}}, ctype=SMP)
    assert code == 200 and [c["name"] for c in pod["spec"]["ephemeralContainers"]] == ["debugger", "second"]

    async def second_running() -> bool:
        return "running" in await ephemeral_state(http, "web", "second")
    await wait_for(second_running, 20, what="the second ephemeral container running")

    # An update of the pod itself neither adds nor drops them: only the subresource does.
    _, p = await call(http, "GET", f"{PODS}/web")
    p["metadata"]["labels"] = {"debugged": "yes"}
    p["spec"]["ephemeralContainers"] = [debugger("sneaky", "true")]
    code, updated = await call(http, "PUT", f"{PODS}/web", p)
    assert code == 200, updated
    assert updated["metadata"]["labels"] == {"debugged": "yes"}
    assert [c["name"] for c in updated["spec"]["ephemeralContainers"]] == ["debugger", "second"]

    # Deleting the pod stops its ephemeral containers too.
    assert (await call(http, "DELETE", f"{PODS}/web"))[0] == 200

    async def gone() -> bool:
        return (await call(http, "GET", f"{PODS}/web"))[0] == 404
    await wait_for(gone, 30, what="the pod gone")


async def test_what_kubernetes_refuses_of_an_ephemeral_container(http: aiohttp.ClientSession) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
           "spec": {"containers": [{"name": "app", "image": "nginx"}],
                    "ephemeralContainers": [debugger("d", "true")]}}
    code, status = await call(http, "POST", PODS, pod)
    assert code == 422 and status["message"] == 'Pod "p" is invalid: spec.ephemeralContainers: Forbidden: cannot be set on create'
    del pod["spec"]["ephemeralContainers"]
    assert (await call(http, "POST", PODS, pod))[0] == 201
    bad = debugger("app", "true", ports=[{"containerPort": 80}], readinessProbe={"exec": {"command": ["true"]}},
                   resources={"limits": {"cpu": "1"}}, targetContainerName="nope")
    code, status = await call(http, "PATCH", f"{PODS}/p/ephemeralcontainers", {"spec": {"ephemeralContainers": [bad]}},
                              ctype=SMP)
    assert code == 422
    causes = {(c["field"], c["message"]) for c in status["details"]["causes"]}
    assert causes == {
        ("spec.ephemeralContainers[0].ports", "Forbidden: cannot be set for an Ephemeral Container"),
        ("spec.ephemeralContainers[0].readinessProbe", "Forbidden: cannot be set for an Ephemeral Container"),
        ("spec.ephemeralContainers[0].resources", "Forbidden: cannot be set for an Ephemeral Container"),
        ("spec.ephemeralContainers[0].targetContainerName", 'Not found: "nope"'),
        ("spec.ephemeralContainers[0].name", 'Duplicate value: "app"'),
    }
    _, stored = await call(http, "GET", f"{PODS}/p")
    assert "ephemeralContainers" not in stored["spec"]  # nothing written
    # only pods have the subresource, and only update and patch write it
    code, status = await call(http, "PATCH", "/api/v1/namespaces/default/configmaps/x/ephemeralcontainers", {}, ctype=SMP)
    assert code == 404 and status["details"] == {}  # bare: kubectl debug says "ephemeral containers are disabled"


async def test_kube_tui_debug_adds_one_and_attaches_with_i(rest_plane: ControlPlane, rest_node: object,
                                                          http: aiohttp.ClientSession, tmp_path: Path) -> None:
    await running_pod(http, "web", "exec sleep 300")
    code, out, err = await cli(rest_plane, tmp_path, "debug", "web", "--image=busybox", "--profile=general", "--",
                               "sh", "-c", "echo plain")
    assert code == 0 and out.startswith("Defaulting debug container name to debugger-"), err  # on stdout, as kubectl
    name = out.splitlines()[0].split()[-1].rstrip(".")
    assert "Warning: spec.ephemeralContainers[0].securityContext.capabilities: stored but not enforced by kube-tui" in err
    _, p = await call(http, "GET", f"{PODS}/web")
    ec = p["spec"]["ephemeralContainers"][0]
    assert (ec["name"], ec["command"], ec["securityContext"]) == (name, ["sh", "-c", "echo plain"],
                                                                  {"capabilities": {"add": ["SYS_PTRACE"]}})
    # -i: attached once it runs, our stdin to it; it ends when our input does
    code, out, err = await cli(rest_plane, tmp_path, "debug", "web", "--image=busybox", "-i", "-c", "shell", "--",
                               "sh", "-c", "read line; echo got $line", stdin="hello\n")
    assert (code, out) == (0, "got hello\n"), err
    assert err.startswith(DEPRECATED) and err.endswith("If you don't see a command prompt, try pressing enter.\n")
    own = p["spec"]["containers"][0]["name"]
    code, _, err = await cli(rest_plane, tmp_path, "debug", "web", "--image=busybox", "-c", own, "--", "true")
    assert code == 1 and err == (DEPRECATED + 'The Pod "web" is invalid: '
                                 f'spec.ephemeralContainers[2].name: Duplicate value: "{own}"\n')
    code, _, err = await cli(rest_plane, tmp_path, "debug", "nope", "--image=busybox", "--profile=general")
    assert code == 1 and err == 'Error from server (NotFound): pods "nope" not found\n'


DEPRECATED = ('--profile=legacy is deprecated and will be removed in the future. It is recommended to explicitly '
              'specify a profile, for example "--profile=general".\n')


async def test_kube_tui_debug_copies_the_pod(rest_plane: ControlPlane, rest_node: object,
                                            http: aiohttp.ClientSession, tmp_path: Path) -> None:
    await running_pod(http, "web", "exec sleep 300")
    _, original = await call(http, "GET", f"{PODS}/web")
    # a copy with a debug container, attached with -i: a pod of its own, with the copy's name as its hostname
    # (--same-node: this control plane runs no scheduler)
    code, out, err = await cli(rest_plane, tmp_path, "debug", "web", "--copy-to=web-debug", "--image=busybox", "-i",
                               "-c", "dbg", "--same-node", "--", "sh", "-c",
                               "read line; echo got $line in $HOSTNAME; exit 3", stdin="hello\n")
    assert (code, out) == (0, "got hello in web-debug\n"), err  # kubectl debug: 0, not the container's code
    _, copy = await call(http, "GET", f"{PODS}/web-debug")
    assert [c["name"] for c in copy["spec"]["containers"]] == [original["spec"]["containers"][0]["name"], "dbg"]
    # without --same-node the copy is left to the scheduler
    assert await cli(rest_plane, tmp_path, "debug", "web", "--copy-to=web-3", "--image=busybox", "-c", "dbg",
                     "--profile=general") == (0, "", "Warning: spec.shareProcessNamespace: stored but not enforced by "
                                              "kube-tui\nWarning: spec.containers[1].securityContext.capabilities: "
                                              "stored but not enforced by kube-tui\n")
    _, third = await call(http, "GET", f"{PODS}/web-3")
    assert "nodeName" not in third["spec"] and "labels" not in third["metadata"]
    # --replace: the original goes; a --set-image-only copy has no debug container and attaches to nothing
    code, out, err = await cli(rest_plane, tmp_path, "debug", "web", "--copy-to=web-2", "--set-image=*=busybox",
                               "--replace", "--same-node")
    assert (code, out) == (0, ""), err

    async def gone() -> bool:
        return (await call(http, "GET", f"{PODS}/web"))[0] == 404
    await wait_for(gone, 20, what="the original pod deleted")
    _, second = await call(http, "GET", f"{PODS}/web-2")
    assert [c["image"] for c in second["spec"]["containers"]] == ["busybox"]
    assert second["spec"]["nodeName"] == original["spec"]["nodeName"]


KUBECTL = os.environ.get("KUBECTL") or shutil.which("kubectl")


@pytest.mark.skipif(KUBECTL is None, reason="no kubectl on this machine")
async def test_the_real_kubectl_debug(rest_plane: ControlPlane, rest_node: object, http: aiohttp.ClientSession,
                                      tmp_path: Path) -> None:
    from control import config

    assert rest_plane.rest is not None and rest_plane.credentials is not None
    kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, rest_plane.rest.ca_pem)
    await running_pod(http, "web", "exec sleep 300")
    r = await asyncio.to_thread(subprocess.run, [str(KUBECTL), "--kubeconfig", str(kubeconfig), "debug", "web",
                                                 "--image=busybox", "-c", "dbg", "--", "sh", "-c", "echo from kubectl"],
                                capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "ephemeral containers are disabled" not in r.stderr

    async def done() -> bool:
        return "terminated" in await ephemeral_state(http, "web", "dbg")
    await wait_for(done, 20, what="kubectl debug's container done")
    async with http.get(f"{PODS}/web/log?container=dbg") as resp:
        assert await resp.text() == "from kubectl\n"


async def test_kube_tui_debug_of_a_node_sees_the_hosts_files(rest_plane: ControlPlane, rest_node: object,
                                                             http: aiohttp.ClientSession, tmp_path: Path) -> None:
    code, out, err = await cli(rest_plane, tmp_path, "debug", "node/node-1", "--image=busybox", "--profile=general",
                               "-q", "--", "sh", "-c", "cat /host/etc/hostname")
    assert (code, out) == (0, ""), err
    _, pods = await call(http, "GET", PODS)
    (pod,) = pods["items"]
    assert pod["metadata"]["name"].startswith("node-debugger-node-1-") and pod["spec"]["hostPID"]

    async def logged() -> str | None:
        async with http.get(f"{PODS}/{pod['metadata']['name']}/log") as resp:
            text = await resp.text()
        return text if resp.status == 200 and text else None
    with open("/etc/hostname") as f:
        assert await wait_for(logged, 20, what="the debugging pod's output") == f.read()
    code, _, err = await cli(rest_plane, tmp_path, "debug", "node/nope", "--image=busybox", "-q", "--profile=general")
    assert (code, err) == (1, 'Error from server (NotFound): nodes "nope" not found\n')
