"""The kube-tui dashboard: a Textual app over ClusterModel, keyboard first like k9s.

Views live in a ContentSwitcher; a timer takes the model's dirty sets a few times a second and hands
them to the visible view inside one batch_update, so a storm of events costs one repaint per tick.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import watchfiles
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import ContentSwitcher, Footer, Header

from control.errors import ApiError
from tui import printers
from tui.model import ClusterModel
from tui.views import ops
from tui.views.base import View
from tui.views.detail import LogsScreen, TextScreen
from tui.views.etcd import EtcdView
from tui.views.flow import FlowView
from tui.views.modals import ConfirmModal, HelpScreen, MessageModal, PromptModal
from tui.views.palette import DashboardCommands
from tui.views.resources import OverviewView, ResourceView
from tui.views.scheduler import SchedulerView

TICK = 0.25  # seconds between screen updates; every change in between is coalesced
PERIODIC = 5.0  # seconds between full redraws of the visible view (ages)
SCALABLE = ("Deployment", "ReplicaSet")

# (id, kind, caption, extra aliases) of the single-kind views, in number-key order after the overview
RESOURCE_VIEWS = (
    ("pods", "Pod", "Pods", ("po", "pod")),
    ("nodes", "Node", "Nodes", ("no", "node")),
    ("deploy", "Deployment", "Deployments", ("deployments", "deployment")),
    ("svc", "Service", "Services", ("services", "service")),
    ("events", "Event", "Events", ("ev", "event")),
)
MORE_VIEWS = (
    ("rs", "ReplicaSet", "ReplicaSets", ("replicasets", "replicaset")),
    ("ds", "DaemonSet", "DaemonSets", ("daemonsets", "daemonset")),
    ("jobs", "Job", "Jobs", ("job",)),
    ("ns", "Namespace", "Namespaces", ("namespaces", "namespace")),
    ("ep", "Endpoints", "Endpoints", ("endpoints",)),
    ("leases", "Lease", "Leases", ("lease",)),
)


class IdleCollector:
    """Full garbage collections while the user is idle, never in the middle of a keypress.

    With 10,000 pods cached, a generation-2 collection walks every cached dict (100-300 ms); Python
    starts one whenever enough objects survive, which under 2,000 events/s means every few seconds.
    The automatic one is held back and run between keystrokes instead (at the latest every minute,
    so memory stays bounded).
    """

    IDLE = 2.0  # seconds without input before a collection may run
    EVERY = 10.0  # at most this often when idle
    AT_LEAST = 60.0  # and at least this often, idle or not

    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None
        self._last_input = self._last_full = time.monotonic()

    def open(self) -> None:
        self._saved = gc.get_threshold()
        gc.set_threshold(self._saved[0], self._saved[1], 1_000_000)

    def close(self) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None

    def input_seen(self) -> None:
        self._last_input = time.monotonic()

    def maybe_collect(self) -> None:
        now = time.monotonic()
        idle = now - self._last_input >= self.IDLE and now - self._last_full >= self.EVERY
        if self._saved is not None and (idle or now - self._last_full >= self.AT_LEAST):
            gc.collect()
            self._last_full = time.monotonic()


class KubeTuiApp(App[None]):
    TITLE = "kube-tui"
    CSS_PATH = ["app.tcss", "tables.tcss", "etcd.tcss", "scheduler.tcss", "flow.tcss", "modals.tcss"]
    COMMANDS = App.COMMANDS | {DashboardCommands}
    BINDINGS = [
        Binding("colon", "prompt_view", "View", key_display=":"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("d", "describe", "Describe"),
        Binding("y", "yaml", "YAML"),
        Binding("l", "logs", "Logs"),
        Binding("s", "scale", "Scale"),
        Binding("ctrl+d", "delete", "Delete"),
        Binding("f", "flow_of", "Flow", show=False),
        Binding("n", "add_node", "Add node"),
        Binding("x", "stop_node", "Stop node"),
        Binding("a", "apply", "Apply"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("escape", "back", "Back"),
        Binding("q", "quit", "Quit", show=False),
        *(Binding(str(i), f"show_view('{v}')", show=False)
          for i, v in enumerate(("overview", "pods", "nodes", "deploy", "svc", "events", "etcd", "sched", "flow"))),
    ]
    PALETTE_ACTIONS = (
        ("describe", "Describe the selected object", "d"),
        ("yaml", "YAML of the selected object", "y"),
        ("logs", "Logs of the selected pod", "l"),
        ("scale", "Scale the selected deployment", "s"),
        ("delete", "Delete the selected object", "ctrl+d"),
        ("add_node", "Add a node", "n"),
        ("stop_node", "Stop a node this dashboard started", "x"),
        ("apply", "Apply a manifest file", "a"),
        ("flow_of", "Flow of the selected object", "f"),
        ("help", "Keys", "?"),
    )

    def __init__(
        self,
        model_factory: Callable[[], ClusterModel],
        *,
        launcher: Any = None,
        apply_paths: Sequence[str] = (),
        watch_files: bool = False,
        server_label: str = "",
    ) -> None:
        super().__init__()
        self.model_factory = model_factory
        self.model: ClusterModel = model_factory()
        self.launcher = launcher
        self.apply_paths = list(apply_paths)
        self.watch_files = watch_files
        self.server_label = server_label
        self.current = "overview"
        self.history: list[str] = []
        self._views: dict[str, View] = {}
        self._rate: tuple[float, int] = (self.model.clock(), 0)
        self._events_per_s = 0.0
        self._collector = IdleCollector()

    # -- layout --------------------------------------------------------------------------------------
    def _make_views(self) -> list[View]:
        views: list[View] = [OverviewView()]
        views += [ResourceView(kind, caption, id=vid, aliases=al) for vid, kind, caption, al in RESOURCE_VIEWS]
        views += [EtcdView(), SchedulerView(), FlowView()]
        views += [ResourceView(kind, caption, id=vid, aliases=al) for vid, kind, caption, al in MORE_VIEWS]
        return views

    def compose(self) -> ComposeResult:
        yield Header()
        with ContentSwitcher(initial="overview", id="views"):
            for v in self._make_views():
                self._views[v.id or ""] = v
                yield v
        yield Footer()

    def view_titles(self) -> list[tuple[str, str]]:
        return [(vid, v.title) for vid, v in self._views.items()]

    def resolve_view(self, name: str) -> str | None:
        name = name.strip().lstrip(":").lower()
        for vid, v in self._views.items():
            if name == vid or name in v.aliases:
                return vid
        return None

    @property
    def active_view(self) -> View:
        return self._views[self.current]

    async def on_mount(self) -> None:
        self._collector.open()
        self.sub_title = self.server_label
        self.set_interval(TICK, self._tick)
        self.set_interval(PERIODIC, self._periodic)
        self.show_view("overview", remember=False)
        self.start_model()
        if self.apply_paths:
            self.apply_files(self.apply_paths, initial=True)
            if self.watch_files:
                self.watch_applied()

    @work(exclusive=True, group="model")
    async def start_model(self) -> None:
        await self.model.start()

    async def on_unmount(self) -> None:
        self._collector.close()
        await self.model.stop()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self._collector.input_seen()
        await super().on_event(event)

    # -- updating -------------------------------------------------------------------------------------
    def _tick(self) -> None:
        self._collector.maybe_collect()
        changes = self.model.take_dirty()
        with self.batch_update():
            self.active_view.apply(changes, self.model)
        self._status()

    def _periodic(self) -> None:
        with self.batch_update():
            self.active_view.refresh_periodic(self.model)

    def _status(self) -> None:
        now = self.model.clock()  # the model's clock: a test's fixed clock keeps the rate still
        t0, n0 = self._rate
        if now - t0 >= 1.0:
            self._events_per_s = (self.model.changes - n0) / (now - t0)
            self._rate = (now, self.model.changes)
        m = self.model
        state = "" if m.synced or not m.watch else " · syncing…"
        parts = [self.server_label, f"rev {m.revision}", f"{len(m.objects('Node'))} nodes", f"{len(m.objects('Pod'))} pods",
                 f"{self._events_per_s:.0f} changes/s"]
        self.sub_title = " · ".join(p for p in parts if p) + state

    def show_view(self, view_id: str, *, remember: bool = True) -> None:
        if view_id not in self._views:
            return
        if remember and view_id != self.current:
            self.history = [*self.history, self.current][-20:]
        self.current = view_id
        self.query_one("#views", ContentSwitcher).current = view_id
        view = self._views[view_id]
        with self.batch_update():
            view.refresh_all(self.model)
        view.focus_main()
        self.title = f"kube-tui · {view.title}"

    def action_show_view(self, view_id: str) -> None:
        self.show_view(view_id)

    # -- navigation -----------------------------------------------------------------------------------
    def action_prompt_view(self) -> None:
        names = sorted({a for v in self._views.values() for a in v.aliases})

        def chosen(answer: str | None) -> None:
            if not answer:
                return
            vid = self.resolve_view(answer)
            if vid is None:
                self.notify(f"no view {answer!r}; try one of: {', '.join(self._views)}", severity="warning")
            else:
                self.show_view(vid)

        self.push_screen(PromptModal(":", placeholder="pods, nodes, deploy, svc, etcd, sched, flow, events ...",
                                     suggestions=names, hint="Tab completes · Enter goes · Esc cancels"), chosen)

    def action_filter(self) -> None:
        view = self.active_view

        def chosen(answer: str | None) -> None:
            if answer is not None:
                with self.batch_update():
                    view.set_filter(answer, self.model)

        self.push_screen(PromptModal("/ filter", value=view.filter_text, placeholder="text in any column (empty: everything)"), chosen)

    def action_back(self) -> None:
        view = self.active_view
        if view.filter_text:
            view.set_filter("", self.model)
        elif self.history:
            *self.history, previous = self.history
            self.show_view(previous, remember=False)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    # -- the selected object --------------------------------------------------------------------------------
    def _selected(self, kinds: Iterable[str] | None = None) -> tuple[str, dict] | None:
        sel = self.active_view.selected()
        if sel is None:
            self.notify("nothing selected here", severity="warning")
            return None
        wanted = tuple(kinds or ())
        if wanted and sel[0] not in wanted:
            self.notify(f"this works on {', '.join(wanted)}, not on a {sel[0]}", severity="warning")
            return None
        return sel

    def events_of(self, obj: dict) -> list[dict]:
        uid = (obj.get("metadata") or {}).get("uid")
        return [e for e in self.model.objects("Event").values() if (e.get("involvedObject") or {}).get("uid") == uid]

    def action_describe(self) -> None:
        sel = self._selected()
        if sel is None:
            return
        kind, obj = sel
        md = obj.get("metadata") or {}
        related: dict[str, Any] = {}
        if kind == "Node":
            related = {"pods": self.model.pods_on(md.get("name", "")),
                       "lease": self.model.get("Lease", "kube-node-lease", md.get("name", ""))}
        elif kind == "Deployment":
            related = {"replicasets": [rs for rs in self.model.objects("ReplicaSet").values() if _owned_by(rs, obj)]}
        elif kind == "ReplicaSet":
            related = {"pods": [p for p in self.model.objects("Pod").values() if _owned_by(p, obj)]}
        elif kind == "Service":
            related = {"endpoints": self.model.get("Endpoints", md.get("namespace"), md.get("name", ""))}
        text = printers.describe(obj, self.events_of(obj), now=self.model.clock(), **related)
        self.push_screen(TextScreen(f"[b]describe[/] {kind.lower()} {_name(obj)}", text))

    def action_yaml(self) -> None:
        sel = self._selected()
        if sel is not None:
            self.push_screen(TextScreen(f"[b]yaml[/] {sel[0].lower()} {_name(sel[1])}", printers.to_yaml(sel[1]), language="yaml"))

    def action_logs(self) -> None:
        sel = self._selected(("Pod",))
        if sel is not None:
            md = sel[1]["metadata"]
            self.push_screen(LogsScreen(self.model.client, md.get("namespace") or "default", md["name"]))

    def action_flow_of(self) -> None:
        sel = self._selected()
        if sel is None:
            return
        flow = self._views["flow"]
        assert isinstance(flow, FlowView)
        self.show_view("flow")
        flow.show_object(sel[0], _name(sel[1]), self.model)

    def action_scale(self) -> None:
        sel = self._selected(SCALABLE)
        if sel is None:
            return
        kind, obj = sel
        current = (obj.get("spec") or {}).get("replicas", 1)

        def chosen(answer: str | None) -> None:
            if answer is None:
                return
            try:
                replicas = int(answer.strip())
                if replicas < 0:
                    raise ValueError
            except ValueError:
                self.notify(f"spec.replicas: must be an integer >= 0, got {answer!r}", severity="error")
                return
            self.scale(kind, obj, replicas)

        self.push_screen(PromptModal(f"scale {kind.lower()} {_name(obj)} to replicas:", value=str(current)), chosen)

    @work(group="writes")
    async def scale(self, kind: str, obj: dict, replicas: int) -> None:
        md = obj["metadata"]
        try:
            await self.model.client.patch(kind, md["name"], {"spec": {"replicas": replicas}}, namespace=md.get("namespace"))
        except ApiError as e:
            self.notify(str(e.message), title="scale failed", severity="error")
            return
        self.notify(f"{kind.lower()} {_name(obj)} scaled to {replicas}")

    def action_delete(self) -> None:
        sel = self._selected()
        if sel is None:
            return
        kind, obj = sel

        def chosen(yes: bool | None) -> None:
            if yes:
                self.delete(kind, obj)

        self.push_screen(ConfirmModal(f"Delete {kind.lower()} {_name(obj)}?"), chosen)

    @work(group="writes")
    async def delete(self, kind: str, obj: dict) -> None:
        md = obj["metadata"]
        try:
            await self.model.client.delete(kind, md["name"], namespace=md.get("namespace"))
        except ApiError as e:
            self.notify(str(e.message), title="delete failed", severity="error")
            return
        self.notify(f"{kind.lower()} {_name(obj)} deleted")

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
            intro = f"Starting {name}. To start one like it by hand, run this in another terminal:"
        self.notify(command, title=f"node {name}", timeout=15)
        self.push_screen(MessageModal(f"Add node {name}", f"{intro}\n\n  {command}\n", copy_text=command))

    def action_stop_node(self) -> None:
        started = list(self.launcher.started_nodes()) if self.launcher is not None else []
        if not started:
            self.notify("x stops a node this dashboard started (n adds one); none is running", severity="warning")
            return
        sel = self.active_view.selected()
        if sel is not None and sel[0] == "Node" and _name(sel[1]) in started:
            self.stop_node(_name(sel[1]))
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
                path = answer.strip()
                if path not in self.apply_paths:
                    self.apply_paths.append(path)
                    if self.watch_files:
                        self.watch_applied()
                self.apply_files([path])

        self.push_screen(PromptModal("apply -f", value=self.apply_paths[-1] if self.apply_paths else "",
                                     placeholder="a manifest file or directory", suggestions=self.apply_paths), chosen)

    @work(group="apply")
    async def apply_files(self, paths: list[str], *, initial: bool = False) -> None:
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


def _name(obj: dict) -> str:
    md = obj.get("metadata") or {}
    return f"{md['namespace']}/{md.get('name', '')}" if md.get("namespace") else str(md.get("name", ""))


def _owned_by(obj: dict, owner: dict) -> bool:
    uid = (owner.get("metadata") or {}).get("uid")
    return any(r.get("uid") == uid for r in (obj.get("metadata") or {}).get("ownerReferences") or [])


async def _call(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a launcher method that may be sync (and block: spawning, waiting for a kill) or async."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    result = await asyncio.to_thread(fn, *args)
    return await result if inspect.isawaitable(result) else result


async def run_dashboard(client: Any, *, launcher: Any = None, apply_paths: Sequence[str] = (), watch_files: bool = False) -> None:
    """Open the dashboard on a connected client until the user quits."""
    app = KubeTuiApp(lambda: ClusterModel(client), launcher=launcher, apply_paths=apply_paths, watch_files=watch_files,
                     server_label=getattr(client, "server", ""))
    await app.run_async()
