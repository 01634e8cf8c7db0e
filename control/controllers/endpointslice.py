"""The EndpointSlice controller (pkg/controller/endpointslice): each selector Service's pods as EndpointSlices of
at most 100 endpoints, with ready/serving/terminating conditions; and the EndpointSliceMirroring controller
(pkg/controller/endpointslicemirroring), which copies the Endpoints of a Service without a selector into slices.

A slice is named `<service>-<5 random>` (generateName), labelled with the Service's name and its manager, and
owned by the Service, so the garbage collector deletes it with the Service. Endpoints that stay keep their slice;
new ones fill the slices with room before a new slice is made, and a slice left empty is deleted (one empty
slice, with no ports, stays for a Service with no endpoints at all, as Kubernetes keeps its placeholder).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from control.api import endpointslice as slices
from control.api import meta
from control.client import Client
from control.controllers import controller_utils as cu
from control.controllers.base import Controller
from control.controllers.endpoints import TRIGGER_TIME, find_port, service_selector, should_be_in_endpoints
from control.controllers.events import EventBroadcaster
from control.controllers.informers import BY_NAMESPACE, SharedInformers
from control.errors import ApiError
from control.informer import Informer, Key, key_of
from control.timings import Timings

HEADLESS_LABEL = "service.kubernetes.io/headless"
MIRRORED_ANNOTATIONS_SKIPPED = (TRIGGER_TIME, "kubectl.kubernetes.io/last-applied-configuration")
SliceKey = tuple[str, ...]  # a slice's ports, as compared: (name, port, protocol, appProtocol) each


def address_type(svc: dict) -> str:
    families = (svc.get("spec") or {}).get("ipFamilies") or ["IPv4"]
    return "IPv6" if families[0] == "IPv6" else "IPv4"


def _ip_key(address: str) -> tuple[int, Any]:
    try:
        return (0, ipaddress.ip_address(address))
    except ValueError:
        return (1, address)


def pod_endpoint(pod: dict, svc: dict, zones: dict[str, str]) -> dict[str, Any]:
    """podToEndpoint: the pod's address with its conditions, hostname, targetRef, node and zone."""
    md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    serving, terminating = cu.is_pod_ready(pod), cu.is_terminating(pod)
    ep: dict[str, Any] = {"addresses": [pod["status"]["podIP"]],
                          "conditions": {"ready": publish or (serving and not terminating), "serving": serving,
                                         "terminating": terminating}}
    if spec.get("hostname") and spec.get("subdomain") == (svc.get("metadata") or {}).get("name"):
        ep["hostname"] = spec["hostname"]
    ep["targetRef"] = {"kind": "Pod", "namespace": md.get("namespace") or "default", "name": md.get("name", ""),
                       "uid": md.get("uid", "")}
    if spec.get("nodeName"):
        ep["nodeName"] = spec["nodeName"]
        if zones.get(spec["nodeName"]):
            ep["zone"] = zones[spec["nodeName"]]
    return ep


