"""kubectl's HorizontalPodAutoscaler describer (describeHorizontalPodAutoscalerV2): each metric as current /
target, the replica bounds, the behavior, the target's pods, the conditions, then the events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tui.printers.describers.writer import (
    PrefixWriter,
    annotations_multiline,
    describe_events,
    labels_multiline,
)
from tui.printers.status import meta_of, rfc1123z


def describe_hpa(hpa: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    w = PrefixWriter()
    meta = meta_of(hpa)
    spec, status = hpa.get("spec") or {}, hpa.get("status") or {}
    ref = spec.get("scaleTargetRef") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    w.write(0, f"Reference:\t{ref.get('kind', '')}/{ref.get('name', '')}\n")
    w.write(0, "Metrics:\t( current / target )\n")
    currents = status.get("currentMetrics") or []
    for i, m in enumerate(spec.get("metrics") or []):
        st = currents[i] if i < len(currents) and isinstance(currents[i], dict) else {}
        _metric(w, m, st)
    w.write(0, f"Min replicas:\t{spec['minReplicas'] if spec.get('minReplicas') is not None else '<unset>'}\n")
    w.write(0, f"Max replicas:\t{spec.get('maxReplicas', 0)}\n")
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        w.write(0, "Behavior:\n")
        _direction(w, "Scale Up", behavior.get("scaleUp"))
        _direction(w, "Scale Down", behavior.get("scaleDown"))
    w.write(0, f"{ref.get('kind', '')} pods:\t{status.get('currentReplicas', 0)} current / "
               f"{status.get('desiredReplicas', 0)} desired\n")
    conditions = status.get("conditions") or []
    if conditions:
        w.write(0, "Conditions:\n")
        w.write(1, "Type\tStatus\tReason\tMessage\n")
        w.write(1, "----\t------\t------\t-------\n")
        for c in conditions:
            w.write(1, f"{c.get('type', '')}\t{c.get('status', '')}\t{c.get('reason', '')}\t{c.get('message', '')}\n")
    describe_events(w, events, now)
    return w.text()


def _metric(w: PrefixWriter, m: Mapping[str, Any], st: Mapping[str, Any]) -> None:
    typ = m.get("type")
    if typ in ("Resource", "ContainerResource"):
        field = "resource" if typ == "Resource" else "containerResource"
        src = m.get(field) or {}
        cur = (st.get(field) or {}).get("current") or {}
        known = bool(st.get(field))
        target = src.get("target") or {}
        where = "on pods" if typ == "Resource" else f"of container \"{src.get('container', '')}\" on pods"
        if target.get("averageValue") is not None:
            current = str(cur.get("averageValue", "<unknown>")) if known else "<unknown>"
            w.write(1, f"resource {src.get('name', '')} {where}:\t{current} / {target['averageValue']}\n")
            return
        current = "<unknown>"
        if known and cur.get("averageUtilization") is not None:
            current = f"{cur['averageUtilization']}% ({cur.get('averageValue', '0')})"
        want = f"{target['averageUtilization']}%" if target.get("averageUtilization") is not None else "<auto>"
        w.write(1, f"resource {src.get('name', '')} {where}  (as a percentage of request):\t{current} / {want}\n")
    elif typ == "Pods":
        src = m.get("pods") or {}
        cur = (st.get("pods") or {}).get("current") or {}
        w.write(1, f"\"{(src.get('metric') or {}).get('name', '')}\" on pods:\t{cur.get('averageValue', '<unknown>')} / "
                   f"{(src.get('target') or {}).get('averageValue', '')}\n")
    elif typ == "Object":
        src = m.get("object") or {}
        obj = src.get("describedObject") or {}
        target = src.get("target") or {}
        cur = (st.get("object") or {}).get("current") or {}
        name = (src.get("metric") or {}).get("name", "")
        if target.get("averageValue") is not None:
            w.write(1, f"\"{name}\" on {obj.get('kind', '')}/{obj.get('name', '')} (target average value):\t"
                       f"{cur.get('averageValue', '<unknown>')} / {target['averageValue']}\n")
        else:
            w.write(1, f"\"{name}\" on {obj.get('kind', '')}/{obj.get('name', '')} (target value):\t"
                       f"{cur.get('value', '<unknown>')} / {target.get('value', '')}\n")
    elif typ == "External":
        src = m.get("external") or {}
        target = src.get("target") or {}
        cur = (st.get("external") or {}).get("current") or {}
        name = (src.get("metric") or {}).get("name", "")
        if target.get("averageValue") is not None:
            w.write(1, f"\"{name}\" (target average value):\t{cur.get('averageValue', '<unknown>')} / "
                       f"{target['averageValue']}\n")
        else:
            w.write(1, f"\"{name}\" (target value):\t{cur.get('value', '<unknown>')} / {target.get('value', '')}\n")
    else:
        w.write(1, f'<unknown metric type "{typ}">')


def _direction(w: PrefixWriter, direction: str, rules: Any) -> None:
    """printDirectionBehavior."""
    if not isinstance(rules, dict):
        return
    w.write(1, f"{direction}:\n")
    if rules.get("stabilizationWindowSeconds") is not None:
        w.write(2, f"Stabilization Window: {rules['stabilizationWindowSeconds']} seconds\n")
    policies = rules.get("policies") or []
    if policies:
        w.write(2, f"Select Policy: {rules.get('selectPolicy') or 'Max'}\n")
        w.write(2, "Policies:\n")
        for p in policies:
            w.write(3, f"- Type: {p.get('type', '')}\tValue: {p.get('value', 0)}\tPeriod: {p.get('periodSeconds', 0)} seconds\n")
