"""The kubelet's side of an interactive exec (`kubectl exec -i -t`): a running command's input and output.

kubectl streams an exec over one upgraded connection (SPDY or WebSocket: the remotecommand protocol).
Here every hop is a request and its answer, so an exec is a session the client polls:

- open: the command starts (with a pty for -t) and the answer names the session;
- stream: each request may carry input, end it (eof), resize the terminal, or close (kill) the command,
  and may ask for output, waiting up to `wait` seconds for some; the answer carries what the command
  wrote since, and its exit code once it has exited and all of its output was taken.

Output waits in a bounded buffer: when the client does not read, the node stops reading the command,
which then blocks on its full pipe, as it would on a slow terminal. A session nobody has asked about for
IDLE_TIMEOUT seconds (its client was killed, say) is closed and its command killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from typing import Any

from control import errors
from control.api.remotecommand import check_stream
from nodes.runtime.process import ExecProcess

log = logging.getLogger("kube_tui.kubelet")

IDLE_TIMEOUT = 30.0  # seconds without a request before a session is closed
MAX_SESSIONS = 32  # at once on one node
BUFFER_MAX = 256 * 1024  # output bytes held for the client before the command is left to block


class Session:
    def __init__(self, sid: str, proc: ExecProcess, on_idle: Callable[[Session], None]) -> None:
        self.id = sid
        self.proc = proc
        self.out = bytearray()
        self.eof = False  # the command's output ended (all writers closed it)
        self.stdin = proc.input is not None
        self._on_idle = on_idle
        self._changed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._reading = False
        self.closed = False
        self._idle: asyncio.TimerHandle | None = None
        os.set_blocking(proc.output, False)
        if proc.input is not None and proc.input != proc.output:
            os.set_blocking(proc.input, False)
        proc.exited.add_done_callback(lambda _: self._changed.set())
        self._resume()
        self.touch()

    @property
    def finished(self) -> bool:
        """The command exited and every byte it wrote was taken: the answer carries the exit code."""
        return self.eof and not self.out and self.proc.exited.done()

    def touch(self) -> None:
        if self.closed:
            return
        if self._idle is not None:
            self._idle.cancel()
        self._idle = self._loop.call_later(IDLE_TIMEOUT, self._on_idle, self)

    # -- output -----------------------------------------------------------------------------------
    def _resume(self) -> None:
        if not self._reading and not self.eof and not self.closed:
            self._loop.add_reader(self.proc.output, self._readable)
            self._reading = True

    def _pause(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.proc.output)
            self._reading = False

    def _readable(self) -> None:
        try:
            data = os.read(self.proc.output, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: a pty whose slave every process has closed
            data = b""
        if data:
            self.out += data
            if len(self.out) >= BUFFER_MAX:
                self._pause()
        else:
            self._pause()
            self.eof = True
        self._changed.set()

    async def read(self, wait: float, limit: int = BUFFER_MAX) -> bytes:
        """What the command wrote since the last read, waiting up to `wait` seconds for something."""
        loop = self._loop
        deadline = loop.time() + wait
        while not self.out and not self.finished and not self.closed:
            left = deadline - loop.time()
            if left <= 0:
                break
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        data = bytes(self.out[:limit])
        del self.out[:limit]
        if len(self.out) < BUFFER_MAX:
            self._resume()
        return data

    # -- input --------------------------------------------------------------------------------------
    async def write(self, data: bytes) -> None:
        """All of `data` to the command's input, waiting while its pipe or terminal is full."""
        fd = self.proc.input
        if self.closed:
            return
        if fd is None:
            raise errors.bad_request(f"exec session {self.id}: " + ("its input was already ended (eof)" if self.stdin
                                     else "the command was not started with stdin (use -i)"))
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view)
            except BlockingIOError:
                await self._writable(fd)
                if self.closed:
                    return
                continue
            except OSError:  # EPIPE: the command no longer reads its input; what it wrote still comes back
                return
            view = view[n:]

    async def _writable(self, fd: int) -> None:
        ready = self._loop.create_future()
        self._loop.add_writer(fd, lambda: ready.done() or ready.set_result(None))
        try:
            await asyncio.wait_for(asyncio.shield(ready), 1.0)
        except TimeoutError:
            if self.proc.exited.done():
                raise errors.bad_request(f"exec session {self.id}: the command has exited") from None
        finally:
            self._loop.remove_writer(fd)

    # -- the end ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Kill the command (if it still runs) and let go of its fds."""
        self.closed = True
        self._changed.set()  # a read waiting on it answers now
        if self._idle is not None:
            self._idle.cancel()
        self._pause()
        self.proc.kill()
        self.proc.close()


class Sessions:
    """A node's interactive execs, by session id."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def open(self, proc: ExecProcess) -> Session:
        session = Session(secrets.token_hex(16), proc, self._idle)
        self._by_id[session.id] = session
        return session

    def full(self) -> bool:
        return len(self._by_id) >= MAX_SESSIONS

    def _idle(self, session: Session) -> None:
        log.info("exec session %s: no request for %.0fs; its command is killed", session.id, IDLE_TIMEOUT)
        self.end(session)

    def end(self, session: Session) -> None:
        if self._by_id.get(session.id) is session:
            del self._by_id[session.id]
        session.close()

    async def stream(self, body: dict) -> dict[str, Any]:
        """One request of an open session (see the module's docstring); {output, exitCode}. Only a request
        that reads gets the exit code, so the one input request in flight never takes it from the reader."""
        check_stream(body)
        session = self._by_id.get(body["session"])
        if session is None:
            raise errors.ApiError(404, "NotFound", f'exec session "{body["session"]}" not found: its command '
                                  f"ended, or the session had no request for {IDLE_TIMEOUT:.0f}s and was closed")
        session.touch()
        if body.get("close"):
            self.end(session)
            return {"output": b"", "exitCode": None}
        if body.get("resize"):
            session.proc.resize(*body["resize"])
        if body.get("input"):
            await session.write(body["input"])
        if body.get("eof"):
            session.proc.close_input()
        if not body.get("read"):
            return {"output": b"", "exitCode": None}
        output = await session.read(float(body.get("wait", 0)))
        if session.finished:
            self.end(session)
            return {"output": output, "exitCode": session.proc.exited.result()}
        session.touch()  # the wait counts as the session being in use
        return {"output": output, "exitCode": None}

    def close_all(self) -> None:
        for session in list(self._by_id.values()):
            self.end(session)
