"""The kubelet's pod side: a PodWorker per pod bound to this node, pod IPs, service env, status and logs.

The pod source is injected (one node's informer, or the simulated pool's shared one), so the same
Kubelet runs a real node and each of thousands of simulated ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import dataclasses
import ipaddress
import json
import logging
import re
import shutil
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import zmq
import zmq.asyncio

from control import errors, wire
from control.api import meta
from control.api import remotecommand as remotecommand_api
from control.apiserver.kubelet_proxy import ProofChecker
from control.client import Client
from control.controllers.events import NORMAL, WARNING, EventRecorder
from control.errors import ApiError
from control.informer import Informer
from control.timings import Timings
from control.workqueue import WorkQueue, run_workers
from nodes import portforward, remotecommand
from nodes.containerlogs import LogsError
from nodes.env import ConfigError
from nodes.eviction import MONITORING_INTERVAL, measure, violation
from nodes.nodestatus import NodeStatus
from nodes.podstatus import apply_readiness_gates
from nodes.podworker import PodWorker
from nodes.runtime import crilog
from nodes.runtime.base import RunContainerError, Runtime, read_log_records
from nodes.token_manager import TokenCache
from nodes.volumes import unmount_below

log = logging.getLogger("kube_tui.kubelet")

EXEC_TIMEOUT = 60.0  # seconds an exec'd command may run unless the request says otherwise
EXEC_TIMEOUT_MAX = 600.0
EXEC_OUTPUT_LIMIT = 1024 * 1024  # bytes of an exec's output sent back (a probe keeps 10 KiB)
LOG_PAGE = 2 * 1024 * 1024  # bytes of log text per answer: a 10 MiB log goes in pages, each well under a frame

# The most a graceful node shutdown waits to report its pods (the node still exits when the API server is gone).
SHUTDOWN_REPORT_TIMEOUT = 3.0
NODE_SHUTDOWN_REASON = "NodeShutdown"
NODE_SHUTDOWN_MESSAGE = "The node shut down; its kubelet runs the container again when the node comes back (unless the pod's restartPolicy is Never)."

PodKey = tuple[str, str]  # (namespace, name)
TERMINAL = ("Succeeded", "Failed")
# The pod conditions the kubelet owns; others (DisruptionTarget, ...) belong to controllers and are kept.
KUBELET_CONDITIONS = ("PodScheduled", "Ready", "Initialized", "ContainersReady", "PodReadyToStartContainers")
# Services whose variables every pod gets, whatever its namespace (the kubelet's "master services").
MASTER_SERVICES = ("kubernetes",)


def _key(pod: dict) -> PodKey:
    md = pod.get("metadata") or {}
    return md.get("namespace") or "default", md.get("name") or ""


_POD_UID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")  # a pod's own directory


def _uid(pod: dict | None) -> str:
    return str(((pod or {}).get("metadata") or {}).get("uid") or "")


def _phase(pod: dict | None) -> str:
    return str(((pod or {}).get("status") or {}).get("phase") or "")


# -- service environment variables --------------------------------------------------------------

def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def service_env(services: list[dict], namespace: str) -> dict[str, str]:
    """The kubelet's service variables for a pod in `namespace` (pkg/kubelet/envvars, FromServices).

    `<NAME>_SERVICE_HOST`/`_SERVICE_PORT[_<PORT NAME>]` and the Docker-link `<NAME>_PORT...` family,
    for every service of the namespace with a ClusterIP, plus the master service from default.
    """
    chosen: dict[str, dict] = {}
    for svc in services:
        md = svc.get("metadata") or {}
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None":
            continue
        name, ns = md.get("name", ""), md.get("namespace") or "default"
        if ns == "default" and name in MASTER_SERVICES:
            chosen.setdefault(name, svc)
        elif ns == namespace:
            chosen[name] = svc
    env: dict[str, str] = {}
    for name in sorted(chosen):
        spec = chosen[name].get("spec") or {}
        ip = spec["clusterIP"]
        ports = spec.get("ports") or []
        prefix = _env_name(name)
        env[f"{prefix}_SERVICE_HOST"] = ip
        if not ports:
            continue
        env[f"{prefix}_SERVICE_PORT"] = str(ports[0].get("port"))
        for p in ports:
            if p.get("name"):
                env[f"{prefix}_SERVICE_PORT_{_env_name(p['name'])}"] = str(p.get("port"))
        for i, p in enumerate(ports):
            proto = str(p.get("protocol") or "TCP")
            url = f"{proto.lower()}://{ip}:{p.get('port')}"
            if i == 0:
                env[f"{prefix}_PORT"] = url  # Docker special-cases the first port
            pp = f"{prefix}_PORT_{p.get('port')}_{proto.upper()}"
            env[pp] = url
            env[f"{pp}_PROTO"] = proto.lower()
            env[f"{pp}_PORT"] = str(p.get("port"))
            env[f"{pp}_ADDR"] = ip
    return env


# -- pod IPs ------------------------------------------------------------------------------------

class PodIPs:
    """Addresses of the node's /24 for its pods: .1 is the node, pods get .2 to .254."""

    def __init__(self, cidr: str) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        self._base = int(self.network.network_address)
        self.owner: dict[str, PodKey] = {}
        self.of: dict[PodKey, str] = {}
        self._next = 2

    def __contains__(self, ip: object) -> bool:
        try:
            return isinstance(ip, str) and ipaddress.ip_address(ip) in self.network \
                and 2 <= int(ipaddress.ip_address(ip)) - self._base <= 254
        except ValueError:
            return False

    def reserve(self, key: PodKey, ip: str) -> bool:
        if ip not in self or self.owner.get(ip, key) != key:
            return False
        self.release(key)
        self.owner[ip] = key
        self.of[key] = ip
        return True

    def allocate(self, key: PodKey, preferred: str | None = None) -> str:
        """The pod's address: the one it has, the one its status names (a restarted kubelet), or a free one."""
        if key in self.of:
            return self.of[key]
        if preferred and self.reserve(key, preferred):
            return preferred
        for _ in range(253):
            n = self._next
            self._next = 2 if n >= 254 else n + 1
            ip = str(ipaddress.ip_address(self._base + n))
            if ip not in self.owner:
                self.owner[ip] = key
                self.of[key] = ip
                return ip
        raise RuntimeError(f"no free pod IP left in {self.network}")

    def release(self, key: PodKey) -> None:
        ip = self.of.pop(key, None)
        if ip is not None and self.owner.get(ip) == key:
            del self.owner[ip]


