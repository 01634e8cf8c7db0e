"""The dashboard's commands in Textual's command palette (ctrl+p): views and actions by name."""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class DashboardCommands(Provider):
    """Every view (`:pods` ...) and action (describe, apply, add node ...) as a palette command."""

    def _commands(self) -> list[tuple[str, str, Any]]:
        app: Any = self.app
        out: list[tuple[str, str, Any]] = []
        for view_id, title in app.view_titles():
            out.append((f"View: {title}", f":{view_id}", partial(app.show_view, view_id)))
        for action, label, help_ in app.PALETTE_ACTIONS:
            out.append((label, help_, partial(app.run_action, action)))
        return out

    async def discover(self) -> Hits:
        for name, help_, callback in self._commands():
            yield DiscoveryHit(name, callback, help=help_)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_, callback in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_)
