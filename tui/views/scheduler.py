"""Each scheduling decision, like kube-scheduler-simulator: per node, each filter's verdict and each score.

Reads the scheduler's record from the pod annotation `kube-tui.io/scheduling`; unschedulable pods
sort first with their message.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Static

from control.scheduler.record import parse as parse_record
from tui.flow import SCHEDULING_ANNOTATION
from tui.views.base import View
from tui.views.rows import NAME_FIT, Cell, Column, TableSpec
from tui.views.table import ResourceTable

if TYPE_CHECKING:
    from tui.model import Changes, ClusterModel


@lru_cache(maxsize=4096)
def _parse(text: str) -> dict | None:
    return parse_record(text)


def decision(pod: dict) -> dict | None:
    text = ((pod.get("metadata") or {}).get("annotations") or {}).get(SCHEDULING_ANNOTATION)
    return _parse(text) if isinstance(text, str) else None


def scheduler_error(pod: dict) -> str | None:
    """The message of a failed attempt (a plugin's error: PodScheduled reason SchedulerError), if the last one failed."""
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "PodScheduled" and c.get("reason") == "SchedulerError" and c.get("status") == "False":
            return str(c.get("message") or "")
    return None


def nominated_node(pod: dict) -> str:
    """The node a pending pod preempted pods on and waits for (status.nominatedNodeName), or ""."""
    if (pod.get("spec") or {}).get("nodeName"):
        return ""
    return str((pod.get("status") or {}).get("nominatedNodeName") or "")


def result_of(pod: dict) -> str:
    """Sortable: errors and unschedulable first, then waiting (for the scheduler, or for the pods it preempted
    to stop: nominated), then scheduled."""
    node = (pod.get("spec") or {}).get("nodeName")
    rec = decision(pod)
    if node:
        return "✓ Scheduled"
    if scheduler_error(pod) is not None:
        return "! Error"
    if nominated_node(pod):
        return "→ Nominated"
    if rec is not None and not rec.get("node"):
        return "! Unschedulable"
    return "· Pending"


def sched_row(pod: dict, model: ClusterModel) -> tuple[Cell, ...]:
    md = pod.get("metadata") or {}
    rec = decision(pod) or {}
    result = result_of(pod)
    feasible = f"{rec.get('feasible', '')}/{rec.get('evaluated', '')}" if rec else ""
    if result == "! Error":
        message = scheduler_error(pod) or ""
    else:
        message = "" if result.startswith("✓") else str(rec.get("message") or "waiting for the scheduler")
    nominated = nominated_node(pod)
    node = f"→{nominated}?" if nominated else (pod.get("spec") or {}).get("nodeName") or ""  # as the Pods view shows it
    return (result, md.get("namespace") or "", md.get("name") or "", node, feasible, message)


SCHED_SPEC = TableSpec(
    (Column("result", "RESULT", 15), Column("namespace", "NAMESPACE", 11, fit=NAME_FIT), Column("name", "NAME", 28, fit=NAME_FIT),
     Column("node", "NODE", 12, fit=NAME_FIT), Column("feasible", "FITS", 5), Column("message", "MESSAGE", 60)),
    sched_row,
    sort_by=("result", "namespace", "name"),
)


REASON_WIDTH = 44  # a failed filter's reason in the node table, so the score columns stay on screen


def tie_note(rec: dict) -> str:
    """When the winner's total is shared: kube-scheduler's selectHost picks among the tied at random."""
    winner = rec.get("node")
    totals = {n.get("node"): n.get("total") for n in rec.get("nodes") or []
              if n.get("total") is not None and all(f.get("ok") for f in n.get("filters") or [])}
    best = totals.get(winner)
    if winner is None or best is None:
        return ""
    tied = sorted(str(n) for n, t in totals.items() if t == best and n != winner)
    if not tied:
        return ""
    return f" · tied at {best} with {', '.join(tied)}: picked at random, as kube-scheduler does"


def node_rows(rec: dict) -> tuple[list[str], list[tuple[Cell, ...]]]:
    """Columns (score plugins) and one row per node: winner mark, node, total, filter verdict, scores."""
    plugins: list[str] = []
    for n in rec.get("nodes") or []:
        for s in n.get("scores") or []:
            if s.get("plugin") not in plugins:
                plugins.append(s.get("plugin"))
    winner = rec.get("node")
    rows: list[tuple[Cell, ...]] = []
    for n in rec.get("nodes") or []:
        failed = next((f for f in n.get("filters") or [] if not f.get("ok")), None)
        if failed is not None:
            reason = str(failed.get("reason"))
            if len(reason) > REASON_WIDTH:  # the whole reason is in the summary's counts and in describe (d)
                reason = reason[:REASON_WIDTH - 1] + "…"
            verdict = Text(f"✗ {failed.get('plugin')}: {reason}", style="red")
        else:
            verdict = Text(f"✓ {len(n.get('filters') or [])} filters passed", style="green")
        scores = {s.get("plugin"): s for s in n.get("scores") or []}
        cells: list[Cell] = []
        for p in plugins:
            s = scores.get(p)
            cells.append(f"{s.get('score')}×{s.get('weight', 1)}" if s else "")
        won = n.get("node") == winner and winner is not None
        # TOTAL before the filters and the per-plugin scores: on a narrow screen the verdict stays in view.
        rows.append((Text("★", style="bold yellow") if won else "", Text(str(n.get("node")), style="bold" if won else ""),
                     str(n.get("total", "")) if failed is None else "", verdict, *cells))
    return plugins, rows


class SchedulerView(View):
    title = "Scheduler"
    aliases = ("sched", "scheduler", "scheduling")

    def __init__(self, *, id: str = "sched") -> None:
        super().__init__(id=id)
        self.pods = ResourceTable("Pod", spec=SCHED_SPEC, id="sched-pods")
        self._pod_key: tuple[str, str] | None = None
        self._shown_text: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical(id="sched-left", classes="kind-panel"):
                yield Static("", id="sched-caption", classes="caption")
                yield self.pods
            with Vertical(id="sched-right"):
                yield Static("select a pod", id="sched-summary")
                yield DataTable(id="sched-nodes", cursor_type="row")

    def focus_main(self) -> None:
        self.pods.focus()

    def refresh_all(self, model: ClusterModel) -> None:
        self.pods.filter_text = self.filter_text.strip().lower()
        self.pods.sync_all(model.objects("Pod"), model)
        self._after(model, force=True)

    def apply(self, changes: Changes, model: ClusterModel) -> None:
        keys = changes.objects.get("Pod")
        if keys:
            self.pods.sync_keys(keys, model.objects("Pod"), model)
            self._after(model, force=False)

    def _after(self, model: ClusterModel, *, force: bool) -> None:
        pods = model.objects("Pod").values()
        unsched = sum(1 for p in pods if not (p.get("spec") or {}).get("nodeName"))
        self.query_one("#sched-caption", Static).update(f"[b]Scheduling decisions[/]  {self.pods.count} pods · {unsched} not bound")
        self._show(model, force=force)

    @on(DataTable.RowHighlighted, "#sched-pods")
    def _pod_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(self.app.model, force=False)  # type: ignore[attr-defined]

    def selected(self) -> tuple[str, dict] | None:
        k = self.pods.selected_key()
        obj = self.app.model.objects("Pod").get(k) if k else None  # type: ignore[attr-defined]
        return ("Pod", obj) if obj is not None else None

    def _show(self, model: Any, *, force: bool) -> None:
        sel = self.selected()
        pod = sel[1] if sel else None
        text = ((pod or {}).get("metadata") or {}).get("annotations", {}).get(SCHEDULING_ANNOTATION) if pod else None
        key = self.pods.selected_key()
        if not force and key == self._pod_key and text == self._shown_text:
            return  # the table of nodes only changes when the decision does
        self._pod_key, self._shown_text = key, text
        summary = self.query_one("#sched-summary", Static)
        table = self.query_one("#sched-nodes", DataTable)
        table.clear(columns=True)
        if pod is None:
            summary.update("select a pod")
            return
        rec = decision(pod)
        name = f"{key[0]}/{key[1]}" if key else ""
        error = scheduler_error(pod) if not (pod.get("spec") or {}).get("nodeName") else None
        if error is not None:
            summary.update(f"[b]{name}[/] → [red]scheduling failed[/] (retried with back-off)\n{error}")
            return
        if rec is None:
            node = (pod.get("spec") or {}).get("nodeName")
            summary.update(f"[b]{name}[/] → {node}\nbound by its spec.nodeName: no scheduler took part" if node else
                           f"[b]{name}[/]\nno scheduling record yet (the scheduler has not seen it, or it names "
                           f"another scheduler: {(pod.get('spec') or {}).get('schedulerName') or 'default-scheduler'})")
            return
        counts = ", ".join(f"{n} {reason}" for reason, n in (rec.get("counts") or {}).items())
        color = "green" if rec.get("node") else "red"
        verdict = escape(str(rec.get("node") or "unschedulable"))
        if not rec.get("node") and nominated_node(pod):
            # it fits nowhere now, but it preempted pods on its nominated node and is bound there once they are gone
            color = "yellow"
            verdict = f"nominated {escape(nominated_node(pod))}: waiting for the pods it preempted there to stop"
        summary.update(
            f"[b]{name}[/] → [{color}]{verdict}[/]\n{rec.get('message', '')}\n"
            f"[dim]{rec.get('feasible')}/{rec.get('evaluated')} nodes feasible · {rec.get('time_ms')} ms"
            + (f" · profile {rec['profile']}" if rec.get("profile") else "")
            + (f" · {counts}" if counts else "") + escape(tie_note(rec))
            + (f" · filters not run (nothing to check): {escape(', '.join(map(str, rec['skipped'])))}" if rec.get("skipped") else "")
            + "[/]"
            + "".join(f"\n[b]{escape(str(p))}[/]: {escape(str(t))}" for p, t in (rec.get("explain") or {}).items()))
        plugins, rows = node_rows(rec)
        table.add_column("", key="win", width=1)
        table.add_column("NODE", key="node")
        table.add_column("TOTAL", key="total")
        table.add_column("FILTERS", key="filters")
        for p in plugins:
            table.add_column(p, key=f"score-{p}")
        table.add_rows(rows)
