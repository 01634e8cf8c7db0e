"""Per-kind table columns and row cells, kubectl's wording (pod STATUS, READY n/m, AGE) plus bars.

Row functions are pure functions of (object, model) so a table can diff one row at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rich.text import Text

from control.api import cron, meta, quantity
from control.api import horizontalpodautoscaler as hpas
from control.api import persistentvolume as pvs
from control.controllers import cronjob
from tui import printers
from tui.printers.table import ingress_address, ingress_hosts, int_or_string, job_status, quota_usage

if TYPE_CHECKING:
    from tui.model import ClusterModel

Cell = str | Text
RowFn = Callable[[dict, "ClusterModel"], tuple[Cell, ...]]


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int
    fit: int = 0  # the column grows, up to this many cells, to show its longest value whole (0: fixed)


@dataclass(frozen=True)
class TableSpec:
    columns: tuple[Column, ...]
    row: RowFn
    sort_by: tuple[str, ...] = ("namespace", "name")  # column keys (plain-text cells); () keeps arrival order


@lru_cache(maxsize=65536)
def _parse_time(ts: str) -> float | None:
    return meta.parse_time(ts)


def age(ts: str | None, now: float) -> str:
    """kubectl's short duration: 45s, 5m30s, 45m, 5h, 3d."""
    t = _parse_time(ts) if ts else None
    if t is None:
        return "<unknown>"
    s = max(0, int(now - t))
    if s < 120:
        return f"{s}s"
    if s < 600:
        return f"{s // 60}m{s % 60}s" if s % 60 else f"{s // 60}m"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def _md(obj: dict) -> dict:
    return obj.get("metadata") or {}


def bar(used: int, total: int, width: int = 8) -> Text:
    """A usage bar with its percentage, colored by pressure."""
    frac = used / total if total > 0 else 0.0
    filled = min(width, round(frac * width))
    color = "green" if frac < 0.7 else "yellow" if frac < 0.9 else "red"
    t = Text("█" * filled, style=color)
    t.append("░" * (width - filled), style="grey42")
    t.append(f" {frac * 100:3.0f}%")
    return t


# -- pods ---------------------------------------------------------------------------------------
STATUS_STYLE = {"Running": "green", "Pending": "yellow", "ContainerCreating": "yellow", "Completed": "grey58",
                "Succeeded": "grey58", "Terminating": "magenta"}


def pod_status(pod: dict) -> str:
    """The STATUS column of `kubectl get pods` (a container's reason beats the phase)."""
    return printers.pod_status(pod)[1]


def styled_status(status: str) -> Text:
    style = STATUS_STYLE.get(status, "red" if status not in ("Unknown",) else "grey58")
    return Text(status, style=style)


def pod_row(pod: dict, model: ClusterModel) -> tuple[Cell, ...]:
    md = _md(pod)
    now = model.clock()
    ready, status, restarts = printers.pod_status(pod, now)
    return (
        md.get("namespace") or "",
        md.get("name") or "",
        ready,
        styled_status(status),
        restarts,
        _node_cell(pod, model),
        (pod.get("status") or {}).get("podIP") or "<none>",
        age(md.get("creationTimestamp"), now),
    )


def _node_cell(pod: dict, model: ClusterModel) -> Cell:
    """The pod's node, red and crossed while that node is not Ready: its kubelet can confirm nothing, so what
    the row says may be stale, and a pod Terminating there stays until the node returns or someone force-deletes
    it (a StatefulSet's web-1 is not made again meanwhile). A pending pod that preempted pods shows the node
    nominated for it (kubectl's NOMINATED NODE column, folded in here)."""
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        n = model.get("Node", None, node)
        if n is not None and not node_ready(n).startswith("Ready"):
            return Text(f"{node} ✗", style="red")
        return node
    nominated = (pod.get("status") or {}).get("nominatedNodeName")
    return f"→{nominated}?" if nominated else "<none>"


