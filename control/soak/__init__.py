"""`kube-tui soak`: fault scenarios against a live cluster of real processes, with a report of what was checked."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from control.soak import scenarios
from control.soak.procs import SoakCluster
from control.soak.report import Report

__all__ = ["Report", "SoakCluster", "run_soak", "scenarios"]


async def run_soak(minutes: float, *, say: Callable[[str], None] = print, pods: int = 500, rounds: int = 20,
                   freeze: float = 30.0, fuzz_frames: int = 100_000, curve: bool = False) -> Report:
    """Start a cluster (control plane + simulated nodes) in a temp dir and run every scenario; cycle while time remains."""
    report = Report(say=say)
    deadline = time.monotonic() + minutes * 60
    with tempfile.TemporaryDirectory(prefix="kube-tui-soak-") as tmp:
        work = Path(tmp)
        cl = SoakCluster(work / "cluster", sim_nodes=4, curve=curve, say=say)
        say(f"kube-tui soak: {minutes:g} min budget; cluster in {work} (control plane + {cl.sim_nodes} simulated nodes, "
            f"{'CurveZMQ' if curve else 'loopback'}), {pods} pods at most")
        try:
            await cl.start()
            cycle = 0
            while True:
                cycle += 1
                say(f"\n#### cycle {cycle} ({(deadline - time.monotonic()) / 60:.1f} min left)")
                await _guard(report, "abuse", scenarios.abuse(cl.server, cl.admin, cl.server_key, report, frames=fuzz_frames))
                await _guard(report, "watch loss", scenarios.watch_loss(report, work / f"c{cycle}"))
                await _guard(report, "disk full", scenarios.disk_full(report, work / f"c{cycle}"))
                await _guard(report, "frozen subscriber", scenarios.frozen_subscriber(cl, report, freeze=freeze))
                await _guard(report, "node kill -9", scenarios.node_kill9(cl, report, round_=cycle))
                await _guard(report, "control-plane kill -9", scenarios.control_plane_kill9(
                    cl, report, rounds=rounds if cycle == 1 else 5, max_pods=pods, seed=cycle,
                    deadline=None if cycle == 1 else deadline))
                if time.monotonic() > deadline - 60:
                    break
        finally:
            cl.stop()
    say(report.summary())
    return report


async def _guard(report: Report, name: str, coro: object) -> None:
    """A scenario that breaks is a failed check, not the end of the soak."""
    try:
        await coro  # type: ignore[misc]
    except Exception as e:  # TimeoutError included
        report.scenario = report.scenario or name
        report.check(f"{name} ran to the end", False, f"{type(e).__name__}: {e}")
