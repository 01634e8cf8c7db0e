"""kubectl describe's PrefixWriter and the sections every describer prints: labels, annotations, tolerations, events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from control.api.meta import LAST_APPLIED_ANNOTATION, SCHEDULING_ANNOTATION
from tui.printers.status import event_interval, get_path, meta_of, parse_time
from tui.printers.tabwriter import tabwrite


class PrefixWriter:
    """kubectl's PrefixWriter: each level indents two spaces; the text is tab-aligned at the end."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, level: int, text: str) -> None:
        self.parts.append("  " * level + text)

    def text(self) -> str:
        return tabwrite("".join(self.parts), minwidth=0, padding=2).rstrip("\n")


def labels_multiline(w: PrefixWriter, title: str, labels: Mapping[str, str] | None, level: int = 0) -> None:
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


def annotations_multiline(w: PrefixWriter, title: str, annotations: Mapping[str, str] | None, level: int = 0) -> None:
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


def tolerations_multiline(w: PrefixWriter, title: str, tolerations: list[Mapping[str, Any]] | None, level: int = 0) -> None:
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


def controlled_by(obj: Mapping[str, Any]) -> str:
    for ref in meta_of(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            return f"{ref.get('kind')}/{ref.get('name')}"
    return ""


def describe_events(w: PrefixWriter, events: list[Mapping[str, Any]] | None, now: float | None) -> None:
    """kubectl's DescribeEvents; None (describe --show-events=false) is no Events section at all."""
    if events is None:
        return
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    ordered = sorted(events, key=lambda e: parse_time(e.get("lastTimestamp") or e.get("eventTime")) or 0.0)
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")
    for e in ordered:
        source = get_path(e, "source", "component", default="") or e.get("reportingComponent", "")
        w.write(1, f"{e.get('type', '')}\t{e.get('reason', '')}\t{event_interval(e, now, describe=True)}\t"
                   f"{source}\t{str(e.get('message', '')).strip()}\n")
