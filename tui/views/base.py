"""What every dashboard view offers the app: a full refresh, a per-tick update, a selection, a filter,
and the namespace the dashboard is scoped to."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Vertical

from tui.views.table import ResourceTable

if TYPE_CHECKING:
    from tui.model import Changes, ClusterModel


class View(Vertical):
    """One screen of the dashboard inside the app's ContentSwitcher."""

    title = ""
    # ids of the `:` prompt that show this view (the first one is its own id)
    aliases: tuple[str, ...] = ()

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id, classes="view")
        self.filter_text = ""

    def refresh_all(self, model: ClusterModel) -> None:
        """Redraw from the whole model (by difference): when shown, refiltered, or for ages."""

    def refresh_periodic(self, model: ClusterModel) -> None:
        """Every few seconds while visible: AGE columns move even when nothing changes (rows on screen only)."""

    def apply(self, changes: Changes, model: ClusterModel) -> None:
        """Apply one tick's dirty sets; only called while the view is visible."""

    def selected(self) -> tuple[str, dict] | None:
        """The (kind, object) under the cursor, for describe / yaml / logs / scale / delete."""
        return None

    def set_filter(self, text: str, model: ClusterModel) -> None:
        self.filter_text = text
        self.refresh_all(model)

    def set_namespace(self, namespace: str | None) -> None:
        """Show only `namespace`'s objects (None: all namespaces), like kubectl's -n / -A; the app
        redraws the visible view, the others catch up when shown (refresh_all)."""
        for table in self.query(ResourceTable):
            table.namespace = namespace

    def focus_main(self) -> None:
        """Give the keyboard to the view's main widget."""
