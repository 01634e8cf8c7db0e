"""`kube-tui up [-f demo.yaml] [--tmux]`: the cluster of a cluster file, without the dashboard."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from control import aio, config
from control.apiserver.auth import Credentials
from tui import cluster as cluster_file
from tui.commands.common import fail, stop_on_signal
from tui.launcher import Launcher

TMUX_SESSION = "kube-tui"  # the session `kube-tui up --tmux` makes and `kube-tui down` ends


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("-f", "--filename", default=None, help="cluster file (default: ./demo.yaml if there is one, else the one installed with kube-tui)")
    p.add_argument("--data-dir", default=None, help="the store's directory (default ~/.kube-tui/data)")
    p.add_argument("--tmux", action="store_true", help="a tmux session: dashboard, control-plane log, one pane per node")


def check_no_other_cluster(spec: cluster_file.ClusterSpec) -> None:
    """RuntimeError when a NodePort of the cluster file's Services already answers: another kube-tui cluster
    runs on this machine, and NodePorts on 127.0.0.1 belong to the whole machine, so two would collide."""
    for m in spec.objects:
        if m.obj.get("kind") != "Service":
            continue
        for p in (m.obj.get("spec") or {}).get("ports") or []:
            port = p.get("nodePort") if isinstance(p, dict) else None
            if not isinstance(port, int):
                continue
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                raise RuntimeError(
                    f"127.0.0.1:{port} (a NodePort of {spec.path.name}) already answers: another kube-tui cluster "
                    "seems to be running on this machine. NodePorts listen on 127.0.0.1, which every cluster shares "
                    "(pod and Service addresses are each cluster's own), so this one's would collide with its; "
                    "stop it first (`q` in its dashboard, or `kube-tui down`), or attach to it")


async def start_cluster(spec: cluster_file.ClusterSpec, data_dir: Path, *, quiet: bool = False,
                        tied: bool = True) -> Launcher:
    """Start the control plane and every node of the cluster file, then apply its manifests. `tied`: the
    processes end with this one even if it is killed (not for a cluster to keep running after it)."""
    from tui.commands.apply import apply_all

    check_no_other_cluster(spec)

    launcher = Launcher(spec, data_dir, config.home() / "logs", tied=tied)
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    try:
        say(f"starting the control plane on {spec.listen} (data in {data_dir}) ...")
        await launcher.start_control()
        config.record(launcher.server, _admin(data_dir), data_dir)
        for node in spec.nodes:
            say(f"starting node {node.name} (cpu {node.cpu}, memory {node.memory}) ...")
            launcher.start_node(node)
        if spec.objects:
            from control.client import Client

            client = Client(launcher.server, token=_admin(data_dir), identity="kube-tui apply")
            try:
                await client.connect()
                # As kind's --wait: the manifests go in once the nodes are Ready (for at most NODES_READY_WAIT
                # seconds), so the scheduler's first decisions see the cluster, not "no nodes available".
                await _nodes_ready(client, [n.name for n in spec.nodes], NODES_READY_WAIT)
                await apply_all(client, spec.objects, create_only=False, namespace=None, out=say)
            finally:
                await client.close()
    except BaseException:
        launcher.stop_all()
        raise
    return launcher


NODES_READY_WAIT = 15.0


async def _nodes_ready(client: Any, names: list[str], timeout: float) -> bool:
    """Wait until every named node is Ready, for at most `timeout` seconds; whether they all were."""
    from control.api.meta import node_ready

    deadline = time.monotonic() + timeout
    while True:
        ready = {n["metadata"]["name"] for n in (await client.list("Node"))["items"] if node_ready(n)}
        if set(names) <= ready:
            return True
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)


def _admin(data_dir: Path) -> str:
    return Credentials.load(data_dir).admin


async def up(args: argparse.Namespace) -> int:
    spec = cluster_file.load(args.filename)
    data_dir = Path(args.data_dir) if args.data_dir else config.default_data_dir()
    started = time.time()
    stopped = stop_on_signal()  # a signal while the cluster starts stops what has started, too
    try:
        launcher = await start_cluster(spec, data_dir)
    except RuntimeError as e:
        return fail(f"error: {e}")
    print(f"\ncluster {spec.name} is up: {len(spec.nodes)} nodes, server {launcher.server}")
    print(f"logs: {launcher.log_dir}")
    kubeconfig = config.home() / "kubeconfig"
    if kubeconfig.exists() and kubeconfig.stat().st_mtime >= started - 1:  # this control plane's, not a stale one
        print(f"kubectl: export KUBECONFIG={kubeconfig}")
    print("add a node from another terminal:")
    print(f"  kube-tui node --server {launcher.server} --token {launcher.token} --name node-9")
    print("Ctrl-C stops the cluster (the store keeps its state).", flush=True)
    try:
        await stopped.wait()
    finally:
        print("stopping ...", file=sys.stderr)
        launcher.stop_all()
    return 0


def tmux(args: argparse.Namespace) -> int:
    if shutil.which("tmux") is None:
        return fail("error: tmux is not installed (apt-get install tmux), or run `kube-tui up` without --tmux")
    spec = cluster_file.load(args.filename)
    data_dir = Path(args.data_dir) if args.data_dir else config.default_data_dir()
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    creds = Credentials.load(data_dir)  # so the node panes have a join token before the server starts
    exe = shlex.join([sys.executable, "-m", "tui.cli"])
    path = str(spec.path)
    session = TMUX_SESSION
    subprocess.run(["tmux", "kill-session", "-t", f"={session}"], capture_output=True)  # '=': that one exactly
    control = (f"{exe} control --listen {spec.listen} --data-dir {shlex.quote(str(data_dir))} --timings {shlex.quote(path)}"
               + "".join(f" {shlex.quote(a)}" for a in spec.control_args()))
    dashboard = f"{exe} dashboard --server {spec.listen} -f {shlex.quote(path)} --attach-only"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-n", "dashboard", dashboard], check=True)
    subprocess.run(["tmux", "new-window", "-t", session, "-n", "cluster", control], check=True)
    for node in spec.nodes:
        cmd = f"{exe} node --server {spec.listen} --token {creds.first_join_token()} " + shlex.join(node.args())
        subprocess.run(["tmux", "split-window", "-t", f"{session}:cluster", cmd], check=True)
        subprocess.run(["tmux", "select-layout", "-t", f"{session}:cluster", "tiled"], check=True)
    subprocess.run(["tmux", "select-window", "-t", f"{session}:dashboard"], check=True)
    print(f"tmux session {session!r}: window 'dashboard', window 'cluster' (control plane + one pane per node); "
          "`kube-tui down` stops it all")
    if sys.stdin.isatty():
        return subprocess.call(["tmux", "attach", "-t", session])
    print(f"attach with: tmux attach -t {session}")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        if args.tmux:
            return tmux(args)
        return aio.run(up(args))
    except (cluster_file.ClusterFileError, OSError) as e:
        return fail(f"error: {e}")
    except Exception as e:
        from tui.manifests import ManifestError

        if isinstance(e, ManifestError):
            return fail(str(e))
        raise
