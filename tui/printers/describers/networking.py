"""kubectl's Ingress and IngressClass describers: an Ingress's rules, each path with its Service's endpoints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from control.api.endpointslice import service_name
from tui.printers.describers.writer import (
    PrefixWriter,
    annotations_multiline,
    describe_events,
    labels_multiline,
)
from tui.printers.status import meta_of
from tui.printers.table import format_endpoint_slices, ingress_address


def _service_backend(backend: Mapping[str, Any]) -> str:
    """serviceBackendStringer: NAME:PORT, the port's number or else its name."""
    port = backend.get("port") or {}
    return f"{backend.get('name', '')}:{port.get('number') or port.get('name') or ''}"


def _backend(backend: Mapping[str, Any], namespace: str, services: Mapping[str, Mapping[str, Any]],
             slices: Mapping[str, list[Mapping[str, Any]]]) -> str:
    """describeBackendV1: a Service backend with its endpoints (the ready ones of its EndpointSlices' port of
    the name the backend's port has in the Service), or a resource."""
    service = backend.get("service")
    if service:
        shown, name = _service_backend(service), str(service.get("name") or "")
        if name not in services:  # (kubectl v1.32 lists the Service's EndpointSlices first: none is no error)
            return f'{shown} (<error: services "{name}" not found>)'
        port, port_name = service.get("port") or {}, ""
        for sp in (services[name].get("spec") or {}).get("ports") or []:
            if (port.get("number") and port.get("number") == sp.get("port")) or (
                    port.get("name") and port.get("name") == sp.get("name")):
                port_name = str(sp.get("name") or "")
        return f"{shown} ({format_endpoint_slices(slices.get(name), {port_name})})"
    resource = backend.get("resource")
    if resource:
        group = resource.get("apiGroup") if resource.get("apiGroup") is not None else "<none>"
        return f"APIGroup: {group}, Kind: {resource.get('kind', '')}, Name: {resource.get('name', '')}"
    return ""


def describe_ingress(ing: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None,
                     services: list[Mapping[str, Any]] | None, endpointslices: list[Mapping[str, Any]] | None) -> str:
    """describeIngressV1: the address, class, default backend, TLS, each rule's paths and their backends."""
    w = PrefixWriter()
    md, spec = meta_of(ing), ing.get("spec") or {}
    ns = str(md.get("namespace") or "")
    by_name = {str(meta_of(s).get("name")): s for s in services or []}
    eps: dict[str, list[Mapping[str, Any]]] = {}
    for eps_ in endpointslices or []:
        eps.setdefault(service_name(eps_), []).append(eps_)
    w.write(0, f"Name:\t{md.get('name', '')}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    w.write(0, f"Namespace:\t{ns}\n")
    w.write(0, f"Address:\t{ingress_address(ing, True)}\n")
    w.write(0, f"Ingress Class:\t{spec.get('ingressClassName') or '<none>'}\n")
    default = "<default>"
    if spec.get("defaultBackend") is not None:
        default = _backend(spec["defaultBackend"], ns, by_name, eps)
    w.write(0, f"Default backend:\t{default}\n")
    if spec.get("tls"):
        w.write(0, "TLS:\n")
        for t in spec["tls"]:
            hosts = ",".join(t.get("hosts") or [])
            w.write(1, f"{t['secretName']} terminates {hosts}\n" if t.get("secretName") else f"SNI routes {hosts}\n")
    w.write(0, "Rules:\n  Host\tPath\tBackends\n")
    w.write(1, "----\t----\t--------\n")
    count = 0
    for rule in spec.get("rules") or []:
        if rule.get("http") is None:
            continue
        count += 1
        w.write(1, f"{rule.get('host') or '*'}\t\n")
        for p in rule["http"].get("paths") or []:
            w.write(2, f"\t{p.get('path', '')} \t{_backend(p.get('backend') or {}, ns, by_name, eps)}\n")
    if count == 0:
        w.write(1, f"*\t*\t{default}\n")
    annotations_multiline(w, "Annotations", md.get("annotations"))
    describe_events(w, events, now)
    return w.text()


def describe_ingressclass(ic: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    """describeIngressClassV1: the controller and the parameters' reference."""
    w = PrefixWriter()
    md, spec = meta_of(ic), ic.get("spec") or {}
    w.write(0, f"Name:\t{md.get('name', '')}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    w.write(0, f"Controller:\t{spec.get('controller', '')}\n")
    params = spec.get("parameters")
    if params is not None:
        w.write(0, "Parameters:\n")
        if params.get("apiGroup") is not None:
            w.write(1, f"APIGroup:\t{params['apiGroup']}\n")
        w.write(1, f"Kind:\t{params.get('kind', '')}\n")
        w.write(1, f"Name:\t{params.get('name', '')}\n")
    describe_events(w, events, now)
    return w.text()
