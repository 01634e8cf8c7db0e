"""kubectl's PersistentVolumeClaim, PersistentVolume and StorageClass describers (describe.go, v1.32)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from control.api import persistentvolume as pvs
from control.api.labels import format_labels
from tui.printers.describers.writer import (
    PrefixWriter,
    annotations_multiline,
    describe_events,
    labels_multiline,
)
from tui.printers.status import meta_of, since


def _go_list(items: list[Any] | None) -> str:
    """Go's %v of a []string: [a b]."""
    return "[" + " ".join(str(i) for i in items or []) + "]"


def _status(obj: Mapping[str, Any], now: float | None) -> str:
    md = meta_of(obj)
    if md.get("deletionTimestamp"):
        return f"Terminating (lasts {since(md['deletionTimestamp'], now)})"
    return str((obj.get("status") or {}).get("phase") or "")


def pods_using(pods: list[Mapping[str, Any]] | None, claim: str) -> list[str]:
    """getPodsForPVC: the pods whose volumes name the claim (sorted by name)."""
    return sorted(str(meta_of(p).get("name", "")) for p in pods or []
                  if any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim
                         for v in (p.get("spec") or {}).get("volumes") or [] if isinstance(v, dict)))


def describe_persistentvolumeclaim(pvc: Mapping[str, Any], events: list[Mapping[str, Any]] | None,
                                   now: float | None, pods: list[Mapping[str, Any]] | None = None) -> str:
    w = PrefixWriter()
    md, spec, status = meta_of(pvc), pvc.get("spec") or {}, pvc.get("status") or {}
    w.write(0, f"Name:\t{md.get('name', '')}\n")
    w.write(0, f"Namespace:\t{md.get('namespace', '')}\n")
    w.write(0, f"StorageClass:\t{pvs.claim_class(pvc)}\n")
    w.write(0, f"Status:\t{_status(pvc, now)}\n")
    w.write(0, f"Volume:\t{spec.get('volumeName') or ''}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    w.write(0, f"Finalizers:\t{_go_list(md.get('finalizers'))}\n")
    capacity = modes = ""
    if spec.get("volumeName"):
        capacity = str((status.get("capacity") or {}).get("storage", "0"))
        modes = pvs.access_modes_string(status.get("accessModes"))
    w.write(0, f"Capacity:\t{capacity}\n")
    w.write(0, f"Access Modes:\t{modes}\n")
    if spec.get("volumeMode"):
        w.write(0, f"VolumeMode:\t{spec['volumeMode']}\n")
    if spec.get("volumeAttributesClassName"):
        w.write(0, f"VolumeAttributesClass:\t{spec['volumeAttributesClassName']}\n")
    users = pods_using(pods, str(md.get("name", "")))
    w.write(0, "Used By:\t" + ("\n\t".join(users) if users else "<none>") + "\n")
    conditions = status.get("conditions") or []
    if conditions:
        w.write(0, "Conditions:\n")
        w.write(1, "Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage\n")
        w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in conditions:
            w.write(1, f"{c.get('type', '')} \t{c.get('status', '')} \t{c.get('lastProbeTime') or ''} \t"
                       f"{c.get('lastTransitionTime') or ''} \t{c.get('reason', '')} \t{c.get('message', '')} \n")
    describe_events(w, events, now)
    return w.text()


def _node_affinity(w: PrefixWriter, affinity: Mapping[str, Any] | None) -> None:
    """printVolumeNodeAffinity: each required term's expressions, `key op [values]`."""
    w.write(0, "Node Affinity:\t")
    required = (affinity or {}).get("required")
    if not required:
        w.write(0, "<none>\n")
        return
    w.write(0, "\n")
    terms = required.get("nodeSelectorTerms") or []
    w.write(1, "Required Terms:\t" + ("<none>" if not terms else "") + "\n")
    for i, term in enumerate(terms):
        reqs = term.get("matchExpressions") or []
        w.write(2, f"Term {i}:\t")
        if not reqs:
            w.write(0, "<none>\n")
        for j, req in enumerate(reqs):
            if j:
                w.write(2, "\t")
            text = f"{req.get('key', '')} {str(req.get('operator', '')).lower()}"
            if req.get("values"):
                text += f" [{', '.join(req['values'])}]"
            w.write(0, text + "\n")


def _source(w: PrefixWriter, spec: Mapping[str, Any]) -> None:
    if spec.get("hostPath") is not None:
        host = spec["hostPath"]
        kind = host.get("type")
        w.write(2, "Type:\tHostPath (bare host directory volume)\n")
        w.write(2, f"Path:\t{host.get('path', '')}\n")
        w.write(2, f"HostPathType:\t{'<none>' if kind is None else kind}\n")
    elif spec.get("local") is not None:
        w.write(2, "Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n")
        w.write(2, f"Path:\t{spec['local'].get('path', '')}\n")
    else:
        kind = next((k for k in spec if isinstance(spec[k], dict) and k not in (
            "capacity", "claimRef", "nodeAffinity")), "")
        w.write(2, f"Type:\t{kind} (not described by kube-tui)\n")


def describe_persistentvolume(pv: Mapping[str, Any], events: list[Mapping[str, Any]] | None,
                              now: float | None) -> str:
    w = PrefixWriter()
    md, spec, status = meta_of(pv), pv.get("spec") or {}, pv.get("status") or {}
    w.write(0, f"Name:\t{md.get('name', '')}\n")
    labels_multiline(w, "Labels", md.get("labels"))
    annotations_multiline(w, "Annotations", md.get("annotations"))
    w.write(0, f"Finalizers:\t{_go_list(md.get('finalizers'))}\n")
    w.write(0, f"StorageClass:\t{pvs.volume_class(pv)}\n")
    w.write(0, f"Status:\t{_status(pv, now)}\n")
    ref = spec.get("claimRef")
    w.write(0, f"Claim:\t{ref.get('namespace', '')}/{ref.get('name', '')}\n" if ref else "Claim:\t\n")
    w.write(0, f"Reclaim Policy:\t{spec.get('persistentVolumeReclaimPolicy') or ''}\n")
    w.write(0, f"Access Modes:\t{pvs.access_modes_string(spec.get('accessModes'))}\n")
    if spec.get("volumeMode"):
        w.write(0, f"VolumeMode:\t{spec['volumeMode']}\n")
    w.write(0, f"Capacity:\t{(spec.get('capacity') or {}).get('storage', '0')}\n")
    _node_affinity(w, spec.get("nodeAffinity"))
    w.write(0, f"Message:\t{status.get('message') or ''}\n")
    w.write(0, "Source:\n")
    _source(w, spec)
    describe_events(w, events, now)
    return w.text()


def describe_storageclass(sc: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    w = PrefixWriter()
    md = meta_of(sc)
    expand = sc.get("allowVolumeExpansion")
    w.write(0, f"Name:\t{md.get('name', '')}\n")
    w.write(0, f"IsDefaultClass:\t{'Yes' if pvs.is_default_class(sc) else 'No'}\n")
    w.write(0, f"Annotations:\t{format_labels(md.get('annotations'))}\n")
    w.write(0, f"Provisioner:\t{sc.get('provisioner', '')}\n")
    w.write(0, f"Parameters:\t{format_labels(sc.get('parameters'))}\n")
    w.write(0, f"AllowVolumeExpansion:\t{'<unset>' if expand is None else ('True' if expand else 'False')}\n")
    options = sc.get("mountOptions") or []
    w.write(0, "MountOptions:\t" + ("<none>" if not options else "") + "\n")
    for o in options:
        w.write(1, f"{o}\n")
    if sc.get("reclaimPolicy"):
        w.write(0, f"ReclaimPolicy:\t{sc['reclaimPolicy']}\n")
    if sc.get("volumeBindingMode"):
        w.write(0, f"VolumeBindingMode:\t{sc['volumeBindingMode']}\n")
    describe_events(w, events, now)
    return w.text()
