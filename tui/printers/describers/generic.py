"""kubectl's generic describer, for kinds without their own: every field under a smart label."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from tui.printers.describers.writer import (
    PrefixWriter,
    annotations_multiline,
    describe_events,
    labels_multiline,
)
from tui.printers.status import get_path, meta_of

_ACRONYMS = {"API", "URL", "UID", "OSB", "GUID", "IP", "CIDR"}


def smart_label(field: str) -> str:
    """kubectl's smartLabelFor: `holderIdentity` -> `Holder Identity`, `apiVersion` -> `API Version`."""
    if not re.fullmatch(r"[A-Za-z-]+", field):
        return field
    parts = re.findall(r"[A-Z]+(?=[A-Z][a-z]|$)|[A-Z]?[a-z]+|[A-Z]+|-", field)
    return " ".join(p.upper() if p.upper() in _ACRONYMS else p[:1].upper() + p[1:] for p in parts if p != "-")


def _unstructured(w: PrefixWriter, level: int, content: Mapping[str, Any]) -> None:
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


def describe_generic(obj: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    w = PrefixWriter()
    meta = meta_of(obj)
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    if meta.get("namespace"):
        w.write(0, f"Namespace:\t{meta['namespace']}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    if obj.get("kind") == "Namespace":
        w.write(0, f"Status:\t{get_path(obj, 'status', 'phase', default='')}\n")
    else:
        rest = {k: v for k, v in obj.items() if k != "metadata"}
        _unstructured(w, 0, rest)
    describe_events(w, events, now)
    return w.text()
