"""The fields of an exec request (the pods/exec subresource), checked alike by the API server and the kubelet.

A port-forward (pods/portforward) opens with {name, namespace, port} and is streamed the same way: one
session per forwarded connection, its input what the local client sends, its output what the pod answers.

Three forms of the one `exec` verb (see nodes/remotecommand.py for the kubelet's side):
- run to completion: {name, namespace, container?, command, timeout?} -> {exitCode, output};
- open a session (kubectl exec, output streamed as it comes): {..., command, stream: true, stdin?, tty?,
  rows?, cols?} -> {session}; stdin (-i) lets the command read input, tty (-t) gives it a pty; with
  `attach: true` and no command, the session joins the container's own stdio (kubectl attach, run -it);
  with `check: true` nothing is opened: {} when it could be, else the error opening it would meet;
- stream an open session: {name, namespace, session, input?, eof?, resize?, read?, wait?, close?}
  -> {output, error, exitCode, accepted}: stdout and stderr (one stream with a tty), the exit code once
  the command exited and its output was all read (None before), and how many input bytes were taken
  (the rest is sent again: a command that does not read makes its input wait, not the node).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from control import errors

INPUT_MAX = 64 * 1024  # bytes of input one request may carry
WAIT_MAX = 5.0  # seconds one request may wait for output
SIZE_MAX = 10_000  # rows or columns of a terminal
# kubectl's words for an upgrade the kubelet refused with a plain-text reason ("container not found (...)"):
# a message that starts so is answered to kubectl as that plain text, as kube-apiserver passes it through.
UPGRADE_FAILED = "unable to upgrade connection: "
KEEPALIVE = 15.0  # seconds between a client's requests that keep a session alive (the node closes one after 60 idle)


def is_session(body: dict) -> bool:
    """An exec that opens or streams a session, not one run to completion."""
    return "session" in body or any(body.get(f) not in (None, False) for f in ("stream", "stdin", "tty"))


def _flag(body: dict, field: str) -> None:
    if not isinstance(body.get(field, False), bool):
        raise errors.bad_request(f"exec: field '{field}' must be true or false")


def _size(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= SIZE_MAX


def check_command(body: dict) -> list[str]:
    command = body.get("command")
    if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
        raise errors.bad_request("exec: field 'command' must be a non-empty list of strings "
                                 "(kube-tui exec POD -- COMMAND [ARGS...])")
    if any("\x00" in a for a in command):
        raise errors.bad_request("exec: field 'command' must not contain NUL characters (no process argument can)")
    return command


def check_open(body: dict) -> tuple[list[str], bool, bool, tuple[int, int] | None]:
    """(command, stdin, tty, (rows, cols) or None) of a request that opens a session; an attach
    (`attach: true`, kubectl attach) names no command: it joins the container's own stdio."""
    _flag(body, "attach")
    _flag(body, "check")
    command = [] if body.get("attach") else check_command(body)
    for field in ("stream", "stdin", "tty"):
        _flag(body, field)
    rows, cols = body.get("rows"), body.get("cols")
    if (rows is None) != (cols is None) or (rows is not None and not (_size(rows) and _size(cols))):
        raise errors.bad_request(f"exec: fields 'rows' and 'cols' must both be given, as whole numbers in [1, {SIZE_MAX}]")
    return command, bool(body.get("stdin")), bool(body.get("tty")), (rows, cols) if rows is not None else None


def check_port(body: dict) -> int:
    """The pod port of a port-forward (kubectl port-forward POD [LOCAL:]PORT), a number by now."""
    port = body.get("port")
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        raise errors.bad_request("portforward: field 'port' must be the pod's port, a number in [1, 65535]")
    return port


def check_stream(body: dict) -> None:
    """A request of an open session; BadRequest naming the field that is wrong."""
    sid = body.get("session")
    if not isinstance(sid, str) or not 0 < len(sid) <= 64:
        raise errors.bad_request("exec: field 'session' must be the id an exec with stdin or tty answered with")
    data = body.get("input", b"")
    if not isinstance(data, bytes):
        raise errors.bad_request("exec: field 'input' must be bytes")
    if len(data) > INPUT_MAX:
        raise errors.bad_request(f"exec: field 'input' carries {len(data)} bytes; send at most {INPUT_MAX} per request")
    for field in ("eof", "read", "close"):
        _flag(body, field)
    resize = body.get("resize")
    if resize is not None and not (isinstance(resize, list) and len(resize) == 2 and all(map(_size, resize))):
        raise errors.bad_request(f"exec: field 'resize' must be [rows, cols], whole numbers in [1, {SIZE_MAX}]")
    wait = body.get("wait", 0)
    if not isinstance(wait, int | float) or isinstance(wait, bool) or not 0 <= wait <= WAIT_MAX:
        raise errors.bad_request(f"exec: field 'wait' must be a number of seconds in [0, {WAIT_MAX:g}]")


class InputPump:
    """Input on its way into a session, for the API server's bridges (kubectl exec's stdin, a port-forward's
    bytes): kept until the session takes it, sent again where it took less (the node waits for room
    first, so a command that does not read holds its input here), the end sent once all of it went.

    `add` returns at once; `room` is clear while more than `backlog` bytes wait, so a reader of the
    client can stop reading and let TCP hold the rest. `run` sends with `send(chunk, last)`, which
    returns how many bytes the session accepted."""

    def __init__(self, backlog: int, send: Callable[[bytes, bool], Awaitable[int]], *, send_eof: bool = True) -> None:
        self.data = bytearray()
        self.backlog, self.send, self.send_eof = backlog, send, send_eof
        self.eof = False
        self.room = asyncio.Event()
        self.room.set()
        self._wake = asyncio.Event()

    def add(self, data: bytes = b"", eof: bool = False) -> None:
        self.data += data
        self.eof = self.eof or eof
        if len(self.data) > self.backlog:
            self.room.clear()
        self._wake.set()

    async def run(self) -> None:
        """Until the end of the input has been sent (forever when there is no end to send)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self.data or (self.eof and self.send_eof):
                chunk = bytes(self.data[:INPUT_MAX])
                last = self.eof and self.send_eof and len(chunk) == len(self.data)
                accepted = await self.send(chunk, last)
                del self.data[:accepted]
                if len(self.data) <= self.backlog:
                    self.room.set()
                if last and accepted == len(chunk):
                    return
                if accepted < len(chunk):
                    await asyncio.sleep(0.05)  # the node already waited a moment for room: again, gently
