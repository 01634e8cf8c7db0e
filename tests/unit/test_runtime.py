"""The runtimes: real process trees under a shim (exit codes, logs, signals, exec, nginx, no orphans
even on kill -9 of the node) and the simulated runtime."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from nodes import images
from nodes.runtime import make_runtime
from nodes.runtime.base import ContainerConfig, ImagePullError, RunContainerError
from nodes.runtime.process import ProcessRuntime
from nodes.runtime.sim import SimBehavior, SimRuntime
from tests.helpers import TIMER_SLACK
from tests.unit._runtime_helpers import free_port, no_leftover_children, pod_ip, until  # noqa: F401  (no_leftover_children: autouse here)

REPO = Path(__file__).resolve().parents[2]


def cfg(tmp_path: Path, command: list[str], *, image: str = "busybox", name: str = "c", attempt: int = 0,
        **kw: object) -> ContainerConfig:
    return ContainerConfig(namespace="default", pod_name="p", pod_uid="uid-1", name=name, image=image,
                           command=command, log_path=tmp_path / "logs" / name / f"{attempt}.log",
                           attempt=attempt, **kw)  # type: ignore[arg-type]


@pytest.fixture
async def runtime() -> AsyncIterator[ProcessRuntime]:
    rt = ProcessRuntime()
    yield rt
    await rt.shutdown()


# -- images -------------------------------------------------------------------------------------

@pytest.mark.parametrize("ref, name", [
    ("registry.k8s.io/busybox:1.27.2", "busybox"),
    ("nginx:1.14.2", "nginx"),
    ("nginx", "nginx"),
    ("docker.io/library/nginx@sha256:0123abcd", "nginx"),
    ("localhost:5000/team/python:3.12-slim", "python"),
    ("registry.k8s.io/pause:3.9", "pause"),
])
def test_image_short_name(ref: str, name: str) -> None:
    assert images.short_name(ref) == name


def test_image_resolution_rules() -> None:
    assert images.resolve("busybox:1.36", None, None) == ["sh"]
    assert images.resolve("debian", [], []) == ["sh"]
    assert images.resolve("python:3.12", None, None) == ["python3"]
    assert images.resolve("perl", None, ["-e", "print 1"]) == ["-e", "print 1"]  # args replace CMD
    assert images.resolve("busybox", ["sleep"], ["5"]) == ["sleep", "5"]
    assert images.resolve("nginx", ["sh", "-c", "true"], None) == ["sh", "-c", "true"]
    argv = images.resolve("nginx:1.14.2", None, None, [{"containerPort": 8080}, {"containerPort": 53,
                                                                                "protocol": "UDP"}])
    assert argv[-2:] == ["--listen", "8080"] and argv[0] == sys.executable
    assert images.resolve("nginx", None, None)[-2:] == ["--listen", "80"]
    # Like the real image's ENV NGINX_VERSION: its tag, when the tag is a version.
    assert images.image_env("docker.io/library/nginx:1.16.1")["NGINX_VERSION"] == "1.16.1"
    assert "NGINX_VERSION" not in images.image_env("nginx") and "NGINX_VERSION" not in images.image_env("nginx:alpine")
    # Unknown images run what they are told to, or fail to "pull".
    assert images.resolve("registry.k8s.io/goproxy:0.1", ["/bin/true"], None) == ["/bin/true"]
    with pytest.raises(ImagePullError) as e:
        images.resolve("registry.k8s.io/goproxy:0.1", None, None)
    assert e.value.message == ('Failed to pull image "registry.k8s.io/goproxy:0.1": kube-tui has no '
                              'built-in image "goproxy" and the container has no command: use one of the '
                              "built-in images (nginx, busybox, debian, perl, python, pause), or set the "
                              "container's command (spec.containers[].command) to a program on the node.")
    assert images.image_id("nginx:1.14.2") == images.image_id("docker.io/library/nginx:latest")


def test_make_runtime() -> None:
    assert isinstance(make_runtime("sim", start_delay=0.1), SimRuntime)
    with pytest.raises(ValueError, match="unknown runtime"):
        make_runtime("docker")


# -- process runtime ------------------------------------------------------------------------------

async def test_exit_code_and_logs(runtime: ProcessRuntime, tmp_path: Path) -> None:
    c = cfg(tmp_path, ["sh", "-c", "echo out $GREETING; echo err >&2; exit 3"], env={"GREETING": "hello"})
    handle = await runtime.start(c)
    assert handle.container_id == f"kube-tui://{handle.id}" and len(handle.id) == 64
    assert await runtime.wait(handle) == 3
    assert runtime.logs(handle) == "out hello\nerr\n"
    assert handle.exit_code == 3 and handle.finished_at is not None


async def test_container_env_is_the_pods_not_the_nodes(runtime: ProcessRuntime, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NODE_SECRET", "leak")
    handle = await runtime.start(cfg(tmp_path, ["sh", "-c", "env"], env={"A": "1"}))
    assert await runtime.wait(handle) == 0
    env = dict(line.split("=", 1) for line in runtime.logs(handle).splitlines())
    assert env["A"] == "1" and "PATH" in env
    assert "NODE_SECRET" not in env and "LC_CTYPE" not in env


async def test_executable_not_found_is_run_container_error(runtime: ProcessRuntime, tmp_path: Path) -> None:
    with pytest.raises(RunContainerError) as e:
        await runtime.start(cfg(tmp_path, ["stress", "--cpu", "1"], image="polinux/stress"))
    assert 'exec: "stress": executable file not found in $PATH' in e.value.message
    assert e.value.message.startswith("failed to create containerd task")
    with pytest.raises(RunContainerError, match='chdir to cwd \\("/no/such/dir"\\)'):
        await runtime.start(cfg(tmp_path, ["true"], working_dir="/no/such/dir"))


async def test_unknown_image_without_command_is_image_pull_error(runtime: ProcessRuntime,
                                                                tmp_path: Path) -> None:
    with pytest.raises(ImagePullError, match='no built-in image "goproxy"'):
        await runtime.start(cfg(tmp_path, [], image="registry.k8s.io/goproxy:0.1"))


async def test_graceful_stop_sends_sigterm(runtime: ProcessRuntime, tmp_path: Path) -> None:
    script = "trap 'echo got TERM; exit 7' TERM; echo ready; while true; do sleep 0.05; done"
    handle = await runtime.start(cfg(tmp_path, ["sh", "-c", script]))
    await until(lambda: "ready" in runtime.logs(handle), what="trap installed")
    await runtime.stop(handle, grace=10)
    assert handle.exit_code == 7
    assert "got TERM" in runtime.logs(handle)


async def test_stop_kills_after_grace(runtime: ProcessRuntime, tmp_path: Path) -> None:
    handle = await runtime.start(cfg(tmp_path, ["sh", "-c", "trap '' TERM; echo ready; sleep 300"]))
    await until(lambda: "ready" in runtime.logs(handle), what="trap installed")
    pids = [p.pid for p in psutil.Process(handle.pid).children(recursive=True)]
    started = time.monotonic()
    await runtime.stop(handle, grace=0.3)
    assert time.monotonic() - started >= 0.3 - TIMER_SLACK
    assert handle.exit_code == 137
    assert not [p for p in pids if psutil.pid_exists(p)]


async def test_main_exit_kills_the_rest_of_the_container(runtime: ProcessRuntime, tmp_path: Path) -> None:
    # Like PID 1 of a container: when it exits, whatever it left behind dies too.
    handle = await runtime.start(cfg(tmp_path, ["sh", "-c", "sleep 300 & echo $! > bg.pid; exit 0"],
                                     working_dir=str(tmp_path)))
    assert await runtime.wait(handle) == 0
    bg = int((tmp_path / "bg.pid").read_text())
    assert not psutil.pid_exists(bg) or psutil.Process(bg).status() == psutil.STATUS_ZOMBIE


async def test_logs_are_capped_and_rotated(tmp_path: Path) -> None:
    rt = ProcessRuntime(log_max_bytes=4096)
    try:
        handle = await rt.start(cfg(tmp_path, ["sh", "-c", "i=0; while [ $i -lt 300 ]; do "
                                               "echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done"]))
        assert await rt.wait(handle) == 0
        log = handle.config.log_path
        assert log is not None
        assert len(log.read_bytes()) <= 4096
        assert len(log.with_name(log.name + ".1").read_bytes()) <= 4096
        assert rt.logs(handle).rstrip().endswith("line-299-xxxxxxxxxxxxxxxxxxxxxxxx")
    finally:
        await rt.shutdown()


async def test_exec_runs_in_the_container_env(runtime: ProcessRuntime, tmp_path: Path) -> None:
    handle = await runtime.start(cfg(tmp_path, ["sleep", "300"], env={"MARK": "m1"}, working_dir=str(tmp_path)))
    code, out = await runtime.exec(handle, ["sh", "-c", "echo $MARK $(pwd); exit 4"], timeout=5)
    assert (code, out) == (4, f"m1 {tmp_path}\n")
    code, out = await runtime.exec(handle, ["no-such-tool"], timeout=5)
    assert code != 0 and 'exec: "no-such-tool": executable file not found in $PATH' in out
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await runtime.exec(handle, ["sh", "-c", "sleep 300 & sleep 300"], timeout=0.2)
    assert time.monotonic() - started < 5
    await runtime.stop(handle, grace=0)
    assert handle.exit_code == 137


async def test_cancelled_exec_leaves_nothing_running(runtime: ProcessRuntime, tmp_path: Path) -> None:
    handle = await runtime.start(cfg(tmp_path, ["sleep", "300"]))
    task = asyncio.create_task(runtime.exec(handle, ["sh", "-c", "sleep 301; true"], timeout=60))

    def probes() -> list[psutil.Process]:
        found = []
        for p in psutil.Process().children(recursive=True):
            try:  # a killed child not yet reaped is a zombie: it no longer runs
                if p.status() != psutil.STATUS_ZOMBIE and "sleep 301; true" in " ".join(p.cmdline()):
                    found.append(p)
            except (psutil.NoSuchProcess, psutil.ZombieProcess):
                pass
        return found

    await until(probes, what="the exec'd command to run")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await until(lambda: not probes(), limit=5, what="the cancelled command to be killed")
    assert handle.exit_code is None  # the container itself runs on


async def test_usage_counts_the_container_tree(runtime: ProcessRuntime, tmp_path: Path) -> None:
    handle = await runtime.start(cfg(tmp_path, ["sh", "-c", "while :; do :; done"]))
    samples: list[tuple[int, int]] = []

    def sampled() -> bool:
        runtime._procs.refresh(force=True)
        samples.append(runtime.usage(handle))
        return samples[-1][0] > 200

    await until(sampled, what="a busy loop to show CPU usage")
    assert samples[-1][1] > 100_000  # the shell's RSS, not the shim's (~10 MB) alone
    await runtime.stop(handle, grace=0)
    assert runtime.usage(handle) == (0, 0)


async def test_nginx_serves_its_pod(runtime: ProcessRuntime, tmp_path: Path) -> None:
    ip = pod_ip()
    port = free_port(ip)
    handle = await runtime.start(cfg(tmp_path, [], image="nginx:1.14.2", ports=[{"containerPort": port}],
                                     env={"HOSTNAME": "web-7d4b9", "POD_IP": ip}, pod_ip=ip))

    def get() -> str | None:
        try:
            with urllib.request.urlopen(f"http://{ip}:{port}/", timeout=1) as r:
                return r.read().decode()
        except OSError:
            return None

    body: list[str] = []
    await until(lambda: body.append(get() or "") or body[-1], what="nginx to answer")
    assert "Welcome to nginx!" in body[-1] and "web-7d4b9" in body[-1] and ip in body[-1]
    with pytest.raises(urllib.error.HTTPError) as e:
        await asyncio.to_thread(urllib.request.urlopen, f"http://{ip}:{port}/missing", timeout=2)
    assert e.value.code == 404 and e.value.headers["Server"] == "nginx/1.14.2"  # the image's tag
    await until(lambda: '"GET /missing HTTP/1.1" 404' in runtime.logs(handle), what="access log")
    assert "ready for start up" in runtime.logs(handle) and "nginx/1.14.2" in runtime.logs(handle)
    await runtime.stop(handle, grace=5)
    assert handle.exit_code == 0  # nginx exits 0 on SIGTERM


async def test_the_kubernetes_basics_app_answers_and_only_its_published_tags_exist(runtime: ProcessRuntime,
                                                                                  tmp_path: Path) -> None:
    from nodes.images import image_env, resolve
    from nodes.runtime.base import ImagePullError

    ref = "gcr.io/google-samples/kubernetes-bootcamp:v2"
    assert image_env(ref)["BOOTCAMP_VERSION"] == "2"
    with pytest.raises(ImagePullError, match=r'Failed to pull image ".*kubernetes-bootcamp:v10".*not found'):
        resolve("jocatalin/kubernetes-bootcamp:v10", None, None)
    ip = pod_ip()
    handle = await runtime.start(cfg(tmp_path, [], image=ref, env={"HOSTNAME": "kubernetes-bootcamp-5485cc", "POD_IP": ip,
                                                                   "BOOTCAMP_VERSION": "2"}, pod_ip=ip))

    def get() -> str | None:
        try:
            with urllib.request.urlopen(f"http://{ip}:8080/", timeout=1) as r:
                return r.read().decode()
        except OSError:
            return None

    body: list[str] = []
    await until(lambda: body.append(get() or "") or body[-1], what="the bootcamp app to answer")
    assert body[-1] == "Hello Kubernetes bootcamp! | Running on: kubernetes-bootcamp-5485cc | v=2\n"
    await runtime.stop(handle, grace=5)


async def test_shutdown_kills_everything(tmp_path: Path) -> None:
    rt = ProcessRuntime()
    handles = [await rt.start(cfg(tmp_path, ["sh", "-c", "sleep 300 & sleep 300"], name=f"c{i}"))
               for i in range(3)]
    await rt.shutdown()
    assert all(h.private.exited.done() for h in handles)


NODE = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from nodes.runtime.base import ContainerConfig
    from nodes.runtime.process import ProcessRuntime

    async def main():
        rt = ProcessRuntime()
        cfg = ContainerConfig(namespace="default", pod_name="p", pod_uid="u", name="c", image="busybox",
                              command=["sh", "-c", "sleep 300 & (setsid sleep 300 &); sleep 300"],
                              log_path=Path(sys.argv[1]))
        await rt.start(cfg)
        print("started", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())
""")


