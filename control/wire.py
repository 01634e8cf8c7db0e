"""The wire format: versioned msgpack envelopes with a size limit, for requests and watch events."""

from __future__ import annotations

from typing import Any

import msgpack

from control.errors import ApiError, bad_request

VERSION = 1
MAX_FRAME = 4 * 1024 * 1024  # bytes; a larger request or watch frame is refused, never parsed
# Answers may be far larger: a list of 10,000 pods is tens of MiB. The limit guards a client against a
# runaway answer, not against abuse (only the server it chose to trust can send one).
MAX_ANSWER = 1024 * 1024 * 1024

WATCH_TYPES = ("ADDED", "MODIFIED", "DELETED", "BOOKMARK")


class FrameError(ApiError):
    """A frame that cannot be read: answered with 400 (requests) or dropped and counted (watch)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, "BadRequest", message)


def pack(obj: Any) -> bytes:
    return msgpack.packb(obj, use_bin_type=True)


def unpack(frame: bytes, *, limit: int = MAX_FRAME) -> Any:
    if len(frame) > limit:
        raise FrameError(f"frame of {len(frame)} bytes exceeds the limit of {limit} bytes")
    try:
        return msgpack.unpackb(frame, raw=False, strict_map_key=False)
    except (msgpack.ExtraData, msgpack.FormatError, msgpack.StackError, ValueError, TypeError) as e:
        raise FrameError(f"malformed frame: not a msgpack message ({e.__class__.__name__})") from e


def request(req_id: int, verb: str, body: dict, token: str | None = None, agent: str | None = None) -> bytes:
    msg: dict[str, Any] = {"v": VERSION, "id": req_id, "verb": verb, "token": token, "body": body}
    if agent:
        msg["agent"] = agent  # like a User-Agent: recorded in metadata.managedFields
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
    if not isinstance(msg.get("verb"), str):
        raise FrameError("malformed request: field 'verb' must be a string")
    body = msg.get("body", {})
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise FrameError(f"malformed request: field 'body' must be a map, got {type(body).__name__}")
    msg["body"] = body
    token = msg.get("token")
    if token is not None and not isinstance(token, str):
        raise FrameError("malformed request: field 'token' must be a string")
    agent = msg.get("agent")
    if agent is not None and (not isinstance(agent, str) or len(agent) > 128):
        raise FrameError("malformed request: field 'agent' must be a string of at most 128 characters")
    return msg


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


def parse_event(frame: bytes, *, limit: int = MAX_FRAME) -> dict:
    """Decode a watch event; raises FrameError for anything malformed (the caller drops and counts it)."""
    msg = unpack(frame, limit=limit)
    if not isinstance(msg, dict) or msg.get("v") != VERSION:
        raise FrameError("malformed watch event: not a version-1 envelope")
    if msg.get("type") not in WATCH_TYPES:
        raise FrameError(f"malformed watch event: unknown type {msg.get('type')!r}")
    if not isinstance(msg.get("seq"), int) or not isinstance(msg.get("rev"), int):
        raise FrameError("malformed watch event: 'seq' and 'rev' must be integers")
    if msg["type"] != "BOOKMARK" and not isinstance(msg.get("object"), dict):
        raise FrameError("malformed watch event: 'object' must be a map")
    return msg


def require(body: dict, field: str, kind: type | tuple[type, ...] = str, *, verb: str = "") -> Any:
    """A required body field of the right type, or a 400 that names it."""
    value = body.get(field)
    if value is None:
        raise bad_request(f"{verb + ': ' if verb else ''}field '{field}' is required")
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise bad_request(f"{verb + ': ' if verb else ''}field '{field}' must be a {want}, got {type(value).__name__}")
    return value


def send_now(async_sock: Any, sync_sock: Any, frames: list[bytes]) -> None:
    """Send without blocking through a sync view of an asyncio socket, without a Future per message.

    ZeroMQ's file descriptor is edge-triggered: a send can swallow the edge a pending async recv on the
    same socket waits for, so we ask pyzmq to re-check, exactly as its own short-circuit send does.
    Raises zmq.Again when the peer's queue is full.
    """
    sync_sock.send_multipart(frames, flags=1)  # zmq.NOBLOCK
    if getattr(async_sock, "_recv_futures", None):
        async_sock._schedule_remaining_events()
