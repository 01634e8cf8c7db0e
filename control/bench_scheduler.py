"""`kube-tui bench scheduler`: pods/s from creation to bound through the real control plane.

Real processes on loopback, like kube-scheduler's scheduler_perf SchedulingBasic: one control plane
process (store with fsync, API server, and the real scheduler loop of control/scheduler/scheduler.py,
no controllers), N Node objects created directly (sim-like: Ready, allocatable 4 CPU / 32Gi / 110
pods, no kubelets and so no heartbeats), then M pods created by a separate writer process as fast as
it can, and a watcher process (an Informer) that notes when each pod is first seen bound.

Two runs: "e2e" with the scheduler running while the pods are created (first create -> last pod seen
bound), and "queued" where every pod is created first and the scheduler then starts (its own rate:
first bind -> last bind, as seen by the watcher). `--pure` runs the network-free core benchmark
(control/scheduler/bench.py) instead.
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
from control.apiserver import ranges

NAMESPACE = "default"


def node_object(i: int, used: set[str]) -> dict:
    """A Node as a simulated kubelet registers it (node-default.yaml's shape: 4 CPU, 32Gi, 110 pods)."""
    from nodes.nodestatus import NodeConfig, NodeStatus, node_ip_of, pick_pod_cidr

    name = f"bench-node-{i}"
    st = NodeStatus(None, NodeConfig(name, cpu="4", memory="32Gi", pods=110, runtime="sim"),  # type: ignore[arg-type]
                    simulated=True)
    st.pod_cidr = pick_pod_cidr(name, used, ranges.LEGACY)  # the whole /9: room for 5,000 nodes
    used.add(st.pod_cidr)
    st.node_ip = node_ip_of(st.pod_cidr)
    return st.node_object()


def pod_object(i: int) -> dict:
    """pod-default.yaml of scheduler_perf: one pause container requesting 100m CPU and 500Mi."""
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"bench-pod-{i}", "namespace": NAMESPACE, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "pause", "image": "pause",
                                     "resources": {"requests": {"cpu": "100m", "memory": "500Mi"}}}]}}


# -- processes -------------------------------------------------------------------------------------
def _plane_entry(tmp: str, fsync: bool, profile: str, out_q: Any, cmd_q: Any) -> None:
    """The control plane process: store + API server; the scheduler starts on command ("scheduler")."""
    import cProfile

    from control.plane import ControlPlane, tune_gc
    from control.scheduler.scheduler import run_scheduler

    prof = cProfile.Profile() if profile else None

    async def main() -> None:
        plane = ControlPlane(Path(tmp) / "data", "tcp://127.0.0.1:*", scheduler=False, controllers=False, fsync=fsync,
                             network=ranges.Requested(cluster_cidr=ranges.LEGACY.cluster_cidr))
        await plane.start()
        tune_gc()
        assert plane.server is not None and plane.credentials is not None
        out_q.put((plane.server.address, plane.credentials.admin))
        loop = asyncio.get_running_loop()
        task: asyncio.Task[None] | None = None
        while True:
            cmd = await loop.run_in_executor(None, cmd_q.get)
            if cmd == "scheduler":
                if prof is not None:
                    prof.enable()
                task = asyncio.create_task(run_scheduler(plane.client("kube-scheduler"), timings=plane.timings))
            elif cmd == "stop":
                break
        if prof is not None:
            prof.disable()
            prof.dump_stats(profile)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await plane.stop()

    aio.run(main())


def _watcher_entry(server: str, token: str, nodes: int, pods: int, out_q: Any) -> None:
    """Counts nodes, then reports when each pod is first seen with spec.nodeName (bound)."""
    from control.client import Client
    from control.informer import Informer

    async def main() -> None:
        client = Client(server, token=token, identity="bench-watcher", timeout=30)
        node_inf = Informer(client, "Node", silence_timeout=60)
        pod_inf = Informer(client, "Pod", silence_timeout=60)
        bound: dict[str, float] = {}
        nodes_seen = asyncio.Event()
        all_bound = asyncio.Event()

        def on_node(_obj: dict) -> None:
            if len(node_inf) >= nodes:
                nodes_seen.set()

        def on_pod(obj: dict) -> None:
            name = obj["metadata"]["name"]
            if (obj.get("spec") or {}).get("nodeName") and name not in bound:
                bound[name] = time.time()
                if len(bound) >= pods:
                    all_bound.set()

        node_inf.add_handler(on_node)
        pod_inf.add_handler(on_pod, lambda _o, n: on_pod(n))
        await node_inf.start()
        await pod_inf.start()
        await node_inf.wait_synced(60)
        await pod_inf.wait_synced(60)
        out_q.put("ready")
        await asyncio.wait_for(nodes_seen.wait(), 600)
        out_q.put("nodes")
        try:
            await asyncio.wait_for(all_bound.wait(), 600)
        except TimeoutError:
            pass  # reported as incomplete
        times = sorted(bound.values())
        out_q.put({"bound": len(times), "first": times[0] if times else 0.0, "last": times[-1] if times else 0.0,
                   "relists": node_inf.relists + pod_inf.relists})
        await pod_inf.stop()
        await node_inf.stop()
        await client.close()

    aio.run(main())


