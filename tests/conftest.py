"""Shared fixtures: an in-process control plane on random loopback ports with a temp data dir."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import ipaddress
import os
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


def _own_ranges() -> None:
    """Each pytest-xdist worker's clusters get their own Service and pod ranges, so that clusters of two workers
    running at once never share an address: worker i takes the i-th range, from the top of the default
    spaces, that nothing on the machine listens in when it starts (a developer's cluster may be running).
    Set once, before any cluster starts, and inherited by every kube-tui process a test runs."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    i = int(worker[2:]) if worker[2:].isdigit() else 0
    busy = ranges.listening_addresses()

    def pick(space: ipaddress.IPv4Network, prefix: int) -> str:
        slots = list(space.subnets(new_prefix=prefix))[::-1]
        free = [s for s in slots if not any(a in s for a in busy)] or slots
        return str(free[i % len(free)])

    # assigned, not defaulted: a worker inherits the environment of the process that started it
    os.environ[ranges.ENV["service"]] = pick(ranges.SERVICE_SPACE, ranges.SERVICE_PREFIX)
    os.environ[ranges.ENV["cluster"]] = pick(ranges.POD_SPACE, ranges.CLUSTER_PREFIX)


_own_ranges()


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
