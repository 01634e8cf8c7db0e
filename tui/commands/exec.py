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
import shutil
import signal
import stat
import sys
import termios
import tty as ttymod

from control.api.remotecommand import INPUT_MAX
from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, with_client

POLL_WAIT = 2.0  # seconds one output request waits on the node for something to show
INPUT_BACKLOG = 1024 * 1024  # bytes of our stdin read ahead before reading pauses


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("pod", help="POD or pod/POD")
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
    """Our stdin, read as it becomes readable, queued for the session's input requests."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.chunks: asyncio.Queue[bytes | None] = asyncio.Queue()  # None: end of input
        self.pending = 0
        self._carry = b""  # what the last request had no room for: it goes first in the next
        self._loop = asyncio.get_running_loop()
        self._watching = False
        self._file = stat.S_ISREG(os.fstat(fd).st_mode)  # epoll refuses regular files: they never block
        self._resume()

    def _resume(self) -> None:
        if not self._watching:
            if self._file:
                self._loop.call_soon(self._readable)
                return
            self._loop.add_reader(self.fd, self._readable)
            self._watching = True

    def _pause(self) -> None:
        if self._watching:
            self._loop.remove_reader(self.fd)
            self._watching = False

    def _readable(self) -> None:
        try:
            data = os.read(self.fd, INPUT_MAX)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._pause()
            self._file = False
            self.chunks.put_nowait(None)
            return
        self.pending += len(data)
        self.chunks.put_nowait(data)
        if self.pending >= INPUT_BACKLOG:
            self._pause()
        elif self._file:
            self._loop.call_soon(self._readable)

    async def next(self) -> tuple[bytes, bool]:
        """(up to INPUT_MAX bytes of what is queued, whether input ended), waiting for something."""
        if self._carry:
            first, self._carry = self._carry, b""
        else:
            first = await self.chunks.get()
        data, ended = bytearray(first or b""), first is None
        while not ended and len(data) < INPUT_MAX and not self.chunks.empty():
            more = self.chunks.get_nowait()
            if more is None:
                ended = True
            else:
                data += more
        if len(data) > INPUT_MAX:  # put the rest back in front
            self._carry, data = bytes(data[INPUT_MAX:]), data[:INPUT_MAX]
            if ended:
                self.chunks.put_nowait(None)
                ended = False
        self.pending -= len(data)
        if self.pending < INPUT_BACKLOG // 2:
            self._resume()
        return bytes(data), ended

    def close(self) -> None:
        self._pause()
        self._file = False


def _terminal_size() -> tuple[int, int]:
    cols, rows = shutil.get_terminal_size()
    return rows, cols


async def stream(client: Client, args: argparse.Namespace, pod: str, command: list[str], *,
                 stdin: bool, tty: bool) -> int:
    """Run the command as a session: output as it comes, our stdin to it with -i, a raw terminal with -t."""
    ns = args.namespace
    opened = await client.exec_open(pod, command, ns, container=args.container, stdin=stdin, tty=tty,
                                    size=_terminal_size() if tty else None)
    if "session" not in opened:
        return report(opened)  # the command could not start
    sid = opened["session"]
    loop = asyncio.get_running_loop()
    out = sys.stdout.buffer
    resized = asyncio.Event()
    interrupted = asyncio.Event()
    finished = False
    saved_mode = None
    source: _Input | None = None
    tasks: set[asyncio.Task] = set()
    # SIGINT is ^C's only without a terminal: on one it is the byte \x03, for the command's terminal.
    stop_signals = (signal.SIGTERM, signal.SIGHUP) if tty else (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

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
                    w.cancel()  # source.next() holds nothing until its first await returns: no input is lost
            data, eof = get.result() if get is not None and get.done() else (b"", False)
            size = None
            if resized.is_set():
                resized.clear()
                size = _terminal_size()
            if data or eof or size:
                await client.exec_stream(pod, sid, ns, input=data, eof=eof and not tty, resize=size)
            ended = ended or eof

    async def read_output() -> int:
        while True:
            r = await client.exec_stream(pod, sid, ns, read=True, wait=POLL_WAIT)
            if r.get("output"):
                out.write(r["output"])
                out.flush()
            if r.get("exitCode") is not None:
                return int(r["exitCode"])

    try:
        if tty:
            saved_mode = termios.tcgetattr(sys.stdin.fileno())
            ttymod.setraw(sys.stdin.fileno(), termios.TCSANOW)  # as kubectl: typed-ahead input is kept
            loop.add_signal_handler(signal.SIGWINCH, resized.set)
        for sig in stop_signals:  # the terminal is restored and the command killed, not left behind
            loop.add_signal_handler(sig, interrupted.set)
        if stdin:
            source = _Input(sys.stdin.fileno())
        sender = asyncio.create_task(send_input())
        reader = asyncio.create_task(read_output())
        stopper = asyncio.create_task(interrupted.wait())
        tasks.update((reader, stopper, sender))
        timeout = args.timeout
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - loop.time())
            done, _ = await asyncio.wait(tasks, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            if sender in done:
                tasks.discard(sender)
                sender.result()  # an API error here ends the exec as below
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
            print(f"\nkube-tui exec: {why}: the command is killed", file=sys.stderr)
        elif code:
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
        if not finished:
            with contextlib.suppress(ApiError, TimeoutError, OSError):
                await asyncio.wait_for(client.exec_stream(pod, sid, ns, close=True), 5.0)


def run(args: argparse.Namespace) -> int:
    command = list(args.argv)
    if not command:
        return fail("error: you must specify at least one command for the container: kube-tui exec POD -- COMMAND")
    pod = args.pod.removeprefix("pod/").removeprefix("pods/").removeprefix("po/")
    if args.timeout is not None and not args.timeout > 0:
        return fail("error: --timeout must be a number of seconds above 0")
    tty = args.tty and args.stdin  # as kubectl: -t without -i has no terminal to give
    if tty and not sys.stdin.isatty():
        print("Unable to use a TTY - input is not a terminal or the right kind of file", file=sys.stderr)
        tty = False
    result = with_client(args, lambda c: stream(c, args, pod, command, stdin=args.stdin, tty=tty))
    return result if isinstance(result, int) else 0
