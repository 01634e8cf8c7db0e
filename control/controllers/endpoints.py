"""The Endpoints controller (pkg/controller/endpoint): each selector Service's ready and not-ready pod addresses."""

from __future__ import annotations

from typing import Any

from control.api import meta
from control.api.labels import EQUALS, Requirement, Selector
from control.client import Client
from control.controllers import controller_utils as cu
from control.controllers.base import Controller
from control.controllers.events import EventBroadcaster
from control.controllers.informers import BY_NAMESPACE, SharedInformers
from control.errors import ApiError
from control.informer import Key, key_of
from control.timings import Timings

TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"


def service_selector(svc: dict) -> Selector | None:
    """The Service's selector (a plain map), or None when the Service manages its endpoints itself."""
    sel = (svc.get("spec") or {}).get("selector")
    if not sel:
        return None
    return Selector(tuple(Requirement(str(k), EQUALS, (str(v),)) for k, v in sorted(sel.items())))


def find_port(pod: dict, svc_port: dict) -> int | None:
    """podutil.FindPort: a numeric targetPort as is; a named one looked up in the pod's containers."""
    target = svc_port.get("targetPort")
    if target is None or target == "" or target == 0:
        target = svc_port.get("port")
    if isinstance(target, int):
        return target
    s = str(target)
    if s.isdigit():
        return int(s)
    proto = svc_port.get("protocol") or "TCP"
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == s and (p.get("protocol") or "TCP") == proto:
                return int(p["containerPort"])
    return None


def should_be_in_endpoints(pod: dict, publish_not_ready: bool) -> bool:
    """endpointsliceutil.ShouldPodBeInEndpoints: has an IP, not terminal, not terminating (unless published)."""
    if not (pod.get("status") or {}).get("podIP"):
        return False
    if cu.phase(pod) in ("Failed", "Succeeded"):
        return False
    if cu.is_terminating(pod) and not publish_not_ready:
        return False
    return True


def _address(pod: dict, svc: dict) -> dict:
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    addr: dict[str, Any] = {"ip": pod["status"]["podIP"]}
    if spec.get("nodeName"):
        addr["nodeName"] = spec["nodeName"]
    if spec.get("hostname") and spec.get("subdomain") == (svc.get("metadata") or {}).get("name"):
        addr["hostname"] = spec["hostname"]
    addr["targetRef"] = {"kind": "Pod", "namespace": md.get("namespace") or "default", "name": md.get("name", ""), "uid": md.get("uid", "")}
    return addr


def compute_subsets(svc: dict, pods: list[dict]) -> list[dict]:
    """The Endpoints subsets for a Service and the pods its selector matches, repacked like RepackSubsets."""
    spec = svc.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    ports = spec.get("ports") or []
    # address ip -> (address, ready, {ports})
    table: dict[tuple[str, bool], tuple[dict, set[tuple]]] = {}
    for pod in pods:
        if not should_be_in_endpoints(pod, publish):
            continue
        ready = publish or cu.is_pod_ready(pod)
        addr = _address(pod, svc)
        if not ports:
            if spec.get("clusterIP") == "None":
                table.setdefault((addr["ip"], ready), (addr, set()))
            continue
        for sp in ports:
            num = find_port(pod, sp)
            if num is None:
                continue  # a named port this pod doesn't have: it serves the others only
            port = (sp.get("name") or "", num, sp.get("protocol") or "TCP", sp.get("appProtocol"))
            table.setdefault((addr["ip"], ready), (addr, set()))[1].add(port)
    # group addresses by identical port sets
    groups: dict[frozenset, dict[str, list[dict]]] = {}
    for (_ip, ready), (addr, port_set) in table.items():
        g = groups.setdefault(frozenset(port_set), {"addresses": [], "notReadyAddresses": []})
        g["addresses" if ready else "notReadyAddresses"].append(addr)
    subsets = []
    for port_set, g in groups.items():
        subset: dict[str, Any] = {}
        for k in ("addresses", "notReadyAddresses"):
            if g[k]:
                subset[k] = sorted(g[k], key=lambda a: (_ip_key(a["ip"]), a["targetRef"]["name"]))
        if port_set:
            out_ports = []
            for name, num, proto, app in sorted(port_set, key=lambda p: (p[0], p[1], p[2])):
                p: dict[str, Any] = {"port": num, "protocol": proto}
                if name:
                    p["name"] = name
                if app:
                    p["appProtocol"] = app
                out_ports.append(p)
            subset["ports"] = out_ports
        subsets.append(subset)
    subsets.sort(key=lambda s: _ip_key(((s.get("addresses") or s.get("notReadyAddresses") or [{}])[0]).get("ip", "")))
    return subsets


