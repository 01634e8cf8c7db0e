"""The launcher the dashboard uses for `n` and `x`: a node in a new tmux window when inside tmux, else a child."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from control.client import Client
from control.plane import ControlPlane
from tests.helpers import free_port_pair, kube_tui_env, wait_for, wait_for_sync
from tui.cluster import ClusterSpec
from tui.launcher import Launcher

pytestmark = pytest.mark.slow


def launcher_for(plane: ControlPlane, tmp_path: Path) -> Launcher:
    assert plane.server is not None and plane.credentials is not None
    lau = Launcher(ClusterSpec(), tmp_path / "data", tmp_path / "logs")
    lau.server = plane.server.address
    lau.token = plane.credentials.first_join_token()
    return lau


async def node_ready(client: Client, name: str) -> bool:
    nodes = (await client.list("nodes"))["items"]
    return any(n["metadata"]["name"] == name for n in nodes)


async def test_add_node_as_child_then_stop_it(plane: ControlPlane, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    lau = launcher_for(plane, tmp_path)
    try:
        name, command = lau.add_node()
        assert name == "node-1" and command.startswith("kube-tui node --server ") and "--token" in command
        assert lau.last_where == "child process"
        await wait_for(lambda: node_ready(client, name), timeout=30, what="the launched node to register")
        assert lau.started_nodes() == [name]
        # The join token reaches the child in its environment, not in arguments every user can read in ps.
        cmdline = " ".join(psutil.Process(lau.nodes[name].pid).cmdline())
        assert lau.token not in cmdline and "--token" not in cmdline
        assert lau.stop_node(name) and lau.started_nodes() == []
    finally:
        lau.stop_all()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
async def test_add_node_opens_a_tmux_window_inside_tmux(plane: ControlPlane, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sock = str(tmp_path / "tmux.sock")
    subprocess.run(["tmux", "-S", sock, "new-session", "-d", "-s", "test", "sleep 600"], check=True)
    try:
        server_pid = subprocess.run(["tmux", "-S", sock, "display", "-p", "#{pid}"], capture_output=True, text=True).stdout.strip()
        monkeypatch.setenv("TMUX", f"{sock},{server_pid},0")
        lau = launcher_for(plane, tmp_path)
        try:
            name, _ = lau.add_node()
            assert lau.last_where == f"tmux window {name!r}"
            windows = subprocess.run(["tmux", "-S", sock, "list-windows", "-F", "#{window_name}"], capture_output=True, text=True).stdout.split()
            assert name in windows
            await wait_for(lambda: node_ready(client, name), timeout=30, what="the node in the tmux window to register")
            pid = lau.nodes[name].pid
            assert lau.stop_node(name)

            def gone() -> bool:
                try:
                    return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # dead, tmux not yet reaped it
                except psutil.NoSuchProcess:
                    return True

            await wait_for(gone, timeout=10, what="the node process in the tmux window to end")
        finally:
            lau.stop_all()
    finally:
        subprocess.run(["tmux", "-S", sock, "kill-server"], capture_output=True)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def small_cluster(tmp_path: Path) -> tuple[Path, str]:
    """A cluster file of one simulated node on a free port, and the address its API server will have."""
    port = free_port_pair()
    path = tmp_path / "cluster.yaml"
    path.write_text(
        "apiVersion: kube-tui/v1\nkind: Cluster\nmetadata: {name: t}\n"
        f"spec:\n  controlPlane: {{listen: 'tcp://127.0.0.1:{port}'}}\n"
        "  nodes:\n  - {name: n1, cpu: '2', memory: 2Gi, runtime: sim}\n"
    )
    return path, f"tcp://127.0.0.1:{port}"


def processes_of(address: str, but: int = 0) -> list[psutil.Process]:
    """The processes of the cluster at `address`: its control plane listens there, its nodes talk to it."""
    return [p for p in psutil.process_iter(["cmdline"]) if p.pid != but and address in (p.info["cmdline"] or [])]


def kill_left(address: str) -> None:
    left = processes_of(address)
    for p in left:
        p.kill()
    psutil.wait_procs(left, timeout=10)


async def test_up_tmux_lays_out_dashboard_control_plane_and_nodes(tmp_path: Path) -> None:
    port = free_port_pair()
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text(
        "apiVersion: kube-tui/v1\nkind: Cluster\nmetadata: {name: t}\n"
        f"spec:\n  controlPlane: {{listen: 'tcp://127.0.0.1:{port}'}}\n"
        "  nodes:\n  - {name: n1, cpu: '2', memory: 2Gi, runtime: sim}\n  - {name: n2, cpu: '2', memory: 2Gi, runtime: sim}\n"
    )
    env = kube_tui_env(tmp_path / "home", TMUX_TMPDIR=str(tmp_path))
    env.pop("TMUX", None)
    out = subprocess.run(["python3", "-m", "tui.cli", "up", "--tmux", "-f", str(cluster)], env=env, cwd=Path(__file__).parents[2],
                         capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    try:
        assert out.returncode == 0, out.stderr
        assert "attach with: tmux attach -t kube-tui" in out.stdout
        windows = subprocess.run(["tmux", "list-windows", "-t", "kube-tui", "-F", "#{window_name}:#{window_panes}"],
                                 env=env, capture_output=True, text=True).stdout.split()
        assert windows == ["dashboard:1", "cluster:3"], windows
        token = (tmp_path / "home" / "data" / "credentials.json").read_text()
        import json

        admin = json.loads(token)["admin"]
        client = Client(f"tcp://127.0.0.1:{port}", token=admin, retry_for=30)
        try:
            async def both() -> bool:
                names = {n["metadata"]["name"] for n in (await client.list("nodes"))["items"]}
                return names == {"n1", "n2"}

            await wait_for(both, timeout=40, what="both node panes to register their nodes")
        finally:
            await client.close()
        down = subprocess.run(["python3", "-m", "tui.cli", "down"], env=env, cwd=Path(__file__).parents[2],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
        assert down.returncode == 0 and "stopped: the tmux session 'kube-tui'" in down.stdout, down.stderr
        assert subprocess.run(["tmux", "has-session", "-t", "kube-tui"], env=env, capture_output=True).returncode != 0
    finally:
        subprocess.run(["tmux", "kill-server"], env=env, capture_output=True)
        subprocess.run(["pkill", "-f", str(tmp_path / "home")], capture_output=True)


async def test_a_kept_cluster_is_stopped_by_down(plane: ControlPlane, client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.helpers import run_cli

    for var in ("TMUX", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    lau = launcher_for(plane, tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    try:
        name, _ = lau.add_node()
        await wait_for(lambda: node_ready(client, name), timeout=30, what="the node to register")
        pid = lau.nodes[name].pid
        lau.record(home / "cluster.json")
        out = run_cli(["down"], home)
        assert out.returncode == 0 and out.stdout.strip() == f"stopped: {name}", out.stdout + out.stderr
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        again = run_cli(["down"], home)
        assert again.returncode == 1 and "no running cluster is recorded" in again.stderr
    finally:
        lau.stop_all()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
async def test_a_closed_terminal_stops_the_cluster_the_dashboard_started(tmp_path: Path, sig: int) -> None:
    """`kube-tui` started the cluster; its terminal goes away (SIGHUP) or it is told to stop (SIGTERM):
    the cluster stops with it, as after `q`, instead of running on unrecorded."""
    cluster, address = small_cluster(tmp_path)
    env = kube_tui_env(tmp_path / "home", TERM="xterm-256color", COLUMNS="120", LINES="40")
    for var in ("TMUX", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(var, None)
    main, term = os.openpty()  # the dashboard needs a terminal
    dash = subprocess.Popen(["python3", "-m", "tui.cli", "-f", str(cluster)], env=env, cwd=Path(__file__).parents[2],
                            stdin=term, stdout=term, stderr=term, start_new_session=True)
    os.close(term)
    screen = bytearray()

    def drain() -> None:
        while select.select([main], [], [], 0)[0]:
            try:
                screen.extend(os.read(main, 65536))
            except OSError:
                return

    try:
        def started() -> bool:
            drain()
            return b"n1" in screen and len(processes_of(address, but=dash.pid)) >= 2  # the control plane and the node

        try:
            await wait_for(started, timeout=60, what="the dashboard to start its cluster and show its node")
        except AssertionError as e:
            raise AssertionError(f"{e}; the terminal showed:\n{screen.decode(errors='replace')[-3000:]}") from None
        dash.send_signal(sig)

        def ended() -> bool:
            drain()
            return dash.poll() is not None and not processes_of(address)

        await wait_for(ended, timeout=40, what="the dashboard and its cluster to stop")
        assert dash.returncode == 128 + sig
    finally:
        os.close(main)
        if dash.poll() is None:
            dash.kill()
            dash.wait(10)
        kill_left(address)


def test_a_killed_up_takes_its_cluster_with_it(tmp_path: Path) -> None:
    """kill -9 of `kube-tui up` (nothing can run on it): the control plane and the nodes it started get
    SIGTERM from the kernel (PR_SET_PDEATHSIG) and stop, instead of running on with nobody to stop them."""
    from tests.helpers import Proc

    cluster, address = small_cluster(tmp_path)
    up = Proc(["up", "-f", str(cluster)], tmp_path / "home")
    try:
        up.wait_line("Ctrl-C stops the cluster", timeout=60)
        assert len(processes_of(address)) == 2  # the control plane and the node
        up.kill9()
        wait_for_sync(lambda: not processes_of(address), timeout=30, what="the control plane and the node to stop")
    finally:
        up.close()
        kill_left(address)


async def test_a_cluster_files_manifests_go_in_once_its_nodes_are_ready(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui import cluster as cluster_file
    from tui.commands.up import start_cluster

    monkeypatch.setenv("KUBE_TUI_HOME", str(tmp_path / "home"))
    port = free_port_pair()
    f = tmp_path / "cluster.yaml"
    f.write_text(
        "apiVersion: kube-tui/v1\nkind: Cluster\nmetadata: {name: t}\n"
        f"spec:\n  controlPlane: {{listen: 'tcp://127.0.0.1:{port}'}}\n"
        "  nodes:\n  - {name: n1, runtime: sim}\n  - {name: n2, runtime: sim}\n"
        "---\napiVersion: v1\nkind: Pod\nmetadata: {name: first}\nspec:\n  containers: [{name: c, image: busybox}]\n")
    launcher = await start_cluster(cluster_file.load(f), tmp_path / "data", quiet=True)
    try:
        from tui.commands.up import _admin

        client = Client(launcher.server, token=_admin(tmp_path / "data"))
        try:
            await client.connect()
            assert await wait_for(lambda: _bound(client, "first"), 20, what="the pod bound") in ("n1", "n2")
            events = (await client.list("Event", "default"))["items"]
            # applied after both nodes were Ready: the scheduler's first try found them
            assert not [e for e in events if e["reason"] == "FailedScheduling"], events
        finally:
            await client.close()
    finally:
        launcher.stop_all()


async def _bound(client: Client, name: str) -> str | None:
    return (await client.get("Pod", name))["spec"].get("nodeName")
