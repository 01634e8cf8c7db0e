"""kube-tui cordon / uncordon / drain against a real API server: kubectl's rules for which pods may go."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from control.client import Client
from tests.conftest import running_plane
from tests.helpers import Proc, wait_for
from tui.commands import drain as drain_command
from tui.commands.drain import drain, set_unschedulable


def pod(name: str, node: str, owner: str | None = None, namespace: str = "default") -> dict:
    md: dict = {"name": name, "namespace": namespace}
    if owner:
        kind, _, owner_name = owner.partition("/")
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": kind, "name": owner_name, "uid": f"uid-{owner_name}",
                                  "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}]}}


def drain_args(node: str, **flags: object) -> argparse.Namespace:
    defaults: dict[str, object] = {"ignore_daemonsets": False, "force": False, "grace_period": 0, "timeout": 10.0}
    return argparse.Namespace(node=node, **{**defaults, **flags})


async def pods_on(client: Client, node: str) -> list[str]:
    items = (await client.list("pods", None, field_selector=f"spec.nodeName={node}"))["items"]
    return sorted(p["metadata"]["name"] for p in items)


async def test_drain_refuses_daemonset_and_unowned_pods_then_evicts_with_the_flags(
        client: Client, capsys: pytest.CaptureFixture[str]) -> None:
    for n in ("n1", "n2"):
        await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": n}})
    await client.create(pod("web-1", "n1", owner="ReplicaSet/web"))
    await client.create(pod("agent-1", "n1", owner="DaemonSet/agent", namespace="kube-system"))
    await client.create(pod("bare", "n1"))
    done = await client.create(pod("done", "n1"))
    done["status"] = {"phase": "Succeeded"}
    await client.update(done, "status")
    await client.create(pod("web-2", "n2", owner="ReplicaSet/web"))

    # Without the flags: cordoned, then refused, naming every pod in the way and the flag for it; nothing deleted.
    assert await drain(client, drain_args("n1")) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == ["node/n1 cordoned"]
    assert ('error: unable to drain node "n1" due to error: [cannot delete DaemonSet-managed Pods (use '
            "--ignore-daemonsets to ignore): kube-system/agent-1, cannot delete Pods that declare no controller "
            "(use --force to override): default/bare], continuing command...") in err
    assert (await client.get("nodes", "n1", None))["spec"]["unschedulable"] is True
    assert await pods_on(client, "n1") == ["agent-1", "bare", "done", "web-1"]

    # With them: the DaemonSet's pod stays, the rest go (the finished one without asking), n2 is untouched.
    assert await drain(client, drain_args("n1", ignore_daemonsets=True, force=True)) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "node/n1 already cordoned" and lines[-1] == "node/n1 drained"
    assert sorted(line for line in lines if line.startswith("evicting")) == [
        "evicting pod default/bare", "evicting pod default/done", "evicting pod default/web-1"]
    assert sorted(line for line in lines if line.endswith(" evicted")) == [
        "pod/bare evicted", "pod/done evicted", "pod/web-1 evicted"]
    assert "Warning: ignoring DaemonSet-managed Pods: kube-system/agent-1" in err
    assert await pods_on(client, "n1") == ["agent-1"] and await pods_on(client, "n2") == ["web-2"]

    assert await set_unschedulable(client, "n1", False) == "node/n1 uncordoned"
    assert "unschedulable" not in (await client.get("nodes", "n1", None)).get("spec", {})
    assert await set_unschedulable(client, "n1", False) == "node/n1 already uncordoned"
    assert await set_unschedulable(client, "n2", True) == "node/n2 cordoned"


async def test_drain_with_eviction_disabled_deletes_and_says_only_deleted(
        client: Client, capsys: pytest.CaptureFixture[str]) -> None:
    """kubectl drain --disable-eviction (v1.32) prints no "evicting pod" line, as nothing is evicted: the pods are
    deleted without asking their budgets, and each is reported "pod/NAME deleted" once gone."""
    await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    await client.create(pod("web-1", "n1", owner="ReplicaSet/web"))
    await client.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
                         "spec": {"minAvailable": 1, "selector": {"matchLabels": {}}}})
    assert await drain(client, drain_args("n1", disable_eviction=True)) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == ["node/n1 cordoned", "pod/web-1 deleted", "node/n1 drained"]
    assert await pods_on(client, "n1") == []


async def test_drain_gives_up_at_its_timeout_and_says_which_pods_are_left(
        client: Client, capsys: pytest.CaptureFixture[str]) -> None:
    """A bound pod's graceful delete waits for its kubelet, and there is none here: the pod stays Terminating."""
    await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    await client.create(pod("web-1", "n1", owner="ReplicaSet/web"))
    assert await drain(client, drain_args("n1", grace_period=-1, timeout=0.5)) == 1
    _, err = capsys.readouterr()
    assert ('unable to drain node "n1" due to error: error when waiting for pod "web-1" in namespace "default" to '
            'terminate: global timeout reached: 500ms, continuing command...') in err


