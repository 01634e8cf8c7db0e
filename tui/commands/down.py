"""`kube-tui down`: stop the cluster that `kube-tui --keep` left running (nodes first, then the control plane)."""

from __future__ import annotations

import argparse

from control import config
from tui.commands.common import fail


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for a graceful stop before SIGKILL")


def run(args: argparse.Namespace) -> int:
    from tui.launcher import stop_recorded

    path = config.home() / "cluster.json"
    if not path.exists():
        return fail(f"error: no running cluster is recorded in {path} (only `kube-tui --keep` leaves one)")
    stopped = stop_recorded(path, args.timeout)
    print(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running any more")
    return 0
