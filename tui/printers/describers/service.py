"""`kubectl describe service`, with the endpoints of each port."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from control.api.labels import format_labels
from tui.printers.describers.writer import (
    PrefixWriter,
    annotations_multiline,
    describe_events,
    labels_multiline,
)
from tui.printers.status import get_path, meta_of
from tui.printers.table import format_endpoints


def describe_service(svc: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None,
                      endpoints: Mapping[str, Any] | None) -> str:
    w = PrefixWriter()
    meta, spec = meta_of(svc), svc.get("spec") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Selector:\t{format_labels(spec.get('selector'))}\n")
    kind = spec.get("type") or "ClusterIP"
    w.write(0, f"Type:\t{kind}\n")
    if spec.get("ipFamilyPolicy"):
        w.write(0, f"IP Family Policy:\t{spec['ipFamilyPolicy']}\n")
    w.write(0, f"IP Families:\t{','.join(spec.get('ipFamilies') or []) or '<none>'}\n")
    w.write(0, f"IP:\t{spec.get('clusterIP', '')}\n")
    ips = spec.get("clusterIPs") or ([spec["clusterIP"]] if spec.get("clusterIP") else [])
    w.write(0, f"IPs:\t{','.join(ips) or '<none>'}\n")
    if spec.get("externalIPs"):
        w.write(0, f"External IPs:\t{','.join(spec['externalIPs'])}\n")
    if kind == "ExternalName":
        w.write(0, f"External Name:\t{spec.get('externalName', '')}\n")
    ingress = get_path(svc, "status", "loadBalancer", "ingress") or []
    if ingress:
        w.write(0, f"LoadBalancer Ingress:\t{', '.join(i.get('ip') or i.get('hostname', '') for i in ingress)}\n")
    for p in spec.get("ports") or []:
        name = p.get("name") or "<unset>"
        proto = p.get("protocol") or "TCP"
        w.write(0, f"Port:\t{name}\t{p.get('port')}/{proto}\n")
        w.write(0, f"TargetPort:\t{p.get('targetPort', p.get('port'))}/{proto}\n")
        if p.get("nodePort"):
            w.write(0, f"NodePort:\t{name}\t{p['nodePort']}/{proto}\n")
        w.write(0, f"Endpoints:\t{format_endpoints(endpoints, {p.get('name') or ''})}\n")
    w.write(0, f"Session Affinity:\t{spec.get('sessionAffinity', 'None')}\n")
    if spec.get("externalTrafficPolicy"):
        w.write(0, f"External Traffic Policy:\t{spec['externalTrafficPolicy']}\n")
    if spec.get("internalTrafficPolicy"):
        w.write(0, f"Internal Traffic Policy:\t{spec['internalTrafficPolicy']}\n")
    describe_events(w, events, now)
    return w.text()
