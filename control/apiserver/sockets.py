"""The API server's two sockets when libzmq serves them (CURVE, ipc://, or KUBE_TUI_SERVER_SOCKET=libzmq).

They offer what control/zmtp_server.py's Router and XPub offer, so the server and the watch hub do not
care which is underneath: send() that never blocks, and subscriptions handed to a function as they come.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import zmq
import zmq.asyncio

from control import wire

log = logging.getLogger("kube_tui.apiserver")

OnSubscription = Callable[[str | None, bytes, bool], bool]


class ZmqRouter:
    """A libzmq ROUTER read by a wire.Inbox: requests to on_message([routing id, *frames])."""

    paused = False

    def __init__(self, sock: zmq.Socket, on_message: Callable[[list[bytes]], None], *, batch: int, name: str) -> None:
        self.sock = sock
        self.address = sock.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.dropped = 0
        self._inbox = wire.Inbox(sock, on_message, batch=batch, name=name)

    def send(self, frames: list[bytes]) -> bool:
        try:
            wire.send_now(self.sock, frames, self._inbox)
            return True
        except zmq.ZMQError as e:  # peer gone or its queue full: it will time out and retry
            self.dropped += 1
            log.debug("could not answer %r: %s", frames[0], e)
            return False

    def pause_reading(self) -> None:
        """Nothing to do: the Inbox reads a batch per turn of the loop and RCVHWM bounds the rest."""

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        self._inbox.close()
        self.sock.close(linger=0)

    async def wait_closed(self) -> None:
        pass


class ZmqXPub:
    """A libzmq XPUB: send() drops rather than blocks; subscriptions (with the ZAP handler's User-Id)
    go to on_subscription, and with XPUB_MANUAL (`manual`) take effect only if it says so."""

    def __init__(self, sock: zmq.asyncio.Socket, *, manual: bool,
                 on_subscription: OnSubscription | None = None) -> None:
        self.sock = sock
        self.sender = zmq.Socket.shadow(sock.underlying)  # a sync view: publishing needs no Future
        self.manual = manual
        self.on_subscription: OnSubscription = on_subscription or (lambda _u, _t, _on: True)
        self.address = sock.getsockopt(zmq.LAST_ENDPOINT).decode()
        self.sent = 0
        self.dropped = 0

    def send(self, frames: list[bytes]) -> int:
        try:
            self.sender.send_multipart(frames, flags=zmq.NOBLOCK)
        except zmq.Again:  # PUB never blocks: a slow subscriber loses messages and recovers by relisting
            self.dropped += 1
            return 0
        if getattr(self.sock, "_recv_futures", None):  # see wire.Inbox: a send may swallow run()'s wake-up
            self.sock._schedule_remaining_events()
        self.sent += 1
        return 1

    def refresh(self) -> None:
        """Take in the subscriptions libzmq has queued (asked before each commit is published)."""
        while True:
            # Checking first is much cheaper than a recv that fails.
            if not self.sender.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                return
            try:  # the sync view: a NOBLOCK recv on the asyncio socket would return a Future
                frame = self.sender.recv(flags=zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            msg = frame.bytes
            if not msg or msg[0] not in (0, 1):
                continue
            topic, on = bytes(msg[1:]), msg[0] == 1
            try:
                user: str | None = frame.get("User-Id")
            except zmq.ZMQError:  # no metadata: libzmq's own cancellation when a subscriber goes away
                user = None
            if self.on_subscription(user, topic, on) and self.manual and user is not None:
                self.sender.setsockopt(zmq.SUBSCRIBE if on else zmq.UNSUBSCRIBE, topic)

    async def run(self) -> None:
        """Read subscriptions as they come."""
        poller = zmq.asyncio.Poller()
        poller.register(self.sock, zmq.POLLIN)
        while True:
            await poller.poll()
            try:
                self.refresh()
            except Exception:  # the watch must outlive one bad message
                log.exception("watch: subscription handling failed")

    def close(self) -> None:
        self.sock.close(linger=0)

    async def wait_closed(self) -> None:
        pass
