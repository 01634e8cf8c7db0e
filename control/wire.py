"""The wire format: versioned msgpack envelopes with a size limit, for requests and watch events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import msgpack
import zmq

from control.errors import ApiError, bad_request

log = logging.getLogger("kube_tui.wire")

VERSION = 1
MAX_FRAME = 4 * 1024 * 1024  # bytes; a larger request or watch frame is refused, never parsed
# Answers may be far larger: a list of 10,000 pods is tens of MiB. The limit guards a client against a
# runaway answer, not against abuse (only the server it chose to trust can send one).
MAX_ANSWER = 1024 * 1024 * 1024

MAX_AGENT = 128  # characters of a request's agent (recorded as the manager in metadata.managedFields)
WATCH_TYPES = ("ADDED", "MODIFIED", "DELETED", "BOOKMARK")

# Plain ints: pyzmq's getsockopt() and its flag enums cost a microsecond per call through enum machinery,
# and the readers below ask for a socket's events twice per message.
_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)
_NOBLOCK = int(zmq.NOBLOCK)


class FrameError(ApiError):
    """A frame that cannot be read: answered with 400 (requests) or dropped and counted (watch)."""

    def __init__(self, message: str, req_id: int = 0) -> None:
        super().__init__(400, "BadRequest", message)
        self.req_id = req_id  # the request's id when the envelope had a valid one: the answer goes to it


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def unpack(frame: bytes, *, limit: int = MAX_FRAME) -> Any:
    if len(frame) > limit:
        raise FrameError(f"frame of {len(frame)} bytes exceeds the limit of {limit} bytes")
    try:
        return msgpack.unpackb(frame, raw=False, strict_map_key=False)
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError, TypeError) as e:
        raise FrameError(f"malformed frame: not a msgpack message ({e.__class__.__name__})") from e


def request(req_id: int, verb: str, body: dict, token: str | None = None, agent: str | None = None,
            impersonate: dict | None = None) -> bytes:
    msg: dict[str, Any] = {"v": VERSION, "id": req_id, "verb": verb, "token": token, "body": body}
    if agent:
        msg["agent"] = agent[:MAX_AGENT]  # like a User-Agent: recorded in metadata.managedFields
    if impersonate:
        msg["as"] = impersonate  # {"user": ..., "groups": [...]}: kube-tui --as, --as-group
    return pack(msg)


def parse_request(frame: bytes, *, limit: int = MAX_FRAME) -> dict:
    """Decode and check a request envelope; raises FrameError naming the bad field."""
    msg = unpack(frame, limit=limit)
    if not isinstance(msg, dict):
        raise FrameError(f"malformed request: the envelope must be a map, got {type(msg).__name__}")
    if msg.get("v") != VERSION:
        raise FrameError(f"unsupported protocol version {msg.get('v')!r}: this server speaks version {VERSION}")
    req_id = msg.get("id")
    if not isinstance(req_id, int) or isinstance(req_id, bool):
        raise FrameError("malformed request: field 'id' must be an integer")
    problem = _envelope_problem(msg)
    if problem:
        raise FrameError(f"malformed request: {problem}", req_id)  # answered to its id: the client is not left waiting
    return msg


def _envelope_problem(msg: dict) -> str:
    """What is wrong with a request envelope's fields besides its id (normalizing a missing body to {})."""
    if not isinstance(msg.get("verb"), str):
        return "field 'verb' must be a string"
    body = msg.get("body", {})
    if body is None:
        body = {}
    if not isinstance(body, dict):
        return f"field 'body' must be a map, got {type(body).__name__}"
    msg["body"] = body
    token = msg.get("token")
    if token is not None and not isinstance(token, str):
        return "field 'token' must be a string"
    agent = msg.get("agent")
    if agent is not None and (not isinstance(agent, str) or len(agent) > MAX_AGENT):
        return f"field 'agent' must be a string of at most {MAX_AGENT} characters"
    imp = msg.get("as")
    if imp is not None and not (isinstance(imp, dict) and isinstance(imp.get("user", ""), str)
                                and isinstance(imp.get("groups", []), list)
                                and all(isinstance(g, str) for g in imp.get("groups", []))):
        return "field 'as' must be a map of 'user' (a string) and 'groups' (a list of strings)"
    return ""