def _writer_entry(server: str, token: str, kind: str, count: int, concurrency: int, out_q: Any, go_q: Any) -> None:
    """Creates `count` Nodes or Pods as fast as it can with `concurrency` requests in flight."""
    from control.client import Client

    async def main() -> None:
        client = Client(server, token=token, identity="bench-writer", timeout=60)
        await client.connect()
        used: set[str] = set()
        objs = [node_object(i, used) if kind == "Node" else pod_object(i) for i in range(count)]
        out_q.put("ready")
        await asyncio.get_running_loop().run_in_executor(None, go_q.get)
        counter = iter(objs)
        first = time.time()

        async def worker() -> None:
            for obj in counter:
                await client.create(obj)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        out_q.put({"first": first, "last": time.time()})
        await client.close()

    aio.run(main())


# -- one run ------------------------------------------------------------------------------------------
def run(nodes: int, pods: int, *, queued: bool, fsync: bool = True, concurrency: int = 64,
        profile: str = "", py_spy: str = "", scheduler_process: bool = False) -> dict[str, Any]:
    """One control plane, `nodes` Nodes, then `pods` Pods; the scheduler runs during ("e2e") or after ("queued")."""
    spawn = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="kube-tui-bench-") as tmp:
        plane_q: Any = spawn.Queue()
        cmd_q: Any = spawn.Queue()
        plane = spawn.Process(target=_plane_entry, args=(tmp, fsync, profile, plane_q, cmd_q), name="control-plane")
        plane.start()
        procs = [plane]
        try:
            server, token = plane_q.get(timeout=60)
            watch_q: Any = spawn.Queue()
            watcher = spawn.Process(target=_watcher_entry, args=(server, token, nodes, pods, watch_q))
            watcher.start()
            procs.append(watcher)
            if watch_q.get(timeout=120) != "ready":
                raise RuntimeError("the watcher did not start")
            if not queued:
                _start_scheduler(cmd_q, procs, server, token, scheduler_process, spawn)
            node_rate = _write(spawn, procs, server, token, "Node", nodes, concurrency)
            if watch_q.get(timeout=600) != "nodes":
                raise RuntimeError("the watcher did not see every node")
            time.sleep(1.0)  # let the scheduler's node informer catch up before the clock starts
            spy = _py_spy(py_spy, plane.pid) if not queued else None
            sched_spy = _py_spy(f"{py_spy}.scheduler", _scheduler_pid(procs)) if py_spy and not queued else None
            cpu0 = _cpu(procs) if not queued else 0.0
            pod_times = _write(spawn, procs, server, token, "Pod", pods, concurrency)
            started = time.time()
            if queued:
                spy = _py_spy(py_spy, plane.pid)
                cpu0 = _cpu(procs)
                _start_scheduler(cmd_q, procs, server, token, scheduler_process, spawn)
                sched_spy = _py_spy(f"{py_spy}.scheduler", _scheduler_pid(procs)) if py_spy else None
            report = watch_q.get(timeout=900)
            cpu = _cpu(procs) - cpu0
            for sp in (spy, sched_spy):
                if sp is not None:
                    sp.send_signal(signal.SIGINT)
                    sp.wait(60)
        finally:
            for p in procs[1:]:
                if p.is_alive() and p.name == "kube-scheduler":
                    p.terminate()  # runs until told to stop, like kube-scheduler
            cmd_q.put("stop")
            for p in reversed(procs):
                p.join(60)
                if p.is_alive():
                    p.terminate()
                    p.join(10)
    bound, first_bound, last_bound = report["bound"], report["first"], report["last"]
    out: dict[str, Any] = {
        "mode": "queued" if queued else "e2e", "nodes": nodes, "pods": pods, "bound": bound,
        "node_creates_per_s": round(nodes / max(1e-9, node_rate["last"] - node_rate["first"]), 1),
        "pod_creates_per_s": round(pods / max(1e-9, pod_times["last"] - pod_times["first"]), 1),
        "scheduler_pods_per_s": round((bound - 1) / max(1e-9, last_bound - first_bound), 1) if bound > 1 else 0.0,
        "relists": report["relists"],
        # CPU seconds of the control plane (and scheduler) processes: robust to a busy machine
        "control_cpu_s": round(cpu, 2), "pods_per_control_cpu_s": round(bound / max(1e-9, cpu), 1),
    }
    if queued:
        out["seconds"] = round(last_bound - started, 2)
        out["pods_per_s"] = round(bound / max(1e-9, last_bound - started), 1)  # scheduler start -> last bound
    else:
        out["seconds"] = round(last_bound - pod_times["first"], 2)
        out["pods_per_s"] = round(bound / max(1e-9, last_bound - pod_times["first"]), 1)  # first create -> last bound
    return out


