"""The headless demo end to end: a real cluster of processes tells the list-watch story and recovers from a node kill."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, kube_tui_env

# Both use 127.0.0.1:30080, demo.yaml's NodePort, which every cluster on the machine shares: one worker runs them.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("demo-nodeport")]


@pytest.mark.timeout(300)
def test_headless_demo_converges(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "tui.cli", "demo", "--headless", "--timeout", "200"],
        cwd=ROOT,
        env=kube_tui_env(tmp_path / "home"),
        capture_output=True,
        text=True,
        timeout=280,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    for hop in ("controller-manager (deployment)", "controller-manager (replicaset)", "scheduler -> API server: bound",
                "kubelet on", "controller-manager (endpointslice)", "kube-proxy: http://127.0.0.1:30080/ answered from 3 different pods",
                "kill -9 node", "Ready=Unknown", "evicted", "web is 3/3 again", "too-big stays Pending: 0/4 nodes are available"):
        assert hop in text, f"missing step {hop!r}:\n{text}"
    assert "OK: the cluster converged" in text
    # nothing of the demo's cluster is left running
    left = subprocess.run(["pgrep", "-f", "kube-tui-demo-"], capture_output=True, text=True)
    assert left.stdout.strip() == "", left.stdout


def test_the_demo_refuses_to_start_beside_another_cluster(tmp_path: Path) -> None:
    """Something (another kube-tui cluster's kube-proxy) answers on demo.yaml's NodePort: the demo says so and
    starts nothing, instead of a cluster whose pod IPs and NodePorts collide with the other one's."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # the demo test before may leave TIME_WAITs
    try:
        listener.bind(("127.0.0.1", 30080))
    except OSError:
        listener.close()
        pytest.skip("127.0.0.1:30080 is taken on this machine")
    listener.listen()
    try:
        out = subprocess.run([sys.executable, "-m", "tui.cli", "demo", "--headless"], cwd=ROOT,
                             env=kube_tui_env(tmp_path / "home"), capture_output=True, text=True, timeout=60)
        # `kube-tui up` (and the dashboard, which starts clusters the same way) refuse too, before starting anything
        up = subprocess.run([sys.executable, "-m", "tui.cli", "up", "-f", "demo.yaml"], cwd=ROOT,
                            env=kube_tui_env(tmp_path / "home"), capture_output=True, text=True, timeout=60)
    finally:
        listener.close()
    assert out.returncode == 1
    assert "127.0.0.1:30080 (a NodePort of demo.yaml) already answers: another kube-tui cluster" in out.stderr
    assert "start the control plane" not in out.stdout
    assert up.returncode == 1 and "already answers: another kube-tui cluster" in up.stderr, up.stderr
    assert "starting the control plane" not in up.stdout
