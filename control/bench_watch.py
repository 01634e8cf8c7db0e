"""`kube-tui bench watch`: events/s through API write -> store -> PUB -> informer cache, and write-to-delivery latency.

Everything runs as real processes on loopback: one control plane (store with fsync, API server), one
writer process, N subscriber processes each running an Informer. The raw pyzmq + msgpack PUB/SUB
rate for the same payload is measured in the same run as the ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack
import zmq

from control import aio

PAYLOAD_POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "x", "labels": {"app": "bench", "tier": "web"}, "annotations": {}},
    "spec": {"containers": [{"name": "c", "image": "nginx:1.25", "ports": [{"containerPort": 80}],
                             "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]},
}


def stored_pod() -> dict[str, Any]:
    """PAYLOAD_POD as the API server stores and publishes it (defaults, metadata, status): what a watch
    event carries, so the ceiling is measured with the very payload the whole path delivers."""
    import copy

    from control.api import meta
    from control.api.defaults import apply_defaults
    from control.api.qos import qos_class
    from control.apiserver import serviceaccount
    from control.apiserver.handlers import record_manager

    pod = copy.deepcopy(PAYLOAD_POD)
    md = pod["metadata"]
    md.update(namespace="default", uid=meta.new_uid(), creationTimestamp=meta.now(), generation=1,
              annotations={"bench/sent": repr(time.time())}, resourceVersion="1")
    apply_defaults(pod)
    # ServiceAccount admission: the default account, and its kube-api-access volume in every container
    spec = pod["spec"]
    spec["serviceAccountName"] = spec["serviceAccount"] = "default"
    serviceaccount.mount_token(spec, meta.random_suffix())
    spec.update(priority=0, preemptionPolicy="PreemptLowerPriority")  # Priority admission, with no class named
    pod["status"] = {"phase": "Pending", "qosClass": qos_class(pod)}
    record_manager(pod, "bench-writer")
    return pod


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


# -- the ceiling: raw PUB/SUB --------------------------------------------------------------------------
def _pods_sub(addr: str) -> tuple[zmq.Context, zmq.Socket]:
    """A plain pyzmq SUB on the pods topic, no high-water mark: the raw subscriber of the ceiling and the floor."""
    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.RCVHWM, 0)
    s.connect(addr)
    s.setsockopt(zmq.SUBSCRIBE, b"pods\x00")
    return ctx, s


def _raw_sub(addr: str, n: int, q: Any) -> None:
    ctx, s = _pods_sub(addr)
    q.put("ready")
    got = 0
    t0 = 0.0
    while got < n:
        _topic, payload = s.recv_multipart()
        msg = msgpack.unpackb(payload, raw=False)
        if msg.get("type") == "START":
            t0 = time.perf_counter()
            continue
        got += 1
    q.put(n / (time.perf_counter() - t0))
    s.close()
    ctx.term()


def raw_ceiling(n: int = 50_000, subscribers: int = 1, payload: dict | None = None) -> float:
    """Events/s per subscriber for bare pyzmq + msgpack PUB/SUB, same payload shape as a watch event."""
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    q: Any = mp.get_context("spawn").Queue()
    procs = [mp.get_context("spawn").Process(target=_raw_sub, args=(f"tcp://127.0.0.1:{port}", n, q)) for _ in range(subscribers)]
    for p in procs:
        p.start()
    for _ in procs:
        q.get(timeout=30)
    time.sleep(0.3)  # slow-joiner: let the subscriptions reach the PUB socket
    pub.send_multipart([b"pods\x00", msgpack.packb({"type": "START"})])
    for i in range(n):
        ev = {"v": 1, "seq": i, "type": "MODIFIED", "rev": i, "object": payload or PAYLOAD_POD, "ts": time.time()}
        pub.send_multipart([b"pods\x00", msgpack.packb(ev)])
    rates = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(10)
    pub.close()
    ctx.term()
    return statistics.mean(rates)


def _floor_sub(addr: str, n: int, q: Any) -> None:
    """The ceiling's subscriber, timed: a blocking pyzmq SUB, msgpack decode, a dict insert; nothing of kube-tui
    but the garbage-collector policy, which every subscriber of the whole path has too (without it the ten
    processes, holding the same growing cache, pause in lockstep for a full collection)."""
    from control import gcpolicy

    gcpolicy.install()
    ctx, s = _pods_sub(addr)
    q.put("ready")
    cache: dict[int, dict] = {}
    lat: list[float] = []
    cpu0 = 0.0
    while len(lat) < n:
        _topic, payload = s.recv_multipart()
        msg = msgpack.unpackb(payload, raw=False)
        if msg.get("type") == "START":
            cpu0 = time.process_time()
            continue
        lat.append((time.time() - msg["ts"]) * 1000)
        cache[msg["seq"]] = msg["object"]
    q.put((lat, time.process_time() - cpu0))
    s.close()
    ctx.term()


def raw_latency_floor(n: int, subscribers: int, rate: float, payload: dict) -> dict[str, float]:
    """Latency of bare pyzmq + msgpack PUB/SUB at `rate` events/s to `subscribers` processes (the ceiling's
    subscriber), with no API server, store or writer: what this machine's wake-ups alone cost at that rate."""
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 0)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    spawn = mp.get_context("spawn")
    q: Any = spawn.Queue()
    procs = [spawn.Process(target=_floor_sub, args=(f"tcp://127.0.0.1:{port}", n, q)) for _ in range(subscribers)]
    for p in procs:
        p.start()
    for _ in procs:
        q.get(timeout=30)
    time.sleep(0.3)  # slow-joiner: let the subscriptions reach the PUB socket
    pub.send_multipart([b"pods\x00", msgpack.packb({"type": "START"})])
    start = time.perf_counter()
    cpu0 = time.process_time()
    for i in range(n):
        wait = start + i / rate - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        ev = {"v": 1, "seq": i, "type": "MODIFIED", "rev": i, "object": payload, "ts": time.time()}
        pub.send_multipart([b"pods\x00", msgpack.packb(ev)])
    took = time.perf_counter() - start
    pub_cpu = (time.process_time() - cpu0) / took
    reports = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(10)
    pub.close()
    ctx.term()
    lat = [x for r in reports for x in r[0]]
    return {"p50_ms": _pct(lat, 50), "p99_ms": _pct(lat, 99), "cpu_publisher": pub_cpu,
            "cpu_subscribers": sum(r[1] for r in reports) / took}


