"""The kubelet's side of a streamed exec (`kubectl exec [-i] [-t]`): a running command's input and output.

kubectl streams an exec over one upgraded connection (SPDY or WebSocket: the remotecommand protocol).
Here every hop is a request and its answer, so an exec is a session the client polls:

- open: the command starts (on a pty with -t) and the answer names the session;
- stream: each request may carry input, end it (eof), resize the terminal, or close (kill) the command,
  and may ask for output, waiting up to `wait` seconds for some; the answer carries what the command
  wrote since (stdout and stderr apart, as kubectl keeps them; a terminal has only one), and its exit
  code once it has exited and all of its output was taken.

Nothing a request does waits on the command: input goes into a bounded buffer that the node writes
out as the command reads (an answer says how much was `accepted`; the client sends the rest again),
and output waits in a bounded buffer per stream, so a command that does not read, or a client that
does not, blocks the command, never the node. A session nobody has asked about for IDLE_TIMEOUT
seconds (its client was killed, say) is closed and its command killed. A finished session's exit code
is kept for a while, so an answer lost on the way, or input that crossed the exit, changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from control import errors
from control.api.remotecommand import check_stream


class Stream(Protocol):
    """What a session streams: an exec's process (nodes/runtime/process.py's ExecProcess) or a forwarded
    connection (nodes/portforward.py). The node's ends as fds: `input` (None if it takes none), `output`,
    and `error` (None when one stream carries both)."""

    input: int | None
    output: int
    error: int | None
    tty: bool

    @property
    def exited(self) -> asyncio.Future[int]: ...
    def kill(self) -> None: ...
    def resize(self, rows: int, cols: int) -> None: ...
    def close_input(self) -> None: ...
    def outputs_ended(self) -> None: ...
    def close(self) -> None: ...

log = logging.getLogger("kube_tui.kubelet")

IDLE_TIMEOUT = 60.0  # seconds without a request before a session is closed
MAX_SESSIONS = 64  # exec and port-forward sessions at once on one node (a browser holds several connections)
BUFFER_MAX = 256 * 1024  # bytes of each output stream held for the client before the command is left to block
INPUT_BUFFER_MAX = 256 * 1024  # bytes of input held for a command that does not read yet
ROOM_WAIT = 1.0  # seconds an input request waits for room in a full input buffer before answering
FINISHED_KEPT = 120.0  # seconds a finished session's exit code is kept
FINISHED_MAX = 256


class _Output:
    """One output stream of the command (stdout, or stderr without a tty): a bounded buffer filled as the
    command writes, and the end of it."""

    def __init__(self, fd: int, changed: asyncio.Event, on_eof: Callable[[], None]) -> None:
        self.fd = fd
        self.buf = bytearray()
        self.eof = False
        self._changed = changed
        self._on_eof = on_eof
        self._loop = asyncio.get_running_loop()
        self._reading = False
        os.set_blocking(fd, False)

    def resume(self) -> None:
        if not self._reading and not self.eof and len(self.buf) < BUFFER_MAX:
            self._loop.add_reader(self.fd, self._readable)
            self._reading = True

    def pause(self) -> None:
        if self._reading:
            self._loop.remove_reader(self.fd)
            self._reading = False

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: a pty whose slave every process has closed
            data = b""
        if data:
            self.buf += data
            if len(self.buf) >= BUFFER_MAX:
                self.pause()  # the command blocks on its full pipe until the client reads
        else:
            self.pause()
            self.eof = True
            self._on_eof()
        self._changed.set()

    def take(self) -> bytes:
        data = bytes(self.buf)
        self.buf.clear()
        self.resume()
        return data


class Session:
    def __init__(self, sid: str, proc: Stream, on_idle: Callable[[Session], None], owner: tuple[str, str]) -> None:
        self.id = sid
        self.proc = proc
        self.owner = owner  # (namespace, pod): a request naming another pod does not reach this session
        self.stdin = proc.input is not None
        self.closed = False
        self._on_idle = on_idle
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._idle: asyncio.TimerHandle | None = None
        self._inbuf = bytearray()
        self._writing = False
        self._eof_pending = False
        self._room = asyncio.Event()
        self.outputs = [_Output(proc.output, self._changed, self._output_ended)]
        if proc.error is not None:
            self.outputs.append(_Output(proc.error, self._changed, self._output_ended))
        if proc.input is not None and proc.input != proc.output:
            os.set_blocking(proc.input, False)
        proc.exited.add_done_callback(lambda _: self._changed.set())
        for out in self.outputs:
            out.resume()
        self.touch()

    def _output_ended(self) -> None:
        if all(o.eof for o in self.outputs):
            self.proc.outputs_ended()

    @property
    def finished(self) -> bool:
        """The command exited and every byte it wrote was taken: the answer carries the exit code."""
        return self.proc.exited.done() and all(o.eof and not o.buf for o in self.outputs)

    def touch(self) -> None:
        if self.closed:
            return
        if self._idle is not None:
            self._idle.cancel()
        self._idle = self._loop.call_later(IDLE_TIMEOUT, self._on_idle, self)

    # -- output -------------------------------------------------------------------------------------
    async def read(self, wait: float) -> tuple[bytes, bytes]:
        """(stdout, stderr) the command wrote since the last read, waiting up to `wait` seconds for some."""
        deadline = self._loop.time() + wait
        while not any(o.buf for o in self.outputs) and not self.finished and not self.closed:
            left = deadline - self._loop.time()
            if left <= 0:
                break
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), left)
        if self.closed:
            return b"", b""
        out = self.outputs[0].take()
        err = self.outputs[1].take() if len(self.outputs) > 1 else b""
        return out, err

    # -- input ----------------------------------------------------------------------------------------
    async def write(self, data: bytes) -> int:
        """Queue `data` for the command's input; how many bytes were accepted (the client sends the rest
        again). Waits up to ROOM_WAIT for room while the command does not read, never longer."""
        if self.closed:
            return len(data)  # the command is gone: its input goes nowhere, as on a closed pipe
        if self.proc.input is None or self._eof_pending:
            raise errors.bad_request(f"exec session {self.id}: " + (
                "its input was already ended (eof)" if self.stdin else "the command was not started with stdin (use -i)"))
        if len(self._inbuf) >= INPUT_BUFFER_MAX:
            self._room.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._room.wait(), ROOM_WAIT)
            if self.closed or self.proc.input is None:
                return len(data)
        take = data[:max(0, INPUT_BUFFER_MAX - len(self._inbuf))]
        self._inbuf += take
        self._flush()
        return len(take)

    def end_input(self) -> None:
        """End of input: once what is queued is written, the pipe is closed (a tty's ^D is the user's)."""
        if self.proc.input is None or self._eof_pending:
            return
        self._eof_pending = True
        self._flush()

    def _flush(self) -> None:
        fd = self.proc.input
        if fd is None or self.closed:
            return
        while self._inbuf:
            try:
                n = os.write(fd, self._inbuf[:65536])
            except BlockingIOError:
                if not self._writing:
                    self._loop.add_writer(fd, self._flush)
                    self._writing = True
                return
            except OSError:  # EPIPE: the command no longer reads; what it wrote still comes back
                self._inbuf.clear()
                break
            del self._inbuf[:n]
            self._room.set()
        self._stop_writing()
        self._room.set()
        if self._eof_pending:
            self.proc.close_input()

    def _stop_writing(self) -> None:
        if self._writing and self.proc.input is not None:
            self._loop.remove_writer(self.proc.input)
        self._writing = False

    # -- the end ----------------------------------------------------------------------------------
    def close(self) -> None:
        """Kill the command (if it still runs) and let go of its fds: no reader or writer is left
        registered on an fd that is closed (its number could be anyone's next)."""
        if self.closed:
            return
        self.closed = True
        if self._idle is not None:
            self._idle.cancel()
        for out in self.outputs:
            out.pause()
        self._stop_writing()
        self._changed.set()  # a read waiting on it answers now
        self._room.set()
        self.proc.kill()
        self.proc.close()


class Sessions:
    """A node's streamed execs, by session id, and the exit codes of those that finished lately."""

    def __init__(self) -> None:
        self._by_id: dict[str, Session] = {}
        self._finished: OrderedDict[str, tuple[float, int, tuple[str, str]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_id)

    def full(self) -> bool:
        return len(self._by_id) >= MAX_SESSIONS

    def refuse_if_full(self, node: str) -> None:
        if self.full():
            raise errors.ApiError(429, "TooManyRequests", f"{MAX_SESSIONS} exec and port-forward sessions are open on "
                                  f"node {node}; end one first")

    def open(self, proc: Stream, owner: tuple[str, str]) -> Session:
        try:
            session = Session(secrets.token_hex(16), proc, self._idle, owner)
        except BaseException:
            proc.kill()
            proc.close()
            raise
        self._by_id[session.id] = session
        return session

    def _idle(self, session: Session) -> None:
        log.info("exec session %s: no request for %.0fs; its command is killed", session.id, IDLE_TIMEOUT)
        self.end(session)

    def end(self, session: Session) -> None:
        if self._by_id.get(session.id) is session:
            del self._by_id[session.id]
        session.close()

    def _finish(self, session: Session, code: int) -> None:
        self.end(session)
        now = time.monotonic()
        self._finished[session.id] = (now, code, session.owner)
        while self._finished and (len(self._finished) > FINISHED_MAX
                                  or next(iter(self._finished.values()))[0] < now - FINISHED_KEPT):
            self._finished.popitem(last=False)

    async def stream(self, body: dict, owner: tuple[str, str]) -> dict[str, Any]:
        """One request of an open session (see the module's docstring); {output, error, exitCode, accepted}.
        Only a request that reads gets the exit code, so the input request in flight never takes it."""
        check_stream(body)
        sid = body["session"]
        session = self._by_id.get(sid)
        if session is None or session.owner != owner:
            done = self._finished.get(sid)
            if done is not None and done[2] == owner:  # finished: input goes nowhere, the code is the code
                return {"output": b"", "error": b"", "exitCode": done[1], "accepted": len(body.get("input") or b"")}
            raise errors.ApiError(404, "NotFound", f'session "{sid}" not found for pod "{owner[1]}": its command or '
                                  f"connection ended, or it had no request for {IDLE_TIMEOUT:.0f}s and was closed")
        session.touch()
        answer: dict[str, Any] = {"output": b"", "error": b"", "exitCode": None, "accepted": 0}
        if body.get("close"):
            self.end(session)
            return answer
        if body.get("resize"):
            session.proc.resize(*body["resize"])
        if body.get("input"):
            answer["accepted"] = await session.write(body["input"])
        if body.get("eof") and answer["accepted"] == len(body.get("input") or b""):
            session.end_input()
        if body.get("read"):
            answer["output"], answer["error"] = await session.read(float(body.get("wait", 0)))
            if session.finished:
                code = session.proc.exited.result()
                self._finish(session, code)
                answer["exitCode"] = code
        session.touch()  # the wait counts as the session being in use
        return answer

    def close_all(self) -> None:
        for session in list(self._by_id.values()):
            self.end(session)
