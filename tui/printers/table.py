"""`kubectl get` tables: the default and wide columns of each kind, aligned like kubectl's tabwriter."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from control.api import horizontalpodautoscaler as hpas
from control.api import persistentvolume as pvs
from control.api import quantity
from control.api.kinds import KindInfo, lookup
from control.api.labels import format_label_selector, format_labels
from tui.printers.status import (
    age,
    event_interval,
    get_path,
    human_duration,
    meta_of,
    node_roles,
    node_status,
    or_none,
    parse_time,
    pod_status,
    since,
)
from tui.printers.tabwriter import tabwrite


def _pod_ip(pod: Mapping[str, Any]) -> str:
    ips = get_path(pod, "status", "podIPs") or []
    if ips and ips[0].get("ip"):
        return str(ips[0]["ip"])
    return str(get_path(pod, "status", "podIP", default=""))


def _pod_row(pod: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    ready, reason, restarts = pod_status(pod, now)
    row = [meta_of(pod).get("name", ""), ready, reason, restarts, age(pod, now)]
    if wide:
        gates = get_path(pod, "spec", "readinessGates") or []
        gates_cell = "<none>"
        if gates:
            conds = {c.get("type"): c.get("status") for c in get_path(pod, "status", "conditions") or []}
            gates_cell = f"{sum(1 for g in gates if conds.get(g.get('conditionType')) == 'True')}/{len(gates)}"
        row += [or_none(_pod_ip(pod)), or_none(get_path(pod, "spec", "nodeName", default="")),
                or_none(get_path(pod, "status", "nominatedNodeName", default="")), gates_cell]
    return row


# --- other kinds -----------------------------------------------------------------------------------


def _containers_images(template_spec: Mapping[str, Any] | None) -> list[str]:
    cs = (template_spec or {}).get("containers") or []
    return [",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)]


def _workload_wide(obj: Mapping[str, Any]) -> list[str]:
    return _containers_images(get_path(obj, "spec", "template", "spec")) + [
        format_label_selector(get_path(obj, "spec", "selector"))
    ]


def _deployment_row(d: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    st = d.get("status") or {}
    desired = get_path(d, "spec", "replicas", default=0)
    row = [meta_of(d).get("name", ""), f"{st.get('readyReplicas', 0)}/{desired}", str(st.get("updatedReplicas", 0)),
           str(st.get("availableReplicas", 0)), age(d, now)]
    return row + (_workload_wide(d) if wide else [])


def _replicaset_row(rs: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    st = rs.get("status") or {}
    row = [meta_of(rs).get("name", ""), str(get_path(rs, "spec", "replicas", default=0)), str(st.get("replicas", 0)),
           str(st.get("readyReplicas", 0)), age(rs, now)]
    return row + (_workload_wide(rs) if wide else [])


def _daemonset_row(ds: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    st = ds.get("status") or {}
    row = [meta_of(ds).get("name", ""), str(st.get("desiredNumberScheduled", 0)),
           str(st.get("currentNumberScheduled", 0)), str(st.get("numberReady", 0)),
           str(st.get("updatedNumberScheduled", 0)), str(st.get("numberAvailable", 0)),
           format_labels(get_path(ds, "spec", "template", "spec", "nodeSelector")), age(ds, now)]
    return row + (_workload_wide(ds) if wide else [])


def _statefulset_row(sts: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    """printStatefulSet: READY is status.readyReplicas over spec.replicas."""
    ready = get_path(sts, "status", "readyReplicas", default=0)
    row = [meta_of(sts).get("name", ""), f"{ready}/{get_path(sts, 'spec', 'replicas', default=0)}", age(sts, now)]
    return row + (_containers_images(get_path(sts, "spec", "template", "spec")) if wide else [])


def _controllerrevision_row(rev: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    """printControllerRevision: CONTROLLER is kind.group/name of its controller, as formatResourceName writes it."""
    owner = "<none>"
    for ref in meta_of(rev).get("ownerReferences") or []:
        if ref.get("controller"):
            group = str(ref.get("apiVersion", "")).rpartition("/")[0]
            kind = str(ref.get("kind", "")).lower()
            owner = f"{kind}.{group}/{ref.get('name', '')}" if group else f"{kind}/{ref.get('name', '')}"
            break
    return [meta_of(rev).get("name", ""), owner, str(rev.get("revision", 0)), age(rev, now)]


def job_status(job: Mapping[str, Any]) -> str:
    conds = {c.get("type") for c in get_path(job, "status", "conditions") or [] if c.get("status") == "True"}
    if "Complete" in conds:
        return "Complete"
    if "Failed" in conds:
        return "Failed"
    if meta_of(job).get("deletionTimestamp") is not None:
        return "Terminating"
    if "SuccessCriteriaMet" in conds:
        return "SuccessCriteriaMet"
    if "FailureTarget" in conds:
        return "FailureTarget"
    if "Suspended" in conds:
        return "Suspended"
    return "Running"


def _job_row(job: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    spec, st = job.get("spec") or {}, job.get("status") or {}
    succeeded = st.get("succeeded", 0)
    if spec.get("completions") is not None:
        completions = f"{succeeded}/{spec['completions']}"
    elif (spec.get("parallelism") or 0) > 1:
        completions = f"{succeeded}/1 of {spec['parallelism']}"
    else:
        completions = f"{succeeded}/1"
    start, end = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    if start is None:
        duration = ""
    elif end is None:
        duration = human_duration((time.time() if now is None else now) - start)
    else:
        duration = human_duration(end - start)
    row = [meta_of(job).get("name", ""), job_status(job), completions, duration, age(job, now)]
    return row + (_workload_wide(job) if wide else [])


def _bool_ptr(value: Any) -> str:
    """printBoolPtr: True, False, or <unset>."""
    return "<unset>" if value is None else ("True" if value else "False")


def _cronjob_row(cj: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    """printCronJob: the schedule, its zone, suspend, how many Jobs are active, and when it last ran."""
    spec, st = cj.get("spec") or {}, cj.get("status") or {}
    last = st.get("lastScheduleTime")
    row = [meta_of(cj).get("name", ""), str(spec.get("schedule", "")), spec.get("timeZone") or "<none>",
           _bool_ptr(spec.get("suspend")), str(len(st.get("active") or [])),
           since(last, now) if last else "<none>", age(cj, now)]
    if wide:
        job_spec = get_path(cj, "spec", "jobTemplate", "spec") or {}
        row += _containers_images(get_path(job_spec, "template", "spec")) + [
            format_label_selector(job_spec.get("selector"))]
    return row


def _service_external_ip(svc: Mapping[str, Any]) -> str:
    spec = svc.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or [])
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        ingress = [i.get("ip") or i.get("hostname") or "" for i in get_path(svc, "status", "loadBalancer", "ingress") or []]
        ips = [i for i in ingress if i] + external
        return ",".join(ips) if ips else "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    return "<unknown>"


def _service_ports(svc: Mapping[str, Any]) -> str:
    parts = []
    for p in get_path(svc, "spec", "ports") or []:
        proto = p.get("protocol") or "TCP"
        if p.get("nodePort"):
            parts.append(f"{p.get('port')}:{p['nodePort']}/{proto}")
        else:
            parts.append(f"{p.get('port')}/{proto}")
    return ",".join(parts) if parts else "<none>"


def _service_row(svc: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    spec = svc.get("spec") or {}
    row = [meta_of(svc).get("name", ""), spec.get("type") or "ClusterIP", or_none(spec.get("clusterIP") or ""),
           _service_external_ip(svc), _service_ports(svc), age(svc, now)]
    if wide:
        row.append(format_labels(spec.get("selector")))
    return row


def _node_address(node: Mapping[str, Any], kind: str) -> str:
    for a in get_path(node, "status", "addresses") or []:
        if a.get("type") == kind:
            return str(a.get("address", ""))
    return "<none>"


def _node_row(node: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    info = get_path(node, "status", "nodeInfo") or {}
    row = [meta_of(node).get("name", ""), node_status(node), node_roles(node), age(node, now),
           info.get("kubeletVersion", "")]
    if wide:
        row += [_node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
                info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
                info.get("containerRuntimeVersion") or "<unknown>"]
    return row


def _namespace_row(ns: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    return [meta_of(ns).get("name", ""), get_path(ns, "status", "phase", default=""), age(ns, now)]


def format_endpoints(ep: Mapping[str, Any] | None, port_names: set[str] | None = None) -> str:
    """kubectl's ENDPOINTS cell: up to three ip:port, then ` + N more...`."""
    subsets = (ep or {}).get("subsets") or []
    if not subsets:
        return "<none>"
    shown: list[str] = []
    limit, more, count = 3, False, 0
    for ss in subsets:
        addresses = ss.get("addresses") or []
        ports = ss.get("ports") or []
        if not ports:
            count += len(addresses)
            for a in addresses:
                if len(shown) == limit:
                    more = True
                    break
                shown.append(str(a.get("ip", "")))
            continue
        for p in ports:
            if port_names is not None and (p.get("name") or "") not in port_names:
                continue
            count += len(addresses)
            for a in addresses:
                if len(shown) == limit:
                    more = True
                    break
                ip = str(a.get("ip", ""))
                host = f"[{ip}]" if ":" in ip else ip
                shown.append(f"{host}:{p.get('port')}")
    out = ",".join(shown)
    if more:
        return f"{out} + {count - limit} more..."
    return out or "<none>"


