"""The simulated runtime: containers "run" on timers, with no processes, files or sockets (like KWOK).

One process can host thousands of simulated pods: a container costs a handle and a future.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from control.api import quantity
from nodes import images
from nodes.runtime import crilog
from nodes.runtime.base import (
    EXEC_OUTPUT_MAX,
    ContainerConfig,
    ContainerHandle,
    ImagePullError,
    RunContainerError,
    new_container_id,
)


@dataclass(frozen=True)
class SimBehavior:
    """How one simulated container behaves; `run_for=None` means until stopped."""

    run_for: float | None = None
    exit_code: int = 0
    term_exit_code: int = 0  # exit code after SIGTERM (a well-behaved app exits 0)
    ignore_sigterm: bool = False  # then it is SIGKILLed after the grace period: 137
    pull_error: str | None = None
    run_error: str | None = None
    exec_exit_code: int = 0
    exec_output: str = ""


class _SimContainer:
    __slots__ = ("exited", "timer", "behavior")

    def __init__(self, exited: asyncio.Future[int], behavior: SimBehavior) -> None:
        self.exited = exited
        self.timer: asyncio.TimerHandle | None = None
        self.behavior = behavior


class SimRuntime:
    """The Runtime protocol without processes; see base.py."""

    name = "sim"
    real_network = False
    # Like KWOK: no Pulled/Created/Started (nor the Killing of a deletion) events for every pod; what goes
    # wrong (pull and start errors, back-offs, failed probes) is still recorded.
    lifecycle_events = False
    # Nor postStart and preStop hooks (KWOK runs none): there is no process to run a command in.
    lifecycle_hooks = False

    def __init__(self, *, start_delay: float = 0.0,
                 behavior: Callable[[ContainerConfig], SimBehavior | None] | None = None) -> None:
        self.start_delay = start_delay
        self.behavior = behavior
        self._live: dict[str, ContainerHandle] = {}

    def _behavior(self, cfg: ContainerConfig) -> SimBehavior:
        found = self.behavior(cfg) if self.behavior is not None else None
        return found or SimBehavior()

    async def start(self, cfg: ContainerConfig) -> ContainerHandle:
        behavior = self._behavior(cfg)
        if behavior.pull_error is not None:
            raise ImagePullError(behavior.pull_error)
        # Same image rules as the process runtime, so a manifest fails the same way under both.
        images.resolve(cfg.image, cfg.command, cfg.args, cfg.ports)
        if self.start_delay > 0:
            await asyncio.sleep(self.start_delay)
        if behavior.run_error is not None:
            raise RunContainerError(behavior.run_error)
        loop = asyncio.get_running_loop()
        state = _SimContainer(loop.create_future(), behavior)
        handle = ContainerHandle(id=new_container_id(), config=cfg, started_at=time.time(), private=state)
        if behavior.run_for is not None:
            state.timer = loop.call_later(behavior.run_for, self._exit, handle, behavior.exit_code)
        self._live[handle.id] = handle
        return handle

    def _exit(self, handle: ContainerHandle, code: int) -> None:
        state: _SimContainer = handle.private
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        if not state.exited.done():
            handle.exit_code = code
            handle.finished_at = time.time()
            state.exited.set_result(code)
        self._live.pop(handle.id, None)

    async def wait(self, handle: ContainerHandle) -> int:
        state: _SimContainer = handle.private
        return await asyncio.shield(state.exited)

    async def stop(self, handle: ContainerHandle, grace: float) -> None:
        state: _SimContainer = handle.private
        if state.exited.done():
            return
        if state.behavior.ignore_sigterm:
            if grace > 0:
                try:
                    await asyncio.wait_for(asyncio.shield(state.exited), grace)
                    return
                except TimeoutError:
                    pass
            self._exit(handle, 137)
        else:
            self._exit(handle, state.behavior.term_exit_code if grace > 0 else 137)

    def logs(self, handle: ContainerHandle) -> str:
        return crilog.text(self.log_records(handle))

    def log_records(self, handle: ContainerHandle) -> bytes:
        """Nothing runs, so nothing is kept: the records are made up from the container's start and end."""
        cfg = handle.config
        data = crilog.encode(f"[sim] container {cfg.name} of pod {cfg.namespace}/{cfg.pod_name} started "
                             f"(image {cfg.image})\n", handle.started_at)
        if handle.exit_code is not None:
            data += crilog.encode(f"[sim] exited with code {handle.exit_code}\n", handle.finished_at or time.time())
        return data

    def usage(self, handle: ContainerHandle) -> tuple[int, int]:
        """Plausible numbers: a steady share of the requests, wobbling a little over time."""
        if handle.exit_code is not None:
            return 0, 0
        requests = handle.config.resources.get("requests") or handle.config.resources.get("limits") or {}
        cpu_req = quantity.milli(requests["cpu"]) if "cpu" in requests else 10
        mem_req = quantity.to_int(requests["memory"]) if "memory" in requests else 16 * 2**20
        seed = int.from_bytes(hashlib.blake2b(handle.id.encode(), digest_size=4).digest(), "big")
        share = 0.2 + (seed % 600) / 1000  # 20-80 % of the request
        wobble = 1 + 0.1 * math.sin(time.time() / 7 + seed)
        return max(1, round(cpu_req * share * wobble)), round(mem_req * (0.4 + (seed % 400) / 1000))

    async def exec(self, handle: ContainerHandle, command: list[str], timeout: float | None,  # noqa: ASYNC109 - timeoutSeconds: the command is killed
                   max_output: int = EXEC_OUTPUT_MAX, errors: bytearray | None = None) -> tuple[int, str]:
        state: _SimContainer = handle.private
        return state.behavior.exec_exit_code, state.behavior.exec_output

    async def shutdown(self) -> None:
        for handle in list(self._live.values()):
            self._exit(handle, 137)
