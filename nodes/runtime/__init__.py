"""Container runtimes: `process` (real process trees) and `sim` (no processes), behind one protocol."""

from __future__ import annotations

from typing import Any

from nodes.runtime.base import (
    ContainerConfig,
    ContainerHandle,
    ImagePullError,
    RunContainerError,
    Runtime,
)

__all__ = ["ContainerConfig", "ContainerHandle", "ImagePullError", "Runtime", "RunContainerError",
           "make_runtime"]


def make_runtime(name: str, **options: Any) -> Runtime:
    """The runtime called `name` ("process" or "sim"), built with `options`."""
    # Imported here: the runtimes import nodes.images, which imports this package's base module.
    if name == "process":
        from nodes.runtime.process import ProcessRuntime
        return ProcessRuntime(**options)
    if name == "sim":
        from nodes.runtime.sim import SimRuntime
        return SimRuntime(**options)
    raise ValueError(f'unknown runtime "{name}": use "process" or "sim"')
