"""`kube-tui bench watch`'s latency floor: real PUB/SUB processes, every event timed, nothing left running.

Run in a child interpreter: multiprocessing's spawn context starts a resource tracker that lives as long as
the process that used it, and a test worker must not be left with it."""

import json
import math
import subprocess
import sys

from tests.helpers import ROOT

FLOOR = ("import json; from control import bench_watch as b; "
         "print(json.dumps(b.raw_latency_floor(300, 2, 2000.0, b.stored_pod())))")


def test_raw_latency_floor_times_every_event_in_every_subscriber() -> None:
    done = subprocess.run([sys.executable, "-c", FLOOR], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    r = json.loads(done.stdout.strip().splitlines()[-1])
    assert math.isfinite(r["p50_ms"]) and math.isfinite(r["p99_ms"])
    assert 0 < r["p50_ms"] <= r["p99_ms"]
    assert r["cpu_subscribers"] > 0 and r["cpu_publisher"] > 0
