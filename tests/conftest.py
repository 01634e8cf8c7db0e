"""Shared fixtures: an in-process control plane on random loopback ports with a temp data dir."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import ipaddress
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from control import aio
from control.apiserver import ranges
from control.client import Client
from control.plane import ControlPlane
from control.timings import Timings


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, object]:
    """The tests run on the loop kube-tui's processes run on (control/aio.py): KUBE_TUI_LOOP=uvloop or asyncio's."""
    factory = aio.loop_factory()
    return {"uvloop": factory} if factory is not None else {"asyncio": asyncio.new_event_loop}


def _own_ranges() -> list[socket.socket]:
    """This pytest process's clusters get their own Service and pod ranges, so that clusters of two workers
    running at once (of this run, of another run on the machine, or a user's cluster) never share an address.

    Worker gwN starts looking at the Nth range counted down from the top of the default spaces and takes the
    first one nothing on the machine listens in; it then listens on each range's first address for as long as
    it lives (ranges.claim, what a running control plane does), so that a worker or a cluster started later
    sees them taken and chooses others. Set once, before any cluster starts, and inherited by every kube-tui
    process a test runs. Returns the claiming sockets (kept open by the caller)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    i = int(worker[2:]) if worker[2:].isdigit() else 0
    busy = ranges.listening_addresses()
    services = [ipaddress.ip_network(f"127.{111 - (i + k) % 16}.0.0/16") for k in range(16)]
    clusters = [ipaddress.ip_network(f"127.{240 - 16 * ((i + k) % 8)}.0.0/12") for k in range(8)]

    def free(nets: list[Any]) -> Any:  # all taken: this worker's own, shared (as before the claims)
        return next((n for n in nets if not any(a in n for a in busy)), nets[0])

    network = ranges.ClusterNetwork(free(services), free(clusters))
    # assigned, not defaulted: a worker inherits the environment of the process that started it
    os.environ[ranges.ENV["service"]] = str(network.service_cidr)
    os.environ[ranges.ENV["cluster"]] = str(network.cluster_cidr)
    return ranges.claim(network)


_RANGE_CLAIMS: list[socket.socket] = []


def pytest_configure(config: pytest.Config) -> None:
    # Not in pytest-xdist's controller, which runs no test: each worker chooses its own (it could take the
    # range a worker prefers, which would then move to the next and meet the one after it).
    if getattr(config, "workerinput", None) is None and config.getoption("numprocesses", default=None):
        return
    _RANGE_CLAIMS.extend(_own_ranges())


@contextlib.contextmanager
def run_lock(directory: Path, exclusive: bool) -> Iterator[None]:
    """A shared lock on `directory`'s exclusive.lock, or the exclusive one. An exclusive waiter first takes
    exclusive.gate, which every shared locker passes through, so no new test starts while it waits for the
    running ones to end: flock gives a shared lock whenever no exclusive one is held, so without the gate
    three or more workers, whose tests overlap, would keep an exclusive test waiting for ever."""
    with open(directory / "exclusive.gate", "a") as gate, open(directory / "exclusive.lock", "a") as f:
        fcntl.flock(gate, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            fcntl.flock(f, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            if not exclusive:
                fcntl.flock(gate, fcntl.LOCK_UN)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        finally:
            fcntl.flock(gate, fcntl.LOCK_UN)


@pytest.fixture(autouse=True)
def _exclusive(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """With pytest-xdist, a test marked `exclusive` (one that measures latency under load it makes itself)
    runs while no other worker runs a test: every test holds a shared lock on one file of the run, an
    exclusive test holds it alone (run_lock)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    # the run's own directory, all workers'
    with run_lock(tmp_path_factory.getbasetemp().parent, bool(request.node.get_closest_marker("exclusive"))):
        yield


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the real ~/.kube-tui."""
    home = tmp_path / "home"
    monkeypatch.setenv("KUBE_TUI_HOME", str(home))
    monkeypatch.delenv("KUBE_TUI_SERVER", raising=False)
    monkeypatch.delenv("KUBE_TUI_TOKEN", raising=False)
    return home


FAST = Timings(
    lease_duration=2.0,
    node_monitor_period=0.25,
    node_monitor_grace_period=2.0,
    eviction_timeout=1.0,
    backoff_base=0.1,
    backoff_max=1.0,
    scheduler_backoff=0.05,
    volume_resync=0.3,
)


@contextlib.asynccontextmanager
async def running_plane(data_dir: Path, **options: Any) -> AsyncIterator[ControlPlane]:
    """A control plane on random loopback ports, with only the store and API server unless `options` say
    otherwise (any ControlPlane field), stopped on the way out."""
    p = ControlPlane(data_dir, "tcp://127.0.0.1:*", **{"scheduler": False, "controllers": False, "timings": FAST, **options})
    await p.start()
    try:
        yield p
    finally:
        await p.stop()


@contextlib.asynccontextmanager
async def plane_with_real_node(tmp_path: Path) -> AsyncIterator[tuple[Client, Any]]:
    """A control plane with every controller, one real `kube-tui node` process (n1, 2 s leases) and a client,
    yielded once the node is ready; all stopped on the way out."""
    from tests.helpers import Proc, wait_for

    async with running_plane(tmp_path / "data", scheduler=True, controllers=True) as plane:
        assert plane.server is not None and plane.credentials is not None
        node = Proc(["node", "--name", "n1", "--server", plane.server.address, "--token",
                     plane.credentials.first_join_token(), "--lease-duration", "2",
                     "--data-dir", str(tmp_path / "n1")], tmp_path)
        client = plane.client("test")
        try:
            await client.connect()
            await wait_for(lambda: "ready" in node.output(), 20, what=f"the node to be ready:\n{node.output()}")
            yield client, node
        finally:
            await client.close()
            node.close()


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    """A control plane with only the store and API server."""
    async with running_plane(tmp_path / "data", bookmark_interval=0.2) as p:
        yield p


@pytest.fixture
async def client(plane: ControlPlane) -> AsyncIterator[Client]:
    c = plane.client("test")
    await c.connect()
    yield c
    await c.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Long multi-process tests can be skipped locally with KUBE_TUI_QUICK=1; CI runs everything.
    if os.environ.get("KUBE_TUI_QUICK"):
        skip = pytest.mark.skip(reason="KUBE_TUI_QUICK=1")
        for item in items:
            if "slow" in item.keywords:
                item.add_marker(skip)