def response(req_id: int, code: int, body: Any, warnings: list[str] | None = None) -> bytes:
    msg: dict[str, Any] = {"v": VERSION, "id": req_id, "code": code, "body": body}
    if warnings:
        msg["warnings"] = warnings
    return pack(msg)


def error_response(req_id: int, err: ApiError) -> bytes:
    return response(req_id, err.code, err.status())


def event(seq: int, type_: str, rev: int, obj: Any, ts: float) -> bytes:
    return pack({"v": VERSION, "seq": seq, "type": type_, "rev": rev, "object": obj, "ts": ts})


_EVENT_HEAD = b"\x86" + pack("v") + pack(VERSION) + pack("seq")  # a 6-entry map, keys in event()'s order
_TYPE, _REV, _OBJECT, _TS = pack("type"), pack("rev"), pack("object"), pack("ts")


def event_packed(seq: int, type_: str, rev: int, packed_obj: bytes, ts: float) -> bytes:
    """event() with the object already packed: the same bytes, so one object packs once for many topics."""
    return b"".join((_EVENT_HEAD, pack(seq), _TYPE, pack(type_), _REV, pack(rev), _OBJECT, packed_obj, _TS, pack(ts)))


# A batch is a msgpack array of events, like etcd's WatchResponse: one ZeroMQ message (one wake-up of
# every subscriber) for what one commit changed on a topic. Kept well under a subscriber's frame limit.
BATCH_EVENTS = 256
BATCH_BYTES = 1024 * 1024


def batch(events: list[bytes]) -> bytes:
    """Events encoded by event() or event_packed(), in order, as one watch message."""
    n = len(events)
    head = bytes((0x90 | n,)) if n < 16 else b"\xdc" + n.to_bytes(2, "big")  # fixarray, array 16
    return head + b"".join(events)


def watch_messages(events: list[bytes]) -> list[tuple[bytes, int]]:
    """The messages that carry a topic's events, in order, each with how many events it holds.

    A lone event is sent as itself; several are batched, a batch ending at BATCH_EVENTS events or
    before it would pass BATCH_BYTES (an event larger than that goes alone).
    """
    if len(events) == 1:
        return [(events[0], 1)]
    out: list[tuple[bytes, int]] = []
    chunk: list[bytes] = []
    size = 0
    for ev in events:
        if chunk and (len(chunk) == BATCH_EVENTS or size + len(ev) > BATCH_BYTES):
            out.append((batch(chunk) if len(chunk) > 1 else chunk[0], len(chunk)))
            chunk, size = [], 0
        chunk.append(ev)
        size += len(ev)
    out.append((batch(chunk) if len(chunk) > 1 else chunk[0], len(chunk)))
    return out


def parse_events(frame: bytes, *, limit: int = MAX_FRAME) -> list[dict]:
    """Decode a watch message, one event or a batch, into its events in order.

    Raises FrameError if the message or any event in it is malformed: the caller drops the whole
    message and counts it once; the subscriber's sequence check then sees what went missing.
    """
    msg = unpack(frame, limit=limit)
    if isinstance(msg, list):
        if not msg:
            raise FrameError("malformed watch batch: no events")
        for ev in msg:
            _check_event(ev)
        return msg
    _check_event(msg)
    return [msg]


def _check_event(msg: Any) -> None:
    if not isinstance(msg, dict) or msg.get("v") != VERSION:
        raise FrameError("malformed watch event: not a version-1 envelope")
    type_ = msg.get("type")
    if type_ not in WATCH_TYPES:
        raise FrameError(f"malformed watch event: unknown type {type_!r}")
    if not isinstance(msg.get("seq"), int) or not isinstance(msg.get("rev"), int):
        raise FrameError("malformed watch event: 'seq' and 'rev' must be integers")
    if type_ != "BOOKMARK" and not isinstance(msg.get("object"), dict):
        raise FrameError("malformed watch event: 'object' must be a map")


