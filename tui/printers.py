"""kubectl's output: `get` tables (default and wide columns per kind), -o yaml / -o json, and `describe`.

Layouts follow kubectl's printers (pkg/printers/internalversion) and describers (kubectl/pkg/describe),
down to Go's tabwriter alignment, so output reads the same as against a real cluster.
Every function returns the text without a trailing newline.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import yaml

from control.api import quantity
from control.api.kinds import KindInfo, lookup
from control.api.labels import format_label_selector, format_labels
from control.api.qos import qos_class

SCHEDULING_ANNOTATION = "kube-tui.io/scheduling"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"

# --- Go's text/tabwriter ---------------------------------------------------------------------------


def tabwrite(text: str, *, minwidth: int = 0, padding: int = 2) -> str:
    """Align tab-separated cells the way Go's tabwriter does.

    A column block is a run of consecutive lines that have a tab-terminated cell in that column;
    the block's width is its widest cell plus padding (at least minwidth). The last cell of a line
    is never padded.
    """
    rows = [line.split("\t") for line in text.split("\n")]
    widths: list[list[int]] = [[0] * (len(r) - 1) for r in rows]
    ncols = max((len(r) - 1 for r in rows), default=0)
    for col in range(ncols):
        i = 0
        while i < len(rows):
            if len(rows[i]) - 1 <= col:
                i += 1
                continue
            j = i
            width = minwidth
            while j < len(rows) and len(rows[j]) - 1 > col:
                width = max(width, len(rows[j][col]) + padding)
                j += 1
            for k in range(i, j):
                widths[k][col] = width
            i = j
    out = []
    for row, w in zip(rows, widths, strict=True):
        out.append("".join(cell.ljust(w[c]) for c, cell in enumerate(row[:-1])) + row[-1])
    return "\n".join(out)


# --- time ------------------------------------------------------------------------------------------


def parse_time(value: Any) -> float | None:
    """A Kubernetes timestamp (RFC 3339 string, or epoch seconds) as epoch seconds; None when unset."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Python < 3.11 parsers choke on >6 fractional digits; RFC 3339 allows nanoseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration: `5s`, `3m20s`, `2d4h`, ..."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 60 * 2:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        sec = s % 60
        return f"{minutes}m" if sec == 0 else f"{minutes}m{sec}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def since(value: Any, now: float | None = None) -> str:
    """translateTimestampSince: the age of a timestamp, `<unknown>` when unset."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return human_duration((time.time() if now is None else now) - t)


def rfc1123z(value: Any) -> str:
    """Go's time.RFC1123Z in local time, as kubectl describe prints timestamps."""
    t = parse_time(value)
    if t is None:
        return "<unset>"
    return datetime.fromtimestamp(t).astimezone().strftime("%a, %d %b %Y %H:%M:%S %z")


# --- small accessors -------------------------------------------------------------------------------


def _get(obj: Any, *path: str, default: Any = None) -> Any:
    cur = obj
    for p in path:
        if not isinstance(cur, Mapping):
            return default
        cur = cur.get(p)
        if cur is None:
            return default
    return cur


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _age(obj: Mapping[str, Any], now: float | None) -> str:
    return since(_meta(obj).get("creationTimestamp"), now)


def _or_none(s: str) -> str:
    return s if s else "<none>"


# --- pods ------------------------------------------------------------------------------------------


def _restartable_init(c: Mapping[str, Any] | None) -> bool:
    return bool(c) and c.get("restartPolicy") == "Always"


