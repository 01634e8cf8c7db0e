"""The soak's own cluster: a `kube-tui control` process and node processes it can kill -9, stop and restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from control.client import Client
from control.curve import read_public_key
from control.netutil import free_port_pair

ROOT = Path(__file__).resolve().parents[2]

CLUSTER_FILE = """apiVersion: kube-tui/v1
kind: Cluster
metadata: {name: soak}
spec:
  timings: {leaseDuration: 2, nodeMonitorPeriod: 0.5, nodeMonitorGracePeriod: 3, evictionTimeout: 2,
            backoffBase: 0.5, backoffMax: 5, schedulerBackoff: 0.1}
"""
GRACE, EVICTION, MONITOR = 3.0, 2.0, 0.5


class Child:
    """A kube-tui (or python -m) subprocess in its own process group, output to a log file."""

    def __init__(self, args: list[str], home: Path, log: Path, *, module: str = "tui.cli", token: str | None = None) -> None:
        self.args = args
        self.log = log
        env = dict(os.environ, KUBE_TUI_HOME=str(home), PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        env.pop("KUBE_TUI_SERVER", None)
        env.pop("KUBE_TUI_TOKEN", None)
        if token:  # in the environment, not in argv: other local users can read a process's arguments
            env["KUBE_TUI_TOKEN"] = token
        self._out = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen([sys.executable, "-m", module, *args], cwd=ROOT, env=env, stdout=self._out,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.popen.pid

    def text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    async def wait_line(self, needle: str, timeout: float = 30.0, after: int = 0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()[after:]
            for line in text.splitlines():
                if needle in line:
                    return line
            if self.popen.poll() is not None:
                raise RuntimeError(f"{' '.join(self.args[:2])} exited ({self.popen.returncode}) before {needle!r}:\n{text[-2000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{' '.join(self.args[:2])} did not print {needle!r} within {timeout:g}s:\n{text[-2000:]}")
            await asyncio.sleep(0.05)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            os.kill(self.pid, sig)

    def kill9(self) -> None:
        self.signal(signal.SIGKILL)
        self.popen.wait(10)
        self._killgroup()

    def _killgroup(self) -> None:
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, timeout: float = 10.0) -> int | None:
        if self.alive():
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self._killgroup()
        if self.alive():
            self.popen.wait(5)
        self._out.close()
        return self.popen.returncode


class SoakCluster:
    """One control plane (scheduler + controllers) and a pool of simulated nodes, all real processes."""

    def __init__(self, workdir: Path, *, sim_nodes: int = 4, curve: bool = False, say=print) -> None:  # type: ignore[no-untyped-def]
        self.dir = workdir
        self.home = workdir / "home"
        self.data = workdir / "data"
        self.cluster_file = workdir / "cluster.yaml"
        self.sim_nodes = sim_nodes
        self.curve = curve
        self.say = say
        self.port = free_port_pair()
        self.server = f"tcp://127.0.0.1:{self.port}"
        self.control: Child | None = None
        self.pool: Child | None = None
        self.others: list[Child] = []
        self.admin = ""
        self.server_key: str | None = None
        self.control_starts = 0

    async def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cluster_file.write_text(CLUSTER_FILE)
        await self.start_control()
        self.pool = Child(["nodes", "--count", str(self.sim_nodes), "--name-prefix", "soak-sim-", "--runtime", "sim",
                           "--start-delay", "0.05", "--pods", "250", "--server", self.server,
                           *self.key_args(), "--timings", str(self.cluster_file)], self.home, self.dir / "pool.log",
                          token=self.admin)
        client = self.client("soak-setup")
        try:
            await wait_until(lambda: self.ready_nodes(client, self.sim_nodes), 60, "the simulated nodes to be Ready")
        finally:
            await client.close()

    def key_args(self) -> list[str]:
        return ["--server-key", self.server_key] if self.server_key else []

    async def start_control(self) -> float:
        """Start (or restart on the same port and data dir) the control plane; returns seconds until it serves."""
        t0 = time.monotonic()
        args = ["control", "--listen", self.server, "--data-dir", str(self.data), "--timings", str(self.cluster_file),
                "--bookmark-interval", "0.5"]
        if self.curve:
            args.append("--curve")
        self.control = Child(args, self.home, self.dir / f"control-{self.control_starts}.log")
        self.control_starts += 1
        await self.control.wait_line("To add a node", timeout=60)
        self.admin = json.loads((self.data / "credentials.json").read_text())["admin"]
        self.server_key = read_public_key(self.data) if self.curve else None
        return time.monotonic() - t0

    def join_token(self) -> str:
        creds = json.loads((self.data / "credentials.json").read_text())
        tid, t = next(iter(creds["join"].items()))
        return f"{tid}.{t['secret']}"

    def client(self, identity: str, *, timeout: float = 5.0, retry_for: float = 30.0) -> Client:
        return Client(self.server, token=self.admin, identity=identity, timeout=timeout, retry_for=retry_for,
                      server_key=self.server_key)

    @staticmethod
    async def ready_nodes(client: Client, want: int, prefix: str = "") -> bool:
        nodes = (await client.list("nodes"))["items"]
        ready = [n for n in nodes if n["metadata"]["name"].startswith(prefix) and is_ready(n)]
        return len(ready) >= want

    def spawn(self, args: list[str], name: str, *, module: str = "tui.cli", token: str | None = None) -> Child:
        c = Child(args, self.home, self.dir / f"{name}.log", module=module, token=token)
        self.others.append(c)
        return c

    def stop(self) -> None:
        for c in [*self.others, self.pool, self.control]:
            if c is not None:
                c.stop()


def is_ready(node: dict) -> bool:
    for c in (node.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return bool(c.get("status") == "True")
    return False


async def wait_until(cond, timeout: float, what: str, interval: float = 0.1) -> float:  # type: ignore[no-untyped-def]
    """Poll an (async) condition; returns the seconds it took, raises TimeoutError naming `what`."""
    t0 = time.monotonic()
    last: BaseException | None = None
    while True:
        try:
            r = cond()
            if asyncio.iscoroutine(r):
                r = await r
            if r:
                return time.monotonic() - t0
        except Exception as e:  # an API error while the server restarts: keep polling
            last = e
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"{what}: not reached within {timeout:g}s" + (f" (last error: {last})" if last else ""))
        await asyncio.sleep(interval)
