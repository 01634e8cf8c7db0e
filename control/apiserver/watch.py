"""The watch side of the API server: store changes become sequenced events on XPUB topics, with bookmarks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import msgpack

from control import wire
from control.faults import Faults
from control.store import Event


class Publisher(Protocol):
    """Where the hub's messages go: an XPUB socket."""

    def send(self, frames: list[bytes]) -> int: ...  # [topic, payload]; never blocks

    def refresh(self) -> None: ...  # take in the subscriptions already received

log = logging.getLogger("kube_tui.apiserver.watch")

RAW_TOPIC = b"raw\x00"


def node_topic(node: str) -> bytes:
    """The topic of pods bound to one node (a field selector spec.nodeName=<node>)."""
    return f"pods/spec.nodeName={node}\x00".encode()


def decode(value: bytes, mod_revision: int) -> dict:
    obj = msgpack.unpackb(value, raw=False, strict_map_key=False)
    obj.setdefault("metadata", {})["resourceVersion"] = str(mod_revision)
    return obj


def resource_of(key: str) -> str | None:
    # /registry/<resource>/...
    parts = key.split("/", 3)
    return parts[2] if len(parts) > 3 and parts[1] == "registry" else None


class WatchHub:
    """Publishes every committed store change on the topics it belongs to, each with its own sequence."""

    def __init__(
        self,
        out: Publisher,
        *,
        bookmark_interval: float = 1.0,
        faults: Faults | None = None,
        revision: Callable[[], int] = lambda: 0,
        may_watch: Callable[[str, bytes], bool] | None = None,
    ) -> None:
        self.out = out  # the XPUB: ours (control/zmtp_server.py) or libzmq's (sockets.ZmqXPub)
        self.bookmark_interval = bookmark_interval
        self.faults = faults or Faults()
        self.revision = revision
        self.seq: dict[bytes, int] = {}
        self.subscribers: dict[bytes, int] = {}
        self.last_sent: dict[bytes, float] = {}
        self.published = 0  # events sent (a batch counts each of its events)
        self.messages = 0  # ZeroMQ messages sent: one per batch
        # With may_watch given, a subscription takes effect only if the subscriber's identity (proven in
        # the PLAIN or CURVE handshake) may watch the topic.
        self.may_watch = may_watch
        self.rejected: dict[str, int] = {}  # user -> subscriptions refused
        self._delayed: list[list[bytes]] = []
        # The current commit's events per topic, in order: sent when the commit has been published,
        # one message per topic (a batch when there are several), as etcd sends one WatchResponse.
        self._outbox: dict[bytes, list[bytes]] = {}
        # Objects the write path already holds, by the identity of their stored bytes: publishing a
        # change then needs no decode (see remember()).
        self._decoded: dict[int, tuple[bytes, dict]] = {}
        # (mod_revision, spec.nodeName) of each pod as last published: the previous version's node
        # without decoding it again.
        self._pod_nodes: dict[str, tuple[int, str]] = {}
        # Whether any subscription (a prefix, as ZeroMQ matches them) covers a topic; reset when they change.
        self._wanted: dict[bytes, bool] = {}
        self.on_publish: list[Callable[[str, int, dict, list[bytes]], None]] = []
        self._bookmark_pending = False

    def current_seq(self, topic: bytes) -> int:
        return self.seq.get(topic, 0)

    # -- publishing -----------------------------------------------------------------------
    def remember(self, value: bytes, obj: dict) -> None:
        """The write path's object for `value` (its encoded form), used instead of decoding it; forget() after."""
        self._decoded[id(value)] = (value, obj)

    def forget(self, value: bytes) -> None:
        self._decoded.pop(id(value), None)

    def _new_object(self, value: bytes, rev: int) -> dict:
        ent = self._decoded.get(id(value))
        if ent is not None and ent[0] is value:
            obj = ent[1]
            obj.setdefault("metadata", {})["resourceVersion"] = str(rev)
            return obj
        return decode(value, rev)

    def _is_wanted(self, topic: bytes) -> bool:
        wanted = self._wanted.get(topic)
        if wanted is None:
            wanted = self._wanted[topic] = any(topic.startswith(p) for p in self.subscribers)
        return wanted

    def on_commit(self, events: list[Event]) -> None:
        """Store subscriber: runs synchronously right after each durable group commit."""
        now = time.time()
        # Subscriptions the socket has seen are ours too before we decide a topic has no subscriber.
        self.out.refresh()
        for ev in events:
            try:
                self._publish_one(ev, now)
            except Exception:  # a bad value must not stop the watch for everyone else
                log.exception("watch: could not publish the change of %s", ev.kv.key)
        self._send_outbox()
        self._flush_delayed(force=False)

    def _publish_one(self, ev: Event, now: float) -> None:
        key = ev.kv.key
        rev = ev.kv.mod_revision
        resource = resource_of(key)
        new = self._new_object(ev.kv.value, rev) if ev.type == "PUT" else None
        prev = ev.prev_kv
        # The previous version is decoded only when it is needed: a DELETE's object, or a pod's old node.
        old: dict | None = None
        old_node = ""
        if prev is not None:
            if new is None:
                old = decode(prev.value, prev.mod_revision)
                old_node = ((old.get("spec") or {}).get("nodeName") or "") if resource == "pods" else ""
            elif resource == "pods":
                known = self._pod_nodes.get(key)
                if known is not None and known[0] == prev.mod_revision:
                    old_node = known[1]
                else:
                    old = decode(prev.value, prev.mod_revision)
                    old_node = (old.get("spec") or {}).get("nodeName") or ""
        obj_out = new if new is not None else old
        packed: list[bytes | None] = [None]  # the object packed once, for every topic it goes to

        def packed_obj() -> bytes:
            if packed[0] is None:
                packed[0] = wire.pack(obj_out)
            return packed[0]

        if self._is_wanted(RAW_TOPIC) or self.faults.active:
            raw: dict[str, Any] = {
                "key": key,
                "type": ev.type,
                "create_revision": ev.kv.create_revision,
                "mod_revision": rev,
                "version": ev.kv.version,
                "object": obj_out,
            }
            self._send(RAW_TOPIC, "MODIFIED" if ev.type == "PUT" else "DELETED", rev, raw, now)
        else:
            self._skip(RAW_TOPIC, now)
        if resource is None:
            return
        if new is None:
            if old is None:
                return
            self._pod_nodes.pop(key, None)
            gone = dict(old)
            gone["metadata"] = dict(old.get("metadata", {}), resourceVersion=str(rev))
            type_, obj = "DELETED", gone
            packed[0] = None
            obj_out = gone
        else:
            type_ = "ADDED" if prev is None else "MODIFIED"
            obj = new
        topics_sent: list[bytes] = []
        topic = f"{resource}\x00".encode()
        self._send(topic, type_, rev, obj, now, packed_obj)
        topics_sent.append(topic)
        if resource == "pods":
            # field-selector topic: a pod enters/leaves a node's topic when spec.nodeName changes
            new_node = ((new or {}).get("spec") or {}).get("nodeName") or ""
            if new is not None:
                self._pod_nodes[key] = (rev, new_node)
            if old_node and old_node != new_node:
                gone = dict(obj)
                gone["metadata"] = dict(obj.get("metadata", {}), resourceVersion=str(rev))
                self._send(node_topic(old_node), "DELETED", rev, gone, now)
                topics_sent.append(node_topic(old_node))
            if new_node:
                nt = "ADDED" if old_node != new_node else type_
                self._send(node_topic(new_node), nt, rev, obj, now, packed_obj)
                topics_sent.append(node_topic(new_node))
        for fn in self.on_publish:
            fn(type_, rev, obj, topics_sent)

    def _skip(self, topic: bytes, now: float) -> None:
        """A change on a topic nobody subscribes to: it takes its sequence number, nothing is packed or sent."""
        self.seq[topic] = self.seq.get(topic, 0) + 1
        self.last_sent[topic] = now

    def _send(self, topic: bytes, type_: str, rev: int, obj: Any, now: float,
              packed_obj: Callable[[], bytes] | None = None) -> None:
        if not self.faults.active and not self._is_wanted(topic):
            self._skip(topic, now)
            return
        seq = self.seq.get(topic, 0) + 1
        self.seq[topic] = seq
        self.last_sent[topic] = now
        if packed_obj is not None:
            payload = wire.event_packed(seq, type_, rev, packed_obj(), now)
        else:
            payload = wire.event(seq, type_, rev, obj, now)
        plan = self.faults.plan() if self.faults.active else "send"  # per event, batched or not
        if plan == "drop":
            return
        if plan == "delay":
            self._delayed.append([topic, payload])
            return
        queued = self._outbox.setdefault(topic, [])
        queued.append(payload)
        if plan == "dup":
            queued.append(payload)

    def _send_outbox(self) -> None:
        """The commit's events, one message per topic (split if large); topics in order of first change."""
        outbox, self._outbox = self._outbox, {}
        for topic, events in outbox.items():
            for message, count in wire.watch_messages(events):
                self._raw_send([topic, message], count)

    def _raw_send(self, frames: list[bytes], events: int = 1) -> None:
        # PUB never blocks: a subscriber too far behind loses messages and recovers by relisting.
        self.out.send(frames)
        self.published += events
        self.messages += 1

    def _flush_delayed(self, force: bool) -> None:
        if self._delayed and (force or len(self._delayed) > 2):
            pending, self._delayed = self._delayed, []
            for frames in reversed(pending):  # reversed: the delay also reorders
                self._raw_send(frames)

    # -- subscriptions and bookmarks ----------------------------------------------------
    async def run(self) -> None:
        """Send bookmarks on idle subscribed topics (and what fault injection held back)."""
        tick = max(0.05, self.bookmark_interval / 4)
        while True:
            await asyncio.sleep(tick)
            try:
                self._flush_delayed(force=True)
                self._bookmarks()
            except Exception:  # the watch must outlive one bad message
                log.exception("watch: bookmarks failed")

    def subscription(self, user: str | None, topic: bytes, on: bool) -> bool:
        """A subscriber's (un)subscription, as its socket reports it: whether it takes effect.

        `user` is who the handshake proved the subscriber to be; None when nobody was asked (no
        authentication) and for the cancellations that follow a subscriber going away.
        """
        self._wanted.clear()
        if on:
            if self.may_watch is not None and (user is None or not self.may_watch(user, topic)):
                self.rejected[user or "?"] = self.rejected.get(user or "?", 0) + 1
                log.info("watch: refused %s a subscription to %r", user or "an unidentified peer", topic)
                return False
            self.subscribers[topic] = self.subscribers.get(topic, 0) + 1
            # A fresh subscriber learns the topic's sequence at once: a bookmark as soon as the current
            # commit (if any) has been published, so its seq and revision agree. It also tells the
            # subscriber that its subscription is live (an informer lists after it).
            self.last_sent[topic] = 0.0
            self._bookmark_soon()
            return True
        if self.may_watch is not None and user is not None and not self.may_watch(user, topic):
            return False  # it was never applied, so there is nothing to take back
        n = self.subscribers.get(topic, 0) - 1
        if n > 0:
            self.subscribers[topic] = n
        else:
            self.subscribers.pop(topic, None)
        return True

    def _bookmark_soon(self) -> None:
        if self._bookmark_pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # driven by hand, outside a loop (unit tests): the next tick sends it
        self._bookmark_pending = True
        loop.call_soon(self._bookmarks_now)

    def _bookmarks_now(self) -> None:
        self._bookmark_pending = False
        try:
            # Events held back by fault injection go first: a bookmark must not overtake them.
            self._flush_delayed(force=True)
            self._bookmarks()
        except Exception:  # the watch must outlive one bad message
            log.exception("watch: bookmarks for new subscriptions failed")

    def _bookmarks(self) -> None:
        now = time.time()
        rev = self.revision()
        for topic in list(self.subscribers):
            if now - self.last_sent.get(topic, 0.0) >= self.bookmark_interval:
                self.last_sent[topic] = now
                self._raw_send([topic, wire.event(self.seq.get(topic, 0), "BOOKMARK", rev, None, now)])
