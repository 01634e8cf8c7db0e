"""The dashboard against a real in-process control plane: objects created through the client appear."""

from __future__ import annotations

from helpers import wait_for

from control.client import Client
from control.plane import ControlPlane
from tui.app import KubeTuiApp
from tui.model import ClusterModel
from tui.views.resources import ResourceView


def pod_manifest(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]}}


async def test_pods_created_through_the_client_appear(plane: ControlPlane, client: Client) -> None:
    await client.create(pod_manifest("before-1"))
    dash = plane.client("dashboard")
    await dash.connect()
    app = KubeTuiApp(lambda: ClusterModel(dash), server_label=dash.server)
    try:
        async with app.run_test(size=(150, 40)) as pilot:
            await pilot.press("1")
            view = app.active_view
            assert isinstance(view, ResourceView)
            table = view.panel.table
            await wait_for(lambda: table.selected_key() == ("default", "before-1"), what="the listed pod")
            await client.create(pod_manifest("after-2"))
            await wait_for(lambda: table.row_count == 2, what="the watched pod's row")
            # the etcd mirror and the flow heard the same change, with its writer
            await wait_for(lambda: "/registry/pods/default/after-2" in app.model.raw_keys, what="the raw key")
            steps = [s for s in app.model.flow.steps if s.key == "default/after-2"]
            assert steps and steps[0].summary == "created" and steps[0].writer == "test"
            await client.delete("Pod", "after-2")
            await wait_for(lambda: table.row_count == 1, what="the deleted pod's row to go")
            await pilot.press("6")
            value = await app.model.raw_value("/registry/pods/default/before-1")
            assert value is not None and value["value"]["metadata"]["name"] == "before-1"
            assert app.model.revision >= value["mod_revision"]
    finally:
        await dash.close()


async def test_a_node_started_as_a_separate_process_appears(plane: ControlPlane, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from tests.helpers import Proc

    assert plane.server is not None and plane.credentials is not None
    dash = plane.client("dashboard")
    await dash.connect()
    app = KubeTuiApp(lambda: ClusterModel(dash), server_label=dash.server)
    node = Proc(["node", "--server", plane.server.address, "--token", plane.credentials.first_join_token(),
                 "--name", "hand-made", "--runtime", "sim", "--data-dir", str(tmp_path / "node")], tmp_path / "home")
    try:
        async with app.run_test(size=(150, 40)) as pilot:
            await pilot.press("colon")
            await pilot.press(*"nodes", "enter")
            view = app.active_view
            assert isinstance(view, ResourceView)
            table = view.panel.table
            await wait_for(lambda: table.row_count == 1, timeout=20, what="the hand-started node's row")
            key = table.selected_key()
            assert key is not None and key[-1] == "hand-made", key
    except AssertionError:
        pytest.fail(f"node output:\n{node.output()}")
    finally:
        node.close()
        await dash.close()


async def test_the_title_says_when_the_api_server_is_gone_and_a_notice_when_it_is_back(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # kill -9 of the control plane mid-demo: the tables keep what was last heard, so the title must say they
    # are stale while the server is away, and a notice say it came back (restarted: everything relisted)
    from conftest import FAST

    from control.netutil import free_port_pair

    data, addr = tmp_path / "data", f"tcp://127.0.0.1:{free_port_pair()}"
    first = ControlPlane(data, addr, scheduler=False, controllers=False, bookmark_interval=0.1, timings=FAST)
    await first.start()
    running = [first]
    assert first.credentials is not None
    dash = Client(addr, token=first.credentials.admin, identity="dashboard", timeout=1.0, retry_for=60)
    await dash.connect()
    app = KubeTuiApp(lambda: ClusterModel(dash), server_label=addr)
    try:
        async with app.run_test(size=(150, 40)):
            await wait_for(lambda: app.model.synced, what="the first list")
            assert "not answering" not in app.sub_title
            await running.pop().stop()
            await wait_for(lambda: "API server not answering for" in app.sub_title, timeout=20, what="the title to say so")
            lost = await wait_for(lambda: [n.message for n in app._notifications if n.title == "API server lost"],
                                  what="the notice that it is lost")
            assert len(lost) == 1 and addr in lost[0], lost
            second = ControlPlane(data, addr, scheduler=False, controllers=False, bookmark_interval=0.1, timings=FAST)
            await second.start()
            running.append(second)
            await wait_for(lambda: "not answering" not in app.sub_title, timeout=20, what="the title to clear")
            back = await wait_for(lambda: [n.message for n in app._notifications if n.title == "API server back"],
                                  what="the notice that it is back")
            assert len(back) == 1 and "answers again after" in back[0] and "it had restarted" in back[0], back
    finally:
        await dash.close()
        for p in running:
            await p.stop()


async def test_the_overview_says_where_pod_ips_and_cluster_ips_come_from(plane: ControlPlane) -> None:
    from textual.widgets import Static

    from tui.views.resources import OverviewView

    dash = plane.client("dashboard")
    await dash.connect()
    net = dash.hello["network"]
    app = KubeTuiApp(lambda: ClusterModel(dash), server_label=dash.server)
    try:
        async with app.run_test(size=(200, 40)):
            await wait_for(lambda: isinstance(app.active_view, OverviewView), what="the overview")
            view = app.active_view
            assert isinstance(view, OverviewView)

            def caption(kind: str) -> str:
                return str(view.panels[kind].query_one(".caption", Static).render())

            await wait_for(lambda: f"pod IPs from {net['clusterCIDR']}, a /24 per node" in caption("Node"),
                           what="the cluster CIDR beside the nodes")
            assert (f"ClusterIPs from {net['serviceClusterIPRange']}, NodePorts {net['serviceNodePortRange']}"
                    in caption("Service"))
            assert "from" not in caption("Pod") and "from" not in caption("Deployment")
    finally:
        await dash.close()
