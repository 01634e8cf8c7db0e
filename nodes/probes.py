"""Container probes (exec, httpGet, tcpSocket) and the Prober that runs one on its schedule,
with the kubelet's thresholds, initial results and messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from nodes.runtime.base import ContainerHandle, Runtime

log = logging.getLogger("kube-tui.probes")

USER_AGENT = "kube-probe/1.30"
MAX_BODY = 10 * 1024

LIVENESS, READINESS, STARTUP = "liveness", "readiness", "startup"


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    message: str = ""  # why it failed, worded like the kubelet's prober


Check = Callable[[], Awaitable[ProbeResult]]


def container_port(port: int | str, container: dict[str, Any]) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"couldn't find port: {port} in {container.get('name', 'container')}")


async def exec_check(runtime: Runtime, handle: ContainerHandle, command: list[str],
                     timeout: float) -> ProbeResult:  # noqa: ASYNC109 - a probe's timeoutSeconds
    try:
        code, output = await runtime.exec(handle, command, timeout)
    except TimeoutError:
        return ProbeResult(False, f'command "{" ".join(command)}" timed out')
    if code == 0:
        return ProbeResult(True, output)
    return ProbeResult(False, output if output else f"command {shlex.join(command)} exited with {code}")


def _url(scheme: str, host: str, port: int, path: str) -> str:
    hostport = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return f"{scheme.lower()}://{hostport}{path}"


class GetError(Exception):
    """A GET that got no HTTP response, worded as Go's http.Client error."""

    def __init__(self, message: str, *, not_tls: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.not_tls = not_tls  # an HTTPS request that an HTTP server answered


async def get(host: str, port: int, path: str = "/", *, scheme: str = "HTTP",
              headers: list[dict[str, str]] | None = None, user_agent: str = USER_AGENT,
              timeout: float | None = 1.0) -> tuple[int, bytes]:  # noqa: ASYNC109 - a probe's timeoutSeconds
    """One GET as the kubelet makes it for a probe or a hook (TLS not verified): (status code, up to MAX_BODY of
    the body); GetError if no response came (`timeout` None: no limit)."""
    if not path.startswith("/"):
        path = "/" + path
    url = _url(scheme, host, port, path)
    context = None
    if scheme.upper() == "HTTPS":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    extra = {h["name"]: h.get("value", "") for h in headers or [] if h.get("name")}
    lines = [f"GET {path} HTTP/1.1", f"Host: {extra.pop('Host', f'{host}:{port}')}",
             f"User-Agent: {extra.pop('User-Agent', user_agent)}", f"Accept: {extra.pop('Accept', '*/*')}",
             "Connection: close"]
    lines += [f"{k}: {v}" for k, v in extra.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def run() -> tuple[int, bytes]:
        try:
            reader, writer = await asyncio.open_connection(host, port, ssl=context)
        except ssl.SSLError as e:
            # Go's client sees the plain HTTP answer to its hello: "server gave HTTP response to HTTPS client".
            raise GetError(f'Get "{url}": http: server gave HTTP response to HTTPS client', not_tls=True) from e
        except OSError as e:
            raise GetError(f'Get "{url}": dial tcp {host}:{port}: connect: {_reason(e)}') from e
        try:
            writer.write(request)
            await writer.drain()
            status_line = await reader.readline()
            parts = status_line.decode("latin-1").split()
            if len(parts) < 2 or not parts[1].isdigit():
                raise GetError(f'Get "{url}": malformed HTTP response {status_line[:80]!r}')
            body = b""
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                await reader.readuntil(b"\r\n\r\n")
                body = await reader.read(MAX_BODY)
            return int(parts[1]), body
        except OSError as e:
            raise GetError(f'Get "{url}": {_reason(e)}') from e
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    try:
        return await asyncio.wait_for(run(), timeout)
    except TimeoutError:
        raise GetError(f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)') \
            from None


async def http_get(host: str, port: int, path: str = "/", *, scheme: str = "HTTP",
                   headers: list[dict[str, str]] | None = None, timeout: float = 1.0) -> ProbeResult:  # noqa: ASYNC109 - a probe's timeoutSeconds
    """One GET; 200-399 is success, like the kubelet's HTTP prober (which does not verify TLS)."""
    try:
        code, body = await get(host, port, path, scheme=scheme, headers=headers, timeout=timeout)
    except GetError as e:
        return ProbeResult(False, e.message)
    if 200 <= code < 400:
        return ProbeResult(True, body.decode(errors="replace"))
    return ProbeResult(False, f"HTTP probe failed with statuscode: {code}")


async def tcp_connect(host: str, port: int, timeout: float = 1.0) -> ProbeResult:  # noqa: ASYNC109 - a probe's timeoutSeconds
    """Success if a TCP connection opens, like the kubelet's TCP prober."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return ProbeResult(False, f"dial tcp {host}:{port}: i/o timeout")
    except OSError as e:
        return ProbeResult(False, f"dial tcp {host}:{port}: connect: {_reason(e)}")
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(True)


def _reason(e: OSError) -> str:
    # Go's net package words errno text in lower case: "connection refused".
    if e.errno:
        return os.strerror(e.errno).lower()
    return str(e).lower()


def make_check(spec: dict[str, Any], *, runtime: Runtime, handle: ContainerHandle, pod_ip: str,
               container: dict[str, Any]) -> Check:
    """The check a probe spec describes, bound to one running container."""
    timeout = float(spec.get("timeoutSeconds") or 1)
    if "exec" in spec:
        command = list((spec["exec"] or {}).get("command") or [])

        async def run_exec() -> ProbeResult:
            return await exec_check(runtime, handle, command, timeout)
        return run_exec
    if "httpGet" in spec or "tcpSocket" in spec:
        action = spec.get("httpGet") or spec.get("tcpSocket") or {}
        host = action.get("host") or pod_ip
        try:
            port = container_port(action.get("port", 80), container)
        except ValueError as e:
            message = str(e)

            async def bad_port() -> ProbeResult:
                return ProbeResult(False, message)
            return bad_port
        if not runtime.real_network:
            # Simulated containers listen on nothing: take network probes as passing.
            async def simulated() -> ProbeResult:
                return ProbeResult(True)
            return simulated
        if "httpGet" in spec:
            async def run_http() -> ProbeResult:
                return await http_get(host, port, action.get("path") or "/", scheme=action.get("scheme", "HTTP"),
                                      headers=action.get("httpHeaders"), timeout=timeout)
            return run_http

        async def run_tcp() -> ProbeResult:
            return await tcp_connect(host, port, timeout)
        return run_tcp

    # grpc (and anything newer) is not implemented: passing is the least surprising choice.
    async def unsupported() -> ProbeResult:
        return ProbeResult(True, "kube-tui does not run this kind of probe; taken as passing")
    return unsupported


class Prober:
    """Runs one probe of one container on its schedule, like a kubelet probe worker.

    `on_change(result)` fires when the thresholded result changes; `on_probe(result)` after every
    probe (the kubelet records an Unhealthy event for each failure). After a liveness or startup
    failure, and after a startup success, the prober stops: the container is restarted or started.
    """

    def __init__(self, kind: str, spec: dict[str, Any], check: Check, *,
                 on_change: Callable[[bool], None],
                 on_probe: Callable[[ProbeResult], None] | None = None) -> None:
        if kind not in (LIVENESS, READINESS, STARTUP):
            raise ValueError(f"unknown probe kind {kind!r}")
        self.kind = kind
        self.check = check
        self.on_change = on_change
        self.on_probe = on_probe
        self.initial_delay = float(spec.get("initialDelaySeconds") or 0)
        self.period = float(spec.get("periodSeconds") or 10)
        self.timeout = float(spec.get("timeoutSeconds") or 1)
        self.success_threshold = int(spec.get("successThreshold") or 1)
        self.failure_threshold = int(spec.get("failureThreshold") or 3)
        # The kubelet's initial results: not ready until proven, alive until proven otherwise.
        self.result: bool | None = {READINESS: False, LIVENESS: True, STARTUP: None}[kind]
        self._last: bool | None = None
        self._run = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"probe-{self.kind}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        if self.initial_delay > 0:
            await asyncio.sleep(self.initial_delay)
        while True:
            try:
                # The check enforces timeoutSeconds itself; this only guards against a stuck one.
                result = await asyncio.wait_for(self.check(), self.timeout + 5)
            except TimeoutError:
                result = ProbeResult(False, "probe timed out")
            if self.on_probe is not None:
                self.on_probe(result)
            if self.observe(result.ok):
                return
            await asyncio.sleep(self.period)

    def observe(self, ok: bool) -> bool:
        """Apply one probe result with the thresholds; True when this prober is done."""
        if self._last == ok:
            self._run += 1
        else:
            self._last, self._run = ok, 1
        if (not ok and self._run < self.failure_threshold) or (ok and self._run < self.success_threshold):
            return False
        changed = self.result != ok
        self.result = ok
        if changed:
            self.on_change(ok)
        if self.kind in (LIVENESS, STARTUP) and not ok:
            return True
        return self.kind == STARTUP and ok
