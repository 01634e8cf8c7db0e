"""`kubectl describe node`: conditions, capacity, system info, and the requests of the pods it runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from control.api import quantity
from control.api import resourcequota as rqs
from tui.printers.describers.writer import (
    PrefixWriter,
    annotations_multiline,
    describe_events,
    labels_multiline,
)
from tui.printers.status import age, get_path, meta_of, node_roles, rfc1123z


def _milli(value: Any) -> int:
    # describe must print whatever is stored, so a bad quantity counts as zero instead of failing.
    try:
        return quantity.milli(value)
    except quantity.QuantityError:
        return 0


def _bytes(value: Any) -> int:
    try:
        return quantity.to_int(value)
    except quantity.QuantityError:
        return 0


def _milli_of(q: rqs.Q | None) -> int:
    return int(q.value * 1000) if q is not None else 0


def _int_of(q: rqs.Q | None) -> int:
    return int(q.value) if q is not None else 0


def _percent(part: int, whole: int) -> str:
    return f"{int(part * 100 / whole) if whole else 0}%"


def describe_node(node: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None,
                   pods: list[Mapping[str, Any]] | None, lease: Mapping[str, Any] | None) -> str:
    w = PrefixWriter()
    meta, spec, st = meta_of(node), node.get("spec") or {}, node.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Roles:\t{node_roles(node)}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    taints = spec.get("taints") or []
    w.write(0, "Taints:\t")
    if not taints:
        w.write(0, "<none>\n")
    for i, t in enumerate(taints):
        if i:
            w.write(0, "\t")
        value = f"={t['value']}" if t.get("value") else ""
        w.write(0, f"{t.get('key')}{value}:{t.get('effect')}\n")
    w.write(0, f"Unschedulable:\t{'true' if spec.get('unschedulable') else 'false'}\n")
    if lease is not None:
        ls = lease.get("spec") or {}
        w.write(0, "Lease:\n")
        w.write(1, f"HolderIdentity:\t{ls.get('holderIdentity') or '<unset>'}\n")
        w.write(1, f"AcquireTime:\t{rfc1123z(ls.get('acquireTime'))}\n")
        w.write(1, f"RenewTime:\t{rfc1123z(ls.get('renewTime'))}\n")
    conds = st.get("conditions") or []
    if conds:
        w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
        w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in conds:
            w.write(1, f"{c.get('type')} \t{c.get('status')} \t{rfc1123z(c.get('lastHeartbeatTime'))} \t"
                       f"{rfc1123z(c.get('lastTransitionTime'))} \t{c.get('reason', '')} \t{c.get('message', '')}\n")
    addresses = st.get("addresses") or []
    if addresses:
        w.write(0, "Addresses:\n")
        for a in addresses:
            w.write(1, f"{a.get('type')}:\t{a.get('address')}\n")
    for key, title in (("capacity", "Capacity"), ("allocatable", "Allocatable")):
        if st.get(key):
            w.write(0, f"{title}:\n")
            for name in sorted(st[key]):
                w.write(1, f"{name}:\t{st[key][name]}\n")
    info = st.get("nodeInfo") or {}
    if info:
        w.write(0, "System Info:\n")
        for k, title in (("machineID", "Machine ID"), ("systemUUID", "System UUID"), ("bootID", "Boot ID"),
                         ("kernelVersion", "Kernel Version"), ("osImage", "OS Image"),
                         ("operatingSystem", "Operating System"), ("architecture", "Architecture"),
                         ("containerRuntimeVersion", "Container Runtime Version"),
                         ("kubeletVersion", "Kubelet Version"), ("kubeProxyVersion", "Kube-Proxy Version")):
            w.write(1, f"{title}:\t{info.get(k, '')}\n")
    if spec.get("podCIDR"):
        w.write(0, f"PodCIDR:\t{spec['podCIDR']}\n")
        w.write(0, f"PodCIDRs:\t{','.join(spec.get('podCIDRs') or [spec['podCIDR']])}\n")
    if pods is not None:
        running = [p for p in pods if get_path(p, "status", "phase") not in ("Succeeded", "Failed")]
        alloc = st.get("allocatable") or st.get("capacity") or {}
        cpu_total = _milli(alloc.get("cpu", 0))
        mem_total = _bytes(alloc.get("memory", 0))
        storage_total = _bytes(alloc.get("ephemeral-storage", 0))
        w.write(0, f"Non-terminated Pods:\t({len(running)} in total)\n")
        # kubectl's rows have an empty column after the name (its "Name\\t\\t"): two more spaces there
        w.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
        w.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
        totals = {"rc": 0, "lc": 0, "rm": 0, "lm": 0}
        storage: dict[str, rqs.Q] = {}
        for p in running:
            # a pod's requests as the scheduler counts them (resourcehelper.PodRequests: init containers, overhead)
            req, lim = rqs.pod_resources(p, "requests"), rqs.pod_resources(p, "limits")
            rc, lc = _milli_of(req.get("cpu")), _milli_of(lim.get("cpu"))
            rm, lm = _int_of(req.get("memory")), _int_of(lim.get("memory"))
            for k, v in (("rc", rc), ("lc", lc), ("rm", rm), ("lm", lm)):
                totals[k] += v
            for which, res in (("requests", req), ("limits", lim)):
                if "ephemeral-storage" in res:
                    have = storage.get(which)
                    storage[which] = res["ephemeral-storage"] if have is None else have + res["ephemeral-storage"]
            w.write(1, f"{meta_of(p).get('namespace', '')}\t{meta_of(p).get('name', '')}\t\t"
                       f"{quantity.format_cpu(rc)} ({_percent(rc, cpu_total)})\t"
                       f"{quantity.format_cpu(lc)} ({_percent(lc, cpu_total)})\t"
                       f"{quantity.format_bytes(rm)} ({_percent(rm, mem_total)})\t"
                       f"{quantity.format_bytes(lm)} ({_percent(lm, mem_total)})\t{age(p, now)}\n")
        w.write(0, "Allocated resources:\n")
        w.write(1, "(Total limits may be over 100 percent, i.e., overcommitted.)\n")
        w.write(1, "Resource\tRequests\tLimits\n")
        w.write(1, "--------\t--------\t------\n")
        w.write(1, f"cpu\t{quantity.format_cpu(totals['rc'])} ({_percent(totals['rc'], cpu_total)})\t"
                   f"{quantity.format_cpu(totals['lc'])} ({_percent(totals['lc'], cpu_total)})\n")
        w.write(1, f"memory\t{quantity.format_bytes(totals['rm'])} ({_percent(totals['rm'], mem_total)})\t"
                   f"{quantity.format_bytes(totals['lm'])} ({_percent(totals['lm'], mem_total)})\n")
        cells = [f"{storage[k] if k in storage else '0'} ({_percent(_int_of(storage.get(k)), storage_total)})"
                 for k in ("requests", "limits")]
        w.write(1, f"ephemeral-storage\t{cells[0]}\t{cells[1]}\n")
    describe_events(w, events, now)
    return w.text()
