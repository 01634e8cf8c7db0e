"""The dashboard's StatefulSets: the :sts view, scaling one with s, describing it, and its Flow lines."""

from __future__ import annotations

import copy

from dashboard_fake import NOW, FakeClient, _md, fake_model, pod
from helpers import wait_for

from tui.app import KubeTuiApp
from tui.flow import summarize
from tui.views.detail import TextScreen
from tui.views.flow import owner_chain
from tui.views.modals import PromptModal
from tui.views.resources import ResourceView

SIZE = (160, 44)


def statefulset(ready: int, updated: int, current: str = "web-aaa", update: str = "web-aaa") -> dict:
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": _md("db", writer="kube-tui apply"),
            "spec": {"replicas": 3, "serviceName": "db", "updateStrategy": {"type": "RollingUpdate"},
                     "selector": {"matchLabels": {"app": "db"}}, "template": {"metadata": {"labels": {"app": "db"}}}},
            "status": {"replicas": 3, "readyReplicas": ready, "updatedReplicas": updated,
                       "currentRevision": current, "updateRevision": update}}


def member(i: int) -> dict:
    p = pod(f"db-{i}", "node-1", writer="controller-manager")
    p["metadata"]["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db",
                                         "uid": "uid-default-db", "controller": True}]
    return p


def make_app(client: FakeClient) -> KubeTuiApp:
    def model():  # noqa: ANN202 - a ClusterModel
        m = fake_model(client)
        m.feed(statefulset(2, 1, update="web-bbb"), t=NOW - 1.0)
        for i in range(3):
            m.feed(member(i), t=NOW - 0.9 + i / 10)
        return m

    return KubeTuiApp(model, server_label="tcp://127.0.0.1:7070")  # type: ignore[arg-type]


async def test_sts_view_lists_the_set_and_scales_it() -> None:
    client = FakeClient()
    app = make_app(client)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"sts", "enter")
        assert app.current == "sts"
        view = app.active_view
        assert isinstance(view, ResourceView)
        table = view.panel.table
        assert table.row_count == 1 and table.selected_key() == ("default", "db")
        cells = [str(c) for c in table.get_row_at(0)]
        assert cells[:6] == ["default", "db", "2/3", "1", "RollingUpdate", "web-bbb"]
        await pilot.press("d")
        assert isinstance(app.screen, TextScreen)
        await pilot.press("escape")
        await pilot.press("s")
        assert isinstance(app.screen, PromptModal)
        await pilot.press("ctrl+a", "ctrl+k", "5", "enter")
        await wait_for(lambda: any(c[0] == "patch" for c in client.calls), what="a patch")
        verb, args, kwargs = next(c for c in client.calls if c[0] == "patch")
        assert args == ("StatefulSet", "db", {"spec": {"replicas": 5}}) and kwargs == {"namespace": "default"}


def test_flow_reads_a_sets_progress_and_chains_its_pods_to_it() -> None:
    before = statefulset(1, 1)
    after = statefulset(2, 1, update="web-bbb")
    assert summarize("StatefulSet", "MODIFIED", after, before) == "ready 1→2, update revision web-aaa→web-bbb"
    scaled = copy.deepcopy(after)
    scaled["spec"]["replicas"] = 5
    assert summarize("StatefulSet", "MODIFIED", scaled, after) == "replicas 3→5"
    m = fake_model(FakeClient())
    m.feed(after, t=NOW - 1.0)
    m.feed(member(0), t=NOW - 0.5)
    assert owner_chain(m, "Pod", "default/db-0") == [("Pod", "default/db-0"), ("StatefulSet", "default/db")]


async def test_a_member_terminating_on_a_lost_node_shows_that_node_as_not_ready() -> None:
    # kill -9 of node-2 mid-class: db-2 is evicted (Terminating) but nobody can confirm it stopped, so the set
    # waits at 2/3 and makes no second db-2; the pod's row must say why: its node is not Ready
    client = FakeClient()

    def model():  # noqa: ANN202 - a ClusterModel
        m = fake_model(client)
        m.feed(statefulset(2, 3), t=NOW - 1.0)
        for i in range(3):
            m.feed(member(i), t=NOW - 0.9 + i / 10)
        lost = member(2)
        lost["spec"]["nodeName"] = "node-3"  # fake_model's node-3 is NotReady
        lost["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        m.feed(lost, t=NOW - 0.5)
        return m

    app = KubeTuiApp(model, server_label="tcp://127.0.0.1:7070")  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon", *"pods", "enter")
        view = app.active_view
        assert isinstance(view, ResourceView)
        table = view.panel.table
        rows = {str(table.get_row_at(i)[1]): table.get_row_at(i) for i in range(table.row_count)}
        status, node = rows["db-2"][3], rows["db-2"][5]
        assert str(status) == "Terminating"
        assert str(node) == "node-3 ✗" and "red" in str(node.style)
        assert str(rows["db-0"][5]) == "node-1"  # a Ready node's name stays plain
