"""Pilot-driven tests of the dashboard: each view and key against a deterministic fake cluster."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from dashboard_fake import FakeClient, FakeLauncher, event, fake_model, pod
from helpers import wait_for

from tui.app import KubeTuiApp
from tui.views.detail import LogsScreen, TextScreen
from tui.views.modals import ConfirmModal, HelpScreen, MessageModal, PromptModal
from tui.views.resources import OverviewView, ResourceView

SIZE = (160, 44)


def make_app(client: FakeClient | None = None, **kwargs: object) -> KubeTuiApp:
    c = client or FakeClient()
    return KubeTuiApp(lambda: fake_model(c), server_label="tcp://127.0.0.1:7070", **kwargs)  # type: ignore[arg-type]


def pods_table(app: KubeTuiApp):  # noqa: ANN201 - a ResourceTable
    view = app._views["pods"]
    assert isinstance(view, ResourceView)
    return view.panel.table


async def test_colon_prompt_switches_views_with_completion() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.active_view, OverviewView)
        await pilot.press("colon")
        assert isinstance(app.screen, PromptModal)
        await pilot.press("p", "o", "d", "enter")
        assert app.current == "pods"
        await pilot.press("colon", "e", "t", "tab", "enter")  # "et" completes to "etcd"
        assert app.current == "etcd"
        await pilot.press("escape")  # back to pods
        assert app.current == "pods"
        await pilot.press("8")
        assert app.current == "flow"


async def test_colon_explain_shows_the_api_fields_as_kubectl_explain() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"explain deploy.spec.strategy", "enter")
        assert isinstance(app.screen, TextScreen)
        assert app.screen.text.startswith("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\nFIELD: strategy")
        assert "rollingUpdate\t<RollingUpdateDeployment>" in app.screen.text
        await pilot.press("escape")
        await pilot.press("1", "colon", *"explain", "enter")  # alone: the selected object's kind
        assert isinstance(app.screen, TextScreen) and app.screen.text.startswith("KIND:       Pod\n")
        await pilot.press("escape", "colon", *"explain pods.spec.nope", "enter")
        assert not isinstance(app.screen, TextScreen)  # a notice says the field does not exist


async def test_filter_narrows_and_escape_clears() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        table = pods_table(app)
        assert table.row_count == 4
        await pilot.press("slash", *"crash", "enter")
        assert table.row_count == 1 and table.selected_key() == ("default", "web-3")
        await pilot.press("escape")
        assert table.row_count == 4


async def test_describe_yaml_and_logs_of_the_selected_pod() -> None:
    client = FakeClient()
    app = make_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "down")  # big-0, then web-1
        assert pods_table(app).selected_key() == ("default", "web-1")
        await pilot.press("d")
        assert isinstance(app.screen, TextScreen)
        assert "Name:" in app.screen.text and "web-1" in app.screen.text and "Scheduled" in app.screen.text
        await pilot.press("escape", "y")
        assert isinstance(app.screen, TextScreen) and "kind: Pod" in app.screen.text
        await pilot.press("escape", "l")
        assert isinstance(app.screen, LogsScreen)
        log = app.screen.query_one("Log")
        await wait_for(lambda: "hello from web-1" in "\n".join(log.lines), what="the first log lines")
        client.log_text += "second line\n"
        await wait_for(lambda: any("second line" in line for line in log.lines), what="followed log output")
        await pilot.press("t")  # the log again, each line with its time
        await wait_for(lambda: "2026-11-27T13:10:01.000000000Z hello from web-1" in log.lines, what="timestamps")
        assert log.lines.count("2026-11-27T13:10:01.000000000Z second line") == 1 and "hello from web-1" not in log.lines
        await pilot.press("escape")
        assert app.current == "pods"


async def test_scale_patches_replicas() -> None:
    client = FakeClient()
    app = make_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("3", "s")
        assert isinstance(app.screen, PromptModal)
        await pilot.press("ctrl+a", "ctrl+k", "5", "enter")  # clear the current "3", type 5
        await wait_for(lambda: any(c[0] == "patch" for c in client.calls), what="a patch")
        verb, args, kwargs = next(c for c in client.calls if c[0] == "patch")
        assert args == ("Deployment", "web", {"spec": {"replicas": 5}}) and kwargs == {"namespace": "default"}
        await pilot.press("1", "s")  # not scalable: a warning, no prompt
        assert not isinstance(app.screen, PromptModal)


async def test_cordon_toggles_the_selected_nodes_unschedulable() -> None:
    client = FakeClient()
    app = make_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "c")
        await wait_for(lambda: any(c[0] == "patch" for c in client.calls), what="a patch")
        verb, args, kwargs = next(c for c in client.calls if c[0] == "patch")
        assert args[0] == "Node" and args[2] == {"spec": {"unschedulable": True}} and kwargs == {"namespace": None}
        client.calls.clear()
        await pilot.press("1", "c")  # a pod is no node: a warning, no patch
        assert not client.calls


async def test_e_hands_the_terminal_to_a_shell_in_the_selected_pod(monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    ran: list[tuple[list[str], dict]] = []
    monkeypatch.setattr("tui.app.subprocess.call", lambda argv, env: ran.append((argv, env)) or 0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "e")  # the test driver cannot suspend: the command to run instead
        await wait_for(lambda: any("run `kube-tui exec -it big-0 -- sh` in another one" in n.message
                                   for n in app._notifications), what="the fallback notice")
        assert not ran
        monkeypatch.setattr(app, "suspend", contextlib.nullcontext)
        await pilot.press("e")
        assert len(ran) == 1
        argv, env = ran[0]
        assert argv[-7:] == ["exec", "-it", "big-0", "-n", "default", "--", "sh"] and "abc.def" not in argv
        assert env["KUBE_TUI_SERVER"] == "tcp://127.0.0.1:7070" and env["KUBE_TUI_TOKEN"] == "abc.def"
        await pilot.press("2", "e")  # a node is no pod: a warning, no shell
        assert len(ran) == 1


async def test_delete_asks_first() -> None:
    client = FakeClient()
    app = make_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "ctrl+d")
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        assert not client.calls
        await pilot.press("ctrl+d", "y")
        await wait_for(lambda: client.calls, what="a delete")
        assert client.calls[0][:2] == ("delete", ("Pod", "big-0"))


async def test_add_node_shows_the_command_without_a_launcher() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(lambda: isinstance(app.screen, MessageModal), what="the node command")
        assert isinstance(app.screen, MessageModal)
        assert "kube-tui node --server tcp://127.0.0.1:7070 --token <join token printed by kube-tui control> --name node-4" in app.screen.body
        await pilot.press("x")  # nothing this dashboard started: only a warning
        await pilot.press("escape")


async def test_add_and_stop_node_through_the_launcher() -> None:
    launcher = FakeLauncher()
    app = make_app(launcher=launcher)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await wait_for(lambda: isinstance(app.screen, MessageModal), what="the node command")
        assert launcher.added == [None] and "--name node-4" in app.screen.body  # type: ignore[attr-defined]
        await pilot.press("escape", "x")
        assert isinstance(app.screen, PromptModal)
        await pilot.press("enter")
        await wait_for(lambda: launcher.stopped == ["node-4"], what="stop_node")


async def test_help_and_command_palette() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "ctrl+p", *"View: Sched", "enter")
        await wait_for(lambda: app.current == "sched", what="the palette to switch views")


async def test_etcd_view_shows_values_and_walks_revisions() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        tree = app.active_view.query_one("#etcd-tree")
        await pilot.press("down", "enter", "down", "enter", "down")  # deployments/ default/ web
        view = app.active_view
        await wait_for(lambda: view._shown, what="the value of a key")  # type: ignore[attr-defined]
        assert view._key == "/registry/deployments/default/web"  # type: ignore[attr-defined]
        assert view.selected() is not None and view.selected()[0] == "Deployment"
        await pilot.press("left_square_bracket")
        await wait_for(lambda: "no earlier revision" in view._note or len(view._shown) > 1)  # type: ignore[attr-defined]
        assert tree.has_focus


async def test_scheduler_view_explains_each_node() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("7")
        view = app.active_view
        nodes = view.query_one("#sched-nodes")
        assert view.pods.selected_key() == ("default", "big-0")  # type: ignore[attr-defined]  # unschedulable first
        cells = [str(c) for row in range(nodes.row_count) for c in nodes.get_row_at(row)]
        assert any("NodeResourcesFit: Insufficient cpu" in c for c in cells)
        await pilot.press("down")
        await pilot.pause()
        cells = [str(c) for row in range(nodes.row_count) for c in nodes.get_row_at(row)]
        assert "★" in cells and "170" in cells  # web-1's winner and its total


async def test_flow_view_filters_to_one_object_and_tells_its_story() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1", "down", "f")  # web-1 in the pods view: its flow
        assert app.current == "flow"
        view = app.active_view
        assert view.focus_ref == ("Pod", "default/web-1")  # type: ignore[attr-defined]
        assert view.table.row_count == 3  # type: ignore[attr-defined]
        story = str(view.query_one("#flow-timeline").render())
        assert "Deployment default/web: created by kube-tui apply" in story
        assert "scheduler: bound to node-1" in story and "(+350 ms)" in story
        await pilot.press("f")
        assert view.focus_ref is None and view.table.row_count == 16  # type: ignore[attr-defined]


async def test_ticks_update_rows_in_place_and_coalesce() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        table = pods_table(app)
        keys_before = [r.key for r in table.ordered_rows]
        calls: list[int] = []
        view = app.active_view
        original = view.apply
        view.apply = lambda changes, model: (calls.append(len(changes.objects.get("Pod", ()))), original(changes, model))  # type: ignore[method-assign]
        for i in range(2000):
            app.model.feed(pod("web-2", "node-2", restarts=i, ip="127.2.0.2", writer="kubelet/node-2"))
        app.model.feed(pod("new-1", None, "Pending"))
        await wait_for(lambda: table.row_count == 5, what="the new pod's row")
        # 2,001 changes coalesce into one tick with two dirty pods (a tick already due before the feed
        # may carry the initial rows first)
        # (a tick with no pod in it, the clock's or another kind's, may come between: it is not a pod tick)
        pod_ticks = [n for n in calls if n]
        assert len(pod_ticks) <= 2 and pod_ticks[-1] in (2, 5), calls
        assert table.get_row("uid-default-web-2")[4] == "1999"
        assert [r.key for r in table.ordered_rows if r.key.value != "uid-default-new-1"] == keys_before


async def test_apply_a_file_and_reapply_on_save(tmp_path: Path) -> None:
    manifest = tmp_path / "app.yaml"
    manifest.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n")
    client = FakeClient()
    app = make_app(client, apply_paths=[str(manifest)], watch_files=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: len([c for c in client.calls if c[0] == "apply"]) == 1, what="the initial apply")

        def saved_and_reapplied() -> bool:
            # saved again on every poll: the watcher only reports changes made after it started
            manifest.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-b\n")
            return any(c[1][0]["metadata"]["name"] == "team-b" for c in client.calls if c[0] == "apply")

        await wait_for(saved_and_reapplied, timeout=10, interval=0.5, what="the re-apply on save")
        await pilot.press("a")
        assert isinstance(app.screen, PromptModal)
        await pilot.press("enter")
        await wait_for(lambda: len([c for c in client.calls if c[0] == "apply"]) >= 3, what="apply from the prompt")


async def test_flow_hides_lease_renewals_until_h() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"flow", "enter")
        view = app.active_view
        before = view.table.row_count  # type: ignore[attr-defined]
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "node-1", "namespace": "kube-node-lease", "uid": "lease-1", "resourceVersion": "1"},
                 "spec": {"holderIdentity": "node-1", "renewTime": "2026-01-01T00:00:00.000000Z"}}
        for i in range(3):
            app.model.feed(dict(lease, metadata=dict(lease["metadata"], resourceVersion=str(i + 2))))
        await wait_for(lambda: view.table.row_count == before + 1, what="the Lease's creation, and none of its renewals")  # type: ignore[attr-defined]
        assert "renewals and Event repeats hidden (h: show)" in str(view.query_one("#flow-header").render())
        await pilot.press("h")
        assert view.table.row_count == before + 3  # type: ignore[attr-defined]
        await pilot.press("h")
        assert view.table.row_count == before + 1  # type: ignore[attr-defined]


async def test_namespace_scope_like_kubectl_n_and_back_to_all() -> None:
    app = make_app()
    for ns in ("default", "kube-system", "team-a"):
        app.model.feed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "uid": f"ns-{ns}"},
                        "status": {"phase": "Active"}})
    app.model.feed(pod("api-0", "node-2", ip="127.2.0.9") | {"metadata": {"name": "api-0", "namespace": "team-a", "uid": "api-0"}})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("1")
        table = pods_table(app)
        await wait_for(lambda: table.row_count == 5, 5)
        await pilot.press("colon", *"ns team-a", "enter")
        assert app.namespace == "team-a"
        assert table.row_count == 1 and table.selected_key() == ("team-a", "api-0")
        assert "ns team-a" in app.sub_title
        nodes = app._views["nodes"]
        assert isinstance(nodes, ResourceView)
        await pilot.press("2")  # cluster-scoped kinds are not narrowed
        assert nodes.panel.table.row_count == 3
        await pilot.press("colon", *"ns nope", "enter")  # refused, scope unchanged
        assert app.namespace == "team-a"
        await pilot.press("colon", *"ns all", "enter")
        assert app.namespace is None
        await pilot.press("1")
        assert table.row_count == 5
        # Enter on a namespace in the :ns view scopes to it and shows its pods
        await pilot.press("colon", "n", "s", "enter")
        assert app.current == "ns"
        ns_table = app._views["ns"]
        assert isinstance(ns_table, ResourceView)
        ns_table.panel.table.select(("", "team-a"))
        await pilot.press("enter")
        assert app.namespace == "team-a" and app.current == "pods"
        assert table.row_count == 1


async def test_the_events_view_follows_the_newest_event_unless_the_cursor_moved_up() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"events", "enter")
        view = app.active_view
        assert isinstance(view, ResourceView) and view.kind == "Event"
        table = view.panel.table
        await wait_for(lambda: table.row_count == 2, what="the two events")
        assert table.cursor_row == 1  # opened on the newest
        for i in range(3):
            ev = event(f"web-2.{i}", "Killing", f"Stopping container {i}", pod("web-2", "node-2"))
            ev["metadata"]["resourceVersion"] = str(10 + i)  # the order the store wrote them
            app.model.feed(ev)
        await wait_for(lambda: table.row_count == 5, what="three new events")
        assert table.cursor_row == 4 and table.selected_key() == ("default", "web-2.2")
        await pilot.press("up", "up")
        late = event("web-2.9", "Killing", "Stopping container 9", pod("web-2", "node-2"))
        late["metadata"]["resourceVersion"] = "20"
        app.model.feed(late)
        await wait_for(lambda: table.row_count == 6, what="one more")
        assert table.selected_key() == ("default", "web-2.0")  # reading an older one: left where it was


def test_the_help_names_every_view() -> None:
    """? lists the views; a presenter looking for the PriorityClasses or the disruption budgets finds them there."""
    from tui.app import MORE_VIEWS
    from tui.views.modals import HELP

    assert [v for v, *_ in MORE_VIEWS if f":{v}" not in HELP] == []


async def test_the_cronjobs_view_lists_them_and_describes_one() -> None:
    """:cj (or :cronjobs) shows the CronJobs; d describes the selected one as kubectl describe cronjob does."""
    app = make_app()
    cj = {"apiVersion": "batch/v1", "kind": "CronJob",
          "metadata": {"name": "hello", "namespace": "default", "uid": "cj-1", "creationTimestamp": "2025-12-31T23:55:00Z"},
          "spec": {"schedule": "*/1 * * * *", "suspend": False, "concurrencyPolicy": "Allow",
                   "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "hello", "image": "busybox"}]}}}}},
          "status": {"lastScheduleTime": "2025-12-31T23:59:00Z", "active": [{"name": "hello-29441279"}]}}
    app.model.feed(cj)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"cj", "enter")
        assert app.current == "cj"
        view = app._views["cj"]
        assert isinstance(view, ResourceView)
        table = view.panel.table
        await wait_for(lambda: table.row_count == 1, 5)
        await pilot.press("d")
        await wait_for(lambda: isinstance(app.screen, TextScreen), 5)
        text = app.screen.text  # type: ignore[attr-defined]
        assert "Schedule:" in text and "*/1 * * * *" in text and "Active Jobs:" in text and "hello-29441279" in text
