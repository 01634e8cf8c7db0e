"""Container lifecycle hooks (spec.containers[].lifecycle.postStart and .preStop) run as the kubelet's handler
runner runs them (pkg/kubelet/lifecycle/handlers.go): exec in the container, an HTTP GET, or a sleep; a
tcpSocket handler is kept by the API for old objects and never run (the kubelet fails it as an invalid handler).
The pod worker (nodes/podworker.py) decides when a hook runs and what its failure does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from control.errors import go_quote
from nodes.probes import GetError, container_port, get
from nodes.runtime.base import EXEC_OUTPUT_MAX, ContainerHandle, Runtime
from nodes.runtime.process import EXEC_ERROR_PREFIX

log = logging.getLogger("kube-tui.lifecycle")

POST_START, PRE_STOP = "postStart", "preStop"
USER_AGENT = "kube-lifecycle/1.30"  # NewRequestForHTTPGetAction's "kube-<fragment>/<major>.<minor>"
KILLED_EXIT = 137  # an exec whose container ended was killed with it


@dataclass(frozen=True)
class Target:
    """What a hook runs against: one running container of one pod."""

    runtime: Runtime
    handle: ContainerHandle
    container: dict[str, Any]  # the container's spec
    pod: str  # format.Pod: name_namespace(uid)
    pod_ip: str


def handler_of(container: dict[str, Any], hook: str) -> dict[str, Any] | None:
    """The container's postStart or preStop handler, if it has one."""
    lifecycle = container.get("lifecycle")
    handler = lifecycle.get(hook) if isinstance(lifecycle, dict) else None
    return handler if isinstance(handler, dict) else None


async def run(handler: dict[str, Any], target: Target, *,
              on_fallback: Callable[[str], None] | None = None) -> str | None:
    """Run one handler to its end: None if it succeeded, else the kubelet's message for its failure (what the
    container's waiting state shows after a failed postStart). `on_fallback(host)`: an HTTPS hook that an HTTP
    server answered succeeded over HTTP (the kubelet's LifecycleHTTPFallback event)."""
    name = target.container.get("name", "")
    if isinstance(handler.get("exec"), dict):
        command = [str(x) for x in handler["exec"].get("command") or []]
        error, output = await _exec(target, command)
        if error is None:
            return None
        return (f'Exec lifecycle hook ([{" ".join(command)}]) for Container "{name}" in Pod "{target.pod}" failed - '
                f"error: {error}, message: {go_quote(output)}")
    if isinstance(handler.get("httpGet"), dict):
        action = handler["httpGet"]
        error = await _http(action, target, on_fallback)
        if error is None:
            return None
        return (f'HTTP lifecycle hook ({action.get("path", "")}) for Container "{name}" in Pod "{target.pod}" failed '
                f"- error: {error}")
    if isinstance(handler.get("sleep"), dict):
        await asyncio.sleep(max(0, int(handler["sleep"].get("seconds") or 0)))
        return None
    # tcpSocket (or nothing the kubelet knows): handlers.go's default case.
    log.warning("%s: cannot run handler: invalid handler %s", target.pod, handler)
    return f"Cannot run handler: invalid handler: {_go_handler(handler)}"


def ended_message(handler: dict[str, Any], target: Target) -> str:
    """The failure of a hook that was still running when its container ended: an exec dies with the container;
    a sleep is told so (runSleepHandler's "container terminated before sleep hook finished")."""
    name = target.container.get("name", "")
    if isinstance(handler.get("sleep"), dict):
        seconds = handler["sleep"].get("seconds")
        return (f'Sleep lifecycle hook ({seconds}) for Container "{name}" in Pod "{target.pod}" failed - error: '
                "container terminated before sleep hook finished")
    if isinstance(handler.get("exec"), dict):
        command = [str(x) for x in handler["exec"].get("command") or []]
        return (f'Exec lifecycle hook ([{" ".join(command)}]) for Container "{name}" in Pod "{target.pod}" failed - '
                f"error: command '{' '.join(command)}' exited with {KILLED_EXIT}: , message: \"\"")
    action = handler.get("httpGet") or {}
    return (f'HTTP lifecycle hook ({action.get("path", "")}) for Container "{name}" in Pod "{target.pod}" failed - '
            "error: context canceled")


async def _exec(target: Target, command: list[str]) -> tuple[str | None, str]:
    """(the error, None if it exited 0; its stdout then stderr), as the kubelet's RunInContainer over CRI's
    ExecSync, which has no time limit for a hook."""
    stderr = bytearray()
    code, stdout = await target.runtime.exec(target.handle, command, None, max_output=EXEC_OUTPUT_MAX,
                                             errors=stderr)
    errors = stderr.decode(errors="replace")
    if code == 126 and stdout.startswith((EXEC_ERROR_PREFIX, "exec: ")):
        return stdout, errors  # it never started: the runtime's error is the error
    if code == 0:
        return None, stdout + errors
    return f"command '{' '.join(command)}' exited with {code}: {errors}", stdout + errors


async def _http(action: dict[str, Any], target: Target, on_fallback: Callable[[str], None] | None) -> str | None:
    """runHTTPHandler: any HTTP answer is success (Go's client errs only when none comes); the host defaults to
    the pod's IP; an HTTPS request that an HTTP server answers is made again over HTTP."""
    host = action.get("host") or target.pod_ip
    port_ref = action.get("port")
    try:
        port = 80 if port_ref in (None, "") else container_port(port_ref, target.container)
    except ValueError as e:
        return str(e)
    scheme = str(action.get("scheme") or "HTTP").upper()
    path = str(action.get("path") or "")
    headers = action.get("httpHeaders")
    try:
        await get(host, port, path, scheme=scheme, headers=headers, user_agent=USER_AGENT, timeout=None)
        return None
    except GetError as e:
        if not e.not_tls:
            return e.message
        error = e.message
    try:
        await get(host, port, path, scheme="HTTP",
                  headers=[h for h in headers or [] if h.get("name", "").lower() != "authorization"],
                  user_agent=USER_AGENT, timeout=None)
    except GetError:
        return error
    if on_fallback is not None:
        on_fallback(f"{host}:{port}")
    return None


def _go_handler(handler: dict[str, Any]) -> str:
    """The handler as the generated String() of a *LifecycleHandler prints it, for the tcpSocket one that reaches
    this (the other kinds only as their names)."""
    tcp = handler.get("tcpSocket")
    if isinstance(tcp, dict):
        port = tcp.get("port", 0)
        # intstr.IntOrString's fields {Type IntVal StrVal}, as %v prints the struct
        port_text = f"{{1 0 {port}}}" if isinstance(port, str) else f"{{0 {port} }}"
        tcp_text = f"&TCPSocketAction{{Port:{port_text},Host:{tcp.get('host', '')},}}"
    else:
        tcp_text = "nil"
    return f"&LifecycleHandler{{Exec:nil,HTTPGet:nil,TCPSocket:{tcp_text},Sleep:nil,}}"
