"""The ZAP handler (ZeroMQ's authentication protocol, RFC 27): who is behind each watch connection.

libzmq's sockets ask it over the ZAP socket; our own (control/zmtp_server.py) call check() directly.

The XPUB socket runs PLAIN (loopback: username "token", password = the credential; or username "ticket" and
the watch ticket hello gave for a bearer token too long for PLAIN, such as a ServiceAccount's JWT) or CURVE
(the client's key derived from its credential); this handler maps either to a user, which libzmq then attaches to every
message of that connection as the "User-Id" property, so the watch hub can authorize subscriptions.
Request connections (domain "api") are accepted here: each request carries its own token.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import Counter, OrderedDict
from collections.abc import Callable

import zmq
import zmq.asyncio

from control.apiserver.auth import Credentials
from control.errors import ApiError

log = logging.getLogger("kube_tui.apiserver.zap")

ZAP_ENDPOINT = "inproc://zeromq.zap.01"
API_DOMAIN = b"api"
WATCH_DOMAIN = b"watch"
PLAIN_MAX = 255  # bytes of a ZMTP PLAIN password
TICKETS = 4096  # watch tickets kept


class ZapHandler:
    """Answers libzmq's authentication requests for the API server's sockets (one per context)."""

    def __init__(self, ctx: zmq.asyncio.Context, credentials: Credentials,
                 authenticate: Callable[[str], str] | None = None) -> None:
        self.ctx = ctx
        self.credentials = credentials
        # a bearer token's user (the API server's: ServiceAccount tokens, then credentials); 401 ApiError if none
        self.authenticate = authenticate or credentials.authenticate
        # watch tickets: a short stand-in for each bearer token too long for a PLAIN password (255 bytes; a
        # ServiceAccount's JWT is longer), handed out by hello; the token itself is checked at every connection
        self._tickets: OrderedDict[str, str] = OrderedDict()  # ticket -> token
        self._ticket_of: dict[str, str] = {}  # token -> ticket
        self.stats: Counter[str] = Counter()
        self._sock: zmq.asyncio.Socket | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._sock = self.ctx.socket(zmq.ROUTER)
        self._sock.setsockopt(zmq.LINGER, 0)
        self._sock.bind(ZAP_ENDPOINT)
        self._task = asyncio.create_task(self._run(), name="zap")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._sock is not None:
            self._sock.close(linger=0)

    async def _run(self) -> None:
        assert self._sock is not None
        while True:
            frames = await self._sock.recv_multipart()
            try:
                reply = self.answer(frames)
            except Exception:  # never leave libzmq waiting: a handshake without an answer hangs
                log.exception("zap: could not decide")
                reply = None
            if reply is not None:
                await self._sock.send_multipart(reply)

    def ticket_for(self, token: str) -> str:
        """The watch ticket of a bearer token (the same one each time; the oldest are forgotten past TICKETS)."""
        ticket = self._ticket_of.get(token)
        if ticket is None:
            ticket = secrets.token_urlsafe(24)
            self._tickets[ticket], self._ticket_of[token] = token, ticket
            while len(self._tickets) > TICKETS:
                _, old = self._tickets.popitem(last=False)
                self._ticket_of.pop(old, None)
        return ticket

    def answer(self, frames: list[bytes]) -> list[bytes] | None:
        # [routing id, b"", version, request id, domain, address, identity, mechanism, *credentials]
        if len(frames) < 8:
            return None
        ident, _, version, request_id, domain, _address, _identity, mechanism, *creds = frames
        status, text, user = self.decide(domain, mechanism, creds)
        return [ident, b"", version, request_id, status, text, user.encode(), b""]

    def check(self, domain: bytes, mechanism: bytes, creds: list[bytes]) -> str | None:
        """The same decision for our own sockets (control/zmtp_server.py), asked directly: the user, or None."""
        status, _text, user = self.decide(domain, mechanism, creds)
        return user if status == b"200" else None

    def decide(self, domain: bytes, mechanism: bytes, creds: list[bytes]) -> tuple[bytes, bytes, str]:
        """(status, status text, user) for one connection, counted in `stats` by domain and status."""
        status, text, user = self._decide(domain, mechanism, creds)
        self.stats[f"{domain.decode(errors='replace')}:{status.decode()}"] += 1
        return status, text, user

    def _decide(self, domain: bytes, mechanism: bytes, creds: list[bytes]) -> tuple[bytes, bytes, str]:
        if domain != WATCH_DOMAIN:  # requests (domain "api") carry their own token, checked per request
            return b"200", b"OK", ""
        if mechanism == b"PLAIN" and len(creds) == 2 and creds[0] in (b"token", b"ticket"):
            given = creds[1].decode(errors="replace")
            token = given if creds[0] == b"token" else self._tickets.get(given)
            if token is None:
                return b"400", b"unknown watch ticket", ""
            try:
                return b"200", b"OK", self.authenticate(token)
            except ApiError:
                return b"400", b"invalid credential", ""
        if mechanism == b"CURVE" and len(creds) == 1:
            user = self.credentials.user_for_curve_key(creds[0])
            if user is not None:
                return b"200", b"OK", user
            return b"400", b"unknown client key", ""
        return b"400", b"unsupported mechanism", ""
