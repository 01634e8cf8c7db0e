"""kubectl's ConfigMap, Secret, ServiceAccount, PriorityClass and PodDisruptionBudget describers: a ConfigMap's
values, a Secret's sizes only (never its values), a ServiceAccount's secrets, a PriorityClass's value and policy,
a budget's numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from control.api.configdata import binary_size
from control.api.labels import format_label_selector
from tui.printers.describers.writer import (
    PrefixWriter,
    annotations_multiline,
    describe_events,
    labels_multiline,
)
from tui.printers.status import meta_of


def _head(w: PrefixWriter, obj: Mapping[str, Any]) -> None:
    meta = meta_of(obj)
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))


def describe_configmap(cm: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    """ConfigMapDescriber: each value under its key and a rule, binary values by size, then the events."""
    w = PrefixWriter()
    _head(w, cm)
    w.write(0, "\nData\n====\n")
    data = cm.get("data") or {}
    for key in sorted(data):  # kubectl ranges over a Go map (random order); sorted reads better
        w.write(0, f"{key}:\n----\n")
        w.write(0, f"{data[key]}\n")
    w.write(0, "\nBinaryData\n====\n")
    for key, size in sorted(binary_size(cm.get("binaryData")).items()):
        w.write(0, f"{key}: {size} bytes\n")
    w.write(0, "\n")
    describe_events(w, events, now)
    return w.text()


def describe_secret(secret: Mapping[str, Any]) -> str:
    """SecretDescriber: the type and each key's size in bytes, as kubectl shows a Secret (no events)."""
    w = PrefixWriter()
    _head(w, secret)
    w.write(0, f"\nType:\t{secret.get('type', '')}\n")
    w.write(0, "\nData\n====\n")
    for key, size in sorted(binary_size(secret.get("data")).items()):
        w.write(0, f"{key}:\t{size} bytes\n")
    return w.text()


def describe_serviceaccount(sa: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    """describeServiceAccount: the secrets it names, one per line under each header (the headers in kubectl's
    sorted order), then the events. Its token Secrets: none, kube-tui issues no tokens."""
    w = PrefixWriter()
    _head(w, sa)
    names = {"Image pull secrets:": [s.get("name", "") for s in sa.get("imagePullSecrets") or [] if isinstance(s, dict)],
             "Mountable secrets: ": [s.get("name", "") for s in sa.get("secrets") or [] if isinstance(s, dict)],
             "Tokens:            ": []}
    for header, listed in names.items():
        if not listed:
            w.write(0, f"{header}\t<none>\n")
        for i, name in enumerate(listed):
            w.write(0, f"{header if i == 0 else ' ' * len(header)}\t{name}\n")
    describe_events(w, events, now)
    return w.text()


def describe_priorityclass(pc: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    """describePriorityClass: the value, whether it is the default, the policy, then the events."""
    w = PrefixWriter()
    meta = meta_of(pc)
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Value:\t{pc.get('value', 0)}\n")
    w.write(0, f"GlobalDefault:\t{'true' if pc.get('globalDefault') else 'false'}\n")
    w.write(0, f"PreemptionPolicy:\t{pc.get('preemptionPolicy') or ''}\n")
    w.write(0, f"Description:\t{pc.get('description') or ''}\n")
    annotations = meta.get("annotations") or {}
    w.write(0, f"Annotations:\t{','.join(f'{k}={v}' for k, v in sorted(annotations.items())) or '<none>'}\n")
    describe_events(w, events, now)
    return w.text()


def describe_pdb(pdb: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    """describePodDisruptionBudgetV1: the budget, its selector, the controller's counts, then the events."""
    w = PrefixWriter()
    meta = meta_of(pdb)
    spec, status = pdb.get("spec") or {}, pdb.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    if spec.get("minAvailable") is not None:
        w.write(0, f"Min available:\t{spec['minAvailable']}\n")
    elif spec.get("maxUnavailable") is not None:
        w.write(0, f"Max unavailable:\t{spec['maxUnavailable']}\n")
    selector = spec.get("selector")
    w.write(0, f"Selector:\t{format_label_selector(selector) if selector is not None else '<unset>'}\n")
    w.write(0, "Status:\n")
    w.write(2, f"Allowed disruptions:\t{status.get('disruptionsAllowed', 0)}\n")
    w.write(2, f"Current:\t{status.get('currentHealthy', 0)}\n")
    w.write(2, f"Desired:\t{status.get('desiredHealthy', 0)}\n")
    w.write(2, f"Total:\t{status.get('expectedPods', 0)}\n")
    describe_events(w, events, now)
    return w.text()