def require(body: dict, field: str, kind: type | tuple[type, ...] = str, *, verb: str = "") -> Any:
    """A required body field of the right type, or a 400 that names it."""
    value = body.get(field)
    if value is None:
        raise bad_request(f"{verb + ': ' if verb else ''}field '{field}' is required")
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise bad_request(f"{verb + ': ' if verb else ''}field '{field}' must be a {want}, got {type(value).__name__}")
    return value


def send_now(sock: zmq.Socket, frames: list[bytes], inbox: Inbox | None = None) -> None:
    """Send without blocking and without a Future; raises zmq.Again when the peer's queue is full.

    Pass the socket's Inbox if it has one: a send can swallow the wake-up its reader waits for.
    """
    sock.send_multipart(frames, flags=zmq.NOBLOCK)
    if inbox is not None:
        inbox.recheck()


class Inbox:
    """Hands every message that arrives on a ZeroMQ socket to fn(frames), from the event loop.

    Instead of a Future and a task wake-up per message (pyzmq's asyncio sockets), the loop watches the
    socket's file descriptor and, when it fires, everything queued is read without blocking. That file
    descriptor is edge-triggered: whatever else touches the socket (a send, a subscription) may consume
    the wake-up for messages already queued, so call recheck() after it. At most `batch` messages are
    handled per turn of the loop (0: no limit), so a flood cannot starve the tasks the messages start.
    """

    def __init__(self, sock: zmq.Socket, fn: Callable[[list[bytes]], None], *, batch: int = 0, name: str = "") -> None:
        self.sock = sock
        self.fn = fn
        self.batch = batch
        self.name = name
        self._loop = asyncio.get_running_loop()
        self._fd = sock.getsockopt(zmq.FD)
        self._pending = False
        self._open = True
        self._loop.add_reader(self._fd, self._readable)
        self._kick()  # messages (or a consumed wake-up) from before we watched

    def recheck(self) -> None:
        """After touching the socket some other way: read again soon if messages are waiting."""
        if self._open and not self._pending and self.sock.get(_EVENTS) & _POLLIN:
            self._kick()

    def close(self) -> None:
        """Stop watching (before the socket is closed)."""
        if self._open:
            self._open = False
            self._loop.remove_reader(self._fd)

    def _kick(self) -> None:
        self._pending = True
        self._loop.call_soon(self._drain)

    def _readable(self) -> None:
        if not self._pending:  # else the read already scheduled takes these too, within its batch
            self._drain()

    def _drain(self) -> None:
        self._pending = False
        if not self._open:
            return
        sock = self.sock
        recv = sock.recv
        events = sock.get
        fn = self.fn
        n = 0
        while True:
            try:
                # Asking first is much cheaper than a recv that fails: no exception raised per wake-up.
                if not events(_EVENTS) & _POLLIN:
                    return
                # Not recv_multipart(): a Frame knows whether more parts follow, where asking the socket
                # (RCVMORE) costs a microsecond per part.
                part = recv(_NOBLOCK, copy=False)
                frames = [part.bytes]
                while part.more:
                    part = recv(_NOBLOCK, copy=False)
                    frames.append(part.bytes)
            except zmq.Again:
                return
            except zmq.ZMQError as e:  # closed under us (context terminated): nothing more will come
                log.debug("%s: stopped reading: %s", self.name or "inbox", e)
                self.close()
                return
            try:
                fn(frames)
            except Exception:  # one bad message must not stop the reading
                log.exception("%s: handling a message failed", self.name or "inbox")
            n += 1
            if n == self.batch:
                self._kick()  # the rest on the next turn, after the tasks this batch started
                return
