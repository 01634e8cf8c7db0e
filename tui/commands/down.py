"""`kube-tui down`: stop the cluster that `kube-tui --keep` (nodes first, then the control plane) or
`kube-tui up --tmux` (its tmux session) left running."""

from __future__ import annotations

import argparse
import shutil
import subprocess

from control import config
from tui.commands.common import fail


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for a graceful stop before SIGKILL")


def run(args: argparse.Namespace) -> int:
    from tui.commands.up import TMUX_SESSION
    from tui.launcher import stop_recorded

    path = config.home() / "cluster.json"
    if not path.exists():
        # `kube-tui up --tmux` runs the cluster in its tmux session's panes: ending the session stops them
        # (each gets SIGHUP; the store has every acknowledged write on disk, the nodes take their containers).
        if shutil.which("tmux") and subprocess.run(["tmux", "has-session", "-t", TMUX_SESSION],
                                                   capture_output=True).returncode == 0:
            subprocess.run(["tmux", "kill-session", "-t", TMUX_SESSION], capture_output=True)
            print(f"stopped: the tmux session {TMUX_SESSION!r} of `kube-tui up --tmux` (control plane and nodes)")
            return 0
        return fail(f"error: no running cluster is recorded in {path}: `kube-tui down` stops what `kube-tui --keep` "
                    "or `kube-tui up --tmux` left running; a `kube-tui up` or `kube-tui control` in a terminal stops "
                    "with Ctrl-C there")
    stopped = stop_recorded(path, args.timeout)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running any more")
    return 0
