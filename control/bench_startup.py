"""`kube-tui bench startup`: pod startup latency (created -> Running, as a watcher sees it) and a Deployment burst.

Real processes on loopback: a control plane (store with fsync, API server, scheduler; the controller
manager for the Deployment run only), a `kube-tui nodes --runtime sim` pool of simulated kubelets, a
writer process and a watcher process (an Informer on pods).

1. Steady churn: the writer creates bare pods at a fixed rate (default 100/s for 30 s) and deletes
   each one 10 s later, so the cluster holds a steady population; each pod carries its send time in an
   annotation and the watcher notes when it first sees it Running. Kubernetes' SLO: p99 <= 5 s
   (pod startup latency, stateless pods, excluding image pulls).
2. Burst: one Deployment of 10,000 replicas; the time from its create until the watcher has seen
   every replica Running.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from control import aio

ROOT = Path(__file__).resolve().parent.parent
SENT = "bench.kube-tui.io/sent"


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def _pod(name: str, sent: float) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": {"app": "churn"},
                         "annotations": {SENT: repr(sent)}},
            "spec": {"terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "app", "image": "pause",
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}


def _deployment(replicas: int) -> dict:
    labels = {"app": "burst"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "burst", "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"terminationGracePeriodSeconds": 0,
                                           "containers": [{"name": "app", "image": "pause",
                                                           "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}}


# -- processes ---------------------------------------------------------------------------------------
def _plane_entry(tmp: str, controllers: bool, out_q: Any, stop_q: Any) -> None:
    from control.plane import ControlPlane, tune_gc

    async def main() -> None:
        plane = ControlPlane(Path(tmp) / "data", "tcp://127.0.0.1:*", scheduler=True, controllers=controllers)
        await plane.start()
        tune_gc()
        assert plane.server is not None and plane.credentials is not None
        out_q.put((plane.server.address, plane.credentials.admin))
        await asyncio.get_running_loop().run_in_executor(None, stop_q.get)
        await plane.stop()

    aio.run(main())


def _watcher_entry(server: str, token: str, app: str, expect: int, out_q: Any) -> None:
    """Notes when each pod labelled app=<app> is first seen Running; latency from its send-time annotation."""
    from control.client import Client
    from control.informer import Informer

    async def main() -> None:
        client = Client(server, token=token, identity="bench-watcher", timeout=30)
        inf = Informer(client, "Pod", label_selector=f"app={app}", silence_timeout=60)
        running: dict[str, float] = {}
        lat: list[float] = []
        done = asyncio.Event()

        def seen(obj: dict) -> None:
            md = obj["metadata"]
            if (obj.get("status") or {}).get("phase") != "Running" or md["name"] in running:
                return
            now = time.time()
            running[md["name"]] = now
            sent = (md.get("annotations") or {}).get(SENT)
            if sent:
                lat.append(now - float(sent))
            if len(running) >= expect:
                done.set()

        inf.add_handler(seen, lambda _o, n: seen(n))
        await inf.start()
        await inf.wait_synced(60)
        out_q.put("ready")
        try:
            await asyncio.wait_for(done.wait(), 900)
        except TimeoutError:
            pass
        times = sorted(running.values())
        out_q.put({"running": len(times), "last": times[-1] if times else 0.0, "lat": lat, "relists": inf.relists})
        await inf.stop()
        await client.close()

    aio.run(main())


def _churn_entry(server: str, token: str, rate: float, seconds: float, lifetime: float, out_q: Any) -> None:
    """Creates pods at `rate`/s for `seconds`, deleting each `lifetime` seconds after its create."""
    from control.client import Client
    from control.errors import ApiError

    async def main() -> None:
        client = Client(server, token=token, identity="bench-writer", timeout=30)
        await client.connect()
        n = int(rate * seconds)
        pending: set[asyncio.Task[Any]] = set()
        late = 0
        start = time.perf_counter()

        async def one(i: int) -> None:
            await client.create(_pod(f"churn-{i}", time.time()))
            await asyncio.sleep(lifetime)
            try:
                await client.delete("Pod", f"churn-{i}")
            except ApiError:
                pass

        for i in range(n):
            wait = start + i / rate - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -0.1:
                late += 1
            t = asyncio.create_task(one(i))
            pending.add(t)
            t.add_done_callback(pending.discard)
        achieved = n / (time.perf_counter() - start)
        await asyncio.gather(*pending, return_exceptions=True)
        out_q.put({"created": n, "rate": achieved, "late": late})
        await client.close()

    aio.run(main())


class _Pool:
    """`kube-tui nodes --count N --runtime sim` as a subprocess."""

    def __init__(self, server: str, token: str, count: int, start_delay: float, home: Path) -> None:
        env = dict(os.environ, KUBE_TUI_HOME=str(home), PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.log = home / "pool.log"
        home.mkdir(parents=True, exist_ok=True)
        self._out = self.log.open("w")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "nodes", "--count", str(count), "--runtime", "sim",
             "--start-delay", f"{start_delay:g}", "--cpu", "16", "--memory", "64Gi", "--pods", "110",
             "--server", server, "--token", token],
            cwd=ROOT, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, limit: float) -> None:
        deadline = time.monotonic() + limit
        while "simulated nodes ready" not in self.log.read_text():
            if self.popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the node pool did not start:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self._out.close()


def _revision(server: str, token: str) -> int:
    """The store's revision now: the count of writes so far."""
    from control.client import Client

    async def main() -> int:
        client = Client(server, token=token, identity="bench")
        hello = await client.connect()
        await client.close()
        return int(hello.get("revision") or 0)

    return aio.run(main())


