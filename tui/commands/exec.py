"""`kube-tui exec POD [-i] [-t] [-c CONTAINER] [-n NS] -- COMMAND [ARGS...]`: run a command in a container, as kubectl exec.

The API server passes the request to the pod's kubelet, which starts the command in the container's
environment and working directory. Its output streams back as it comes; with -i our stdin goes to
it; with -t (and -i, from a terminal) it runs on a pty and our terminal is put in raw mode, so a
shell, ^C, line editing and window sizes behave as in `kubectl exec -it`. As with kubectl, a non-zero
exit code is reported ("command terminated with exit code N") and becomes ours.

The stream is a session the client polls (control/api/remotecommand.py): one request at a time waits
for output, and input goes out in requests of its own as it is typed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import queue
import shutil
import signal
import sys
import termios
import threading
import tty as ttymod
from typing import BinaryIO

from control.api.remotecommand import INPUT_MAX
from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, with_client

POLL_WAIT = 2.0  # seconds one output request waits on the node for something to show
INPUT_BACKLOG = 1024 * 1024  # bytes of our stdin read ahead before reading pauses


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("pod", help="POD, pod/POD, or TYPE/NAME (deploy/web, svc/web: one of its running pods)")
    # not "command": the top-level parser keeps the subcommand's name there. tui.cli takes what follows
    # `--` as it is; words after POD without `--` (kubectl's old form) are the command too.
    p.add_argument("argv", nargs="*", metavar="-- COMMAND [ARGS...]", help="the command to run, after --")
    p.add_argument("-c", "--container", default=None, help="the container (default: the pod's first)")
    p.add_argument("-n", "--namespace", default="default")
    p.add_argument("-i", "--stdin", action="store_true", help="pass stdin to the command")
    p.add_argument("-t", "--tty", action="store_true", help="stdin is a TTY (with -i, from a terminal)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds the command may run before it is killed (default: no limit, as kubectl)")
    add_client_args(p)


def report(out: dict) -> int:
    """A command that ran to completion, or could not start: its output, and kubectl's line for its code."""
    code = int(out.get("exitCode") or 0)
    text = out.get("output") or ""
    if isinstance(text, str):
        text = text.encode()
    if code and text and not text.endswith(b"\n"):
        text += b"\n"  # the runtime's own error ("OCI runtime exec failed: ...") ends without one
    sys.stdout.buffer.write(text)
    sys.stdout.flush()
    if code:
        print(f"command terminated with exit code {code}", file=sys.stderr)
    return code