def pod_ports(pod: dict, svc: dict) -> list[dict[str, Any]]:
    """getEndpointPorts: each Service port the pod serves, its targetPort resolved in the pod."""
    out = []
    for sp in (svc.get("spec") or {}).get("ports") or []:
        num = find_port(pod, sp)
        if num is None:
            continue
        p: dict[str, Any] = {"name": sp.get("name") or "", "port": num, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("appProtocol"):
            p["appProtocol"] = sp["appProtocol"]
        out.append(p)
    return out


def _ports_key(ports: list[dict[str, Any]]) -> SliceKey:
    return tuple(sorted(f"{p.get('name') or ''}/{p.get('port')}/{p.get('protocol') or 'TCP'}/{p.get('appProtocol') or ''}"
                        for p in ports or []))


def desired(svc: dict, pods: list[dict], zones: dict[str, str]) -> dict[SliceKey, tuple[list[dict], dict[str, dict]]]:
    """The endpoints a Service should have, grouped by their port list: {ports key: (ports, {address: endpoint})}."""
    out: dict[SliceKey, tuple[list[dict], dict[str, dict]]] = {}
    headless_without_ports = (svc.get("spec") or {}).get("clusterIP") == "None" and not (svc.get("spec") or {}).get("ports")
    for pod in pods:
        if not should_be_in_endpoints(pod, True):  # terminating pods stay, with terminating: true
            continue
        ports = pod_ports(pod, svc)
        if not ports and not headless_without_ports:
            continue
        ep = pod_endpoint(pod, svc, zones)
        out.setdefault(_ports_key(ports), (ports, {}))[1][ep["addresses"][0]] = ep
    return out


def plan(existing: list[dict], want: dict[SliceKey, tuple[list[dict], dict[str, dict]]], limit: int
         ) -> tuple[list[dict], list[dict], list[dict]]:
    """reconcileByAddressType, simplified: (slices to create, to update, to delete). Endpoints that stay keep
    their slice (updated in place when they change); the rest fill slices with room, then new slices."""
    creates: list[dict] = []
    updates: list[dict] = []
    deletes: list[dict] = []
    by_ports: dict[SliceKey, list[dict]] = {}
    for s in existing:
        if _ports_key(s.get("ports") or []) in want:
            by_ports.setdefault(_ports_key(s.get("ports") or []), []).append(s)
        else:
            deletes.append(s)
    for key, (ports, endpoints) in want.items():
        placed: set[str] = set()
        kept: list[tuple[dict, list[dict]]] = []
        for s in by_ports.get(key, []):
            eps = [endpoints[a] for ep in s.get("endpoints") or []
                   if (a := (ep.get("addresses") or [""])[0]) in endpoints and a not in placed]
            placed.update(ep["addresses"][0] for ep in eps)
            kept.append((s, eps))
        rest = sorted((a for a in endpoints if a not in placed), key=_ip_key)
        for s, eps in kept:
            room = limit - len(eps)
            if room > 0 and rest:
                eps, rest = eps + [endpoints[a] for a in rest[:room]], rest[room:]
            if not eps:
                deletes.append(s)
            elif eps != (s.get("endpoints") or []) or (s.get("ports") or []) != ports:
                updates.append({**s, "endpoints": eps, "ports": ports})
        while rest:
            creates.append({"endpoints": [endpoints[a] for a in rest[:limit]], "ports": ports})
            rest = rest[limit:]
    if not want:  # the placeholder: one empty slice, without ports, for a Service with no endpoints
        empty = next((s for s in deletes if not s.get("endpoints") and not s.get("ports")), None)
        if empty is not None:
            deletes.remove(empty)
        else:
            creates.append({"endpoints": [], "ports": []})
    return creates, updates, deletes


class _SliceWriter(Controller):
    """What both controllers share: the slices a Service owns in the cache, and writes that wait for the cache
    to see them (a create the informer has not delivered yet must not be made again)."""

    manager = ""

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.svc_informer = informers.get("Service")
        self.slice_informer = informers.get("EndpointSlice")
        self.slice_informer.add_handler(self._slice_changed, lambda old, new: self._slice_changed(new), self._slice_changed)
        # slice name -> resourceVersion written (None: deleted), per Service, until the cache has caught up
        self._written: dict[Key, dict[str, int | None]] = {}

    def _slice_changed(self, s: dict) -> None:
        labels = (s.get("metadata") or {}).get("labels") or {}
        if labels.get(slices.MANAGED_BY_LABEL) == self.manager and labels.get(slices.SERVICE_NAME_LABEL):
            self.queue.add(((s.get("metadata") or {}).get("namespace") or "", labels[slices.SERVICE_NAME_LABEL]))

    def owned(self, ns: str, name: str) -> list[dict]:
        return [s for s in self.slice_informer.by_index(BY_NAMESPACE, ns)
                if slices.service_name(s) == name
                and ((s.get("metadata") or {}).get("labels") or {}).get(slices.MANAGED_BY_LABEL) == self.manager]

    def cache_stale(self, key: Key) -> bool:
        written = self._written.get(key)
        if not written:
            return False
        for name, rv in list(written.items()):
            cur = self.slice_informer.get(key[0], name)
            seen = int((cur or {}).get("metadata", {}).get("resourceVersion") or 0)
            if (rv is None and cur is None) or (rv is not None and seen >= rv):
                del written[name]
        if written:
            self.queue.add_after(key, 0.05)
            return True
        return False

    def _wrote(self, key: Key, name: str, obj: dict | None) -> None:
        rv = int(obj["metadata"]["resourceVersion"]) if obj is not None else None
        self._written.setdefault(key, {})[name] = rv

    async def apply(self, key: Key, owner: dict, labels: dict[str, str], addr_type: str,
                    creates: list[dict], updates: list[dict], deletes: list[dict]) -> None:
        ns, name = key
        md = owner.get("metadata") or {}
        ref = {"apiVersion": "v1", "kind": owner.get("kind", "Service"), "name": name, "uid": md.get("uid", ""),
               "controller": True, "blockOwnerDeletion": True}
        now = meta.now()
        for s in deletes:
            sname = s["metadata"]["name"]
            try:
                await self.client.delete("EndpointSlice", sname, ns)
            except ApiError as e:
                if e.code != 404:
                    raise
            self._wrote(key, sname, None)
        for s in updates:
            smd = {**s["metadata"], "labels": labels}
            smd.setdefault("annotations", {})[TRIGGER_TIME] = now
            out = await self.client.update({**s, "metadata": smd})
            self._wrote(key, smd["name"], out)
        for s in creates:
            obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                   "metadata": {"generateName": f"{name}-", "namespace": ns, "labels": labels,
                                "annotations": {TRIGGER_TIME: now}, "ownerReferences": [ref]},
                   # Go's nil list: the placeholder's `endpoints: null`, and no ports
                   "addressType": addr_type, "endpoints": s["endpoints"] or None}
            if s["ports"]:
                obj["ports"] = s["ports"]
            out = await self.client.create(obj)
            self._wrote(key, out["metadata"]["name"], out)