# -- the whole path -------------------------------------------------------------------------------------------
def _subscriber(server: str, token: str, expect: int, q: Any) -> None:
    from control import gcpolicy
    from control.client import Client
    from control.informer import Informer

    async def main() -> None:
        gcpolicy.install()  # as every component's entry point does
        client = Client(server, token=token, identity="bench-sub")
        inf = Informer(client, "Pod", silence_timeout=30)
        lat: list[float] = []
        to_publish: list[float] = []  # write sent -> published (the event's ts, stamped by the API server)
        times: list[float] = []
        cpu = [0.0, 0.0]  # process CPU seconds (all threads) at the first and the last event (a system call: not per event)
        all_seen = asyncio.Event()
        published = [0.0]
        on_event = inf._on_event

        def heard(ev: dict) -> None:  # where the latency goes: the event's own publish time, kept for seen()
            published[0] = ev.get("ts", 0.0)
            on_event(ev)

        inf._on_event = heard  # type: ignore[method-assign]

        def seen(obj: dict) -> None:
            sent = float((obj["metadata"].get("annotations") or {}).get("bench/sent", 0))
            now = time.time()
            if not times:
                cpu[0] = time.process_time()
            times.append(now)
            if sent:
                lat.append((now - sent) * 1000)
                to_publish.append((published[0] - sent) * 1000)
            if len(times) >= expect:
                cpu[1] = time.process_time()
                all_seen.set()

        inf.add_handler(seen, lambda _o, n: seen(n), None)
        await inf.start()
        await inf.wait_synced(30)
        q.put("ready")
        try:
            await asyncio.wait_for(all_seen.wait(), 120)
        except TimeoutError:
            pass  # reported as incomplete delivery
        gcs = gcpolicy.stats()
        q.put({"n": len(times), "first": times[0] if times else 0, "last": times[-1] if times else 0, "lat": lat,
               "to_publish": to_publish,
               "cpu": (cpu[1] or time.process_time()) - cpu[0],
               "relists": inf.relists, "gc_max_ms": max(gcs.max_pause_ms) if gcs else 0.0})
        await inf.stop()
        await client.close()

    aio.run(main())


def _writer(server: str, token: str, n: int, rate: float, concurrency: int, q: Any) -> None:
    from control import gcpolicy
    from control.client import Client

    async def main() -> None:
        gcpolicy.install()
        client = Client(server, token=token, identity="bench-writer")
        await client.connect()
        q.put("ready")
        start = time.perf_counter()
        counter = iter(range(n))

        async def worker() -> None:
            for i in counter:
                if rate:
                    wait = start + i / rate - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                obj = dict(PAYLOAD_POD)
                obj["metadata"] = {**PAYLOAD_POD["metadata"], "name": f"w{i}", "annotations": {"bench/sent": repr(time.time())}}
                await client.create(obj)

        cpu0 = time.process_time()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        took = time.perf_counter() - start
        q.put((n / took, (time.process_time() - cpu0) / took))
        await client.close()

    aio.run(main())


