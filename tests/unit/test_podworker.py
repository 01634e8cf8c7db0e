"""The pod worker: env and $(VAR) expansion, QoS, back-off, and pod lifecycles run with real
processes (restart policies, phases, CrashLoopBackOff, image and start errors, probes, logs,
graceful deletion) and with the simulated runtime."""

from __future__ import annotations

import asyncio
import copy
import re
import sys
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from nodes.podworker import (
    Backoff,
    ConfigError,
    LogsError,
    PodWorker,
    build_env,
    expand,
    go_duration,
    qos_class,
)
from nodes.runtime.base import Runtime
from nodes.runtime.process import ProcessRuntime
from nodes.runtime.sim import SimBehavior, SimRuntime
from tests.helpers import TIMER_SLACK
from tests.unit._runtime_helpers import free_port, no_leftover_children, pod_ip, until  # noqa: F401  (no_leftover_children: autouse here)


def make_pod(*containers: dict[str, Any], policy: str = "Always", name: str = "web",
             **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": {"app": name}},
            "spec": {"containers": list(containers), "restartPolicy": policy, "nodeName": "node-1",
                     "terminationGracePeriodSeconds": 2, **spec}}


def busybox(script: str, name: str = "main", **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "registry.k8s.io/busybox:1.27.2", "command": ["sh", "-c", script], **extra}


def with_host_dir(pod: dict[str, Any], path: Path) -> dict[str, Any]:
    """`pod` with the node's directory `path` mounted at the same path in each of its containers (a hostPath): how a
    test shares files with them, and how they keep a file across a restart (anything else a container writes is
    in its own writable layer, thrown away with it)."""
    pod["spec"].setdefault("volumes", []).append({"name": "host", "hostPath": {"path": str(path)}})
    for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", []):
        c.setdefault("volumeMounts", []).append({"name": "host", "mountPath": str(path)})
    return pod


class Harness:
    """Runs PodWorkers on one runtime and remembers every status and event they produce."""

    def __init__(self, runtime: Runtime, log_dir: Path) -> None:
        self.runtime = runtime
        self.log_dir = log_dir
        self.workers: list[PodWorker] = []
        self.statuses: list[dict[str, Any]] = []
        self.events: list[tuple[str, str, str]] = []

    async def run(self, pod: dict[str, Any], **kw: Any) -> PodWorker:
        kw.setdefault("backoff_base", 0.05)
        kw.setdefault("backoff_max", 0.4)
        worker = PodWorker(pod, self.runtime, pod_ip=kw.pop("pod_ip", pod_ip()), log_dir=self.log_dir,
                           on_status=self.statuses.append, on_event=lambda *e: self.events.append(e), **kw)
        self.workers.append(worker)
        await worker.start()
        return worker

    def reasons(self) -> list[str]:
        return [e[0] for e in self.events]


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    runtime = ProcessRuntime()
    h = Harness(runtime, tmp_path / "pods")
    try:
        yield h
    finally:
        for worker in h.workers:
            await worker.stop(grace=0)
        await runtime.shutdown()


def container(status: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return status["containerStatuses"][index]


def waiting_reason(worker: PodWorker, index: int = 0) -> str | None:
    return container(worker.status, index)["state"].get("waiting", {}).get("reason")


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == kind)


# -- $(VAR) expansion and env -------------------------------------------------------------------

# Cases from Kubernetes' expansion tests (third_party/forked/golang/expansion/expand_test.go).
EXPANSION = [
    ("$(VAR_A)", "A"),
    ("___$(VAR_B)___", "___B___"),
    ("$(VAR_A)-$(VAR_A)", "A-A"),
    ("f000-$$VAR_A", "f000-$VAR_A"),
    ("foo\\$(VAR_C)bar", "foo\\Cbar"),
    ("foo\\\\$(VAR_C)bar", "foo\\\\Cbar"),
    ("$$(VAR_A)", "$(VAR_A)"),
    ("$$$(VAR_A)", "$A"),
    ("$$$$(VAR_A)", "$$(VAR_A)"),
    ("$(VAR_DNE)", "$(VAR_DNE)"),
    ("$(VAR_A", "$(VAR_A"),
    ("$(VAR_A)$(VAR_B", "A$(VAR_B"),
    ("$(VAR_EMPTY)", ""),
    ("$VAR_A", "$VAR_A"),
    ("$", "$"),
    ("$$", "$"),
    ("$$$", "$$"),
    ("$()", "$()"),
    ("$(VAR_A)$(VAR_REF)", "A$(VAR_A)"),
    ("$(VAR_Á)", "Á"),
]


