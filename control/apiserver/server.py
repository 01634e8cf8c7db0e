"""The API server process side: ROUTER for requests, XPUB for watch events, one task per request.

Both sockets are served on the event loop by control/zmtp_server.py (one thread, one wake-up per
request) unless CURVE is on, an address is not tcp://, or KUBE_TUI_SERVER_SOCKET=libzmq: then libzmq's
sockets (sockets.py) do the same job behind the same interface.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import zmq
import zmq.asyncio

from control import errors, wire, zmtp_server
from control.apiserver import authz, serviceaccount
from control.apiserver.auth import Credentials
from control.apiserver.handlers import AGENT, WARNINGS, Api, set_request_options
from control.apiserver.identity import MASTERS, groups_of, impersonate
from control.apiserver.kubelet_proxy import KubeletProxy
from control.apiserver.sockets import ZmqRouter, ZmqXPub
from control.apiserver.watch import WatchHub
from control.apiserver.zap import API_DOMAIN, PLAIN_MAX, WATCH_DOMAIN, ZapHandler
from control.errors import ApiError
from control.faults import Faults
from control.store import Store

log = logging.getLogger("kube_tui.apiserver")

DRAIN_BATCH = 256  # requests read in one go before the admitted ones get to run (libzmq's ROUTER)
# Bytes waiting to go to one client before more is dropped (libzmq's SNDHWM counts messages instead):
# a watcher that stopped reading loses events and relists; a requester that stopped reading times out.
WATCH_BACKLOG = 128 * 1024 * 1024
ANSWER_BACKLOG = 256 * 1024 * 1024
MAX_IN_FLIGHT = 4096  # requests being served at once: past this no more are read until half are done
# "libzmq" serves requests and watches with libzmq's sockets even where control/zmtp_server.py could.
SERVER_SOCKET = os.environ.get("KUBE_TUI_SERVER_SOCKET", "zmtp")
HARD_FRAME_LIMIT = 64 * 1024 * 1024  # past this the peer is dropped (libzmq's MAXMSGSIZE, or ours); below it, 413


def watch_address_for(listen: str) -> str:
    """The XPUB endpoint next to a request endpoint: port + 1 for tcp, "<path>.watch" for ipc."""
    if listen.startswith("tcp://"):
        host, _, port = listen[6:].rpartition(":")
        if port in ("*", "0"):
            return f"tcp://{host}:*"
        return f"tcp://{host}:{int(port) + 1}"
    if listen.startswith("ipc://"):
        return listen + ".watch"
    raise ValueError(f"unsupported address {listen!r}: use tcp://HOST:PORT or ipc://PATH")


class ApiServer:
    """Binds the sockets, authenticates and dispatches requests, publishes the store's changes."""

    def __init__(
        self,
        store: Store,
        listen: str = "tcp://127.0.0.1:7070",
        *,
        watch_listen: str | None = None,
        credentials: Credentials | None = None,
        bookmark_interval: float = 1.0,
        faults: Faults | None = None,
        max_frame: int = wire.MAX_FRAME,
        event_ttl: int = 3600,
        timings: dict[str, Any] | None = None,
        ctx: zmq.asyncio.Context | None = None,
        curve_keys: tuple[str, str] | None = None,
        watch_auth: bool = True,
        network: Any = None,  # control.apiserver.ranges.Requested: the ranges a new cluster is created with
        token_issuer: serviceaccount.TokenIssuer | None = None,
    ) -> None:
        self.store = store
        self.token_issuer = token_issuer or serviceaccount.TokenIssuer.load(None)
        self.network = network
        self.listen = listen
        self.watch_listen = watch_listen or watch_address_for(listen)
        self.credentials = credentials or Credentials.load(None)
        self.max_frame = max_frame
        # A context of our own: the ZAP handler is per context, and a test may run several servers.
        self._own_ctx = ctx is None
        self.ctx = ctx or zmq.asyncio.Context()
        self.curve_keys = curve_keys  # (public, secret) z85: CURVE on both sockets, clients need the public key
        self.server_key = curve_keys[0] if curve_keys else None
        # who is behind a watch connection: PLAIN with the credential in the clear (loopback), or CURVE
        self.watch_auth = "curve" if curve_keys else ("plain" if watch_auth else "none")
        self.zap: ZapHandler | None = None
        self.server_id = uuid.uuid4().hex[:12]
        # Both sockets on the event loop where our ZMTP can serve them, else libzmq's (see start()).
        self.on_loop = (SERVER_SOCKET != "libzmq" and not curve_keys and zmtp_server.binds(self.listen)
                        and zmtp_server.binds(self.watch_listen))
        self.requests: zmtp_server.Router | ZmqRouter | None = None
        self.xpub: zmtp_server.XPub | ZmqXPub | None = None
        self._early: list[list[bytes]] | None = []  # requests that came while bootstrapping
        self.bookmark_interval = bookmark_interval
        self.faults = faults
        self.event_ttl = event_ttl
        self.timings = timings
        self.address = listen
        self.watch_address = self.watch_listen
        self.hub: WatchHub | None = None
        self.api: Api | None = None
        # A joined node's kubelet holds its node credential; a pool of simulated nodes holds the admin's.
        self.kubelets = KubeletProxy(self.ctx, lambda node: self.credentials.nodes.get(node) or self.credentials.admin,
                                     curve=bool(curve_keys))
        self.stats: Counter[str] = Counter()
        self.request_observers: list[Callable[[str, dict, int, float], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loops: list[asyncio.Task[Any]] = []
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        if self.curve_keys or self.watch_auth != "none":
            self.zap = ZapHandler(self.ctx, self.credentials, self.authenticate)
        if self.on_loop:
            await self._open_zmtp()
        else:
            await self._open_libzmq()
        assert self.requests is not None and self.xpub is not None
        self.address = self.requests.address
        self.watch_address = self.xpub.address
        self.hub = WatchHub(
            self.xpub,
            bookmark_interval=self.bookmark_interval,
            faults=self.faults,
            revision=lambda: self.store.revision,
            may_watch=None if self.watch_auth == "none" else (lambda user, topic: authz.may_watch(user, topic, self.api)),
        )
        self.xpub.on_subscription = self.hub.subscription
        self.api = Api(
            self.store,
            self.hub,
            server_id=self.server_id,
            watch_address=self.watch_address,
            event_ttl=self.event_ttl,
            timings=self.timings,
            logs_proxy=self.kubelets.logs,
            exec_proxy=self.kubelets.exec,
            portforward_proxy=self.kubelets.port_forward,
            watch_auth=self.watch_auth,
            network=self.network,
            token_issuer=self.token_issuer,
        )
        self._unsubscribe = self.store.subscribe(self.hub.on_commit)
        token = WARNINGS.set([])
        agent = AGENT.set("kube-apiserver")
        try:
            await self.api.bootstrap()
        except BaseException:  # a range refused, a store that fails: nothing stays bound behind the error
            await self.stop()
            raise
        finally:
            WARNINGS.reset(token)
            AGENT.reset(agent)
        self._loops = [asyncio.create_task(self.hub.run(), name="watch")]
        if isinstance(self.xpub, ZmqXPub):
            self._loops.append(asyncio.create_task(self.xpub.run(), name="subscriptions"))
        early, self._early = self._early, None
        for frames in early or ():
            self._dispatch(frames)
        log.info("API server %s listening on %s (watch %s)", self.server_id, self.address, self.watch_address)

    async def _open_zmtp(self) -> None:
        """Both sockets on the event loop (control/zmtp_server.py)."""
        zap = self.zap
        authenticate = None
        if self.watch_auth == "plain":
            assert zap is not None
            authenticate = lambda user, password: zap.check(WATCH_DOMAIN, b"PLAIN", [user, password])  # noqa: E731
        self.requests = zmtp_server.Router(self.listen, self._dispatch, max_message=HARD_FRAME_LIMIT,
                                           max_buffer=ANSWER_BACKLOG, name="apiserver")
        self.xpub = zmtp_server.XPub(self.watch_listen, authenticate=authenticate, max_buffer=WATCH_BACKLOG,
                                     name="apiserver-watch")
        try:
            await self.requests.start()
            await self.xpub.start()
        except OSError as e:
            self.requests.close()
            self.xpub.close()
            raise OSError(f"cannot listen on {self.listen} / {self.watch_listen}: {e}") from e

    async def _open_libzmq(self) -> None:
        """Both sockets in libzmq: CURVE, ipc://, or KUBE_TUI_SERVER_SOCKET=libzmq."""
        if self.zap is not None:
            self.zap.start()
        router = zmq.Socket(self.ctx, zmq.ROUTER)  # a plain socket read by an Inbox: no Future per request
        router.setsockopt(zmq.LINGER, 0)
        router.setsockopt(zmq.MAXMSGSIZE, HARD_FRAME_LIMIT)
        router.setsockopt(zmq.ROUTER_HANDOVER, 1)
        router.setsockopt(zmq.RCVHWM, 100_000)
        router.setsockopt(zmq.SNDHWM, 100_000)
        xpub = self.ctx.socket(zmq.XPUB)
        xpub.setsockopt(zmq.LINGER, 0)
        xpub.setsockopt(zmq.SNDHWM, 200_000)
        if self.watch_auth == "none":
            xpub.setsockopt(zmq.XPUB_VERBOSER, 1)
        else:
            xpub.setsockopt(zmq.XPUB_MANUAL, 1)  # we apply each subscription after authorizing it
            xpub.setsockopt(zmq.ZAP_DOMAIN, WATCH_DOMAIN)
        if self.curve_keys:
            for sock, domain in ((router, API_DOMAIN), (xpub, WATCH_DOMAIN)):
                sock.setsockopt(zmq.CURVE_SECRETKEY, self.curve_keys[1].encode())
                sock.setsockopt(zmq.CURVE_SERVER, 1)
                sock.setsockopt(zmq.ZAP_DOMAIN, domain)
        elif self.watch_auth == "plain":
            xpub.setsockopt(zmq.PLAIN_SERVER, 1)
        try:
            router.bind(self.listen)
            xpub.bind(self.watch_listen)
        except zmq.ZMQError as e:
            router.close()
            xpub.close()
            if self.zap is not None:
                await self.zap.stop()
            raise OSError(f"cannot listen on {self.listen} / {self.watch_listen}: {e}") from e
        self.requests = ZmqRouter(router, self._dispatch, batch=DRAIN_BATCH, name="apiserver")
        self.xpub = ZmqXPub(xpub, manual=self.watch_auth != "none")

    async def stop(self) -> None:
        if self.requests is not None:
            self.requests.close()
        for t in self._loops:
            t.cancel()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._loops, *self._tasks, return_exceptions=True)
        if self._unsubscribe:
            self._unsubscribe()
        await self.kubelets.close()
        if self.xpub is not None:
            self.xpub.close()
        for s in (self.requests, self.xpub):
            if s is not None:
                await s.wait_closed()
        if self.zap is not None:
            await self.zap.stop()
        if self._own_ctx:
            self.ctx.destroy(linger=0)  # closes anything still open (a logs call cut short) instead of hanging

    def _dispatch(self, frames: list[bytes]) -> None:
        if self._early is not None:  # bound, still bootstrapping: answered once it is done
            self._early.append(frames)
            return
        ident, payload = frames[0], frames[-1]
        started = time.perf_counter()
        if len(frames) != 2:
            self.stats["malformed"] += 1
            self._reply_now(ident, wire.error_response(0, errors.bad_request(f"malformed request: expected 1 frame, got {len(frames) - 1}")))
            return
        admitted = self._admit(ident, payload, started)
        if admitted is None:
            return
        # The task takes itself out of _tasks when it ends (see _handle): a done callback would cost
        # every request another turn of the loop.
        self._tasks.add(asyncio.create_task(self._handle(ident, *admitted, started)))
        if len(self._tasks) >= MAX_IN_FLIGHT:
            assert self.requests is not None
            self.requests.pause_reading()  # resumed by _handle when half of them are done

    def _reply_now(self, ident: bytes, frame: bytes) -> None:
        assert self.requests is not None
        if not self.requests.send([ident, frame]):  # peer gone or too far behind: it times out and retries
            self.stats["reply_dropped"] += 1

    def _admit(self, ident: bytes, payload: bytes, started: float) -> tuple[dict, str] | None:
        """Parse and authenticate synchronously: garbage and strangers are answered here, without a task."""
        req_id = 0
        verb = "?"
        body: dict = {}
        try:
            if len(payload) > self.max_frame:
                self.stats["oversized"] += 1
                raise ApiError(
                    413,
                    "RequestEntityTooLarge",
                    f"Request entity too large: limit is {self.max_frame} bytes, got {len(payload)}",
                )
            try:
                msg = wire.parse_request(payload, limit=self.max_frame)
            except wire.FrameError as e:
                self.stats["malformed"] += 1
                req_id = e.req_id
                raise
            req_id, verb, body = msg["id"], msg["verb"], msg["body"]
            assert self.api is not None
            if verb not in self.api.verbs:
                raise errors.bad_request(f'unknown verb "{verb}": use one of {", ".join(sorted(self.api.verbs))}')
            user = self.authenticate(msg.get("token"))
            imp = msg.get("as")
            if imp:  # kube-tui --as USER --as-group G: as the REST API's Impersonate-User (identity.py)
                user = impersonate(user, imp.get("user"), list(imp.get("groups") or []),
                                   authz.impersonator(user, self.api))
            return msg, user
        except Exception as e:  # one bad request must never take the server down
            code, frame = self._error(req_id, e, f"admitting {verb}")
        if code == 401:
            self.stats["unauthorized"] += 1
        self._finish(ident, verb if isinstance(verb, str) else "?", body, code, frame, started)
        return None

    def authenticate(self, token: str | None) -> str:
        """The user a bearer token belongs to, or 401: a ServiceAccount token of this cluster's issuer (checked
        as kube-apiserver's serviceaccount authenticator checks it), else one of the credentials (auth.py)."""
        if isinstance(token, str) and self.api is not None and self.token_issuer.is_ours(token):
            try:
                return self.token_issuer.authenticate(token, self.api.stored)
            except serviceaccount.TokenError as e:
                raise errors.unauthorized(str(e)) from None
        return self.credentials.authenticate(token)

    async def _handle(self, ident: bytes, msg: dict, user: str, started: float) -> None:
        req_id, verb, body = msg["id"], msg["verb"], msg["body"]
        WARNINGS.set([])
        AGENT.set(msg.get("agent") or "unknown")
        try:
            assert self.api is not None
            handler = self.api.verbs[verb]
            if verb == "hello" and isinstance(body.get("join"), dict):
                answer = await self._join(user, body["join"])
                code = 200
            else:
                authz.authorize(user, verb, body, self.api)
                set_request_options(verb, body)
                code, answer = await handler(body, user)
                token = msg.get("token")
                if (verb == "hello" and self.watch_auth == "plain" and self.zap is not None and isinstance(token, str)
                        and len(token.encode()) > PLAIN_MAX):
                    answer = {**answer, "watch_ticket": self.zap.ticket_for(token)}  # zap.py: watch tickets
            frame = wire.response(req_id, code, answer, WARNINGS.get())
            if len(frame) > wire.MAX_ANSWER:
                raise errors.internal(f"the answer is too large to send ({len(frame)} bytes): narrow the request with a selector or namespace")
        except Exception as e:  # one bad request must never take the server down
            code, frame = self._error(req_id, e, f"serving {verb}")
        finally:
            self._tasks.discard(asyncio.current_task())  # type: ignore[arg-type]
            if self.requests is not None and self.requests.paused and len(self._tasks) <= MAX_IN_FLIGHT // 2:
                self.requests.resume_reading()
        self._finish(ident, verb, body, code, frame, started)

    def _error(self, req_id: int, e: Exception, doing: str) -> tuple[int, bytes]:
        """The answer to a failed request: its Status, or a 500 for anything unexpected (logged)."""
        if isinstance(e, ApiError):
            return e.code, wire.error_response(req_id, e)
        log.exception("internal error %s", doing)
        return 500, wire.error_response(req_id, errors.internal(f"{type(e).__name__}: {e}"))

    def _finish(self, ident: bytes, verb: str, body: dict, code: int, frame: bytes, started: float) -> None:
        self.stats[verb] += 1
        self._reply_now(ident, frame)
        elapsed = time.perf_counter() - started
        for fn in self.request_observers:
            fn(verb, body, code, elapsed)

    async def _join(self, user: str, join: dict) -> dict:
        """A bootstrap token trades itself for a node credential (kubeadm's TLS bootstrap, in small)."""
        node = join.get("node")
        if not isinstance(node, str) or not node:
            raise errors.bad_request("join: field 'node' (the node's name) is required")
        if not (user.startswith("system:bootstrap:") or MASTERS in groups_of(user)):
            raise errors.forbidden(user, "join", "nodes", node, why="only a join token can join a node")
        assert self.api is not None
        hello = (await self.api.hello({}, f"system:node:{node}"))[1]
        hello["credential"] = self.credentials.node_credential(node)
        return hello


async def serve_forever(server: ApiServer, stop: asyncio.Event, *extra: Awaitable[Any]) -> None:
    await server.start()
    try:
        await stop.wait()
    finally:
        await server.stop()