def _cpu(procs: list[Any]) -> float:
    """CPU seconds used so far by the control plane process and a separate scheduler process, if any."""
    total = 0.0
    for p in procs:
        if p.name in ("kube-scheduler", "control-plane") and p.pid is not None:
            t = psutil.Process(p.pid).cpu_times()
            total += t.user + t.system
    return total


def _scheduler_pid(procs: list[Any]) -> int | None:
    """The pid of a separate scheduler process (--scheduler-process), else None."""
    return next((p.pid for p in procs if p.name == "kube-scheduler"), None)


def _start_scheduler(cmd_q: Any, procs: list[Any], server: str, token: str, separate: bool, spawn: Any) -> None:
    if not separate:
        cmd_q.put("scheduler")
        return
    p = spawn.Process(target=_scheduler_entry, args=(server, token), name="kube-scheduler")
    p.start()
    procs.append(p)


def _scheduler_entry(server: str, token: str) -> None:
    """`kube-tui scheduler` in its own process, like kube-scheduler: runs until terminated."""
    from control.client import Client
    from control.scheduler.scheduler import run_scheduler
    from control.timings import Timings

    async def main() -> None:
        client = Client(server, token=token, identity="kube-scheduler")
        await client.connect()
        task = asyncio.create_task(run_scheduler(client, timings=Timings()))
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        await asyncio.gather(task, return_exceptions=True)
        await client.close()

    aio.run(main())


def _py_spy(path: str, pid: int | None) -> subprocess.Popen | None:
    """A py-spy sampling profile (raw collapsed stacks) of one process (the control plane, or a separate scheduler)."""
    if not path or pid is None:
        return None
    return subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", "250", "--nonblocking",
                             "--output", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _write(spawn: Any, procs: list[Any], server: str, token: str, kind: str, count: int, concurrency: int) -> dict:
    q: Any = spawn.Queue()
    go: Any = spawn.Queue()
    w = spawn.Process(target=_writer_entry, args=(server, token, kind, count, concurrency, q, go))
    w.start()
    procs.append(w)
    if q.get(timeout=120) != "ready":
        raise RuntimeError("the writer did not start")
    go.put("go")
    times = q.get(timeout=900)
    w.join(30)
    return times


def _profiles(args: argparse.Namespace) -> int:
    """--pure with a scheduler configuration: the core benchmark once per profile, the default one first."""
    from control.scheduler import config as sc
    from control.scheduler.bench import bench_schedule

    try:
        names = [p.scheduler_name for p in (sc.load(args.config, args.plugins) if args.config
                                            else sc.load_default(args.plugins)).profiles]
    except sc.ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    rows = []
    for name in names:  # a fresh configuration each time: a framework keeps where its last search stopped
        cfg = sc.load(args.config, args.plugins) if args.config else sc.load_default(args.plugins)
        profile = cfg.profile(name)
        assert profile is not None
        rows.append({"profile": name, **bench_schedule(args.nodes, args.pods, framework=profile.framework)})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"kube-tui bench scheduler --pure --config {args.config or '(default)'}  (cpus: {os.cpu_count()}; "
          f"{args.nodes} nodes, {args.pods} synthetic mixed pods, decision records built)")
    for r in rows:
        print(f"  {r['profile']:<24} {r['pods_per_second']:8,.0f} pods/s  ({r['pods_per_cpu_second']:,.0f} per CPU-second; "
              f"{r['avg_nodes_evaluated']:g} nodes evaluated per pod; {r['unschedulable']} unschedulable)")
    return 0