class _Input:
    """Our stdin, read ahead as it becomes readable (up to INPUT_BACKLOG bytes); what the node has not
    accepted yet stays at the front for the next request."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()
        self.ended = False
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._ready = asyncio.Event()
        self._watching = False
        self._scheduled = False
        try:
            self._loop.add_reader(fd, self._readable)
            self._watching, self._file = True, False
        except PermissionError:  # a regular file or /dev/null: epoll refuses what never blocks
            self._file = True
            self._resume()

    def _resume(self) -> None:
        if self.ended or self.closed or len(self.buf) >= INPUT_BACKLOG:
            return
        if self._file:
            if not self._scheduled:
                self._scheduled = True
                self._loop.call_soon(self._readable)
        elif not self._watching:
            self._loop.add_reader(self.fd, self._readable)
            self._watching = True

    def _pause(self) -> None:
        if self._watching:
            self._loop.remove_reader(self.fd)
            self._watching = False

    def _readable(self) -> None:
        self._scheduled = False
        if self.ended or self.closed:
            return
        try:
            data = os.read(self.fd, INPUT_MAX)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self.buf += data
            if len(self.buf) >= INPUT_BACKLOG:
                self._pause()
            elif self._file:
                self._resume()
        else:
            self.ended = True
            self._pause()
        self._ready.set()

    async def next(self) -> tuple[bytes, bool]:
        """(up to INPUT_MAX bytes from the front, whether they are the last), waiting for something.
        Nothing is taken until consume(): cancelling this loses no input."""
        while not self.buf and not self.ended:
            self._ready.clear()
            await self._ready.wait()
        data = bytes(self.buf[:INPUT_MAX])
        return data, self.ended and len(data) == len(self.buf)

    def consume(self, n: int) -> None:
        del self.buf[:n]
        if len(self.buf) < INPUT_BACKLOG // 2:
            self._resume()

    def close(self) -> None:
        self.closed = True
        self._pause()


def _terminal_size() -> tuple[int, int]:
    """(rows, cols) of our terminal, asked of the terminal itself as kubectl's term.GetSize does: $COLUMNS
    and $LINES (exported once, by a shell or a test runner) only when no stream is a terminal."""
    for stream in (sys.stdout, sys.stdin, sys.stderr):
        try:
            size = os.get_terminal_size(stream.fileno())
        except (OSError, ValueError, AttributeError):
            continue
        if size.lines and size.columns:
            return size.lines, size.columns
    cols, rows = shutil.get_terminal_size()
    return rows, cols


def _resolve(done: asyncio.Future[None]) -> None:
    if not done.done():
        done.set_result(None)


class _Output:
    """Our stdout and stderr, written by a daemon thread: a reader of ours that pauses (a pager) holds up
    neither the keepalive nor, when it never reads again, our exit."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: queue.SimpleQueue[tuple[BinaryIO, bytes, asyncio.Future[None]]] = queue.SimpleQueue()
        threading.Thread(target=self._run, name="exec-output", daemon=True).start()

    def _run(self) -> None:
        while True:
            stream, data, done = self._queue.get()
            try:
                stream.write(data)
                stream.flush()
            except (OSError, ValueError):
                pass  # our reader went away (EPIPE): the command's output goes nowhere, as with kubectl
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._loop.call_soon_threadsafe(_resolve, done)

    async def write(self, stream: BinaryIO, data: bytes) -> None:
        done = self._loop.create_future()
        self._queue.put((stream, data, done))
        await done  # one chunk at a time: the node keeps the rest, the command waits for us


