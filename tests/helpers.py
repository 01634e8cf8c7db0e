"""Test helpers: wait for a condition (never a fixed sleep), free ports, and kube-tui processes."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from control.netutil import free_port_pair  # noqa: F401  (re-exported for the tests)

ROOT = Path(__file__).resolve().parent.parent
# uvloop's timers count whole milliseconds of its cached clock: a sleep may end up to ~1 ms early as
# time.monotonic() sees it. Tests that check a delay was honoured allow that much.
TIMER_SLACK = 0.002
# shared/ sits beside the work tree (in CI: beside the fresh clone)
K8S_DOCS = ROOT.parent / "shared" / "manifests" / "k8s-docs"
KUBECTL_132 = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.32")  # the real kubectl these tests compare with


async def wait_for(cond: Callable[[], Any | Awaitable[Any]], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> Any:
    """Poll cond() until it returns something truthy; fail the test with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while True:
        try:
            result = cond()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
        except AssertionError as e:
            last_exc = e
        if time.monotonic() > deadline:
            msg = f"timed out after {timeout}s waiting for {what or cond}"
            if last_exc:
                msg += f" (last: {last_exc})"
            raise AssertionError(msg)
        await asyncio.sleep(interval)


def wait_for_sync(cond: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = cond()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or cond}")
        time.sleep(interval)


async def communicate(proc: asyncio.subprocess.Process, data: bytes | None = None,
                      timeout: float = 30.0) -> tuple[bytes, bytes]:
    """proc.communicate() with a timeout that kills and reaps the process when it expires (a bare
    asyncio.wait_for would leave it running)."""
    try:
        return await asyncio.wait_for(proc.communicate(data), timeout)
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise


async def gone(client: Any, kind: str, name: str, namespace: str | None = "default") -> bool:
    """Whether the object is no longer there (the API server answers NotFound)."""
    from control.errors import ApiError

    try:
        await client.get(kind, name, namespace)
    except ApiError as e:
        return e.code == 404
    return False


def kube_tui_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["KUBE_TUI_HOME"] = str(home)
    env.pop("KUBE_TUI_SERVER", None)
    env.pop("KUBE_TUI_TOKEN", None)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


class Proc:
    """A kube-tui subprocess whose output lines are collected; killed (with its group) on close."""

    def __init__(self, args: list[str], home: Path, **env: str) -> None:
        self.args = args
        self.lines: list[str] = []
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", *args],
            cwd=ROOT,
            env=kube_tui_env(home, **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        os.set_blocking(self.popen.stdout.fileno(), False)  # type: ignore[union-attr]
        self._partial = ""

    def read(self) -> list[str]:
        assert self.popen.stdout is not None
        if self.popen.stdout.closed:
            return self.lines  # closed by close(), which read what was left
        try:
            chunk = self.popen.stdout.read()
        except (BlockingIOError, TypeError):
            chunk = None
        if chunk:
            data = self._partial + chunk
            *full, self._partial = data.split("\n")
            self.lines.extend(full)
        return self.lines

    def output(self) -> str:
        self.read()
        return "\n".join(self.lines) + self._partial

    def wait_line(self, needle: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            for line in self.read():
                if needle in line:
                    return line
            if self.popen.poll() is not None:
                self.read()
                raise AssertionError(f"process {self.args} exited ({self.popen.returncode}) before printing {needle!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {needle!r} from {self.args}:\n{self.output()}")
            time.sleep(0.02)

    def signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            os.kill(self.popen.pid, sig)

    def kill9(self) -> None:
        self.signal(signal.SIGKILL)
        self.popen.wait(10)

    def close(self, timeout: float = 10.0) -> int | None:
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.popen.poll() is None:
            self.popen.wait(5)
        if self.popen.stdout and not self.popen.stdout.closed:
            self.read()  # the last of its output, for output() after the close
            self.popen.stdout.close()
        return self.popen.returncode


def run_cli(args: list[str], home: Path, input: str | None = None, timeout: float = 30.0, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=ROOT,
        env=kube_tui_env(home, **env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
