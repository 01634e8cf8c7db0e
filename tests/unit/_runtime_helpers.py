"""What the runtime, pod worker and probe tests share: pod IPs on loopback, free ports, waiting, no orphans."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Callable, Iterator

import psutil
import pytest


def pod_ip() -> str:
    return f"127.77.{random.randint(1, 254)}.{random.randint(1, 254)}"


def free_port(ip: str) -> int:
    """A port on ip that nothing listens on (the socket that found it is closed again)."""
    with socket.socket() as s:
        s.bind((ip, 0))
        return int(s.getsockname()[1])


async def until(cond: Callable[[], object], limit: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + limit
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def no_leftover_children() -> Iterator[None]:
    """Autouse in the modules that import it: every test leaves no child process behind."""
    yield
    me = psutil.Process()
    deadline = time.monotonic() + 5
    while me.children(recursive=True) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert me.children(recursive=True) == []