class EndpointSliceController(_SliceWriter):
    name = "endpointslice-controller"
    manager = slices.CONTROLLER

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings,
                 max_endpoints_per_slice: int = slices.MAX_ENDPOINTS_PER_SLICE) -> None:
        super().__init__(client, informers, events, timings)
        self.max_endpoints = max_endpoints_per_slice
        self.pod_informer = informers.get("Pod")
        self.node_informer = informers.get("Node")
        self.svc_informer.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.pod_informer.add_handler(self._pod_changed, self._pod_updated, self._pod_changed)
        self.node_informer.add_handler(on_update=self._node_updated)

    def _services_for(self, pod: dict) -> list[dict]:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        return [svc for svc in self.svc_informer.by_index(BY_NAMESPACE, (pod.get("metadata") or {}).get("namespace") or "")
                if (sel := service_selector(svc)) is not None and sel.matches(labels)]

    def _pod_changed(self, pod: dict) -> None:
        for svc in self._services_for(pod):
            self.enqueue(svc)

    def _pod_updated(self, old: dict, new: dict) -> None:
        for svc in {key_of(s): s for s in self._services_for(old) + self._services_for(new)}.values():
            self.enqueue(svc)

    def _node_updated(self, old: dict, new: dict) -> None:
        def zone(n: dict) -> str | None:
            return ((n.get("metadata") or {}).get("labels") or {}).get(slices.ZONE_LABEL)
        if zone(old) != zone(new):  # its pods' endpoints carry the zone
            for svc in self.svc_informer.list():
                self.enqueue(svc)

    def _zones(self) -> dict[str, str]:
        return {n["metadata"]["name"]: z for n in self.node_informer.list()
                if (z := ((n.get("metadata") or {}).get("labels") or {}).get(slices.ZONE_LABEL))}

    async def sync(self, key: Key) -> None:
        ns, name = key
        svc = self.svc_informer.get(ns, name)
        if svc is None or service_selector(svc) is None or (svc.get("spec") or {}).get("type") == "ExternalName":
            # a Service's deletion takes its slices through the garbage collector (they are owned); a selector
            # removed (or an ExternalName) leaves no endpoints to manage: the controller's slices go
            if svc is not None:
                await self.apply(key, svc, {}, "", [], [], self.owned(ns, name))
            self._written.pop(key, None)
            return
        if self.cache_stale(key):
            return
        sel = service_selector(svc)
        assert sel is not None
        pods = [p for p in self.pod_informer.by_index(BY_NAMESPACE, ns)
                if sel.matches((p.get("metadata") or {}).get("labels") or {})]
        want = desired(svc, pods, self._zones())
        existing = self.owned(ns, name)
        creates, updates, deletes = plan(existing, want, self.max_endpoints)
        labels = {k: v for k, v in ((svc.get("metadata") or {}).get("labels") or {}).items()
                  if k not in (slices.SERVICE_NAME_LABEL, slices.MANAGED_BY_LABEL)}
        if (svc.get("spec") or {}).get("clusterIP") == "None":
            labels[HEADLESS_LABEL] = ""
        labels.update({slices.SERVICE_NAME_LABEL: name, slices.MANAGED_BY_LABEL: self.manager})
        # a slice whose labels fell behind the Service's is written too
        written = {s["metadata"]["name"] for s in updates + deletes}
        updates += [s for s in existing if s["metadata"]["name"] not in written
                    and ((s.get("metadata") or {}).get("labels") or {}) != labels]
        if creates or updates or deletes:
            await self.apply(key, svc, labels, address_type(svc), creates, updates, deletes)


