"""`kube-tui bench watch`'s latency floor: real PUB/SUB processes, every event timed, nothing left running."""

import math
import multiprocessing as mp

from control import bench_watch


def test_raw_latency_floor_times_every_event_in_every_subscriber() -> None:
    before = set(mp.active_children())
    r = bench_watch.raw_latency_floor(300, 2, 2_000.0, bench_watch.stored_pod())
    assert math.isfinite(r["p50_ms"]) and math.isfinite(r["p99_ms"])
    assert 0 < r["p50_ms"] <= r["p99_ms"]
    assert r["cpu_subscribers"] > 0 and r["cpu_publisher"] > 0
    assert set(mp.active_children()) <= before