def _ip_key(ip: str) -> tuple:
    try:
        return tuple(int(x) for x in ip.split("."))
    except ValueError:
        return (ip,)


class EndpointsController(Controller):
    name = "endpoint-controller"

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.svc_informer = informers.get("Service")
        self.pod_informer = informers.get("Pod")
        self.ep_informer = informers.get("Endpoints")
        self.svc_informer.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self.enqueue)
        self.pod_informer.add_handler(self._pod_changed, self._pod_updated, self._pod_changed)
        self.ep_informer.add_handler(on_update=lambda old, new: self._ep_changed(new), on_delete=self._ep_changed)

    def _services_for(self, pod: dict) -> list[dict]:
        labels = (pod.get("metadata") or {}).get("labels") or {}
        out = []
        for svc in self.svc_informer.by_index(BY_NAMESPACE, (pod.get("metadata") or {}).get("namespace") or ""):
            sel = service_selector(svc)
            if sel is not None and sel.matches(labels):
                out.append(svc)
        return out

    def _pod_changed(self, pod: dict) -> None:
        for svc in self._services_for(pod):
            self.enqueue(svc)

    def _pod_updated(self, old: dict, new: dict) -> None:
        seen = set()
        for svc in self._services_for(old) + self._services_for(new):
            k = key_of(svc)
            if k not in seen:
                seen.add(k)
                self.queue.add(k)

    def _ep_changed(self, ep: dict) -> None:
        # someone else touched an Endpoints we manage: put it back
        md = ep.get("metadata") or {}
        if self.svc_informer.get(md.get("namespace"), md.get("name", "")) is not None:
            self.enqueue(ep)

    async def sync(self, key: Key) -> None:
        ns, name = key
        svc = self.svc_informer.get(ns, name)
        if svc is None:
            # the Service is gone: so are its Endpoints
            if self.ep_informer.get(ns, name) is not None:
                try:
                    await self.client.delete("Endpoints", name, ns)
                except ApiError as e:
                    if e.code != 404:
                        raise
            return
        sel = service_selector(svc)
        if sel is None:
            return
        pods = [p for p in self.pod_informer.by_index(BY_NAMESPACE, ns) if sel.matches((p.get("metadata") or {}).get("labels") or {})]
        subsets = compute_subsets(svc, pods)
        labels = dict((svc.get("metadata") or {}).get("labels") or {})
        cur = self.ep_informer.get(ns, name)
        if cur is not None and (cur.get("subsets") or []) == subsets and ((cur.get("metadata") or {}).get("labels") or {}) == labels:
            return  # nothing changed: no write
        md: dict[str, Any] = {"name": name, "namespace": ns, "annotations": {TRIGGER_TIME: meta.now()}}
        if labels:
            md["labels"] = labels
        ep: dict[str, Any] = {"apiVersion": "v1", "kind": "Endpoints", "metadata": md}
        if subsets:
            ep["subsets"] = subsets
        if cur is None:
            try:
                await self.client.create(ep)
                return
            except ApiError as e:
                if e.code != 409:
                    raise
                cur = await self.client.get("Endpoints", name, ns)
        md["resourceVersion"] = cur["metadata"]["resourceVersion"]
        for k in ("uid", "creationTimestamp"):
            if k in cur["metadata"]:
                md[k] = cur["metadata"][k]
        await self.client.update(ep)