SOCKET_SWITCHES = ("KUBE_TUI_SERVER_SOCKET", "KUBE_TUI_WATCH_SOCKET", "KUBE_TUI_REQUEST_SOCKET")


def whole_path(n: int, subscribers: int, rate: float = 0.0, concurrency: int = 64,
               sockets: str | None = None) -> dict[str, float]:
    """One run; `sockets` "libzmq" puts every ZeroMQ socket of every process back on libzmq (the API
    server's ROUTER and XPUB, the clients' DEALER and SUB) instead of control/zmtp.py and
    control/zmtp_server.py: the switches are environment variables, which the spawned processes inherit."""
    saved = {k: os.environ.get(k) for k in SOCKET_SWITCHES}
    if sockets:
        os.environ.update(dict.fromkeys(SOCKET_SWITCHES, sockets))
    try:
        return _whole_path(n, subscribers, rate, concurrency)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _whole_path(n: int, subscribers: int, rate: float, concurrency: int) -> dict[str, float]:
    spawn = mp.get_context("spawn")
    result: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="kube-tui-bench-") as tmp:
        q: Any = spawn.Queue()
        ready: Any = spawn.Queue()

        addr_q: Any = spawn.Queue()
        stop_q: Any = spawn.Queue()
        cp = spawn.Process(target=_serve_entry, args=(tmp, addr_q, stop_q))
        cp.start()
        server, token = addr_q.get(timeout=60)
        subs = [spawn.Process(target=_subscriber, args=(server, token, n, q)) for _ in range(subscribers)]
        for p in subs:
            p.start()
        for _ in subs:
            assert q.get(timeout=60) == "ready"
        w = spawn.Process(target=_writer, args=(server, token, n, rate, concurrency, ready))
        w.start()
        assert ready.get(timeout=60) == "ready"
        stop_q.put("mark")
        cp_cpu0, t0 = addr_q.get(timeout=30), time.perf_counter()
        write_rate, writer_cores = ready.get(timeout=300)
        stop_q.put("mark")
        cp_cpu1, t1 = addr_q.get(timeout=30), time.perf_counter()
        reports = [q.get(timeout=300) for _ in subs]
        w.join(10)
        for p in subs:
            p.join(10)
        stop_q.put("stop")
        cp.join(30)
    lat = [x for r in reports for x in r["lat"]]
    to_publish = [x for r in reports for x in r["to_publish"]]
    rates = [r["n"] / max(1e-9, r["last"] - r["first"]) for r in reports if r["n"] > 1]
    result["writes_per_s"] = write_rate
    # CPU in cores while the writes ran (process CPU, all threads): where the machine's time goes
    result["cpu_control_plane"] = (cp_cpu1 - cp_cpu0) / (t1 - t0)
    result["cpu_writer"] = writer_cores
    result["cpu_subscribers"] = sum(r["cpu"] / max(1e-9, r["last"] - r["first"]) for r in reports if r["n"] > 1)
    result["delivered_per_sub"] = statistics.mean(rates) if rates else 0.0
    result["delivered_total"] = sum(rates)
    result["complete"] = min(r["n"] for r in reports) / n
    result["p50_ms"] = _pct(lat, 50)
    result["p99_ms"] = _pct(lat, 99)
    result["publish_p50_ms"] = _pct(to_publish, 50)
    result["publish_p99_ms"] = _pct(to_publish, 99)
    result["relists"] = sum(r["relists"] for r in reports)
    result["sub_gc_max_ms"] = max(r["gc_max_ms"] for r in reports)  # wall time: includes being preempted
    return result


def _serve_entry(tmp: str, addr_q: Any, stop_q: Any) -> None:
    from control.plane import ControlPlane, tune_gc

    async def main() -> None:
        plane = ControlPlane(Path(tmp) / "data", "tcp://127.0.0.1:*", scheduler=False, controllers=False)
        await plane.start()
        tune_gc()
        assert plane.server is not None and plane.credentials is not None
        addr_q.put((plane.server.address, plane.credentials.admin))
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, stop_q.get) == "mark":
            addr_q.put(time.process_time())  # the parent brackets the writes with these, for CPU per write
        await plane.stop()

    aio.run(main())


