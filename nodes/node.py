"""One node process, as `kube-tui node` runs it: join, register, pod range, kubelet + kube-proxy, graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from control import config
from control.aio import signal_handlers, start_unless_stopped
from control.apiserver.kubelet_proxy import KUBELET_KEY
from control.client import Client
from control.controllers.events import NORMAL, EventRecorder
from control.errors import ApiError
from control.informer import Informer
from control.timings import Timings
from nodes.eviction import MONITORING_INTERVAL
from nodes.kubelet import Kubelet, KubeletServer, StatusManager
from nodes.nodestatus import USAGE_ANNOTATION, NodeConfig, NodeStatus
from nodes.proxy import Proxy
from nodes.runtime import make_runtime

log = logging.getLogger("kube_tui.node")


def default_data_dir(name: str) -> Path:
    return config.home() / "nodes" / name


@dataclass
class NodeOptions:
    """Everything `kube-tui node` needs beyond the node's own config."""

    server: str
    token: str | None
    data_dir: Path
    timings: Timings = field(default_factory=Timings)
    timings_from_server: bool = False  # the CLI sets it: use the cluster's timings from the hello
    proxy: bool = True
    usage_interval: float = 5.0
    eviction_interval: float = MONITORING_INTERVAL  # how often pods' local ephemeral storage is measured
    cidr_wait: float = 3.0  # how long the node lifecycle controller gets to assign a pod range
    sim_start_delay: float = 0.5
    server_key: str | None = None  # the API server's CURVE public key, from the join command


