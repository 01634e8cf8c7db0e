"""Dashboard defects users reported, each pinned: the help's text, the etcd tree's live directories, `~` in
the apply prompt, whole pod names in the tables."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboard_fake import FakeClient, fake_model, pod
from helpers import wait_for
from textual.widgets import Input, Label, Static

from control.client import Client
from control.plane import ControlPlane
from tui.app import KubeTuiApp
from tui.model import ClusterModel
from tui.views.etcd import EtcdView
from tui.views.modals import HelpScreen, PromptModal
from tui.views.resources import ResourceView
from tui.views.table import FastTable

SIZE = (160, 44)


def make_app(client: FakeClient | None = None) -> KubeTuiApp:
    c = client or FakeClient()
    return KubeTuiApp(lambda: fake_model(c), server_label="tcp://127.0.0.1:7070")  # type: ignore[arg-type]


def screen_lines(table: FastTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.size.height)]


async def test_help_shows_the_etcd_keys_and_the_flow_views_h() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = "\n".join(str(w.render()) for w in app.screen.query(Static) if not isinstance(w, Label))
        assert "[ older revision of the key   ] newer revision" in text
        assert "h show / hide heartbeats" in text


def daemonset(name: str) -> dict:
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": "kube-system", "uid": f"ds-{name}", "resourceVersion": "1"},
            "spec": {}, "status": {}}


def tree_dirs(view: EtcdView) -> list[str]:
    return [c.data or "" for c in view.key_tree.root.children]


async def test_etcd_tree_gains_and_loses_directories_while_open_and_while_away() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        view = app.active_view
        assert isinstance(view, EtcdView)
        assert "/registry/daemonsets/" not in tree_dirs(view)

        # applied while another view is showing: there when the etcd view is shown again
        await pilot.press("1")
        app.model.feed(daemonset("kube-proxy"))
        await wait_for(lambda: not app.model._dirty_raw, what="a tick to take the change")
        await pilot.press("6")
        assert "/registry/daemonsets/" in tree_dirs(view)
        assert tree_dirs(view) == sorted(tree_dirs(view))  # in its place, not at the end

        # deleted while the etcd view is showing (never expanded, so it has no leaves to prune)
        app.model.feed(daemonset("kube-proxy"), "DELETED")
        await wait_for(lambda: "/registry/daemonsets/" not in tree_dirs(view), what="daemonsets/ to go")

        # and back while it is showing; then gone while away
        app.model.feed(daemonset("kube-proxy"))
        await wait_for(lambda: "/registry/daemonsets/" in tree_dirs(view), what="daemonsets/ to come back")
        await pilot.press("1")
        app.model.feed(daemonset("kube-proxy"), "DELETED")
        await wait_for(lambda: not app.model._dirty_raw, what="a tick to take the change")
        await pilot.press("6")
        assert "/registry/daemonsets/" not in tree_dirs(view)


async def test_etcd_tree_shows_a_new_key_of_an_open_directory_added_while_away() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6", "down", "enter", "down", "enter")  # deployments/ default/ open
        view = app.active_view
        assert isinstance(view, EtcdView)
        assert "/registry/deployments/default/" in view._populated
        await pilot.press("1")
        app.model.feed(dict(daemonset("api"), kind="Deployment",
                            metadata={"name": "api", "namespace": "default", "uid": "d-api", "resourceVersion": "1"}))
        await wait_for(lambda: not app.model._dirty_raw, what="a tick to take the change")
        await pilot.press("6")
        leaves = [c.data for c in view._dirs["/registry/deployments/default/"].children]
        assert leaves == ["/registry/deployments/default/api", "/registry/deployments/default/web"]


async def test_apply_prompt_expands_the_home_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "x.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: from-home\n")
    client = FakeClient()
    app = make_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        assert isinstance(app.screen, PromptModal)
        app.screen.query_one(Input).value = "~/x.yaml"
        await pilot.press("enter")
        await wait_for(lambda: any(c[0] == "apply" and c[1][0]["metadata"]["name"] == "from-home" for c in client.calls),
                       what="the manifest under ~ to be applied")
        assert app.apply_paths == [str(tmp_path / "x.yaml")]


LONG = ("frontend-web-deployment-7897d4cbff-pvx2k", "frontend-web-deployment-7897d4cbff-vq8zt")


async def test_generated_pod_names_are_shown_whole() -> None:
    app = make_app()
    for name in LONG:
        app.model.feed(pod(name, "node-1", owner="frontend-web-deployment-7897d4cbff"))
    async with app.run_test(size=(200, 50)) as pilot:
        overview = app.active_view.query_one("#ov-pod-table", FastTable)
        await wait_for(lambda: overview.row_count == 6, what="the overview's pods")
        await pilot.pause()
        assert all(any(name in line for line in screen_lines(overview)) for name in LONG), screen_lines(overview)

        await pilot.press("1")
        view = app.active_view
        assert isinstance(view, ResourceView)
        table = view.panel.table
        await pilot.pause()
        lines = screen_lines(table)
        assert all(any(name in line for line in lines) for name in LONG), lines
        assert any("web-1" in line for line in lines)  # short names keep the column's width, not less

        await pilot.press("slash", *"vq8zt", "enter", "f")  # its flow: default/NAME in OBJECT
        flow = app.active_view.query_one("#flow-table", FastTable)
        await wait_for(lambda: flow.row_count == 1, what="the pod's flow")
        await pilot.pause()
        assert any(f"default/{LONG[1]}" in line for line in screen_lines(flow)), screen_lines(flow)


async def test_etcd_tree_of_a_real_store_gains_a_directory_for_a_new_kind(plane: ControlPlane, client: Client) -> None:
    dash = plane.client("dashboard")
    await dash.connect()
    app = KubeTuiApp(lambda: ClusterModel(dash), server_label=dash.server)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("6")
            view = app.active_view
            assert isinstance(view, EtcdView)
            await wait_for(lambda: app.model.synced, what="the dashboard's lists")
            ds = daemonset("kube-proxy")
            del ds["metadata"]["uid"], ds["metadata"]["resourceVersion"]
            ds["spec"] = {"selector": {"matchLabels": {"app": "p"}}, "template": {
                "metadata": {"labels": {"app": "p"}}, "spec": {"containers": [{"name": "p", "image": "nginx"}]}}}
            await client.create(ds)
            await wait_for(lambda: "/registry/daemonsets/" in tree_dirs(view), what="a daemonsets/ directory")
            await client.delete("DaemonSet", "kube-proxy", namespace="kube-system")
            await wait_for(lambda: "/registry/daemonsets/" not in tree_dirs(view), what="daemonsets/ to go")
    finally:
        await dash.close()