def pod_status(pod: Mapping[str, Any], now: float | None = None) -> tuple[str, str, str]:
    """kubectl's READY, STATUS and RESTARTS cells for a pod (printPod)."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(spec.get("containers") or []) + sum(1 for c in init_specs.values() if _restartable_init(c))
    ready = restarts = sidecar_restarts = 0
    last_restart: float | None = None
    sidecar_last_restart: float | None = None
    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += int(cs.get("restartCount") or 0)
        finished = parse_time(_get(cs, "lastState", "terminated", "finishedAt"))
        if finished is not None and (last_restart is None or finished > last_restart):
            last_restart = finished
        sidecar = _restartable_init(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            if finished is not None and (sidecar_last_restart is None or finished > sidecar_last_restart):
                sidecar_last_restart = finished
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{term.get('exitCode', 0)}"
        elif waiting is not None and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break
    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                      for c in status.get("conditions") or [])
    if not initializing or initialized:
        restarts, last_restart = sidecar_restarts, sidecar_last_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            finished = parse_time(_get(cs, "lastState", "terminated", "finishedAt"))
            if finished is not None and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode', 0)}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in status.get("conditions") or [])
            reason = "Running" if pod_ready else "NotReady"
    deleting = _meta(pod).get("deletionTimestamp") is not None
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({human_duration((time.time() if now is None else now) - last_restart)} ago)"
    return f"{ready}/{total}", reason, restarts_cell


def _pod_ip(pod: Mapping[str, Any]) -> str:
    ips = _get(pod, "status", "podIPs") or []
    if ips and ips[0].get("ip"):
        return str(ips[0]["ip"])
    return str(_get(pod, "status", "podIP", default=""))


def _pod_row(pod: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    ready, reason, restarts = pod_status(pod, now)
    row = [_meta(pod).get("name", ""), ready, reason, restarts, _age(pod, now)]
    if wide:
        gates = _get(pod, "spec", "readinessGates") or []
        gates_cell = "<none>"
        if gates:
            conds = {c.get("type"): c.get("status") for c in _get(pod, "status", "conditions") or []}
            gates_cell = f"{sum(1 for g in gates if conds.get(g.get('conditionType')) == 'True')}/{len(gates)}"
        row += [_or_none(_pod_ip(pod)), _or_none(_get(pod, "spec", "nodeName", default="")),
                _or_none(_get(pod, "status", "nominatedNodeName", default="")), gates_cell]
    return row


# --- other kinds -----------------------------------------------------------------------------------


def _containers_images(template_spec: Mapping[str, Any] | None) -> list[str]:
    cs = (template_spec or {}).get("containers") or []
    return [",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)]


def _workload_wide(obj: Mapping[str, Any]) -> list[str]:
    return _containers_images(_get(obj, "spec", "template", "spec")) + [
        format_label_selector(_get(obj, "spec", "selector"))
    ]


def _deployment_row(d: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    st = d.get("status") or {}
    desired = _get(d, "spec", "replicas", default=0)
    row = [_meta(d).get("name", ""), f"{st.get('readyReplicas', 0)}/{desired}", str(st.get("updatedReplicas", 0)),
           str(st.get("availableReplicas", 0)), _age(d, now)]
    return row + (_workload_wide(d) if wide else [])


def _replicaset_row(rs: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    st = rs.get("status") or {}
    row = [_meta(rs).get("name", ""), str(_get(rs, "spec", "replicas", default=0)), str(st.get("replicas", 0)),
           str(st.get("readyReplicas", 0)), _age(rs, now)]
    return row + (_workload_wide(rs) if wide else [])


def _daemonset_row(ds: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    st = ds.get("status") or {}
    row = [_meta(ds).get("name", ""), str(st.get("desiredNumberScheduled", 0)),
           str(st.get("currentNumberScheduled", 0)), str(st.get("numberReady", 0)),
           str(st.get("updatedNumberScheduled", 0)), str(st.get("numberAvailable", 0)),
           format_labels(_get(ds, "spec", "template", "spec", "nodeSelector")), _age(ds, now)]
    return row + (_workload_wide(ds) if wide else [])


def _job_status(job: Mapping[str, Any]) -> str:
    conds = {c.get("type") for c in _get(job, "status", "conditions") or [] if c.get("status") == "True"}
    if "Complete" in conds:
        return "Complete"
    if "Failed" in conds:
        return "Failed"
    if _meta(job).get("deletionTimestamp") is not None:
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
    row = [_meta(job).get("name", ""), _job_status(job), completions, duration, _age(job, now)]
    return row + (_workload_wide(job) if wide else [])


def _service_external_ip(svc: Mapping[str, Any]) -> str:
    spec = svc.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    external = list(spec.get("externalIPs") or [])
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        ingress = [i.get("ip") or i.get("hostname") or "" for i in _get(svc, "status", "loadBalancer", "ingress") or []]
        ips = [i for i in ingress if i] + external
        return ",".join(ips) if ips else "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName", ""))
    return "<unknown>"


def _service_ports(svc: Mapping[str, Any]) -> str:
    parts = []
    for p in _get(svc, "spec", "ports") or []:
        proto = p.get("protocol") or "TCP"
        if p.get("nodePort"):
            parts.append(f"{p.get('port')}:{p['nodePort']}/{proto}")
        else:
            parts.append(f"{p.get('port')}/{proto}")
    return ",".join(parts) if parts else "<none>"


def _service_row(svc: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    spec = svc.get("spec") or {}
    row = [_meta(svc).get("name", ""), spec.get("type") or "ClusterIP", _or_none(spec.get("clusterIP") or ""),
           _service_external_ip(svc), _service_ports(svc), _age(svc, now)]
    if wide:
        row.append(format_labels(spec.get("selector")))
    return row


def node_status(node: Mapping[str, Any]) -> str:
    """kubectl's STATUS for a node: Ready / NotReady / Unknown, plus SchedulingDisabled."""
    states = []
    for cond in _get(node, "status", "conditions") or []:
        if cond.get("type") == "Ready":
            states = ["Ready" if cond.get("status") == "True" else "NotReady"]
    if not states:
        states = ["Unknown"]
    if _get(node, "spec", "unschedulable"):
        states.append("SchedulingDisabled")
    return ",".join(states)


def node_roles(node: Mapping[str, Any]) -> str:
    roles = set()
    for key, value in (_meta(node).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/"):]:
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) if roles else "<none>"