def _read_credential(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _write_credential(path: Path, cred: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(cred)
    os.replace(tmp, path)


async def join(opts: NodeOptions, name: str) -> Client:
    """A client holding this node's own credential: the one saved by an earlier run, else by joining."""
    saved_path = opts.data_dir / "credential"
    saved = _read_credential(saved_path)
    if saved:
        client = Client(opts.server, token=saved, identity=f"kubelet-{name}", server_key=opts.server_key)
        try:
            hello = await client.connect()
            if hello.get("user") == f"system:node:{name}":
                return client
        except ApiError as e:
            if e.code != 401:
                await client.close()
                raise
        await client.close()
    if not opts.token:
        raise ApiError(401, "Unauthorized", "no credential to join with: pass --token (printed by `kube-tui control`)")
    if opts.token.startswith("node."):
        client = Client(opts.server, token=opts.token, identity=f"kubelet-{name}", server_key=opts.server_key)
    else:
        # A join token (or the admin's) is traded for this node's own credential in the hello.
        client = Client(opts.server, token=opts.token, join_node=name, identity=f"kubelet-{name}",
                        server_key=opts.server_key)
    try:
        await client.connect()
    except BaseException:
        await client.close()
        raise
    if client.token and client.token.startswith("node."):
        _write_credential(saved_path, client.token)
    return client


class Node:
    """kubelet + kube-proxy of one node, started and stopped in the right order."""

    def __init__(self, cfg: NodeConfig, opts: NodeOptions, *, say: Callable[[str], None] = print) -> None:
        self.cfg = cfg
        self.opts = opts
        self.say = say
        self.client: Client | None = None
        self.status: NodeStatus | None = None
        self.kubelet: Kubelet | None = None
        self.proxy: Proxy | None = None
        self.server: KubeletServer | None = None
        self.runtime = make_runtime(cfg.runtime, **({"start_delay": opts.sim_start_delay} if cfg.runtime == "sim" else {}))
        self._informers: list[Informer] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._events: EventRecorder | None = None
        self._statuses: StatusManager | None = None

    async def start(self) -> None:
        cfg, opts = self.cfg, self.opts
        opts.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if cfg.data_dir is None:  # disk pressure, and the local-path provisioner's directory, are in the data dir
            cfg.data_dir = str(opts.data_dir)
        self.client = client = await join(opts, cfg.name)
        self.say(f"joined {opts.server} as {client.user}")
        if opts.timings_from_server and client.hello.get("timings"):
            opts.timings = Timings.from_dict(client.hello["timings"])
        status = self.status = NodeStatus(client, cfg, timings=opts.timings, say=self.say)
        events = self._events = EventRecorder(client, "kubelet", host=cfg.name)
        res = await status.register()
        cap = cfg.capacity()
        self.say(f"registered node {cfg.name} ({'new' if res['created'] else 'existing'}): "
                 f"cpu {cap['cpu']}, memory {cap['memory']}, pods {cap['pods']}, runtime {cfg.runtime}")
        await status.wait_pod_cidr(claim_after=opts.cidr_wait)
        self.say(f"pod range {status.pod_cidr} (node IP {status.node_ip})")
        # The kubelet's own endpoint, for the API server's `logs`, on the node's address.
        server = self.server = KubeletServer(lambda body: self._logs(body), key=lambda: client.token,
                                             exec_handler=self._exec, portforward_handler=self._port_forward)
        status.kubelet_endpoint = server.bind(f"tcp://{status.node_ip}:*", curve=bool(opts.server_key))
        status.kubelet_key = server.public_key
        await status.set_annotations({**status.annotations(), KUBELET_KEY: status.kubelet_key})  # None: none now
        services = Informer(client, "Service")
        pods = Informer(client, "Pod", node_name=cfg.name)
        self._informers = [services, pods]
        statuses = self._statuses = StatusManager(client, pods.get)
        kubelet = self.kubelet = Kubelet(
            client, status, self.runtime, timings=opts.timings, log_dir=opts.data_dir / "pods", pods=pods.get,
            statuses=statuses, events=events, services=services, eviction_interval=opts.eviction_interval)
        pods.add_handler(kubelet.on_pod, kubelet.on_pod_update, kubelet.on_pod_deleted)
        await services.start()
        await pods.start()
        await services.wait_synced()
        await pods.wait_synced()
        statuses.start()
        kubelet.start(pods.list())
        kubelet.node_event(NORMAL, "Starting", "Starting kubelet.")
        status.on_schedulable = lambda cordoned: kubelet.node_event(
            NORMAL, "NodeNotSchedulable" if cordoned else "NodeSchedulable",
            f"Node {cfg.name} status is now: {'NodeNotSchedulable' if cordoned else 'NodeSchedulable'}")
        if opts.proxy:
            self.proxy = Proxy(client, node_ip=status.node_ip, node_name=cfg.name, services=services)
            await self.proxy.start()
        await status.sync_status(force=True)
        await status.renew_lease()
        self._tasks = [asyncio.create_task(status.run(), name="node-status"),
                       asyncio.create_task(self._usage_loop(), name="node-usage")]
        if status.is_ready():
            kubelet.node_event(NORMAL, "NodeReady", f"Node {cfg.name} status is now: NodeReady")
        self.say(f"node {cfg.name} is ready ({len(pods.list())} pods bound here)")

    def _logs(self, body: dict) -> dict:
        assert self.kubelet is not None
        return self.kubelet.logs(body)

    async def _exec(self, body: dict) -> dict:
        assert self.kubelet is not None
        return await self.kubelet.exec(body)

    async def _port_forward(self, body: dict) -> dict:
        assert self.kubelet is not None
        return await self.kubelet.port_forward(body)

    async def _usage_loop(self) -> None:
        assert self.kubelet is not None and self.status is not None
        while True:
            await asyncio.sleep(self.opts.usage_interval)
            text = self.kubelet.usage_annotation()
            if text is None:
                continue
            try:
                await self.status.set_annotations({USAGE_ANNOTATION: text})
            except ApiError as e:
                log.debug("usage annotation not written: %s", e.message)

    async def stop(self, *, graceful: bool = True) -> None:
        """Graceful node shutdown: NotReady, every pod stopped with its grace period, then leave."""
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.status is not None and self.client is not None and graceful:
            if self.kubelet is not None:
                self.kubelet.node_event(NORMAL, "Shutdown", "Shutdown manager detected shutdown event")
                self.kubelet.node_event(NORMAL, "NodeNotReady",
                                        f"Node {self.cfg.name} status is now: NodeNotReady")
            with contextlib.suppress(ApiError, TimeoutError):
                await asyncio.wait_for(self.status.mark_shutting_down(), 5.0)
        if self.kubelet is not None:
            if graceful:  # report the pods it stops (for at most a few seconds: the API server may be gone)
                await self.kubelet.shutdown(report=True)
            else:
                self.kubelet.shutting_down = True
            self.kubelet.exec_sessions.close_all()
        await self.runtime.shutdown()
        if self.proxy is not None:
            await self.proxy.stop()
        for inf in self._informers:
            await inf.stop()
        if self._statuses is not None:
            await self._statuses.stop()
        if self.server is not None:
            await self.server.stop()
        if self._events is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._events.flush(), 2.0)
            await self._events.close()
        if self.client is not None:
            await self.client.close()


async def run_node(cfg: NodeConfig, opts: NodeOptions, *, say: Callable[[str], None] = print,
                   stop: asyncio.Event | None = None) -> int:
    """Run one node until SIGINT/SIGTERM (or `stop`); a second signal skips the grace periods."""
    stop = stop or asyncio.Event()
    force = asyncio.Event()

    def on_signal() -> None:
        if stop.is_set():
            force.set()
        stop.set()

    with signal_handlers(on_signal):
        node = Node(cfg, opts, say=say)
        code = 0
        try:
            await start_unless_stopped(node.start(), stop, ignore=(ApiError,))
            say(f"node {cfg.name}: shutting down (stopping pods with their grace periods; Ctrl-C again to kill)")
            stopping = asyncio.create_task(node.stop())
            forced = asyncio.create_task(force.wait())
            done, _ = await asyncio.wait([stopping, forced], return_when=asyncio.FIRST_COMPLETED)
            if stopping not in done:
                await node.runtime.shutdown()  # a second signal: kill every container now
                await stopping
            forced.cancel()
        except ApiError as e:
            say(f"error: {e}")
            code = 1
            await node.stop(graceful=False)
    return code
