"""One pod's lifecycle on a node, as the kubelet's pod worker runs it: containers started in order,
restart policy with crash-loop back-off, image pull back-off, probes, postStart and preStop hooks,
graceful termination, and the pod status in Kubernetes' shape after every change.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import shutil
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from control.api import quantity
from control.api.remotecommand import UPGRADE_FAILED
from nodes.backoff import Backoff, go_duration
from nodes.containerlogs import LogsError, forget_old_logs, log_records, read_logs, still_running
from nodes.containerstatus import Container, rfc3339
from nodes.env import ConfigError, Sources, build_env, env_references, expand
from nodes.eviction import GRACE_SECONDS as EVICTION_GRACE
from nodes.eviction import REASON as EVICTED
from nodes.eviction import ContainerSource, StorageSources, fs_used
from nodes.lifecycle import POST_START, PRE_STOP, Target, ended_message, handler_of
from nodes.lifecycle import run as run_handler
from nodes.podstatus import PodConditions, pod_phase, qos_class
from nodes.probes import LIVENESS, READINESS, STARTUP, Prober, ProbeResult, make_check
from nodes.rootfs import layer_bytes, no_layer_event, read_only_root
from nodes.runtime.base import (
    ContainerConfig,
    ContainerHandle,
    ImagePullError,
    RunContainerError,
    Runtime,
)
from nodes.securitycontext import container_user
from nodes.usage import sum_usage
from nodes.volumes import PodVolumes, TokenSource

# The helpers moved to their own modules; callers may still import them from here.
__all__ = [
    "Backoff", "ConfigError", "LogsError", "PodWorker", "build_env", "expand", "go_duration", "qos_class",
]

log = logging.getLogger("kube-tui.podworker")

NORMAL, WARNING = "Normal", "Warning"
DEFAULT_GRACE = 30.0  # spec.terminationGracePeriodSeconds' default
START_ERROR_EXIT = 128  # containerd's exit code for a process that never started
# How long ErrImagePull shows before the kubelet's next sync turns it into ImagePullBackOff.
PULL_ERROR_VISIBLE = 1.0
# How long RunContainerError shows before the next sync finds the container in CrashLoopBackOff.
START_ERROR_VISIBLE = 1.0
# killContainer's minimumGracePeriodInSeconds: what is left of the grace period after a preStop hook, at least.
MIN_KILL_GRACE = 2.0
SIMULATED = {"exec": "exec: this node runs simulated containers: there is no process to run a command in",
             "attach": "attach: this node runs simulated containers: there is no process to attach to"}


class PodWorker:
    """Runs one pod with a Runtime and reports its status through `on_status`."""

    def __init__(self, pod: dict[str, Any], runtime: Runtime, *, pod_ip: str, log_dir: Path,
                 on_status: Callable[[dict[str, Any]], None], backoff_base: float = 10.0,
                 backoff_max: float = 300.0, backoff_reset: float = 600.0,
                 service_env: Mapping[str, str] | None = None, host_ip: str = "127.0.0.1",
                 on_event: Callable[[str, str, str], None] | None = None,
                 allocatable: Mapping[str, str] | None = None, oom_check_interval: float = 1.0,
                 config_source: Callable[[str, str, str], Awaitable[dict[str, Any] | None]] | None = None,
                 config_retry: float | None = None, volume_resync: float = 10.0,
                 token_source: TokenSource | None = None) -> None:
        self._pod = copy.deepcopy(pod)
        self.runtime = runtime
        self.pod_ip = pod_ip
        self.host_ip = host_ip
        self.log_dir = Path(log_dir)
        self.on_status = on_status
        self.on_event = on_event
        self.service_env = dict(service_env or {})
        self.allocatable = dict(allocatable or {})
        self.oom_check_interval = oom_check_interval
        # (kind, namespace, name) -> the ConfigMap or Secret, None if not found; ConfigError if it cannot be read
        self.config_source = config_source
        # A container whose config cannot be made is tried again this often (the kubelet's pod worker
        # back-off period, 10 s, for a failed sync), so it starts once its ConfigMap or Secret appears.
        self.config_retry = backoff_base if config_retry is None else config_retry
        self._backoff = (backoff_base, backoff_max, backoff_reset)
        # The pod's volumes, on a node whose runtime mounts them (a simulated one does not, as KWOK does not);
        # rewritten from their ConfigMaps and Secrets every `volume_resync` seconds (the kubelet's periodic sync).
        self._volumes: PodVolumes | None = None
        if getattr(runtime, "mounts_volumes", False):
            self._volumes = PodVolumes(self._pod, self.log_dir / self.uid, config_source, pod_ip=pod_ip,
                                       host_ip=host_ip, allocatable=self.allocatable, token_source=token_source)
        self.volume_resync = volume_resync
        self._volumes_ready = self._volumes is None
        self._no_mounts_said = False
        spec = self._pod.get("spec") or {}
        self._inits = [self._new_container(c, True) for c in spec.get("initContainers") or []]
        self._containers = [self._new_container(c, False) for c in spec.get("containers") or []]
        self._ephemeral: list[Container] = []
        for c in self._containers:
            c.state = {"waiting": {"reason": "PodInitializing" if self._inits else "ContainerCreating"}}
        for c in self._inits:
            c.state = {"waiting": {"reason": "PodInitializing"}}
        # A pod that already has container statuses was run by this node's kubelet before it restarted.
        status = self._pod.get("status") or {}
        for group, key in ((self._inits, "initContainerStatuses"), (self._containers, "containerStatuses")):
            known = {cs.get("name"): cs for cs in status.get(key) or [] if isinstance(cs, dict)}
            for c in group:
                if c.name in known:
                    c.carry_over(known[c.name])
                    self._carry_log(c)
        self._initialized = not self._inits
        self._add_ephemeral(spec.get("ephemeralContainers") or [], status.get("ephemeralContainerStatuses") or [])
        self._terminating = False
        self._terminated = False  # termination finished: every container stopped
        self._term_event = asyncio.Event()
        self._done = asyncio.Event()
        self._term_task: asyncio.Task[None] | None = None
        self._main: asyncio.Task[None] | None = None
        self._start_time: float | None = None
        self._final_phase: str | None = None
        self._evicted: str | None = None  # the eviction manager's message, once it evicted the pod
        self._background: set[asyncio.Task[Any]] = set()
        self._conditions = PodConditions(self._pod)
        # The routine Pulled/Created/Started/Killing events: a runtime may have none (the sim one, like KWOK).
        self._lifecycle_events = bool(getattr(runtime, "lifecycle_events", True))
        # postStart and preStop hooks: a runtime without processes (the sim one, like KWOK) runs none.
        self._hooks = bool(getattr(runtime, "lifecycle_hooks", True))
        self._hook_tasks: set[asyncio.Task[str | None]] = set()
        self._kills: dict[ContainerHandle, asyncio.Future[None]] = {}  # the containers being stopped

    def _new_container(self, spec: dict[str, Any], init: bool, *, ephemeral: bool = False) -> Container:
        return Container(spec=spec, init=init, crash_backoff=Backoff(*self._backoff),
                          pull_backoff=Backoff(*self._backoff), ephemeral=ephemeral)

    def _add_ephemeral(self, specs: list[Any], statuses: Sequence[Any] = ()) -> list[Container]:
        """Ephemeral containers (kubectl debug) not seen before; one the pod's status shows already ran on this
        node (before a kubelet restart) is not run again: ephemeral containers are never restarted."""
        known = {c.name for c in self._ephemeral}
        ran = {cs.get("name"): cs for cs in statuses if isinstance(cs, dict)}
        added = []
        for spec in specs:
            if not isinstance(spec, dict) or spec.get("name") in known:
                continue
            c = self._new_container(spec, False, ephemeral=True)
            c.state = {"waiting": {"reason": "ContainerCreating"}}
            before = ran.get(c.name)
            if before is not None:
                state = before.get("state") or {}
                c.state = copy.deepcopy(state) if "terminated" in state else {"terminated": {
                    "exitCode": 255, "reason": "Unknown", "startedAt": None, "finishedAt": None}}
                c.prior = 1
                self._carry_log(c)
                c.first_done.set()
            self._ephemeral.append(c)
            added.append(c)
        return added

    def _carry_log(self, c: Container) -> None:
        """The log file of the container's last run on this node before the kubelet restarted, if it is there."""
        path = self.pod_log_dir / c.name / f"{c.prior - 1}.log"
        c.carried_log = path if c.prior > 0 and path.exists() else None

    def _start_ephemeral(self) -> None:
        """Run the ephemeral containers not run yet: at once, even while init containers run (computePodActions
        starts them "even if initialization is not yet complete": a pod stuck in one is what kubectl debug is for)."""
        if self._terminating or self._main is None or self.done or not self._volumes_ready:
            return
        for c in self._ephemeral:
            if c.task is None and not c.first_done.is_set():
                c.task = asyncio.get_running_loop().create_task(self._run_container(c))

    # -- identity --------------------------------------------------------------------------------
    @property
    def pod(self) -> dict[str, Any]:
        return self._pod

    @property
    def name(self) -> str:
        return str((self._pod.get("metadata") or {}).get("name", ""))

    @property
    def namespace(self) -> str:
        return str((self._pod.get("metadata") or {}).get("namespace", "default"))

    @property
    def uid(self) -> str:
        return str((self._pod.get("metadata") or {}).get("uid", ""))

    @property
    def restart_policy(self) -> str:
        return str((self._pod.get("spec") or {}).get("restartPolicy") or "Always")

    @property
    def pod_log_dir(self) -> Path:
        return self.log_dir / f"{self.namespace}_{self.name}_{self.uid}"

    @property
    def done(self) -> bool:
        """The pod will not run anything again: terminal phase, or termination finished."""
        return self._done.is_set()

    async def wait(self) -> None:
        await self._done.wait()

    # -- public lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        if self._main is not None:
            return
        self._start_time = time.time()
        self._emit()
        self._main = asyncio.get_running_loop().create_task(self._run(), name=f"pod-{self.namespace}/{self.name}")

    def update(self, pod: dict[str, Any]) -> None:
        """A newer version of the pod from the API server."""
        self._pod = copy.deepcopy(pod)
        if self._volumes is not None:
            self._volumes.pod = self._pod  # its labels and annotations, for downwardAPI volumes
        md = pod.get("metadata") or {}
        if md.get("deletionTimestamp") and not self._terminating:
            grace = md.get("deletionGracePeriodSeconds")
            self._begin_termination(self._default_grace() if grace is None else float(grace))
            return
        if self._add_ephemeral((pod.get("spec") or {}).get("ephemeralContainers") or []):
            self._emit()
            self._start_ephemeral()
        # A changed image (kubectl set image on a bare pod) restarts that container, like a hash change.
        for c, spec in zip(self._containers, (pod.get("spec") or {}).get("containers") or [], strict=False):
            if spec.get("name") == c.name and spec.get("image") != c.image:
                c.spec = spec
                handle = c.handle
                if handle is not None and handle.exit_code is None and not self._terminating:
                    self._event("Killing", f"Container {c.name} definition changed, will be restarted", NORMAL)
                    c.restart_now = True
                    self._spawn(self._kill(c, handle, self._default_grace()))

    async def stop(self, grace: float | None = None) -> None:
        """Terminate the pod (if not already) and wait until every container has stopped."""
        if self._main is None:
            self._terminating = self._terminated = True
            self._done.set()
            return
        if not self._terminating:
            self._begin_termination(self._default_grace() if grace is None else grace)
        assert self._term_task is not None
        await asyncio.shield(self._term_task)

    def _default_grace(self) -> float:
        value = (self._pod.get("spec") or {}).get("terminationGracePeriodSeconds")
        return DEFAULT_GRACE if value is None else float(value)

    def _begin_termination(self, grace: float) -> None:
        self._terminating = True
        self._term_event.set()
        self._term_task = asyncio.get_running_loop().create_task(self._terminate(grace))

    async def _terminate(self, grace: float) -> None:
        stops = []
        for c in self._inits + self._containers + self._ephemeral:
            handle = c.handle
            if handle is not None and handle.exit_code is None:
                self._lifecycle_event("Killing", f"Stopping container {c.name}")
                stops.append(self._kill(c, handle, grace))
        # The kubelet kills a pod's containers in parallel, each with the full grace period.
        await asyncio.gather(*stops, return_exceptions=True)
        for hook in list(self._hook_tasks):
            hook.cancel()  # what outlived its container (a sleep): nothing waits for it any more
        if self._main is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._main), 10.0)
            except TimeoutError:
                self._main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._main
        for c in self._ephemeral:
            if c.task is not None:
                c.task.cancel()
        for c in self._inits + self._containers + self._ephemeral:
            if "waiting" in c.state and not c.last_state and c.created == 0:
                # Never ran: the kubelet reports such containers of a terminated pod like this.
                c.state = {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown",
                                          "message": "The container could not be located when the pod "
                                                     "was terminated",
                                          "startedAt": None, "finishedAt": None}}
        self._terminated = True
        self._emit()
        self._done.set()

    # -- the pod's run -------------------------------------------------------------------------
    async def _mount_volumes(self) -> bool:
        """Set up the pod's volumes before any container starts, as the kubelet waits for them: a volume that
        cannot be set up (its ConfigMap or Secret missing) is a FailedMount event, tried again until it can be,
        while the containers stay ContainerCreating. False if the pod began terminating meanwhile."""
        if self._volumes is None:
            return True
        while not self._terminating:
            failed = await self._volumes.set_up()
            if not failed:
                self._volumes_ready = True
                for name in self._volumes.not_in_memory:
                    self._event("MemoryMediumNotApplied",
                                f'Volume "{name}" (emptyDir, medium: Memory) is a directory on the node\'s disk, '
                                "not a tmpfs: this node may not mount one (it does not run as root)", WARNING)
                self._spawn(self._resync_volumes())
                return True
            for e in failed:
                self._event("FailedMount", str(e), WARNING)
            if await self._sleep(self.config_retry):
                break
        return False

    async def _resync_volumes(self) -> None:
        """The kubelet's periodic sync of the pod's API-data volumes: changed ConfigMaps and Secrets reach the
        files (atomically, see nodes/volumes.py)."""
        assert self._volumes is not None
        while not await self._sleep(self.volume_resync) and not self.done:
            try:
                for e in await self._volumes.refresh():
                    self._event("FailedMount", str(e), WARNING)
            except Exception:
                log.exception("pod %s/%s: resync of volumes failed", self.namespace, self.name)

    def remove_volumes(self) -> None:
        """Delete this pod's volume directories (the kubelet does so once the pod is gone from the node)."""
        if self._volumes is not None:
            self._volumes.tear_down()

    def unmount_memory_volumes(self) -> None:
        """The node stops: the tmpfs of the pod's memory-backed volumes go with it."""
        if self._volumes is not None:
            self._volumes.unmount_memory()

    # -- local ephemeral storage (nodes/eviction.py) -------------------------------------------------
    def _running(self) -> list[Container]:
        return [c for c in self._inits + self._containers + self._ephemeral
                if c.handle is not None and c.handle.exit_code is None]

    def storage_sources(self) -> StorageSources | None:
        """What the eviction manager measures of this pod: its disk-backed emptyDirs, and each running
        container's writable layer and logs. None for a pod it leaves alone (finished, terminating, or on a
        runtime without a filesystem of its own)."""
        if self._volumes is None or self._terminating or self.done or not self._volumes_ready:
            return None
        rootfs_path = getattr(self.runtime, "rootfs_path", None)
        out = StorageSources(volumes=self._volumes.disk_volumes())
        for c in self._running():
            assert c.handle is not None
            out.containers[c.name] = ContainerSource(
                rootfs=rootfs_path(c.handle) if rootfs_path is not None else None,
                logs=str(self.pod_log_dir / c.name))
        return out

    def evict(self, message: str) -> bool:
        """The eviction manager's evictPod: the Evicted event, the pod's containers stopped with the immediate
        grace period, and its status phase Failed, reason Evicted, with `message`. False if it already stops."""
        if self._terminating or self.done or self._main is None:
            return False
        self._event(EVICTED, message, WARNING)
        self._final_phase = "Failed"
        self._evicted = message
        self._begin_termination(EVICTION_GRACE)
        return True

    def _memory_volume_bytes(self, c: Container) -> int:
        """What the pod's memory-backed emptyDirs hold, charged to `c` when it is the first running container
        mounting them writable (the memory cgroup charges a tmpfs page to whoever wrote it; the node cannot tell
        which container did)."""
        if self._volumes is None or not self._volumes.memory:
            return 0
        total = 0
        running = self._running()
        for name, path in self._volumes.memory.items():
            writer = next((x for x in running if any(m.get("name") == name and not m.get("readOnly")
                                                     for m in x.spec.get("volumeMounts") or [])), None)
            if writer is c:
                total += fs_used(path)
        return total

    async def _run(self) -> None:
        try:
            if not await self._mount_volumes():
                return
            self._start_ephemeral()
            for c in self._inits:
                if not await self._run_container(c):
                    return
                if self._terminating:
                    return
            self._initialized = True
            for c in self._containers:
                if "PodInitializing" == c.state.get("waiting", {}).get("reason"):
                    c.state = {"waiting": {"reason": "ContainerCreating"}}
            self._emit()
            for c in self._containers:
                if self._terminating:
                    break
                c.task = asyncio.get_running_loop().create_task(self._run_container(c))
                # In order: the next container starts once this one has been started (or has failed to).
                first = asyncio.ensure_future(c.first_done.wait())
                await asyncio.wait([first, c.task], return_when=asyncio.FIRST_COMPLETED)
                first.cancel()
            await asyncio.gather(*(c.task for c in self._containers if c.task is not None))
        except Exception:
            log.exception("pod %s/%s: pod worker failed", self.namespace, self.name)
            raise
        finally:
            if not self._terminating:
                self._emit()
                if self._phase() in ("Succeeded", "Failed"):
                    self._done.set()

    def _should_restart(self, c: Container, exit_code: int) -> bool:
        if self._terminating or c.ephemeral:
            return False
        policy = self.restart_policy
        if c.init:
            # Init containers run to success; a failure is retried unless the pod never restarts.
            return exit_code != 0 and policy != "Never"
        if c.restart_now and policy != "Never":
            return True
        return policy == "Always" or (policy == "OnFailure" and exit_code != 0)

    async def _sleep(self, delay: float) -> bool:
        """Sleep up to `delay`; True if the pod began terminating meanwhile."""
        if delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._term_event.wait(), delay)
        return self._terminating

    async def _run_container(self, c: Container) -> bool:
        """Run one container until it will not be restarted; True if it last exited 0."""
        loop = asyncio.get_running_loop()
        retry_at: float | None = None
        backoff_next = False
        while not self._terminating:
            if retry_at is not None and await self._sleep(retry_at - loop.time()):
                break
            retry_at = None
            if backoff_next:
                c.crash_backoff.next(loop.time())
                backoff_next = False
            try:
                cfg = self._config(c, await self._sources(c))
            except ConfigError as e:
                c.state = {"waiting": {"reason": "CreateContainerConfigError", "message": str(e)}}
                self._event("Failed", f"Error: {e}", WARNING)
                self._emit()
                c.first_done.set()
                if await self._sleep(self.config_retry):
                    break
                continue
            # The runtime resolves ("pulls") the image as it starts the container: Pulled is said once the
            # image is known, so a failed pull is never preceded by one (the kubelet pulls before it creates).
            try:
                handle = await self.runtime.start(cfg)
            except ImagePullError as e:
                retry_at = await self._pull_failed(c, e)
                continue
            except RunContainerError as e:
                self._lifecycle_event("Pulled", f'Container image "{c.image}" already present on machine')
                c.created += 1
                now = time.time()
                term = {"exitCode": START_ERROR_EXIT, "reason": "StartError", "message": e.message,
                        "startedAt": rfc3339(0), "finishedAt": rfc3339(now)}
                self._event("Failed", f"Error: {e.message}", WARNING)
                c.first_done.set()
                if not self._should_restart(c, START_ERROR_EXIT):
                    c.state = {"terminated": term}
                    self._emit()
                    return False
                c.last_state = {"terminated": term}
                c.last_handle = None
                c.carried_log = None
                c.state = {"waiting": {"reason": "RunContainerError", "message": e.message}}
                self._emit()
                # The kubelet backs off any container it must start again, one that never started too
                # (doBackOff looks at the last exited container): RunContainerError right after the failed
                # start, then CrashLoopBackOff until the back-off allows the next attempt.
                retry_at = c.crash_backoff.retry_at(loop.time())
                backoff_next = True
                if retry_at is not None:
                    if await self._sleep(min(START_ERROR_VISIBLE, retry_at - loop.time())):
                        break
                    self._back_off(c)
                continue
            self._lifecycle_event("Pulled", f'Container image "{c.image}" already present on machine')
            if (handle.no_mounts or handle.no_layer) and not self._no_mounts_said:
                self._no_mounts_said = True
                self._event(*no_layer_event(c.name, handle.no_mounts, handle.no_layer), WARNING)
            code = await self._run_started(c, handle)
            if not self._should_restart(c, code):
                return code == 0
            term = c.state["terminated"]
            c.last_state = {"terminated": term}
            c.last_handle = handle
            c.carried_log = None
            immediate = c.restart_now
            c.restart_now = False
            retry_at = None if immediate else c.crash_backoff.retry_at(loop.time())
            backoff_next = not immediate
            if c.hook_error is not None:
                # startContainer's error for a failed postStart, shown until the back-off's next sync (as
                # RunContainerError is), and through the next start when no back-off is due.
                c.state = {"waiting": {"reason": "PostStartHookError", "message": c.hook_error}}
                self._emit()
                if retry_at is not None and await self._sleep(min(START_ERROR_VISIBLE, retry_at - loop.time())):
                    break
            if retry_at is not None:
                self._back_off(c)
        return False

    def _back_off(self, c: Container) -> None:
        """CrashLoopBackOff: the container waits for its restart back-off, worded as kuberuntime's doBackOff."""
        pod = f"{self.name}_{self.namespace}({self.uid})"
        message = f"back-off {go_duration(c.crash_backoff.duration)} restarting failed container={c.name} pod={pod}"
        c.state = {"waiting": {"reason": "CrashLoopBackOff", "message": message}}
        self._event("BackOff", f"Back-off restarting failed container {c.name} in pod {pod}", WARNING)
        self._emit()

    async def _pull_failed(self, c: Container, e: ImagePullError) -> float:
        """ErrImagePull now, ImagePullBackOff a moment later; returns when to try again."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        c.pull_backoff.next(now)
        retry_at = now + c.pull_backoff.duration
        self._event("Pulling", f'Pulling image "{c.image}"', NORMAL)
        self._event("Failed", e.message, WARNING)
        self._event("Failed", "Error: ErrImagePull", WARNING)
        c.state = {"waiting": {"reason": "ErrImagePull", "message": e.message}}
        self._emit()
        c.first_done.set()
        if await self._sleep(min(PULL_ERROR_VISIBLE, retry_at - now)):
            return retry_at
        c.state = {"waiting": {"reason": "ImagePullBackOff",
                               "message": f'Back-off pulling image "{c.image}": ErrImagePull: {e.message}'}}
        self._event("BackOff", f'Back-off pulling image "{c.image}"', NORMAL)
        self._event("Failed", "Error: ImagePullBackOff", WARNING)
        self._emit()
        return retry_at

    async def _run_started(self, c: Container, handle: ContainerHandle) -> int:
        """From a started container to its exit; leaves `c.state` terminated and returns the code."""
        c.created += 1
        c.handle = handle
        c.hook_error = None
        forget_old_logs(self.pod_log_dir, c)
        self._lifecycle_event("Created", f"Created container {c.name}")
        self._lifecycle_event("Started", f"Started container {c.name}")
        if not await self._post_start(c, handle):
            return self._exited(c, handle, await self.runtime.wait(handle))
        c.state = {"running": {"startedAt": rfc3339(handle.started_at)}}
        c.started = c.probe(STARTUP) is None
        c.ready = not c.init and not c.ephemeral and c.started and c.probe(READINESS) is None
        self._emit()
        c.first_done.set()
        if self._terminating:
            # Deleted while this container was being started: stop it right away.
            if handle.exit_code is None:
                await self._kill(c, handle, self._default_grace())
        elif c.probe(STARTUP) is not None:
            self._start_prober(c, STARTUP, handle)
        else:
            self._start_probers(c, handle)
        limit = (c.spec.get("resources") or {}).get("limits", {}).get("memory")
        watchdog = None
        # Simulated containers report usage below their limits: no need to watch them.
        if limit is not None and self.runtime.real_network and not self._terminating:
            watchdog = asyncio.get_running_loop().create_task(self._oom_watch(c, handle, quantity.to_int(limit)))
        try:
            code = await self.runtime.wait(handle)
        finally:
            if watchdog is not None:
                watchdog.cancel()
            for prober in c.probers.values():
                await prober.stop()
            c.probers.clear()
        return self._exited(c, handle, code)

    def _exited(self, c: Container, handle: ContainerHandle, code: int) -> int:
        """The container's end: `c.state` terminated with `code`, which is returned."""
        reason = c.kill_reason or ("Completed" if code == 0 else "Error")
        c.kill_reason = None
        finished = handle.finished_at or time.time()
        c.state = {"terminated": {"exitCode": code, "reason": reason, "startedAt": rfc3339(handle.started_at),
                                  "finishedAt": rfc3339(finished), "containerID": handle.container_id}}
        c.started = False
        # A completed init container counts as ready, as the kubelet reports it.
        c.ready = c.init and code == 0
        c.first_done.set()
        self._emit()
        return code

    # -- lifecycle hooks ------------------------------------------------------------------------
    async def _post_start(self, c: Container, handle: ContainerHandle) -> bool:
        """startContainer's step 4: the postStart hook, right after the container's process started. The kubelet's
        sync waits for it, so until it ends the container shows as before and the pod's next container does not
        start. If it fails: FailedPostStartHook, the container is killed (preStop included) and False."""
        handler = handler_of(c.spec, POST_START) if self._hooks and not self._terminating else None
        if handler is None:
            return True
        failure = await self._run_hook(c, handle, handler)
        if failure is None or self._terminating:
            return True
        log.info("pod %s/%s: postStart hook of %s failed: %s", self.namespace, self.name, c.name, failure)
        # As the kubelet since 1.26: not the hook's output in the event (it may hold secrets); the container's
        # waiting state (PostStartHookError) has it.
        self._event("FailedPostStartHook", "PostStartHook failed", WARNING)
        c.hook_error = failure
        self._lifecycle_event("Killing", "FailedPostStartHook")
        await self._kill(c, handle, self._default_grace())
        return False

    async def _kill(self, c: Container, handle: ContainerHandle, grace: float) -> None:
        """killContainer: the preStop hook first, when the container has one and there is a grace period, then
        SIGTERM, then SIGKILL once what the hook left of the grace period has passed (MIN_KILL_GRACE at least
        after a hook: executePreStopHook counts whole seconds). A second kill of a container being stopped waits
        for the first, as the kubelet's pod worker runs one kill at a time."""
        running = self._kills.get(handle)
        if running is None:
            running = asyncio.ensure_future(self._stop_container(c, handle, grace))
            self._kills[handle] = running
            running.add_done_callback(lambda _: self._kills.pop(handle, None))
        await asyncio.shield(running)

    async def _stop_container(self, c: Container, handle: ContainerHandle, grace: float) -> None:
        handler = handler_of(c.spec, PRE_STOP) if self._hooks and handle.exit_code is None else None
        if handler is not None and grace > 0:
            loop = asyncio.get_running_loop()
            began = loop.time()
            hook = loop.create_task(self._run_hook(c, handle, handler))
            hook.add_done_callback(self._pre_stop_done)
            # Past the grace period the hook goes on (an exec dies with its container), the container is stopped.
            await asyncio.wait([hook], timeout=grace)
            grace = max(grace - int(loop.time() - began), MIN_KILL_GRACE)
        await self.runtime.stop(handle, grace)

    def _pre_stop_done(self, hook: asyncio.Task[str | None]) -> None:
        if hook.cancelled():
            return
        failure = hook.result()
        if failure is not None:
            log.info("pod %s/%s: preStop hook failed: %s", self.namespace, self.name, failure)
            self._event("FailedPreStopHook", "PreStopHook failed", WARNING)

    async def _run_hook(self, c: Container, handle: ContainerHandle, handler: dict[str, Any]) -> str | None:
        """One of the container's hooks run to its end: None, or why it failed (nodes/lifecycle.py). An exec hook
        ends with its container, as a process of the container's PID namespace does; what is still running when
        the pod's termination is over is cancelled, and fails."""
        target = Target(self.runtime, handle, c.spec, f"{self.name}_{self.namespace}({self.uid})", self.pod_ip)
        loop = asyncio.get_running_loop()
        work = loop.create_task(run_handler(handler, target, on_fallback=self._http_fallback))
        self._hook_tasks.add(work)
        work.add_done_callback(self._hook_tasks.discard)
        exited = loop.create_task(self.runtime.wait(handle)) if "exec" in handler else None
        try:
            await asyncio.wait([t for t in (work, exited) if t is not None], return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            work.cancel()
            raise
        finally:
            if exited is not None:
                exited.cancel()
        if not work.done():
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
        if work.cancelled():
            return ended_message(handler, target)
        error = work.exception()
        if error is not None:
            log.warning("pod %s/%s: hook of %s: %s", self.namespace, self.name, c.name, error)
            return f"Cannot run handler: {error}"
        return work.result()

    def _http_fallback(self, host: str) -> None:
        self._event("LifecycleHTTPFallback",
                    f"request to HTTPS lifecycle hook {host} got HTTP response, retry with HTTP succeeded", WARNING)

    async def _oom_watch(self, c: Container, handle: ContainerHandle, limit: int) -> None:
        """The cgroup OOM killer's job, done by polling: over the memory limit -> SIGKILL, OOMKilled."""
        while handle.exit_code is None:
            await asyncio.sleep(self.oom_check_interval)
            if self.runtime.usage(handle)[1] + self._memory_volume_bytes(c) > limit:
                c.kill_reason = "OOMKilled"
                await self.runtime.stop(handle, 0)
                return

    # -- probes ---------------------------------------------------------------------------------
    def _start_probers(self, c: Container, handle: ContainerHandle) -> None:
        for kind in (LIVENESS, READINESS):
            if c.probe(kind) is not None:
                self._start_prober(c, kind, handle)

    def _start_prober(self, c: Container, kind: str, handle: ContainerHandle) -> None:
        spec = c.probe(kind) or {}
        check = make_check(spec, runtime=self.runtime, handle=handle, pod_ip=self.pod_ip, container=c.spec)

        def on_probe(result: ProbeResult) -> None:
            if not result.ok:
                self._event("Unhealthy", f"{kind.capitalize()} probe failed: {result.message}", WARNING)

        def on_change(ok: bool) -> None:
            if c.handle is not handle or handle.exit_code is not None:
                return
            if kind == READINESS:
                c.ready = ok
                self._emit()
            elif kind == STARTUP and ok:
                c.started = True
                c.ready = c.probe(READINESS) is None
                self._emit()
                self._start_probers(c, handle)
            elif not ok:
                self._event("Killing", f"Container {c.name} failed {kind} probe, will be restarted", NORMAL)
                grace = spec.get("terminationGracePeriodSeconds")
                self._spawn(self._kill(c, handle, self._default_grace() if grace is None else float(grace)))

        prober = Prober(kind, spec, check, on_change=on_change, on_probe=on_probe)
        c.probers[kind] = prober
        prober.start()

    # -- config ---------------------------------------------------------------------------------
    async def _sources(self, c: Container) -> Sources:
        """The ConfigMaps and Secrets the container's env reads, fetched now (None: not found)."""
        out: dict[tuple[str, str], dict[str, Any] | None] = {}
        for kind, name in env_references(c.spec):
            out[(kind, name)] = None if self.config_source is None else \
                await self.config_source(kind, self.namespace, name)
        return out

    def _config(self, c: Container, sources: Sources | None = None) -> ContainerConfig:
        def invalid_names(message: str) -> None:
            self._event("InvalidEnvironmentVariableNames", message, WARNING)

        env, refs = build_env(self._pod, c.spec, pod_ip=self.pod_ip, host_ip=self.host_ip,
                              service_env=self.service_env, allocatable=self.allocatable, sources=sources,
                              on_invalid=invalid_names)
        mounts = self._volumes.mounts(c.spec, env) if self._volumes is not None else []
        run_as, no_new_privs, unapplied = container_user(self._pod, c.spec) if self._volumes is not None else \
            (None, False, None)
        if unapplied:
            self._event("SecurityContextNotApplied", unapplied, WARNING)
        return ContainerConfig(
            namespace=self.namespace, pod_name=self.name, pod_uid=self.uid, name=c.name, image=c.image,
            command=[expand(str(x), refs) for x in c.spec.get("command") or []],
            args=[expand(str(x), refs) for x in c.spec.get("args") or []],
            env=env, working_dir=c.spec.get("workingDir") or None, pod_ip=self.pod_ip,
            ports=list(c.spec.get("ports") or []),
            log_path=self.pod_log_dir / c.name / f"{c.attempts}.log", attempt=c.attempts,
            resources=dict(c.spec.get("resources") or {}), stdin=c.spec.get("stdin") is True,
            stdin_once=c.spec.get("stdinOnce") is True, tty=c.spec.get("tty") is True, mounts=mounts,
            rootfs=self._volumes.rootfs(c.name) if self._volumes is not None else None,
            layer_bytes=layer_bytes(c.spec), read_only_root=read_only_root(c.spec), run_as=run_as,
            no_new_privs=no_new_privs)

    def remove_logs(self) -> None:
        """Delete this pod's log directory (the kubelet does so once the pod is gone)."""
        shutil.rmtree(self.pod_log_dir, ignore_errors=True)

    # -- logs and usage -----------------------------------------------------------------------------
    def logs(self, container: str | None = None, *, previous: bool = False, tail: int | None = None) -> str:
        """What `kubectl logs [--previous] [--tail]` shows; raises LogsError worded like the kubelet."""
        return read_logs(self.runtime, self.name, self._inits, self._containers, container, previous=previous,
                         tail=tail, ephemeral=self._ephemeral)

    def log_records(self, container: str | None = None, *, previous: bool = False) -> tuple[bytes, str]:
        """The log records `kubectl logs [--previous]` reads, and the time of lines without one (log_records)."""
        return log_records(self.runtime, self.name, self._inits, self._containers, container, previous=previous,
                           ephemeral=self._ephemeral)

    def log_running(self, container: str | None = None) -> bool:
        """Whether the container whose log is followed may still write to it."""
        return still_running(self._inits, self._containers, container, self._ephemeral)

    def _exec_target(self, container: str | None) -> ContainerHandle:
        """The handle of the running container an exec names (the first one unless named; a running init
        container may be named too); LogsError, worded like the kubelet, for a container that is not there or
        not running."""
        names = [c.spec.get("name") for c in self._containers]
        chosen = next((c for c in self._containers + self._inits + self._ephemeral if c.spec.get("name") == container),
                      None) \
            if container else (self._containers[0] if self._containers else None)
        if chosen is None:
            raise LogsError(f"container {container} is not valid for pod {self.name}" if container else
                            f"pod {self.name} has no containers")
        handle = chosen.handle
        if handle is None or handle.exit_code is not None or self._terminating:
            raise LogsError(f'{UPGRADE_FAILED}container not found ("{chosen.spec.get("name")}")'
                            + ("" if container or len(names) == 1 else f" (containers: {', '.join(map(str, names))})"))
        return handle

    def check_stream(self, container: str | None, *, attach: bool) -> None:
        """What open_exec or open_attach would refuse before it starts or joins anything (LogsError)."""
        self._exec_target(container)
        kind = "attach" if attach else "exec"
        if getattr(self.runtime, f"open_{kind}", None) is None:
            raise LogsError(SIMULATED[kind])

    async def exec(self, container: str | None, command: list[str], timeout: float,  # noqa: ASYNC109 - the command's own limit
                   max_output: int) -> tuple[int, str]:
        """`kubectl exec` run to completion: `command` in a running container, with its env and working
        dir; (exit code, output)."""
        return await self.runtime.exec(self._exec_target(container), list(command), timeout, max_output=max_output)

    async def open_exec(self, container: str | None, command: list[str], *, stdin: bool, tty: bool,
                        size: tuple[int, int] | None) -> Any:
        """`kubectl exec -i/-t`: the command started for a session (see nodes/remotecommand.py)."""
        handle = self._exec_target(container)
        open_exec = getattr(self.runtime, "open_exec", None)
        if open_exec is None:
            raise LogsError(SIMULATED["exec"])
        return await open_exec(handle, list(command), stdin=stdin, tty=tty, size=size)

    async def open_attach(self, container: str | None, *, stdin: bool) -> Any:
        """`kubectl attach` (and `kubectl run -it`): a session on a running container's own stdio."""
        handle = self._exec_target(container)
        open_attach = getattr(self.runtime, "open_attach", None)
        if open_attach is None:
            raise LogsError(SIMULATED["attach"])
        return await open_attach(handle, stdin=stdin)

    def usage(self) -> tuple[int, int]:
        """(cpu millicores, memory bytes) of the pod's running containers."""
        samples = []
        for c in self._running():
            assert c.handle is not None
            cpu, memory = self.runtime.usage(c.handle)
            samples.append((cpu, memory + self._memory_volume_bytes(c)))
        return sum_usage(samples)

    # -- status ---------------------------------------------------------------------------------
    @property
    def status(self) -> dict[str, Any]:
        """The pod's status as the kubelet writes it."""
        phase = self._phase()
        now = rfc3339(time.time())
        conditions = self._conditions.now(phase, now, self._inits, self._containers, self._terminated)
        status: dict[str, Any] = {
            "phase": phase,
            "conditions": conditions,
            "hostIP": self.host_ip,
            "hostIPs": [{"ip": self.host_ip}],
            "podIP": self.pod_ip,
            "podIPs": [{"ip": self.pod_ip}],
            "startTime": rfc3339(self._start_time) if self._start_time else None,
        }
        if self._inits:
            status["initContainerStatuses"] = [c.status() for c in self._inits]
        status["containerStatuses"] = [c.status() for c in self._containers]
        if self._ephemeral:
            status["ephemeralContainerStatuses"] = [c.status() for c in self._ephemeral]
        status["qosClass"] = qos_class(self._pod.get("spec") or {})
        if self._evicted is not None:
            status["reason"], status["message"] = EVICTED, self._evicted
        return status

    def _phase(self) -> str:
        if self._final_phase is not None:
            return self._final_phase
        phase = pod_phase(self._inits, self._containers, self.restart_policy, self._terminated)
        if phase in ("Succeeded", "Failed"):
            # Terminal phases never change again.
            self._final_phase = phase
        return phase

    def _emit(self) -> None:
        try:
            self.on_status(self.status)
        except Exception:
            # A broken consumer must not stop the pod's containers from being run.
            log.exception("pod %s/%s: on_status failed", self.namespace, self.name)

    def _event(self, reason: str, message: str, kind: str) -> None:
        if self.on_event is None:
            return
        try:
            self.on_event(reason, message, kind)
        except Exception:
            log.exception("pod %s/%s: on_event failed", self.namespace, self.name)

    def _lifecycle_event(self, reason: str, message: str) -> None:
        if self._lifecycle_events:
            self._event(reason, message, NORMAL)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        # Referenced until done, or the loop may garbage-collect a running kill.
        self._background.add(task)
        task.add_done_callback(self._background.discard)
