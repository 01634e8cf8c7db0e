"""EndpointSlices (discovery.k8s.io/v1): the labels that tie a slice to its Service and manager, and how
readers (kube-proxy, kubectl describe) pick a Service's addresses out of its slices."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
CONTROLLER = "endpointslice-controller.k8s.io"
MIRRORING_CONTROLLER = "endpointslicemirroring-controller.k8s.io"
MAX_ENDPOINTS_PER_SLICE = 100  # kube-controller-manager's --max-endpoints-per-slice default
ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")
ZONE_LABEL = "topology.kubernetes.io/zone"


def service_name(slice_: Mapping[str, Any]) -> str:
    return str(((slice_.get("metadata") or {}).get("labels") or {}).get(SERVICE_NAME_LABEL) or "")


def condition(endpoint: Mapping[str, Any], name: str) -> bool:
    """An endpoint's condition; an unset ready or serving means true (the API's "unknown: assume ready")."""
    value = (endpoint.get("conditions") or {}).get(name)
    if name == "terminating":
        return bool(value)
    return value is None or bool(value)


def port_endpoints(slices: Iterable[Mapping[str, Any]], port_name: str, protocol: str = "TCP") -> list[tuple[str, int]]:
    """The addresses kube-proxy sends a Service port's traffic to, from its slices' ports of that name: the
    ready endpoints, or when none is ready the serving terminating ones (kube-proxy's fallback); sorted."""
    ready: set[tuple[str, int]] = set()
    fallback: set[tuple[str, int]] = set()
    for s in slices:
        if s.get("addressType") not in (None, "IPv4", "IPv6"):
            continue
        port = next((int(p["port"]) for p in s.get("ports") or []
                     if (p.get("name") or "") == port_name and str(p.get("protocol") or "TCP").upper() == protocol
                     and p.get("port")), None)
        if port is None:
            continue
        for ep in s.get("endpoints") or []:
            addresses = ep.get("addresses") or []
            if not addresses:
                continue
            if condition(ep, "ready"):
                ready.add((str(addresses[0]), port))
            elif condition(ep, "serving") and condition(ep, "terminating"):
                fallback.add((str(addresses[0]), port))
    return sorted(ready or fallback)
