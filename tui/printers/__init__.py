"""kubectl's output: `get` tables (default and wide columns per kind), -o yaml / -o json, and `describe`.

Layouts follow kubectl's printers (pkg/printers/internalversion) and describers (kubectl/pkg/describe),
down to Go's tabwriter alignment, so output reads the same as against a real cluster.
Every function returns the text without a trailing newline.
"""

from __future__ import annotations

from typing import Any

from control.api.meta import LAST_APPLIED_ANNOTATION, SCHEDULING_ANNOTATION
from tui.printers.output import to_json, to_yaml
from tui.printers.status import (
    human_duration,
    node_roles,
    node_status,
    parse_time,
    pod_status,
    rfc1123z,
    since,
)
from tui.printers.table import COLUMNS, Row, format_endpoints, no_resources, rows, table
from tui.printers.tabwriter import tabwrite

__all__ = [
    "COLUMNS", "LAST_APPLIED_ANNOTATION", "SCHEDULING_ANNOTATION", "Row", "describe", "describe_events",
    "format_endpoints", "human_duration", "no_resources", "node_roles", "node_status", "parse_time", "pod_status",
    "rfc1123z", "rows", "since", "smart_label", "table", "tabwrite", "to_json", "to_yaml",
]


def __getattr__(name: str) -> Any:
    """describe, describe_events and smart_label on first use: the describers of every kind are a tenth of a second to import,
    which every `kube-tui get` would pay."""
    if name == "describe":
        from tui.printers.describers import describe
        return describe
    if name == "describe_events":
        from tui.printers.describers.writer import describe_events
        return describe_events
    if name == "smart_label":
        from tui.printers.describers.generic import smart_label
        return smart_label
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
