"""tests/conftest.py's run_lock: the lock that lets a test marked `exclusive` run alone under pytest-xdist."""

from __future__ import annotations

import multiprocessing
import random
import time
from pathlib import Path

from tests.conftest import run_lock


def _worker(directory: Path, stop: multiprocessing.synchronize.Event, started: multiprocessing.synchronize.Event) -> None:
    """A pytest-xdist worker running test after test, each under the shared lock."""
    rng = random.Random()
    while not stop.is_set():
        with run_lock(directory, exclusive=False):
            started.set()
            time.sleep(rng.uniform(0.2, 0.6))


def _exclusive(directory: Path, waited: multiprocessing.Queue) -> None:
    t = time.monotonic()
    with run_lock(directory, exclusive=True):
        waited.put(time.monotonic() - t)


def test_an_exclusive_test_gets_its_turn_beside_three_busy_workers(tmp_path: Path) -> None:
    """Three workers whose tests overlap always hold a shared lock between them: an exclusive test waiting for a
    moment when none does would wait for ever. It waits for the running tests only (each under a second here)."""
    ctx = multiprocessing.get_context("fork")
    stop, waited = ctx.Event(), ctx.Queue()
    starts = [ctx.Event() for _ in range(3)]
    workers = [ctx.Process(target=_worker, args=(tmp_path, stop, s)) for s in starts]
    for w in workers:
        w.start()
    exclusive = None
    try:
        for s in starts:
            assert s.wait(5)
        exclusive = ctx.Process(target=_exclusive, args=(tmp_path, waited))
        exclusive.start()
        exclusive.join(10)
        assert not exclusive.is_alive(), "the exclusive test was still waiting after 10 s"
        assert waited.get(timeout=1) < 2
    finally:
        stop.set()
        for w in workers:
            w.join(5)
        if exclusive is not None:
            exclusive.join(15)
        for p in [*workers, exclusive]:
            if p is not None and p.is_alive():
                p.kill()
