"""The garbage collector (pkg/controller/garbagecollector): cascading deletion through ownerReferences.

Background: a dependent whose owners are all gone (deleted, or a different uid under that name) is
deleted. `orphan` finalizer: the owner's dependents lose their reference to it, then the finalizer is
removed and the server deletes the owner. `foregroundDeletion`: the blocking dependents are deleted
first, then the finalizer is removed.
"""

from __future__ import annotations

import copy

from control.api import kinds
from control.client import Client
from control.controllers.base import Controller
from control.controllers.events import EventBroadcaster
from control.controllers.informers import BY_OWNER, SharedInformers
from control.errors import ApiError
from control.informer import Informer
from control.timings import Timings

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"

# Kinds whose objects can be dependents (have ownerReferences) and whose deletion cascades.
DEPENDENT_KINDS = ("Pod", "ReplicaSet", "Deployment", "DaemonSet", "StatefulSet", "ControllerRevision", "Job", "CronJob",
                   "Endpoints", "EndpointSlice", "Lease", "ConfigMap", "Secret", "PersistentVolumeClaim")
# Kinds that can only be owners here (cached, so that lookups of them are cheap).
OWNER_ONLY_KINDS = ("Node", "Service")  # a Service owns its EndpointSlices

GCKey = tuple[str, str, str]  # (kind, namespace, name)