def cpu_line(r: dict[str, float]) -> str:
    """Where the machine's CPU went while the writes ran: on a small machine, latency is contention."""
    total = r["cpu_control_plane"] + r["cpu_writer"] + r["cpu_subscribers"]
    per_write = total / r["writes_per_s"] * 1e6
    return (f"cpu: control plane {r['cpu_control_plane']:.2f}, writer {r['cpu_writer']:.2f}, subscribers "
            f"{r['cpu_subscribers']:.2f} = {total:.2f} of {os.cpu_count()} cores ({per_write:,.0f} us of CPU per write)")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="kube-tui bench watch", description=__doc__)
    p.add_argument("--events", type=int, default=20_000, help="writes for the throughput runs")
    p.add_argument("--latency-events", type=int, default=10_000, help="writes for the latency run (at --rate)")
    p.add_argument("--rate", type=float, default=1000.0, help="writes/s for the latency run")
    p.add_argument("--subscribers", type=int, default=10)
    args = p.parse_args(argv)
    stored = stored_pod()
    print(f"kube-tui bench watch  (cpus: {os.cpu_count()}; payload: a pod of {len(msgpack.packb(PAYLOAD_POD))} bytes "
          f"as written, {len(msgpack.packb(stored))} bytes as stored and published)")
    print("ceiling: raw pyzmq + msgpack PUB/SUB of the stored pod (the payload the whole path delivers) ...", flush=True)
    c1 = raw_ceiling(50_000, 1, stored)
    c10 = raw_ceiling(20_000, args.subscribers, stored)
    print(f"  1 subscriber:    {c1:10,.0f} events/s")
    print(f"  {args.subscribers} subscribers:  {c10:10,.0f} events/s each")
    print("whole path: create -> store (fsync) -> PUB -> Informer cache ...", flush=True)
    r1 = whole_path(args.events, 1)
    print(f"  1 subscriber:    {r1['delivered_per_sub']:10,.0f} events/s delivered  ({r1['delivered_per_sub'] / c1:.0%} of ceiling; writes {r1['writes_per_s']:,.0f}/s)")
    print(f"                   {cpu_line(r1)}")
    r10 = whole_path(args.events, args.subscribers)
    print(f"  {args.subscribers} subscribers:  {r10['delivered_per_sub']:10,.0f} events/s each, {r10['delivered_total']:,.0f} total  ({r10['delivered_per_sub'] / c10:.0%} of ceiling)")
    print(f"                   {cpu_line(r10)}")
    print(f"latency at {args.rate:,.0f} writes/s (write sent -> in every informer cache):")
    for subs in (1, args.subscribers):
        rl = whole_path(args.latency_events, subs, rate=args.rate)
        print(f"  {subs:2d} subscriber{'s' if subs > 1 else ' '}:  p50 {rl['p50_ms']:.2f} ms   p99 {rl['p99_ms']:.2f} ms   "
              f"(achieved {rl['writes_per_s']:,.0f} writes/s; relists {rl['relists']:.0f}; delivered {rl['complete']:.0%}; "
              f"longest GC pause in a subscriber {rl['sub_gc_max_ms']:.1f} ms wall clock, preemption included)")
        print(f"                   of which write sent -> published by the API server: p50 {rl['publish_p50_ms']:.2f} ms   "
              f"p99 {rl['publish_p99_ms']:.2f} ms")
        print(f"                   {cpu_line(rl)}", flush=True)
    floor = raw_latency_floor(min(args.latency_events, 5_000), args.subscribers, args.rate, stored)
    print(f"  {args.subscribers:2d} subscribers, floor: raw pyzmq PUB -> {args.subscribers} SUB processes, no API server: "
          f"p50 {floor['p50_ms']:.2f} ms   p99 {floor['p99_ms']:.2f} ms")
    print(f"                   cpu: publisher {floor['cpu_publisher']:.2f}, subscribers {floor['cpu_subscribers']:.2f} "
          f"= {floor['cpu_publisher'] + floor['cpu_subscribers']:.2f} of {os.cpu_count()} cores", flush=True)
    # What serving and reading the sockets on the event loop (control/zmtp*.py) buys, against libzmq's.
    rz = whole_path(args.latency_events, args.subscribers, rate=args.rate, sockets="libzmq")
    print(f"  {args.subscribers:2d} subscribers, all sockets libzmq's instead: p50 {rz['p50_ms']:.2f} ms   p99 {rz['p99_ms']:.2f} ms   "
          f"(relists {rz['relists']:.0f}; delivered {rz['complete']:.0%})")
    print(f"                   {cpu_line(rz)}", flush=True)
    return 0
