"""Event recording like client-go's tools/record: core/v1 Events, repeats aggregated by count, never blocking.

A component makes one `EventRecorder(client, "deployment-controller")` (or several recorders share one
`EventBroadcaster`); `recorder.event(obj, "Normal", reason, message)` returns at once and a background
task writes the Event. Identical repeats (same object, type, reason, message, source) patch `count` and
`lastTimestamp` of the Event already written instead of creating another, like the EventCorrelator.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from control.api import meta
from control.client import Client
from control.errors import ApiError

log = logging.getLogger("kube_tui.events")

NORMAL = "Normal"
WARNING = "Warning"

# client-go: the broadcaster's queue holds 1000 events and drops beyond that rather than block.
QUEUE_SIZE = 1000
# client-go's LRU of events it has written (maxLruCacheEntries).
CACHE_SIZE = 4096


def object_reference(obj: dict, field_path: str | None = None) -> dict:
    """An ObjectReference to `obj` for involvedObject (a Node's uid is its name, as the kubelet sets it)."""
    md = obj.get("metadata") or {}
    ref: dict[str, Any] = {
        "kind": obj.get("kind", ""),
        "name": md.get("name", ""),
        "apiVersion": obj.get("apiVersion", ""),
    }
    if md.get("namespace"):
        ref["namespace"] = md["namespace"]
    uid = md.get("uid") or (md.get("name") if obj.get("kind") == "Node" else None)
    if uid:
        ref["uid"] = uid
    if md.get("resourceVersion"):
        ref["resourceVersion"] = md["resourceVersion"]
    if field_path:
        ref["fieldPath"] = field_path
    return ref


def aggregate_key(event: dict) -> tuple:
    """What makes two events 'the same' for counting (client-go's getEventKey)."""
    src = event.get("source") or {}
    ref = event.get("involvedObject") or {}
    return (
        src.get("component", ""),
        src.get("host", ""),
        ref.get("kind", ""),
        ref.get("namespace", ""),
        ref.get("name", ""),
        ref.get("uid", ""),
        ref.get("apiVersion", ""),
        ref.get("fieldPath", ""),
        event.get("type", ""),
        event.get("reason", ""),
        event.get("message", ""),
    )


@dataclass
class _Seen:
    name: str
    namespace: str
    count: int
    first_timestamp: str
    written: bool = False  # False until the first create has succeeded


@dataclass
class EventCorrelator:
    """Remembers written events (LRU); decides whether a new event is a create or a count bump."""

    size: int = CACHE_SIZE
    _seen: OrderedDict[tuple, _Seen] = field(default_factory=OrderedDict)

    def observe(self, event: dict) -> tuple[dict, bool]:
        """Return (the event to write, is_repeat); a repeat keeps the first event's name and firstTimestamp."""
        key = aggregate_key(event)
        seen = self._seen.get(key)
        if seen is None:
            self._seen[key] = _Seen(event["metadata"]["name"], event["metadata"]["namespace"], 1, event["firstTimestamp"])
            self._trim()
            return event, False
        self._seen.move_to_end(key)
        seen.count += 1
        out = dict(event)
        out["metadata"] = dict(event["metadata"], name=seen.name, namespace=seen.namespace)
        out["count"] = seen.count
        out["firstTimestamp"] = seen.first_timestamp
        return out, True

    def forget(self, event: dict) -> None:
        """The written event vanished (TTL): the next repeat creates a fresh one."""
        self._seen.pop(aggregate_key(event), None)

    def _trim(self) -> None:
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)


class EventBroadcaster:
    """One background writer shared by any number of recorders (client-go's eventBroadcaster + sink)."""

    def __init__(self, client: Client, *, queue_size: int = QUEUE_SIZE) -> None:
        self.client = client
        self.correlator = EventCorrelator()
        self.dropped = 0
        self.written = 0
        self._queue: asyncio.Queue[dict] = asyncio.Queue(queue_size)
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def new_recorder(self, component: str, host: str | None = None) -> EventRecorder:
        return EventRecorder(self, component, host)

    def enqueue(self, event: dict) -> None:
        if self._closed:
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1  # like client-go: drop rather than slow the controller down
            return
        if self._task is None or self._task.done():
            try:
                self._task = asyncio.get_running_loop().create_task(self._run(), name="event-writer")
            except RuntimeError:
                return  # no loop: nothing can be written anyway

    async def flush(self) -> None:
        """Wait until every queued event has been written (tests, and a graceful shutdown)."""
        if self._task is not None and not self._task.done():
            await self._queue.join()

    async def close(self) -> None:
        self._closed = True
        task, self._task = self._task, None
        # Re-cancel until done: a cancellation racing a finished request can be lost on Python 3.11.
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.1)

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._write(event)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # an event is best effort: never take the writer down
                log.debug("dropping event %s: %s", event.get("reason"), e)
            finally:
                self._queue.task_done()

    async def _write(self, event: dict) -> None:
        out, repeat = self.correlator.observe(event)
        md = out["metadata"]
        if repeat:
            patch = {"count": out["count"], "lastTimestamp": out["lastTimestamp"], "message": out["message"]}
            try:
                await self.client.patch("Event", md["name"], patch, namespace=md["namespace"])
                self.written += 1
                return
            except ApiError as e:
                if e.code != 404:
                    raise
            # the first one expired (event TTL) or was never written: start over, like client-go
            self.correlator.forget(event)
            out, _ = self.correlator.observe(event)
        try:
            await self.client.create(out)
            self.written += 1
        except ApiError as e:
            if e.code == 409:
                return  # a retry of a create that did land
            self.correlator.forget(event)
            raise


class EventRecorder:
    """`event(obj, type, reason, message)`: fire and forget, from any component (source.component)."""

    def __init__(self, sink: EventBroadcaster | Client, component: str, host: str | None = None) -> None:
        self.broadcaster = sink if isinstance(sink, EventBroadcaster) else EventBroadcaster(sink)
        self._owns_broadcaster = not isinstance(sink, EventBroadcaster)
        self.component = component
        self.host = host

    def event(self, obj: dict, type_: str, reason: str, message: str, *, field_path: str | None = None) -> None:
        """Record an Event about `obj`; returns at once, the write happens in the background."""
        self.broadcaster.enqueue(self.make_event(obj, type_, reason, message, field_path=field_path))

    def make_event(self, obj: dict, type_: str, reason: str, message: str, *, field_path: str | None = None) -> dict:
        ref = object_reference(obj, field_path)
        ts = meta.now()
        # client-go names an event <object>.<unix nanos in hex>; cluster-scoped objects' events live in default.
        name = f"{ref['name']}.{time.time_ns():x}"
        source: dict[str, str] = {"component": self.component}
        if self.host:
            source["host"] = self.host
        return {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": ref.get("namespace") or "default"},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "source": source,
            "firstTimestamp": ts,
            "lastTimestamp": ts,
            "count": 1,
            "type": type_,
            "eventTime": None,
            "reportingComponent": self.component,
            "reportingInstance": self.host or "",
        }

    async def flush(self) -> None:
        await self.broadcaster.flush()

    async def close(self) -> None:
        """Stop the writer if this recorder made its own broadcaster (a shared one is closed by its owner)."""
        if self._owns_broadcaster:
            await self.broadcaster.close()