# -- status manager -----------------------------------------------------------------------------

def shutdown_status(before: dict, after: dict, restart_policy: str) -> dict:
    """A pod's status once its node's shutdown stopped it: `after` (its containers terminated, with the exit
    codes they really had), each container the stop ended marked reason NodeShutdown, nothing ready. The phase
    is `before`'s (it runs again when the node comes back), unless the pod's restartPolicy is Never: a container
    killed then stays killed, and the pod ends as the kubelet computes it (Failed, or Succeeded if all exited 0)."""
    out = copy.deepcopy(after)
    now = meta.now()
    was_running = {cs.get("name") for key in ("initContainerStatuses", "containerStatuses")
                   for cs in before.get(key) or [] if "running" in (cs.get("state") or {})}
    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in out.get(key) or []:
            term = (cs.get("state") or {}).get("terminated")
            if cs.get("name") in was_running and isinstance(term, dict):
                term["reason"] = NODE_SHUTDOWN_REASON
                term["message"] = NODE_SHUTDOWN_MESSAGE
            cs["ready"] = False
            if "started" in cs:
                cs["started"] = False
    if restart_policy != "Never":
        out["phase"] = before.get("phase") or out.get("phase")
    for c in out.get("conditions") or []:
        if c.get("type") in ("Ready", "ContainersReady") and c.get("status") != "False":
            c.update(status="False", lastTransitionTime=now, reason=NODE_SHUTDOWN_REASON)
    return out


def merge_status(api_status: dict | None, mine: dict, readiness_gates: list | None = None) -> dict:
    """Our status, keeping the conditions that are not the kubelet's (like the status manager's merge); with
    the pod's readinessGates, Ready also waits for the conditions they name."""
    out = copy.deepcopy(mine)
    theirs = [c for c in (api_status or {}).get("conditions") or [] if c.get("type") not in KUBELET_CONDITIONS]
    if theirs:
        out["conditions"] = list(out.get("conditions") or []) + copy.deepcopy(theirs)
    if readiness_gates:
        apply_readiness_gates(out.get("conditions") or [], readiness_gates, meta.now(),
                              (api_status or {}).get("conditions") or [])
    # The pod's QoS class is the API server's to set at creation; keep it if it has one. The node the
    # scheduler nominated when the pod preempted others is the scheduler's: it stays too.
    for key in ("qosClass", "nominatedNodeName"):
        if (api_status or {}).get(key):
            out[key] = api_status[key]  # type: ignore[index]
    return out


def _gates(pod: dict) -> list:
    return (pod.get("spec") or {}).get("readinessGates") or []


class StatusManager:
    """Posts each pod's latest status: bursts coalesced, unchanged ones skipped, failures retried.

    A work queue of pod keys: a change is posted `coalesce` seconds after it happened (what changes
    meanwhile goes out in the same write), one post per pod at a time, `concurrency` posts in flight.
    The simulated pool gives it one slot per node, like that many kubelets each writing its own pods.
    """

    def __init__(self, client: Client, current: Callable[[str, str], dict | None], *,
                 coalesce: float = 0.02, concurrency: int = 8, retry: float = 1.0) -> None:
        self.client = client
        self.current = current
        self.coalesce = coalesce
        self.concurrency = concurrency
        self.retry = retry
        self.paused = False
        self.posts = 0
        self.skipped = 0
        self._want: dict[PodKey, tuple[str, dict]] = {}
        self._queue: WorkQueue[PodKey] = WorkQueue("pod-status", base_delay=retry, max_delay=retry)
        self._task: asyncio.Task[None] | None = None

    def set(self, key: PodKey, uid: str, status: dict) -> None:
        self._want[key] = (uid, status)
        self._queue.add_after(key, self.coalesce)

    def forget(self, key: PodKey) -> None:
        self._want.pop(key, None)

    def reconcile(self, pod: dict) -> None:
        """The API's copy changed: if it no longer says what we last reported, report again."""
        key = _key(pod)
        want = self._want.get(key)
        if want is not None and want[0] == _uid(pod) and \
                merge_status(pod.get("status"), want[1], _gates(pod)) != pod.get("status"):
            self._queue.add_after(key, self.coalesce)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="status-manager")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._queue.shutdown()

    async def run(self) -> None:
        async def one(key: PodKey) -> None:
            if not self.paused:
                await self.post(key)

        await run_workers(self._queue, one, self.concurrency)

    async def post(self, key: PodKey) -> bool:
        """Write the pod's status now if the API's differs; True if written."""
        want = self._want.get(key)
        if want is None or self.paused:
            return False
        uid, status = want
        pod = self.current(*key)
        if pod is None or _uid(pod) != uid:
            return False  # gone, or a new pod of the same name: never write a stale status over it
        api_status = pod.get("status") or {}
        if api_status.get("phase") in TERMINAL and status.get("phase") not in TERMINAL:
            return False  # a terminal phase never goes back
        merged = merge_status(api_status, status, _gates(pod))
        if merged == api_status:
            self.skipped += 1
            return False
        obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": key[1], "namespace": key[0], "uid": uid},
               "status": merged}
        try:
            await self.client.update_status(obj)
        except ApiError as e:
            if e.reason == "NotFound":
                self.forget(key)
                return False
            log.info("status of pod %s/%s not written (%s); retrying", key[0], key[1], e.message)
            self._queue.add_after(key, self.retry)
            return False
        self.posts += 1
        return True


