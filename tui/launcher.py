"""Starts and stops a local cluster as real processes: one `kube-tui control`, one `kube-tui node` per node."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from control.client import Client
from control.errors import ApiError
from tui.cluster import ClusterSpec, NodeSpec

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Child:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class Launcher:
    """Owns the processes it started; stop_all() leaves none behind."""

    spec: ClusterSpec
    data_dir: Path
    log_dir: Path
    server: str = ""
    token: str = ""
    control: Child | None = None
    nodes: dict[str, Child] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    # -- processes ------------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.extra_env)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                [sys.executable, "-m", "tui.cli", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=ROOT,
                start_new_session=True,  # a Ctrl-C in the dashboard's terminal is ours to handle
            )
        return Child(name, popen, log)

    async def start_control(self, timeout: float = 30.0) -> None:
        args = ["control", "--listen", self.spec.listen, "--data-dir", str(self.data_dir)]
        if self.spec.path is not None:
            args += ["--timings", str(self.spec.path)]
        self.control = self._spawn("control-plane", args)
        self.server = self.spec.listen
        deadline = time.monotonic() + timeout
        creds = self.data_dir / "credentials.json"
        while True:
            if self.control.popen.poll() is not None:
                raise RuntimeError(f"the control plane exited (code {self.control.popen.returncode}); see {self.control.log}:\n{tail(self.control.log)}")
            if creds.exists() and await answers(self.server, admin_token(self.data_dir), 0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the control plane did not answer within {timeout:.0f}s; see {self.control.log}")
            await asyncio.sleep(0.1)
        self.token = join_token(self.data_dir)

    def node_command(self, node: NodeSpec) -> list[str]:
        return ["node", "--server", self.server, "--token", self.token, *node.args()]

    def start_node(self, node: NodeSpec) -> Child:
        child = self._spawn(node.name, self.node_command(node))
        self.nodes[node.name] = child
        return child

    def add_node(self, name: str | None = None) -> tuple[str, str]:
        """Start one more node like the cluster's smallest; return its name and the command to start it by hand."""
        names = {n.name for n in self.spec.nodes} | set(self.nodes)
        if name is None:
            i = 1
            while f"node-{i}" in names:
                i += 1
            name = f"node-{i}"
        node = NodeSpec(name=name, cpu="2", memory="4Gi")
        self.start_node(node)
        return name, "kube-tui " + shlex.join(self.node_command(node))

    def stop_node(self, name: str, *, hard: bool = True) -> bool:
        """Stop a node this launcher started; hard=True is `kill -9` (a node failure), else a graceful stop."""
        child = self.nodes.pop(name, None)
        if child is None:
            return False
        _signal(child, signal.SIGKILL if hard else signal.SIGTERM)
        try:
            child.popen.wait(15)
        except subprocess.TimeoutExpired:
            _signal(child, signal.SIGKILL)
            child.popen.wait(5)
        return True

    def started_nodes(self) -> list[str]:
        return [n for n, c in self.nodes.items() if c.popen.poll() is None]

    def stop_all(self, timeout: float = 20.0) -> None:
        children = list(self.nodes.values()) + ([self.control] if self.control else [])
        for c in self.nodes.values():
            _signal(c, signal.SIGTERM)
        _wait_all(list(self.nodes.values()), timeout)
        if self.control:
            _signal(self.control, signal.SIGTERM)
            _wait_all([self.control], timeout)
        for c in children:  # anything still alive, and anything its process group left behind
            try:
                os.killpg(c.popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if c.popen.poll() is None:
                c.popen.wait(5)
        self.nodes.clear()
        self.control = None


def _signal(child: Child, sig: int) -> None:
    if child.popen.poll() is None:
        try:
            os.kill(child.popen.pid, sig)
        except ProcessLookupError:
            pass


def _wait_all(children: list[Child], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    for c in children:
        try:
            c.popen.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def admin_token(data_dir: Path) -> str | None:
    try:
        return json.loads((data_dir / "credentials.json").read_text())["admin"]
    except (OSError, ValueError, KeyError):
        return None


def join_token(data_dir: Path) -> str:
    raw = json.loads((data_dir / "credentials.json").read_text())
    for tid, t in raw.get("join", {}).items():
        if not t.get("expires") or t["expires"] > time.time():
            return f"{tid}.{t['secret']}"
    raise RuntimeError("the control plane has no valid join token: create one with `kube-tui token create`")


async def answers(server: str, token: str | None, timeout: float) -> bool:
    """Does a kube-tui API server answer at this address (with this credential)?"""
    c = Client(server, token=token, timeout=timeout, retry_for=timeout, identity="probe")
    try:
        await c.connect(timeout=timeout)
        return True
    except ApiError:
        return False
    finally:
        await c.close()
