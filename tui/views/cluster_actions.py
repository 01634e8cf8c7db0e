"""The dashboard's cluster actions: add or stop a node (`n`, `x`), apply files (`a`) and re-apply them on save.

A mixin of KubeTuiApp, kept apart so the app module stays about layout, updates and navigation.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import watchfiles
from textual import work

from tui.views import ops
from tui.views.modals import MessageModal, PromptModal

if TYPE_CHECKING:
    from tui.model import ClusterModel
    from tui.views.base import View


class ClusterActions:
    """Needs from the app: model, launcher, apply_paths, watch_files, active_view, notify, push_screen."""

    model: ClusterModel
    launcher: Any
    apply_paths: list[str]
    watch_files: bool
    server_label: str
    active_view: View
    notify: Any
    push_screen: Any

    # -- nodes -------------------------------------------------------------------------------------------------
    @work(group="nodes")
    async def action_add_node(self) -> None:
        existing = [k[1] for k in self.model.objects("Node")]
        if self.launcher is None:
            name = ops.next_node_name(existing)
            server = getattr(self.model.client, "server", "") or self.server_label or "tcp://127.0.0.1:7070"
            command = ops.join_command(server, name)
            intro = "This dashboard did not start the cluster, so it cannot start a node itself.\nRun this in another terminal:"
        else:
            try:
                name, command = await _call(self.launcher.add_node)
            except Exception as e:  # a failed spawn is shown, not fatal
                self.notify(f"could not start a node: {e}", severity="error")
                return
            where = getattr(self.launcher, "last_where", "") or "a child process"
            intro = f"Started {name} in {where}. To start one like it by hand, run this in another terminal:"
        self.notify(command, title=f"node {name}", timeout=15)
        self.push_screen(MessageModal(f"Add node {name}", f"{intro}\n\n  {command}\n", copy_text=command))

    def action_stop_node(self) -> None:
        started = list(self.launcher.started_nodes()) if self.launcher is not None else []
        if not started:
            self.notify("x stops a node this dashboard started (n adds one); none is running", severity="warning")
            return
        sel = self.active_view.selected()
        if sel is not None and sel[0] == "Node" and node_name(sel[1]) in started:
            self.stop_node(node_name(sel[1]))
            return
        self.push_screen(PromptModal("stop which node?", value=started[-1], suggestions=started),
                         lambda answer: self.stop_node(answer.strip()) if answer else None)

    @work(group="nodes")
    async def stop_node(self, name: str) -> None:
        self.notify(f"stopping {name} (kill -9): watch it go NotReady and its pods move")
        stopped = await _call(self.launcher.stop_node, name)
        if not stopped:
            self.notify(f"{name} was not started by this dashboard", severity="warning")

    # -- apply ---------------------------------------------------------------------------------------------------
    def action_apply(self) -> None:
        def chosen(answer: str | None) -> None:
            if answer and answer.strip():
                path = os.path.expanduser(answer.strip())  # no shell between the prompt and the file
                if path not in self.apply_paths:
                    self.apply_paths.append(path)
                    if self.watch_files:
                        self.watch_applied()
                self.apply_files([path])

        self.push_screen(PromptModal("apply -f", value=self.apply_paths[-1] if self.apply_paths else "",
                                     placeholder="a manifest file or directory", suggestions=self.apply_paths), chosen)

    @work(group="apply")
    async def apply_files(self, paths: list[str]) -> None:
        lines, errors = await ops.apply_files(self.model.client, paths)
        text, severity = ops.summarize_apply(lines, errors)
        self.notify(text, title=f"apply {' '.join(paths)}", severity=severity, timeout=8)  # type: ignore[arg-type]

    @work(exclusive=True, group="watch")
    async def watch_applied(self) -> None:
        dirs, files, applied_dirs = ops.watch_targets(self.apply_paths)
        async for changes in watchfiles.awatch(*dirs, debounce=300, recursive=False):
            paths = ops.relevant((p for _, p in changes), files, applied_dirs)
            if paths:
                lines, errors = await ops.apply_files(self.model.client, paths)
                text, severity = ops.summarize_apply(lines, errors)
                self.notify(text, title=f"re-applied {', '.join(p.rsplit('/', 1)[-1] for p in paths)}",
                            severity=severity, timeout=8)  # type: ignore[arg-type]


def node_name(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a launcher method that may be sync (and block: spawning, waiting for a kill) or async."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    result = await asyncio.to_thread(fn, *args)
    return await result if inspect.isawaitable(result) else result