def _endpoints_row(ep: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    return [meta_of(ep).get("name", ""), format_endpoints(ep), age(ep, now)]


def _list_with_more(items: list[str], count: int, limit: int = 3) -> str:
    """listWithMoreString: up to three, then ` + N more...`; <unset> for none."""
    if count > limit:
        return f"{','.join(items[:limit])} + {count - limit} more..."
    return ",".join(items) or "<unset>"


def _endpointslice_row(eps: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    """printEndpointSlice: each port's number (or name, or *), each endpoint's every address."""
    ports = [str(p["port"]) if p.get("port") is not None else (p.get("name") if p.get("name") is not None else "*")
             for p in eps.get("ports") or []]
    addresses = [str(a) for ep in eps.get("endpoints") or [] for a in ep.get("addresses") or []]
    return [meta_of(eps).get("name", ""), str(eps.get("addressType") or ""), _list_with_more(ports, len(ports)),
            _list_with_more(addresses, len(addresses)), age(eps, now)]


def format_endpoint_slices(slices: list[Mapping[str, Any]] | None, port_names: set[str] | None = None) -> str:
    """kubectl describe's formatEndpointSlices: the ready endpoints of a Service's slices (of the ports named),
    ip:port, up to three and ` + N more...`; <none> without a slice. Its quirk kept: an endpoint past the third
    marks `more` before it is known to be ready."""
    if not slices:
        return "<none>"
    shown: list[str] = []
    limit, more, count = 3, False, 0

    def add(text: str, ready: bool) -> None:
        nonlocal more, count
        if len(shown) == limit:
            more = True
        if not ready:
            return
        if not more:
            shown.append(text)
        count += 1

    for s in slices:
        endpoints = s.get("endpoints") or []
        ready = [(ep.get("conditions") or {}).get("ready") is not False for ep in endpoints]
        if not s.get("ports"):
            for ep, ok in zip(endpoints, ready, strict=True):
                add(str((ep.get("addresses") or [""])[0]), ok)
            continue
        for p in s.get("ports") or []:
            if port_names is not None and (p.get("name") or "") not in port_names:
                continue
            for ep, ok in zip(endpoints, ready, strict=True):
                ip = str((ep.get("addresses") or [""])[0])
                add(f"{f'[{ip}]' if ':' in ip else ip}:{p.get('port')}", ok)
    out = ",".join(shown)
    return f"{out} + {count - limit} more..." if more else out


def _event_row(ev: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    obj = ev.get("involvedObject") or {}
    return [event_interval(ev, now), ev.get("type", ""), ev.get("reason", ""),
            f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}", str(ev.get("message", "")).strip()]


def _lease_row(lease: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    return [meta_of(lease).get("name", ""), get_path(lease, "spec", "holderIdentity", default=""), age(lease, now)]


def _configmap_row(cm: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    return [meta_of(cm).get("name", ""), str(len(cm.get("data") or {}) + len(cm.get("binaryData") or {})), age(cm, now)]


def _serviceaccount_row(sa: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    return [meta_of(sa).get("name", ""), str(len(sa.get("secrets") or [])), age(sa, now)]


def _role_row(role: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    # printRole: the creation time itself, in RFC 3339 (UTC), not an age
    return [meta_of(role).get("name", ""), str(meta_of(role).get("creationTimestamp") or "")]


def _binding_row(binding: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    ref = binding.get("roleRef") or {}
    row = [meta_of(binding).get("name", ""), f"{ref.get('kind', '')}/{ref.get('name', '')}", age(binding, now)]
    if wide:  # rbac.SubjectsStrings: users, groups, and ServiceAccounts as NAMESPACE:NAME
        subjects = [s for s in binding.get("subjects") or [] if isinstance(s, dict)]
        row += [", ".join(str(s.get("name", "")) for s in subjects if s.get("kind") == "User"),
                ", ".join(str(s.get("name", "")) for s in subjects if s.get("kind") == "Group"),
                ", ".join(f"{s.get('namespace', '')}:{s.get('name', '')}" for s in subjects
                          if s.get("kind") == "ServiceAccount")]
    return row


def _secret_row(secret: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    return [meta_of(secret).get("name", ""), str(secret.get("type", "")), str(len(secret.get("data") or {})),
            age(secret, now)]


def _priorityclass_row(pc: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    return [meta_of(pc).get("name", ""), str(pc.get("value", 0)), "true" if pc.get("globalDefault") else "false",
            age(pc, now), str(pc.get("preemptionPolicy") or "")]


def int_or_string(value: Any) -> str:
    """intstr.IntOrString.String(), or N/A when unset (printPodDisruptionBudget)."""
    return "N/A" if value is None else str(value)


def _pdb_row(pdb: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    return [meta_of(pdb).get("name", ""), int_or_string(spec.get("minAvailable")),
            int_or_string(spec.get("maxUnavailable")), str(status.get("disruptionsAllowed", 0)), age(pdb, now)]


def _hpa_row(hpa: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    """printHorizontalPodAutoscaler: REFERENCE Kind/name, TARGETS as formatHPAMetrics (v1.32: "cpu: 85%/50%")."""
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    min_pods = str(spec["minReplicas"]) if spec.get("minReplicas") is not None else "<unset>"
    return [meta_of(hpa).get("name", ""), hpas.reference(spec), hpas.format_metrics(spec, status), min_pods,
            str(spec.get("maxReplicas", 0)), str(status.get("currentReplicas", 0)), age(hpa, now)]


def _pv_row(pv: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    """printPersistentVolume: CLAIM is namespace/name, STATUS Terminating once deleted."""
    spec, md = pv.get("spec") or {}, meta_of(pv)
    ref = spec.get("claimRef") or {}
    phase = "Terminating" if md.get("deletionTimestamp") else str(get_path(pv, "status", "phase", default=""))
    row = [md.get("name", ""), str((spec.get("capacity") or {}).get("storage", "0")),
           pvs.access_modes_string(spec.get("accessModes")), str(spec.get("persistentVolumeReclaimPolicy") or ""),
           phase, f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else "", pvs.volume_class(pv),
           str(spec.get("volumeAttributesClassName") or "<unset>"), str(get_path(pv, "status", "reason", default="")),
           age(pv, now)]
    return row + ([str(spec.get("volumeMode") or "<unset>")] if wide else [])


def _pvc_row(pvc: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    """printPersistentVolumeClaim: CAPACITY and ACCESS MODES from the status, once a volume is named."""
    spec, md, status = pvc.get("spec") or {}, meta_of(pvc), pvc.get("status") or {}
    phase = "Terminating" if md.get("deletionTimestamp") else str(status.get("phase") or "")
    capacity = modes = ""
    if spec.get("volumeName"):
        capacity = str((status.get("capacity") or {}).get("storage", "0"))
        modes = pvs.access_modes_string(status.get("accessModes"))
    row = [md.get("name", ""), phase, str(spec.get("volumeName") or ""), capacity, modes, pvs.claim_class(pvc),
           str(spec.get("volumeAttributesClassName") or "<unset>"), age(pvc, now)]
    return row + ([str(spec.get("volumeMode") or "<unset>")] if wide else [])


def _storageclass_row(sc: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    """printStorageClass: the default class's NAME ends in " (default)"."""
    name = str(meta_of(sc).get("name", "")) + (" (default)" if pvs.is_default_class(sc) else "")
    return [name, str(sc.get("provisioner") or ""), str(sc.get("reclaimPolicy") or "Delete"),
            str(sc.get("volumeBindingMode") or "Immediate"), "true" if sc.get("allowVolumeExpansion") else "false",
            age(sc, now)]


def quota_usage(rq: Mapping[str, Any]) -> tuple[str, str]:
    """printResourceQuota's REQUEST and LIMIT: "name: used/hard" for each resource of status.hard, sorted;
    limits.* under LIMIT, the rest under REQUEST."""
    status = rq.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    request, limit = [], []
    for name in sorted(hard):
        shown = f"{name}: {quantity.canonical_of(used[name]) if name in used else '0'}/{quantity.canonical_of(hard[name])}"
        (limit if name.split(".")[0] == "limits" and "." in name else request).append(shown)
    return ", ".join(request), ", ".join(limit)


def _quota_row(rq: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    return [meta_of(rq).get("name", ""), age(rq, now), *quota_usage(rq)]


def _limitrange_row(lr: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    """printLimitRange: the name and the creation time itself (kubectl prints the timestamp, not an age)."""
    return [meta_of(lr).get("name", ""), str(meta_of(lr).get("creationTimestamp") or "")]


def ingress_address(ing: Mapping[str, Any], wide: bool) -> str:
    """ingressLoadBalancerStatusStringer: each ingress point's IP (else hostname), sorted and unique; cut to
    16 characters unless wide."""
    points = get_path(ing, "status", "loadBalancer", "ingress") or []
    shown = sorted({str(p.get("ip") or p.get("hostname")) for p in points if p.get("ip") or p.get("hostname")})
    out = ",".join(shown)
    return out[:13] + "..." if not wide and len(out) > 16 else out


def ingress_hosts(ing: Mapping[str, Any]) -> str:
    """formatHosts: the first three hosts, then ` + N more...` (N: the rules beyond three), `*` if none."""
    rules = get_path(ing, "spec", "rules") or []
    hosts: list[str] = []
    more = False
    for rule in rules:
        more = more or len(hosts) == 3
        if not more and rule.get("host"):
            hosts.append(str(rule["host"]))
    if not hosts:
        return "*"
    return ",".join(hosts) + (f" + {len(rules) - 3} more..." if more else "")


def _ingress_row(ing: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    spec = ing.get("spec") or {}
    return [meta_of(ing).get("name", ""), str(spec.get("ingressClassName") or "<none>"), ingress_hosts(ing),
            ingress_address(ing, wide), "80, 443" if spec.get("tls") else "80", age(ing, now)]


def _ingressclass_row(ic: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    spec = ic.get("spec") or {}
    params = spec.get("parameters")
    shown = "<none>"
    if params:
        shown = str(params.get("kind") or "") + (f".{params['apiGroup']}" if params.get("apiGroup") is not None else "")
        shown += "/" + str(params.get("name") or "")
    return [meta_of(ic).get("name", ""), str(spec.get("controller") or ""), shown, age(ic, now)]


def _csr_row(csr: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    from control.api import certificates as csrs

    spec = csr.get("spec") or {}
    seconds = spec.get("expirationSeconds")
    return [meta_of(csr).get("name", ""), age(csr, now), str(spec.get("signerName") or ""),
            str(spec.get("username") or ""), human_duration(int(seconds)) if seconds is not None else "<none>",
            csrs.state(dict(csr))]


Row = Callable[[Mapping[str, Any], bool, float | None], list[str]]
# kind -> (default columns, wide-only columns, row function)
COLUMNS: dict[str, tuple[list[str], list[str], Row]] = {
    "Pod": (["NAME", "READY", "STATUS", "RESTARTS", "AGE"], ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
            _pod_row),
    "Deployment": (["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], ["CONTAINERS", "IMAGES", "SELECTOR"],
                   _deployment_row),
    "ReplicaSet": (["NAME", "DESIRED", "CURRENT", "READY", "AGE"], ["CONTAINERS", "IMAGES", "SELECTOR"],
                   _replicaset_row),
    "DaemonSet": (["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"],
                  ["CONTAINERS", "IMAGES", "SELECTOR"], _daemonset_row),
    "StatefulSet": (["NAME", "READY", "AGE"], ["CONTAINERS", "IMAGES"], _statefulset_row),
    "ControllerRevision": (["NAME", "CONTROLLER", "REVISION", "AGE"], [], _controllerrevision_row),
    "Job": (["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"], ["CONTAINERS", "IMAGES", "SELECTOR"], _job_row),
    "CronJob": (["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE", "AGE"],
                ["CONTAINERS", "IMAGES", "SELECTOR"], _cronjob_row),
    "Service": (["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], ["SELECTOR"], _service_row),
    "Node": (["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
             ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"], _node_row),
    "Namespace": (["NAME", "STATUS", "AGE"], [], _namespace_row),
    "Endpoints": (["NAME", "ENDPOINTS", "AGE"], [], _endpoints_row),
    "EndpointSlice": (["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"], [], _endpointslice_row),
    "Event": (["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], [], _event_row),
    "Lease": (["NAME", "HOLDER", "AGE"], [], _lease_row),
    "ConfigMap": (["NAME", "DATA", "AGE"], [], _configmap_row),
    "Secret": (["NAME", "TYPE", "DATA", "AGE"], [], _secret_row),
    "ServiceAccount": (["NAME", "SECRETS", "AGE"], [], _serviceaccount_row),
    "Role": (["NAME", "CREATED AT"], [], _role_row),
    "ClusterRole": (["NAME", "CREATED AT"], [], _role_row),
    "RoleBinding": (["NAME", "ROLE", "AGE"], ["USERS", "GROUPS", "SERVICEACCOUNTS"], _binding_row),
    "ClusterRoleBinding": (["NAME", "ROLE", "AGE"], ["USERS", "GROUPS", "SERVICEACCOUNTS"], _binding_row),
    "PriorityClass": (["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"], [], _priorityclass_row),
    "PodDisruptionBudget": (["NAME", "MIN AVAILABLE", "MAX UNAVAILABLE", "ALLOWED DISRUPTIONS", "AGE"], [], _pdb_row),
    "PersistentVolume": (["NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS",
                          "VOLUMEATTRIBUTESCLASS", "REASON", "AGE"], ["VOLUMEMODE"], _pv_row),
    "PersistentVolumeClaim": (["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS",
                               "VOLUMEATTRIBUTESCLASS", "AGE"], ["VOLUMEMODE"], _pvc_row),
    "StorageClass": (["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"], [],
                     _storageclass_row),
    "HorizontalPodAutoscaler": (["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"], [], _hpa_row),
    "ResourceQuota": (["NAME", "AGE", "REQUEST", "LIMIT"], [], _quota_row),
    "LimitRange": (["NAME", "CREATED AT"], [], _limitrange_row),
    "Ingress": (["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"], [], _ingress_row),
    "IngressClass": (["NAME", "CONTROLLER", "PARAMETERS", "AGE"], [], _ingressclass_row),
    "CertificateSigningRequest": (["NAME", "AGE", "SIGNERNAME", "REQUESTOR", "REQUESTEDDURATION", "CONDITION"], [],
                                  _csr_row),
}


def rows(kind: str, objs: Iterable[Mapping[str, Any]], *, wide: bool = False, all_namespaces: bool = False,
         now: float | None = None) -> tuple[list[str], list[list[str]]]:
    """The header and cells of `kubectl get` for `kind` (the dashboard draws its own tables from these)."""
    info: KindInfo = lookup(kind)
    header, wide_cols, row_fn = COLUMNS[info.kind]
    header = header + (wide_cols if wide else [])
    ns_col = all_namespaces and info.namespaced
    if ns_col:
        header = ["NAMESPACE", *header]
    body = []
    for obj in objs:
        cells = [str(c) for c in row_fn(obj, wide, now)]
        if ns_col:
            cells.insert(0, str(meta_of(obj).get("namespace", "")))
        body.append(cells)
    return header, body


def table(kind: str, objs: list[dict], *, wide: bool = False, all_namespaces: bool = False,
          now: float | None = None, show_labels: bool = False, headers: bool = True,
          remember: list[int] | None = None, label_columns: list[str] | None = None) -> str:
    """`kubectl get <kind>` output: kubectl's columns, aligned like its tabwriter (3 spaces apart);
    label_columns (-L) adds a column per label key, headed by its last path segment in capitals, and
    show_labels kubectl's LABELS column (k=v,... sorted by key, or <none>). Without headers, the header
    row neither prints nor widens a column; `remember` keeps column widths across calls (see tabwrite)."""
    header, body = rows(kind, objs, wide=wide, all_namespaces=all_namespaces, now=now)
    for key in label_columns or ():
        header = [*header, key.rsplit("/", 1)[-1].upper()]
        for cells, obj in zip(body, objs, strict=True):
            cells.append(str((meta_of(obj).get("labels") or {}).get(key, "")))
    if show_labels:
        header = [*header, "LABELS"]
        for cells, obj in zip(body, objs, strict=True):
            labels = meta_of(obj).get("labels") or {}
            cells.append(",".join(f"{k}={labels[k]}" for k in sorted(labels)) or "<none>")
    text = "\n".join("\t".join(r) for r in ([header] if headers else []) + body)
    return tabwrite(text, minwidth=6, padding=3, remember=remember)


def no_resources(namespace: str | None) -> str:
    """What kubectl prints when a list is empty (cluster-scoped kinds and -A pass None)."""
    return f"No resources found in {namespace} namespace." if namespace else "No resources found"
