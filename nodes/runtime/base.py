"""The container runtime interface the kubelet's pod workers drive: a small, CRI-shaped protocol."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from nodes.runtime.mountns import LAYER_BYTES

# Like the kubelet's containerLogMaxSize default.
LOG_MAX_BYTES = 10 * 1024 * 1024
# The kubelet's exec prober reads at most 10 KiB of a probe's output.
EXEC_OUTPUT_MAX = 10 * 1024


class ImagePullError(Exception):
    """The image cannot be "pulled": the kubelet reports ErrImagePull, then ImagePullBackOff."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RunContainerError(Exception):
    """The container was created but its process could not start (containerd's StartError)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ContainerConfig:
    """Everything a runtime needs to start one attempt of one container (CRI's ContainerConfig)."""

    namespace: str
    pod_name: str
    pod_uid: str
    name: str
    image: str
    command: list[str] = field(default_factory=list)
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # already expanded, in order
    working_dir: str | None = None
    pod_ip: str = "127.0.0.1"
    ports: list[dict[str, Any]] = field(default_factory=list)  # the container's `ports` as in the spec
    log_path: Path | None = None  # <log_dir>/<ns>_<pod>_<uid>/<container>/<attempt>.log
    attempt: int = 0  # the restart count this container is started with
    resources: dict[str, Any] = field(default_factory=dict)  # the container's `resources` as in the spec
    stdin: bool = False  # the container's stdin stays open for kubectl attach (spec.containers[].stdin)
    stdin_once: bool = False  # ... and is closed when the first attached client detaches
    tty: bool = False  # its stdio is a terminal (spec.containers[].tty): kubectl run -it, kubectl attach -it
    # The pod's volumes as this container mounts them (nodes/runtime/mountns.py's Mount: source on the node,
    # target its mountPath, readOnly), and the node directory where its root is built (None: the node's own view).
    mounts: list[dict[str, Any]] = field(default_factory=list)
    rootfs: Path | None = None
    layer_bytes: int | None = LAYER_BYTES  # its writable layer's size (None: it writes the node's directories)
    read_only_root: bool = False  # securityContext.readOnlyRootFilesystem: only its volumes are writable
    # The (uid, gid, supplementary groups) its processes run as (nodes/securitycontext.py; None: the node's own),
    # and allowPrivilegeEscalation: false (PR_SET_NO_NEW_PRIVS).
    run_as: tuple[int, int, tuple[int, ...]] | None = None
    no_new_privs: bool = False


@dataclass(eq=False)
class ContainerHandle:
    """One started container attempt; runtimes keep their private state in `private`."""

    id: str
    config: ContainerConfig
    started_at: float  # time.time() when the process started
    pid: int | None = None  # the supervisor (shim) pid for the process runtime
    exit_code: int | None = None
    finished_at: float | None = None
    private: Any = None
    # Why the container runs without its volumes mounted (the node gives no mount namespace), if it does.
    no_mounts: str | None = None
    # Why it writes (some of) the node's own directories rather than a writable layer of its own, if it does.
    no_layer: str | None = None

    @property
    def container_id(self) -> str:
        """The containerID string shown in the pod status, like `containerd://<id>`."""
        return f"kube-tui://{self.id}"


@runtime_checkable
class Runtime(Protocol):
    """What the pod worker needs from a container runtime."""

    name: str
    # False for the simulated runtime: nothing listens, so network probes are taken as passing.
    real_network: bool

    async def start(self, cfg: ContainerConfig) -> ContainerHandle:
        """Pull (resolve) the image and start the container; raise ImagePullError or RunContainerError."""
        ...

    async def stop(self, handle: ContainerHandle, grace: float) -> None:
        """SIGTERM the container, SIGKILL it after `grace` seconds; return once it has exited."""
        ...

    async def wait(self, handle: ContainerHandle) -> int:
        """The container's exit code (128 + signal when killed), once it has exited."""
        ...

    def logs(self, handle: ContainerHandle) -> str:
        """The output of that container attempt so far."""
        ...

    def log_records(self, handle: ContainerHandle) -> bytes:
        """That container attempt's log so far as the CRI runtime keeps it: records stamped with the time each
        piece of output was read (nodes/runtime/crilog.py reads them)."""
        ...

    def usage(self, handle: ContainerHandle) -> tuple[int, int]:
        """(cpu millicores, memory bytes) of the container, like `kubectl top`."""
        ...

    async def exec(self, handle: ContainerHandle, command: list[str], timeout: float | None,  # noqa: ASYNC109 - timeoutSeconds: the command is killed
                   max_output: int = EXEC_OUTPUT_MAX, errors: bytearray | None = None) -> tuple[int, str]:
        """Run `command` in the container's environment; raise TimeoutError after `timeout` seconds (None: no
        limit). The output is kept up to `max_output` bytes (the rest is read and dropped); with `errors`, the
        command's stderr goes there instead of into the output."""
        ...

    async def shutdown(self) -> None:
        """Kill every container this runtime started."""
        ...


def new_container_id() -> str:
    """A 64 hex digit id, the shape containerd uses."""
    return secrets.token_hex(32)


def read_log_records(path: Path | None) -> bytes:
    """A log file's records; empty when there is none yet."""
    if path is None:
        return b""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""
