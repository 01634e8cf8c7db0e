"""A SharedInformerFactory: one Informer per (kind, namespace), shared by every controller of the manager."""

from __future__ import annotations

import asyncio

from control.client import Client
from control.informer import Informer


def pod_node_name(pod: dict) -> list[str]:
    node = (pod.get("spec") or {}).get("nodeName")
    return [node] if node else []


def namespace_of(obj: dict) -> list[str]:
    return [(obj.get("metadata") or {}).get("namespace") or ""]


def controller_uid(obj: dict) -> list[str]:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller") and ref.get("uid"):
            return [ref["uid"]]
    return []


def orphan_namespace(obj: dict) -> list[str]:
    if controller_uid(obj):
        return []
    return [(obj.get("metadata") or {}).get("namespace") or ""]


def owner_uids(obj: dict) -> list[str]:
    return [r["uid"] for r in (obj.get("metadata") or {}).get("ownerReferences") or [] if r.get("uid")]


# Indexes every informer gets, so controllers never scan a whole cache for one namespace or owner.
BY_NAMESPACE = "namespace"
BY_CONTROLLER = "controller-uid"
BY_OWNER = "owner-uid"
BY_ORPHAN = "orphan-namespace"  # objects with no controller, by namespace: the candidates for adoption
BY_NODE = "spec.nodeName"


class SharedInformers:
    """Hands out informers lazily; `start()` starts all of them once, `stop()` stops them."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._informers: dict[tuple[str, str | None], Informer] = {}
        self._started = False

    def get(self, kind: str, namespace: str | None = None) -> Informer:
        key = (kind, namespace)
        inf = self._informers.get(key)
        if inf is None:
            if self._started:
                raise RuntimeError(f"informer for {kind} requested after the factory started")
            inf = Informer(self.client, kind, namespace=namespace)
            if inf.info.namespaced:
                inf.add_index(BY_NAMESPACE, namespace_of)
            inf.add_index(BY_CONTROLLER, controller_uid)
            inf.add_index(BY_ORPHAN, orphan_namespace)
            inf.add_index(BY_OWNER, owner_uids)
            if inf.info.kind == "Pod":
                inf.add_index(BY_NODE, pod_node_name)
            self._informers[key] = inf
        return inf

    @staticmethod
    def claim_candidates(inf: Informer, owner: dict) -> list[dict]:
        """What an owner may claim: what it controls now, and the orphans of its namespace."""
        md = owner.get("metadata") or {}
        return inf.by_index(BY_CONTROLLER, md.get("uid", "")) + inf.by_index(BY_ORPHAN, md.get("namespace") or "")

    def all(self) -> list[Informer]:
        return list(self._informers.values())

    async def start(self, sync_timeout: float = 30.0) -> None:
        self._started = True
        for inf in self._informers.values():
            await inf.start()
        await asyncio.gather(*(inf.wait_synced(sync_timeout) for inf in self._informers.values()))

    async def stop(self) -> None:
        await asyncio.gather(*(inf.stop() for inf in self._informers.values()), return_exceptions=True)
