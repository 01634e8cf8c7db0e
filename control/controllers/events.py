"""Event recording like client-go's tools/record: core/v1 Events, correlated, never blocking.

A component makes one `EventRecorder(client, "deployment-controller")` (or several recorders share one
`EventBroadcaster`); `recorder.event(obj, "Normal", reason, message)` returns at once and a background
task writes the Event. Before anything is written, client-go's EventCorrelator decides what to write:

- the aggregator: after 10 events of one source about one object with the same type and reason but
  different messages (within 10 minutes), further ones are folded into one event whose message reads
  "(combined from similar events): <latest message>";
- the logger: an exact repeat patches `count` and `lastTimestamp` of the event already written instead
  of creating another;
- the spam filter: a token bucket per source and object (burst 25, then one event every 5 minutes):
  what is over it is not written at all. A ReplicaSet that creates 10,000 pods thus leaves 9
  "Created pod" events and one combined one, counted up to 16, like kube-controller-manager.
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
# events_cache.go: more than 10 similar events (same reason, other messages) in 10 minutes are aggregated
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_INTERVAL = 600.0
# events_cache.go: a source may send 25 events about an object, refilled at one every 5 minutes
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
COMBINED_PREFIX = "(combined from similar events): "


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


def _source_object(event: dict) -> tuple:
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
    )


def aggregate_key(event: dict) -> tuple:
    """What makes two events 'the same' for counting (client-go's getEventKey)."""
    ref = event.get("involvedObject") or {}
    return (*_source_object(event), ref.get("fieldPath", ""), event.get("type", ""), event.get("reason", ""),
            event.get("message", ""))


def similar_key(event: dict) -> tuple:
    """What makes two events 'similar' for aggregation: all but the message (EventAggregatorByReasonFunc)."""
    return (*_source_object(event), event.get("type", ""), event.get("reason", ""),
            event.get("reportingComponent", ""), event.get("reportingInstance", ""))


def spam_key(event: dict) -> tuple:
    """One token bucket per source, object and type (getSpamKey)."""
    return (*_source_object(event), event.get("type", ""))


class _LRU(OrderedDict):
    """client-go's lru.Cache, just big enough: get() refreshes, put() evicts the oldest beyond `size`."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def get_fresh(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value

    def put(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


@dataclass
class _Seen:
    name: str
    namespace: str
    count: int
    first_timestamp: str


@dataclass
class _Similar:
    messages: set[str]
    last: float


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class Correlated:
    """What to do with one recorded event: write `event` (create, or `patch` count/lastTimestamp), or skip it."""

    event: dict
    patch: bool = False
    skip: bool = False


@dataclass
class EventCorrelator:
    """client-go's EventCorrelator: aggregate similar events, count repeats, filter spam (per source + object)."""

    size: int = CACHE_SIZE
    max_events: int = AGGREGATE_MAX_EVENTS
    max_interval: float = AGGREGATE_INTERVAL
    spam_burst: int = SPAM_BURST
    spam_qps: float = SPAM_QPS
    clock: Any = time.monotonic
    _seen: _LRU = field(init=False)
    _similar: _LRU = field(init=False)
    _buckets: _LRU = field(init=False)
    skipped: int = 0

    def __post_init__(self) -> None:
        self._seen = _LRU(self.size)
        self._similar = _LRU(self.size)
        self._buckets = _LRU(self.size)

    def correlate(self, event: dict) -> Correlated:
        """EventCorrelate: aggregate, then count (observe), then the spam filter."""
        aggregated, key = self.aggregate(event)
        out, repeat = self._observe(aggregated, key)
        if not self.allow(out):
            self.skipped += 1
            return Correlated(out, skip=True)
        return Correlated(out, patch=repeat)

    def aggregate(self, event: dict) -> tuple[dict, tuple]:
        """EventAggregate: the event itself and its exact key, or past the threshold the combined event and its key."""
        now = self.clock()
        skey = similar_key(event)
        rec: _Similar | None = self._similar.get_fresh(skey)
        if rec is None or now - rec.last > self.max_interval:
            rec = _Similar(set(), now)
        rec.messages.add(event.get("message", ""))
        rec.last = now
        self._similar.put(skey, rec)
        if len(rec.messages) < self.max_events:
            return event, aggregate_key(event)
        rec.messages.pop()  # the set never grows past the threshold
        md = event["metadata"]
        ref = event.get("involvedObject") or {}
        combined = dict(event, message=COMBINED_PREFIX + event.get("message", ""), count=1)
        combined["metadata"] = {"name": f"{ref.get('name', '')}.{time.time_ns():x}", "namespace": md["namespace"]}
        return combined, ("combined", *skey)

    def observe(self, event: dict) -> tuple[dict, bool]:
        """The logger alone: (the event to write, is_repeat); a repeat keeps the first one's name and firstTimestamp."""
        return self._observe(event, aggregate_key(event))

    def _observe(self, event: dict, key: tuple) -> tuple[dict, bool]:
        seen: _Seen | None = self._seen.get_fresh(key)
        if seen is None:
            md = event["metadata"]
            self._seen.put(key, _Seen(md["name"], md["namespace"], 1, event["firstTimestamp"]))
            return event, False
        seen.count += 1
        out = dict(event)
        out["metadata"] = dict(event["metadata"], name=seen.name, namespace=seen.namespace)
        out["count"] = seen.count
        out["firstTimestamp"] = seen.first_timestamp
        return out, True

    def allow(self, event: dict) -> bool:
        """EventSourceObjectSpamFilter: a token bucket per spam key; False means drop the event."""
        now = self.clock()
        key = spam_key(event)
        bucket: _Bucket | None = self._buckets.get_fresh(key)
        if bucket is None:
            bucket = _Bucket(float(self.spam_burst), now)
        else:
            bucket.tokens = min(float(self.spam_burst), bucket.tokens + (now - bucket.at) * self.spam_qps)
            bucket.at = now
        self._buckets.put(key, bucket)
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True

    def forget(self, event: dict) -> None:
        """The written event vanished (TTL): the next repeat creates a fresh one."""
        self._seen.pop(aggregate_key(event), None)


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
        # Correlated here, in call order, rather than in the writer: what the spam filter drops never
        # takes a place in the queue (client-go's sink does the same work, one goroutine further on).
        result = self.correlator.correlate(event)
        if result.skip:
            return
        try:
            self._queue.put_nowait(result)
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
            result = await self._queue.get()
            try:
                await self._write(result)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # an event is best effort: never take the writer down
                log.debug("dropping event %s: %s", result.event.get("reason"), e)
            finally:
                self._queue.task_done()

    async def _write(self, result: Correlated) -> None:
        out = result.event
        md = out["metadata"]
        if result.patch:
            patch = {"count": out["count"], "lastTimestamp": out["lastTimestamp"], "message": out["message"]}
            try:
                await self.client.patch("Event", md["name"], patch, namespace=md["namespace"])
                self.written += 1
                return
            except ApiError as e:
                if e.code != 404:
                    raise
            # the first one expired (event TTL) or was never written: create it, count and all, like client-go
        try:
            await self.client.create(out)
            self.written += 1
        except ApiError as e:
            if e.code == 409:
                return  # a retry of a create that did land
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
