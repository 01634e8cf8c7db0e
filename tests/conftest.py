"""Shared fixtures: an in-process control plane on random loopback ports with a temp data dir."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from control import aio
from control.client import Client
from control.plane import ControlPlane
from control.timings import Timings


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, object]:
    """The tests run on the loop kube-tui's processes run on (control/aio.py): KUBE_TUI_LOOP=uvloop or asyncio's."""
    factory = aio.loop_factory()
    return {"uvloop": factory} if factory is not None else {"asyncio": asyncio.new_event_loop}


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
