"""Probes: the exec, httpGet and tcpSocket checks with the kubelet's messages, and the Prober's
schedule, thresholds and initial results."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from nodes.probes import (
    LIVENESS,
    READINESS,
    STARTUP,
    Prober,
    ProbeResult,
    container_port,
    http_get,
    make_check,
    tcp_connect,
)
from nodes.runtime.base import ContainerConfig
from nodes.runtime.process import ProcessRuntime
from nodes.runtime.sim import SimBehavior, SimRuntime
from tests.helpers import TIMER_SLACK
from tests.unit._runtime_helpers import free_port as closed_port
from tests.unit._runtime_helpers import no_leftover_children, pod_ip, until  # noqa: F401  (no_leftover_children: autouse here)


class Http:
    """A tiny HTTP server whose answer per path the test chooses."""

    def __init__(self) -> None:
        self.ip = pod_ip()
        self.routes: dict[str, int] = {"/healthz": 200, "/moved": 302, "/broken": 500}
        self.hang = False
        self.seen: list[str] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
        except asyncio.IncompleteReadError:
            writer.close()  # a TCP probe: connected and left
            return
        self.seen.append(head)
        if self.hang:
            await asyncio.sleep(30)
        path = head.split()[1]
        code = self.routes.get(path, 404)
        writer.write(f"HTTP/1.1 {code} X\r\nContent-Length: 2\r\n\r\nok".encode())
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> Http:
        self.server = await asyncio.start_server(self.handle, self.ip, 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        self.server.close_clients() if hasattr(self.server, "close_clients") else None


@pytest.fixture
async def http() -> AsyncIterator[Http]:
    async with Http() as server:
        yield server


# -- checks -------------------------------------------------------------------------------------

def test_container_port_by_number_or_name() -> None:
    container = {"name": "web", "ports": [{"name": "http", "containerPort": 8080}]}
    assert container_port(80, container) == 80
    assert container_port("9090", container) == 9090
    assert container_port("http", container) == 8080
    with pytest.raises(ValueError, match="couldn't find port: metrics"):
        container_port("metrics", container)


async def test_http_get_success_range_and_failures(http: Http) -> None:
    assert (await http_get(http.ip, http.port, "/healthz")).ok
    assert (await http_get(http.ip, http.port, "/moved")).ok  # 3xx counts as success
    broken = await http_get(http.ip, http.port, "/broken")
    assert not broken.ok and broken.message == "HTTP probe failed with statuscode: 500"
    await http_get(http.ip, http.port, "healthz", headers=[{"name": "X-Probe", "value": "yes"}])
    assert http.seen[-1].startswith("GET /healthz HTTP/1.1")
    assert "User-Agent: kube-probe/" in http.seen[-1] and "X-Probe: yes" in http.seen[-1]
    port = closed_port(http.ip)
    refused = await http_get(http.ip, port, "/healthz")
    assert refused.message == (f'Get "http://{http.ip}:{port}/healthz": dial tcp {http.ip}:{port}: '
                               "connect: connection refused")
    http.hang = True
    slow = await http_get(http.ip, http.port, "/healthz", timeout=0.2)
    assert not slow.ok and "context deadline exceeded (Client.Timeout exceeded while awaiting headers)" in slow.message


async def test_tcp_socket(http: Http) -> None:
    assert (await tcp_connect(http.ip, http.port)).ok
    port = closed_port(http.ip)
    result = await tcp_connect(http.ip, port)
    assert result == ProbeResult(False, f"dial tcp {http.ip}:{port}: connect: connection refused")


async def test_make_check_uses_pod_ip_and_named_ports(http: Http) -> None:
    runtime = SimRuntime()
    container = {"name": "web", "ports": [{"name": "http", "containerPort": http.port}]}
    handle = await runtime.start(ContainerConfig(namespace="d", pod_name="p", pod_uid="u", name="web",
                                                 image="nginx"))
    real = ProcessRuntime()
    try:
        check = make_check({"httpGet": {"path": "/healthz", "port": "http"}}, runtime=real, handle=handle,
                           pod_ip=http.ip, container=container)
        assert (await check()).ok
        check = make_check({"tcpSocket": {"port": "nope"}}, runtime=real, handle=handle, pod_ip=http.ip,
                           container=container)
        assert (await check()) == ProbeResult(False, "couldn't find port: nope in web")
        # The simulated runtime listens on nothing: network probes pass.
        check = make_check({"tcpSocket": {"port": 1}}, runtime=runtime, handle=handle, pod_ip=http.ip,
                           container=container)
        assert (await check()).ok
    finally:
        await real.shutdown()


async def test_exec_check_through_the_runtime(tmp_path: Path) -> None:
    runtime = ProcessRuntime()
    try:
        handle = await runtime.start(ContainerConfig(namespace="d", pod_name="p", pod_uid="u", name="c",
                                                     image="busybox", command=["sleep", "300"],
                                                     env={"HEALTH": str(tmp_path / "healthy")},
                                                     log_path=tmp_path / "c.log"))

        def check_for(command: list[str]) -> Callable[[], Awaitable[ProbeResult]]:
            return make_check({"exec": {"command": command}, "timeoutSeconds": 0.3}, runtime=runtime,
                              handle=handle, pod_ip="127.0.0.1", container={"name": "c"})

        failing = await check_for(["sh", "-c", "cat $HEALTH"])()
        assert not failing.ok and "No such file or directory" in failing.message
        (tmp_path / "healthy").write_text("ok")
        assert (await check_for(["sh", "-c", "cat $HEALTH"])()).ok
        timed_out = await check_for(["sleep", "10"])()
        assert timed_out == ProbeResult(False, 'command "sleep 10" timed out')
    finally:
        await runtime.shutdown()


async def test_exec_check_in_sim() -> None:
    runtime = SimRuntime(behavior=lambda c: SimBehavior(exec_exit_code=1, exec_output="nope"))
    handle = await runtime.start(ContainerConfig(namespace="d", pod_name="p", pod_uid="u", name="c",
                                                 image="busybox"))
    check = make_check({"exec": {"command": ["true"]}}, runtime=runtime, handle=handle, pod_ip="127.0.0.1",
                       container={"name": "c"})
    assert await check() == ProbeResult(False, "nope")


# -- the prober ---------------------------------------------------------------------------------

def make_prober(kind: str, spec: dict[str, object], changes: list[bool]) -> Prober:
    async def never() -> ProbeResult:  # observe() is driven by hand in these tests
        raise AssertionError("not called")
    return Prober(kind, spec, never, on_change=changes.append)


def test_initial_results_like_the_kubelet() -> None:
    assert make_prober(READINESS, {}, []).result is False
    assert make_prober(LIVENESS, {}, []).result is True
    assert make_prober(STARTUP, {}, []).result is None


def test_thresholds() -> None:
    changes: list[bool] = []
    p = make_prober(READINESS, {"successThreshold": 2, "failureThreshold": 3}, changes)
    assert not p.observe(True) and changes == []  # one success is not enough
    p.observe(True)
    assert changes == [True] and p.result is True
    p.observe(False)
    p.observe(False)
    p.observe(True)  # the failure run is broken
    p.observe(False)
    p.observe(False)
    assert changes == [True]
    p.observe(False)
    assert changes == [True, False] and p.result is False


def test_liveness_stops_after_failing_and_startup_after_succeeding() -> None:
    changes: list[bool] = []
    live = make_prober(LIVENESS, {"failureThreshold": 2}, changes)
    assert not live.observe(False)
    assert live.observe(False) and changes == [False]
    start = make_prober(STARTUP, {}, changes)
    assert start.observe(True) and changes == [False, True]


async def test_prober_schedule() -> None:
    results = iter([False, True, True, False])
    calls: list[float] = []
    changes: list[bool] = []
    probes: list[ProbeResult] = []

    async def check() -> ProbeResult:
        calls.append(time.monotonic())
        return ProbeResult(next(results, True), "scripted")

    started = time.monotonic()
    prober = Prober(READINESS, {"initialDelaySeconds": 0.15, "periodSeconds": 0.05}, check,
                    on_change=changes.append, on_probe=probes.append)
    prober.start()
    try:
        await until(lambda: len(calls) >= 4, what="four probes")
        assert calls[0] - started >= 0.15 - TIMER_SLACK  # initialDelaySeconds
        assert all(b - a >= 0.04 for a, b in zip(calls, calls[1:], strict=False))  # periodSeconds
        assert changes[:1] == [True]
        assert [p.ok for p in probes[:2]] == [False, True]
    finally:
        await prober.stop()
    assert not prober.running
