"""Starts and stops a local cluster as real processes: one `kube-tui control`, one `kube-tui node` per node."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from control.client import Client
from control.errors import ApiError
from tui.cluster import ClusterSpec, NodeSpec
from tui.pdeathsig import PARENT_ENV

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Child:
    """A process this launcher started: a plain child, or the first process of a tmux/terminal window."""

    name: str
    popen: subprocess.Popen[bytes] | None
    log: Path
    pid: int = 0  # for windows: the node process's pid (the window's shell execs it)
    where: str = "child process"

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        try:  # a zombie has exited: only its parent has not read its status yet
            return psutil.Process(self.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False


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
    last_where: str = ""  # where the last add_node started its node, for the dashboard to say
    # The processes end with this one even if it is killed (kill -9, a crash): not for a kept cluster.
    tied: bool = False
    stopping: bool = False  # stop_all() has begun: no node may be added any more
    # add_node / stop_node run on the dashboard's worker threads, stop_all may run in a signal handler
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    # -- processes ------------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str], env_extra: dict[str, str] | None = None) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.extra_env, **(env_extra or {}))
        env.pop(PARENT_ENV, None)
        if self.tied:
            # PR_SET_PDEATHSIG fires when the *thread* that forked the child ends: the main thread, or a
            # thread of the event loop's default executor (the dashboard's `n`), which lives as long as we do.
            env[PARENT_ENV] = str(os.getpid())
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
        return Child(name, popen, log, popen.pid)

    def _spawn_window(self, name: str, args: list[str]) -> Child | None:
        """Start a node where a person can watch it: a new tmux window inside tmux, else a terminal window."""
        argv = [sys.executable, "-m", "tui.cli", *args]
        env_prefix = f"cd {shlex.quote(str(ROOT))} && PYTHONPATH={shlex.quote(str(ROOT))} exec "
        log = self.log_dir / f"{name}.log"
        if os.environ.get("TMUX") and shutil.which("tmux"):
            out = subprocess.run(
                ["tmux", "new-window", "-d", "-P", "-F", "#{pane_pid}", "-n", name, env_prefix + shlex.join(argv)],
                capture_output=True, text=True,
            )
            if out.returncode == 0 and out.stdout.strip().isdigit():
                return Child(name, None, log, int(out.stdout.strip()), where=f"tmux window {name!r}")
        if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
            for term in ("x-terminal-emulator", "gnome-terminal", "konsole", "xterm"):
                if shutil.which(term):
                    pidfile = self.log_dir / f"{name}.pid"
                    script = f"echo $$ > {shlex.quote(str(pidfile))}; {env_prefix}{shlex.join(argv)}"
                    flag = "--" if term == "gnome-terminal" else "-e"
                    subprocess.Popen([term, flag, "sh", "-c", script], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                    deadline = time.monotonic() + 5
                    while time.monotonic() < deadline:
                        try:
                            return Child(name, None, log, int(pidfile.read_text().strip()), where=f"a new {term} window")
                        except (OSError, ValueError):
                            time.sleep(0.05)
                    break
        return None

    async def start_control(self, timeout: float = 30.0) -> None:
        args = ["control", "--listen", self.spec.listen, "--data-dir", str(self.data_dir)]
        if self.spec.path is not None:
            args += ["--timings", str(self.spec.path)]
        args += self.spec.control_args()
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
        # The join token goes in the environment, not the arguments every local user can read in `ps`.
        args = ["node", "--server", self.server, *node.args()]
        child = self._spawn(node.name, args, {"KUBE_TUI_TOKEN": self.token})
        self.nodes[node.name] = child
        return child

    def add_node(self, name: str | None = None) -> tuple[str, str]:
        """Start one more node (in a tmux or terminal window when there is one, else as a child process).

        Returns its name and the command that starts such a node by hand in another terminal.
        """
        names = {n.name for n in self.spec.nodes} | set(self.nodes)
        if name is None:
            i = 1
            while f"node-{i}" in names:
                i += 1
            name = f"node-{i}"
        node = NodeSpec(name=name, cpu="2", memory="4Gi")
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            if self.stopping:
                raise RuntimeError("the cluster is stopping: no node is added")
            child = self._spawn_window(name, self.node_command(node))
            if child is None:
                child = self.start_node(node)
            self.nodes[name] = child
            self.last_where = child.where
        return name, "kube-tui " + shlex.join(self.node_command(node))

    def stop_node(self, name: str, *, hard: bool = True) -> bool:
        """Stop a node this launcher started; hard=True is `kill -9` (a node failure), else a graceful stop."""
        with self._lock:
            child = self.nodes.pop(name, None)
        if child is None:
            return False
        _signal(child, signal.SIGKILL if hard else signal.SIGTERM)
        if not _wait_all([child], 15):
            _signal(child, signal.SIGKILL)
            _wait_all([child], 5)
        return True

    def started_nodes(self) -> list[str]:
        return [n for n, c in self.nodes.items() if c.alive()]

    def record(self, path: Path) -> None:
        """Leave the pids of what is running for `kube-tui down` (after `kube-tui --keep`)."""
        procs = {n: c.pid for n, c in self.nodes.items() if c.alive()}
        if self.control is not None and self.control.alive():
            procs["control-plane"] = self.control.pid
        path.write_text(json.dumps({"server": self.server, "pids": procs}))

    def stop_all(self, timeout: float = 20.0) -> None:
        with self._lock:  # an add_node under way finishes first; none starts after
            self.stopping = True
            nodes = list(self.nodes.values())
        children = nodes + ([self.control] if self.control else [])
        for c in nodes:
            _signal(c, signal.SIGTERM)
        _wait_all(nodes, timeout)
        if self.control:
            _signal(self.control, signal.SIGTERM)
            _wait_all([self.control], timeout)
        for c in children:  # anything still alive, and anything its process group left behind
            if c.popen is not None:
                try:
                    os.killpg(c.popen.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                if c.popen.poll() is None:
                    c.popen.wait(5)
            else:
                _signal(c, signal.SIGKILL)
        self.nodes.clear()
        self.control = None


def _signal(child: Child, sig: int) -> None:
    if child.alive():
        try:
            os.kill(child.pid, sig)
        except ProcessLookupError:
            pass


def _wait_all(children: list[Child], timeout: float) -> bool:
    """Wait until every child has exited; False if some still run after `timeout`."""
    deadline = time.monotonic() + timeout
    for c in children:
        if c.popen is not None:
            try:
                c.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                return False
        else:
            while c.alive():
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)
    return True


def stop_recorded(path: Path, timeout: float = 20.0) -> list[str]:
    """Stop (SIGTERM, then SIGKILL) what `record` left; nodes before the control plane. Returns what stopped."""
    raw = json.loads(path.read_text())
    pids: dict[str, int] = raw.get("pids", {})
    order = [n for n in pids if n != "control-plane"] + (["control-plane"] if "control-plane" in pids else [])
    stopped = []
    for group in ([n for n in order if n != "control-plane"], ["control-plane"]):
        children = [Child(n, None, Path(), pids[n]) for n in group if n in pids]
        live = [c for c in children if c.alive()]
        for c in live:
            _signal(c, signal.SIGTERM)
        if not _wait_all(live, timeout):
            for c in live:
                _signal(c, signal.SIGKILL)
            _wait_all(live, 5)
        stopped += [c.name for c in live]
    path.unlink(missing_ok=True)
    return stopped


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


async def answers(server: str, token: str | None, timeout: float, server_key: str | None = None) -> bool:
    """Does a kube-tui API server answer at this address (with this credential)?"""
    c = Client(server, token=token, timeout=timeout, retry_for=timeout, identity="probe", server_key=server_key)
    try:
        await c.connect(timeout=timeout)
        return True
    except ApiError:
        return False
    finally:
        await c.close()
