"""kubectl exec (and so kubectl cp) over WebSocket: kube-apiserver's remote command channel protocol,
bridged to an exec session on the pod's kubelet (the session `kube-tui exec` streams, see
control/api/remotecommand.py and nodes/remotecommand.py).

kubectl 1.30 and later open pods/exec as a WebSocket with the subprotocol v5.channel.k8s.io (or
v4.channel.k8s.io). Each binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 the
error channel (a Status when the command ends: Success, or Failure NonZeroExitCode carrying the exit
code, which kubectl exits with), 4 a terminal resize ({"Width", "Height"}); v5 adds 255: [255, 0] closes
stdin (the end of a piped input). The older SPDY upgrade is not served; but kubectl falls back to it when
the WebSocket upgrade is refused, so a SPDY request is checked as fully as a WebSocket one first, and only a
request that would have been served is told that SPDY is not.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import WSMsgType, web

from control.api import remotecommand
from control.errors import ApiError

log = logging.getLogger("kube_tui.apiserver.rest")

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
POLL_WAIT = 1.0  # seconds one read of the session waits for output
STREAMS_SETTLE = 0.05  # seconds between the upgrade and the first frame (see serve)
# bytes of stdin held for a command that does not read: more and the socket waits (kube-apiserver's read
# loop blocks the same way; kubectl gives up after 61 s without a pong)
INPUT_BACKLOG = 4 << 20
HEARTBEAT = 15.0  # seconds between our pings: a client that vanished is noticed even when nothing flows

Call = Callable[[str, dict], Awaitable[tuple[int, Any]]]


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1")


def exit_status(code: int, command: list[str]) -> dict:
    """What the error channel carries when the command has ended, as the kubelet's remote command server
    writes it: kubectl reads the ExitCode cause and exits with it."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
            "message": f"command terminated with non-zero exit code: error executing command {command}, exit code {code}",
            "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}}


async def serve(request: web.Request, call: Call, namespace: str, name: str, *, attach: bool = False,
                ) -> web.StreamResponse:
    """pods/exec, or with `attach` pods/attach (kubectl attach, kubectl run -it): the same channels, joined
    to the container's own stdio instead of a new command's."""
    what = "attach" if attach else "exec"
    command = request.query.getall("command", [])
    stdin, tty = _flag(request, "stdin"), _flag(request, "tty")
    body: dict[str, Any] = {"name": name, "namespace": namespace, "stream": True, "stdin": stdin, "tty": tty}
    if attach:
        body["attach"] = True
    else:
        body["command"] = command
    if request.query.get("container"):
        body["container"] = request.query["container"]
    try:
        if request.headers.get("Upgrade", "").lower() != "websocket":
            # kubectl's fallback after a refused WebSocket upgrade: the real reason, if there is one, is what
            # it must print, not the protocol
            await call("exec", dict(body, check=True))
            raise ApiError(400, "BadRequest", f"{what} over SPDY is not served by kube-tui: kubectl 1.30 and "
                           "later use WebSocket (v5.channel.k8s.io) unless KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false; or use "
                           "`kube-tui exec [-it] POD -- COMMAND`")
        # refused before the upgrade: kubectl prints the Status. A client that hangs up meanwhile must not
        # leave the command to the node's idle timeout: the open is shielded and what it opened closed.
        opening = asyncio.ensure_future(call("exec", body))
        try:
            _, opened = await asyncio.shield(opening)
        except asyncio.CancelledError:
            opening.add_done_callback(lambda f: _close_late(f, call, namespace, name))
            raise
    except ApiError as e:
        if e.message.startswith(remotecommand.UPGRADE_FAILED):
            # the kubelet's plain-text refusal, passed through as kube-apiserver passes it: kubectl says
            # "unable to upgrade connection: container not found (...)" with it
            return web.Response(status=e.code, text=e.message.removeprefix(remotecommand.UPGRADE_FAILED))
        raise
    ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=remotecommand.INPUT_MAX + 1, heartbeat=HEARTBEAT)
    await ws.prepare(request)
    # client-go before kubernetes#131203 starts reading the socket before it has made its stdout and stderr
    # streams, and drops a frame that comes for a stream not made yet: kubectl 1.30 then printed nothing of
    # a command as quick as `echo out; exit 3` (seen once under load). A moment for it to make them first.
    await asyncio.sleep(STREAMS_SETTLE)
    if "session" not in opened:  # the command could not start: what the node said, and its code
        await _finish(ws, opened, command)
        return ws
    # An attach ends with the container, whose exit code is the pod's to tell (kubectl run reads it
    # there): the stream itself ended well, as the kubelet's attach reports it.
    await Bridge(ws, call, namespace, name, opened["session"], command, tty, report_code=not attach).run()
    return ws


def _close_late(opening: asyncio.Future, call: Call, namespace: str, name: str) -> None:
    if opening.cancelled() or opening.exception() is not None:
        return
    answer = opening.result()[1]
    if isinstance(answer, dict) and "session" in answer:
        close = call("exec", {"name": name, "namespace": namespace, "session": answer["session"], "close": True})
        _background.add(task := asyncio.ensure_future(close))
        task.add_done_callback(_background.discard)


_background: set[asyncio.Future] = set()


