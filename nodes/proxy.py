"""kube-proxy in userspace mode: a real TCP listener per Service port that splices connections to ready endpoints.

Listeners use SO_REUSEPORT, so every node's proxy on one machine binds the same ClusterIP:port
(and NodePort) and the kernel spreads connections over the live ones: a service survives any node.

ClusterIPs and node addresses are each cluster's own (control/apiserver/ranges.py), but a NodePort also
listens on 127.0.0.1, which every cluster on the machine shares, and SO_REUSEPORT would let two clusters'
proxies split its connections without a word. So a proxy that listens there also holds a named claim, an
abstract Unix socket `@kube-tui/nodeport/127.0.0.1:PORT/<cluster>/...` (gone with its process), and one
of another cluster finds it in /proc/net/unix and leaves the address alone, saying so. Looking for claims and
taking one happen under a machine-wide lock (claim_shared), so two clusters never both take the address.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import itertools
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import cast

from control.api.endpointslice import port_endpoints, service_name
from control.client import Client
from control.informer import Informer, key_of
from control.workqueue import WorkQueue, run_workers

log = logging.getLogger("kube_tui.proxy")

Key = tuple[str, str]  # (namespace, service name)
Addr = tuple[str, int]
CONNECT_TIMEOUT = 2.0
BY_SERVICE = "service"  # EndpointSlices by NAMESPACE/SERVICE, from their kubernetes.io/service-name label
BACKLOG = 1024


def _slice_service(obj: dict) -> list[str]:
    name = service_name(obj)
    return [f"{(obj.get('metadata') or {}).get('namespace') or ''}/{name}"] if name else []


class Backends:
    """The ready endpoints of one service port, handed out round-robin; replaced in place on change."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.addrs: list[Addr] = []
        self._rr = itertools.count()
        self.connections = 0
        self.failed_connects = 0

    def set(self, addrs: list[Addr]) -> None:
        self.addrs = addrs

    def order(self) -> list[Addr]:
        """All endpoints, starting with the next in turn: a failed connect moves on to the following one."""
        addrs = self.addrs
        if not addrs:
            return []
        start = next(self._rr) % len(addrs)
        return addrs[start:] + addrs[:start]


class _Side(asyncio.Protocol):
    """One half of a spliced connection; what it reads it writes to its peer, with flow control."""

    def __init__(self, conn: _Splice) -> None:
        self.conn = conn
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.got_eof = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.transport.is_closing():
            peer.transport.write(data)

    def eof_received(self) -> bool:
        self.got_eof = True
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.transport.is_closing():
            if peer.transport.can_write_eof():
                peer.transport.write_eof()
        if peer is not None and peer.got_eof:
            self.conn.close()
            return False
        return True  # half-close: keep sending the other way

    def connection_lost(self, exc: Exception | None) -> None:
        self.conn.close()

    # Our transport's send buffer is full: stop reading from the peer until it drains.
    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None and not self.peer.transport.is_closing():
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None and not self.peer.transport.is_closing():
            self.peer.transport.resume_reading()


class _Downstream(_Side):
    """The accepted side: holds the client's bytes back until an endpoint has accepted the upstream."""

    def __init__(self, conn: _Splice) -> None:
        super().__init__(conn)
        self.early: list[bytes] = []  # bytes that came before the upstream was connected

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.pause_reading()
        self.conn.listener.connect(self.conn)

    def data_received(self, data: bytes) -> None:
        if self.peer is None:
            # uvloop starts reading after connection_made even if it paused reading: keep what comes.
            self.early.append(data)
            assert self.transport is not None
            self.transport.pause_reading()
            return
        super().data_received(data)

    def eof_received(self) -> bool:
        if self.peer is None:
            self.got_eof = True  # passed on once the upstream is connected
            return True
        return super().eof_received()