@pytest.mark.parametrize("text, expected", EXPANSION)
def test_expand_like_kubernetes(text: str, expected: str) -> None:
    mapping = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_EMPTY": "", "VAR_REF": "$(VAR_A)", "VAR_Á": "Á"}
    assert expand(text, mapping) == expected


def test_env_order_expansion_and_downward_api() -> None:
    pod = make_pod(busybox("true"), serviceAccountName="robot")
    c = pod["spec"]["containers"][0]
    c["env"] = [
        {"name": "GREETING", "value": "hello"},
        {"name": "MESSAGE", "value": "$(GREETING) $(LATER) $$(GREETING) via $(MYSVC_SERVICE_HOST)"},
        {"name": "LATER", "value": "late"},
        {"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
        {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
        {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
        {"name": "HOSTNAME_REF", "value": "$(HOSTNAME)"},
        {"name": "MYSVC_SERVICE_PORT", "value": "8080"},
    ]
    services = {"KUBERNETES_SERVICE_HOST": "127.96.0.1", "KUBERNETES_SERVICE_PORT": "443",
                "MYSVC_SERVICE_HOST": "127.96.0.7", "MYSVC_SERVICE_PORT": "80"}
    env, refs = build_env(pod, c, pod_ip="127.77.0.9", host_ip="127.0.0.1", service_env=services,
                          allocatable={})
    # Only entries defined before are referenceable; unknown references stay as written.
    assert env["MESSAGE"] == "hello $(LATER) $(GREETING) via 127.96.0.7"
    assert (env["ME"], env["NS"], env["IP"], env["NODE"], env["APP"]) == ("web", "default", "127.77.0.9",
                                                                          "node-1", "web")
    assert env["HOSTNAME"] == "web" and env["POD_IP"] == "127.77.0.9"
    assert "POD_NAME" not in env and "POD_NAMESPACE" not in env  # Kubernetes sets neither (downward API only)
    assert env["KUBERNETES_SERVICE_HOST"] == "127.96.0.1"
    assert env["HOSTNAME_REF"] == "$(HOSTNAME)"  # not a pod env var in Kubernetes
    assert env["MYSVC_SERVICE_PORT"] == "8080"  # the container's env wins over service links
    assert refs["GREETING"] == "hello" and "HOSTNAME" not in refs

    pod["spec"]["enableServiceLinks"] = False
    env, _ = build_env(pod, c, pod_ip="127.77.0.9", host_ip="127.0.0.1", service_env=services, allocatable={})
    assert "KUBERNETES_SERVICE_HOST" in env and env["MESSAGE"].endswith("via $(MYSVC_SERVICE_HOST)")


def test_hostname_is_spec_hostname_else_the_pods_name_cut_to_a_label() -> None:
    from nodes.env import hostname

    assert hostname({"metadata": {"name": "web"}, "spec": {}}) == "web"
    assert hostname({"metadata": {"name": "job-1-abcde"}, "spec": {"hostname": "job-1"}}) == "job-1"
    long = "a" * 62 + "-b" + "c" * 10
    assert hostname({"metadata": {"name": long}, "spec": {}}) == "a" * 62  # 63 characters, the trailing "-" dropped


def test_env_resource_field_refs_and_missing_config_maps() -> None:
    pod = make_pod(busybox("true", resources={"limits": {"cpu": "500m", "memory": "64Mi"}}))
    c = pod["spec"]["containers"][0]
    c["env"] = [
        {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu"}}},
        {"name": "CPU_M", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
        {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
        {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k", "optional": True}}},
    ]
    env, _ = build_env(pod, c, pod_ip="1", host_ip="2", service_env={}, allocatable={})
    assert (env["CPU"], env["CPU_M"], env["MEM_MI"]) == ("1", "500", "64")
    assert "OPT" not in env
    c["env"].append({"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}})
    with pytest.raises(ConfigError, match='secret "db" not found'):
        build_env(pod, c, pod_ip="1", host_ip="2", service_env={}, allocatable={})


def test_env_from_config_maps_and_secrets_like_the_kubelet() -> None:
    pod = make_pod(busybox("true"))
    c = pod["spec"]["containers"][0]
    c["envFrom"] = [{"configMapRef": {"name": "game"}, "prefix": "G_"},
                    {"secretRef": {"name": "db"}},
                    {"configMapRef": {"name": "absent", "optional": True}}]
    c["env"] = [{"name": "LIVES", "valueFrom": {"configMapKeyRef": {"name": "game", "key": "lives"}}},
                {"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "MSG", "value": "$(G_lives) lives, user $(user)"},
                {"name": "NOKEY", "valueFrom": {"configMapKeyRef": {"name": "game", "key": "x", "optional": True}}}]
    sources = {("ConfigMap", "game"): {"kind": "ConfigMap", "data": {"lives": "3", "game.properties": "a=b\n",
                                                                     "1st": "x"}, "binaryData": {"bin": "AP8="}},
               ("Secret", "db"): {"kind": "Secret", "data": {"password": "czNjcjN0", "user": "YWRtaW4="}},
               ("ConfigMap", "absent"): None}
    skipped: list[str] = []
    env, refs = build_env(pod, c, pod_ip="1", host_ip="2", service_env={}, allocatable={}, sources=sources,
                          on_invalid=skipped.append)
    assert env["G_lives"] == "3" and env["G_game.properties"] == "a=b\n" and "G_bin" not in env
    assert env["G_1st"] == "x"  # the prefix makes it a valid name
    assert (env["password"], env["user"], env["PW"], env["LIVES"]) == ("s3cr3t", "admin", "s3cr3t", "3")
    assert env["MSG"] == "3 lives, user admin" and "NOKEY" not in env and refs["PW"] == "s3cr3t"
    assert skipped == []
    c["envFrom"][0].pop("prefix")
    build_env(pod, c, pod_ip="1", host_ip="2", service_env={}, allocatable={}, sources=sources,
              on_invalid=skipped.append)
    assert skipped == ["Keys [1st] from the EnvFrom configmap default/game were skipped since they are considered "
                       "invalid environment variable names."]
    c["env"].append({"name": "BAD", "valueFrom": {"configMapKeyRef": {"name": "game", "key": "x"}}})
    with pytest.raises(ConfigError, match="^couldn't find key x in ConfigMap default/game$"):
        build_env(pod, c, pod_ip="1", host_ip="2", service_env={}, allocatable={}, sources=sources)
    c["env"][-1] = {"name": "BAD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "x"}}}
    with pytest.raises(ConfigError, match="^couldn't find key x in Secret default/db$"):
        build_env(pod, c, pod_ip="1", host_ip="2", service_env={}, allocatable={}, sources=sources)
    c["envFrom"].append({"configMapRef": {"name": "missing"}})
    with pytest.raises(ConfigError, match='^configmap "missing" not found$'):
        build_env(pod, c, pod_ip="1", host_ip="2", service_env={}, allocatable={}, sources=sources)


def test_qos_class() -> None:
    def spec(*resources: dict[str, Any]) -> dict[str, Any]:
        return {"containers": [{"name": f"c{i}", "resources": r} for i, r in enumerate(resources)]}

    assert qos_class(spec({}, {})) == "BestEffort"
    both = {"cpu": "100m", "memory": "64Mi"}
    assert qos_class(spec({"limits": both}, {"limits": both, "requests": both})) == "Guaranteed"
    assert qos_class(spec({"limits": both, "requests": {"cpu": "50m"}})) == "Burstable"
    assert qos_class(spec({"limits": both}, {})) == "Burstable"


def test_backoff_like_client_go() -> None:
    b = Backoff(10, 300, 600)
    assert b.retry_at(0) is None  # the first crash restarts at once
    b.next(0)
    assert b.retry_at(1) == 10
    for expected in (20, 40, 80, 160, 300, 300):
        b.next(b.last_update + b.duration)  # type: ignore[operator]
        assert b.duration == expected
    last = b.last_update
    assert last is not None and b.retry_at(last + 601) is None  # ran long enough: forgiven
    b.next(last + 601)
    assert b.duration == 10
    assert [go_duration(x) for x in (0.05, 10, 80, 300)] == ["50ms", "10s", "1m20s", "5m0s"]


# -- lifecycles with real processes ------------------------------------------------------------

async def test_never_succeeded_and_failed(harness: Harness) -> None:
    ok = await harness.run(make_pod(busybox("echo done"), policy="Never", name="ok"))
    bad = await harness.run(make_pod(busybox("exit 3"), policy="Never", name="bad"))
    await asyncio.wait_for(asyncio.gather(ok.wait(), bad.wait()), 10)
    st = ok.status
    assert st["phase"] == "Succeeded"
    term = container(st)["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed")
    assert term["containerID"].startswith("kube-tui://") and container(st)["restartCount"] == 0
    assert condition(st, "Ready")["reason"] == "PodCompleted"
    assert ok.logs() == "done\n"
    st = bad.status
    assert st["phase"] == "Failed"
    assert container(st)["state"]["terminated"]["reason"] == "Error"
    assert container(st)["state"]["terminated"]["exitCode"] == 3
    # Pending first, then each observed phase only moves forward.
    phases = [s["phase"] for s in harness.statuses]
    assert phases[0] == "Pending"


async def test_on_failure_restarts_until_success(harness: Harness, tmp_path: Path) -> None:
    mark = tmp_path / "mark"
    script = f"if [ -f {mark} ]; then echo second; exit 0; fi; touch {mark}; echo first; exit 1"
    worker = await harness.run(with_host_dir(make_pod(busybox(script), policy="OnFailure"), tmp_path))
    await asyncio.wait_for(worker.wait(), 10)
    st = worker.status
    assert st["phase"] == "Succeeded"
    assert container(st)["restartCount"] == 1
    assert container(st)["lastState"]["terminated"]["exitCode"] == 1
    assert worker.logs("main") == "second\n"
    assert worker.logs("main", previous=True) == "first\n"


async def test_crash_loop_back_off(harness: Harness, tmp_path: Path) -> None:
    counter = tmp_path / "n"
    script = f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; echo run $n; exit 2"
    worker = await harness.run(with_host_dir(make_pod(busybox(script)), tmp_path), backoff_base=0.2, backoff_max=0.8)
    await until(lambda: waiting_reason(worker) == "CrashLoopBackOff", what="CrashLoopBackOff")
    st = worker.status
    assert st["phase"] == "Running"  # restartPolicy Always: it is restarting
    # 200ms, the base; a run that outlasted its back-off (a busy machine) is restarted at once, as the kubelet's
    # flowcontrol.Backoff does, and the first back-off is then a doubled one
    waiting = re.fullmatch(r"back-off (\d+)ms restarting failed container=main pod=web_default\(uid-web\)",
                           container(st)["state"]["waiting"]["message"])
    assert waiting is not None and int(waiting.group(1)) in (200, 400, 800), container(st)["state"]
    last = container(st)["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (2, "Error")
    await until(lambda: container(worker.status)["restartCount"] >= 3, what="three restarts")
    messages = [container(s)["state"]["waiting"]["message"] for s in harness.statuses
                if container(s)["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"]
    assert any(re.match(r"back-off (400|800)ms", m) for m in messages)  # doubling, up to the cap
    assert "BackOff" in harness.reasons()
    # Logs: the current (last crashed) attempt, and the one before.
    await until(lambda: waiting_reason(worker) == "CrashLoopBackOff", what="back-off again")
    current = worker.logs()
    n = int(current.split()[1])
    assert worker.logs(previous=True) == current  # while waiting, both name the last terminated container
    assert n >= 3 and current == f"run {n}\n"


async def test_image_pull_back_off(harness: Harness) -> None:
    pod = make_pod({"name": "proxy", "image": "registry.k8s.io/goproxy:0.1"})
    worker = await harness.run(pod, backoff_base=5, backoff_max=5)
    await until(lambda: waiting_reason(worker) == "ErrImagePull", what="ErrImagePull")
    assert container(worker.status)["state"]["waiting"]["message"].startswith(
        'Failed to pull image "registry.k8s.io/goproxy:0.1": kube-tui has no built-in image "goproxy"')
    await until(lambda: waiting_reason(worker) == "ImagePullBackOff", what="ImagePullBackOff")
    st = worker.status
    message = container(st)["state"]["waiting"]["message"]
    assert message.startswith('Back-off pulling image "registry.k8s.io/goproxy:0.1": ErrImagePull: ')
    assert message.endswith("or set the container's command (spec.containers[].command) to a program on the node.")
    assert st["phase"] == "Pending" and container(st)["restartCount"] == 0
    assert "imageID" in container(st) and container(st)["imageID"] == ""
    with pytest.raises(LogsError, match="trying and failing to pull image"):
        worker.logs()
    # The kubelet's sequence for a pull that fails, and no "already present on machine" before it.
    image = "registry.k8s.io/goproxy:0.1"
    assert harness.events == [
        ("Pulling", f'Pulling image "{image}"', "Normal"),
        ("Failed", container(st)["state"]["waiting"]["message"].split(": ErrImagePull: ", 1)[1], "Warning"),
        ("Failed", "Error: ErrImagePull", "Warning"),
        ("BackOff", f'Back-off pulling image "{image}"', "Normal"),
        ("Failed", "Error: ImagePullBackOff", "Warning"),
    ]
    assert harness.events[1][1].startswith(f'Failed to pull image "{image}": ')


async def test_run_container_error(harness: Harness) -> None:
    pod = make_pod({"name": "stress", "image": "polinux/stress", "command": ["stress"], "args": ["--cpu", "1"]})
    worker = await harness.run(pod, backoff_base=0.05)
    await until(lambda: waiting_reason(worker) == "RunContainerError", what="RunContainerError")
    cs = container(worker.status)
    assert 'exec: "stress": executable file not found in $PATH' in cs["state"]["waiting"]["message"]
    await until(lambda: container(worker.status)["restartCount"] >= 2, what="retries")
    last = container(worker.status)["lastState"]["terminated"]
    assert (last["exitCode"], last["reason"]) == (128, "StartError")
    # Between attempts it is backed off as a crashed container is (kuberuntime's doBackOff): CrashLoopBackOff,
    # RunContainerError only right after a failed start.
    await until(lambda: waiting_reason(worker) == "CrashLoopBackOff", what="CrashLoopBackOff")
    reasons = [container(s)["state"].get("waiting", {}).get("reason") for s in harness.statuses]
    assert reasons.index("RunContainerError") < reasons.index("CrashLoopBackOff")
    messages = {container(s)["state"]["waiting"]["message"] for s in harness.statuses
                if container(s)["state"].get("waiting", {}).get("reason") == "CrashLoopBackOff"}
    # 50ms, or a later doubling when a slow failed start outlasted the first back-off (a loaded machine)
    assert messages and all(re.fullmatch(r"back-off \d+ms restarting failed container=stress pod=web_default\(uid-web\)", m)
                            for m in messages), messages
    assert ("BackOff", "Back-off restarting failed container stress in pod web_default(uid-web)",
            "Warning") in harness.events
    # Each attempt: the image is there (Pulled), the start fails (Failed); never a Created or Started.
    assert {"Pulled", "Failed", "BackOff"} == set(harness.reasons())

    never = await harness.run(make_pod({"name": "stress", "image": "polinux/stress", "command": ["stress"]},
                                       policy="Never", name="once"))
    await asyncio.wait_for(never.wait(), 10)
    assert never.status["phase"] == "Failed"
    assert container(never.status)["state"]["terminated"]["reason"] == "StartError"


async def test_env_reaches_the_process(harness: Harness) -> None:
    c = busybox('echo "$HOSTNAME|$POD_IP|$KUBERNETES_SERVICE_HOST|$GREETING|$1"',
                env=[{"name": "WHO", "value": "world"}, {"name": "GREETING", "value": "hello $(WHO)"}])
    c["command"].append("argv0")
    c["command"].append("$(WHO)-$$(WHO)")
    ip = pod_ip()
    worker = await harness.run(make_pod(c, policy="Never"), pod_ip=ip,
                               service_env={"KUBERNETES_SERVICE_HOST": "127.96.0.1",
                                            "KUBERNETES_SERVICE_PORT": "443"})
    await asyncio.wait_for(worker.wait(), 10)
    assert worker.logs() == f"web|{ip}|127.96.0.1|hello world|world-$(WHO)\n"


async def test_nginx_pod_ready_through_http_and_tcp_probes(harness: Harness) -> None:
    ip = pod_ip()
    port = free_port(ip)
    fast = {"periodSeconds": 0.05, "timeoutSeconds": 1}
    nginx = {"name": "nginx", "image": "nginx:1.14.2", "ports": [{"name": "http", "containerPort": port}],
             "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, **fast}}
    sidecar = {"name": "pause", "image": "registry.k8s.io/pause:3.9",
               "readinessProbe": {"tcpSocket": {"port": port}, **fast}}
    worker = await harness.run(make_pod(nginx, sidecar, name="web-0"), pod_ip=ip)
    await until(lambda: condition(worker.status, "Ready")["status"] == "True", what="pod Ready")
    st = worker.status
    assert st["phase"] == "Running" and st["podIP"] == ip and st["podIPs"] == [{"ip": ip}]
    assert all(c["ready"] and c["started"] for c in st["containerStatuses"])
    assert condition(st, "ContainersReady")["status"] == "True"
    # Not ready before the first successful probe.
    assert any(condition(s, "Ready")["status"] == "False" and s["containerStatuses"][0]["state"].get("running")
               for s in harness.statuses)
    with urllib.request.urlopen(f"http://{ip}:{port}/", timeout=5) as r:  # noqa: ASYNC210 - a quick local GET
        page = r.read().decode()
    assert "web-0" in page and ip in page
    await until(lambda: "kube-probe/" in worker.logs("nginx"), what="probe requests in nginx's access log")


async def test_liveness_probe_restarts_the_container(harness: Harness, tmp_path: Path) -> None:
    health = tmp_path / "healthy"
    c = busybox(f"touch {health}; echo up; sleep 300", livenessProbe={
        "exec": {"command": ["cat", str(health)]}, "periodSeconds": 0.05, "failureThreshold": 2})
    worker = await harness.run(with_host_dir(make_pod(c, terminationGracePeriodSeconds=1), tmp_path))
    await until(lambda: container(worker.status)["state"].get("running") and health.exists(), what="running")
    health.unlink()
    await until(lambda: container(worker.status)["restartCount"] >= 1, what="a liveness restart")
    assert ("Killing", "Container main failed liveness probe, will be restarted", "Normal") in harness.events
    assert any(e[0] == "Unhealthy" and e[1].startswith("Liveness probe failed: cat:") for e in harness.events)
    last = container(worker.status)["lastState"]["terminated"]
    assert last["exitCode"] in (137, 143) and last["reason"] == "Error"


async def test_startup_probe_gates_readiness(harness: Harness, tmp_path: Path) -> None:
    started = tmp_path / "started"
    c = busybox("sleep 300", startupProbe={"exec": {"command": ["test", "-f", str(started)]},
                                           "periodSeconds": 0.05, "failureThreshold": 1000},
                readinessProbe={"exec": {"command": ["true"]}, "periodSeconds": 0.05})
    worker = await harness.run(make_pod(c))
    await until(lambda: container(worker.status)["state"].get("running"), what="running")
    cs = container(worker.status)
    assert (cs["started"], cs["ready"]) == (False, False)
    started.touch()
    await until(lambda: container(worker.status)["ready"], what="ready after startup")
    assert container(worker.status)["started"] is True


async def test_graceful_deletion(harness: Harness) -> None:
    c = busybox("trap '' TERM; echo ready; sleep 300")
    worker = await harness.run(make_pod(c))
    await until(lambda: "ready" in (worker.logs() if container(worker.status)["state"].get("running") else ""),
                what="trap installed")
    pod = dict(worker.pod)
    pod["metadata"] = {**pod["metadata"], "deletionTimestamp": "2024-01-01T00:00:00Z",
                       "deletionGracePeriodSeconds": 0.3}
    began = time.monotonic()
    worker.update(pod)
    await asyncio.wait_for(worker.wait(), 10)
    assert time.monotonic() - began >= 0.3 - TIMER_SLACK  # SIGTERM ignored: SIGKILL after the grace period
    st = worker.status
    assert container(st)["state"]["terminated"]["exitCode"] == 137
    assert st["phase"] == "Failed"
    assert ("Killing", "Stopping container main", "Normal") in harness.events


async def test_init_containers_run_first(harness: Harness, tmp_path: Path) -> None:
    data = tmp_path / "data"
    pod = make_pod(busybox(f"cat {data}"), policy="Never",
                   initContainers=[busybox(f"echo from-init > {data}", name="init")])
    worker = await harness.run(with_host_dir(pod, tmp_path))
    await asyncio.wait_for(worker.wait(), 10)
    st = worker.status
    assert st["phase"] == "Succeeded"
    assert st["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert worker.logs("main") == "from-init\n"
    early = harness.statuses[0]
    assert early["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"
    assert condition(early, "Initialized")["message"] == "containers with incomplete status: [init]"


async def test_multiple_containers_need_a_name_for_logs(harness: Harness) -> None:
    worker = await harness.run(make_pod(busybox("true", name="a"), busybox("true", name="b"), policy="Never"))
    await asyncio.wait_for(worker.wait(), 10)
    with pytest.raises(LogsError, match=r"choose one of: \[a b\]"):
        worker.logs()
    with pytest.raises(LogsError, match='previous terminated container "a"'):
        worker.logs("a", previous=True)


# -- the simulated runtime --------------------------------------------------------------------

async def test_sim_pods(tmp_path: Path) -> None:
    def behavior(cfg: Any) -> SimBehavior | None:
        return SimBehavior(run_for=0.05, exit_code=1) if cfg.pod_name.startswith("job") else None

    runtime = SimRuntime(start_delay=0.01, behavior=behavior)
    h = Harness(runtime, tmp_path / "pods")
    probe = {"httpGet": {"port": 80}, "periodSeconds": 0.05}
    workers = [await h.run(make_pod({"name": "app", "image": "nginx", "readinessProbe": probe}, name=f"web-{i}"))
               for i in range(50)]
    job = await h.run(make_pod(busybox("exit 1"), policy="OnFailure", name="job-1"), backoff_base=0.05)
    await until(lambda: all(condition(w.status, "Ready")["status"] == "True" for w in workers), what="ready")
    assert workers[0].usage()[0] > 0
    await until(lambda: waiting_reason(job) == "CrashLoopBackOff", what="sim crash loop")
    await asyncio.gather(*(w.stop(grace=1) for w in h.workers))
    assert workers[0].status["phase"] == "Succeeded"  # the sim app exits 0 on SIGTERM
    assert not (tmp_path / "pods").exists()


async def test_image_change_restarts_the_container(tmp_path: Path) -> None:
    h = Harness(SimRuntime(), tmp_path / "pods")
    worker = await h.run(make_pod({"name": "app", "image": "nginx:1.14.2"}))
    await until(lambda: container(worker.status)["state"].get("running"), what="running")
    pod = copy.deepcopy(worker.pod)
    pod["spec"]["containers"][0]["image"] = "nginx:1.16.1"
    worker.update(pod)
    await until(lambda: container(worker.status)["restartCount"] == 1
                and container(worker.status)["state"].get("running"), what="a restart with the new image")
    assert container(worker.status)["image"] == "nginx:1.16.1"
    assert ("Killing", "Container app definition changed, will be restarted", "Normal") in h.events
    await worker.stop(grace=0)


async def test_simulated_containers_run_no_lifecycle_hooks(tmp_path: Path) -> None:
    """A sim node runs no hooks (KWOK runs none): an exec hook that would fail does not kill the container, and a
    preStop that would take the whole grace period does not hold the deletion."""
    h = Harness(SimRuntime(behavior=lambda c: SimBehavior(exec_exit_code=1)), tmp_path / "pods")
    hooks = {"postStart": {"exec": {"command": ["false"]}}, "preStop": {"sleep": {"seconds": 30}}}
    worker = await h.run(make_pod({"name": "app", "image": "nginx", "lifecycle": hooks}, terminationGracePeriodSeconds=30))
    await until(lambda: container(worker.status)["state"].get("running"), what="running")
    await asyncio.wait_for(worker.stop(30), 5)
    assert container(worker.status)["restartCount"] == 0
    assert not any(e[0] in ("FailedPostStartHook", "FailedPreStopHook") for e in h.events)


async def test_memory_limit_is_enforced_as_oom_kill(harness: Harness) -> None:
    hog = {"name": "hog", "image": "python:3.12", "resources": {"limits": {"memory": "50Mi"}},
           "command": [sys.executable, "-c", "import time; x = b'x' * (120 * 2**20); time.sleep(300)"]}
    worker = await harness.run(make_pod(hog, policy="Never"), oom_check_interval=0.05)
    await asyncio.wait_for(worker.wait(), 10)
    term = container(worker.status)["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (137, "OOMKilled")
    assert worker.status["phase"] == "Failed"
