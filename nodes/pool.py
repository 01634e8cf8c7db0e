"""Many simulated nodes in one process (like KWOK): each with its Node, Lease heartbeat and pods.

Cheap by sharing: one Client (the admin credential, since it watches every pod), one pod informer
indexed by spec.nodeName, one Node informer, one status manager, one event writer, one logs
endpoint, one sim runtime, and one heartbeat scheduler that spreads lease renewals evenly.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from control import errors
from control.aio import signal_handlers, start_unless_stopped
from control.apiserver.ranges import ClusterNetwork
from control.client import Client
from control.controllers.events import EventBroadcaster
from control.errors import ApiError
from control.informer import Informer
from control.timings import Timings
from control.workqueue import WorkQueue, run_workers
from nodes.kubelet import Kubelet, KubeletServer, StatusManager
from nodes.nodestatus import USAGE_ANNOTATION, NodeConfig, NodeStatus, node_ip_of, pick_pod_cidr
from nodes.runtime.sim import SimRuntime

log = logging.getLogger("kube_tui.pool")

NODE_INDEX = "spec.nodeName"


@dataclass
class PoolOptions:
    server: str
    token: str | None
    count: int
    server_key: str | None = None
    prefix: str = "sim-"
    timings: Timings = field(default_factory=Timings)
    start_delay: float = 0.5  # seconds a simulated container takes to start
    register_concurrency: int = 64
    renew_concurrency: int = 128
    status_concurrency: int = 256  # pod status writes in flight (at most one per node)
    usage_interval: float = 30.0
    sync_workers: int = 8


def _by_node(pod: dict) -> list[str]:
    node = (pod.get("spec") or {}).get("nodeName")
    return [node] if node else []


class Pool:
    """N simulated nodes; start() returns once every node is registered, ranged and heartbeating."""

    def __init__(self, template: NodeConfig, opts: PoolOptions, *, say: Callable[[str], None] = print) -> None:
        self.template = template
        self.opts = opts
        self.say = say
        self.client = Client(opts.server, token=opts.token, server_key=opts.server_key, identity="kube-tui-nodes",
                             timeout=10.0, retry_for=60.0)
        self.runtime = SimRuntime(start_delay=opts.start_delay)
        self.names = [f"{opts.prefix}{i}" for i in range(opts.count)]
        self.nodes: dict[str, NodeStatus] = {}
        self.kubelets: dict[str, Kubelet] = {}
        self.node_informer = Informer(self.client, "Node")
        self.pod_informer = Informer(self.client, "Pod")
        # Each real kubelet has its own status writes in flight: a pool-wide 32 starved a 10,000-pod burst
        # behind the scheduler's binds and the controllers' creates.
        self.statuses = StatusManager(self.client, self.pod_informer.get,
                                      concurrency=max(32, min(opts.count, opts.status_concurrency)))
        self.events = EventBroadcaster(self.client)
        self.queue: WorkQueue[tuple[str, str, str]] = WorkQueue("pool", base_delay=0.2, max_delay=10.0)
        self.server = KubeletServer(self._logs, key=lambda: opts.token)  # simulated nodes: the admin's
        self.renewals = 0
        self.renew_failures = 0
        self._tasks: list[asyncio.Task[None]] = []

    # -- start ---------------------------------------------------------------------------------
    async def start(self) -> None:
        hello = await self.client.connect()
        if hello.get("user") != "admin":
            raise ApiError(403, "Forbidden", "kube-tui nodes needs the admin credential: it watches every pod "
                                             f"(got {hello.get('user')}); pass --token with the admin token")
        endpoint = self.server.bind("tcp://127.0.0.1:*", curve=bool(self.client.server_key))
        self.pod_informer.add_index(NODE_INDEX, _by_node)
        self.pod_informer.add_handler(self._on_pod, lambda old, new: self._on_pod(new), self._on_pod)
        self.node_informer.add_handler(self._on_node, lambda old, new: self._on_node(new))
        await self.node_informer.start()
        await self.pod_informer.start()
        await self.node_informer.wait_synced(30)
        await self.pod_informer.wait_synced(30)
        t0 = time.monotonic()
        used = {c for n in self.node_informer.list() for c in [(n.get("spec") or {}).get("podCIDR")] if c}
        network = ClusterNetwork.from_dict(self.client.hello.get("network"))
        for name in self.names:
            st = NodeStatus(self.client, replace(self.template, name=name, labels=dict(self.template.labels)),
                            timings=self.opts.timings, simulated=True)
            st.kubelet_endpoint, st.kubelet_key = endpoint, self.server.public_key
            existing = self.node_informer.get(None, name)
            cidr = ((existing or {}).get("spec") or {}).get("podCIDR")
            if not cidr:
                # Like KWOK, the pool gives each node its range at creation: one request per node, not three.
                cidr = pick_pod_cidr(name, used, network)
                used.add(cidr)
            st.pod_cidr, st.node_ip = cidr, node_ip_of(cidr)
            self.nodes[name] = st
        sem = asyncio.Semaphore(self.opts.register_concurrency)

        async def register(st: NodeStatus) -> None:
            async with sem:
                await st.register()

        await asyncio.gather(*(register(st) for st in self.nodes.values()))

        async def first_lease(st: NodeStatus) -> None:
            async with sem:
                await st.renew_lease()

        # Never Ready without a Lease; after this first one, renewals are spread over the interval.
        await asyncio.gather(*(first_lease(st) for st in self.nodes.values()))
        self.say(f"registered {len(self.nodes)} simulated nodes in {time.monotonic() - t0:.1f}s")
        self.statuses.start()
        self._tasks.append(asyncio.create_task(
            run_workers(self.queue, self._sync, self.opts.sync_workers,
                        on_error=lambda k, e: log.warning("pool: sync of %s failed: %s", k, e)), name="pool-sync"))
        # The sim runtime writes no log files (its logs are made up on request): no log dir is needed.
        no_logs = Path("/nonexistent/kube-tui-sim")
        for name, st in self.nodes.items():
            k = self.kubelets[name] = Kubelet(
                self.client, st, self.runtime, timings=self.opts.timings, log_dir=no_logs,
                pods=self.pod_informer.get, statuses=self.statuses,
                events=self.events.new_recorder("kubelet", host=name),
                enqueue=lambda key, n=name: self.queue.add((n, key[0], key[1])), shared_logs_root=True)
            k.start(self.pod_informer.by_index(NODE_INDEX, name))
        self._tasks.append(asyncio.create_task(self._heartbeats(), name="pool-heartbeats"))
        self.say(f"{len(self.nodes)} simulated nodes ready ({self.opts.prefix}0 .. {self.opts.prefix}{len(self.nodes) - 1})")

    async def _sync(self, key: tuple[str, str, str]) -> None:
        k = self.kubelets.get(key[0])
        if k is not None:
            await k.sync_pod((key[1], key[2]))

    def _on_pod(self, pod: dict) -> None:
        node = (pod.get("spec") or {}).get("nodeName")
        k = self.kubelets.get(node) if node else None
        if k is not None:
            k.on_pod(pod)

    def _on_node(self, node: dict) -> None:
        st = self.nodes.get((node.get("metadata") or {}).get("name", ""))
        if st is not None:
            st.node = node

    def _logs(self, body: dict) -> dict:
        pod = self.pod_informer.get(str(body.get("namespace") or "default"), str(body.get("name") or ""))
        node = ((pod or {}).get("spec") or {}).get("nodeName")
        k = self.kubelets.get(node) if node else None
        if k is None:
            raise errors.not_found("pods", str(body.get("name") or ""))
        return k.logs(body)

    # -- heartbeats -----------------------------------------------------------------------------
    async def _heartbeats(self) -> None:
        """Every node renews once per lease_duration/4, spread evenly; every other round checks status."""
        interval = self.opts.timings.lease_duration / 4
        usage_rounds = max(1, round(self.opts.usage_interval / interval))
        sem = asyncio.Semaphore(self.opts.renew_concurrency)
        loop = asyncio.get_running_loop()
        now = loop.time()
        names = list(self.nodes)
        heap = [(now + interval * (i + 1) / len(names), i, 0) for i in range(len(names))]
        heapq.heapify(heap)
        running: set[asyncio.Task[None]] = set()
        try:
            while heap:
                due, i, rnd = heap[0]
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                heapq.heapreplace(heap, (due + interval, i, rnd + 1))
                await sem.acquire()
                task = loop.create_task(self._beat(names[i], rnd, usage_rounds, sem))
                running.add(task)
                task.add_done_callback(running.discard)
        finally:
            for t in running:
                t.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _beat(self, name: str, rnd: int, usage_rounds: int, sem: asyncio.Semaphore) -> None:
        st = self.nodes[name]
        try:
            await st.renew_lease()
            self.renewals += 1
            if rnd % 2 == 1:
                # Compared against the Node informer's copy: no read request per check.
                await st.sync_status(self.node_informer.get(None, name))
            if rnd % usage_rounds == usage_rounds - 1:
                text = self.kubelets[name].usage_annotation()
                if text is not None:
                    await st.set_annotations({USAGE_ANNOTATION: text})
        except ApiError as e:
            self.renew_failures += 1
            log.debug("pool: heartbeat of %s failed: %s", name, e.message)
        finally:
            sem.release()

    # -- stop ---------------------------------------------------------------------------------------
    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.queue.shutdown()
        self.statuses.paused = True
        await asyncio.gather(*(k.shutdown() for k in self.kubelets.values()), return_exceptions=True)
        await self.runtime.shutdown()
        await self.pod_informer.stop()
        await self.node_informer.stop()
        await self.statuses.stop()
        await self.events.close()
        await self.server.stop()
        await self.client.close()


async def run_pool(template: NodeConfig, opts: PoolOptions, *, say: Callable[[str], None] = print,
                   stop: asyncio.Event | None = None) -> int:
    """Run the pool until SIGINT/SIGTERM (or `stop`). The nodes go NotReady through their leases expiring."""
    stop = stop or asyncio.Event()
    with signal_handlers(stop.set):
        pool = Pool(template, opts, say=say)
        code = 0
        try:
            await start_unless_stopped(pool.start(), stop, ignore=(ApiError,))
            say(f"stopping {len(pool.nodes)} simulated nodes")
        except ApiError as e:
            say(f"error: {e}")
            code = 1
        finally:
            await pool.stop()
    return code


__all__ = ["Pool", "PoolOptions", "run_pool"]
