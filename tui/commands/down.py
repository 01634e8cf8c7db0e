"""`kube-tui down`: stop the cluster that `kube-tui --keep` (nodes first, then the control plane) or
`kube-tui up --tmux` (its tmux session) left running."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import time

from control import config
from tui.commands.common import fail


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for a graceful stop before SIGKILL")


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait up to `timeout` seconds for the processes to exit; the ones still there."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for pid in pids:
            try:
                os.kill(pid, 0)
                alive.append(pid)
            except ProcessLookupError:
                pass
            except PermissionError:
                alive.append(pid)
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def run(args: argparse.Namespace) -> int:
    from tui.commands.up import TMUX_SESSION
    from tui.launcher import stop_recorded

    path = config.home() / "cluster.json"
    if not path.exists():
        # `kube-tui up --tmux` runs the cluster in its tmux session's panes: ending the session stops them
        # (each gets SIGHUP; the store has every acknowledged write on disk, the nodes take their containers).
        target = f"={TMUX_SESSION}"  # '=': exactly that session, not one whose name merely starts so
        if shutil.which("tmux") and subprocess.run(["tmux", "has-session", "-t", target],
                                                   capture_output=True).returncode == 0:
            panes = subprocess.run(["tmux", "list-panes", "-s", "-t", target, "-F", "#{pane_pid}"],
                                   capture_output=True, text=True).stdout.split()
            subprocess.run(["tmux", "kill-session", "-t", target], capture_output=True)  # SIGHUP: a graceful stop
            left = _wait_gone([int(p) for p in panes if p.isdigit()], args.timeout)
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            print(f"stopped: the tmux session {TMUX_SESSION!r} of `kube-tui up --tmux` (control plane and nodes"
                  + (f"; {len(left)} killed after {args.timeout:g}s)" if left else ")"))
            return 0
        return fail(f"error: no running cluster is recorded in {path}: `kube-tui down` stops what `kube-tui --keep` "
                    "or `kube-tui up --tmux` left running; a `kube-tui up` or `kube-tui control` in a terminal stops "
                    "with Ctrl-C there")
    stopped = stop_recorded(path, args.timeout)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running any more")
    return 0
