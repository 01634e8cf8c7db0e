"""The list-watch flow, hop by hop: every change heard (newest at the bottom) and one object's timeline.

The table holds the last MAX_ROWS steps of the model's ring buffer; `f` narrows it to the selected
object, and the panel below tells that object's story with its owners (Deployment → ReplicaSet → Pod).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from control.api import meta
from tui.flow import FlowStep, format_ms, timeline
from tui.views.base import View
from tui.views.table import FastTable

if TYPE_CHECKING:
    from tui.model import Changes, ClusterModel

MAX_ROWS = 1000
COLUMNS = (("TIME", 12), ("Δ", 9), ("REV", 7), ("KIND", 10), ("OBJECT", 34), ("TYPE", 8), ("WRITER", 22), ("WHAT", 60))
FIT = {"OBJECT": 2 * 63 + 1}  # NAMESPACE/NAME shown whole: pods of one ReplicaSet differ only at the end
TYPE_STYLE = {"ADDED": "green", "MODIFIED": "cyan", "DELETED": "red"}


def clock_text(t: float) -> str:
    """HH:MM:SS.mmm in UTC, Kubernetes' timezone (and the same on every machine)."""
    return time.strftime("%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}"


def step_cells(s: FlowStep) -> tuple[str | Text, ...]:
    return (clock_text(s.t), format_ms(s.delta_ms), str(s.revision), s.kind, s.key, Text(s.type, style=TYPE_STYLE.get(s.type, "")),
            s.writer, s.summary)


def owner_chain(model: ClusterModel, kind: str, key: str) -> list[tuple[str, str]]:
    """(kind, key) of the object and its controllers, up to two levels (Pod → ReplicaSet → Deployment)."""
    chain = [(kind, key)]
    ns, _, name = key.rpartition("/")
    obj = model.get(kind, ns, name)
    for _ in range(2):
        ref = meta.controller_of(obj) if obj else None
        if not ref:
            break
        kind, name = ref.get("kind", ""), ref.get("name", "")
        chain.append((kind, f"{ns}/{name}" if ns else name))
        obj = model.get(kind, ns, name)
    return chain


def is_heartbeat(s: FlowStep) -> bool:
    """A Lease renewal or an Event's count bump: periodic traffic, not a hop of anyone's story."""
    return s.type == "MODIFIED" and s.kind in ("Lease", "Event")


class FlowView(View):
    title = "Flow"
    aliases = ("flow", "hops", "watch")
    BINDINGS = [Binding("f", "focus_object", "Only this object"), Binding("h", "toggle_heartbeats", "Heartbeats")]

    def __init__(self, *, id: str = "flow") -> None:
        super().__init__(id=id)
        self.focus_ref: tuple[str, str] | None = None
        # Lease renewals and Event count bumps arrive every second per node: real watch traffic, but they
        # bury the hops a reader follows, so they are hidden until asked for (h).
        self.show_heartbeats = False
        self._last_seq = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="flow-header", classes="caption")
        table = FastTable(id="flow-table", cursor_type="row")
        for label, width in COLUMNS:
            table.add_column(label, width=width, key=label.lower(), fit=FIT.get(label, 0))
        yield table
        with VerticalScroll(id="flow-timeline-box"):
            yield Static("", id="flow-timeline")

    @property
    def table(self) -> FastTable:
        return self.query_one("#flow-table", FastTable)

    def focus_main(self) -> None:
        self.table.focus()

    def _wanted(self, s: FlowStep) -> bool:
        if self.focus_ref is not None and s.ref != self.focus_ref:
            return False
        if self.focus_ref is None and not self.show_heartbeats and is_heartbeat(s):
            return False
        return not self.filter_text or self.filter_text.lower() in f"{s.kind} {s.key} {s.writer} {s.summary} {s.type}".lower()

    def refresh_all(self, model: ClusterModel) -> None:
        table = self.table
        table.clear()
        steps = [s for s in model.flow.steps if self._wanted(s)][-MAX_ROWS:]
        for s in steps:
            table.add_row(*step_cells(s), key=f"s{s.seq}")
        self._last_seq = model.flow.last_seq
        if steps:
            table.move_cursor(row=table.row_count - 1)
        self._header(model)
        self._timeline(model)

    def refresh_periodic(self, model: ClusterModel) -> None:
        """Nothing ages in the flow: no periodic redraw."""

    def apply(self, changes: Changes, model: ClusterModel) -> None:
        if changes.flow_seq <= self._last_seq:
            return
        new = [s for s in model.flow.since(self._last_seq) if self._wanted(s)]
        self._last_seq = changes.flow_seq
        if not new:
            return
        table = self.table
        following = table.row_count == 0 or table.cursor_row >= table.row_count - 1
        selected = table.key_at_cursor()
        for s in new[-MAX_ROWS:]:
            table.add_row(*step_cells(s), key=f"s{s.seq}")
        excess = table.row_count - MAX_ROWS
        if excess > 0:
            table.remove_rows([table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value or "" for i in range(excess)])
        if following:
            table.move_cursor(row=table.row_count - 1)
        elif selected:
            table.move_to_key(selected)
        self._header(model)

    def _header(self, model: ClusterModel) -> None:
        what = f"only {self.focus_ref[0]} {self.focus_ref[1]} (f: everything)" if self.focus_ref else "every change heard (f: only the selected object)"
        if self.focus_ref is None:
            what += " · heartbeats shown (h: hide)" if self.show_heartbeats else " · Lease renewals and Event repeats hidden (h: show)"
        flt = f" · /{self.filter_text}" if self.filter_text else ""
        self.query_one("#flow-header", Static).update(
            f"[b]List-watch flow[/]  {len(model.flow)} steps buffered · showing {what}{flt}")

    def _step_at_cursor(self, model: ClusterModel) -> FlowStep | None:
        key = self.table.key_at_cursor()
        if not key:
            return None
        seq = int(key[1:])
        for s in reversed(model.flow.steps):
            if s.seq == seq:
                return s
            if s.seq < seq:
                break
        return None

    @on(DataTable.RowHighlighted, "#flow-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._timeline(self.app.model)  # type: ignore[attr-defined]

    def _timeline(self, model: ClusterModel) -> None:
        step = self._step_at_cursor(model)
        ref = self.focus_ref or (step.ref if step else None)
        box = self.query_one("#flow-timeline", Static)
        if ref is None:
            box.update("[dim]select a step to see its object's timeline[/]")
            return
        box.update(render_timeline(model, ref))

    def action_toggle_heartbeats(self) -> None:
        self.show_heartbeats = not self.show_heartbeats
        self.refresh_all(self.app.model)  # type: ignore[attr-defined]

    def action_focus_object(self) -> None:
        model = self.app.model  # type: ignore[attr-defined]
        if self.focus_ref is not None:
            self.focus_ref = None
        else:
            step = self._step_at_cursor(model)
            self.focus_ref = step.ref if step else None
        self.refresh_all(model)

    def show_object(self, kind: str, key: str, model: ClusterModel) -> None:
        """Narrow the flow to one object (the `f` key from another view)."""
        self.focus_ref = (kind, key)
        self.refresh_all(model)


def render_timeline(model: ClusterModel, ref: tuple[str, str]) -> str:
    chain = owner_chain(model, *ref)
    own = [s for s in model.flow.steps if s.ref == ref]
    if not own:
        return f"[b]{ref[0]} {ref[1]}[/]: no steps buffered for it"
    start = own[0].t
    # owners' hops before the object existed tell how it came to be (apply → Deployment → ReplicaSet → Pod)
    owners = [s for s in model.flow.for_objects(chain[1:]) if s.t <= start][-6:]
    steps = sorted(owners + own, key=lambda s: s.seq)
    lines = timeline(steps, focus=ref)
    return f"[b]Timeline of {ref[0]} {ref[1]}[/]\n" + "\n".join(Text(line).markup for line in lines)
