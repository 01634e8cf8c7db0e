"""Surviving faults, short versions of `kube-tui soak`'s scenarios: each must pass all its checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from control.soak import scenarios
from control.soak.procs import SoakCluster
from control.soak.report import Report


def passed(report: Report) -> None:
    assert report.checks, "the scenario checked nothing"
    assert report.ok, "\n".join(f"{c.scenario}: {c.name}: {c.detail}" for c in report.failures())


async def test_watch_loss_every_informer_converges(tmp_path: Path) -> None:
    report = Report(say=lambda _: None)
    await scenarios.watch_loss(report, tmp_path, ops=300)
    passed(report)
    assert report.numbers["watch loss"]["dropped"] > 0 and report.numbers["watch loss"]["relists"] > 0


async def test_disk_full_and_failing_fsync(tmp_path: Path) -> None:
    report = Report(say=lambda _: None)
    await scenarios.disk_full(report, tmp_path)
    passed(report)
    assert len(report.checks) == 4


@pytest.mark.slow
@pytest.mark.exclusive
async def test_abuse_of_a_cluster_of_processes(tmp_path: Path) -> None:
    """100,000 fuzzed frames and 1,000 unauthenticated req/s while a real client's reads are timed: alone on
    the machine (`exclusive`), since what it checks is the latency the abuse itself causes."""
    lines: list[str] = []
    report = Report(say=lines.append)
    cl = SoakCluster(tmp_path / "cluster", sim_nodes=3)
    try:
        await cl.start()
        await scenarios.abuse(cl.server, cl.admin, cl.server_key, report, frames=100_000, unauth_seconds=2.0)
    finally:
        cl.stop()
    print("\n".join(lines))
    passed(report)


@pytest.mark.slow
async def test_faults_against_a_cluster_of_processes(tmp_path: Path) -> None:
    """A frozen subscriber, kill -9 of a node and of the control plane during pod churn: one cluster of real
    processes, as `kube-tui soak` runs it, only shorter."""
    lines: list[str] = []
    report = Report(say=lines.append)
    cl = SoakCluster(tmp_path / "cluster", sim_nodes=3)
    try:
        await cl.start()
        await scenarios.frozen_subscriber(cl, report, freeze=3.0)
        await scenarios.node_kill9(cl, report, replicas=4)
        await scenarios.control_plane_kill9(cl, report, rounds=3, max_pods=60, converge_timeout=60)
        # A second cycle on the same cluster, as a longer soak runs it: what the first one left behind (the
        # churn's deployments, the last leases) must not fail the scenarios the second time round.
        await scenarios.frozen_subscriber(cl, report, freeze=3.0)
        await scenarios.node_kill9(cl, report, replicas=2, round_=2)
    finally:
        cl.stop()
    print("\n".join(lines))
    passed(report)