class _Splice:
    """A client connection and its upstream connection to one endpoint."""

    def __init__(self, listener: _Listener) -> None:
        self.listener = listener
        self.down = _Downstream(self)
        self.up: _Side | None = None
        self.closed = False

    async def connect(self) -> None:
        down = self.down
        assert down.transport is not None
        loop = asyncio.get_running_loop()
        backends = self.listener.backends
        for host, port in backends.order():
            if self.closed:
                return
            up = _Side(self)
            up.peer = down  # a backend may speak first (a greeting): that goes to the client at once
            try:
                await asyncio.wait_for(loop.create_connection(lambda up=up: up, host, port), CONNECT_TIMEOUT)
            except (OSError, TimeoutError) as e:
                backends.failed_connects += 1
                log.debug("proxy %s: endpoint %s:%d failed (%s); trying the next", backends.name, host, port, e)
                continue
            if self.closed:
                if up.transport is not None:
                    up.transport.close()
                return
            self.up = up
            down.peer = up
            backends.connections += 1
            assert up.transport is not None
            if down.early:
                up.transport.write(b"".join(down.early))
                down.early.clear()
            if down.got_eof and up.transport.can_write_eof():
                up.transport.write_eof()
            down.transport.resume_reading()
            return
        # No endpoint took it: reset the client, as kube-proxy's REJECT rule does.
        down.transport.abort()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.listener.splices.discard(self)
        for side in (self.down, self.up):
            if side is not None and side.transport is not None and not side.transport.is_closing():
                side.transport.close()

    def abort(self) -> None:
        for side in (self.down, self.up):
            if side is not None and side.transport is not None:
                side.transport.abort()
        self.close()


@dataclass(eq=False)
class _Listener:
    """A bound listening address serving one service port."""

    addr: Addr
    service: Key
    backends: Backends
    server: asyncio.base_events.Server | None = None
    claim: socket.socket | None = None  # for an address every cluster shares (claim_shared)
    splices: set[_Splice] = field(default_factory=set)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def protocol(self) -> asyncio.Protocol:
        splice = _Splice(self)
        self.splices.add(splice)
        return splice.down

    def connect(self, splice: _Splice) -> None:
        task = asyncio.get_running_loop().create_task(splice.connect())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def close(self, drop_connections: bool) -> None:
        if self.server is not None:
            self.server.close()
        if self.claim is not None:
            self.claim.close()
            self.claim = None
        for t in list(self.tasks):
            t.cancel()
        if drop_connections:
            for s in list(self.splices):
                s.abort()


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket that other node processes on this machine may bind too."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


CLAIM_PREFIX = "kube-tui/nodeport"


def shared_holders(addr: Addr, table: str = "/proc/net/unix") -> set[str]:
    """The clusters whose proxies hold a claim on `addr` (an address of the machine, like 127.0.0.1)."""
    want = f"@{CLAIM_PREFIX}/{addr[0]}:{addr[1]}/"
    out: set[str] = set()
    try:
        with open(table) as f:
            for line in f:
                path = line.rstrip("\n").rsplit(" ", 1)[-1]
                if path.startswith(want):
                    out.add(path[len(want):].split("/", 1)[0])
    except OSError:
        pass
    return out


def _claim_name(addr: Addr, cluster: str) -> str:
    return f"\0{CLAIM_PREFIX}/{addr[0]}:{addr[1]}/{cluster}/{os.getpid()}-{uuid.uuid4().hex[:8]}"


async def claim_shared(addr: Addr, cluster: str, *, wait: float = 2.0) -> tuple[socket.socket | None, set[str]]:
    """Claim `addr` for `cluster` unless another cluster holds it: (the claim, or None and the other clusters).

    The claim is a bound abstract Unix socket, live exactly as long as this process holds it. Looking for
    other clusters' claims and binding our own happen under a machine-wide lock, one more abstract name that
    only one socket can hold: two clusters claiming the same address at once cannot both win (without it, two
    proxies released together both saw no claim and both bound, 18 times in 20). The lock is held for the
    look and the bind only, and dies with its process, so a waiter gets it within `wait` seconds or is told
    (OSError) and tries again later.
    """
    lock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                lock.bind(f"\0{CLAIM_PREFIX}-lock/{addr[0]}:{addr[1]}")
                break
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
                if time.monotonic() > deadline:
                    raise OSError(errno.EBUSY, f"another process held the lock on {addr[0]}:{addr[1]}'s NodePort "
                                               f"claims for over {wait:g}s") from None
                await asyncio.sleep(0.002)
        others = shared_holders(addr) - {cluster}
        if others:
            return None, others
        claim = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            claim.bind(_claim_name(addr, cluster))
        except OSError:
            claim.close()
            raise
        return claim, set()
    finally:
        lock.close()