@pytest.mark.timeout(120)
async def test_drain_waits_for_the_disruption_budget_until_a_replacement_is_ready(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two simulated nodes (a real `kube-tui nodes` process), the scheduler and the controllers: a budget of
    minAvailable 1 over two replicas lets one pod go; the other is refused (429) and retried until its
    replacement runs Ready on the other node."""
    monkeypatch.setattr(drain_command, "EVICTION_RETRY", 0.3)  # kubectl's 5 s, shortened for the test
    async with running_plane(tmp_path / "data", scheduler=True, controllers=True) as plane:
        assert plane.server is not None and plane.credentials is not None
        pool = Proc(["nodes", "--count", "2", "--name-prefix", "sim-", "--start-delay", "0.1", "--lease-duration", "4",
                     "--server", plane.server.address, "--token", plane.credentials.admin], tmp_path)
        client = plane.client("test")
        try:
            await client.connect()

            async def nodes_ready() -> bool:
                items = (await client.list("nodes", None))["items"]
                return len(items) == 2 and all(
                    any(c["type"] == "Ready" and c["status"] == "True" for c in n.get("status", {}).get("conditions", []))
                    for n in items)
            await wait_for(nodes_ready, 40, what=f"two simulated nodes:\n{pool.output()}")
            await set_unschedulable(client, "sim-1", True)  # both replicas start on sim-0
            labels = {"app": "web"}
            await client.create({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                                 "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                                          "template": {"metadata": {"labels": labels},
                                                       "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
            await client.create({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
                                 "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}})

            async def budget_allows(n: int) -> bool:
                st = (await client.get("PodDisruptionBudget", "web", "default")).get("status") or {}
                return st.get("currentHealthy") == 2 and st.get("disruptionsAllowed") == n
            await wait_for(lambda: budget_allows(1), 30, what="both replicas Ready on sim-0")
            assert len(await pods_on(client, "sim-0")) == 2
            await set_unschedulable(client, "sim-1", False)

            assert await drain(client, drain_args("sim-0", grace_period=-1, timeout=60)) == 0
            out, err = capsys.readouterr()
            refused = [line for line in err.splitlines() if "(will retry after 5s)" in line]
            assert refused, err
            assert refused[0].startswith('error when evicting pods/"web-') and refused[0].endswith(
                '-n "default" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.')
            lines = out.splitlines()
            assert lines[0] == "node/sim-0 cordoned" and lines[-1] == "node/sim-0 drained"
            assert len([line for line in lines if line.endswith(" evicted")]) == 2
            assert await pods_on(client, "sim-0") == []
            await wait_for(lambda: budget_allows(1), 30, what="both replicas Ready on sim-1")
        finally:
            await client.close()
            pool.close()


def test_the_timeout_is_printed_as_go_prints_a_duration() -> None:
    assert [drain_command.go_duration(s) for s in (0.5, 7, 60, 90, 3600)] == ["500ms", "7s", "1m0s", "1m30s", "1h0m0s"]


async def test_drain_asks_before_it_evicts_a_pod_with_an_emptydir(client: Client,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """kubectl drain's localStorageFilter: a pod with an emptyDir volume loses its data when evicted, so drain
    refuses it unless --delete-emptydir-data (which scripts pass), and then says so."""
    await client.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}})
    cache = pod("cache-1", "n1", owner="ReplicaSet/cache")
    cache["spec"]["volumes"] = [{"name": "scratch", "emptyDir": {}}]
    await client.create(cache)
    assert await drain(client, drain_args("n1")) == 1
    _, err = capsys.readouterr()
    assert ('error: unable to drain node "n1" due to error: cannot delete Pods with local storage (use '
            "--delete-emptydir-data to override): default/cache-1, continuing command...") in err
    assert await pods_on(client, "n1") == ["cache-1"]
    assert await drain(client, drain_args("n1", delete_emptydir_data=True)) == 0
    out, err = capsys.readouterr()
    assert "Warning: deleting Pods with local storage: default/cache-1" in err
    assert "pod/cache-1 evicted" in out.splitlines() and await pods_on(client, "n1") == []


def test_drain_takes_its_timeout_as_kubectl_does() -> None:
    from tui.cli import parse_args

    assert parse_args(["drain", "n1", "--timeout=90s", "--delete-emptydir-data"]).timeout == 90.0
    assert parse_args(["drain", "n1", "--timeout", "2m"]).timeout == 120.0
    assert parse_args(["drain", "n1", "--timeout", "30"]).timeout == 30.0
