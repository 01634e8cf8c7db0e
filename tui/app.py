"""The kube-tui dashboard: a Textual app over ClusterModel, keyboard first like k9s.

Views live in a ContentSwitcher; a timer takes the model's dirty sets a few times a second and hands
them to the visible view inside one batch_update, so a storm of events costs one repaint per tick.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from textual import events, work
from textual.app import App, ComposeResult, SuspendNotSupported
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import ContentSwitcher, DataTable, Footer, Header

from control.api import kinds
from control.api.endpointslice import service_name
from control.errors import ApiError
from tui import printers
from tui.model import ClusterModel
from tui.printers import explain as explain_printer
from tui.views.base import View
from tui.views.cluster_actions import ClusterActions
from tui.views.detail import LogsScreen, TextScreen
from tui.views.etcd import EtcdView
from tui.views.flow import FlowView
from tui.views.idle import IdleCollector
from tui.views.modals import ConfirmModal, HelpScreen, PromptModal
from tui.views.palette import DashboardCommands
from tui.views.resources import OverviewView, ResourceView
from tui.views.scheduler import SchedulerView

TICK = 0.25  # seconds between screen updates; every change in between is coalesced
PERIODIC = 5.0  # seconds between full redraws of the visible view (ages)
SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet")

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
    ("sts", "StatefulSet", "StatefulSets", ("statefulsets", "statefulset")),
    ("jobs", "Job", "Jobs", ("job",)),
    ("cj", "CronJob", "CronJobs", ("cronjobs", "cronjob")),
    ("ns", "Namespace", "Namespaces", ("namespaces", "namespace")),
    ("ep", "Endpoints", "Endpoints", ("endpoints",)),
    ("eps", "EndpointSlice", "EndpointSlices", ("endpointslices", "endpointslice")),
    ("leases", "Lease", "Leases", ("lease",)),
    ("cm", "ConfigMap", "ConfigMaps", ("configmaps", "configmap")),
    ("secrets", "Secret", "Secrets", ("secret",)),
    ("sa", "ServiceAccount", "ServiceAccounts", ("serviceaccounts", "serviceaccount")),
    ("ing", "Ingress", "Ingresses", ("ingresses", "ingress")),
    ("roles", "Role", "Roles", ("role",)),
    ("clusterroles", "ClusterRole", "ClusterRoles", ("clusterrole",)),
    ("rolebindings", "RoleBinding", "RoleBindings", ("rolebinding",)),
    ("clusterrolebindings", "ClusterRoleBinding", "ClusterRoleBindings", ("clusterrolebinding",)),
    ("pc", "PriorityClass", "PriorityClasses", ("priorityclasses", "priorityclass")),
    ("pdb", "PodDisruptionBudget", "PodDisruptionBudgets", ("poddisruptionbudgets", "poddisruptionbudget")),
    ("hpa", "HorizontalPodAutoscaler", "HorizontalPodAutoscalers",
     ("horizontalpodautoscalers", "horizontalpodautoscaler")),
    ("pvc", "PersistentVolumeClaim", "PersistentVolumeClaims",
     ("persistentvolumeclaims", "persistentvolumeclaim")),
    ("pv", "PersistentVolume", "PersistentVolumes", ("persistentvolumes", "persistentvolume")),
    ("sc", "StorageClass", "StorageClasses", ("storageclasses", "storageclass")),
    ("quota", "ResourceQuota", "ResourceQuotas", ("resourcequotas", "resourcequota")),
    ("limits", "LimitRange", "LimitRanges", ("limitranges", "limitrange")),
)


class KubeTuiApp(ClusterActions, App[None]):
    TITLE = "kube-tui"
    CSS_PATH = ["app.tcss", "tables.tcss", "etcd.tcss", "scheduler.tcss", "flow.tcss", "modals.tcss"]
    COMMANDS = App.COMMANDS | {DashboardCommands}
    BINDINGS = [
        Binding("colon", "prompt_view", "View", key_display=":"),
        Binding("slash", "filter", "Filter", key_display="/"),
        Binding("d", "describe", "Describe"),
        Binding("y", "yaml", "YAML"),
        Binding("l", "logs", "Logs"),
        Binding("e", "exec", "Shell", show=False),
        Binding("s", "scale", "Scale"),
        Binding("ctrl+d", "delete", "Delete"),
        Binding("f", "flow_of", "Flow", show=False),
        Binding("n", "add_node", "Add node"),
        Binding("x", "stop_node", "Stop node"),
        Binding("c", "cordon", "Cordon", show=False),
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
        self.namespace: str | None = None  # the scope of every table: None is all namespaces (-A)
        self.history: list[str] = []
        self._views: dict[str, View] = {}
        self._rate: tuple[float, int] = (self.model.clock(), 0)
        self._events_per_s = 0.0
        self._collector = IdleCollector()
        self._outage: float | None = None  # the longest the API server has not answered, in this outage
        self._restarts_seen = 0

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
            self.apply_files(self.apply_paths)
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
        try:
            with self.batch_update():
                self.active_view.apply(changes, self.model)
        except NoMatches:
            return  # the app is closing: its widgets are already gone
        self._status()

    def _periodic(self) -> None:
        try:
            with self.batch_update():
                self.active_view.refresh_periodic(self.model)
        except NoMatches:
            return

    def _status(self) -> None:
        now = self.model.clock()  # the model's clock: a test's fixed clock keeps the rate still
        t0, n0 = self._rate
        if now - t0 >= 1.0:
            self._events_per_s = (self.model.changes - n0) / (now - t0)
            self._rate = (now, self.model.changes)
        m = self.model
        state = self._connection() or ("" if m.synced or not m.watch else " · syncing…")
        parts = [self.server_label, f"ns {self.namespace}" if self.namespace else "", f"rev {m.revision}", f"{len(m.objects('Node'))} nodes", f"{len(m.objects('Pod'))} pods",
                 f"{self._events_per_s:.0f} changes/s"]
        self.sub_title = " · ".join(p for p in parts if p) + state

    def _connection(self) -> str:
        """The API server's absence in the title while it lasts, and a notice of what happened when it ends:
        during an outage the tables keep what was last heard, and nothing else on screen says they are stale."""
        down = self.model.unreachable_for()
        if down is not None:
            if self._outage is None:
                self.notify(f"the API server at {self.server_label or 'its address'} is not answering; "
                            "the tables show what was last heard", title="API server lost", severity="error")
            self._outage = max(self._outage or 0.0, down)
            return f" · API server not answering for {down:.0f}s, reconnecting…"
        restarts = self.model.server_restarts
        if self._outage is not None or restarts != self._restarts_seen:
            gone = f" after {self._outage:.0f}s" if self._outage is not None else ""
            restarted = ": it had restarted, so every table was listed again" if restarts != self._restarts_seen else ""
            self.notify(f"the API server answers again{gone}{restarted}", title="API server back")
            self._outage, self._restarts_seen = None, restarts
        return ""

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
            word, _, arg = answer.strip().lstrip(":").partition(" ")
            if arg.strip() and self.resolve_view(word) == "ns":
                self.scope_to(arg.strip())
                return
            if word == "explain":
                self.explain(arg.strip())
                return
            vid = self.resolve_view(answer)
            if vid is None:
                self.notify(f"no view {answer!r}; try one of: {', '.join(self._views)}", severity="warning")
            else:
                self.show_view(vid)

        self.push_screen(PromptModal(":", placeholder="pods, nodes, deploy, svc, etcd, sched, flow, events ... or ns NAME | ns all | explain pods.spec",
                                     suggestions=names, hint="Tab completes · Enter goes · Esc cancels"), chosen)

    def explain(self, target: str) -> None:
        """`:explain pods.spec.containers` (kubectl explain, from the schemas kube-tui ships); `:explain` alone
        explains the kind of the selected object."""
        if not target:
            sel = self._selected()
            if sel is None:
                self.notify("explain what? e.g. :explain pods.spec.containers", severity="warning")
                return
            target = sel[0]
        resource, *path = target.split(".")
        try:
            info = kinds.lookup(resource)
            text = explain_printer.explain(info.api_version, info.kind, path)
        except ApiError as e:
            self.notify(e.message, severity="warning")
            return
        except explain_printer.ExplainError as e:
            self.notify(str(e), severity="warning")
            return
        self.push_screen(TextScreen(f"[b]explain[/] {target}", text))

    def scope_to(self, name: str) -> None:
        """Scope every table to one namespace (`:ns NAME`), or to all of them again (`:ns all`, `-A`)."""
        namespace = None if name in ("all", "-A", "*") else name
        if namespace is not None and self.model.get("Namespace", None, namespace) is None:
            known = sorted(n for _, n in self.model.objects("Namespace"))
            self.notify(f'namespaces "{namespace}" not found; known: {", ".join(known) or "none yet"}', severity="warning")
            return
        self.namespace = namespace
        for view in self._views.values():
            view.set_namespace(namespace)
        with self.batch_update():
            self.active_view.refresh_all(self.model)
        self._status()
        self.notify(f"namespace: {namespace}" if namespace else "all namespaces")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a namespace (the :ns view) scopes the dashboard to it and shows its pods, as k9s does."""
        if self.current != "ns":
            return
        sel = self.active_view.selected()
        if sel is not None and sel[0] == "Namespace":
            self.scope_to(sel[1]["metadata"]["name"])
            if self.namespace is not None:
                self.show_view("pods")

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
        elif kind in ("ReplicaSet", "DaemonSet", "StatefulSet"):
            related = {"pods": [p for p in self.model.objects("Pod").values() if _owned_by(p, obj)]}
        elif kind == "Service":
            related = {"endpointslices": [s for s in self.model.objects("EndpointSlice").values()
                                          if (s.get("metadata") or {}).get("namespace") == md.get("namespace")
                                          and service_name(s) == md.get("name")]}
        elif kind == "PersistentVolumeClaim":  # Used By: the pods of its namespace
            related = {"pods": [p for p in self.model.objects("Pod").values()
                                if (p.get("metadata") or {}).get("namespace") == md.get("namespace")]}
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

    def action_exec(self) -> None:
        """kubectl exec -it POD -- sh: the dashboard steps aside for a shell in the selected pod's container."""
        sel = self._selected(("Pod",))
        if sel is None:
            return
        md = sel[1]["metadata"]
        ns, name = md.get("namespace") or "default", md["name"]
        client = self.model.client
        shown = f"kube-tui exec -it {name}{'' if ns == 'default' else f' -n {ns}'} -- sh"
        env = dict(os.environ, KUBE_TUI_SERVER=client.server)
        for var, value in (("KUBE_TUI_TOKEN", client.token), ("KUBE_TUI_SERVER_KEY", client.server_key)):
            if value:
                env[var] = value  # not on the command line, where `ps` would show the token
        try:
            with self.suspend():
                print(f"$ {shown}    (exit the shell to return to the dashboard)", flush=True)
                code = subprocess.call([sys.executable, "-m", "tui.cli", "exec", "-it", name, "-n", ns, "--", "sh"],
                                       env=env)
                if code:  # an error (the container is not running, say) stays on screen until read
                    with contextlib.suppress(EOFError, OSError):
                        input("press Enter to return to the dashboard ")
        except SuspendNotSupported:
            self.notify(f"this terminal cannot hand over to a shell: run `{shown}` in another one", severity="warning")
            return
        self.notify(f"the shell in pod/{name} ended" + (f" (exit code {code})" if code else ""))

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

    def action_cordon(self) -> None:
        sel = self._selected(("Node",))
        if sel is not None:
            self.cordon(sel[1])

    @work(group="writes")
    async def cordon(self, node: dict) -> None:
        """kubectl cordon / uncordon: spec.unschedulable, toggled."""
        name = node["metadata"]["name"]
        cordon = not (node.get("spec") or {}).get("unschedulable")
        try:
            await self.model.client.patch("Node", name, {"spec": {"unschedulable": True if cordon else None}},
                                          namespace=None)
        except ApiError as e:
            self.notify(str(e.message), title="cordon failed" if cordon else "uncordon failed", severity="error")
            return
        self.notify(f"node/{name} {'cordoned: no new pods will be scheduled there' if cordon else 'uncordoned'}")

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


def _name(obj: dict) -> str:
    md = obj.get("metadata") or {}
    return f"{md['namespace']}/{md.get('name', '')}" if md.get("namespace") else str(md.get("name", ""))


def _owned_by(obj: dict, owner: dict) -> bool:
    uid = (owner.get("metadata") or {}).get("uid")
    return any(r.get("uid") == uid for r in (obj.get("metadata") or {}).get("ownerReferences") or [])


async def run_dashboard(client: Any, *, launcher: Any = None, apply_paths: Sequence[str] = (), watch_files: bool = False) -> None:
    """Open the dashboard on a connected client until the user quits."""
    app = KubeTuiApp(lambda: ClusterModel(client), launcher=launcher, apply_paths=apply_paths, watch_files=watch_files,
                     server_label=getattr(client, "server", ""))
    await app.run_async()