# -- command line ---------------------------------------------------------------------------------------
def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kube-tui bench scheduler", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nodes", type=int, default=5000)
    p.add_argument("--pods", type=int, default=10000)
    p.add_argument("--pure", action="store_true", help="the scheduling core alone: no processes, no network")
    p.add_argument("--mode", choices=("both", "e2e", "queued"), default="both")
    p.add_argument("--concurrency", type=int, default=64, help="the writer's requests in flight")
    p.add_argument("--no-fsync", action="store_true", help="store without fsync (default: fsync, like etcd)")
    p.add_argument("--profile", metavar="FILE", default="",
                   help="cProfile the control plane process from the scheduler's start; stats to FILE")
    p.add_argument("--py-spy", metavar="FILE", default="",
                   help="sample the control plane process (and a --scheduler-process, to FILE.MODE.scheduler) with py-spy (raw collapsed stacks) during the measurement")
    p.add_argument("--scheduler-process", action="store_true",
                   help="run the scheduler as its own process (`kube-tui scheduler`), not inside the control plane")
    p.add_argument("--json", action="store_true")
    p.add_argument("--config", metavar="FILE", default="",
                   help="with --pure: a KubeSchedulerConfiguration; each of its profiles is measured (your plugins' cost)")
    p.add_argument("--plugins", metavar="FILE.py", action="append", default=[],
                   help="with --pure and --config: your plugin files (repeatable)")
    args = p.parse_args(argv)
    if args.config or args.plugins:
        if not args.pure:
            print("error: --config and --plugins measure profiles with --pure (the scheduling core alone)", file=sys.stderr)
            return 2
        return _profiles(args)
    if args.pure:
        from control.scheduler.bench import bench_schedule

        rows = [bench_schedule(args.nodes, args.pods, record=False), bench_schedule(args.nodes, args.pods)]
        if args.json:
            print(json.dumps(rows, indent=1))
            return 0
        print(f"kube-tui bench scheduler --pure  (cpus: {os.cpu_count()}; the scheduling core only, synthetic mixed pods)")
        for r in rows:
            print(f"  {r['nodes']} nodes, {r['pods']} pods, record={r['record']!s:<5}: {r['pods_per_second']:8,.0f} pods/s"
                  f"  ({r['pods_per_cpu_second']:,.0f} per CPU-second; {r['avg_nodes_evaluated']:g} nodes evaluated per pod)")
        return 0
    modes = ("e2e", "queued") if args.mode == "both" else (args.mode,)
    if not args.json:
        print(f"kube-tui bench scheduler  (cpus: {os.cpu_count()}; {args.nodes} nodes, {args.pods} pods; "
              f"store fsync {'off' if args.no_fsync else 'on'}; reference: SchedulingBasic 5000/10000 threshold 680 pods/s)",
              flush=True)
    results = []
    for mode in modes:
        r = run(args.nodes, args.pods, queued=mode == "queued", fsync=not args.no_fsync,
                concurrency=args.concurrency, profile=f"{args.profile}.{mode}" if args.profile else "",
                py_spy=f"{args.py_spy}.{mode}" if args.py_spy else "", scheduler_process=args.scheduler_process)
        results.append(r)
        if args.json:
            continue
        if mode == "e2e":
            print(f"  e2e (scheduler running, writer creating): {r['pods_per_s']:8,.1f} pods/s  first create -> last bound "
                  f"{r['seconds']}s; scheduler {r['scheduler_pods_per_s']:,.1f} bound/s; creates {r['pod_creates_per_s']:,.0f}/s")
        else:
            print(f"  queued (all {r['pods']} pending, then the scheduler starts): {r['pods_per_s']:8,.1f} pods/s  start -> last bound "
                  f"{r['seconds']}s; first -> last bind {r['scheduler_pods_per_s']:,.1f} bound/s")
        print(f"    control plane CPU {r['control_cpu_s']}s = {r['pods_per_control_cpu_s']:,.0f} pods per CPU-second")
        print(f"    ({r['bound']}/{r['pods']} bound; nodes created at {r['node_creates_per_s']:,.0f}/s; relists {r['relists']})",
              flush=True)
    if args.json:
        print(json.dumps(results, indent=1))
    return 0 if all(r["bound"] == r["pods"] for r in results) else 1


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