def service_backends(svc: dict, endpoint_slices: list[dict]) -> dict[str, list[Addr]]:
    """The endpoints of each TCP service port, from the Service's EndpointSlices by port name, as kube-proxy
    picks them: the ready ones, or the serving terminating ones while none is ready."""
    out: dict[str, list[Addr]] = {}
    for sp in (svc.get("spec") or {}).get("ports") or []:
        if str(sp.get("protocol") or "TCP").upper() != "TCP":
            continue
        pname = sp.get("name") or ""
        out[pname] = port_endpoints(endpoint_slices, pname)
    return out


def service_addresses(svc: dict, node_ips: list[str]) -> dict[Addr, str]:
    """Every address this service should be reachable on, mapped to its port name."""
    spec = svc.get("spec") or {}
    out: dict[Addr, str] = {}
    ip = spec.get("clusterIP")
    if spec.get("type") == "ExternalName" or not ip or ip == "None":
        return out
    for sp in spec.get("ports") or []:
        if str(sp.get("protocol") or "TCP").upper() != "TCP" or not sp.get("port"):
            continue
        pname = sp.get("name") or ""
        out[(ip, int(sp["port"]))] = pname
        if spec.get("type") in ("NodePort", "LoadBalancer") and sp.get("nodePort"):
            for nip in node_ips:
                out[(nip, int(sp["nodePort"]))] = pname
    return out