# -- nodes ----------------------------------------------------------------------------------------
def node_ready(node: dict) -> str:
    return printers.node_status(node)


def node_capacity(node: dict) -> tuple[int, int, int]:
    st = node.get("status") or {}
    cap = st.get("allocatable") or st.get("capacity") or {}
    try:
        return quantity.milli(cap.get("cpu", 0)), quantity.to_int(cap.get("memory", 0)), quantity.to_int(cap.get("pods", 0))
    except (quantity.QuantityError, TypeError):
        return 0, 0, 0


def node_row(node: dict, model: ClusterModel) -> tuple[Cell, ...]:
    md = _md(node)
    name = md.get("name") or ""
    cpu, mem, pods = node_capacity(node)
    a_cpu, a_mem = model.allocated(name)
    usage = model.usage(node).values()
    u_cpu, u_mem = sum(u[0] for u in usage), sum(u[1] for u in usage)
    ready = node_ready(node)
    return (
        name,
        Text(ready, style="green" if ready == "Ready" else "red"),
        f"{model.pod_count(name)}/{pods}",
        quantity.format_cpu(cpu),
        bar(a_cpu, cpu),
        _mib(mem),
        bar(a_mem, mem),
        bar(u_cpu, cpu),
        bar(u_mem, mem),
        age(md.get("creationTimestamp"), model.clock()),
    )


def _mib(n: int) -> str:
    if n % 2**30 == 0:
        return f"{n // 2**30}Gi"
    return f"{n // 2**20}Mi"


# -- workloads and services ------------------------------------------------------------------------
def _ns_name(obj: dict) -> tuple[str, str]:
    md = _md(obj)
    return md.get("namespace") or "", md.get("name") or ""


def deploy_row(d: dict, model: ClusterModel) -> tuple[Cell, ...]:
    spec, st = d.get("spec") or {}, d.get("status") or {}
    want, ready = int(spec.get("replicas", 1) or 0), int(st.get("readyReplicas") or 0)
    return (*_ns_name(d), Text(f"{ready}/{want}", style="green" if ready == want else "yellow"),
            str(st.get("updatedReplicas") or 0), str(st.get("availableReplicas") or 0),
            age(_md(d).get("creationTimestamp"), model.clock()))


def deploy_row_compact(d: dict, model: ClusterModel) -> tuple[Cell, ...]:
    ns, name, ready, _, available, age_ = deploy_row(d, model)
    return ns, name, ready, available, age_


def rs_row(rs: dict, model: ClusterModel) -> tuple[Cell, ...]:
    spec, st = rs.get("spec") or {}, rs.get("status") or {}
    return (*_ns_name(rs), str(spec.get("replicas", 1)), str(st.get("replicas") or 0), str(st.get("readyReplicas") or 0),
            age(_md(rs).get("creationTimestamp"), model.clock()))


def ds_row(ds: dict, model: ClusterModel) -> tuple[Cell, ...]:
    st = ds.get("status") or {}
    return (*_ns_name(ds), str(st.get("desiredNumberScheduled") or 0), str(st.get("currentNumberScheduled") or 0),
            str(st.get("numberReady") or 0), age(_md(ds).get("creationTimestamp"), model.clock()))


