"""`kube-tui bench tui`: the dashboard with 10,000 pods and 2,000 events/s, headless (App.run_test).

The model is fed directly with synthetic objects (no API server: this measures the dashboard, not the
watch channel), the way an informer would after its list. Prints the time to the first full screen and
keypress-to-screen latency p50/p99 (a key is sent, and the clock stops at the first frame rendered
after the cursor moved), plus the cost of each coalescing tick.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import time
from typing import Any

from textual import events

from control import aio
from control.api import meta
from tui.app import KubeTuiApp
from tui.model import ClusterModel


def synthetic_pod(i: int, nodes: int, created: str) -> dict:
    node = f"node-{i % nodes}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"web-{i:05d}", "namespace": "default", "uid": f"pod-uid-{i}", "creationTimestamp": created,
                     "resourceVersion": str(i), "managedFields": [{"manager": f"kubelet/{node}"}]},
        "spec": {"nodeName": node, "containers": [{"name": "web", "image": "nginx",
                                                   "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]},
        "status": {"phase": "Running", "podIP": f"127.{1 + i % nodes}.{i // 250 % 250}.{i % 250 + 2}",
                   "containerStatuses": [{"name": "web", "ready": True, "restartCount": 0, "state": {"running": {}}}]},
    }


def synthetic_node(i: int, created: str) -> dict:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"node-{i}", "uid": f"node-uid-{i}", "creationTimestamp": created, "resourceVersion": "1"},
            "spec": {}, "status": {"allocatable": {"cpu": "64", "memory": "256Gi", "pods": "500"},
                                   "conditions": [{"type": "Ready", "status": "True"}]}}


def churn(pod: dict, rng: random.Random) -> dict:
    """A kubelet-like status change: a restart, a readiness flip, or a phase change."""
    new = dict(pod)
    cs = dict(pod["status"]["containerStatuses"][0])
    roll = rng.random()
    if roll < 0.4:
        cs["restartCount"] = cs["restartCount"] + 1
    elif roll < 0.8:
        cs["ready"] = not cs["ready"]
    status = dict(pod["status"], containerStatuses=[cs])
    if roll >= 0.8:
        status["phase"] = "Pending" if status["phase"] == "Running" else "Running"
    new["status"] = status
    return new


def load_model(pods: int, nodes: int) -> ClusterModel:
    created = meta.to_rfc3339(time.time() - 3600)
    model = ClusterModel(None, watch=False)
    for i in range(nodes):
        model.feed(synthetic_node(i, created))
    for i in range(pods):
        model.feed(synthetic_pod(i, nodes, created))
    model.take_dirty()
    return model


async def feed(model: ClusterModel, rate: float, stop: asyncio.Event, counter: list[int]) -> None:
    """Apply `rate` changes per second in small bursts, paced by the wall clock."""
    rng = random.Random(7)
    pods = model.objects("Pod")
    keys = list(pods)
    start = time.perf_counter()
    sent = 0
    while not stop.is_set():
        due = int((time.perf_counter() - start) * rate)
        for _ in range(due - sent):
            k = keys[rng.randrange(len(keys))]
            model.feed(churn(pods[k], rng))
        sent = max(sent, due)
        counter[0] = sent
        await asyncio.sleep(0.005)


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def run(pods: int, nodes: int, rate: float, presses: int, view: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    model = load_model(pods, nodes)
    load_s = time.perf_counter() - t0
    app = KubeTuiApp(lambda: model, server_label="bench")
    frames: list[float] = []
    orig_display = app._display

    def display(screen: Any, renderable: Any) -> None:
        orig_display(screen, renderable)
        frames.append(time.perf_counter())

    app._display = display  # type: ignore[method-assign]
    tick_costs: list[float] = []
    orig_tick = app._tick

    tick_spans: list[tuple[float, float]] = []

    def tick() -> None:
        a = time.perf_counter()
        orig_tick()
        b = time.perf_counter()
        tick_costs.append(b - a)
        tick_spans.append((a, b))

    app._tick = tick  # type: ignore[method-assign]
    start = time.perf_counter()
    async with app.run_test(size=(180, 50)) as pilot:
        table = app.active_view.panels["Pod"].table  # type: ignore[attr-defined]
        while table.count < pods:
            await pilot.pause()
        while not frames or frames[-1] < start:
            await pilot.pause()
        first_screen = frames[-1] - start
        app.show_view(view)
        await pilot.pause()
        app.active_view.focus_main()
        await pilot.pause()
        table: Any = app.screen.focused  # the view's main table (the pods table in the overview)
        stop = asyncio.Event()
        counter = [0]
        feeder = asyncio.create_task(feed(model, rate, stop, counter))
        latencies: list[float] = []
        samples: list[tuple[float, float]] = []
        rng = random.Random(3)
        fed_from = time.perf_counter()
        for i in range(presses):
            key = "down" if (i // 50) % 2 == 0 else "up"
            before = table.cursor_row
            n_frames = len(frames)
            sent = time.perf_counter()
            app.post_message(events.Key(key, None))
            while True:
                await asyncio.sleep(0.001)
                if table.cursor_row != before and len(frames) > n_frames and frames[-1] > sent:
                    latencies.append(frames[-1] - sent)
                    samples.append((sent, frames[-1]))
                    break
                if time.perf_counter() - sent > 5:
                    latencies.append(5.0)
                    break
            await asyncio.sleep(rng.uniform(0.01, 0.05))
        stop.set()
        await feeder
        fed_s = time.perf_counter() - fed_from
    return {
        "pods": pods, "nodes": nodes, "load_s": load_s, "first_screen_s": first_screen,
        "events": counter[0], "events_per_s": counter[0] / fed_s if fed_s else 0.0,
        "p50_ms": pct(latencies, 50) * 1000, "p99_ms": pct(latencies, 99) * 1000, "max_ms": max(latencies) * 1000,
        "presses": len(latencies), "tick_p50_ms": pct(tick_costs, 50) * 1000, "tick_p99_ms": pct(tick_costs, 99) * 1000,
        "samples": samples, "tick_spans": tick_spans, "frames": frames,
        "ticks": len(tick_costs), "mean_ms": statistics.fmean(latencies) * 1000, "view": view,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="kube-tui bench tui", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--pods", type=int, default=10_000)
    p.add_argument("--nodes", type=int, default=50)
    p.add_argument("--rate", type=float, default=2000.0, help="changes per second while keys are pressed")
    p.add_argument("--presses", type=int, default=200)
    p.add_argument("--view", default="pods", help="the view that takes the keys (pods, overview, nodes, flow, ...)")
    args = p.parse_args(argv)
    r = aio.run(run(args.pods, args.nodes, args.rate, args.presses, args.view))
    ok_first = r["first_screen_s"] <= 2.0
    ok_keys = r["p99_ms"] <= 100.0
    print(f"kube-tui bench tui: {r['pods']} pods on {r['nodes']} nodes, model fed directly (synthetic objects, no API server)")
    print(f"  model load (10k informer-style adds):  {r['load_s']:.2f} s")
    print(f"  time to first full screen:             {r['first_screen_s']:.2f} s   (target <= 2 s: {'ok' if ok_first else 'MISSED'})")
    print(f"  changes applied while typing:          {r['events']} ({r['events_per_s']:.0f}/s)")
    print(f"  keypress -> screen ({r['view']}, n={r['presses']}):    p50 {r['p50_ms']:.1f} ms   p99 {r['p99_ms']:.1f} ms"
          f"   max {r['max_ms']:.1f} ms   (target p99 <= 100 ms: {'ok' if ok_keys else 'MISSED'})")
    print(f"  coalescing tick (every 250 ms):        p50 {r['tick_p50_ms']:.1f} ms   p99 {r['tick_p99_ms']:.1f} ms   ({r['ticks']} ticks)")
    return 0 if ok_first and ok_keys else 1


if __name__ == "__main__":
    raise SystemExit(main())