class Proxy:
    """Watches Services and EndpointSlices and keeps one listener per (address, port) they call for."""

    def __init__(self, client: Client, *, node_ip: str | None = None, node_name: str = "",
                 nodeport_addresses: tuple[str, ...] = ("127.0.0.1",), services: Informer | None = None) -> None:
        self.client = client
        self.node_name = node_name
        self.node_ip = node_ip
        self.nodeport_addresses = nodeport_addresses
        # The node's kubelet watches Services too (for pod env): one informer can serve both.
        self._own_services = services is None
        self.services = services if services is not None else Informer(client, "Service")
        self.endpoints = Informer(client, "EndpointSlice")
        self.endpoints.add_index(BY_SERVICE, _slice_service)
        self.listeners: dict[Addr, _Listener] = {}
        self.backends: dict[tuple[str, str, str], Backends] = {}
        self.bind_errors: dict[Addr, str] = {}
        self.cluster = ""  # the kube-system namespace's uid, as Kubernetes names a cluster (claim_shared)
        self.queue: WorkQueue[Key] = WorkQueue("proxy", base_delay=0.5, max_delay=30.0)
        self._worker: asyncio.Task[None] | None = None

    def node_ips(self) -> list[str]:
        ips = list(self.nodeport_addresses)
        if self.node_ip and self.node_ip not in ips:
            ips.append(self.node_ip)
        return ips

    async def start(self) -> None:
        self.services.add_handler(self._on_add, self._on_update, self._on_delete)
        self.endpoints.add_handler(self._on_slice, lambda old, new: self._on_slice(new), self._on_slice)
        if self._own_services:
            await self.services.start()
        await self.endpoints.start()
        self._worker = asyncio.create_task(run_workers(self.queue, self._sync, 1), name="proxy-sync")

    async def wait_synced(self) -> None:
        await self.services.wait_synced()
        await self.endpoints.wait_synced()

    def set_node_ip(self, ip: str) -> None:
        """The node's address became known: NodePorts now listen on it too."""
        if ip == self.node_ip:
            return
        self.node_ip = ip
        for svc in self.services.list():
            self.queue.add(key_of(svc))

    async def stop(self) -> None:
        self.queue.shutdown()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._worker
        if self._own_services:
            await self.services.stop()
        await self.endpoints.stop()
        for lst in list(self.listeners.values()):
            await lst.close(drop_connections=True)
        self.listeners.clear()

    # -- handlers ----------------------------------------------------------------------------------
    def _on_add(self, obj: dict) -> None:
        self.queue.add(key_of(obj))

    def _on_update(self, old: dict, new: dict) -> None:
        self.queue.add(key_of(new))

    def _on_delete(self, obj: dict) -> None:
        self.queue.add(key_of(obj))

    def _on_slice(self, obj: dict) -> None:
        if service_name(obj):  # a slice without the label belongs to no Service
            self.queue.add(((obj.get("metadata") or {}).get("namespace") or "", service_name(obj)))

    # -- reconcile -----------------------------------------------------------------------------------
    async def _sync(self, key: Key) -> None:
        ns, name = key
        svc = self.services.get(ns, name)
        want = service_addresses(svc, self.node_ips()) if svc is not None else {}
        per_port = service_backends(svc, self.endpoints.by_index(BY_SERVICE, f"{ns}/{name}")) if svc is not None else {}
        # Endpoint changes apply in place: established connections keep going, new ones see the new set.
        for pname, addrs in per_port.items():
            b = self.backends.get((ns, name, pname))
            if b is None:
                b = self.backends[(ns, name, pname)] = Backends(f"{ns}/{name}:{pname}" if pname else f"{ns}/{name}")
            b.set(addrs)
        for k in [k for k in self.backends if k[:2] == key and k[2] not in per_port]:
            del self.backends[k]
        for addr, lst in list(self.listeners.items()):
            if lst.service == key and (addr not in want or self.backends.get((ns, name, want[addr])) is not lst.backends):
                # Like conntrack after the rules are gone: established connections carry on.
                await lst.close(drop_connections=False)
                del self.listeners[addr]
                log.info("proxy: closed %s:%d (%s/%s)", addr[0], addr[1], ns, name)
        retry = False
        for addr, pname in want.items():
            if addr in self.listeners:
                continue
            other = self.listeners.get(addr)
            if other is not None:
                continue
            claim: socket.socket | None = None
            if addr[0] in self.nodeport_addresses:
                try:
                    cluster = await self._cluster()
                except Exception as e:  # the API server away: the service's other addresses need not wait for it
                    retry = True
                    self._bind_failed(addr, f"cannot listen on {addr[0]}:{addr[1]} yet: which cluster this is (the "
                                            f"kube-system namespace's uid) could not be asked: {e}")
                    continue
                try:
                    claim, others = await claim_shared(addr, cluster)
                except OSError as e:
                    retry = True
                    self._bind_failed(addr, f"cannot listen on {addr[0]}:{addr[1]} yet: {e.strerror or e}")
                    continue
                if claim is None:
                    retry = True  # again later: that cluster may stop
                    self._bind_failed(addr, (
                        f"cannot listen on {addr[0]}:{addr[1]}: another kube-tui cluster on this machine serves "
                        f"this NodePort there (its kube-system namespace has uid {sorted(others)[0]}); this "
                        f"cluster's {ns}/{name} is still on each node's own address, e.g. "
                        f"{self.node_ip or '<node IP>'}:{addr[1]}"))
                    continue
            lst = _Listener(addr, key, self.backends[(ns, name, pname)], claim=claim)
            sock: socket.socket | None = None
            try:
                sock = listen_socket(*addr)
                lst.server = await asyncio.get_running_loop().create_server(lst.protocol, sock=sock)
            except OSError as e:
                if sock is not None and lst.server is None:
                    sock.close()
                await lst.close(drop_connections=True)  # the claim too: another cluster may have the address
                retry = True
                self._bind_failed(addr, self._bind_message(addr, e))
                continue
            except BaseException:
                if sock is not None and lst.server is None:
                    sock.close()
                await lst.close(drop_connections=True)
                raise
            self.bind_errors.pop(addr, None)
            self.listeners[addr] = lst
            log.info("proxy: listening on %s:%d for %s/%s", addr[0], addr[1], ns, name)
        if retry:
            raise OSError(f"service {ns}/{name}: some addresses could not be bound; retrying")

    async def _cluster(self) -> str:
        if not self.cluster:
            ns = await self.client.get("Namespace", "kube-system", None)
            self.cluster = ns["metadata"]["uid"]
        return self.cluster

    def _bind_failed(self, addr: Addr, msg: str) -> None:
        """Say why `addr` is not served, once per reason (the sync retries it with backoff)."""
        if self.bind_errors.get(addr) != msg:
            log.warning("proxy: %s", msg)
        self.bind_errors[addr] = msg

    @staticmethod
    def _bind_message(addr: Addr, e: OSError) -> str:
        where = f"{addr[0]}:{addr[1]}"
        if e.errno == errno.EACCES:
            return (f"cannot listen on {where}: ports below 1024 need root "
                    "(or `sysctl net.ipv4.ip_unprivileged_port_start=0`)")
        if e.errno == errno.EADDRINUSE:
            return f"cannot listen on {where}: the port is in use by a process that does not share it (SO_REUSEPORT)"
        return f"cannot listen on {where}: {e.strerror or e}"