def sts_row(sts: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's READY, and where a rolling update stands: UP-TO-DATE pods and the revision they are moving to."""
    spec, st = sts.get("spec") or {}, sts.get("status") or {}
    want, ready = int(spec.get("replicas", 1) or 0), int(st.get("readyReplicas") or 0)
    rolling = st.get("updateRevision") and st.get("updateRevision") != st.get("currentRevision")
    return (*_ns_name(sts), Text(f"{ready}/{want}", style="green" if ready == want else "yellow"),
            str(st.get("updatedReplicas") or 0), (spec.get("updateStrategy") or {}).get("type") or "",
            Text(str(st.get("updateRevision") or ""), style="yellow" if rolling else ""),
            age(_md(sts).get("creationTimestamp"), model.clock()))


JOB_STATUS_STYLE = {"Complete": "green", "Failed": "red", "FailureTarget": "red", "Running": "yellow",
                    "Suspended": "grey58", "Terminating": "magenta"}


def job_row(job: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's STATUS (Running, Complete, Failed, Suspended, ...): a failed Job and one still at work both
    show 0/1 COMPLETIONS and 0 ACTIVE between its pods' tries."""
    spec, st = job.get("spec") or {}, job.get("status") or {}
    status = job_status(job)
    return (*_ns_name(job), Text(status, style=JOB_STATUS_STYLE.get(status, "")),
            f"{st.get('succeeded') or 0}/{spec.get('completions', 1)}", str(st.get("active") or 0),
            age(_md(job).get("creationTimestamp"), model.clock()))


def next_run(cj: dict, now: float) -> str:
    """When the CronJob is next due, as the controller computes it (its schedule in its time zone); `-` when
    suspended or when the schedule never comes."""
    if (cj.get("spec") or {}).get("suspend"):
        return "-"
    try:
        sched = cron.parse_standard(cronjob.format_schedule(cj)[0])
    except cron.CronError:
        return "-"
    delay = cronjob.next_schedule_delay(cj, now, sched)
    if delay is None:
        return "-"
    return f"in {printers.human_duration(max(0, round(delay - cronjob.NEXT_SCHEDULE_DELTA)))}"


def cronjob_row(cj: dict, model: ClusterModel) -> tuple[Cell, ...]:
    spec, st = cj.get("spec") or {}, cj.get("status") or {}
    now = model.clock()
    last = st.get("lastScheduleTime")
    return (*_ns_name(cj), str(spec.get("schedule", "")), spec.get("timeZone") or "<none>",
            "True" if spec.get("suspend") else "False", str(len(st.get("active") or [])),
            age(last, now) if last else "<none>", next_run(cj, now), age(_md(cj).get("creationTimestamp"), now))


def service_urls(svc: dict) -> str:
    """Where a user reaches the service: http://<clusterIP>:<port>, and http://127.0.0.1:<nodePort> (https for a
    port named https or 443, as the kubernetes Service's)."""
    spec = svc.get("spec") or {}
    ip = spec.get("clusterIP")
    urls: list[str] = []
    for p in spec.get("ports") or []:
        scheme = "https" if p.get("name") == "https" or p.get("port") == 443 or p.get("appProtocol") == "https" else "http"
        if ip and ip != "None" and p.get("port"):
            urls.append(f"{scheme}://{ip}:{p['port']}")
        if p.get("nodePort"):
            urls.append(f"{scheme}://127.0.0.1:{p['nodePort']}")
    return " ".join(urls) or "<none>"


def service_ports(svc: dict) -> str:
    out = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        s = str(p.get("port", ""))
        if p.get("nodePort"):
            s += f":{p['nodePort']}"
        out.append(f"{s}/{p.get('protocol') or 'TCP'}")
    return ",".join(out) or "<none>"


def service_row(svc: dict, model: ClusterModel) -> tuple[Cell, ...]:
    spec = svc.get("spec") or {}
    return (*_ns_name(svc), spec.get("type") or "ClusterIP", spec.get("clusterIP") or "<none>", service_ports(svc),
            service_urls(svc), age(_md(svc).get("creationTimestamp"), model.clock()))


def service_row_compact(svc: dict, model: ClusterModel) -> tuple[Cell, ...]:
    return (*_ns_name(svc), service_urls(svc))


def endpoints_row(ep: dict, model: ClusterModel) -> tuple[Cell, ...]:
    addrs = [f"{a.get('ip')}:{p.get('port')}" for s in ep.get("subsets") or [] for a in s.get("addresses") or []
             for p in s.get("ports") or [{}]]
    shown = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return (*_ns_name(ep), shown or "<none>", age(_md(ep).get("creationTimestamp"), model.clock()))


def endpointslice_row(eps: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's columns: the address type, the ports, the addresses (three, then how many more)."""
    ports = [str(p.get("port", "*")) for p in eps.get("ports") or []]
    addrs = [str(a) for e in eps.get("endpoints") or [] for a in e.get("addresses") or []]

    def three(items: list[str]) -> str:
        return ",".join(items[:3]) + (f" + {len(items) - 3} more..." if len(items) > 3 else "") or "<unset>"

    return (*_ns_name(eps), str(eps.get("addressType") or ""), three(ports), three(addrs),
            age(_md(eps).get("creationTimestamp"), model.clock()))


def event_row(ev: dict, model: ClusterModel) -> tuple[Cell, ...]:
    inv = ev.get("involvedObject") or {}
    ts = ev.get("lastTimestamp") or ev.get("eventTime") or _md(ev).get("creationTimestamp")
    type_ = ev.get("type") or "Normal"
    return (age(ts, model.clock()), Text(type_, style="yellow" if type_ == "Warning" else ""), ev.get("reason") or "",
            f"{str(inv.get('kind', '')).lower()}/{inv.get('name', '')}", ev.get("message") or "")


def generic_row(obj: dict, model: ClusterModel) -> tuple[Cell, ...]:
    return (*_ns_name(obj), age(_md(obj).get("creationTimestamp"), model.clock()))


def configmap_row(cm: dict, model: ClusterModel) -> tuple[Cell, ...]:
    data = len(cm.get("data") or {}) + len(cm.get("binaryData") or {})
    return (*_ns_name(cm), str(data), age(_md(cm).get("creationTimestamp"), model.clock()))


def secret_row(secret: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's columns: the type and how many keys, never a value."""
    return (*_ns_name(secret), secret.get("type") or "Opaque", str(len(secret.get("data") or {})),
            age(_md(secret).get("creationTimestamp"), model.clock()))


def serviceaccount_row(sa: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's columns: how many Secrets it lists."""
    return (*_ns_name(sa), str(len(sa.get("secrets") or [])), age(_md(sa).get("creationTimestamp"), model.clock()))


def ingress_row(ing: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's columns: the class, hosts, the controller's address, the ports it serves."""
    spec = ing.get("spec") or {}
    return (*_ns_name(ing), str(spec.get("ingressClassName") or "<none>"), ingress_hosts(ing), ingress_address(ing, False),
            "80, 443" if spec.get("tls") else "80", age(_md(ing).get("creationTimestamp"), model.clock()))


def role_row(role: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's columns: the creation time itself (RFC 3339), not an age."""
    return (*_ns_name(role), str(_md(role).get("creationTimestamp") or ""))


def binding_row(binding: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's columns: the role it grants, as KIND/NAME."""
    ref = binding.get("roleRef") or {}
    return (*_ns_name(binding), f"{ref.get('kind', '')}/{ref.get('name', '')}",
            age(_md(binding).get("creationTimestamp"), model.clock()))


def priorityclass_row(pc: dict, model: ClusterModel) -> tuple[Cell, ...]:
    return ("", _md(pc).get("name") or "", str(pc.get("value", 0)), "true" if pc.get("globalDefault") else "false",
            age(_md(pc).get("creationTimestamp"), model.clock()), pc.get("preemptionPolicy") or "")


def pdb_row(pdb: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's columns: the budget (N/A for the bound not set) and how many pods may go now."""
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    return (*_ns_name(pdb), int_or_string(spec.get("minAvailable")), int_or_string(spec.get("maxUnavailable")),
            str(status.get("disruptionsAllowed", 0)), age(_md(pdb).get("creationTimestamp"), model.clock()))


def hpa_row(hpa: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's columns: the target, current/target per metric, the bounds and the replicas it last saw."""
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    replicas = Text(str(status.get("currentReplicas", 0)))
    if status.get("desiredReplicas") not in (None, status.get("currentReplicas", 0)):
        replicas = Text(f"{status.get('currentReplicas', 0)}→{status['desiredReplicas']}", style="yellow")
    return (*_ns_name(hpa), hpas.reference(spec), hpas.format_metrics(spec, status),
            str(spec.get("minReplicas", "<unset>")), str(spec.get("maxReplicas", 0)), replicas,
            age(_md(hpa).get("creationTimestamp"), model.clock()))


STORAGE_STYLE = {"Bound": "green", "Available": "cyan", "Pending": "yellow", "Released": "grey58",
                 "Terminating": "magenta"}


def _storage_phase(obj: dict) -> Text:
    phase = "Terminating" if _md(obj).get("deletionTimestamp") else str((obj.get("status") or {}).get("phase") or "")
    return Text(phase, style=STORAGE_STYLE.get(phase, "red"))


def pvc_row(pvc: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's columns: the claim's phase, its volume, and what the volume gives once bound."""
    spec, status = pvc.get("spec") or {}, pvc.get("status") or {}
    bound = bool(spec.get("volumeName"))
    return (*_ns_name(pvc), _storage_phase(pvc), str(spec.get("volumeName") or ""),
            str((status.get("capacity") or {}).get("storage", "")) if bound else "",
            pvs.access_modes_string(status.get("accessModes")) if bound else "", pvs.claim_class(pvc),
            age(_md(pvc).get("creationTimestamp"), model.clock()))


def pv_row(pv: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's columns, and the node a local volume lives on (its node affinity): where its pods must run."""
    spec = pv.get("spec") or {}
    ref = spec.get("claimRef") or {}
    terms = ((spec.get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms") or []
    nodes = sorted({v for t in terms for e in t.get("matchExpressions") or [] for v in e.get("values") or []})
    return ("", _md(pv).get("name") or "", str((spec.get("capacity") or {}).get("storage", "")),
            pvs.access_modes_string(spec.get("accessModes")), str(spec.get("persistentVolumeReclaimPolicy") or ""),
            _storage_phase(pv), f"{ref.get('namespace', '')}/{ref.get('name', '')}" if ref else "",
            pvs.volume_class(pv), ",".join(nodes), age(_md(pv).get("creationTimestamp"), model.clock()))


def storageclass_row(sc: dict, model: ClusterModel) -> tuple[Cell, ...]:
    name = str(_md(sc).get("name") or "") + (" (default)" if pvs.is_default_class(sc) else "")
    return ("", name, str(sc.get("provisioner") or ""), str(sc.get("reclaimPolicy") or "Delete"),
            str(sc.get("volumeBindingMode") or "Immediate"), age(_md(sc).get("creationTimestamp"), model.clock()))


def quota_row(rq: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """kubectl's REQUEST and LIMIT columns ("pods: 1/2"), in yellow once a resource is used up."""
    request, limit = quota_usage(rq)
    status = rq.get("status") or {}
    hard, used = status.get("hard") or {}, status.get("used") or {}
    full = any(k in used and quantity.is_valid(used[k]) and quantity.is_valid(v)
               and quantity.parse(used[k]) >= quantity.parse(v) for k, v in hard.items())
    return (*_ns_name(rq), Text(request, style="yellow" if full else ""), limit,
            age(_md(rq).get("creationTimestamp"), model.clock()))


def limitrange_row(lr: dict, model: ClusterModel) -> tuple[Cell, ...]:
    """The types and resources each item limits (kubectl shows only the creation time)."""
    items = [f"{i.get('type')}: {','.join(sorted({k for f in ('min', 'max', 'default', 'defaultRequest') for k in (i.get(f) or {})}))}"
             for i in (lr.get("spec") or {}).get("limits") or [] if isinstance(i, dict)]
    return (*_ns_name(lr), "; ".join(items), age(_md(lr).get("creationTimestamp"), model.clock()))


def lease_row(lease: dict, model: ClusterModel) -> tuple[Cell, ...]:
    spec = lease.get("spec") or {}
    return (*_ns_name(lease), spec.get("holderIdentity") or "", age(spec.get("renewTime"), model.clock()))


def _cols(*spec: tuple[str, int] | tuple[str, int, int]) -> tuple[Column, ...]:
    return tuple(Column(c[0].lower().replace(" ", "-"), c[0], c[1], c[2] if len(c) > 2 else 0) for c in spec)


# Names are shown whole up to a DNS label's 63 characters, the most a generated name has (a pod's: its
# ReplicaSet's name and 5 more): pods of one ReplicaSet differ only in their last characters.
NAME_FIT = 63
NS_NAME = (("NAMESPACE", 11, NAME_FIT), ("NAME", 30, NAME_FIT))
SPECS: dict[str, TableSpec] = {
    "Pod": TableSpec(_cols(*NS_NAME, ("READY", 5), ("STATUS", 18), ("RESTARTS", 12), ("NODE", 12), ("IP", 15), ("AGE", 7)), pod_row),
    "Node": TableSpec(_cols(("NAME", 14, NAME_FIT), ("STATUS", 10), ("PODS", 8), ("CPU", 5), ("CPU ALLOC", 13), ("MEMORY", 7),
                            ("MEM ALLOC", 13), ("CPU USE", 13), ("MEM USE", 13), ("AGE", 6)), node_row),
    "Deployment": TableSpec(_cols(*NS_NAME, ("READY", 7), ("UP-TO-DATE", 10), ("AVAILABLE", 9), ("AGE", 7)), deploy_row),
    "ReplicaSet": TableSpec(_cols(*NS_NAME, ("DESIRED", 7), ("CURRENT", 7), ("READY", 5), ("AGE", 7)), rs_row),
    "DaemonSet": TableSpec(_cols(*NS_NAME, ("DESIRED", 7), ("CURRENT", 7), ("READY", 5), ("AGE", 7)), ds_row),
    "StatefulSet": TableSpec(_cols(*NS_NAME, ("READY", 7), ("UP-TO-DATE", 10), ("STRATEGY", 13), ("REVISION", 24),
                                   ("AGE", 7)), sts_row),
    "Job": TableSpec(_cols(*NS_NAME, ("STATUS", 11), ("COMPLETIONS", 11), ("ACTIVE", 6), ("AGE", 7)), job_row),
    "CronJob": TableSpec(_cols(*NS_NAME, ("SCHEDULE", 14), ("TIMEZONE", 10), ("SUSPEND", 7), ("ACTIVE", 6),
                               ("LAST SCHEDULE", 13), ("NEXT", 8), ("AGE", 7)), cronjob_row),
    "Service": TableSpec(_cols(*NS_NAME, ("TYPE", 9), ("CLUSTER-IP", 15), ("PORTS", 14), ("URL", 48), ("AGE", 7)), service_row),
    "Endpoints": TableSpec(_cols(*NS_NAME, ("ENDPOINTS", 50), ("AGE", 7)), endpoints_row),
    "EndpointSlice": TableSpec(_cols(*NS_NAME, ("ADDRESSTYPE", 11), ("PORTS", 12), ("ENDPOINTS", 40), ("AGE", 7)),
                               endpointslice_row),
    "Event": TableSpec(_cols(("LAST SEEN", 9), ("TYPE", 7), ("REASON", 18), ("OBJECT", 30, NAME_FIT + 12), ("MESSAGE", 80)), event_row, sort_by=()),
    "Lease": TableSpec(_cols(*NS_NAME, ("HOLDER", 20), ("RENEWED", 8)), lease_row),
    "ConfigMap": TableSpec(_cols(*NS_NAME, ("DATA", 4), ("AGE", 7)), configmap_row),
    "Secret": TableSpec(_cols(*NS_NAME, ("TYPE", 34), ("DATA", 4), ("AGE", 7)), secret_row),
    "ServiceAccount": TableSpec(_cols(*NS_NAME, ("SECRETS", 7), ("AGE", 7)), serviceaccount_row),
    "Ingress": TableSpec(_cols(*NS_NAME, ("CLASS", 10), ("HOSTS", 24), ("ADDRESS", 16), ("PORTS", 7), ("AGE", 7)),
                         ingress_row),
    "Role": TableSpec(_cols(*NS_NAME, ("CREATED AT", 20)), role_row),
    "ClusterRole": TableSpec(_cols(*NS_NAME, ("CREATED AT", 20)), role_row),
    "RoleBinding": TableSpec(_cols(*NS_NAME, ("ROLE", 30), ("AGE", 7)), binding_row),
    "ClusterRoleBinding": TableSpec(_cols(*NS_NAME, ("ROLE", 30), ("AGE", 7)), binding_row),
    "PriorityClass": TableSpec(_cols(*NS_NAME, ("VALUE", 11), ("GLOBAL-DEFAULT", 14), ("AGE", 7), ("PREEMPTIONPOLICY", 20)),
                               priorityclass_row),
    "PodDisruptionBudget": TableSpec(_cols(*NS_NAME, ("MIN AVAILABLE", 13), ("MAX UNAVAILABLE", 15),
                                           ("ALLOWED DISRUPTIONS", 19), ("AGE", 7)), pdb_row),
    "HorizontalPodAutoscaler": TableSpec(_cols(*NS_NAME, ("REFERENCE", 24), ("TARGETS", 24), ("MINPODS", 7),
                                               ("MAXPODS", 7), ("REPLICAS", 8), ("AGE", 7)), hpa_row),
    "PersistentVolumeClaim": TableSpec(_cols(*NS_NAME, ("STATUS", 11), ("VOLUME", 40), ("CAPACITY", 8),
                                             ("ACCESS MODES", 12), ("STORAGECLASS", 12), ("AGE", 7)), pvc_row),
    "PersistentVolume": TableSpec(_cols(*NS_NAME, ("CAPACITY", 8), ("ACCESS MODES", 12), ("RECLAIM POLICY", 14),
                                        ("STATUS", 11), ("CLAIM", 30), ("STORAGECLASS", 12), ("NODE", 12), ("AGE", 7)),
                                  pv_row),
    "StorageClass": TableSpec(_cols(*NS_NAME, ("PROVISIONER", 22), ("RECLAIMPOLICY", 13), ("VOLUMEBINDINGMODE", 20),
                                    ("AGE", 7)), storageclass_row),
    "ResourceQuota": TableSpec(_cols(*NS_NAME, ("REQUEST", 50), ("LIMIT", 40), ("AGE", 7)), quota_row),
    "LimitRange": TableSpec(_cols(*NS_NAME, ("LIMITS", 50), ("AGE", 7)), limitrange_row),
}
# the overview's narrower tables: what matters at a glance (READY, the URL that reaches a service)
COMPACT: dict[str, TableSpec] = {
    "Deployment": TableSpec(_cols(*NS_NAME, ("READY", 7), ("AVAILABLE", 9), ("AGE", 7)), deploy_row_compact),
    "Service": TableSpec(_cols(*NS_NAME, ("URL", 48)), service_row_compact),
}
GENERIC = TableSpec(_cols(*NS_NAME, ("AGE", 7)), generic_row)


def spec_for(kind: str) -> TableSpec:
    return SPECS.get(kind, GENERIC)


def row_text(cells: tuple[Any, ...]) -> str:
    """A row as plain lowercase text, for `/` filtering."""
    return " ".join(c.plain if isinstance(c, Text) else str(c) for c in cells).lower()