async def _finish(ws: web.WebSocketResponse, answer: dict, command: list[str]) -> None:
    for channel, data in ((STDOUT, answer.get("output")), (STDERR, answer.get("error"))):
        if data:
            await ws.send_bytes(bytes([channel]) + (data if isinstance(data, bytes) else str(data).encode()))
    await ws.send_bytes(bytes([ERROR]) + json.dumps(exit_status(int(answer.get("exitCode") or 0), command)).encode())
    await ws.close()


class Bridge:
    """One exec: the socket's stdin and resizes go to the session, its output comes back, until it exits
    (then its status) or the client hangs up (then the command is killed, as when kubectl is)."""

    def __init__(self, ws: web.WebSocketResponse, call: Call, namespace: str, name: str, session: str,
                 command: list[str], tty: bool, *, report_code: bool = True) -> None:
        self.ws, self.call, self.command, self.tty, self.report_code = ws, call, command, tty, report_code
        self.ident = {"name": name, "namespace": namespace, "session": session}
        # with a tty, the end of input is a ^D the terminal sends, not an end of the stream
        self.stdin = remotecommand.InputPump(INPUT_BACKLOG, self._send_input, send_eof=not tty)
        self.resizes: set[asyncio.Future] = set()

    async def _stream(self, **fields: Any) -> dict:
        return (await self.call("exec", dict(self.ident, **fields)))[1]  # type: ignore[no-any-return]

    async def run(self) -> None:
        receiver, reader = asyncio.ensure_future(self._receive()), asyncio.ensure_future(self._read_output())
        sender = asyncio.ensure_future(self.stdin.run())
        tasks = [receiver, reader, sender, asyncio.ensure_future(self._keepalive())]
        finished = False
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            while done == {sender} and sender.exception() is None:  # all of stdin went: the command goes on
                tasks.remove(sender)
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finished = reader in done and reader.exception() is None
            failed = next((t.exception() for t in done if t.exception() is not None), None)
            if failed is not None and not isinstance(failed, ApiError | ConnectionResetError):
                log.error("exec over WebSocket failed", exc_info=failed)
            if not finished and receiver not in done and not self.ws.closed:
                # the node or the session failed, not the client: never let kubectl take it for success
                why = failed.message if isinstance(failed, ApiError) else "the exec session ended unexpectedly"
                with contextlib.suppress(ConnectionResetError):
                    await self.ws.send_bytes(bytes([ERROR]) + json.dumps(
                        {"metadata": {}, "status": "Failure", "reason": "InternalError", "message": why}).encode())
        finally:
            for t in [*tasks, *self.resizes]:
                t.cancel()
            await asyncio.gather(*tasks, *self.resizes, return_exceptions=True)
            if not finished:  # the client went away (or the node failed): the command must not linger
                with contextlib.suppress(ApiError, asyncio.CancelledError):
                    await asyncio.shield(self._stream(close=True))  # even when the server is stopping
            if not self.ws.closed:
                await self.ws.close()

    async def _keepalive(self) -> None:
        """The node closes a session nobody asks about for 60 s: while kubectl is slow to read, the output
        loop waits on the socket, so ask now and then (as Client.keep_session does for kube-tui exec).
        Ends when the client is gone (the heartbeat found no pong, or the connection closed)."""
        while not self.ws.closed:
            await asyncio.sleep(remotecommand.KEEPALIVE)
            await self._stream()

    async def _receive(self) -> None:
        """Messages from kubectl: stdin bytes, resizes, the end of stdin."""
        async for msg in self.ws:
            if msg.type != WSMsgType.BINARY or not msg.data:
                continue
            channel, data = msg.data[0], msg.data[1:]
            if channel == STDIN and data:
                await self.stdin.room.wait()  # the command is behind: TCP holds the rest
                self.stdin.add(data)
            elif channel == RESIZE:
                with contextlib.suppress(ValueError, TypeError, KeyError):
                    size = json.loads(data)
                    rows, cols = size["Height"], size["Width"]
                    if all(isinstance(v, int) and 0 < v <= remotecommand.SIZE_MAX for v in (rows, cols)):
                        self.resizes.add(task := asyncio.ensure_future(self._stream(resize=[rows, cols])))
                        task.add_done_callback(self._resized)
            elif channel == CLOSE and data[:1] == bytes([STDIN]):
                self.stdin.add(eof=True)
        # the client closed the socket: _run sees this task end and closes the session

    def _resized(self, task: asyncio.Future) -> None:
        self.resizes.discard(task)
        if not task.cancelled():
            task.exception()  # a resize the session no longer takes is no error of the exec's

    async def _send_input(self, chunk: bytes, last: bool) -> int:
        fields: dict[str, Any] = {"input": chunk} if chunk else {}
        if last:
            fields["eof"] = True
        answer = await self._stream(**fields)
        return int(answer.get("accepted", len(chunk)))

    async def _read_output(self) -> None:
        while True:
            answer = await self._stream(read=True, wait=POLL_WAIT)
            for channel, data in ((STDOUT, answer.get("output")), (STDERR, answer.get("error"))):
                if data:
                    await self.ws.send_bytes(bytes([channel]) + data)
            if answer.get("exitCode") is not None:
                status = exit_status(int(answer["exitCode"]) if self.report_code else 0, self.command)
                await self.ws.send_bytes(bytes([ERROR]) + json.dumps(status).encode())
                return