def _create_deployment(server: str, token: str, replicas: int) -> float:
    from control.client import Client

    async def main() -> float:
        client = Client(server, token=token, identity="bench")
        await client.connect()
        t = time.time()
        await client.create(_deployment(replicas))
        await client.close()
        return t

    return aio.run(main())


def _py_spy(path: str, pid: int | None) -> subprocess.Popen | None:
    """A py-spy sampling profile (raw collapsed stacks) of one process during the measurement, if asked for."""
    if not path or pid is None:
        return None
    return subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--nonblocking",
                             "--output", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop_spy(spy: subprocess.Popen | None) -> None:
    if spy is not None and spy.poll() is None:
        spy.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        try:
            spy.wait(30)
        except subprocess.TimeoutExpired:
            spy.kill()
            spy.wait(10)


def _cpu(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def _settle(pid: int, limit: float = 60.0, idle: float = 0.3) -> float:
    """Wait until the control plane is quiet (under `idle` of a core over a second): what the pool's
    start left behind (a RegisteredNode event per node, first node statuses) is not the Deployment's."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        c0 = _cpu(pid)
        time.sleep(1.0)
        if _cpu(pid) - c0 < idle:
            break
    return time.monotonic() - t0


# -- the two runs -------------------------------------------------------------------------------------
def run(*, nodes: int, controllers: bool, start_delay: float, churn: tuple[float, float, float] | None = None,
        replicas: int = 0, py_spy: str = "") -> dict[str, Any]:
    spawn = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="kube-tui-bench-") as tmp:
        out_q: Any = spawn.Queue()
        stop_q: Any = spawn.Queue()
        plane = spawn.Process(target=_plane_entry, args=(tmp, controllers, out_q, stop_q))
        plane.start()
        procs = [plane]
        pool: _Pool | None = None
        spies: list[subprocess.Popen | None] = []
        try:
            server, token = out_q.get(timeout=60)
            t0 = time.monotonic()
            pool = _Pool(server, token, nodes, start_delay, Path(tmp) / "home")
            pool.wait_ready(max(120.0, nodes / 10))
            pool_start = time.monotonic() - t0
            watch_q: Any = spawn.Queue()
            expect = int(churn[0] * churn[1]) if churn else replicas
            watcher = spawn.Process(target=_watcher_entry, args=(server, token, "churn" if churn else "burst", expect, watch_q))
            watcher.start()
            procs.append(watcher)
            if watch_q.get(timeout=120) != "ready":
                raise RuntimeError("the watcher did not start")
            out_settle = _settle(plane.pid or 0)
            cpu0, c0 = _cpu(plane.pid or 0), time.monotonic()
            pool_cpu0 = _cpu(pool.popen.pid)
            if py_spy:
                spies = [_py_spy(f"{py_spy}.plane", plane.pid), _py_spy(f"{py_spy}.pool", pool.popen.pid)]
            out: dict[str, Any] = {"nodes": nodes, "pool_start_s": round(pool_start, 1), "start_delay_s": start_delay,
                                   "settle_s": round(out_settle, 1)}
            if churn:
                w_q: Any = spawn.Queue()
                writer = spawn.Process(target=_churn_entry, args=(server, token, *churn, w_q))
                writer.start()
                procs.append(writer)
                report = watch_q.get(timeout=900)
                wrote = w_q.get(timeout=120)
                lat = report["lat"]
                out.update({"rate": churn[0], "seconds": churn[1], "created": wrote["created"],
                            "achieved_rate": round(wrote["rate"], 1), "late": wrote["late"], "running": report["running"],
                            "p50_ms": round(_pct(lat, 50) * 1000, 1), "p90_ms": round(_pct(lat, 90) * 1000, 1),
                            "p99_ms": round(_pct(lat, 99) * 1000, 1), "max_ms": round(max(lat, default=0) * 1000, 1)})
            else:
                rev0 = _revision(server, token)
                created = _create_deployment(server, token, replicas)
                report = watch_q.get(timeout=1200)
                writes = _revision(server, token) - rev0
                out.update({"replicas": replicas, "running": report["running"],
                            "seconds": round(report["last"] - created, 2), "writes": writes})
            cpu = _cpu(plane.pid or 0) - cpu0
            elapsed = max(1e-9, time.monotonic() - c0)
            out["control_cpu_percent"] = round(cpu / elapsed * 100, 1)
            out["pool_cpu_percent"] = round((_cpu(pool.popen.pid) - pool_cpu0) / elapsed * 100, 1)
            out["relists"] = report["relists"]
        finally:
            for spy in spies:
                _stop_spy(spy)
            if pool is not None:
                pool.stop()
            stop_q.put("stop")
            for p in reversed(procs):
                p.join(60)
                if p.is_alive():
                    p.terminate()
                    p.join(10)
    return out


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kube-tui bench startup", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=1000, help="simulated nodes in the pool")
    p.add_argument("--rate", type=float, default=100.0, help="pods created per second in the churn run")
    p.add_argument("--seconds", type=float, default=30.0, help="length of the churn run")
    p.add_argument("--lifetime", type=float, default=10.0, help="each churn pod is deleted this long after its create")
    p.add_argument("--replicas", type=int, default=10000, help="the Deployment of the burst run (0: skip it)")
    p.add_argument("--start-delay", type=float, default=0.0,
                   help="seconds a simulated container takes to start (default 0: the SLO excludes image pulls)")
    p.add_argument("--only", choices=("churn", "burst"), default=None, help="run only one of the two runs")
    p.add_argument("--py-spy", metavar="FILE", default="",
                   help="sample the control plane and the node pool with py-spy during each run (raw collapsed "
                        "stacks in FILE.<run>.plane and FILE.<run>.pool)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    results: list[dict[str, Any]] = []
    if not args.json:
        print(f"kube-tui bench startup  (cpus: {os.cpu_count()}; {args.nodes} simulated nodes, start delay {args.start_delay:g}s)",
              flush=True)
    if args.only in (None, "churn"):
        r = run(nodes=args.nodes, controllers=False, start_delay=args.start_delay,
                churn=(args.rate, args.seconds, args.lifetime), py_spy=f"{args.py_spy}.churn" if args.py_spy else "")
        results.append(r)
        if not args.json:
            print(f"  steady churn {r['achieved_rate']:g} pods/s for {r['seconds']:g}s ({r['running']}/{r['created']} Running):"
                  f"  created -> Running p50 {r['p50_ms']:.0f} ms  p90 {r['p90_ms']:.0f} ms  p99 {r['p99_ms']:.0f} ms"
                  f"  max {r['max_ms']:.0f} ms   (SLO p99 <= 5000 ms; target <= 250 ms)")
            print(f"    control plane cpu {r['control_cpu_percent']}% of one core; node pool {r['pool_cpu_percent']}%; relists {r['relists']}; "
                  f"pool started in {r['pool_start_s']}s", flush=True)
    if args.only in (None, "burst") and args.replicas:
        r = run(nodes=args.nodes, controllers=True, start_delay=args.start_delay, replicas=args.replicas,
                py_spy=f"{args.py_spy}.burst" if args.py_spy else "")
        results.append(r)
        if not args.json:
            print(f"  Deployment of {r['replicas']} replicas: all Running in {r['seconds']}s"
                  f"  ({r['running']}/{r['replicas']}; target <= 20 s); {r['writes']} writes "
                  f"({r['writes'] / max(1, r['replicas']):.1f} per replica, leases included)")
            print(f"    control plane cpu {r['control_cpu_percent']}% of one core; node pool {r['pool_cpu_percent']}%; "
                  f"relists {r['relists']}", flush=True)
    if args.json:
        print(json.dumps(results, indent=1))
    ok = all(r["running"] == r.get("created", r.get("replicas")) for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
