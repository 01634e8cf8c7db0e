"""The process runtime: every container is a real process tree on this host, under a shim.

Each container runs under `nodes/runtime/shim.py`, which holds the read end of a "lifeline" pipe
whose write end only the node holds: when the node dies, even by kill -9, the pipe closes and the
shim SIGKILLs the whole container tree. See shim.py for the protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import logging
import os
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from nodes import images
from nodes.runtime import crilog
from nodes.runtime.base import (
    EXEC_OUTPUT_MAX,
    LOG_MAX_BYTES,
    ContainerConfig,
    ContainerHandle,
    RunContainerError,
    new_container_id,
    read_log_records,
)
from nodes.runtime.shim import LogFile
from nodes.usage import CpuRate, ProcTable

log = logging.getLogger("kube-tui.runtime")

SHIM = Path(__file__).resolve().with_name("shim.py")
# containerd's prefix for a container whose process failed to start.
START_ERROR_PREFIX = ("failed to create containerd task: failed to create shim task: OCI runtime create "
                      "failed: runc create failed: unable to start container process: ")
EXEC_ERROR_PREFIX = "OCI runtime exec failed: exec failed: unable to start container process: "


@dataclass(eq=False)
class _Shim:
    """The node's side of one shim: its process, the lifeline's write end and its exit."""

    popen: subprocess.Popen[bytes]
    lifeline: int
    exited: asyncio.Future[int]
    main_pid: int = 0
    output: bytearray = field(default_factory=bytearray)
    namespaced: bool = False  # its command runs in a mount namespace of its own (mountns.py): exec joins it

    def send(self, command: bytes) -> None:
        if self.lifeline < 0:
            return
        try:
            os.write(self.lifeline, command)
        except OSError:
            # The shim is already gone (EPIPE): nothing left to signal.
            pass

    def close(self) -> None:
        if self.lifeline >= 0:
            os.close(self.lifeline)
            self.lifeline = -1


def _set_window(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


@dataclass(eq=False)
class ExecProcess:
    """A streamed exec's process: `input` (None without stdin), `output` and `error` (None with a tty,
    whose one stream carries both) are the node's ends, the same pty master (two fds) with a tty;
    `exited` resolves to the exit code."""

    shim: _Shim
    input: int | None
    output: int
    tty: bool
    error: int | None = None

    @property
    def exited(self) -> asyncio.Future[int]:
        return self.shim.exited

    def kill(self) -> None:
        self.shim.send(b"K")

    def outputs_ended(self) -> None:
        """Every output reached its end: a process still has to exit (its `exited` says when)."""

    def resize(self, rows: int, cols: int) -> None:
        """The terminal's new size: the kernel sends SIGWINCH to the command's foreground process group."""
        if self.tty and self.output >= 0:
            with contextlib.suppress(OSError):
                _set_window(self.output, rows, cols)

    def close_input(self) -> None:
        """End of input: the write end of a pipe is closed (a tty has no such end: ^D is the user's)."""
        if self.input is not None and not self.tty:
            with contextlib.suppress(OSError):
                os.close(self.input)
            self.input = None

    def close(self) -> None:
        for fd in (self.input, self.output, self.error):
            if fd is not None and fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.input, self.output, self.error = None, -1, None


CLIENT_BUFFER_MAX = 256 * 1024  # bytes of output held for an attached client before the container is made to wait


class _Client:
    """One attached session's copy of a container's output: the write end of a pipe the session reads.
    `stdin`: the session writes the container's input (kubectl attach -i)."""

    def __init__(self, fd: int, stdin: bool, on_drained: Callable[[], None]) -> None:
        self.fd = fd
        self.stdin = stdin
        os.set_blocking(fd, False)
        self.pending = bytearray()
        self._on_drained = on_drained
        self._loop = asyncio.get_running_loop()
        self._writing = False
        self._closing = False  # the output ended: close once what is pending has been written

    @property
    def full(self) -> bool:
        return len(self.pending) >= CLIENT_BUFFER_MAX

    def send(self, data: bytes) -> None:
        if self.fd >= 0:
            self.pending += data
            self._flush()

    def _flush(self) -> None:
        was_full = self.full
        while self.pending and self.fd >= 0:
            try:
                n = os.write(self.fd, self.pending)
            except BlockingIOError:
                if not self._writing:
                    self._loop.add_writer(self.fd, self._flush)
                    self._writing = True
                break
            except OSError:  # the session let go of its end
                self.pending.clear()
                break
            del self.pending[:n]
        if not self.pending and self._writing and self.fd >= 0:
            self._loop.remove_writer(self.fd)
            self._writing = False
        if was_full and not self.full:
            self._on_drained()
        if self._closing and not self.pending:
            self.close()

    def finish(self) -> None:
        """The container's output ended: EOF for this session once it has read all that was sent to it (a slow
        reader still gets the end of the output)."""
        self._closing = True
        if not self.pending or self.fd < 0:
            self.close()

    def close(self) -> None:
        if self.fd >= 0:
            if self._writing:
                self._loop.remove_writer(self.fd)
            os.close(self.fd)
            self.fd = -1
        self.pending.clear()


EARLY_MAX = 64 * 1024  # bytes a stdinOnce container's first session gets of what was written before it came


class _Console:
    """The stdio of an attachable container (spec stdin or tty), held by the node as a terminal's master
    side or as pipes: its output goes to the container's log (capped, as the shim caps it) and to every
    attached client; attached clients with stdin write its input (kubectl attach, kubectl run -it).

    A client that reads slowly makes the container wait (the node stops reading its output, as
    containerd's attach does), never loses output; a session nobody reads is closed by the node's idle
    timeout, and the container goes on."""

    def __init__(self, output: int, input_fd: int | None, tty: bool, stdin_once: bool, log: LogFile | None) -> None:
        self.output, self.input, self.tty, self.stdin_once, self.log = output, input_fd, tty, stdin_once, log
        self.clients: list[_Client] = []
        # stdinOnce is `kubectl run -i`: the session that made the pod attaches a moment after the container
        # starts. What the container wrote before that first session is kept for it (up to EARLY_MAX), so a
        # quick `echo` is not lost in between (containerd would drop it; kubectl then shows nothing).
        self._early: bytearray | None = bytearray() if stdin_once else None
        self.ended = False
        self._reading = False
        self._loop = asyncio.get_running_loop()
        os.set_blocking(output, False)
        self._read(True)

    def _read(self, on: bool) -> None:
        if on and not self._reading and not self.ended:
            self._loop.add_reader(self.output, self._readable)
        elif not on and self._reading:
            self._loop.remove_reader(self.output)
        self._reading = on and not self.ended

    def _readable(self) -> None:
        try:
            data = os.read(self.output, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: a terminal whose every slave is closed, the container's end
            data = b""
        if not data:
            self.end()
            return
        if self.log is not None:
            with contextlib.suppress(OSError):
                self.log.write(data)
        if self._early is not None and len(self._early) < EARLY_MAX:
            self._early += data[:EARLY_MAX - len(self._early)]
        for client in self.clients:
            client.send(data)
        if any(c.full for c in self.clients):
            self._read(False)  # the container waits for the slowest attached client

    def _drained(self) -> None:
        if not any(c.full for c in self.clients):
            self._read(True)

    def attach(self, stdin: bool) -> tuple[_Client, int, int | None]:
        """A new client: (its copy of the output, the fd it reads that copy from, an fd for the input when
        it asked for stdin and the container still takes it)."""
        r, w = os.pipe()
        take_input = stdin and self.input is not None
        client = _Client(w, take_input, self._drained)
        if stdin and self._early is not None:
            early, self._early = bytes(self._early), None
            if early:
                client.send(early)
        if self.ended:
            client.finish()  # what it was sent, then the end
        else:
            self.clients.append(client)
        return client, r, os.dup(self.input) if take_input and self.input is not None else None

    def input_ended(self, client: _Client) -> None:
        """A client with stdin ended its input, or detached: with stdinOnce, that ends the container's stdin
        (kubectl run -i: the user's end of input is the program's)."""
        if client.stdin and self.stdin_once:
            self.close_input()

    def detach(self, client: _Client) -> None:
        if client in self.clients:
            self.clients.remove(client)
        client.close()
        self.input_ended(client)
        self._drained()

    def close_input(self) -> None:
        """The end of the container's stdin (a pipe's; a terminal's end is a ^D its user types)."""
        if self.input is not None and not self.tty:
            with contextlib.suppress(OSError):
                os.close(self.input)
            self.input = None

    def end(self) -> None:
        if self.ended:
            return
        self._read(False)
        self.ended = True
        with contextlib.suppress(OSError):
            os.close(self.output)
        if self.input is not None:
            with contextlib.suppress(OSError):
                os.close(self.input)
            self.input = None
        if self.log is not None:
            self.log.close()
        for client in self.clients:
            client.finish()  # EOF for every attached session, after the output still on its way to it
        self.clients.clear()


@dataclass(eq=False, kw_only=True)
class AttachProcess(ExecProcess):
    """An attached session's view of a container (the Stream of nodes/remotecommand.py): an ExecProcess
    whose output is the console's copy for this client and whose input (with stdin) writes the
    container's; ending the session detaches, it never stops the container."""

    console: _Console
    client: _Client

    def kill(self) -> None:
        self.console.detach(self.client)

    def resize(self, rows: int, cols: int) -> None:
        """The container's terminal is the console's, not this client's copy of its output."""
        if self.tty and not self.console.ended:
            with contextlib.suppress(OSError):
                _set_window(self.console.output, rows, cols)

    def close_input(self) -> None:
        """This client's input ended: with stdinOnce (kubectl run -i) that ends the container's stdin."""
        had_input = self.input is not None and not self.tty
        super().close_input()
        if had_input:
            self.console.input_ended(self.client)

    def close(self) -> None:
        self.console.detach(self.client)
        super().close()


FOLLOW_POLL = 0.1  # seconds between looks at a followed log that has nothing new


@dataclass(eq=False, kw_only=True)
class FollowProcess(ExecProcess):
    """An attached session's view of a container whose output its shim writes to the container's log (one
    started without stdin or tty): what the container writes from now on, followed in its log as the log
    grows (and across its rotation), until the container exits; `output` is a pipe the follower fills.
    Ending the session stops the following, never the container. stdout and stderr come as one stream, as
    the log holds them. A container that writes more than a whole log (LOG_MAX_BYTES) between two looks
    (FOLLOW_POLL) can lose a log's worth to its rotation, as `kubectl logs -f` can."""

    follower: asyncio.Task[None]

    def kill(self) -> None:
        self.follower.cancel()

    def close(self) -> None:
        self.follower.cancel()
        super().close()


class _LogFollower:
    """Copies the output that the log `f` (opened at its end; None: `path` did not exist yet) gains to the pipe
    `out` (what its records hold, without their times), then the files that replace it at `path`, until the
    container has exited and all it wrote is copied (the shim writes the last of its output before it exits);
    then closes `out`: the session's EOF."""

    def __init__(self, f: BinaryIO | None, path: Path, out: int, exited: asyncio.Future[int]) -> None:
        self.f, self.path, self.out, self.exited = f, path, out, exited
        self.rest = b""  # a record read before it was whole

    async def _copy(self, loop: asyncio.AbstractEventLoop, data: bytes) -> None:
        content, self.rest = crilog.output(self.rest + data)
        if content:
            await _write_all(loop, self.out, content)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                ended = self.exited.done()  # looked at before the last read: nothing is written after the shim exits
                if self.f is None:
                    with contextlib.suppress(OSError):
                        self.f = self.path.open("rb")
                while self.f is not None and (data := self.f.read(65536)):
                    await self._copy(loop, data)
                if self.f is not None and _rotated(self.path, self.f.fileno()):
                    # the old file is complete now: what it got since the read above, then the new one from its start
                    while data := self.f.read(65536):
                        await self._copy(loop, data)
                    self.f.close()
                    self.f = None
                    continue
                if ended:
                    if self.rest:  # not a record after all (a line of an older kube-tui's log): as it is
                        await _write_all(loop, self.out, self.rest)
                    return
                await asyncio.wait([self.exited], timeout=FOLLOW_POLL)
        except OSError:  # the session let go of its end (EPIPE): nobody reads any more
            pass

    def release(self, _: object = None) -> None:
        """The task's end, even one cancelled before it ran: the file and the pipe's end are let go."""
        if self.f is not None:
            self.f.close()
            self.f = None
        if self.out >= 0:
            os.close(self.out)
            self.out = -1


async def _write_all(loop: asyncio.AbstractEventLoop, fd: int, data: bytes) -> None:
    """Write all of `data` to a non-blocking pipe, waiting while it is full (the session's reader is behind)."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            writable = loop.create_future()
            loop.add_writer(fd, _wake, writable)
            try:
                await writable
            finally:
                loop.remove_writer(fd)


def _rotated(path: Path, fd: int) -> bool:
    try:
        return os.stat(path).st_ino != os.fstat(fd).st_ino
    except OSError:  # between the rename and the new file's creation
        return False


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _collect(loop: asyncio.AbstractEventLoop, fd: int, into: bytearray, cap: int) -> asyncio.Future[None]:
    """Read the pipe `fd` into `into` until its end, kept up to `cap` bytes: the rest is read and dropped, so the
    command never blocks on a full pipe. The future resolves at the end; the caller removes the reader."""
    os.set_blocking(fd, False)
    eof: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if chunk:
            room = cap - len(into)
            if room > 0:
                into.extend(chunk[:room])
        else:
            loop.remove_reader(fd)
            if not eof.done():
                eof.set_result(None)

    loop.add_reader(fd, readable)
    return eof


def _mounts(cfg: ContainerConfig) -> str:
    """The shim's MOUNTS for a container: its own view (a writable layer, the pod's volumes), or the host's."""
    if cfg.rootfs is None:
        return "-"
    return json.dumps({"root": str(cfg.rootfs), "mounts": cfg.mounts, "layer": cfg.layer_bytes,
                       "readOnly": cfg.read_only_root})


def _user(cfg: ContainerConfig) -> dict[str, Any]:
    """Who the container's commands run as (its securityContext): the main one's, and every exec's, as in a container."""
    return {"run_as": cfg.run_as, "no_new_privs": cfg.no_new_privs}


def _joined(handle: ContainerHandle) -> str:
    """The shim's MOUNTS for a command run in a running container (exec): its namespaces, if it has its own."""
    shim: _Shim = handle.private
    if not shim.namespaced:
        return "-"
    return json.dumps({"join": shim.main_pid, "user": os.geteuid() != 0})


class ProcessRuntime:
    """Runs containers as host processes; see the Runtime protocol in base.py."""

    name = "process"
    real_network = True
    mounts_volumes = True  # the pod worker sets up the pod's volumes for it (nodes/volumes.py)

    def __init__(self, *, log_max_bytes: int = LOG_MAX_BYTES, start_timeout: float = 10.0) -> None:
        self.log_max_bytes = log_max_bytes
        self.start_timeout = start_timeout
        self._shims: set[_Shim] = set()
        self._consoles: dict[_Shim, _Console] = {}  # the attachable containers' stdio
        self._cpu = CpuRate()
        self._procs = ProcTable()

    # -- spawning ------------------------------------------------------------------------------
    def _spawn(self, argv: list[str], env: dict[str, str], cwd: str | None, log_path: Path | None,
               stdout: int | None, stdin: int | None = None, tty: bool = False,
               stderr: int | None = None, mounts: str = "-", run_as: tuple[int, int, tuple[int, ...]] | None = None,
               no_new_privs: bool = False) -> tuple[_Shim, int]:
        """Start a shim; returns it and the read end of its report pipe. With `stdin` (an fd) the command
        reads it (flag "i"); with `tty` that fd is a pty's slave and becomes its terminal (flag "t"); with
        `stderr` (an fd) the command's stderr goes there instead of joining its stdout (flag "e"); `mounts`
        is the shim's MOUNTS (its view of the filesystem: shim.py); `run_as` the (uid, gid, groups) the command runs
        as (None: the node's), and `no_new_privs` (flag "n") its PR_SET_NO_NEW_PRIVS."""
        lifeline_r, lifeline_w = os.pipe()
        report_r, report_w = os.pipe()
        flags = ("u" if "LC_CTYPE" not in env else "") + ("i" if stdin is not None else "") + ("t" if tty else "") \
            + ("e" if stderr is not None else "") + ("n" if no_new_privs else "")
        user = "-" if run_as is None else f"{run_as[0]}:{run_as[1]}:{','.join(map(str, run_as[2]))}"
        cmd = [sys.executable, "-I", "-S", str(SHIM), str(lifeline_r), str(report_w),
               str(log_path) if log_path is not None else "-", str(self.log_max_bytes), cwd or "-", flags or "-",
               mounts, user, "--", *argv]
        try:
            popen = subprocess.Popen(cmd, env=env, cwd="/", stdin=stdin if stdin is not None else subprocess.DEVNULL,
                                     stdout=stdout if stdout is not None else subprocess.DEVNULL,
                                     stderr=stderr if stderr is not None else subprocess.DEVNULL,
                                     pass_fds=(lifeline_r, report_w), start_new_session=True)
        except (OSError, ValueError) as e:  # ValueError: a NUL byte in the command or the env
            for fd in (lifeline_w, report_r):  # the other two are closed below, once
                os.close(fd)
            raise e if isinstance(e, OSError) else OSError(errno.EINVAL, str(e)) from e
        finally:
            with contextlib.suppress(OSError):
                os.close(lifeline_r)
                os.close(report_w)
        shim = _Shim(popen, lifeline_w, asyncio.get_running_loop().create_future())
        self._shims.add(shim)
        self._watch_exit(shim)
        return shim, report_r

    def _watch_exit(self, shim: _Shim) -> None:
        loop = asyncio.get_running_loop()

        def finished(code: int) -> None:
            shim.close()
            self._shims.discard(shim)
            if not shim.exited.done():
                shim.exited.set_result(code if code >= 0 else 128 - code)

        try:
            pidfd = os.pidfd_open(shim.popen.pid)
        except (AttributeError, OSError):
            # No pidfd (old kernel): a thread blocks in waitpid instead.
            task = loop.create_task(asyncio.to_thread(shim.popen.wait))
            task.add_done_callback(lambda t: finished(t.result()))
            return

        def readable() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            finished(shim.popen.wait())

        loop.add_reader(pidfd, readable)

    async def _read_report(self, shim: _Shim, report_r: int) -> str:
        loop = asyncio.get_running_loop()
        os.set_blocking(report_r, False)
        buf = bytearray()
        done: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            try:
                chunk = os.read(report_r, 4096)
            except BlockingIOError:
                return
            buf.extend(chunk)
            if not chunk or b"\n" in buf:
                loop.remove_reader(report_r)
                if not done.done():
                    done.set_result(None)

        loop.add_reader(report_r, readable)
        try:
            await asyncio.wait_for(done, self.start_timeout)
        except TimeoutError:
            shim.send(b"K")
            raise RunContainerError(f"shim did not report within {self.start_timeout}s") from None
        finally:
            # Also when cancelled: a closed fd left registered would catch whoever gets its number next.
            loop.remove_reader(report_r)
            os.close(report_r)
        return buf.decode(errors="replace").strip()

    def _env(self, cfg: ContainerConfig) -> dict[str, str]:
        env = images.image_env(cfg.image)
        env.update(cfg.env)
        return env

    # -- Runtime protocol ----------------------------------------------------------------------
    async def start(self, cfg: ContainerConfig) -> ContainerHandle:
        argv = images.resolve(cfg.image, cfg.command, cfg.args, cfg.ports)
        console: _Console | None = None
        try:
            if cfg.log_path is not None:
                cfg.log_path.parent.mkdir(parents=True, exist_ok=True)
            mounts = _mounts(cfg)
            if mounts != "-" and cfg.rootfs is not None:
                cfg.rootfs.mkdir(parents=True, exist_ok=True)
            if cfg.stdin or cfg.tty:
                shim, report_r, console = self._spawn_attachable(argv, cfg, mounts)
            else:
                shim, report_r = self._spawn(argv, self._env(cfg), cfg.working_dir, cfg.log_path, None, mounts=mounts,
                                             **_user(cfg))
        except OSError as e:
            # Out of fds or processes, or an unwritable log dir: the node's problem, shown on the pod.
            raise RunContainerError(f"failed to start the container's shim: {e}") from e
        try:
            report = await self._read_report(shim, report_r)
        except asyncio.CancelledError:
            # Nobody will ever hold a handle to this container: do not let it run on.
            shim.send(b"K")
            raise
        if not report.startswith("OK "):
            await shim.exited
            detail = report[4:] if report.startswith("ERR ") else "the container's shim exited unexpectedly"
            if cfg.log_path is not None:
                # Like containerd: the start error is also what the container "logged".
                with contextlib.suppress(OSError):
                    log = LogFile(str(cfg.log_path), self.log_max_bytes)
                    log.open()
                    log.write((START_ERROR_PREFIX + detail + ": unknown\n").encode())
                    log.close()
            raise RunContainerError(START_ERROR_PREFIX + detail + ": unknown")
        pid, _, no_mounts = report[3:].partition(" NOMOUNT ")
        pid, _, no_layer = pid.partition(" NOLAYER ")
        shim.main_pid = int(pid)
        shim.namespaced = mounts != "-" and not no_mounts
        if console is not None:
            self._consoles[shim] = console
            shim.exited.add_done_callback(lambda _: self._consoles.pop(shim, None))
        return ContainerHandle(id=new_container_id(), config=cfg, started_at=time.time(), pid=shim.popen.pid,
                               private=shim, no_mounts=no_mounts or None, no_layer=no_layer or None)

    def _spawn_attachable(self, argv: list[str], cfg: ContainerConfig, mounts: str) -> tuple[_Shim, int, _Console]:
        """A container whose stdio the node holds (a pty's master with tty, else pipes), so that clients can
        attach to it; the node writes its log (the shim writes it for the others)."""
        ours_out = ours_in = child_out = child_in = -1
        log: LogFile | None = None
        try:
            if cfg.tty:
                ours_out, child_out = os.openpty()
                child_in = child_out
                if cfg.stdin:
                    ours_in = os.dup(ours_out)
            else:
                ours_out, child_out = os.pipe()
                if cfg.stdin:
                    child_in, ours_in = os.pipe()
            if cfg.log_path is not None:
                log = LogFile(str(cfg.log_path), self.log_max_bytes)
                log.open()
            # without stdin the command reads a terminal's slave (tty) or /dev/null, as in a container
            shim, report_r = self._spawn(argv, self._env(cfg), cfg.working_dir, None, child_out,
                                         child_in if child_in >= 0 else None, cfg.tty, mounts=mounts, **_user(cfg))
        except OSError:
            for fd in (ours_out, ours_in):
                if fd >= 0:
                    os.close(fd)
            if log is not None:
                log.close()
            raise
        finally:
            for fd in {child_out, child_in} - {-1}:
                with contextlib.suppress(OSError):
                    os.close(fd)
        return shim, report_r, _Console(ours_out, ours_in if ours_in >= 0 else None, cfg.tty, cfg.stdin_once, log)

    async def open_attach(self, handle: ContainerHandle, *, stdin: bool = False) -> ExecProcess:
        """kubectl attach: a session's view of a running container's stdio. An attachable one (stdin or tty):
        its output, and with `stdin` its input too (kubectl attach -i); any other: its output, as its shim
        writes it to its log (a container without stdin takes no input)."""
        shim: _Shim = handle.private
        if shim.exited.done():
            raise RunContainerError(f"container {handle.config.name} is not running: there is nothing to attach to")
        console = self._consoles.get(shim)
        if console is None:
            return self._follow(handle)
        if console.ended:
            raise RunContainerError(f"container {handle.config.name} closed its output: there is nothing to "
                                    "attach to")
        client, output, input_fd = console.attach(stdin)
        return AttachProcess(shim, input_fd, output, console.tty, console=console, client=client)

    def _follow(self, handle: ContainerHandle) -> FollowProcess:
        path = handle.config.log_path
        if path is None:
            raise RunContainerError(f"container {handle.config.name} keeps no log: there is no output to attach to")
        f: BinaryIO | None = None
        try:
            f = path.open("rb")  # now: whatever rotates it meanwhile, this is where the live output starts
            f.seek(0, os.SEEK_END)
        except OSError:
            pass  # nothing written yet: all of it is new
        shim: _Shim = handle.private
        r, w = os.pipe()
        os.set_blocking(w, False)
        follow = _LogFollower(f, path, w, shim.exited)
        follower = asyncio.get_running_loop().create_task(follow.run(), name=f"attach-{handle.config.name}")
        follower.add_done_callback(follow.release)
        return FollowProcess(shim, None, r, False, follower=follower)

    async def wait(self, handle: ContainerHandle) -> int:
        if handle.exit_code is not None:
            return handle.exit_code
        shim: _Shim = handle.private
        code = await asyncio.shield(shim.exited)
        if handle.exit_code is None:
            handle.exit_code = code
            handle.finished_at = time.time()
        self._cpu.forget(handle.id)
        return code

    async def stop(self, handle: ContainerHandle, grace: float) -> None:
        shim: _Shim = handle.private
        if shim.exited.done():
            await self.wait(handle)
            return
        if grace > 0:
            shim.send(b"T")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(shim.exited), grace)
        if not shim.exited.done():
            shim.send(b"K")
        await self.wait(handle)

    def logs(self, handle: ContainerHandle) -> str:
        return crilog.text(self.log_records(handle))

    def log_records(self, handle: ContainerHandle) -> bytes:
        return read_log_records(handle.config.log_path)

    async def open_exec(self, handle: ContainerHandle, command: list[str], *, stdin: bool, tty: bool,
                        size: tuple[int, int] | None = None) -> ExecProcess:
        """Start `command` in the container's environment for an interactive exec (kubectl exec -i/-t):
        its input and output are the returned ExecProcess's fds, a pty's master with `tty`. Like an exec
        in a real container, it dies with the container. RunContainerError if it cannot start."""
        if not command:
            raise RunContainerError("exec: no command given")
        child_in = child_out = child_err = ours_in = ours_out = ours_err = -1
        try:
            if tty:
                ours_out, child_out = os.openpty()
                if size:
                    _set_window(ours_out, *size)
                ours_in, child_in = os.dup(ours_out), child_out
            else:
                ours_out, child_out = os.pipe()
                ours_err, child_err = os.pipe()
                if stdin:
                    child_in, ours_in = os.pipe()
            shim, report_r = self._spawn(list(command), self._env(handle.config), handle.config.working_dir, None,
                                         child_out, child_in if child_in >= 0 else None, tty,
                                         child_err if child_err >= 0 else None, mounts=_joined(handle),
                                         **_user(handle.config))
        except OSError as e:
            for fd in (ours_in, ours_out, ours_err):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            raise RunContainerError(f"{EXEC_ERROR_PREFIX}{e}: unknown") from e
        finally:
            for fd in {child_in, child_out, child_err} - {-1}:
                with contextlib.suppress(OSError):
                    os.close(fd)
        proc = ExecProcess(shim, ours_in if ours_in >= 0 else None, ours_out, tty, ours_err if ours_err >= 0 else None)
        try:
            report = await self._read_report(shim, report_r)
        except BaseException:
            proc.kill()
            proc.close()
            raise
        if not report.startswith("OK "):
            proc.close()
            await shim.exited
            detail = report[4:] if report.startswith("ERR ") else "shim exited unexpectedly"
            raise RunContainerError(EXEC_ERROR_PREFIX + detail.removeprefix("error during container init: ") + ": unknown")
        container: _Shim = handle.private
        container.exited.add_done_callback(lambda _: proc.kill())
        return proc

    def rootfs_path(self, handle: ContainerHandle) -> str | None:
        """A path on the running container's writable layer as the node sees it (its root, through /proc), where
        the layer's tmpfs is measured; None when it has no namespace (and no layer) of its own."""
        shim = handle.private
        if not isinstance(shim, _Shim) or not shim.namespaced or handle.exit_code is not None or not shim.main_pid:
            return None
        return f"/proc/{shim.main_pid}/root"

    def usage(self, handle: ContainerHandle) -> tuple[int, int]:
        if handle.pid is None or handle.exit_code is not None:
            return 0, 0
        cpu_seconds, rss = self._procs.tree_usage(handle.pid)
        return self._cpu.update(handle.id, cpu_seconds), rss

    async def exec(self, handle: ContainerHandle, command: list[str], timeout: float | None,  # noqa: ASYNC109 - timeoutSeconds: the command is killed
                   max_output: int = EXEC_OUTPUT_MAX, errors: bytearray | None = None) -> tuple[int, str]:
        """Run `command` with the container's env and working dir, under a shim of its own (`timeout` None: no
        limit). With `errors`, the command's stderr is kept apart in it (CRI's ExecSync answers stdout and
        stderr apart), not in the output."""
        if not command:
            return 126, "exec: no command given"
        loop = asyncio.get_running_loop()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe() if errors is not None else (-1, -1)
        try:
            shim, report_r = self._spawn(list(command), self._env(handle.config), handle.config.working_dir,
                                         None, out_w, stderr=err_w if err_w >= 0 else None, mounts=_joined(handle),
                                         **_user(handle.config))
        except OSError as e:
            for fd in (out_r, err_r):
                if fd >= 0:
                    os.close(fd)
            return 126, f"{EXEC_ERROR_PREFIX}{e}: unknown"
        finally:
            for fd in (out_w, err_w):
                if fd >= 0:
                    os.close(fd)
        ends = [_collect(loop, out_r, shim.output, max_output)]
        if errors is not None:
            ends.append(_collect(loop, err_r, errors, max_output))
        try:
            report = await self._read_report(shim, report_r)
            if not report.startswith("OK "):
                await shim.exited
                detail = report[4:] if report.startswith("ERR ") else "shim exited unexpectedly"
                return 126, EXEC_ERROR_PREFIX + detail.removeprefix("error during container init: ") + ": unknown"
            try:
                code = await asyncio.wait_for(asyncio.shield(shim.exited), timeout)
            except TimeoutError:
                shim.send(b"K")
                await shim.exited
                raise
            # The shim killed the whole tree before exiting, so the pipes' EOF is imminent.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*ends), 2.0)
            return code, shim.output.decode(errors="replace")
        except asyncio.CancelledError:
            # A stopped prober, a hook whose container ended: the command must not run on unwatched.
            shim.send(b"K")
            raise
        finally:
            for fd in (out_r, err_r):
                if fd >= 0:
                    loop.remove_reader(fd)
                    os.close(fd)

    async def shutdown(self) -> None:
        shims = list(self._shims)
        for shim in shims:
            shim.send(b"K")
        if shims:
            done, pending = await asyncio.wait([s.exited for s in shims], timeout=10.0)
            for shim in shims:
                if not shim.exited.done():
                    # The shim itself is stuck: its SIGTERM handler still kills the whole tree.
                    with contextlib.suppress(ProcessLookupError):
                        shim.popen.terminate()
            if pending:
                await asyncio.wait(pending, timeout=5.0)
        for shim in shims:
            shim.close()
