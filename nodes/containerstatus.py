"""A pod worker's record of one container, and the ContainerStatus the kubelet reports from it."""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodes import images
from nodes.backoff import Backoff
from nodes.probes import Prober
from nodes.runtime.base import ContainerHandle


def rfc3339(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass(eq=False)
class Container:
    """One of the pod's containers: its spec, its status so far, and what runs it."""

    spec: dict[str, Any]
    init: bool
    crash_backoff: Backoff
    pull_backoff: Backoff
    state: dict[str, Any] = field(default_factory=dict)
    last_state: dict[str, Any] = field(default_factory=dict)
    ready: bool = False
    started: bool = False
    created: int = 0  # containers this worker created so far
    prior: int = 0  # containers created before this kubelet took the pod over (a node restart), from its status
    handle: ContainerHandle | None = None  # the current (or latest) container
    last_handle: ContainerHandle | None = None  # the one lastState describes, for --previous
    probers: dict[str, Prober] = field(default_factory=dict)
    kill_reason: str | None = None
    restart_now: bool = False  # killed for a definition change: restart without back-off
    hook_error: str | None = None  # why this run's postStart hook failed (the kubelet then killed it)
    first_done: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[bool] | None = None
    ephemeral: bool = False  # added by kubectl debug: run once, never restarted, never ready, no probes
    # The log file of the run carried over from before a kubelet restart (carry_over): what `logs` shows for
    # it while this kubelet has run nothing that replaced it (an ended ephemeral container is never run again).
    carried_log: Path | None = None

    @property
    def name(self) -> str:
        return str(self.spec.get("name", ""))

    @property
    def image(self) -> str:
        return str(self.spec.get("image", ""))

    @property
    def attempts(self) -> int:
        """Containers created for this one, ever: its restartCount is this minus one."""
        return self.prior + self.created

    @property
    def restart_count(self) -> int:
        return max(0, self.attempts - 1)

    def carry_over(self, status: dict[str, Any]) -> None:
        """A kubelet that restarted continues the count its pod's status shows: when the container had run,
        the next one it starts is one more restart, as the kubelet counts the containers the node had."""
        count = status.get("restartCount")
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            return
        state = status.get("state") or {}
        ran = count > 0 or bool(status.get("lastState")) or "running" in state or "terminated" in state
        if ran:
            self.prior = count + 1
            # What the node had becomes lastState, so `get pods` shows when it last restarted ("1 (2m ago)"):
            # a container that ended (a graceful node stop reports NodeShutdown) as it ended; one the node lost
            # while running, as the kubelet reports a container gone with its node (exit code 255, Unknown).
            if "terminated" in state:
                self.last_state = {"terminated": copy.deepcopy(state["terminated"])}
            elif "running" in state:
                self.last_state = {"terminated": {"exitCode": 255, "reason": "Unknown",
                                                  "startedAt": (state.get("running") or {}).get("startedAt"),
                                                  "finishedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}
            elif isinstance(status.get("lastState"), dict):
                self.last_state = copy.deepcopy(status["lastState"])

    def probe(self, kind: str) -> dict[str, Any] | None:
        spec = self.spec.get(f"{kind}Probe")
        return spec if isinstance(spec, dict) and not self.init and not self.ephemeral else None

    def status(self) -> dict[str, Any]:
        """Its ContainerStatus, as the kubelet reports it."""
        st: dict[str, Any] = {
            "name": self.name,
            "state": copy.deepcopy(self.state),
            "lastState": copy.deepcopy(self.last_state),
            "ready": self.ready,
            "restartCount": self.restart_count,
            "image": self.image,
            "imageID": images.image_id(self.image) if self.created else "",
            "started": self.started,
        }
        if self.handle is not None:
            st["containerID"] = self.handle.container_id
        return st
