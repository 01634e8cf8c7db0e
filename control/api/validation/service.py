"""Services and the Endpoints that back them."""

from __future__ import annotations

from typing import Any

from control.api.labels import is_dns1123_label, is_dns1123_subdomain
from control.api.validation.field import (
    Errors,
    as_dict,
    as_item,
    as_list,
    check_name,
    duplicate,
    forbidden,
    invalid,
    is_ip,
    not_supported,
    required,
    shown,
    str_field,
)
from control.api.validation.meta import validate_labels
from control.api.validation.ports import port_num, port_num_or_name, protocol


def _port_name(errs: Errors, name: Any, path: str, *, several: bool) -> bool:
    """A Service or Endpoints port's name: a DNS label, required when there are several ports; True if set."""
    if not name:
        if several:
            required(errs, path)
        return False
    check_name(errs, str(name), path, is_dns1123_label)
    return True


SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")


def validate_service(obj: dict[str, Any], errs: Errors) -> None:
    spec = as_dict(errs, obj.get("spec"), "spec")
    if spec is None:
        required(errs, "spec.ports")
        return
    kind = spec.get("type") or "ClusterIP"
    if kind not in SERVICE_TYPES:
        not_supported(errs, "spec.type", shown(kind), SERVICE_TYPES)
    cluster_ip = spec.get("clusterIP") or ""
    headless = cluster_ip == "None"
    ports = as_list(errs, spec.get("ports"), "spec.ports")
    if kind == "ExternalName":
        external = str_field(errs, spec, "externalName", "spec.externalName")
        if not external:
            required(errs, "spec.externalName")
        else:
            check_name(errs, external.rstrip("."), "spec.externalName", is_dns1123_subdomain)
        if cluster_ip:
            forbidden(errs, "spec.clusterIP", "may not be set for ExternalName services")
    elif not ports and not headless:
        required(errs, "spec.ports")
    if cluster_ip and not headless and not is_ip(str(cluster_ip)):
        invalid(errs, "spec.clusterIP", shown(cluster_ip), "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)")
    names: set[str] = set()
    for i, p in enumerate(ports):
        ppath = f"spec.ports[{i}]"
        p = as_item(errs, p, ppath)
        if p is None:
            continue
        name = p.get("name") or ""
        if _port_name(errs, name, f"{ppath}.name", several=len(ports) > 1):
            if name in names:
                duplicate(errs, f"{ppath}.name", name)
            names.add(str(name))
        port_num(errs, p, "port", f"{ppath}.port")
        protocol(errs, p, f"{ppath}.protocol")
        target = p.get("targetPort")
        if target not in (None, 0, ""):
            port_num_or_name(errs, target, f"{ppath}.targetPort")
        node_port = p.get("nodePort")
        if node_port not in (None, 0):
            if kind in ("ClusterIP", "ExternalName"):
                forbidden(errs, f"{ppath}.nodePort", f"may not be used when `type` is '{kind}'")
            else:  # the cluster's --service-node-port-range is the allocator's to check (handlers.py)
                port_num(errs, p, "nodePort", f"{ppath}.nodePort")
    validate_labels(errs, spec.get("selector"), "spec.selector")
    affinity = spec.get("sessionAffinity")
    if affinity is not None and affinity not in ("ClientIP", "None"):
        not_supported(errs, "spec.sessionAffinity", shown(affinity), ("ClientIP", "None"))
    etp = spec.get("externalTrafficPolicy")
    if etp:
        if kind not in ("NodePort", "LoadBalancer"):
            invalid(errs, "spec.externalTrafficPolicy", shown(etp), "may only be set for externally-accessible services")
        elif etp not in ("Cluster", "Local"):
            not_supported(errs, "spec.externalTrafficPolicy", shown(etp), ("Cluster", "Local"))
    itp = spec.get("internalTrafficPolicy")
    if itp is not None and itp not in ("Cluster", "Local"):
        not_supported(errs, "spec.internalTrafficPolicy", shown(itp), ("Cluster", "Local"))


def validate_endpoints(obj: dict[str, Any], errs: Errors) -> None:
    # Kubernetes also rejects loopback addresses here; kube-tui's pods live in 127.0.0.0/8, so it can't.
    for i, subset in enumerate(as_list(errs, obj.get("subsets"), "subsets")):
        spath = f"subsets[{i}]"
        subset = as_dict(errs, subset, spath) or {}
        for key in ("addresses", "notReadyAddresses"):
            for j, addr in enumerate(as_list(errs, subset.get(key), f"{spath}.{key}")):
                apath = f"{spath}.{key}[{j}]"
                addr = as_dict(errs, addr, apath) or {}
                ip = addr.get("ip")
                if not ip:
                    required(errs, f"{apath}.ip")
                elif not is_ip(str(ip)):
                    invalid(errs, f"{apath}.ip", shown(ip), "must be a valid IP address")
        ports = as_list(errs, subset.get("ports"), f"{spath}.ports")
        for j, p in enumerate(ports):
            ppath = f"{spath}.ports[{j}]"
            p = as_dict(errs, p, ppath) or {}
            _port_name(errs, p.get("name") or "", f"{ppath}.name", several=len(ports) > 1)
            port_num(errs, p, "port", f"{ppath}.port")
            protocol(errs, p, f"{ppath}.protocol")
