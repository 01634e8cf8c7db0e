"""The informer: subscribe, list, apply sequenced events to a cache with indexes, relist on any doubt.

Like client-go's reflector + thread-safe store + indexer + handlers, with the ZeroMQ Guide's Clone
pattern for the channel: every topic is sequenced, idle topics get bookmarks, and a gap, a silence,
a sequence reset or a new API server makes the informer relist and replace its cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from control.aio import cancel_and_wait
from control.api import kinds
from control.api.fieldsel import parse_field_selector
from control.api.labels import parse_selector
from control.apiserver.watch import node_topic
from control.client import Client
from control.errors import ApiError

log = logging.getLogger("kube_tui.informer")

Key = tuple[str, str]  # (namespace or "", name)
SUBSCRIBE_WAIT = 2.0  # seconds: the most the first list waits for the subscription to be live
AddFn = Callable[[dict], None]
UpdateFn = Callable[[dict, dict], None]
DeleteFn = Callable[[dict], None]


def key_of(obj: dict) -> Key:
    md = obj.get("metadata") or {}
    return (md.get("namespace") or "", md.get("name") or "")


class Informer:
    """A cache of one kind (optionally one namespace, one node's pods, a label selector, a field selector) kept
    in sync. The field selector is for a few objects out of many (metadata.name=web: kubectl wait's one object);
    the topic still carries every object of the kind, each event is matched here."""

    def __init__(
        self,
        client: Client,
        kind: str,
        *,
        namespace: str | None = None,
        node_name: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        silence_timeout: float = 3.5,
    ) -> None:
        self.client = client
        self.info = kinds.lookup(kind)
        self.namespace = namespace if self.info.namespaced else None
        self.node_name = node_name
        self.label_selector = label_selector
        self._selector = parse_selector(label_selector)
        self.silence_timeout = silence_timeout
        # matched against each event: a node's topic carries only its own pods, so it needs none
        self._fields = parse_field_selector(field_selector, self.info.kind)
        if node_name is not None:
            if self.info.kind != "Pod" or field_selector:
                raise ValueError("node_name is only for pod informers, without a field selector")
            self.topic = node_topic(node_name)
            self.field_selector = f"spec.nodeName={node_name}"
        else:
            self.topic = self.info.topic()
            self.field_selector = field_selector
        self.cache: dict[Key, dict] = {}
        self.seq = 0
        self.revision = 0
        self.relists = 0
        self.events = 0
        self.last_heard = 0.0
        self.synced = False
        self._synced_event = asyncio.Event()
        self._handlers: list[tuple[AddFn | None, UpdateFn | None, DeleteFn | None]] = []
        self._index_fns: dict[str, Callable[[dict], list[str]]] = {}
        self._indexes: dict[str, dict[str, set[Key]]] = {}
        self._listing = False
        self._buffer: list[dict] = []
        self._need_relist = asyncio.Event()
        self._heard = asyncio.Event()  # the first message on the topic: the subscription is live
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self.relist_reasons: dict[str, int] = {}
        self.observers: list[Callable[[str, dict, dict | None], None]] = []  # (type, obj, event) for the flow view

    # -- public -----------------------------------------------------------------------------------
    def add_handler(self, on_add: AddFn | None = None, on_update: UpdateFn | None = None, on_delete: DeleteFn | None = None) -> None:
        self._handlers.append((on_add, on_update, on_delete))
        for obj in list(self.cache.values()):  # a late handler still hears about everything cached
            if on_add:
                on_add(obj)

    def add_index(self, name: str, fn: Callable[[dict], list[str]]) -> None:
        self._index_fns[name] = fn
        idx: dict[str, set[Key]] = {}
        for k, obj in self.cache.items():
            for v in fn(obj):
                idx.setdefault(v, set()).add(k)
        self._indexes[name] = idx

    def by_index(self, name: str, value: str) -> list[dict]:
        keys = self._indexes[name].get(value, ())
        return [self.cache[k] for k in keys if k in self.cache]

    def get(self, namespace: str | None, name: str) -> dict | None:
        return self.cache.get((namespace or "" if self.info.namespaced else "", name))

    def list(self) -> list[dict]:
        return list(self.cache.values())

    def __len__(self) -> int:
        return len(self.cache)

    async def start(self) -> None:
        if self.client.server_id is None:
            await self.client.connect()
        if self.client.topic_live(self.topic):
            self._heard.set()  # another informer on this client already hears the topic
        self._unsubscribe = self.client.subscribe(self.topic, self._on_event)
        self.client.on_server_change.append(self._on_server_change)
        self._task = asyncio.create_task(self._run(), name=f"informer-{self.info.resource}")

    async def wait_synced(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._synced_event.wait(), timeout)

    async def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        if self._on_server_change in self.client.on_server_change:
            self.client.on_server_change.remove(self._on_server_change)
        if self._task:
            await cancel_and_wait([self._task])

    def request_relist(self, reason: str) -> None:
        self.relist_reasons[reason] = self.relist_reasons.get(reason, 0) + 1
        self._need_relist.set()

    # -- the loop -----------------------------------------------------------------------------------
    async def _run(self) -> None:
        # Subscribe, then list: the list must not be taken before the subscription reaches the API
        # server, or what changes in between is missed (and healed only by a relist). The server
        # answers a new subscription with a bookmark; an older one sends it at its next tick.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._heard.wait(), min(SUBSCRIBE_WAIT, self.silence_timeout))
        backoff = 0.05
        while True:
            self._need_relist.clear()
            try:
                await self._relist()
                backoff = 0.05
            except ApiError as e:
                log.warning("informer %s: list failed (%s); retrying", self.info.resource, e.message)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            while not self._need_relist.is_set():
                try:
                    await asyncio.wait_for(self._need_relist.wait(), self.silence_timeout / 2)
                except TimeoutError:
                    if time.monotonic() - self.last_heard > self.silence_timeout:
                        self.request_relist("silence")

    async def _relist(self) -> None:
        self._listing = True
        self._buffer = []
        try:
            answer = await self._list()
        except BaseException:
            self._listing = False
            raise
        self.relists += 1 if self.synced else 0
        self.revision = int(answer["revision"])
        self.seq = int(answer["seq"])
        self.last_heard = time.monotonic()
        self._replace(self._listed(answer))
        buffered, self._buffer = self._buffer, []
        self._listing = False
        for ev in buffered:
            if self._need_relist.is_set():
                break
            self._apply(ev)
        if not self.synced:
            self.synced = True
            self._synced_event.set()

    async def _list(self) -> dict:
        """The list to start from, with the revision and the topic's seq it is consistent with."""
        return await self.client.list(
            self.info.kind,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            topic=self.topic,
        )

    def _listed(self, answer: dict) -> dict[Key, dict]:
        """The list's objects by key: what the cache becomes."""
        return {key_of(o): o for o in answer["items"]}

    def _replace(self, fresh: dict[Key, dict]) -> None:
        old = self.cache
        self.cache = {}
        for name in self._indexes:
            self._indexes[name] = {}
        for k, obj in fresh.items():
            self._store(k, obj)
        for k, obj in old.items():
            if k not in fresh:
                self._notify("DELETED", obj, None)
        for k, obj in fresh.items():
            prev = old.get(k)
            if prev is None:
                self._notify("ADDED", obj, None)
            elif _rv(prev) != _rv(obj):
                self._notify("MODIFIED", obj, None, prev)

    # -- events ---------------------------------------------------------------------------------------
    def _on_server_change(self, server_id: str) -> None:
        self.request_relist("server-changed")

    def _on_event(self, ev: dict) -> None:
        self.last_heard = time.monotonic()
        if not self.synced:
            self._heard.set()
        if self._listing:
            self._buffer.append(ev)
        elif self.synced and not self._need_relist.is_set():
            self._apply(ev)

    def _in_sequence(self, ev: dict) -> bool:
        """True for the next event in the topic's sequence (seq and revision move on to it).

        Bookmarks, duplicates and gaps are dealt with here: a relist on a gap or a reset sequence.
        """
        seq = ev["seq"]
        if ev["type"] == "BOOKMARK":
            if seq > self.seq:
                self.request_relist("gap")
            elif seq < self.seq:
                self.request_relist("sequence-reset")
            else:
                self.revision = max(self.revision, ev["rev"])
            return False
        if seq != self.seq + 1:
            if seq > self.seq:
                self.request_relist("gap")
            elif seq < self.seq - 100_000:
                self.request_relist("sequence-reset")  # far behind, not a duplicate: the sequence started again
            return False  # else a duplicate, or older than our list
        self.seq = seq
        rev = ev["rev"]
        if rev > self.revision:
            self.revision = rev
        self.events += 1
        return True

    def _apply(self, ev: dict) -> None:
        if not self._in_sequence(ev):
            return
        obj = ev["object"]
        md = obj.get("metadata") or {}
        k = (md.get("namespace") or "", md.get("name") or "")  # key_of(obj)
        if self.namespace and k[0] != self.namespace:
            return
        selector, fields = self._selector, self._fields
        matches = (selector.empty or selector.matches(md.get("labels") or {})) and (fields.empty or fields.matches(obj))
        prev = self.cache.get(k)
        if ev["type"] == "DELETED" or not matches:
            if prev is not None:
                self._unstore(k, prev)
                self._notify("DELETED", obj, ev)
            return
        # The event's revision is its object's resourceVersion, already an int.
        if prev is not None and _rv(prev) >= ev["rev"]:
            return  # already newer in the cache
        self._store(k, obj, prev)
        self._notify("ADDED" if prev is None else "MODIFIED", obj, ev, prev)

    # -- cache and indexes --------------------------------------------------------------------------
    def _store(self, k: Key, obj: dict, prev: dict | None = None) -> None:
        """Cache obj under k, in place of prev (what the cache holds for k, if anything)."""
        if prev is not None:
            self._unindex(k, prev)
        self.cache[k] = obj
        for name, fn in self._index_fns.items():
            idx = self._indexes[name]
            for v in fn(obj):
                idx.setdefault(v, set()).add(k)

    def _unstore(self, k: Key, obj: dict) -> None:
        self._unindex(k, obj)
        self.cache.pop(k, None)

    def _unindex(self, k: Key, obj: dict) -> None:
        for name, fn in self._index_fns.items():
            idx = self._indexes[name]
            for v in fn(obj):
                s = idx.get(v)
                if s is not None:
                    s.discard(k)
                    if not s:
                        del idx[v]

    def _notify(self, type_: str, obj: dict, ev: dict | None, prev: dict | None = None) -> None:
        for on_add, on_update, on_delete in self._handlers:
            try:
                if type_ == "ADDED" and on_add:
                    on_add(obj)
                elif type_ == "MODIFIED" and on_update:
                    on_update(prev if prev is not None else obj, obj)
                elif type_ == "DELETED" and on_delete:
                    on_delete(obj)
            except Exception:
                log.exception("informer %s: handler failed", self.info.resource)
        for fn in self.observers:
            fn(type_, obj, ev)


def _rv(obj: dict) -> int:
    try:
        return int((obj.get("metadata") or {}).get("resourceVersion") or 0)
    except ValueError:
        return 0


def namespaced_name(obj: dict) -> str:
    ns, name = key_of(obj)
    return f"{ns}/{name}" if ns else name