async def test_no_container_outlives_a_killed_node(tmp_path: Path) -> None:
    node = await asyncio.create_subprocess_exec(sys.executable, "-c", NODE, str(tmp_path / "c.log"),
                                                stdout=subprocess.PIPE,
                                                env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        assert node.stdout is not None
        assert (await node.stdout.readline()).strip() == b"started"
        tree = psutil.Process(node.pid)

        def sleeps() -> list[psutil.Process]:
            found = []
            for p in tree.children(recursive=True):
                try:
                    if p.name() == "sleep":
                        found.append(p)
                except psutil.NoSuchProcess:
                    pass  # a short-lived process of the container's shell, gone since the listing
            return found

        # Three sleeps: one in the background, one daemonized into its own session, one in front.
        await until(lambda: len(sleeps()) == 3, what="the container's three sleeps")
        doomed = sleeps() + tree.children(recursive=True)
        node.send_signal(signal.SIGKILL)
        await node.wait()

        def all_gone() -> bool:
            for p in doomed:
                try:
                    if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                        return False
                except psutil.NoSuchProcess:
                    pass
            return True

        await until(all_gone, limit=5, what="every container process to die with the node")
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()


# -- sim runtime --------------------------------------------------------------------------------

async def test_sim_runs_and_exits_on_timers(tmp_path: Path) -> None:
    def behavior(c: ContainerConfig) -> SimBehavior | None:
        return SimBehavior(run_for=0.05, exit_code=2) if c.name == "job" else None

    rt = SimRuntime(start_delay=0.01, behavior=behavior)
    job = await rt.start(cfg(tmp_path, ["run"], name="job"))
    assert await rt.wait(job) == 2
    svc = await rt.start(cfg(tmp_path, [], name="svc", image="nginx",
                             resources={"requests": {"cpu": "200m", "memory": "64Mi"}}))
    cpu, mem = rt.usage(svc)
    assert 0 < cpu <= 200 and 0 < mem <= 64 * 2**20
    assert await rt.exec(svc, ["true"], timeout=1) == (0, "")
    assert "container svc of pod default/p started" in rt.logs(svc)
    await rt.stop(svc, grace=30)
    assert svc.exit_code == 0
    with pytest.raises(ImagePullError):
        await rt.start(cfg(tmp_path, [], image="registry.k8s.io/goproxy:0.1"))
    assert not (tmp_path / "logs").exists()  # no files: nothing but memory per container


async def test_sim_hosts_thousands_of_containers_cheaply(tmp_path: Path) -> None:
    rt = SimRuntime(behavior=lambda c: SimBehavior(ignore_sigterm=True))
    fds_before = len(os.listdir("/proc/self/fd"))
    handles = await asyncio.gather(*(rt.start(cfg(tmp_path, ["app"], name=f"c{i}")) for i in range(3000)))
    assert len(os.listdir("/proc/self/fd")) <= fds_before
    assert psutil.Process().children() == []
    await rt.stop(handles[0], grace=0.01)
    assert handles[0].exit_code == 137
    await rt.shutdown()
    assert all(h.exit_code == 137 for h in handles)


async def _read_to_eof(fd: int, timeout: float = 10.0) -> bytes:
    loop = asyncio.get_running_loop()
    out = b""
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            await asyncio.sleep(0.02)
            continue
        if not data:
            return out
        out += data
    raise AssertionError(f"no EOF within {timeout}s; got {out[-200:]!r}")


async def test_attach_without_stdin_or_tty_follows_the_output_from_now_on_across_rotation(tmp_path: Path) -> None:
    """kubectl attach to a container whose shim writes its log: what it writes after the attach, stdout and
    stderr as the log holds them, across the log's rotation (once here: 10.6 KB of records through an 8 KiB log),
    then EOF when the container exits."""
    rt = ProcessRuntime(log_max_bytes=8192)
    try:
        script = "echo before; read go < " + str(tmp_path / "go") + "; i=0; while [ $i -lt 150 ]; do " \
                 'i=$((i+1)); echo "line $i of the attached output"; done; echo bye >&2; exit 3'
        os.mkfifo(tmp_path / "go")
        handle = await rt.start(cfg(tmp_path, ["sh", "-c", script]))
        await until(lambda: "before" in rt.logs(handle), what="the first line")
        proc = await rt.open_attach(handle)
        assert proc.input is None and proc.error is None and not proc.tty
        os.set_blocking(proc.output, False)
        with open(tmp_path / "go", "w") as go:  # noqa: ASYNC230 - a fifo's other end, opened at once
            go.write("go\n")
        out = await _read_to_eof(proc.output)
        assert out == b"".join(b"line %d of the attached output\n" % i for i in range(1, 151)) + b"bye\n"
        assert await rt.wait(handle) == 3
        proc.close()
        # the session letting go first stops the following, never the container
        handle = await rt.start(cfg(tmp_path, ["sh", "-c", "while true; do echo x; sleep 0.05; done"], name="d"))
        proc = await rt.open_attach(handle)
        proc.kill()
        proc.close()
        await until(lambda: proc.follower.done(), what="the follower stops")
        assert handle.exit_code is None
        await rt.stop(handle, 0)
        with pytest.raises(RunContainerError, match="container d is not running"):
            await rt.open_attach(handle)
    finally:
        await rt.shutdown()