# -- the kubelet --------------------------------------------------------------------------------

class Kubelet:
    """Keeps one PodWorker per pod bound to this node in step with the API's pods."""

    def __init__(
        self,
        client: Client,
        node: NodeStatus,
        runtime: Runtime,
        *,
        timings: Timings,
        log_dir: Path,
        pods: Callable[[str, str], dict | None],
        statuses: StatusManager,
        events: EventRecorder | None = None,
        services: Informer | None = None,
        enqueue: Callable[[PodKey], None] | None = None,
        shared_logs_root: bool = False,
        eviction_interval: float = MONITORING_INTERVAL,
    ) -> None:
        self.client = client
        self.node = node
        self.runtime = runtime
        self.timings = timings
        self.log_dir = Path(log_dir)
        self.pods = pods
        self.statuses = statuses
        self.events = events
        self.services = services
        self.workers: dict[PodKey, PodWorker] = {}
        self.ips: PodIPs | None = None
        self._stopping: dict[PodKey, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._queue: WorkQueue[PodKey] | None = None
        self._workers_task: asyncio.Task[None] | None = None
        self._enqueue = enqueue
        self.shutting_down = False
        self._last_usage: dict[str, list[int]] = {}
        self._shared_logs_root = shared_logs_root
        self.exec_sessions = remotecommand.Sessions()
        self.eviction_interval = eviction_interval
        self.tokens = TokenCache()  # ServiceAccount tokens of the pods' projected volumes

    @property
    def name(self) -> str:
        return self.node.name

    # -- wiring ---------------------------------------------------------------------------------
    def start(self, existing: list[dict], workers: int = 4) -> None:
        """Begin syncing, after the node has its pod range; `existing` are the pods bound here already."""
        assert self.node.pod_cidr, "the kubelet starts once the node has a pod range"
        self.ips = PodIPs(self.node.pod_cidr)
        # A restarted kubelet keeps its pods' addresses: reserve them before anything new is placed.
        for pod in existing:
            ip = (pod.get("status") or {}).get("podIP")
            if ip and _phase(pod) not in TERMINAL and not (pod.get("spec") or {}).get("hostNetwork"):
                self.ips.reserve(_key(pod), ip)
        if self._enqueue is None:
            self._queue = WorkQueue(f"kubelet-{self.name}", base_delay=0.2, max_delay=10.0)
            self._enqueue = self._queue.add
            self._workers_task = asyncio.create_task(
                run_workers(self._queue, self.sync_pod, workers, on_error=self._sync_failed), name="kubelet-sync")
        if not self._shared_logs_root:
            self._remove_orphaned_pod_dirs({_uid(pod) for pod in existing})
        for pod in existing:
            self.enqueue(_key(pod))
        if getattr(self.runtime, "mounts_volumes", False):
            # the eviction manager's housekeeping; a simulated node's pods write nothing (KWOK's evict none)
            self._spawn(self._eviction_loop())

    def _remove_orphaned_pod_dirs(self, uids: set[str]) -> None:
        """cleanupOrphanedPodDirs: the pods/<uid> directories (volumes, container roots) of pods no longer bound
        here, deleted while the node was down, go; their Secrets' files with them."""
        try:
            entries = list(self.log_dir.iterdir())
        except OSError:
            return
        for entry in entries:
            if _POD_UID.match(entry.name) and entry.name not in uids and entry.is_dir() and not entry.is_symlink():
                log.info("kubelet %s: removing the directory of orphaned pod %s", self.name, entry.name)
                unmount_below(entry)  # a memory-backed volume's tmpfs, left by a node that was killed
                shutil.rmtree(entry, ignore_errors=True)

    def enqueue(self, key: PodKey) -> None:
        if self._enqueue is not None and not self.shutting_down:
            self._enqueue(key)

    def on_pod(self, pod: dict) -> None:
        """Informer add/update: the pod changed, sync it; and report again if the API lost our status."""
        self.statuses.reconcile(pod)
        self.enqueue(_key(pod))

    def on_pod_update(self, old: dict, new: dict) -> None:
        self.on_pod(new)

    def on_pod_deleted(self, pod: dict) -> None:
        key = _key(pod)
        if key not in self.workers and key not in self._stopping and _uid(pod):
            # A pod this kubelet did not run (it finished before the kubelet started): the logs it left go with
            # it, as a worker's go when it stops for a delete; so does its volumes' directory.
            shutil.rmtree(self.log_dir / f"{key[0]}_{key[1]}_{_uid(pod)}", ignore_errors=True)
            shutil.rmtree(self.log_dir / _uid(pod), ignore_errors=True)
        self.enqueue(key)

    def _sync_failed(self, key: PodKey, e: Exception) -> None:
        log.warning("kubelet %s: sync of pod %s/%s failed: %s", self.name, key[0], key[1], e)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- the sync ---------------------------------------------------------------------------------
    async def sync_pod(self, key: PodKey) -> None:
        if self.shutting_down or self.ips is None:
            return
        pod = self.pods(*key)
        if pod is not None and ((pod.get("spec") or {}).get("nodeName") or "") != self.name:
            pod = None
        worker = self.workers.get(key)
        if worker is not None and (pod is None or _uid(pod) != worker.uid):
            # Gone from the API (or replaced by a new pod of that name): stop what still runs.
            self._stop_worker(key, worker, grace=None, delete=False)
            return
        if pod is None:
            return
        if key in self._stopping:
            return  # the old pod's containers are still stopping; its task re-enqueues the key
        md = pod.get("metadata") or {}
        if md.get("deletionTimestamp"):
            if worker is None:
                self._spawn(self._delete(key, _uid(pod)))
            else:
                worker.update(pod)
                grace = md.get("deletionGracePeriodSeconds")
                self._stop_worker(key, worker, grace=None if grace is None else float(grace), delete=True)
            return
        if worker is None:
            if _phase(pod) in TERMINAL:
                return  # finished before this kubelet started: its status stays as it is
            await self._start_worker(key, pod)
            return
        worker.update(pod)

    async def _start_worker(self, key: PodKey, pod: dict) -> None:
        assert self.ips is not None and self.node.node_ip is not None
        spec = pod.get("spec") or {}
        if spec.get("hostNetwork"):
            ip = self.node.node_ip
        else:
            ip = self.ips.allocate(key, (pod.get("status") or {}).get("podIP"))
        ns = key[0]
        env = service_env(self.services.list() if self.services is not None else [], ns)
        uid = _uid(pod)

        def on_status(status: dict) -> None:
            self.statuses.set(key, uid, status)
            if status.get("phase") in TERMINAL and not spec.get("hostNetwork"):
                # The sandbox is gone: its address may go to another pod (the status keeps naming it).
                if self.ips is not None and self.ips.of.get(key) == ip:
                    self.ips.release(key)

        def on_event(reason: str, message: str, type_: str) -> None:
            if self.events is not None:
                self.events.event(pod, type_, reason, message)

        worker = PodWorker(
            pod, self.runtime, pod_ip=ip, log_dir=self.log_dir, on_status=on_status,
            backoff_base=self.timings.backoff_base, backoff_max=self.timings.backoff_max,
            backoff_reset=self.timings.backoff_max * 2, service_env=env, host_ip=self.node.node_ip,
            on_event=on_event, allocatable=self.node.config.capacity(), config_source=self.config_object,
            volume_resync=self.timings.volume_resync, token_source=self.service_account_token,
        )
        self.workers[key] = worker
        await worker.start()

    async def config_object(self, kind: str, namespace: str, name: str) -> dict | None:
        """A ConfigMap or Secret a container's env reads, as the kubelet's manager gets it (the node
        authorizer lets this node read it because a pod bound here uses it); None if it does not exist."""
        try:
            return await self.client.get(kind, name, namespace)
        except ApiError as e:
            if e.code == 404:
                return None
            raise ConfigError(e.message) from None

    async def service_account_token(self, pod: dict, audience: str, expiration: int) -> str:
        """A token for the pod's ServiceAccount bound to the pod (a TokenRequest with boundObjectRef Pod), for its
        projected serviceAccountToken volumes: the token manager's, reused until 80 % of its life has passed."""
        md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        ns, account = str(md.get("namespace") or "default"), str(spec.get("serviceAccountName") or "default")
        key = (ns, account, str(md.get("name") or ""), str(md.get("uid") or ""), audience, expiration)
        token = self.tokens.get(key)
        if token is not None:
            return token
        request = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {
            "audiences": [audience] if audience else [], "expirationSeconds": expiration,
            "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": md.get("name"), "uid": md.get("uid")}}}
        issued = time.time()
        answer = await self.client.request("token", {"kind": "ServiceAccount", "namespace": ns, "name": account,
                                                     "object": request})
        status = answer.get("status") or {}
        expires = meta.parse_time(status.get("expirationTimestamp")) or issued + expiration
        self.tokens.put(key, str(status.get("token") or ""), issued, expires)
        return str(status.get("token") or "")

    def _stop_worker(self, key: PodKey, worker: PodWorker, *, grace: float | None, delete: bool) -> None:
        if key in self._stopping:
            return

        async def stop() -> None:
            try:
                await worker.stop(grace)
                if delete:
                    # The final status (containers terminated) goes out before the object goes away.
                    await self.statuses.post(key)
                    await self._delete(key, worker.uid)
            finally:
                if self.workers.get(key) is worker:
                    del self.workers[key]
                if self.ips is not None and self.ips.of.get(key) == worker.pod_ip:
                    self.ips.release(key)
                self.statuses.forget(key)
                if not self._shared_logs_root:
                    worker.remove_logs()
                worker.remove_volumes()
                self._stopping.pop(key, None)
                self.enqueue(key)  # a new pod of the same name may be waiting

        self._stopping[key] = self._spawn(stop())

    async def _delete(self, key: PodKey, uid: str) -> None:
        """All containers are gone: the kubelet's final delete (grace 0) lets the object go."""
        pod = self.pods(*key)
        if pod is not None and _uid(pod) != uid:
            return
        try:
            await self.client.delete("Pod", key[1], key[0], grace_period=0)
        except ApiError as e:
            if e.reason != "NotFound":
                log.warning("kubelet %s: could not delete pod %s/%s: %s", self.name, key[0], key[1], e.message)
                return
        if key not in self.workers:  # a pod that finished before this kubelet started: its logs go with it
            shutil.rmtree(self.log_dir / f"{key[0]}_{key[1]}_{uid}", ignore_errors=True)
            shutil.rmtree(self.log_dir / uid, ignore_errors=True)

    # -- local storage eviction ---------------------------------------------------------------------
    async def _eviction_loop(self) -> None:
        while not self.shutting_down:
            await asyncio.sleep(self.eviction_interval)
            try:
                await self.evict_local_storage()
            except Exception:
                log.exception("kubelet %s: local storage eviction failed", self.name)

    async def evict_local_storage(self) -> list[PodKey]:
        """The eviction manager's localStorageEviction, once: every active pod's ephemeral storage measured,
        and each pod over one of its limits evicted (nodes/eviction.py). The pods it evicted."""
        evicted: list[PodKey] = []
        for key, worker in list(self.workers.items()):
            sources = worker.storage_sources()
            if sources is None or key in self._stopping or self.shutting_down:
                continue
            usage = await asyncio.to_thread(measure, sources)
            message = violation(worker.pod, usage)
            if message is not None and self.workers.get(key) is worker and worker.evict(message):
                log.info("kubelet %s: evicted pod %s/%s: %s", self.name, key[0], key[1], message)
                evicted.append(key)
                self._spawn(self._after_eviction(worker))
        return evicted

    @staticmethod
    async def _after_eviction(worker: PodWorker) -> None:
        """An evicted pod's volumes go once its containers have stopped, as the volume manager unmounts a
        terminated pod's: the space it took is the node's again. The pod stays, Failed."""
        await worker.wait()
        worker.remove_volumes()

    # -- shutdown ---------------------------------------------------------------------------------
    async def shutdown(self, *, report: bool = False, report_timeout: float = SHUTDOWN_REPORT_TIMEOUT) -> None:
        """Graceful node shutdown: stop every pod with its own grace period; pods stay in the API.

        With `report` (a node stopped on purpose, `kube-tui node` and Ctrl-C), each running pod it stops is
        reported as it is then, for at most `report_timeout` seconds: its containers terminated with reason
        NodeShutdown, not ready, the pod's phase unchanged (its containers run on a process runtime, so they go
        with the node; when the node comes back it runs them again, as a kubelet restarts its containers).
        Without it (the simulated pool) the API keeps the pods' last reported state; either way, the node
        lifecycle controller takes it from there."""
        self.shutting_down = True
        before = {key: w.status for key, w in self.workers.items()
                  if report and key not in self._stopping and not w.done}
        self.statuses.paused = True
        if self._queue is not None:
            self._queue.shutdown()
        if self._workers_task is not None:
            self._workers_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._workers_task
        stops = [w.stop(None) for w in self.workers.values()]
        await asyncio.gather(*stops, *self._stopping.values(), return_exceptions=True)
        for w in self.workers.values():
            w.unmount_memory_volumes()  # nothing of a node stays mounted on the host once it stopped
        final = {key: (w.uid, shutdown_status(before[key], w.status, w.restart_policy))
                 for key, w in self.workers.items() if key in before}
        if final:
            self.statuses.paused = False
            for key, (uid, status) in final.items():
                self.statuses.set(key, uid, status)
            posts = asyncio.gather(*(self.statuses.post(key) for key in final), return_exceptions=True)
            try:
                await asyncio.wait_for(posts, report_timeout)
            except TimeoutError:
                log.warning("kubelet %s: the shutdown status of %d pod(s) was not reported within %gs",
                            self.name, len(final), report_timeout)
            self.statuses.paused = True
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- logs, exec and usage ----------------------------------------------------------------------
    def _worker_of(self, body: dict) -> PodWorker:
        """The worker of the pod a request names; 404 when this node runs no such pod."""
        key = _pod_key(body)
        worker = self.workers.get(key)
        if worker is None:
            raise errors.not_found("pods", key[1])
        return worker

    def logs(self, body: dict) -> dict:
        """The kubelet's containerLogs: {text, offset, running}; `offset` (bytes of the log file) lets a follower
        ask for what is new, and `running` says whether the container may still write (a follower stops when it
        is false). `timestamps`, `sinceSeconds`, `sinceTime` and `tail` apply as in kuberuntime/logs: tail
        first, then since; a follower's later requests (with `offset`) leave since and tail out."""
        key = _pod_key(body)
        worker = self.workers.get(key)
        offset = body.get("offset")
        previous = bool(body.get("previous"))
        try:
            opts = _log_options(body)
        except ValueError as e:
            raise errors.bad_request(str(e)) from None
        # Asked before reading: a container that stops after this still has all it wrote in `text`.
        running = worker is not None and not previous and worker.log_running(body.get("container") or None)
        try:
            if worker is not None:
                data, fallback = worker.log_records(body.get("container") or None, previous=previous)
            else:  # a pod that finished before this kubelet (re)started: its logs are still on disk
                data, fallback = self._logs_on_disk(key, body.get("container") or None, previous=previous)
        except LogsError as e:
            raise errors.bad_request(str(e)) from None
        # `offset` is where the follower's last answer ended, in bytes of the log file.
        start, continued = 0, False
        if isinstance(offset, int) and not isinstance(offset, bool) and offset >= 0:
            opts = dataclasses.replace(opts, tail=None, since=None)  # what follows an answer is newer than it
            # A follower resumes where a record starts; past the end, or inside a record, the file was rotated
            # since (a new file already longer than the offset): start over rather than show half a record.
            if offset <= len(data) and (offset == 0 or data[offset - 1:offset] == b"\n"):
                start, continued = offset, crilog.continues(data, offset)
        # a record still being written is left for the next request, while the container may write
        # and so is a partial record that ends inside a character (the next one finishes it)
        if running:
            end = start + crilog.complete(data[start:])
            end = start + crilog.whole_characters(data[start:end])
        else:
            end = len(data)
        if start or isinstance(offset, int):  # a follower: the next records, at most a page of them
            more = False
            if end - start > LOG_PAGE:
                cut = data.rfind(b"\n", start, start + LOG_PAGE) + 1
                cut = start + crilog.whole_characters(data[start:cut]) if cut > start else cut
                if cut > start:
                    end, more = cut, True
            text = crilog.render(data[start:end], opts, fallback, continued=continued)
            return {"text": text, "offset": end, "running": running, "more": more}
        # The first answer: tail and since apply to the whole log, so the text is rendered whole and sent a page
        # at a time; the next page is asked for with `until` (where this log ended, so it renders the same)
        # and `skip` (the bytes of text already sent).
        until, skip = body.get("until"), body.get("skip")
        if isinstance(until, int) and not isinstance(until, bool) and 0 <= until <= len(data):
            end = until
        skip = skip if isinstance(skip, int) and not isinstance(skip, bool) and skip >= 0 else 0
        raw = crilog.render(data[:end], opts, fallback).encode()
        piece = raw[skip:skip + LOG_PAGE]
        more = skip + len(piece) < len(raw)
        if more:
            nl = piece.rfind(b"\n") + 1
            if nl:
                piece = piece[:nl]
            else:  # one line longer than a page: cut between characters, never inside one
                while piece and (piece[-1] & 0xC0) == 0x80:
                    piece = piece[:-1]
                if piece and piece[-1] >= 0xC0:
                    piece = piece[:-1]
        return {"text": piece.decode(errors="replace"), "offset": end, "running": running, "more": more,
                "until": end, "skip": skip + len(piece)}

    def _logs_on_disk(self, key: PodKey, container: str | None, *, previous: bool) -> tuple[bytes, str]:
        """The log files a pod bound to this node left (kept until the pod is deleted, like the kubelet's):
        the last attempt's, or with `previous` the one before, and the time of lines without one (the file's
        last change). NotFound when this node has no such pod."""
        pod = self.pods(*key)
        if pod is None or ((pod.get("spec") or {}).get("nodeName") or "") != self.name:
            raise errors.not_found("pods", key[1])
        names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
        inits = [c.get("name") for c in (pod.get("spec") or {}).get("initContainers") or []]
        if container is None:
            if len(names) != 1:
                raise LogsError(f"a container name must be specified for pod {key[1]}, choose one of: [{' '.join(map(str, names))}]")
            container = str(names[0])
        elif container not in names and container not in inits:
            raise LogsError(f"container {container} is not valid for pod {key[1]}")
        directory = self.log_dir / f"{key[0]}_{key[1]}_{_uid(pod)}" / container
        attempts = sorted((int(f.name[:-4]) for f in directory.glob("*.log") if f.name[:-4].isdigit()), reverse=True) \
            if directory.is_dir() else []
        if previous:
            if len(attempts) < 2:
                raise LogsError(f'previous terminated container "{container}" in pod "{key[1]}" not found')
            path = directory / f"{attempts[1]}.log"
        elif not attempts:
            raise LogsError(f'container "{container}" in pod "{key[1]}" is waiting to start: ContainerCreating')
        else:
            path = directory / f"{attempts[0]}.log"
        try:
            changed = path.stat().st_mtime
        except OSError:
            changed = time.time()
        return read_log_records(path), crilog.fixed_at(changed)

    async def exec(self, body: dict) -> dict:
        """The kubelet's exec: {exitCode, output} of a command run to completion in a pod's container; or,
        with stdin or tty, a session streamed by later requests (nodes/remotecommand.py)."""
        owner = _pod_key(body)
        if "session" in body:
            return await self.exec_sessions.stream(body, owner)
        worker = self._worker_of(body)
        if remotecommand_api.is_session(body):
            command, stdin, tty, size = remotecommand_api.check_open(body)
            if body.get("check"):  # would it open? (kubectl's SPDY request, refused for its protocol only)
                try:
                    worker.check_stream(body.get("container") or None, attach=bool(body.get("attach")))
                except LogsError as e:
                    raise errors.bad_request(str(e)) from None
                return {}
            self._refuse_streams_if_busy()
            try:
                if body.get("attach"):  # kubectl attach: the container's own stdio, not a new command
                    proc = await worker.open_attach(body.get("container") or None, stdin=stdin)
                    if size:
                        proc.resize(*size)
                else:
                    proc = await worker.open_exec(body.get("container") or None, command, stdin=stdin, tty=tty,
                                                  size=size)
            except LogsError as e:
                raise errors.bad_request(str(e)) from None
            except RunContainerError as e:
                if body.get("attach"):  # nothing to attach to: refused before any stream opens
                    raise errors.bad_request(e.message) from None
                return {"exitCode": 126, "output": e.message}  # as a command that cannot start does below
            try:
                self._refuse_streams_if_busy()  # others opened meanwhile, or the node began to stop
            except errors.ApiError:
                proc.kill()
                proc.close()
                raise
            return {"session": self.exec_sessions.open(proc, owner).id}
        command = remotecommand_api.check_command(body)
        timeout = body.get("timeout", EXEC_TIMEOUT)
        if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= EXEC_TIMEOUT_MAX:
            raise errors.bad_request(f"exec: 'timeout' must be a number of seconds in (0, {EXEC_TIMEOUT_MAX}]")
        try:
            code, output = await worker.exec(body.get("container") or None, command, float(timeout),
                                             max_output=EXEC_OUTPUT_LIMIT + 1)  # one more: to know it was cut
        except LogsError as e:
            raise errors.bad_request(str(e)) from None
        except TimeoutError:
            raise errors.timeout(f"exec: the command did not finish within {timeout:g}s and was killed "
                                 "(give it longer with --timeout)") from None
        if len(output.encode()) > EXEC_OUTPUT_LIMIT:
            output = output.encode()[:EXEC_OUTPUT_LIMIT].decode(errors="replace")
            output += f"\n[kube-tui: the output was cut at {EXEC_OUTPUT_LIMIT // 1024} KiB]\n"
        return {"exitCode": code, "output": output}

    async def port_forward(self, body: dict) -> dict:
        """The kubelet's port-forward: a connection to a port of a running pod, streamed as a session
        (nodes/portforward.py); {session}, then as exec's stream requests."""
        owner = _pod_key(body)
        if "session" in body:
            return await self.exec_sessions.stream(body, owner)
        port = remotecommand_api.check_port(body)
        worker = self._worker_of(body)
        if worker.done or not worker.pod_ip:
            raise errors.bad_request(f"error forwarding port {port} to pod {owner[0]}/{owner[1]}: the pod is not running")
        if not getattr(self.runtime, "real_network", False):
            raise errors.bad_request("portforward: this node runs simulated containers: nothing listens in its pods")
        self._refuse_streams_if_busy()
        conn = await portforward.connect(f"{owner[0]}/{owner[1]}", worker.pod_ip, port)
        try:
            self._refuse_streams_if_busy()  # others opened meanwhile, or the node began to stop
        except errors.ApiError:
            conn.close()
            raise
        return {"session": self.exec_sessions.open(conn, owner).id}

    def _refuse_streams_if_busy(self) -> None:
        if self.shutting_down:
            raise errors.unavailable(f"node {self.name} is shutting down: no new exec or port-forward")
        self.exec_sessions.refuse_if_full(self.name)

    def usage(self) -> dict[str, list[int]]:
        """{"<ns>/<pod>": [millicores, bytes]} of the running pods."""
        out: dict[str, list[int]] = {}
        for (ns, name), w in self.workers.items():
            if w.done:
                continue
            cpu, mem = w.usage()
            out[f"{ns}/{name}"] = [cpu, mem]
        return out

    def usage_annotation(self, force: bool = False) -> str | None:
        """The `kube-tui.io/usage` annotation's JSON if usage changed noticeably since the last one."""
        now = self.usage()
        if not force and not _changed_noticeably(self._last_usage, now):
            return None
        self._last_usage = now
        # Flat {"<ns>/<pod>": [millicores, bytes]}, as the dashboard reads it; node totals are the sum.
        return json.dumps(now, separators=(",", ":"), sort_keys=True)

    def node_event(self, type_: str, reason: str, message: str) -> None:
        if self.events is not None:
            # The kubelet refers to its Node by name (uid = name), as object_reference does for a bare Node.
            self.events.event({"kind": "Node", "apiVersion": "v1", "metadata": {"name": self.name}}, type_, reason, message)


