"""A real `kube-tui control`: its address ranges are chosen once, printed, kept across restarts, and a flag
that would change them on an existing cluster is refused before anything is written. A node that joins
gets its pod range from them."""

from __future__ import annotations

import ipaddress
import os
import shlex
from pathlib import Path

import pytest

from control.apiserver import ranges
from tests.helpers import Proc, free_port_pair, run_cli, wait_for_sync

pytestmark = pytest.mark.slow


def test_a_cluster_keeps_its_ranges_and_refuses_a_flag_that_would_change_them(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    service, cluster = os.environ[ranges.ENV["service"]], os.environ[ranges.ENV["cluster"]]  # this worker's
    args = ["control", "--listen", f"tcp://127.0.0.1:{free_port_pair()}", "--data-dir", str(data),
            "--no-scheduler", "--https", ""]
    cp = Proc(args, home)
    node: Proc | None = None
    try:
        line = cp.wait_line("networks:", timeout=30)
        assert line.split("networks:")[1].strip() == (
            f"Services {service}, pods {cluster} (a /24 per node), NodePorts 30000-32767")
        cp.wait_line("To add a node", timeout=30)
        join = shlex.split(cp.wait_line("kube-tui node"))
        node = Proc([*join[1:], "--name", "n1", "--data-dir", str(tmp_path / "n1")], home)
        svc = run_cli(["apply", "-f", "-"], home, input="apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
                      "spec: {type: NodePort, selector: {app: web}, ports: [{port: 80}]}\n")
        assert svc.returncode == 0, svc.stderr
        got = run_cli(["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"], home).stdout
        assert ipaddress.ip_address(got) in ipaddress.ip_network(service)

        def node_range() -> str:
            out = run_cli(["get", "node", "n1", "-o", "jsonpath={.spec.podCIDR} {.status.addresses[0].address}"], home)
            return out.stdout.strip() if out.returncode == 0 and " 127." in out.stdout else ""

        pod_cidr, node_ip = wait_for_sync(node_range, 30, what="n1's pod range and address").split()
        assert ipaddress.ip_network(pod_cidr).subnet_of(ipaddress.ip_network(cluster))  # type: ignore[arg-type]
        assert node_ip == str(ipaddress.ip_network(pod_cidr).network_address + 1)
    finally:
        if node is not None:
            node.close()
        assert cp.close() == 0, cp.output()

    other = "127.144.0.0/12" if cluster != "127.144.0.0/12" else "127.160.0.0/12"
    refused = run_cli([*args, "--cluster-cidr", other], home)
    assert refused.returncode == 2
    assert (f"error: --cluster-cidr={other}: this cluster was created with {cluster}, and its objects hold "
            "addresses in it; drop the flag, or use --data-dir with a new directory for a new cluster") in refused.stderr
    bad = run_cli([*args, "--service-cluster-ip-range", "10.0.0.0/16"], home)
    assert bad.returncode == 2 and "--service-cluster-ip-range=10.0.0.0/16: must be inside 127.0.0.0/8" in bad.stderr

    # Restarted with other defaults in the environment (they are for new clusters): the stored ranges.
    cp = Proc(args, home, **{ranges.ENV["cluster"]: other})
    try:
        line = cp.wait_line("networks:", timeout=30)
        assert f"pods {cluster} (a /24 per node)" in line
        cp.wait_line("To add a node", timeout=30)
        got = run_cli(["get", "svc", "web", "-o", "jsonpath={.spec.clusterIP}"], home).stdout
        assert ipaddress.ip_address(got) in ipaddress.ip_network(service)
        stored = run_cli(["etcdctl", "get", "/registry/ranges/clustercidr"], home)
        assert stored.returncode == 0 and "RangeAllocation" in stored.stdout and cluster in stored.stdout
    finally:
        assert cp.close() == 0, cp.output()


def test_a_new_cluster_avoids_the_ranges_of_this_users_stopped_clusters(tmp_path: Path) -> None:
    """A stopped cluster listens on nothing, so only what `kube-tui control` remembers for this user
    (~/.kube-tui/networks.json, by data dir) keeps a cluster created meanwhile off its ranges. Every range but
    one of each kind is remembered as some other (stopped) cluster's: the new cluster takes the one left."""
    import json

    home = tmp_path / "home"
    unset = {ranges.ENV["service"]: "", ranges.ENV["cluster"]: ""}  # no worker defaults: the cluster chooses

    def args(data: Path) -> list[str]:
        return ["control", "--listen", f"tcp://127.0.0.1:{free_port_pair()}", "--data-dir", str(data),
                "--no-scheduler", "--no-controllers", "--https", ""]

    first = Proc(args(tmp_path / "first"), home)
    try:
        first.wait_line("networks:", timeout=30)
    finally:
        assert first.close() == 0, first.output()
    remembered = json.loads((home / "networks.json").read_text())
    assert remembered == {str((tmp_path / "first").resolve()): {
        "serviceClusterIPRange": os.environ[ranges.ENV["service"]], "clusterCIDR": os.environ[ranges.ENV["cluster"]],
        "serviceNodePortRange": "30000-32767"}}

    busy = ranges.listening_addresses() | {ipaddress.ip_network(os.environ[ranges.ENV[w]]) for w in ("service", "cluster")}
    left_s = ranges.choose(ranges.SERVICE_SPACE, ranges.SERVICE_PREFIX, busy)
    left_p = ranges.choose(ranges.POD_SPACE, ranges.CLUSTER_PREFIX, busy)
    assert left_s is not None and left_p is not None
    others = [s for s in ranges.SERVICE_SPACE.subnets(new_prefix=ranges.SERVICE_PREFIX) if s != left_s]
    pods = [p for p in ranges.POD_SPACE.subnets(new_prefix=ranges.CLUSTER_PREFIX) if p != left_p]
    for i, s in enumerate(others):  # stopped clusters whose data dirs exist
        (tmp_path / f"stopped-{i}").mkdir()
        remembered[str(tmp_path / f"stopped-{i}")] = {"serviceClusterIPRange": str(s),
                                                       "clusterCIDR": str(pods[i % len(pods)])}
    remembered[str(tmp_path / "deleted")] = {"serviceClusterIPRange": str(left_s), "clusterCIDR": str(left_p)}
    (home / "networks.json").write_text(json.dumps(remembered))

    second = Proc(args(tmp_path / "second"), home, **unset)
    try:
        line = second.wait_line("networks:", timeout=30)
        assert f"Services {left_s}, pods {left_p} (a /24 per node)" in line, line
    finally:
        assert second.close() == 0, second.output()
    now = json.loads((home / "networks.json").read_text())
    assert str(tmp_path / "deleted") not in now  # a cluster whose data dir is gone is forgotten
    assert now[str((tmp_path / "second").resolve())]["clusterCIDR"] == str(left_p)