def _node_address(node: Mapping[str, Any], kind: str) -> str:
    for a in _get(node, "status", "addresses") or []:
        if a.get("type") == kind:
            return str(a.get("address", ""))
    return "<none>"


def _node_row(node: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    info = _get(node, "status", "nodeInfo") or {}
    row = [_meta(node).get("name", ""), node_status(node), node_roles(node), _age(node, now),
           info.get("kubeletVersion", "")]
    if wide:
        row += [_node_address(node, "InternalIP"), _node_address(node, "ExternalIP"),
                info.get("osImage") or "<unknown>", info.get("kernelVersion") or "<unknown>",
                info.get("containerRuntimeVersion") or "<unknown>"]
    return row


def _namespace_row(ns: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    return [_meta(ns).get("name", ""), _get(ns, "status", "phase", default=""), _age(ns, now)]


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
    return [_meta(ep).get("name", ""), format_endpoints(ep), _age(ep, now)]


def _event_interval(ev: Mapping[str, Any], now: float | None, *, describe: bool = False) -> str:
    first = since(ev.get("firstTimestamp"), now) if ev.get("firstTimestamp") else since(ev.get("eventTime"), now)
    series = ev.get("series")
    if describe:
        if ev.get("eventTime"):
            first = since(ev.get("eventTime"), now)
        last = since(ev.get("lastTimestamp"), now)
    else:
        last = since(ev.get("lastTimestamp"), now) if ev.get("lastTimestamp") else first
    count = ev.get("count") or 0
    if series:
        last = since(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif count == 0:
        count = 1
    if count > 1:
        return f"{last} (x{count} over {first})"
    return first if describe else last


def _event_row(ev: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    obj = ev.get("involvedObject") or {}
    return [_event_interval(ev, now), ev.get("type", ""), ev.get("reason", ""),
            f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}", str(ev.get("message", "")).strip()]


def _lease_row(lease: Mapping[str, Any], wide: bool, now: float | None) -> list[str]:
    return [_meta(lease).get("name", ""), _get(lease, "spec", "holderIdentity", default=""), _age(lease, now)]


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
    "Job": (["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"], ["CONTAINERS", "IMAGES", "SELECTOR"], _job_row),
    "Service": (["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], ["SELECTOR"], _service_row),
    "Node": (["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
             ["INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"], _node_row),
    "Namespace": (["NAME", "STATUS", "AGE"], [], _namespace_row),
    "Endpoints": (["NAME", "ENDPOINTS", "AGE"], [], _endpoints_row),
    "Event": (["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], [], _event_row),
    "Lease": (["NAME", "HOLDER", "AGE"], [], _lease_row),
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
            cells.insert(0, str(_meta(obj).get("namespace", "")))
        body.append(cells)
    return header, body


def table(kind: str, objs: list[dict], *, wide: bool = False, all_namespaces: bool = False,
          now: float | None = None) -> str:
    """`kubectl get <kind>` output: kubectl's columns, aligned like its tabwriter (3 spaces apart)."""
    header, body = rows(kind, objs, wide=wide, all_namespaces=all_namespaces, now=now)
    text = "\n".join("\t".join(r) for r in [header, *body])
    return tabwrite(text, minwidth=6, padding=3)


def no_resources(namespace: str | None) -> str:
    """What kubectl prints when a list is empty (cluster-scoped kinds and -A pass None)."""
    return f"No resources found in {namespace} namespace." if namespace else "No resources found"


# --- -o yaml / -o json -----------------------------------------------------------------------------


class _KubeDumper(yaml.SafeDumper):
    """Block style, keys in the object's order, double quotes where a plain scalar would change type."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    node = dumper.represent_scalar("tag:yaml.org,2002:str", value)
    if dumper.resolve(yaml.ScalarNode, value, (True, False)) != "tag:yaml.org,2002:str":
        node.style = '"'
    return node


_KubeDumper.add_representer(str, _represent_str)


def to_yaml(obj: Any) -> str:
    """kubectl -o yaml: block style, keys in the object's order, sequences not indented under their key."""
    text = yaml.dump(obj, Dumper=_KubeDumper, default_flow_style=False, sort_keys=False, allow_unicode=True,
                     width=1 << 30)
    return text.rstrip("\n")


def to_json(obj: Any) -> str:
    """kubectl -o json: four-space indent."""
    return json.dumps(obj, indent=4, ensure_ascii=False)


# --- describe --------------------------------------------------------------------------------------


class _Out:
    """kubectl's PrefixWriter: each level indents two spaces; the text is tab-aligned at the end."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, level: int, text: str) -> None:
        self.parts.append("  " * level + text)

    def text(self) -> str:
        return tabwrite("".join(self.parts), minwidth=0, padding=2).rstrip("\n")


def _labels_multiline(w: _Out, title: str, labels: Mapping[str, str] | None, level: int = 0) -> None:
    w.write(level, f"{title}:\t")
    if not labels:
        w.write(0, "<none>\n")
        return
    for i, key in enumerate(sorted(labels)):
        if i:
            w.write(level, "\t")
        w.write(0, f"{key}={labels[key]}\n")


_MAX_ANNOTATION_LEN = 140


def _shorten(s: str, n: int) -> str:
    return s[:n] + "..." if len(s) > n else s


def _annotations_multiline(w: _Out, title: str, annotations: Mapping[str, str] | None, level: int = 0) -> None:
    skip = {LAST_APPLIED_ANNOTATION, SCHEDULING_ANNOTATION}
    shown = {k: v for k, v in (annotations or {}).items() if k not in skip}
    w.write(level, f"{title}:\t")
    if not shown:
        w.write(0, "<none>\n")
        return
    for i, key in enumerate(sorted(shown)):
        if i:
            w.write(level, "\t")
        value = str(shown[key]).removesuffix("\n")
        if len(value) + len(key) + 2 > _MAX_ANNOTATION_LEN or "\n" in value:
            w.write(0, f"{key}:\n")
            for line in value.split("\n"):
                w.write(level, f"\t  {_shorten(line, _MAX_ANNOTATION_LEN - 2)}\n")
        else:
            w.write(0, f"{key}: {value}\n")


def _tolerations_multiline(w: _Out, title: str, tolerations: list[Mapping[str, Any]] | None, level: int = 0) -> None:
    w.write(level, f"{title}:\t")
    if not tolerations:
        w.write(0, "<none>\n")
        return
    for i, t in enumerate(sorted(tolerations, key=lambda t: t.get("key") or "")):
        if i:
            w.write(level, "\t")
        text = t.get("key") or ""
        if t.get("value"):
            text += f"={t['value']}"
        if t.get("effect"):
            text += f":{t['effect']}"
        if t.get("operator") == "Exists" and not t.get("value"):
            text += " op=Exists" if (t.get("key") or t.get("effect")) else "op=Exists"
        if t.get("tolerationSeconds") is not None:
            text += f" for {t['tolerationSeconds']}s"
        w.write(0, text + "\n")


def _controller(obj: Mapping[str, Any]) -> str:
    for ref in _meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return f"{ref.get('kind')}/{ref.get('name')}"
    return ""


def _describe_probe(p: Mapping[str, Any]) -> str:
    attrs = (f"delay={p.get('initialDelaySeconds', 0)}s timeout={p.get('timeoutSeconds', 1)}s "
             f"period={p.get('periodSeconds', 10)}s #success={p.get('successThreshold', 1)} "
             f"#failure={p.get('failureThreshold', 3)}")
    if p.get("exec") is not None:
        return f"exec [{' '.join(str(c) for c in p['exec'].get('command') or [])}] {attrs}"
    if p.get("httpGet") is not None:
        h = p["httpGet"]
        scheme = str(h.get("scheme") or "HTTP").lower()
        return f"http-get {scheme}://{h.get('host', '')}:{h.get('port', '')}{h.get('path', '')} {attrs}"
    if p.get("tcpSocket") is not None:
        t = p["tcpSocket"]
        return f"tcp-socket {t.get('host', '')}:{t.get('port', '')} {attrs}"
    if p.get("grpc") is not None:
        g = p["grpc"]
        return f"grpc <pod>:{g.get('port', '')} {g.get('service', '')} {attrs}"
    return f"unknown {attrs}"


def _describe_state(w: _Out, title: str, state: Mapping[str, Any]) -> None:
    if state.get("running") is not None:
        w.write(2, f"{title}:\tRunning\n")
        w.write(3, f"Started:\t{rfc1123z(state['running'].get('startedAt'))}\n")
    elif state.get("waiting") is not None:
        w.write(2, f"{title}:\tWaiting\n")
        if state["waiting"].get("reason"):
            w.write(3, f"Reason:\t{state['waiting']['reason']}\n")
    elif state.get("terminated") is not None:
        t = state["terminated"]
        w.write(2, f"{title}:\tTerminated\n")
        if t.get("reason"):
            w.write(3, f"Reason:\t{t['reason']}\n")
        if t.get("message"):
            w.write(3, f"Message:\t{t['message']}\n")
        w.write(3, f"Exit Code:\t{t.get('exitCode', 0)}\n")
        if t.get("signal"):
            w.write(3, f"Signal:\t{t['signal']}\n")
        w.write(3, f"Started:\t{rfc1123z(t.get('startedAt'))}\n")
        w.write(3, f"Finished:\t{rfc1123z(t.get('finishedAt'))}\n")
    else:
        w.write(2, f"{title}:\tWaiting\n")


def _describe_containers(w: _Out, label: str, containers: list[Mapping[str, Any]],
                         statuses: list[Mapping[str, Any]] | None, space: str) -> None:
    by_name = {s.get("name"): s for s in statuses or []}
    if not containers:
        w.write(0, f"{space}{label}: <none>\n")
        return
    w.write(0, f"{space}{label}:\n")
    indent = " " if space else ""
    for c in containers:
        st = by_name.get(c.get("name"))
        w.write(1, f"{indent}{c.get('name', '')}:\n")
        if st is not None:
            w.write(2, f"Container ID:\t{st.get('containerID', '')}\n")
        w.write(2, f"Image:\t{c.get('image', '')}\n")
        if st is not None:
            w.write(2, f"Image ID:\t{st.get('imageID', '')}\n")
        ports = ", ".join(f"{p.get('containerPort')}/{p.get('protocol') or 'TCP'}" for p in c.get("ports") or [])
        host_ports = ", ".join(f"{p.get('hostPort', 0)}/{p.get('protocol') or 'TCP'}" for p in c.get("ports") or [])
        w.write(2, f"Ports:\t{ports}\n" if "," in ports else f"Port:\t{_or_none(ports)}\n")
        w.write(2, f"Host Ports:\t{host_ports}\n" if "," in host_ports else f"Host Port:\t{_or_none(host_ports)}\n")
        for key, title in (("command", "Command"), ("args", "Args")):
            if c.get(key):
                w.write(2, f"{title}:\n")
                for arg in c[key]:
                    for line in str(arg).split("\n"):
                        w.write(3, f"{line}\n")
        if st is not None:
            _describe_state(w, "State", st.get("state") or {})
            if _get(st, "lastState", "terminated") is not None:
                _describe_state(w, "Last State", st["lastState"])
            w.write(2, f"Ready:\t{'True' if st.get('ready') else 'False'}\n")
            w.write(2, f"Restart Count:\t{st.get('restartCount', 0)}\n")
        res = c.get("resources") or {}
        for key, title in (("limits", "Limits"), ("requests", "Requests")):
            if res.get(key):
                w.write(2, f"{title}:\n")
                for name in sorted(res[key]):
                    w.write(3, f"{name}:\t{res[key][name]}\n")
        for key, title in (("livenessProbe", "Liveness"), ("readinessProbe", "Readiness"),
                           ("startupProbe", "Startup")):
            if c.get(key):
                w.write(2, f"{title}:\t{_describe_probe(c[key])}\n")
        env = c.get("env") or []
        w.write(2, "Environment:" + ("" if env else "\t<none>") + "\n")
        for e in env:
            if e.get("valueFrom") is None:
                for i, line in enumerate(str(e.get("value", "")).split("\n")):
                    w.write(3, f"{e.get('name')}:\t{line}\n" if i == 0 else f"\t{line}\n")
            else:
                src = e["valueFrom"]
                if src.get("fieldRef"):
                    ref = src["fieldRef"]
                    w.write(3, f"{e.get('name')}:\t ({ref.get('apiVersion', 'v1')}:{ref.get('fieldPath', '')})\n")
                else:
                    w.write(3, f"{e.get('name')}:\t<set to the key of a {', '.join(src)}>\n")
        mounts = c.get("volumeMounts") or []
        w.write(2, "Mounts:" + ("" if mounts else "\t<none>") + "\n")
        for m in sorted(mounts, key=lambda m: m.get("mountPath", "")):
            flags = ["ro" if m.get("readOnly") else "rw"]
            if m.get("subPath"):
                flags.append(f'path="{m["subPath"]}"')
            w.write(3, f"{m.get('mountPath')} from {m.get('name')} ({','.join(flags)})\n")


def _describe_volumes(w: _Out, volumes: list[Mapping[str, Any]] | None, space: str) -> None:
    if not volumes:
        w.write(0, f"{space}Volumes:\t<none>\n")
        return
    w.write(0, f"{space}Volumes:\n")
    indent = " " if space else ""
    for v in volumes:
        w.write(1, f"{indent}{v.get('name')}:\n")
        if v.get("hostPath") is not None:
            hp = v["hostPath"]
            w.write(2, "Type:\tHostPath (bare host directory volume)\n")
            w.write(2, f"Path:\t{hp.get('path', '')}\n")
            w.write(2, f"HostPathType:\t{hp.get('type', '')}\n")
        elif v.get("emptyDir") is not None:
            ed = v["emptyDir"]
            w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n")
            w.write(2, f"Medium:\t{ed.get('medium', '')}\n")
            w.write(2, f"SizeLimit:\t{ed.get('sizeLimit', '<unset>')}\n")
        else:
            kinds = [k for k in v if k != "name"]
            w.write(2, f"Type:\t{kinds[0] if kinds else '<unknown>'} (stored, not mounted by kube-tui)\n")


def _describe_pod_template(w: _Out, template: Mapping[str, Any] | None) -> None:
    w.write(0, "Pod Template:\n")
    if not template:
        w.write(1, "<unset>")
        return
    meta, spec = template.get("metadata") or {}, template.get("spec") or {}
    _labels_multiline(w, "  Labels", meta.get("labels"))
    if meta.get("annotations"):
        _annotations_multiline(w, "  Annotations", meta.get("annotations"))
    if spec.get("serviceAccountName"):
        w.write(1, f"Service Account:\t{spec['serviceAccountName']}\n")
    if spec.get("initContainers"):
        _describe_containers(w, "Init Containers", spec["initContainers"], None, "  ")
    _describe_containers(w, "Containers", spec.get("containers") or [], None, "  ")
    _describe_volumes(w, spec.get("volumes"), "  ")
    _labels_multiline(w, "  Node-Selectors", spec.get("nodeSelector"))
    _tolerations_multiline(w, "  Tolerations", spec.get("tolerations"))


def describe_events(w: _Out, events: list[Mapping[str, Any]] | None, now: float | None) -> None:
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    ordered = sorted(events, key=lambda e: parse_time(e.get("lastTimestamp") or e.get("eventTime")) or 0.0)
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")
    for e in ordered:
        source = _get(e, "source", "component", default="") or e.get("reportingComponent", "")
        w.write(1, f"{e.get('type', '')}\t{e.get('reason', '')}\t{_event_interval(e, now, describe=True)}\t"
                   f"{source}\t{str(e.get('message', '')).strip()}\n")


def _describe_scheduling(w: _Out, pod: Mapping[str, Any]) -> None:
    """kube-tui's scheduler record: the chosen node, its message, and each node's filters and scores."""
    raw = (_meta(pod).get("annotations") or {}).get(SCHEDULING_ANNOTATION)
    if not raw:
        return
    try:
        record = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        w.write(0, "Scheduling:\t<unreadable>\n")
        return
    if not isinstance(record, Mapping):
        w.write(0, "Scheduling:\t<unreadable>\n")
        return
    w.write(0, "Scheduling:\n")
    chosen = record.get("node")
    w.write(1, f"Node:\t{chosen or '<none>'}\n")
    if record.get("message"):
        w.write(1, f"Message:\t{record['message']}\n")
    nodes = record.get("nodes") or []
    if not nodes:
        return
    w.write(0, "\n")
    w.write(1, "Node\tResult\tFilters\tScores\tTotal\n")
    w.write(1, "----\t------\t-------\t------\t-----\n")
    for n in nodes:
        filters = n.get("filters") or []
        failed = [f for f in filters if not f.get("ok")]
        if n.get("node") == chosen and chosen:
            result = "Selected"
        else:
            result = "Filtered" if failed else "Feasible"
        filters_cell = "; ".join(f"{f.get('plugin')}: {f.get('reason', '')}".rstrip(": ") for f in failed)
        if not filters_cell:
            filters_cell = f"all {len(filters)} passed" if filters else "<none>"
        scores_cell = ", ".join(f"{s.get('plugin')} {s.get('score')}x{s.get('weight', 1)}"
                                for s in n.get("scores") or []) or "<none>"
        total = n.get("total") if not failed else "-"
        w.write(1, f"{n.get('node', '')}\t{result}\t{filters_cell}\t{scores_cell}\t{total}\n")


def _describe_pod(pod: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    w = _Out()
    meta, spec, st = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    if spec.get("priority") is not None:
        w.write(0, f"Priority:\t{spec['priority']}\n")
    if spec.get("priorityClassName"):
        w.write(0, f"Priority Class Name:\t{spec['priorityClassName']}\n")
    if spec.get("serviceAccountName"):
        w.write(0, f"Service Account:\t{spec['serviceAccountName']}\n")
    node = spec.get("nodeName")
    w.write(0, f"Node:\t{node}/{st.get('hostIP', '')}\n" if node else "Node:\t<none>\n")
    if st.get("startTime"):
        w.write(0, f"Start Time:\t{rfc1123z(st['startTime'])}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    if meta.get("deletionTimestamp") and st.get("phase") not in ("Failed", "Succeeded"):
        left = parse_time(meta["deletionTimestamp"])
        remaining = human_duration(left - (time.time() if now is None else now)) if left is not None else "<unknown>"
        w.write(0, f"Status:\tTerminating (lasts {remaining})\n")
        w.write(0, f"Termination Grace Period:\t{meta.get('deletionGracePeriodSeconds', 0)}s\n")
    else:
        w.write(0, f"Status:\t{st.get('phase', '')}\n")
    if st.get("reason"):
        w.write(0, f"Reason:\t{st['reason']}\n")
    if st.get("message"):
        w.write(0, f"Message:\t{st['message']}\n")
    w.write(0, f"IP:\t{st.get('podIP', '')}\n")
    ips = st.get("podIPs") or []
    if not ips:
        w.write(0, "IPs:\t<none>\n")
    else:
        w.write(0, "IPs:\n")
        for ip in ips:
            w.write(1, f"IP:\t{ip.get('ip', '')}\n")
    if _controller(pod):
        w.write(0, f"Controlled By:\t{_controller(pod)}\n")
    if st.get("nominatedNodeName"):
        w.write(0, f"NominatedNodeName:\t{st['nominatedNodeName']}\n")
    if spec.get("initContainers"):
        _describe_containers(w, "Init Containers", spec["initContainers"], st.get("initContainerStatuses"), "")
    _describe_containers(w, "Containers", spec.get("containers") or [], st.get("containerStatuses") or [], "")
    if st.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for c in st["conditions"]:
            w.write(1, f"{c.get('type')} \t{c.get('status')} \n")
    _describe_volumes(w, spec.get("volumes"), "")
    w.write(0, f"QoS Class:\t{st.get('qosClass') or qos_class(dict(pod))}\n")
    _labels_multiline(w, "Node-Selectors", spec.get("nodeSelector"))
    _tolerations_multiline(w, "Tolerations", spec.get("tolerations"))
    _describe_scheduling(w, pod)
    describe_events(w, events, now)
    return w.text()


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


def _percent(part: int, whole: int) -> str:
    return f"{int(part * 100 / whole) if whole else 0}%"


def _describe_node(node: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None,
                   pods: list[Mapping[str, Any]] | None, lease: Mapping[str, Any] | None) -> str:
    w = _Out()
    meta, spec, st = _meta(node), node.get("spec") or {}, node.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Roles:\t{node_roles(node)}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
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
        running = [p for p in pods if _get(p, "status", "phase") not in ("Succeeded", "Failed")]
        alloc = st.get("allocatable") or st.get("capacity") or {}
        cpu_total = _milli(alloc.get("cpu", 0))
        mem_total = _bytes(alloc.get("memory", 0))
        w.write(0, f"Non-terminated Pods:\t({len(running)} in total)\n")
        w.write(1, "Namespace\tName\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
        w.write(1, "---------\t----\t------------\t----------\t---------------\t-------------\t---\n")
        totals = {"rc": 0, "lc": 0, "rm": 0, "lm": 0}
        for p in running:
            rc = lc = rm = lm = 0
            for c in _get(p, "spec", "containers") or []:
                res = c.get("resources") or {}
                rc += _milli((res.get("requests") or {}).get("cpu", 0))
                lc += _milli((res.get("limits") or {}).get("cpu", 0))
                rm += _bytes((res.get("requests") or {}).get("memory", 0))
                lm += _bytes((res.get("limits") or {}).get("memory", 0))
            for k, v in (("rc", rc), ("lc", lc), ("rm", rm), ("lm", lm)):
                totals[k] += v
            w.write(1, f"{_meta(p).get('namespace', '')}\t{_meta(p).get('name', '')}\t"
                       f"{quantity.format_cpu(rc)} ({_percent(rc, cpu_total)})\t"
                       f"{quantity.format_cpu(lc)} ({_percent(lc, cpu_total)})\t"
                       f"{quantity.format_bytes(rm)} ({_percent(rm, mem_total)})\t"
                       f"{quantity.format_bytes(lm)} ({_percent(lm, mem_total)})\t{_age(p, now)}\n")
        w.write(0, "Allocated resources:\n")
        w.write(1, "(Total limits may be over 100 percent, i.e., overcommitted.)\n")
        w.write(1, "Resource\tRequests\tLimits\n")
        w.write(1, "--------\t--------\t------\n")
        w.write(1, f"cpu\t{quantity.format_cpu(totals['rc'])} ({_percent(totals['rc'], cpu_total)})\t"
                   f"{quantity.format_cpu(totals['lc'])} ({_percent(totals['lc'], cpu_total)})\n")
        w.write(1, f"memory\t{quantity.format_bytes(totals['rm'])} ({_percent(totals['rm'], mem_total)})\t"
                   f"{quantity.format_bytes(totals['lm'])} ({_percent(totals['lm'], mem_total)})\n")
    describe_events(w, events, now)
    return w.text()


def _replica_sets_cell(rss: list[Mapping[str, Any]]) -> str:
    if not rss:
        return "<none>"
    return ", ".join(f"{_meta(r).get('name')} ({_get(r, 'status', 'replicas', default=0)}/"
                     f"{_get(r, 'spec', 'replicas', default=0)} replicas created)" for r in rss)


def _describe_deployment(d: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None,
                         replicasets: list[Mapping[str, Any]] | None) -> str:
    w = _Out()
    meta, spec, st = _meta(d), d.get("spec") or {}, d.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    w.write(0, f"Replicas:\t{spec.get('replicas', 0)} desired | {st.get('updatedReplicas', 0)} updated | "
               f"{st.get('replicas', 0)} total | {st.get('availableReplicas', 0)} available | "
               f"{st.get('unavailableReplicas', 0)} unavailable\n")
    strategy = spec.get("strategy") or {}
    w.write(0, f"StrategyType:\t{strategy.get('type', '')}\n")
    w.write(0, f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}\n")
    ru = strategy.get("rollingUpdate")
    if ru:
        w.write(0, f"RollingUpdateStrategy:\t{ru.get('maxUnavailable')} max unavailable, "
                   f"{ru.get('maxSurge')} max surge\n")
    _describe_pod_template(w, spec.get("template"))
    if st.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.write(1, "----\t------\t------\n")
        for c in st["conditions"]:
            w.write(1, f"{c.get('type')} \t{c.get('status')}\t{c.get('reason', '')}\n")
    if replicasets is not None:
        new = [r for r in replicasets if _is_current_rs(r, spec.get("template"))][:1]
        new_name = _meta(new[0]).get("name") if new else None
        old = [r for r in replicasets if _meta(r).get("name") != new_name
               and (_get(r, "spec", "replicas", default=0) or _get(r, "status", "replicas", default=0))]
        w.write(0, f"OldReplicaSets:\t{_replica_sets_cell(old)}\n")
        w.write(0, f"NewReplicaSet:\t{_replica_sets_cell(new)}\n")
    describe_events(w, events, now)
    return w.text()


def _is_current_rs(rs: Mapping[str, Any], template: Mapping[str, Any] | None) -> bool:
    """The new ReplicaSet has the deployment's pod template (ignoring the pod-template-hash label)."""
    mine = json.loads(json.dumps(_get(rs, "spec", "template") or {}))
    (mine.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
    theirs = json.loads(json.dumps(template or {}))
    return mine == theirs


def _describe_replicaset(rs: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None,
                         pods: list[Mapping[str, Any]] | None) -> str:
    w = _Out()
    meta, spec, st = _meta(rs), rs.get("spec") or {}, rs.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    if _controller(rs):
        w.write(0, f"Controlled By:\t{_controller(rs)}\n")
    w.write(0, f"Replicas:\t{st.get('replicas', 0)} current / {spec.get('replicas', 0)} desired\n")
    phases = [_get(p, "status", "phase", default="") for p in pods or []]
    w.write(0, f"Pods Status:\t{phases.count('Running')} Running / {phases.count('Pending')} Waiting / "
               f"{phases.count('Succeeded')} Succeeded / {phases.count('Failed')} Failed\n")
    _describe_pod_template(w, spec.get("template"))
    if st.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.write(1, "----\t------\t------\n")
        for c in st["conditions"]:
            w.write(1, f"{c.get('type')} \t{c.get('status')}\t{c.get('reason', '')}\n")
    describe_events(w, events, now)
    return w.text()


def _describe_service(svc: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None,
                      endpoints: Mapping[str, Any] | None) -> str:
    w = _Out()
    meta, spec = _meta(svc), svc.get("spec") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
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
    ingress = _get(svc, "status", "loadBalancer", "ingress") or []
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


_ACRONYMS = {"API", "URL", "UID", "OSB", "GUID", "IP", "CIDR"}


def smart_label(field: str) -> str:
    """kubectl's smartLabelFor: `holderIdentity` -> `Holder Identity`, `apiVersion` -> `API Version`."""
    if not re.fullmatch(r"[A-Za-z-]+", field):
        return field
    parts = re.findall(r"[A-Z]+(?=[A-Z][a-z]|$)|[A-Z]?[a-z]+|[A-Z]+|-", field)
    return " ".join(p.upper() if p.upper() in _ACRONYMS else p[:1].upper() + p[1:] for p in parts if p != "-")


def _unstructured(w: _Out, level: int, content: Mapping[str, Any]) -> None:
    for key in sorted(content):
        value = content[key]
        if isinstance(value, Mapping):
            w.write(level, f"{smart_label(key)}:\n")
            _unstructured(w, level + 1, value)
        elif isinstance(value, list):
            w.write(level, f"{smart_label(key)}:\n")
            for item in value:
                if isinstance(item, Mapping):
                    _unstructured(w, level + 1, item)
                else:
                    w.write(level + 1, f"{item}\n")
        else:
            w.write(level, f"{smart_label(key)}:\t{value}\n")


def _describe_generic(obj: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    w = _Out()
    meta = _meta(obj)
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    if meta.get("namespace"):
        w.write(0, f"Namespace:\t{meta['namespace']}\n")
    _labels_multiline(w, "Labels", meta.get("labels"))
    _annotations_multiline(w, "Annotations", meta.get("annotations"))
    if obj.get("kind") == "Namespace":
        w.write(0, f"Status:\t{_get(obj, 'status', 'phase', default='')}\n")
    else:
        rest = {k: v for k, v in obj.items() if k != "metadata"}
        _unstructured(w, 0, rest)
    describe_events(w, events, now)
    return w.text()


def describe(obj: dict, events: list[dict], *, now: float | None = None, pods: list[dict] | None = None,
             replicasets: list[dict] | None = None, endpoints: dict | None = None,
             lease: dict | None = None) -> str:
    """`kubectl describe` for one object with its events.

    Optional related objects fill in what kubectl would fetch: the pods of a Node or ReplicaSet, the
    ReplicaSets of a Deployment, a Service's Endpoints, a Node's Lease.
    """
    kind = obj.get("kind")
    if kind == "Pod":
        return _describe_pod(obj, events, now)
    if kind == "Node":
        return _describe_node(obj, events, now, pods, lease)
    if kind == "Deployment":
        return _describe_deployment(obj, events, now, replicasets)
    if kind == "ReplicaSet":
        return _describe_replicaset(obj, events, now, pods)
    if kind == "Service":
        return _describe_service(obj, events, now, endpoints)
    return _describe_generic(obj, events, now)