def _pod_key(body: dict) -> PodKey:
    """(namespace, name) of the pod a logs, exec or port-forward request names."""
    return str(body.get("namespace") or "default"), str(body.get("name") or "")


def _changed_noticeably(old: dict[str, list[int]], new: dict[str, list[int]]) -> bool:
    if old.keys() != new.keys():
        return True
    for k, (cpu, mem) in new.items():
        ocpu, omem = old[k]
        if abs(cpu - ocpu) > max(5, 0.2 * ocpu) or abs(mem - omem) > max(2**20, 0.1 * omem):
            return True
    return False


def _log_options(body: dict) -> crilog.LogOptions:
    """kubectl logs' options in a `logs` request (the API server has validated them: this only guards the
    kubelet); ValueError for one it cannot read."""
    tail, seconds, since_time = body.get("tail"), body.get("sinceSeconds"), body.get("sinceTime")
    if tail is not None and (not isinstance(tail, int) or isinstance(tail, bool) or tail < 0):
        raise ValueError(f"tailLines: Invalid value: {tail!r}: must be greater than or equal to 0")
    if seconds is not None and (not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 1):
        raise ValueError(f"sinceSeconds: Invalid value: {seconds!r}: must be greater than 0")
    if since_time is not None and not isinstance(since_time, str):
        raise ValueError(f"sinceTime: Invalid value: {since_time!r}: must be an RFC 3339 time")
    return crilog.LogOptions(timestamps=body.get("timestamps") is True, since=crilog.since_of(seconds, since_time),
                             tail=tail)


