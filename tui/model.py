"""The dashboard's model: a pure watch client (one informer per kind, a mirror of the store's raw keys).

Changes are not pushed to the screen one by one: they mark objects dirty, and the UI takes the dirty
sets a few times a second (`take_dirty`), so thousands of events a second cost one update per tick.
Memory stays bounded: flow steps and events live in ring buffers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from control.api import kinds, quantity
from control.apiserver.watch import RAW_TOPIC
from control.client import Client
from control.errors import ApiError
from control.informer import Informer, Key, key_of
from tui.flow import USAGE_ANNOTATION, FlowLog

log = logging.getLogger("kube_tui.dashboard")

WATCHED_KINDS = ("Namespace", "Node", "Lease", "Pod", "ReplicaSet", "Deployment", "Service", "Endpoints", "EndpointSlice", "Event", "Job", "CronJob",
                 "DaemonSet", "StatefulSet",
                 "ConfigMap", "Secret", "ServiceAccount", "Ingress", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
                 "PriorityClass", "PodDisruptionBudget", "HorizontalPodAutoscaler",
                 "PersistentVolumeClaim", "PersistentVolume", "StorageClass", "ResourceQuota", "LimitRange")
TERMINAL_PHASES = ("Succeeded", "Failed")


@dataclass(slots=True)
class RawKey:
    """One store key as etcd describes it (the value is fetched on demand, not mirrored)."""

    key: str
    create_revision: int
    mod_revision: int
    version: int
    lease: int = 0


class RawMirror(Informer):
    """The store's keys and revisions from the raw topic, with the informer's list-watch rules.

    Reuses Informer's loop (subscribe, relist on gap / bookmark mismatch / silence / new server);
    only listing (a keys-only range with the raw topic's seq) and applying raw events differ.
    """

    def __init__(self, client: Client, *, silence_timeout: float = 3.5) -> None:
        super().__init__(client, "Namespace", silence_timeout=silence_timeout)
        self.info = kinds.KindInfo("RawKey", "raw", "v1", False)
        self.topic = RAW_TOPIC
        self.compact_revision = 0

    async def _list(self) -> dict:
        answer = await self.client.range("/registry/", prefix=True, keys_only=True, topic=True)
        self.compact_revision = int(answer.get("compact_revision") or 0)
        return answer

    def _listed(self, answer: dict) -> dict[Any, Any]:
        return {kv["key"]: _raw_key(kv) for kv in answer["kvs"]}

    def _replace(self, fresh: dict[Any, Any]) -> None:
        old, self.cache = self.cache, dict(fresh)
        for k, rk in old.items():
            if k not in fresh:
                self._notify("DELETED", rk, None)
        for k, rk in fresh.items():
            prev = old.get(k)
            if prev is None or prev.mod_revision != rk.mod_revision:
                self._notify("ADDED" if prev is None else "MODIFIED", rk, None, prev)

    def _apply(self, ev: dict) -> None:
        if not self._in_sequence(ev):
            return
        raw = ev["object"] or {}
        k = raw.get("key", "")
        prev = self.cache.get(k)
        if raw.get("type") == "DELETE":
            if prev is not None:
                del self.cache[k]
                self._notify("DELETED", prev, ev)
            return
        rk = _raw_key(raw)
        self.cache[k] = rk
        self._notify("ADDED" if prev is None else "MODIFIED", rk, ev, prev)


def _raw_key(kv: dict) -> RawKey:
    return RawKey(kv["key"], int(kv["create_revision"]), int(kv["mod_revision"]), int(kv["version"]), int(kv.get("lease") or 0))


@dataclass
class Changes:
    """What changed since the last tick: object keys per kind, raw store keys, and the newest flow step."""

    objects: dict[str, set[Key]] = field(default_factory=dict)
    raw: set[str] = field(default_factory=set)
    flow_seq: int = 0

    def __bool__(self) -> bool:
        return bool(self.objects or self.raw)


def pod_requests(pod: dict) -> tuple[int, int]:
    """Sum of the containers' requests (millicores, bytes), what the scheduler counts as allocated."""
    cpu = mem = 0
    for c in (pod.get("spec") or {}).get("containers") or []:
        req = (c.get("resources") or {}).get("requests") or {}
        try:
            cpu += quantity.milli(req.get("cpu", 0))
            mem += quantity.to_int(req.get("memory", 0))
        except (quantity.QuantityError, TypeError):
            continue
    return cpu, mem


class ClusterModel:
    """Caches of every watched kind plus the raw store keys; a source of dirty sets for the UI.

    With watch=False nothing is started: tests and the benchmark feed changes with `feed`/`feed_raw`.
    """

    def __init__(
        self,
        client: Any,
        *,
        watch: bool = True,
        clock: Callable[[], float] = time.time,
        kinds_watched: tuple[str, ...] = WATCHED_KINDS,
        flow_capacity: int = 5000,
        events_capacity: int = 1000,
    ) -> None:
        self.client = client
        self.server_restarts = 0  # a new API server instance answered (killed and started again): all relisted
        self.watch = watch
        self.clock = clock
        self.kinds = kinds_watched
        self.flow = FlowLog(flow_capacity)
        self.informers: dict[str, Informer] = {}
        self.raw: RawMirror | None = None
        self.changes = 0
        self.raw_changed_at: dict[str, float] = {}
        self._local: dict[str, dict[Key, dict]] = {k: {} for k in kinds_watched}
        self._raw_local: dict[str, RawKey] = {}
        self._raw_values: dict[str, dict] = {}
        self._fake_rev = 0
        self._events: OrderedDict[Key, dict] = OrderedDict()
        self._events_capacity = events_capacity
        self._dirty: dict[str, set[Key]] = {}
        self._dirty_raw: set[str] = set()
        self._prev: dict[str, dict] = {}
        self._pods_by_node: dict[str, set[Key]] = {}
        self._pod_node: dict[Key, str] = {}
        self._pod_requests: dict[Key, tuple[int, int]] = {}

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        if not self.watch:
            return
        self.client.on_server_change.append(self._server_changed)
        for kind in self.kinds:
            inf = Informer(self.client, kind)
            inf.add_handler(on_update=lambda old, new, kind=kind: self._prev.__setitem__(kind, old))
            inf.observers.append(lambda type_, obj, ev, kind=kind, inf=inf: self._observe(kind, inf, type_, obj, ev))
            self.informers[kind] = inf
        self.raw = RawMirror(self.client)
        self.raw.observers.append(self._observe_raw)
        for inf in [*self.informers.values(), self.raw]:
            await inf.start()

    def _server_changed(self, server_id: str) -> None:
        self.server_restarts += 1

    def unreachable_for(self) -> float | None:
        """Seconds since the API server was last heard, once a request found it not answering; None while it answers.

        From the last event heard rather than the failed request: the watch falls silent first, and a request
        finds out only after the informers' silence timeout and its own."""
        since = getattr(self.client, "unreachable_since", None)
        if since is None:
            return None
        heard = [inf.last_heard for inf in [*self.informers.values(), *([self.raw] if self.raw else [])] if inf.last_heard]
        return max(0.0, time.monotonic() - min(since, max(heard, default=since)))

    async def wait_synced(self, within: float = 10.0) -> None:
        await asyncio.gather(*(inf.wait_synced(within) for inf in [*self.informers.values(), *([self.raw] if self.raw else [])]))

    @property
    def synced(self) -> bool:
        return all(inf.synced for inf in self.informers.values()) and (self.raw is None or self.raw.synced)

    async def stop(self) -> None:
        if self._server_changed in getattr(self.client, "on_server_change", ()):
            self.client.on_server_change.remove(self._server_changed)
        for inf in [*self.informers.values(), *([self.raw] if self.raw else [])]:
            await inf.stop()

    # -- reading --------------------------------------------------------------------------------
    def objects(self, kind: str) -> dict[Key, dict]:
        if kind == "Event":
            return self._events
        inf = self.informers.get(kind)
        return inf.cache if inf is not None else self._local.get(kind, {})

    def get(self, kind: str, namespace: str | None, name: str) -> dict | None:
        return self.objects(kind).get((namespace or "", name))

    def pods_on(self, node: str) -> list[dict]:
        pods = self.objects("Pod")
        return [p for k in self._pods_by_node.get(node, ()) if (p := pods.get(k)) is not None]

    def pod_count(self, node: str) -> int:
        return len(self._pods_by_node.get(node, ()))

    def allocated(self, node: str) -> tuple[int, int]:
        """Sum of the requests of the node's pods that still hold resources."""
        cpu = mem = 0
        for k in self._pods_by_node.get(node, ()):
            c, m = self._pod_requests.get(k, (0, 0))
            cpu += c
            mem += m
        return cpu, mem

    def usage(self, node: dict) -> dict[str, tuple[int, int]]:
        """Per-pod usage the kubelet published on its Node: {"ns/pod": (millicores, bytes)}."""
        text = ((node.get("metadata") or {}).get("annotations") or {}).get(USAGE_ANNOTATION)
        if not text:
            return {}
        try:
            data = json.loads(text)
            return {k: (int(v[0]), int(v[1])) for k, v in data.items()}
        except (ValueError, TypeError, IndexError, AttributeError):
            return {}

    @property
    def revision(self) -> int:
        if self.raw is not None:
            return self.raw.revision
        return self._fake_rev

    @property
    def raw_keys(self) -> dict[str, RawKey]:
        return self.raw.cache if self.raw is not None else self._raw_local  # type: ignore[return-value]

    async def raw_value(self, key: str, revision: int = 0) -> dict | None:
        """A key's stored value and revisions, now or at `revision`; ApiError 410 when compacted."""
        if not self.watch:
            rk = self._raw_local.get(key)
            if rk is None or (revision and revision < rk.create_revision):
                return None
            return {"key": key, "create_revision": rk.create_revision, "mod_revision": rk.mod_revision,
                    "version": rk.version, "value": self._raw_values.get(key)}
        answer = await self.client.range(key, revision=revision)
        kvs = answer.get("kvs") or []
        return kvs[0] if kvs else None

    def take_dirty(self) -> Changes:
        out = Changes(self._dirty, self._dirty_raw, self.flow.last_seq)
        self._dirty, self._dirty_raw = {}, set()
        if len(self.raw_changed_at) > 4 * max(1000, len(self.raw_keys)):  # forget deleted keys' times
            live = self.raw_keys
            self.raw_changed_at = {k: v for k, v in self.raw_changed_at.items() if k in live}
        return out

    # -- applying changes ------------------------------------------------------------------------
    def _observe(self, kind: str, inf: Informer, type_: str, obj: dict, ev: dict | None) -> None:
        prev = self._prev.pop(kind, None) if type_ == "MODIFIED" else None
        try:
            self._on_change(kind, type_, obj, prev, ev, record=inf.synced)
        except Exception:  # one odd object must not stop the dashboard hearing the rest
            log.exception("dashboard: could not apply a %s change", kind)

    def _observe_raw(self, type_: str, rk: Any, ev: dict | None) -> None:
        self._dirty_raw.add(rk.key)
        self.raw_changed_at[rk.key] = self.clock()

    def _on_change(
        self, kind: str, type_: str, obj: dict, prev: dict | None, ev: dict | None, *, record: bool = True, t: float | None = None
    ) -> None:
        k = key_of(obj)
        self.changes += 1
        self._dirty.setdefault(kind, set()).add(k)
        if kind == "Pod":
            self._track_pod(k, type_, obj)
        elif kind == "Event":
            self._track_event(k, type_, obj)
        if record:
            rev = ev.get("rev") if ev else None
            self.flow.record(kind, type_, obj, prev, self.clock() if t is None else t, rev)

    def _track_pod(self, k: Key, type_: str, pod: dict) -> None:
        old_node = self._pod_node.pop(k, "")
        if old_node:
            self._pods_by_node.get(old_node, set()).discard(k)
            self._dirty.setdefault("Node", set()).add(("", old_node))
        self._pod_requests.pop(k, None)
        if type_ == "DELETED":
            return
        node = (pod.get("spec") or {}).get("nodeName") or ""
        if node and (pod.get("status") or {}).get("phase") not in TERMINAL_PHASES:
            self._pod_node[k] = node
            self._pods_by_node.setdefault(node, set()).add(k)
            self._pod_requests[k] = pod_requests(pod)
            self._dirty.setdefault("Node", set()).add(("", node))

    def _track_event(self, k: Key, type_: str, ev: dict) -> None:
        if type_ == "DELETED":
            self._events.pop(k, None)
            return
        self._events[k] = ev
        self._events.move_to_end(k)
        while len(self._events) > self._events_capacity:
            old, _ = self._events.popitem(last=False)
            self._dirty["Event"].add(old)

    # -- feeding without a server (tests, benchmark) -----------------------------------------------
    def feed(self, obj: dict, type_: str = "", *, t: float | None = None) -> None:
        """Apply one change as if an informer had heard it (ADDED/MODIFIED are inferred if type_ is empty)."""
        kind = obj["kind"]
        cache = self._local.setdefault(kind, {})
        k = key_of(obj)
        prev = cache.get(k)
        self._fake_rev += 1
        if type_ == "DELETED":
            cache.pop(k, None)
        else:
            type_ = "MODIFIED" if prev is not None else "ADDED"
            cache[k] = obj
        self._on_change(kind, type_, obj, prev, {"rev": self._fake_rev}, t=t)
        info = kinds.by_kind(kind)
        self.feed_raw(info.key(k[0] or None, k[1]), None if type_ == "DELETED" else obj)

    def feed_raw(self, key: str, value: dict | None) -> None:
        rev = self._fake_rev
        prev = self._raw_local.get(key)
        if value is None:
            self._raw_local.pop(key, None)
            self._raw_values.pop(key, None)
        else:
            create = prev.create_revision if prev else rev
            self._raw_local[key] = RawKey(key, create, rev, (prev.version if prev else 0) + 1)
            self._raw_values[key] = value
        self._dirty_raw.add(key)
        self.raw_changed_at[key] = self.clock()


__all__ = ["ApiError", "Changes", "ClusterModel", "RawKey", "RawMirror", "WATCHED_KINDS", "pod_requests"]
