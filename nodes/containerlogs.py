"""Container logs as the kubelet keeps them: one file of CRI log records per attempt under the pod's log
directory, the current and the previous attempt kept, and which attempt `kubectl logs [--previous]` reads
(nodes/runtime/crilog.py applies its other options).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

from control.api import meta
from nodes.containerstatus import Container
from nodes.runtime import crilog
from nodes.runtime.base import Runtime, read_log_records


class LogsError(Exception):
    """`kubectl logs` cannot be answered; the message is the kubelet's."""


def forget_old_logs(pod_log_dir: Path, c: Container) -> None:
    # Keep the current attempt's log and the previous one (for --previous), like the kubelet.
    old = c.attempts - 3
    if old >= 0:
        for suffix in ("", ".1"):
            with contextlib.suppress(OSError):
                (pod_log_dir / c.name / f"{old}.log{suffix}").unlink()


def still_running(inits: Sequence[Container], containers: Sequence[Container], container: str | None,
                  ephemeral: Sequence[Container] = ()) -> bool:
    """Whether the container `kubectl logs -f` follows may still write: it is running. `logs -f` ends
    once it is not (terminated, or waiting to be restarted), as the kubelet's follow does."""
    if container is None:
        chosen = containers[0] if len(containers) == 1 else None
    else:
        chosen = next((x for x in [*inits, *containers, *ephemeral] if x.name == container), None)
    return chosen is not None and "running" in chosen.state


def log_records(runtime: Runtime, pod: str, inits: Sequence[Container], containers: Sequence[Container],
                container: str | None = None, *, previous: bool = False,
                ephemeral: Sequence[Container] = ()) -> tuple[bytes, str]:
    """The log records `kubectl logs [--previous]` reads for a container of `pod`, and the time to give lines
    that carry none (an older kube-tui's log): the attempt's start.

    Raises LogsError, worded like the kubelet, when there is nothing to show.
    """
    everyone = [*inits, *containers, *ephemeral]
    if container is None:
        if len(containers) != 1:
            names = " ".join(c.name for c in containers)
            raise LogsError(f"a container name must be specified for pod {pod}, choose one of: [{names}]")
        container = containers[0].name
    c = next((x for x in everyone if x.name == container), None)
    if c is None:
        raise LogsError(f"container {container} is not valid for pod {pod}")
    if c.carried_log is not None and (previous or c.created == 0):  # what the node ran before its kubelet restarted
        term = (c.last_state if previous or "terminated" not in c.state else c.state).get("terminated") or {}
        return read_log_records(c.carried_log), crilog.fixed_at(meta.parse_time(term.get("startedAt")) or 0.0)
    if previous:
        handle = c.last_handle if c.last_state else None
        if handle is None:
            raise LogsError(f'previous terminated container "{c.name}" in pod "{pod}" not found')
    elif "running" in c.state or "terminated" in c.state:
        handle = c.handle
    elif c.last_state:
        handle = c.last_handle
    else:
        reason = c.state.get("waiting", {}).get("reason", "ContainerCreating")
        if reason == "ErrImagePull":
            raise LogsError(f'container "{c.name}" in pod "{pod}" is waiting to start: '
                            "image can't be pulled")
        if reason == "ImagePullBackOff":
            raise LogsError(f'container "{c.name}" in pod "{pod}" is waiting to start: '
                            "trying and failing to pull image")
        raise LogsError(f'container "{c.name}" in pod "{pod}" is waiting to start: {reason}')
    if handle is None:
        # A container that failed to start has no process output, only its start error.
        term = c.last_state.get("terminated") or c.state.get("terminated") or {}
        when = meta.parse_time(term.get("finishedAt")) or 0.0
        data = crilog.encode(f"{term['message']}\n", when) if term.get("message") else b""
        return data, crilog.fixed_at(when)
    return runtime.log_records(handle), crilog.fixed_at(handle.started_at)


def read_logs(runtime: Runtime, pod: str, inits: Sequence[Container], containers: Sequence[Container],
              container: str | None = None, *, previous: bool = False, tail: int | None = None,
              ephemeral: Sequence[Container] = ()) -> str:
    """What `kubectl logs [--previous] [--tail]` shows for a container of `pod`; LogsError as log_records."""
    data, fallback = log_records(runtime, pod, inits, containers, container, previous=previous, ephemeral=ephemeral)
    return crilog.render(data, crilog.LogOptions(tail=tail), fallback)
