"""The one client library every component uses: requests over DEALER, watch topics over SUB, reconnects."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import zmq
import zmq.asyncio

from control import curve, errors, wire, zmtp
from control.api import kinds, remotecommand
from control.api.meta import LAST_APPLIED_ANNOTATION
from control.api.patch import last_applied, three_way_merge_patch, with_last_applied
from control.errors import ApiError, CreateRefused

log = logging.getLogger("kube_tui.client")

IDEMPOTENT = ("hello", "discovery", "get", "list", "range", "logs")

# Watch topics and requests go through control/zmtp.py on the event loop (one thread wake-up per message
# instead of libzmq's two) unless CURVE is on or these say "libzmq".
WATCH_SOCKET = os.environ.get("KUBE_TUI_WATCH_SOCKET", "zmtp")
REQUEST_SOCKET = os.environ.get("KUBE_TUI_REQUEST_SOCKET", "zmtp")


def _shut(endpoint: zmtp.Subscriber | zmtp.Dealer | None, inbox: wire.Inbox | None, sock: zmq.Socket | None) -> None:
    """Close one channel to the server, whichever way it was open: our ZMTP end, or a libzmq socket and its reader."""
    if endpoint is not None:
        endpoint.close()
    if inbox is not None:
        inbox.close()  # before its socket
    if sock is not None:
        sock.close(linger=0)



def _write_options(body: dict[str, Any], dry_run: bool, field_validation: str | None) -> None:
    """A write's options as kube-apiserver names them: dryRun=All (admitted in full, nothing stored) and
    fieldValidation (Strict, Warn or Ignore: what is done with fields the schema does not have)."""
    if dry_run:
        body["dryRun"] = ["All"]
    if field_validation:
        body["fieldValidation"] = field_validation

class Client:
    """Async API client. Reads are retried across API server restarts; writes raise 503/504 to the caller."""

    def __init__(
        self,
        server: str,
        *,
        token: str | None = None,
        timeout: float = 5.0,
        retry_for: float = 30.0,
        identity: str = "client",
        join_node: str | None = None,
        ctx: zmq.asyncio.Context | None = None,
        max_frame: int = wire.MAX_FRAME,
        server_key: str | None = None,
        impersonate: dict | None = None,
    ) -> None:
        self.server = server
        self.impersonate = impersonate  # {"user", "groups"}: act as another user (kube-tui --as), if allowed
        self.server_key = server_key  # the API server's CURVE public key (z85): encrypt and authenticate it
        self.token = token
        self.timeout = timeout
        self.retry_for = retry_for
        self.identity = identity
        self.join_node = join_node
        self.ctx = ctx or zmq.asyncio.Context.instance()
        self.max_frame = max_frame
        self.server_id: str | None = None
        self.watch_address: str | None = None
        self.user: str | None = None
        self.hello: dict[str, Any] = {}  # the last hello answer (server id, watch address, cluster timings)
        self.last_warnings: list[str] = []
        self.malformed_events = 0
        self.reconnects = 0
        # time.monotonic() when a request found the API server not answering, until a hello succeeds again:
        # what a dashboard shows while the server is gone (its watch just falls silent)
        self.unreachable_since: float | None = None
        self.on_server_change: list[Callable[[str], None]] = []
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict]] = {}
        # request id -> (the Dealer connection it was written on, its verb): failed at once if that is lost
        self._written: dict[int, tuple[int, str]] = {}
        # Plain (not asyncio) sockets, each read by an Inbox: no Future or task wake-up per message.
        self._dealer: zmq.Socket | None = None
        self._requests: zmtp.Dealer | None = None  # instead of _dealer, where it can
        self._sub: zmq.Socket | None = None
        self._subscriber: zmtp.Subscriber | None = None  # instead of _sub, where it can
        self._topics: dict[bytes, list[Callable[[dict], None]]] = {}
        self._live: set[bytes] = set()  # subscribed topics a message has come on: the server has them
        self._responses: wire.Inbox | None = None
        self._events: wire.Inbox | None = None
        self._reconnecting: asyncio.Lock | None = None
        self._closed = False

    # -- connection ----------------------------------------------------------------------------
    def _open_dealer(self) -> None:
        self._close_dealer()
        if REQUEST_SOCKET != "libzmq" and not self.server_key and zmtp.speaks(self.server):
            self._requests = zmtp.Dealer(self.server, self._on_response_frames, max_message=wire.MAX_ANSWER,
                                         name=f"{self.identity}-requests", on_lost=self._connection_lost)
            return
        sock = zmq.Socket(self.ctx, zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 100_000)
        sock.setsockopt(zmq.RCVHWM, 100_000)
        sock.setsockopt(zmq.RECONNECT_IVL, 50)
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        # A connection whose peer stopped answering PINGs is dropped and made again (a half-open one).
        sock.setsockopt(zmq.HEARTBEAT_IVL, 1000)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, max(1000, int(self.timeout * 1000)))
        if self.server_key:
            # Requests carry their token, so an ephemeral client key is enough here.
            pub, sec = curve.client_keypair(None)
            self._set_curve(sock, pub, sec)
        sock.connect(self.server)
        self._dealer = sock
        self._responses = wire.Inbox(sock, self._on_response_frames, name=f"{self.identity}-responses")

    def _renew_dealer(self) -> None:
        """After a request went unanswered. Either DEALER reconnects by itself and keeps the answers of
        the other requests coming: replacing it would drop them, and each would time out in turn. Ours
        drops a connection that has been silent for a whole timeout (a server host gone without a word);
        libzmq's notices that by its heartbeat (ZMTP 3.1 PING)."""
        if self._requests is not None and self._requests.running:
            self._requests.drop_if_silent(self.timeout)
            return
        if self._dealer is None:
            self._open_dealer()

    def _connection_lost(self, number: int) -> None:
        """The Dealer's connection `number` is gone: what was written on it will not be answered. Fail
        those requests now rather than at their timeout (the server was killed, say)."""
        for req_id, (conn, verb) in list(self._written.items()):
            fut = self._pending.get(req_id)
            if conn == number and fut is not None and not fut.done():
                fut.set_exception(errors.unavailable(
                    f"the API server at {self.server} did not answer {verb}: the connection was lost"))

    def _close_dealer(self) -> None:
        _shut(self._requests, self._responses, self._dealer)
        self._requests, self._responses, self._dealer = None, None, None

    async def connect(self, timeout: float | None = None) -> dict:
        """Say hello (joining as a node if asked); waits up to `timeout` (default retry_for) for the server."""
        if self._reconnecting is None:
            self._reconnecting = asyncio.Lock()
        if self._dealer is None and self._requests is None:
            self._open_dealer()
        deadline = time.monotonic() + (self.retry_for if timeout is None else timeout)
        while True:
            try:
                return await self._hello()
            except ApiError as e:
                if e.code not in (503, 504) or time.monotonic() > deadline:
                    raise
                self._renew_dealer()
                await asyncio.sleep(0.1)

    async def _hello(self) -> dict:
        body: dict[str, Any] = {"join": {"node": self.join_node}} if self.join_node and not self.user else {}
        hello = await self._request_once("hello", body, min(self.timeout, 2.0))
        self.hello = hello
        if "credential" in hello:
            self.token = hello["credential"]
        self.user = hello.get("user")
        self.unreachable_since = None
        old = self.server_id
        self.server_id = hello["server_id"]
        if self.watch_address != hello["watch"]:
            self.watch_address = hello["watch"]
            self._open_sub()
        if old is not None and old != self.server_id:
            log.info("%s: API server changed (%s -> %s)", self.identity, old, self.server_id)
            for fn in list(self.on_server_change):
                fn(self.server_id)
        return hello

    async def _reconnect(self) -> None:
        assert self._reconnecting is not None
        if self._reconnecting.locked():
            async with self._reconnecting:
                return
        async with self._reconnecting:
            self.reconnects += 1
            if self.unreachable_since is None:
                self.unreachable_since = time.monotonic()
            self._renew_dealer()
            deadline = time.monotonic() + self.retry_for
            while not self._closed:
                try:
                    await self._hello()
                    return
                except ApiError as e:
                    if e.code not in (503, 504) or time.monotonic() > deadline:
                        raise
                    self._renew_dealer()
                    await asyncio.sleep(0.2)

    def _on_response_frames(self, frames: list[bytes]) -> None:
        self._on_response(frames[-1])

    def _on_response(self, frame: bytes) -> None:
        try:
            msg = wire.unpack(frame, limit=wire.MAX_ANSWER)
        except wire.FrameError:
            log.warning("%s: dropped a malformed response frame", self.identity)
            return
        if not isinstance(msg, dict):
            return
        fut = self._pending.pop(msg.get("id", -1), None)
        if fut is not None and not fut.done():
            fut.set_result(msg)

    # -- requests -------------------------------------------------------------------------------
    async def _request_once(self, verb: str, body: dict, timeout: float) -> dict:
        if self._dealer is None and self._requests is None:
            self._open_dealer()
        req_id = next(self._ids)
        frame = wire.request(req_id, verb, body, self.token, self.identity, self.impersonate)
        if len(frame) > self.max_frame:
            raise ApiError(413, "RequestEntityTooLarge", f"Request entity too large: limit is {self.max_frame} bytes, got {len(frame)}")
        fut: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        try:
            async with asyncio.timeout(timeout):
                try:
                    conn = self._send(frame)
                    if conn:
                        self._written[req_id] = (conn, verb)
                except (zmq.Again, zmtp.Full):
                    await self._send_when_room(frame)
                msg = await fut
        except TimeoutError:
            raise errors.unavailable(f"the API server at {self.server} did not answer {verb} within {timeout:g}s") from None
        finally:
            self._pending.pop(req_id, None)
            self._written.pop(req_id, None)
        self.last_warnings = list(msg.get("warnings") or [])
        code = int(msg.get("code", 500))
        if code >= 400:
            raise ApiError.from_status(msg.get("body") or {})
        return msg.get("body")  # type: ignore[no-any-return]

    def _send(self, frame: bytes) -> int:
        """Send a request: the number of the connection it went out on (our Dealer), else 0."""
        if self._requests is not None:
            return self._requests.send([frame])
        if self._dealer is not None:
            wire.send_now(self._dealer, [frame], self._responses)
            return 0
        raise errors.unavailable("the client is closed")

    async def _send_when_room(self, frame: bytes) -> None:
        """The queue to the server is full (SNDHWM): retry until there is room (or the caller's timeout)."""
        delay = 0.001
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
            try:
                self._send(frame)
                return
            except (zmq.Again, zmtp.Full):
                pass

    async def request(self, verb: str, body: dict, *, timeout: float | None = None) -> Any:
        if self.server_id is None:
            await self.connect()
        elif self.unreachable_since is not None and self._reconnecting is not None and not self._reconnecting.locked():
            # A reconnect gave up (the server was away longer than retry_for) and the sockets may have found it
            # again by themselves: say hello before anything else, so that its return ends the outage and a
            # restarted server (a new server_id) is noticed, its subscribers told to relist.
            await self._reconnect()
        t = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + self.retry_for
        while True:
            try:
                return await self._request_once(verb, body, t)
            except ApiError as e:
                if e.code != 503 or self._closed:
                    raise
                if e.reason == "ServiceUnavailable" and e.message.startswith("the API server at"):
                    await self._reconnect()
                    if verb in IDEMPOTENT and time.monotonic() < deadline:
                        continue
                raise

    # -- conveniences (kubectl-shaped) -------------------------------------------------------------
    async def create(self, obj: dict, namespace: str | None = None, *, dry_run: bool = False,
                     field_validation: str | None = None) -> dict:
        """Create; with dry_run, admission runs in full and nothing is written (kubectl --dry-run=server).
        field_validation: what the server does with fields the schema does not have: "Strict" (refuse),
        "Warn" (the server's default) or "Ignore"."""
        body: dict[str, Any] = {"object": obj}
        if namespace:
            body["namespace"] = namespace
        _write_options(body, dry_run, field_validation)
        return await self.request("create", body)  # type: ignore[no-any-return]

    async def get(self, kind: str, name: str, namespace: str | None = "default") -> dict:
        return await self.request("get", {"kind": kind, "name": name, "namespace": namespace})  # type: ignore[no-any-return]

    async def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        topic: bytes | None = None,
        limit: int = 0,
        continue_: str = "",
        chunk_size: int = 0,
    ) -> dict:
        """One list answer. With `limit`, one page (its metadata.continue asks for the next, `continue_`);
        with `chunk_size`, every page in turn, joined into one answer, like kubectl's --chunk-size."""
        body: dict[str, Any] = {"kind": kind, "namespace": namespace}
        if label_selector:
            body["labelSelector"] = label_selector
        if field_selector:
            body["fieldSelector"] = field_selector
        if topic:
            body["topic"] = topic
        if limit or chunk_size:
            body["limit"] = limit or chunk_size
        if continue_:
            body["continue"] = continue_
        answer = await self.request("list", body)
        while chunk_size and answer["metadata"].get("continue"):
            body["continue"] = answer["metadata"]["continue"]
            page = await self.request("list", body)
            answer["items"].extend(page["items"])
            answer["metadata"] = {**page["metadata"], "resourceVersion": answer["metadata"]["resourceVersion"]}
        if chunk_size:
            answer["metadata"].pop("continue", None)
        return answer  # type: ignore[no-any-return]

    async def update(self, obj: dict, subresource: str | None = None, *, field_validation: str | None = None,
                     dry_run: bool = False) -> dict:
        """PUT the whole object (kubectl replace): with a resourceVersion, only over that version (else Conflict);
        without one, over whatever is stored. With dry_run, admitted in full and not written."""
        body: dict[str, Any] = {"object": obj}
        if subresource:
            body["subresource"] = subresource
        _write_options(body, dry_run, field_validation)
        return await self.request("update", body)  # type: ignore[no-any-return]

    async def update_status(self, obj: dict) -> dict:
        return await self.update(obj, "status")

    async def patch(self, kind: str, name: str, patch: dict | list, namespace: str | None = "default",
                    subresource: str | None = None, patch_type: str = "merge", *, dry_run: bool = False,
                    field_validation: str | None = None) -> dict:
        """A merge patch (a map), or with patch_type "json" a JSON patch (a list of operations)."""
        body: dict[str, Any] = {"kind": kind, "name": name, "namespace": namespace, "patch": patch}
        _write_options(body, dry_run, field_validation)
        if subresource:
            body["subresource"] = subresource
        if patch_type != "merge":
            body["type"] = patch_type
        return await self.request("patch", body)  # type: ignore[no-any-return]

    async def apply(self, obj: dict, *, field_manager: str, force: bool = False, dry_run: bool = False,
                    field_validation: str | None = None) -> dict:
        """Server-side apply of a configuration (kubectl apply --server-side): created when it does not exist,
        else merged into the object; a field another manager owns with another value is a 409 Conflict
        unless `force`."""
        md = obj.get("metadata") or {}
        body: dict[str, Any] = {"kind": obj.get("kind"), "name": md.get("name"), "namespace": md.get("namespace"),
                                "patch": obj, "type": "apply", "fieldManager": field_manager}
        if force:
            body["force"] = True
        _write_options(body, dry_run, field_validation)
        return await self.request("patch", body)  # type: ignore[no-any-return]

    async def delete(
        self,
        kind: str,
        name: str,
        namespace: str | None = "default",
        *,
        propagation_policy: str | None = None,
        grace_period: int | None = None,
        preconditions: dict[str, str] | None = None,
    ) -> dict:
        body: dict[str, Any] = {"kind": kind, "name": name, "namespace": namespace}
        if propagation_policy:
            body["propagationPolicy"] = propagation_policy
        if grace_period is not None:
            body["gracePeriodSeconds"] = grace_period
        if preconditions:
            body["preconditions"] = preconditions  # {uid, resourceVersion}: refused with 409 if either differs
        return await self.request("delete", body)  # type: ignore[no-any-return]

    async def exec(self, name: str, command: list[str], namespace: str = "default", *, container: str | None = None,
                   timeout: float = 60.0) -> dict:  # noqa: ASYNC109 - the command's own limit, on the node
        """Run a command in a pod's container to completion: {exitCode, output} (the output capped at 1 MiB)."""
        body: dict[str, Any] = {"name": name, "namespace": namespace, "command": list(command), "timeout": timeout}
        if container:
            body["container"] = container
        return await self.request("exec", body, timeout=timeout + 10.0)  # type: ignore[no-any-return]

    async def exec_open(self, name: str, command: list[str], namespace: str = "default", *,
                        container: str | None = None, stdin: bool = False, tty: bool = False,
                        size: tuple[int, int] | None = None, attach: bool = False) -> dict:
        """Start a command for an interactive exec (kubectl exec -i/-t): {session}; or {exitCode, output}
        when it could not start. With `attach`, no command: a session on the container's own stdio
        (kubectl attach; its container must have been started with stdin or tty). Stream it with exec_stream."""
        body: dict[str, Any] = {"name": name, "namespace": namespace, "stream": True, "stdin": stdin, "tty": tty}
        if attach:
            body["attach"] = True
        else:
            body["command"] = list(command)
        if container:
            body["container"] = container
        if size:
            body["rows"], body["cols"] = size
        return await self.request("exec", body)  # type: ignore[no-any-return]

    async def port_forward_open(self, name: str, port: int, namespace: str = "default") -> dict:
        """One forwarded connection to a pod's port (kubectl port-forward): {session}; stream it with
        exec_stream(..., verb="portforward")."""
        return await self.request("portforward", {"name": name, "namespace": namespace, "port": port},  # type: ignore[no-any-return]
                                  timeout=15.0)

    async def exec_stream(self, name: str, session: str, namespace: str = "default", *, input: bytes = b"",
                          eof: bool = False, resize: tuple[int, int] | None = None, read: bool = False,
                          wait: float = 0.0, close: bool = False, verb: str = "exec") -> dict:
        """One request of an exec session: send input, end it, resize, close; with `read`, wait up to `wait`
        seconds for output. {output, error, exitCode, accepted}: stdout and stderr bytes; exitCode is None
        until the command exited and was read out; `accepted` input bytes (send the rest again)."""
        body: dict[str, Any] = {"name": name, "namespace": namespace, "session": session}
        if input:
            body["input"] = input
        if eof:
            body["eof"] = True
        if resize:
            body["resize"] = list(resize)
        if read:
            body["read"], body["wait"] = True, wait
        if close:
            body["close"] = True
        return await self.request(verb, body, timeout=wait + 10.0)  # type: ignore[no-any-return]

    async def keep_session(self, name: str, session: str, namespace: str = "default", *, verb: str = "exec") -> None:
        """Until cancelled, a request every KEEPALIVE seconds: the node closes a session nobody asks about,
        and one whose output we are slow to take is still ours."""
        while True:
            await asyncio.sleep(remotecommand.KEEPALIVE)
            with contextlib.suppress(ApiError):
                await self.exec_stream(name, session, namespace, verb=verb)

    async def bind(self, namespace: str, name: str, node: str, annotations: dict[str, str] | None = None) -> dict:
        body: dict[str, Any] = {"namespace": namespace, "name": name, "node": node}
        if annotations:
            body["annotations"] = annotations
        return await self.request("bind", body)  # type: ignore[no-any-return]

    async def evict(self, name: str, namespace: str = "default", *, grace_period: int | None = None,
                    dry_run: bool = False, delete_options: dict[str, Any] | None = None) -> dict:
        """POST pods/NAME/eviction: the pod is deleted if its PodDisruptionBudget allows; 429 TooManyRequests
        when it does not (retry later), 500 when two budgets cover it."""
        opts: dict[str, Any] = dict(delete_options or {})
        if grace_period is not None:
            opts["gracePeriodSeconds"] = grace_period
        if dry_run:
            opts["dryRun"] = ["All"]
        body: dict[str, Any] = {"namespace": namespace, "name": name}
        if opts:
            body["deleteOptions"] = opts
        return await self.request("evict", body)  # type: ignore[no-any-return]

    async def range(self, key: str, *, prefix: bool = False, revision: int = 0, keys_only: bool = False, topic: bool = False) -> dict:
        return await self.request(  # type: ignore[no-any-return]
            "range", {"key": key, "prefix": prefix, "revision": revision, "keys_only": keys_only, "topic": topic}
        )

    async def _get_or_none(self, kind: str, name: Any, namespace: str | None) -> dict | None:
        if not isinstance(name, str) or not name:
            return None  # the create names what is missing (metadata.name: Required value)
        try:
            return await self.get(kind, name, namespace)  # type: ignore[no-any-return]
        except ApiError as e:
            if e.code == 404:
                return None
            raise

    async def create_or_update(self, obj: dict, *, dry_run: bool = False,
                               field_validation: str | None = None) -> tuple[str, dict]:
        """kubectl apply (client-side): create the object, or patch the live one with the three-way merge
        of the manifest applied last time (kept in the last-applied-configuration annotation, as kubectl
        keeps it), this manifest and the live object. Fields others set (a pod's node, a controller's
        annotations, a Service's clusterIP) stay; fields the last manifest set and this one drops go.
        Returns ("created" | "configured" | "unchanged", the stored object). With dry_run, the API server
        admits it in full and writes nothing: the object is what would be stored (kubectl diff)."""
        info = kinds.by_kind(obj.get("kind", ""))
        md = obj.get("metadata") or {}
        ns = md.get("namespace") or "default" if info.namespaced else None
        if ns and not md.get("namespace"):  # kubectl's builder sets it in what it sends, and so in the annotation
            obj = dict(obj, metadata=dict(md, namespace=ns))
        # kubectl's GetModifiedConfiguration: the annotations map is always there, {} when it held only this one
        modified = with_last_applied(obj, empty_annotations=True)
        # Like kubectl: read first, create only what is not there. A create of what exists is not always
        # AlreadyExists: a Service's explicit nodePort is checked first ("provided port is already allocated").
        cur = await self._get_or_none(info.kind, md.get("name"), ns)
        if cur is None:
            try:
                return "created", await self.create(modified, dry_run=dry_run, field_validation=field_validation)
            except ApiError as e:
                if e.code != 409 or e.reason != "AlreadyExists":
                    raise CreateRefused(e) from None
        for _ in range(5):
            if cur is None:
                cur = await self.get(info.kind, md["name"], ns)
            patch = three_way_merge_patch(last_applied(cur), modified, cur)
            if not patch:
                self.last_warnings = []  # nothing was sent: the create attempt's warnings are not this apply's
                return "unchanged", cur
            # Merged lists are only right against this version of the object: on a conflict, again.
            patch.setdefault("metadata", {})["resourceVersion"] = cur["metadata"]["resourceVersion"]
            try:
                out = await self.patch(info.kind, md["name"], patch, ns, dry_run=dry_run,
                                       field_validation=field_validation)
            except ApiError as e:
                if e.reason == "Conflict":
                    cur = None
                    continue
                raise
            if last_applied(cur) is None:  # kubectl's words: nothing the old manifest set could be deleted
                self.last_warnings.insert(0, (
                    f"resource {info.resource}/{md['name']} is missing the {LAST_APPLIED_ANNOTATION} annotation "
                    "which is required by kube-tui apply. kube-tui apply should only be used on resources created "
                    "declaratively by kube-tui apply. The missing annotation will be patched automatically."))
            changed = out != cur if dry_run else out["metadata"].get("resourceVersion") != cur["metadata"].get("resourceVersion")
            return ("configured" if changed else "unchanged"), out
        raise errors.conflict(info.resource, md["name"])

    # -- watch ------------------------------------------------------------------------------------
    def _open_sub(self) -> None:
        self._close_sub()
        assert self.watch_address is not None
        plain = self.hello.get("watch_auth") == "plain" and self.token
        # PLAIN's password is at most 255 bytes: a longer bearer token (a ServiceAccount's JWT) is stood in for
        # by the watch ticket hello gave for it (control/apiserver/zap.py)
        ticket = self.hello.get("watch_ticket") if plain else None
        plain_user, plain_password = ((b"ticket", str(ticket).encode()) if ticket else
                                      (b"token", self.token.encode()) if plain and self.token else (None, None))
        if WATCH_SOCKET != "libzmq" and not self.server_key and zmtp.speaks(self.watch_address):
            # Each new connection (a restarted server, say) must prove its subscriptions live again.
            self._subscriber = zmtp.Subscriber(
                self.watch_address, self._on_event, max_message=self.max_frame * 4, name=f"{self.identity}-watch",
                on_open=self._live.clear,
                username=plain_user, password=plain_password)
            for topic in self._topics:
                self._subscriber.subscribe(topic)
            return
        sub = zmq.Socket(self.ctx, zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVHWM, 200_000)
        sub.setsockopt(zmq.RECONNECT_IVL, 50)
        sub.setsockopt(zmq.RECONNECT_IVL_MAX, 1000)
        sub.setsockopt(zmq.MAXMSGSIZE, self.max_frame * 4)
        # The server authorizes each subscription by who we are: prove it when connecting.
        if self.server_key:
            pub, sec = curve.client_keypair(self.token)
            self._set_curve(sub, pub, sec)
        elif plain_user is not None and plain_password is not None:
            sub.setsockopt(zmq.PLAIN_USERNAME, plain_user)
            sub.setsockopt(zmq.PLAIN_PASSWORD, plain_password)
        sub.connect(self.watch_address)
        for topic in self._topics:
            sub.setsockopt(zmq.SUBSCRIBE, topic)
        self._sub = sub
        self._events = wire.Inbox(sub, self._on_event, name=f"{self.identity}-watch")

    def topic_live(self, topic: bytes) -> bool:
        """A message has come on this topic since it was subscribed: the API server has the subscription."""
        return topic in self._live

    def _close_sub(self) -> None:
        self._live.clear()
        _shut(self._subscriber, self._events, self._sub)
        self._subscriber, self._events, self._sub = None, None, None

    def _set_curve(self, sock: zmq.Socket, public: bytes, secret: bytes) -> None:
        assert self.server_key is not None
        sock.setsockopt(zmq.CURVE_SERVERKEY, self.server_key.encode())
        sock.setsockopt(zmq.CURVE_PUBLICKEY, public)
        sock.setsockopt(zmq.CURVE_SECRETKEY, secret)

    def subscribe(self, topic: bytes, fn: Callable[[dict], None]) -> Callable[[], None]:
        """Deliver every event of `topic` to fn (decoded; malformed ones dropped and counted)."""
        # A topic's list of handlers is replaced, never changed in place: delivery iterates it without a copy.
        fns = self._topics.get(topic, [])
        self._topics[topic] = [*fns, fn]
        if not fns and self._subscriber is not None:
            self._subscriber.subscribe(topic)
        elif not fns and self._sub is not None:
            self._sub.setsockopt(zmq.SUBSCRIBE, topic)
            if self._events is not None:
                self._events.recheck()

        def unsubscribe() -> None:
            fns = self._topics.get(topic, [])
            if fn not in fns:
                return
            rest = list(fns)
            rest.remove(fn)
            if rest:
                self._topics[topic] = rest
                return
            del self._topics[topic]
            self._live.discard(topic)
            if self._subscriber is not None:
                self._subscriber.unsubscribe(topic)
            elif self._sub is not None and not self._closed:
                self._sub.setsockopt(zmq.UNSUBSCRIBE, topic)
                if self._events is not None:
                    self._events.recheck()

        return unsubscribe

    def _on_event(self, frames: list[bytes]) -> None:
        if len(frames) != 2:
            self.malformed_events += 1
            return
        topic, payload = frames
        try:
            events = wire.parse_events(payload, limit=self.max_frame * 4)
        except wire.FrameError:
            self.malformed_events += 1
            return
        topics = self._topics
        if topic not in self._live and topic in topics:
            self._live.add(topic)
        for ev in events:
            # Looked up again for each event of a batch: a handler may have (un)subscribed meanwhile.
            for fn in topics.get(topic, ()):
                try:
                    fn(ev)
                except Exception:
                    log.exception("%s: watch handler failed", self.identity)

    async def close(self) -> None:
        self._closed = True
        subscriber, requests = self._subscriber, self._requests
        self._close_sub()
        self._close_dealer()
        for fut in self._pending.values():
            if not fut.done():
                fut.cancel()
        self._pending.clear()
        for endpoint in (subscriber, requests):
            if endpoint is not None:
                await endpoint.wait_closed()