async def stream(client: Client, args: argparse.Namespace, pod: str, command: list[str], *,
                 stdin: bool, tty: bool, attach: bool = False) -> int:
    """Run the command as a session: output as it comes, our stdin to it with -i, a raw terminal with -t.
    With `attach` (kube-tui run -it), no command: the session joins the container's own stdio, and its
    end is the container's (whose exit code the caller reports)."""
    ns = args.namespace
    loop = asyncio.get_running_loop()
    resized = asyncio.Event()
    interrupted = asyncio.Event()
    finished = False
    saved_mode = None
    source: _Input | None = None
    sid: str | None = None
    tasks: set[asyncio.Future] = set()
    # ^C before the terminal is raw, or a signal from elsewhere: the terminal is restored and the command killed.
    stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    async def send_input() -> None:
        """Our input as it comes (the end of it, without a tty), and the terminal's size when it changes."""
        ended = source is None
        while not (ended and not tty):
            waits: set[asyncio.Future] = {asyncio.ensure_future(resized.wait())}
            get = None
            if source is not None and not ended:
                get = asyncio.ensure_future(source.next())
                waits.add(get)
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                if not w.done():
                    w.cancel()
            data, last = get.result() if get is not None and get.done() else (b"", False)
            size = None
            if resized.is_set():
                resized.clear()
                size = _terminal_size()
            if not (data or last or size):
                continue
            r = await client.exec_stream(pod, sid, ns, input=data, eof=last and not tty, resize=size)
            accepted = int(r.get("accepted", len(data)))
            if source is not None and data:
                source.consume(accepted)  # the rest goes again: the node waited a moment for room first
            ended = ended or (last and accepted == len(data))

    async def read_output() -> int:
        writer = _Output()
        while True:
            r = await client.exec_stream(pod, sid, ns, read=True, wait=POLL_WAIT)
            for data, out in ((r.get("output"), sys.stdout.buffer), (r.get("error"), sys.stderr.buffer)):
                if data:
                    await writer.write(out, data)
            if r.get("exitCode") is not None:
                return int(r["exitCode"])

    for sig in stop_signals:
        loop.add_signal_handler(sig, interrupted.set)
    try:
        stopper = asyncio.ensure_future(interrupted.wait())
        tasks.add(stopper)
        opening = asyncio.ensure_future(client.exec_open(pod, command, ns, container=args.container, stdin=stdin,
                                                         tty=tty, size=_terminal_size() if tty else None,
                                                         attach=attach))
        tasks.add(opening)
        await asyncio.wait({opening, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not opening.done():
            print("kube-tui exec: interrupted", file=sys.stderr)
            tasks.discard(opening)  # a session it opens after all is closed, not left to run
            with contextlib.suppress(ApiError, TimeoutError):
                late = await asyncio.wait_for(opening, 5.0)
                if "session" in late:
                    await asyncio.wait_for(client.exec_stream(pod, late["session"], ns, close=True), 5.0)
            return 130
        opened = opening.result()
        if "session" not in opened:
            return report(opened)  # the command could not start
        sid = opened["session"]
        if tty:
            saved_mode = termios.tcgetattr(sys.stdin.fileno())
            ttymod.setraw(sys.stdin.fileno(), termios.TCSANOW)  # as kubectl: typed-ahead input is kept
            loop.add_signal_handler(signal.SIGWINCH, resized.set)
        if stdin:
            source = _Input(sys.stdin.fileno())
        sender = asyncio.ensure_future(send_input())
        reader = asyncio.ensure_future(read_output())
        tasks.update((sender, reader, asyncio.ensure_future(client.keep_session(pod, sid, ns))))
        timeout = args.timeout
        deadline = None if timeout is None else loop.time() + timeout
        waiting = {reader, stopper, sender}
        while True:
            left = None if deadline is None else max(0.0, deadline - loop.time())
            done, _ = await asyncio.wait(waiting, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            if sender in done and reader not in done:
                waiting.discard(sender)
                error = sender.exception()
                # Input that crossed the command's end is no error: the reader brings the exit code.
                if error is not None and not (isinstance(error, ApiError) and error.code == 404):
                    raise error
                continue
            break
        if reader in done:
            code = reader.result()
            finished = True
        else:
            code = 130 if stopper in done else 124
        if saved_mode is not None:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved_mode)
            saved_mode = None
        if not finished:
            why = "interrupted" if code == 130 else f"did not finish within {timeout:g}s"
            what = "detached (the container goes on)" if attach else "the command is killed"
            print(f"\nkube-tui {'attach' if attach else 'exec'}: {why}: {what}", file=sys.stderr)
        elif code and not attach:
            print(f"command terminated with exit code {code}", file=sys.stderr)
        return code
    finally:
        for t in tasks:
            t.cancel()
        if saved_mode is not None:
            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, saved_mode)
        if source is not None:
            source.close()
        for sig in (signal.SIGWINCH, *stop_signals):
            loop.remove_signal_handler(sig)
        if sid is not None and not finished:
            with contextlib.suppress(ApiError, TimeoutError, OSError):
                await asyncio.wait_for(client.exec_stream(pod, sid, ns, close=True), 5.0)


def run(args: argparse.Namespace) -> int:
    command = list(args.argv)
    if not command:
        return fail("error: you must specify at least one command for the container: kube-tui exec POD -- COMMAND")
    pod = args.pod
    if args.timeout is not None and not args.timeout > 0:
        return fail("error: --timeout must be a number of seconds above 0")
    tty = args.tty and args.stdin  # as kubectl: -t without -i has no terminal to give
    if tty and not sys.stdin.isatty():
        print("Unable to use a TTY - input is not a terminal or the right kind of file", file=sys.stderr)
        tty = False
    result = with_client(args, lambda c: _exec(c, args, pod, command, tty))
    return result if isinstance(result, int) else 0


async def _exec(client: Client, args: argparse.Namespace, pod: str, command: list[str], tty: bool) -> int:
    from tui.commands.podselect import choose_pod, default_container, parse_target

    try:  # POD, or TYPE/NAME as kubectl takes it (exec deploy/web: one of its running pods)
        kind, name = parse_target(pod)
        found, _, _ = await choose_pod(client, kind, name, args.namespace, running_only=kind != "Pod")
    except ValueError as e:
        return fail(str(e))
    pod = found["metadata"]["name"]
    if not args.container:  # as kubectl: the default container, said when the pod has others
        args.container = default_container(found) or None
    return await stream(client, args, pod, command, stdin=args.stdin, tty=tty)
