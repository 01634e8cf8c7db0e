"""`kubectl describe pod`, and the containers, volumes and pod template sections workloads share."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from control.api.qos import qos_class
from control.scheduler.record import parse as parse_record
from tui.printers.describers.writer import (
    SCHEDULING_ANNOTATION,
    PrefixWriter,
    annotations_multiline,
    controlled_by,
    describe_events,
    labels_multiline,
    tolerations_multiline,
)
from tui.printers.status import get_path, human_duration, meta_of, or_none, parse_time, rfc1123z


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


def _describe_state(w: PrefixWriter, title: str, state: Mapping[str, Any]) -> None:
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


def _describe_containers(w: PrefixWriter, label: str, containers: list[Mapping[str, Any]],
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
        w.write(2, f"Ports:\t{ports}\n" if "," in ports else f"Port:\t{or_none(ports)}\n")
        w.write(2, f"Host Ports:\t{host_ports}\n" if "," in host_ports else f"Host Port:\t{or_none(host_ports)}\n")
        for key, title in (("command", "Command"), ("args", "Args")):
            if c.get(key):
                w.write(2, f"{title}:\n")
                for arg in c[key]:
                    for line in str(arg).split("\n"):
                        w.write(3, f"{line}\n")
        if st is not None:
            _describe_state(w, "State", st.get("state") or {})
            if get_path(st, "lastState", "terminated") is not None:
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


def _describe_volumes(w: PrefixWriter, volumes: list[Mapping[str, Any]] | None, space: str) -> None:
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
        elif v.get("configMap") is not None:
            cm = v["configMap"]
            w.write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n")
            w.write(2, f"Name:\t{cm.get('name', '')}\n")
            w.write(2, f"Optional:\t{_bool(cm.get('optional'))}\n")
        elif v.get("secret") is not None:
            sec = v["secret"]
            w.write(2, "Type:\tSecret (a volume populated by a Secret)\n")
            w.write(2, f"SecretName:\t{sec.get('secretName', '')}\n")
            w.write(2, f"Optional:\t{_bool(sec.get('optional'))}\n")
        elif v.get("downwardAPI") is not None:
            w.write(2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n")
            w.write(2, "Items:\n")
            for item in v["downwardAPI"].get("items") or []:
                _describe_downward_item(w, item)
        elif v.get("projected") is not None:
            w.write(2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n")
            for source in v["projected"].get("sources") or []:
                if source.get("secret") is not None:
                    # kubectl prints the *bool as it is: <nil> when unset
                    w.write(2, f"SecretName:\t{source['secret'].get('name', '')}\n")
                    w.write(2, f"SecretOptionalName:\t{_optional(source['secret'].get('optional'))}\n")
                elif source.get("downwardAPI") is not None:
                    w.write(2, "DownwardAPI:\ttrue\n")
                elif source.get("configMap") is not None:
                    w.write(2, f"ConfigMapName:\t{source['configMap'].get('name', '')}\n")
                    w.write(2, f"ConfigMapOptional:\t{_optional(source['configMap'].get('optional'))}\n")
                elif source.get("serviceAccountToken") is not None:
                    w.write(2, f"TokenExpirationSeconds:\t{source['serviceAccountToken'].get('expirationSeconds', 3600)}\n")
        elif v.get("persistentVolumeClaim") is not None:
            claim = v["persistentVolumeClaim"]
            w.write(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n")
            w.write(2, f"ClaimName:\t{claim.get('claimName', '')}\n")
            w.write(2, f"ReadOnly:\t{'true' if claim.get('readOnly') else 'false'}\n")
        else:
            kinds = [k for k in v if k != "name"]
            w.write(2, f"Type:\t{kinds[0] if kinds else '<unknown>'} (stored, not mounted by kube-tui)\n")


def _bool(value: Any) -> str:
    return "true" if value is True else "false"


def _optional(value: Any) -> str:
    return "<nil>" if value is None else _bool(value)


def _describe_downward_item(w: PrefixWriter, item: Mapping[str, Any]) -> None:
    if item.get("fieldRef") is not None:
        w.write(3, f"{item['fieldRef'].get('fieldPath', '')} -> {item.get('path', '')}\n")
    if item.get("resourceFieldRef") is not None:
        w.write(3, f"{item['resourceFieldRef'].get('resource', '')} -> {item.get('path', '')}\n")


def describe_pod_template(w: PrefixWriter, template: Mapping[str, Any] | None) -> None:
    w.write(0, "Pod Template:\n")
    if not template:
        w.write(1, "<unset>")
        return
    meta, spec = template.get("metadata") or {}, template.get("spec") or {}
    labels_multiline(w, "  Labels", meta.get("labels"))
    if meta.get("annotations"):
        annotations_multiline(w, "  Annotations", meta.get("annotations"))
    if spec.get("serviceAccountName"):
        w.write(1, f"Service Account:\t{spec['serviceAccountName']}\n")
    if spec.get("initContainers"):
        _describe_containers(w, "Init Containers", spec["initContainers"], None, "  ")
    _describe_containers(w, "Containers", spec.get("containers") or [], None, "  ")
    _describe_volumes(w, spec.get("volumes"), "  ")
    labels_multiline(w, "  Node-Selectors", spec.get("nodeSelector"))
    tolerations_multiline(w, "  Tolerations", spec.get("tolerations"))


def _describe_scheduling(w: PrefixWriter, pod: Mapping[str, Any]) -> None:
    """kube-tui's scheduler record: the chosen node, its message, and each node's filters and scores."""
    raw = (meta_of(pod).get("annotations") or {}).get(SCHEDULING_ANNOTATION)
    if not raw:
        return
    record = parse_record(raw) if isinstance(raw, str) else raw
    if not isinstance(record, Mapping):
        w.write(0, "Scheduling:\t<unreadable>\n")
        return
    w.write(0, "Scheduling:\n")
    chosen = record.get("node")
    w.write(1, f"Node:\t{chosen or '<none>'}\n")
    if record.get("profile"):
        w.write(1, f"Profile:\t{record['profile']}\n")
    if record.get("message"):
        w.write(1, f"Message:\t{record['message']}\n")
    if record.get("skipped"):
        w.write(1, f"Filters not run:\t{', '.join(map(str, record['skipped']))} (nothing to check for this pod)\n")
    for plugin, text in (record.get("explain") or {}).items():  # what the cross-node filters counted
        w.write(1, f"{plugin}:\t{text}\n")
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


def describe_pod(pod: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    w = PrefixWriter()
    meta, spec, st = meta_of(pod), pod.get("spec") or {}, pod.get("status") or {}
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
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
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
    if controlled_by(pod):
        w.write(0, f"Controlled By:\t{controlled_by(pod)}\n")
    if st.get("nominatedNodeName"):
        w.write(0, f"NominatedNodeName:\t{st['nominatedNodeName']}\n")
    if spec.get("initContainers"):
        _describe_containers(w, "Init Containers", spec["initContainers"], st.get("initContainerStatuses"), "")
    _describe_containers(w, "Containers", spec.get("containers") or [], st.get("containerStatuses") or [], "")
    if spec.get("ephemeralContainers"):  # kubectl's describePod: after the containers, only when there are some
        _describe_containers(w, "Ephemeral Containers", spec["ephemeralContainers"],
                             st.get("ephemeralContainerStatuses") or [], "")
    if st.get("conditions"):
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for c in st["conditions"]:
            w.write(1, f"{c.get('type')} \t{c.get('status')} \n")
    _describe_volumes(w, spec.get("volumes"), "")
    w.write(0, f"QoS Class:\t{st.get('qosClass') or qos_class(dict(pod))}\n")
    labels_multiline(w, "Node-Selectors", spec.get("nodeSelector"))
    tolerations_multiline(w, "Tolerations", spec.get("tolerations"))
    _describe_scheduling(w, pod)
    describe_events(w, events, now)
    return w.text()
