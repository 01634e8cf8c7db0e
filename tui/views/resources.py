"""Table views of kinds: one kind per view (Pods, Nodes, Deployments, ...) and the Overview of four."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tui.views.base import View
from tui.views.rows import COMPACT, TableSpec
from tui.views.table import ResourceTable

if TYPE_CHECKING:
    from tui.model import Changes, ClusterModel


def range_note(kind: str, model: ClusterModel) -> str:
    """Where the kind's addresses come from, as the API server's hello told the dashboard: the cluster CIDR
    beside the Nodes, the service range beside the Services (what a student asks when reading an IP)."""
    net = (getattr(getattr(model, "client", None), "hello", None) or {}).get("network")
    if not isinstance(net, dict):
        return ""
    if kind == "Node" and net.get("clusterCIDR"):
        return f"pod IPs from {net['clusterCIDR']}, a /24 per node"
    if kind == "Service" and net.get("serviceClusterIPRange"):
        return f"ClusterIPs from {net['serviceClusterIPRange']}, NodePorts {net.get('serviceNodePortRange', '')}"
    return ""


class KindPanel(Vertical):
    """A caption ("Pods  42") over the table of one kind."""

    def __init__(self, kind: str, caption: str, *, id: str | None = None, spec: TableSpec | None = None) -> None:
        super().__init__(id=id, classes="kind-panel")
        self.kind = kind
        self.caption = caption
        self.note = ""  # range_note(), for the Overview's panels
        self.table = ResourceTable(kind, spec=spec, id=f"{id}-table" if id else None)

    def compose(self) -> ComposeResult:
        yield Static(self.caption, classes="caption")
        yield self.table

    def update_caption(self, filter_text: str) -> None:
        suffix = f"  [dim]/{filter_text}[/]" if filter_text else ""
        note = f"   [dim]{self.note}[/]" if self.note else ""
        self.query_one(".caption", Static).update(f"[b]{self.caption}[/]  {self.table.count}{suffix}{note}")

    def refresh_all(self, model: ClusterModel, filter_text: str) -> None:
        self.table.filter_text = filter_text.strip().lower()
        self.table.sync_all(model.objects(self.kind), model)
        self.update_caption(filter_text)

    def refresh_visible(self, model: ClusterModel) -> None:
        self.table.sync_visible(model.objects(self.kind), model)

    def apply(self, changes: Changes, model: ClusterModel, filter_text: str) -> None:
        keys = changes.objects.get(self.kind)
        if keys:
            self.table.sync_keys(keys, model.objects(self.kind), model)
            self.update_caption(filter_text)

    def selected(self, model: ClusterModel) -> tuple[str, dict] | None:
        k = self.table.selected_key()
        obj = model.objects(self.kind).get(k) if k else None
        return (self.kind, obj) if obj is not None else None


class ResourceView(View):
    """All objects of one kind."""

    def __init__(self, kind: str, caption: str, *, id: str, aliases: tuple[str, ...] = ()) -> None:
        super().__init__(id=id)
        self.kind = kind
        self.title = caption
        self.aliases = (id, *aliases)
        self.panel = KindPanel(kind, caption, id=f"{id}-panel")

    def compose(self) -> ComposeResult:
        yield self.panel

    def refresh_all(self, model: ClusterModel) -> None:
        self.panel.refresh_all(model, self.filter_text)
        if self.kind == "Event":
            self._to_newest()

    def refresh_periodic(self, model: ClusterModel) -> None:
        self.panel.refresh_visible(model)

    def apply(self, changes: Changes, model: ClusterModel) -> None:
        table = self.panel.table
        # Events arrive in time order, newest last: the view follows them, like `kubectl get events -w`,
        # unless the cursor was moved up to read an older one.
        following = self.kind == "Event" and (table.row_count == 0 or table.cursor_row >= table.row_count - 1)
        self.panel.apply(changes, model, self.filter_text)
        if following:
            self._to_newest()

    def _to_newest(self) -> None:
        table = self.panel.table
        if table.row_count:
            table.move_cursor(row=table.row_count - 1)

    def selected(self) -> tuple[str, dict] | None:
        return self.panel.selected(self.app.model)  # type: ignore[attr-defined]

    def focus_main(self) -> None:
        self.panel.table.focus()


class OverviewView(View):
    """Nodes (capacity, allocation, usage), deployments, services with their URLs, and pods."""

    title = "Overview"
    aliases = ("overview", "ov", "home")
    KINDS = (("Node", "Nodes"), ("Deployment", "Deployments"), ("Service", "Services"), ("Pod", "Pods"))

    def __init__(self, *, id: str = "overview") -> None:
        super().__init__(id=id)
        self.panels = {kind: KindPanel(kind, caption, id=f"ov-{kind.lower()}", spec=COMPACT.get(kind))
                       for kind, caption in self.KINDS}

    def compose(self) -> ComposeResult:
        yield self.panels["Node"]
        with Horizontal(id="ov-middle"):
            yield self.panels["Deployment"]
            yield self.panels["Service"]
        yield self.panels["Pod"]

    def refresh_all(self, model: ClusterModel) -> None:
        for panel in self.panels.values():
            panel.note = range_note(panel.kind, model)
            panel.refresh_all(model, self.filter_text)

    def refresh_periodic(self, model: ClusterModel) -> None:
        for panel in self.panels.values():
            panel.refresh_visible(model)

    def apply(self, changes: Changes, model: ClusterModel) -> None:
        for panel in self.panels.values():
            if not panel.note and panel.kind in ("Node", "Service"):  # the hello came after the first screen
                panel.note = range_note(panel.kind, model)
            panel.apply(changes, model, self.filter_text)

    def _focused_panel(self) -> KindPanel:
        focused = self.screen.focused
        for panel in self.panels.values():
            if focused is panel.table:
                return panel
        return self.panels["Pod"]

    def selected(self) -> tuple[str, dict] | None:
        return self._focused_panel().selected(self.app.model)  # type: ignore[attr-defined]

    def focus_main(self) -> None:
        self.panels["Pod"].table.focus()