def _md(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _finalizers(obj: dict) -> list[str]:
    return list(_md(obj).get("finalizers") or [])


def deleting_dependents(obj: dict) -> bool:
    return bool(_md(obj).get("deletionTimestamp")) and FOREGROUND in _finalizers(obj)


def classify_owners(refs: list[dict], owners: dict[str, dict | None]) -> tuple[list[dict], list[dict], list[dict]]:
    """Split ownerReferences into (solid, dangling, waiting for dependents' deletion).

    `owners` maps each reference's uid to the live owner with that uid, or None when it is absent.
    """
    solid: list[dict] = []
    dangling: list[dict] = []
    waiting: list[dict] = []
    for ref in refs:
        owner = owners.get(ref.get("uid", ""))
        if owner is None:
            dangling.append(ref)
        elif deleting_dependents(owner):
            waiting.append(ref)
        else:
            solid.append(ref)
    return solid, dangling, waiting


class GarbageCollector(Controller):
    name = "garbage-collector-controller"
    workers = 10

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.gc_queue = self.queue  # keys here are (kind, namespace, name)
        self.informers_by_kind: dict[str, Informer] = {}
        for kind in DEPENDENT_KINDS:
            inf = informers.get(kind)
            self.informers_by_kind[kind] = inf
            inf.add_handler(
                lambda obj, kind=kind: self._changed(kind, obj),
                lambda old, new, kind=kind: self._changed(kind, new),
                lambda obj, kind=kind: self._deleted(kind, obj),
            )
        for kind in OWNER_ONLY_KINDS:
            inf = informers.get(kind)
            self.informers_by_kind[kind] = inf
            inf.add_handler(on_delete=lambda obj, kind=kind: self._deleted(kind, obj))

    def _key(self, kind: str, obj: dict) -> GCKey:
        md = _md(obj)
        return (kind, md.get("namespace") or "", md.get("name") or "")

    def _changed(self, kind: str, obj: dict) -> None:
        md = _md(obj)
        if md.get("ownerReferences") or (md.get("deletionTimestamp") and {ORPHAN, FOREGROUND} & set(_finalizers(obj))):
            self.queue.add(self._key(kind, obj))  # type: ignore[arg-type]

    def _deleted(self, kind: str, obj: dict) -> None:
        uid = _md(obj).get("uid")
        if uid:
            for dep_kind, dep in self.dependents(uid):
                self.queue.add(self._key(dep_kind, dep))  # type: ignore[arg-type]
        # an owner deleting in the foreground may have been waiting for exactly this dependent
        for ref in _md(obj).get("ownerReferences") or []:
            inf = self.informers_by_kind.get(ref.get("kind", ""))
            if inf is None:
                continue
            owner = inf.get(_md(obj).get("namespace") if inf.info.namespaced else None, ref.get("name", ""))
            if owner is not None and deleting_dependents(owner):
                self.queue.add(self._key(ref["kind"], owner))  # type: ignore[arg-type]

    def dependents(self, uid: str) -> list[tuple[str, dict]]:
        out: list[tuple[str, dict]] = []
        for kind in DEPENDENT_KINDS:
            out.extend((kind, o) for o in self.informers_by_kind[kind].by_index(BY_OWNER, uid))
        return out

    # -- sync ---------------------------------------------------------------------------------------------
    async def sync(self, key: GCKey) -> None:  # type: ignore[override]
        kind, ns, name = key
        inf = self.informers_by_kind[kind]
        obj = inf.get(ns or None, name)
        if obj is None:
            return
        md = _md(obj)
        if md.get("deletionTimestamp"):
            fins = _finalizers(obj)
            if ORPHAN in fins:
                await self._orphan_dependents(kind, obj)
            elif FOREGROUND in fins:
                await self._process_deleting_dependents(kind, obj)
            return
        if md.get("ownerReferences"):
            await self._attempt_to_delete(kind, obj)

    async def _owner(self, namespace: str, ref: dict) -> dict | None:
        """The live owner a reference points to, or None when absent (or the name now has another uid)."""
        try:
            info = kinds.by_kind(ref.get("kind", ""))
        except ApiError:
            return {"metadata": {"uid": ref.get("uid")}}  # a kind we don't serve: never collect on its account
        ns = namespace if info.namespaced else None
        inf = self.informers_by_kind.get(info.kind)
        if inf is not None:
            cached = inf.get(ns, ref.get("name", ""))
            if cached is not None and _md(cached).get("uid") == ref.get("uid"):
                return cached
        # Not cached (or another uid): ask the server, the cache may simply be behind.
        try:
            live = await self.client.get(info.kind, ref.get("name", ""), ns)
        except ApiError as e:
            if e.code == 404:
                return None
            raise
        return live if _md(live).get("uid") == ref.get("uid") else None

    async def _attempt_to_delete(self, kind: str, obj: dict) -> None:
        md = _md(obj)
        refs = list(md.get("ownerReferences") or [])
        owners = {r.get("uid", ""): await self._owner(md.get("namespace") or "", r) for r in refs}
        solid, dangling, waiting = classify_owners(refs, owners)
        if solid:
            if dangling or waiting:
                drop = {r.get("uid") for r in dangling + waiting}
                await self._patch_owner_refs(kind, obj, [r for r in refs if r.get("uid") not in drop])
            return
        fins = _finalizers(obj)
        if waiting and self.dependents(md.get("uid", "")):
            policy = "Foreground"  # the owner waits for us, and we have dependents of our own: they go first
        elif ORPHAN in fins:
            policy = "Orphan"
        elif FOREGROUND in fins:
            policy = "Foreground"
        else:
            policy = "Background"
        await self._delete(kind, obj, policy)

    async def _delete(self, kind: str, obj: dict, policy: str) -> None:
        md = _md(obj)
        try:
            live = await self.client.get(kind, md["name"], md.get("namespace"))
            if _md(live).get("uid") != md.get("uid"):
                return  # a new object took the name: not ours to delete (Preconditions{UID})
            await self.client.delete(kind, md["name"], md.get("namespace"), propagation_policy=policy)
        except ApiError as e:
            if e.code != 404:
                raise
        self.log.debug("deleted %s %s/%s (%s): its owners are gone", kind, md.get("namespace"), md.get("name"), policy)

    async def _patch_owner_refs(self, kind: str, obj: dict, refs: list[dict]) -> None:
        md = _md(obj)
        patch = {"metadata": {"ownerReferences": refs, "resourceVersion": md.get("resourceVersion")}}
        try:
            await self.client.patch(kind, md["name"], patch, namespace=md.get("namespace"))
        except ApiError as e:
            if e.code != 404:
                raise

    async def _orphan_dependents(self, kind: str, owner: dict) -> None:
        uid = _md(owner).get("uid", "")
        for dep_kind, dep in self.dependents(uid):
            refs = [r for r in _md(dep).get("ownerReferences") or [] if r.get("uid") != uid]
            await self._patch_owner_refs(dep_kind, dep, refs)
        await self._remove_finalizer(kind, owner, ORPHAN)

    async def _process_deleting_dependents(self, kind: str, owner: dict) -> None:
        uid = _md(owner).get("uid", "")
        blocking = []
        for dep_kind, dep in self.dependents(uid):
            ref = next((r for r in _md(dep).get("ownerReferences") or [] if r.get("uid") == uid), {})
            if ref.get("blockOwnerDeletion"):
                blocking.append((dep_kind, dep))
        if not blocking:
            await self._remove_finalizer(kind, owner, FOREGROUND)
            return
        for dep_kind, dep in blocking:
            if not deleting_dependents(dep):
                self.queue.add(self._key(dep_kind, dep))  # type: ignore[arg-type]

    async def _remove_finalizer(self, kind: str, obj: dict, finalizer: str) -> None:
        md = _md(obj)
        for _ in range(5):
            try:
                cur = await self.client.get(kind, md["name"], md.get("namespace"))
            except ApiError as e:
                if e.code == 404:
                    return
                raise
            if _md(cur).get("uid") != md.get("uid") or finalizer not in _finalizers(cur):
                return
            new = copy.deepcopy(cur)
            new["metadata"]["finalizers"] = [f for f in _finalizers(cur) if f != finalizer]
            try:
                await self.client.update(new)
                return
            except ApiError as e:
                if e.code == 404:
                    return
                if e.code != 409:
                    raise
        raise ApiError(409, "Conflict", f"could not remove finalizer {finalizer} from {kind} {md.get('name')}")
