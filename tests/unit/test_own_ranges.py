"""tests/conftest.py's _own_ranges: the address ranges a pytest process gives the clusters its tests start."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys

from control.apiserver import ranges
from tests.helpers import ROOT

CHOOSE = ("import os; from tests import conftest; claims = conftest._own_ranges(); "
          f"print(os.environ[{ranges.ENV['service']!r}], os.environ[{ranges.ENV['cluster']!r}])")


def _chosen(worker: str) -> tuple[str, str]:
    env = dict(os.environ, PYTEST_XDIST_WORKER=worker, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", CHOOSE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    service, cluster = out.stdout.split()
    return service, cluster


def test_a_worker_of_another_run_takes_other_ranges_than_those_in_use() -> None:
    """Two test runs on one machine each have a worker gw3: the second must not give its clusters the ranges the
    first one's use (their pods, nodes and Services would share addresses), nor those of a user's cluster."""
    first = _chosen("gw3")
    claims = ranges.claim(ranges.ClusterNetwork(ipaddress.ip_network(first[0]), ipaddress.ip_network(first[1])))
    try:
        assert len(claims) == 2
        second = _chosen("gw3")
    finally:
        for s in claims:
            s.close()
    assert second[0] != first[0] and second[1] != first[1]
    assert ipaddress.ip_network(second[0]).subnet_of(ranges.SERVICE_SPACE)  # type: ignore[arg-type]
    assert ipaddress.ip_network(second[1]).subnet_of(ranges.POD_SPACE)  # type: ignore[arg-type]
