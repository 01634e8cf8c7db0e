"""kubectl's output: `get` tables (default and wide columns per kind), -o yaml / -o json, and `describe`.

Layouts follow kubectl's printers (pkg/printers/internalversion) and describers (kubectl/pkg/describe),
down to Go's tabwriter alignment, so output reads the same as against a real cluster.
Every function returns the text without a trailing newline.
"""

from __future__ import annotations

from tui.printers.describers import describe
from tui.printers.describers.generic import smart_label
from tui.printers.describers.writer import LAST_APPLIED_ANNOTATION, SCHEDULING_ANNOTATION, describe_events
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