def endpoints_to_slice_content(ep: dict) -> dict[SliceKey, tuple[list[dict], dict[str, dict]]]:
    """The mirroring controller's view of an Endpoints: each subset's ports with its ready and not ready
    addresses as endpoints (ready true or false)."""
    out: dict[SliceKey, tuple[list[dict], dict[str, dict]]] = {}
    for subset in ep.get("subsets") or []:
        ports = [{"name": p.get("name") or "", "port": p.get("port"), "protocol": p.get("protocol") or "TCP",
                  **({"appProtocol": p["appProtocol"]} if p.get("appProtocol") else {})}
                 for p in subset.get("ports") or []]
        group = out.setdefault(_ports_key(ports), (ports, {}))[1]
        for field, ready in (("addresses", True), ("notReadyAddresses", False)):
            for a in subset.get(field) or []:
                e: dict[str, Any] = {"addresses": [a["ip"]], "conditions": {"ready": ready}}
                if a.get("hostname"):
                    e["hostname"] = a["hostname"]
                if a.get("targetRef"):
                    e["targetRef"] = a["targetRef"]
                if a.get("nodeName"):
                    e["nodeName"] = a["nodeName"]
                group[a["ip"]] = e
    return out


class EndpointSliceMirroringController(_SliceWriter):
    """Endpoints of a Service without a selector (written by someone else) mirrored into slices; Endpoints
    labelled endpointslice.kubernetes.io/skip-mirror (the `kubernetes` Service's) are left alone."""

    name = "endpointslicemirroring-controller"
    manager = slices.MIRRORING_CONTROLLER

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.ep_informer: Informer = informers.get("Endpoints")
        self.ep_informer.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.svc_informer.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)

    async def sync(self, key: Key) -> None:
        ns, name = key
        svc = self.svc_informer.get(ns, name)
        ep = self.ep_informer.get(ns, name)
        existing = self.owned(ns, name)
        labels_of_ep = ((ep or {}).get("metadata") or {}).get("labels") or {}
        if (svc is None or ep is None or service_selector(svc) is not None
                or labels_of_ep.get(slices.SKIP_MIRROR_LABEL) == "true"):
            if existing and svc is not None:
                await self.apply(key, svc, {}, "", [], [], existing)
            self._written.pop(key, None)
            return
        if self.cache_stale(key):
            return
        assert ep is not None
        want = endpoints_to_slice_content(ep)
        want = {k: v for k, v in want.items() if v[1]}
        creates, updates, deletes = plan(existing, want, slices.MAX_ENDPOINTS_PER_SLICE)
        if not want:  # mirroring keeps no placeholder
            creates, updates, deletes = [], [], existing
        labels = {k: v for k, v in labels_of_ep.items() if k not in (slices.SERVICE_NAME_LABEL, slices.MANAGED_BY_LABEL)}
        labels.update({slices.SERVICE_NAME_LABEL: name, slices.MANAGED_BY_LABEL: self.manager})
        if creates or updates or deletes:
            await self.apply(key, svc, labels, address_type(svc), creates, updates, deletes)