# -- the kubelet's own endpoint (the API server proxies `logs` here) --------------------------------

class KubeletServer:
    """A ROUTER answering wire requests from the API server: `logs`, and `exec` where containers are
    real processes (each exec answered from a task of its own: a long command holds up nothing else)."""

    def __init__(self, handler: Callable[[dict], dict], *, key: Callable[[], str | None],
                 ctx: zmq.asyncio.Context | None = None,
                 exec_handler: Callable[[dict], Awaitable[dict]] | None = None,
                 portforward_handler: Callable[[dict], Awaitable[dict]] | None = None) -> None:
        self.handler = handler
        self.exec_handler = exec_handler
        self.portforward_handler = portforward_handler
        self._execs: set[asyncio.Task[None]] = set()
        self.key = key  # the secret the API server's proofs are checked with (see kubelet_proxy.request_proof)
        self.proofs = ProofChecker()
        self.ctx = ctx or zmq.asyncio.Context.instance()
        self.sock: zmq.asyncio.Socket | None = None
        self.address = ""
        self.public_key: str | None = None  # the endpoint's CURVE key (z85), when bound with curve
        self._task: asyncio.Task[None] | None = None

    def bind(self, address: str, *, curve: bool = False) -> str:
        """Bind and serve. With `curve` (the cluster's API server speaks CURVE) the endpoint is encrypted
        with a keypair made now: `public_key`, which the node publishes beside its address, is what the API
        server checks it is talking to. Who may ask is still decided by the request's proof."""
        sock = self.ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.MAXMSGSIZE, wire.MAX_FRAME)
        if curve:
            public, secret = zmq.curve_keypair()
            sock.setsockopt(zmq.CURVE_SERVER, 1)
            sock.setsockopt(zmq.CURVE_SECRETKEY, secret)
            self.public_key = public.decode()
        try:
            sock.bind(address)
        except zmq.ZMQError:
            sock.close(linger=0)
            raise
        self.sock = sock
        self.address = sock.getsockopt(zmq.LAST_ENDPOINT).decode()
        self._task = asyncio.create_task(self._serve(), name="kubelet-server")
        return self.address

    async def _serve(self) -> None:
        assert self.sock is not None
        while True:
            frames = await self.sock.recv_multipart()
            ident, payload = frames[0], frames[-1]
            req_id = 0
            try:
                msg = wire.parse_request(payload)
                req_id = msg["id"]
                key = self.key()
                if not key:
                    raise errors.unauthorized("kubelet: no credential yet to check requests with")
                self.proofs.check(key, msg)  # only the API server (which authorized the caller) can ask, once
                if msg["verb"] in ("exec", "portforward"):
                    handler = self.exec_handler if msg["verb"] == "exec" else self.portforward_handler
                    if handler is None:
                        raise errors.bad_request(f"{msg['verb']}: this node runs simulated containers: there is no "
                                                 "process to run a command in, nor a port to reach")
                    task = asyncio.create_task(self._exec(handler, ident, req_id, msg["body"]), name="kubelet-stream")
                    self._execs.add(task)
                    task.add_done_callback(self._execs.discard)
                    continue
                if msg["verb"] != "logs":
                    raise errors.bad_request(f'unknown kubelet verb "{msg["verb"]}": use logs, exec or portforward')
                # Reading and rendering a big log takes a while: off the event loop, so the node's heartbeats,
                # probes and status writes do not wait for it.
                out = wire.response(req_id, 200, await asyncio.to_thread(self.handler, msg["body"]))
            except ApiError as e:
                out = wire.error_response(getattr(e, "req_id", 0) or req_id, e)
            except Exception as e:  # one bad request never takes the kubelet down
                log.exception("kubelet server: request failed")
                out = wire.error_response(req_id, errors.internal(f"{type(e).__name__}: {e}"))
            with contextlib.suppress(zmq.ZMQError):
                await self.sock.send_multipart([ident, out], flags=zmq.NOBLOCK)

    async def _exec(self, handler: Callable[[dict], Awaitable[dict]], ident: bytes, req_id: int, body: dict) -> None:
        assert self.sock is not None
        try:
            out = wire.response(req_id, 200, await handler(body))
        except ApiError as e:
            out = wire.error_response(req_id, e)
        except Exception as e:
            log.exception("kubelet server: exec failed")
            out = wire.error_response(req_id, errors.internal(f"{type(e).__name__}: {e}"))
        with contextlib.suppress(zmq.ZMQError):
            await self.sock.send_multipart([ident, out], flags=zmq.NOBLOCK)

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._execs) if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.sock is not None:
            self.sock.close(linger=0)


def clean_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


__all__ = ["NORMAL", "WARNING", "Kubelet", "KubeletServer", "PodIPs", "StatusManager", "merge_status",
           "service_env"]
