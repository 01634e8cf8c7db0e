"""The Scheduler view's node table and summary, from a decision record."""

from __future__ import annotations

from tui.views.scheduler import REASON_WIDTH, node_rows, tie_note


def record(totals: dict[str, int | None], winner: str | None, reason: str = "") -> dict:
    nodes = []
    for name, total in totals.items():
        ok = total is not None
        nodes.append({"node": name, "total": total,
                      "filters": [{"plugin": "PodTopologySpread", "ok": ok, "reason": "" if ok else reason}],
                      "scores": [{"plugin": "PodTopologySpread", "score": 100, "weight": 2}] if ok else []})
    return {"node": winner, "nodes": nodes}


def test_a_tie_is_said_to_be_broken_at_random() -> None:
    assert tie_note(record({"n1": 595, "n2": 595, "n3": 500}, "n2")) == \
        " · tied at 595 with n1: picked at random, as kube-scheduler does"
    assert tie_note(record({"n1": 595, "n2": 590}, "n1")) == ""
    assert tie_note(record({"n1": None}, None, "x")) == ""


def test_a_long_reason_is_cut_so_the_scores_stay_on_screen() -> None:
    long = "node(s) didn't match pod topology spread constraints (missing required label)"
    plugins, rows = node_rows(record({"n1": 200, "n2": None}, "n1", long))
    assert plugins == ["PodTopologySpread"]
    verdict = str(rows[1][3])
    assert verdict.startswith("✗ PodTopologySpread: node(s) didn't match") and verdict.endswith("…")
    assert len(verdict) <= len("✗ PodTopologySpread: ") + REASON_WIDTH


def test_configmap_and_secret_rows_show_counts_never_values() -> None:
    from types import SimpleNamespace

    from tui.views.rows import spec_for

    model = SimpleNamespace(clock=lambda: 0.0)
    cm = {"metadata": {"name": "game", "namespace": "default"}, "data": {"a": "1"}, "binaryData": {"b": "AA=="}}
    secret = {"metadata": {"name": "db", "namespace": "default"}, "type": "Opaque", "data": {"password": "czNjcjN0"}}
    assert spec_for("ConfigMap").row(cm, model)[:3] == ("default", "game", "2")
    row = spec_for("Secret").row(secret, model)
    assert row[:4] == ("default", "db", "Opaque", "1") and "czNjcjN0" not in map(str, row)


def test_priorityclass_rows_and_a_nominated_pods_node() -> None:
    from types import SimpleNamespace

    from tui.views.rows import spec_for

    model = SimpleNamespace(clock=lambda: 0.0, get=lambda kind, ns, name: None)  # no Node n2 known
    pc = {"metadata": {"name": "high"}, "value": 1000000, "preemptionPolicy": "PreemptLowerPriority"}
    row = spec_for("PriorityClass").row(pc, model)
    assert (row[1], row[2], row[3], row[5]) == ("high", "1000000", "false", "PreemptLowerPriority")
    pending = {"metadata": {"name": "vip", "namespace": "default"}, "spec": {"containers": []},
               "status": {"phase": "Pending", "nominatedNodeName": "n2"}}
    assert spec_for("Pod").row(pending, model)[5] == "→n2?"  # waiting for the pods it preempted there
    pending["spec"]["nodeName"] = "n2"
    assert spec_for("Pod").row(pending, model)[5] == "n2"


def test_a_pod_waiting_on_its_nominated_node_reads_as_nominated_not_unschedulable() -> None:
    """A pod that preempted pods fits nowhere until they stop; its record says Unschedulable, but the Scheduler
    view says what is happening: nominated, on the node the Pods view shows as →NODE?."""
    import json
    from types import SimpleNamespace

    from tui.views.scheduler import sched_row

    record = json.dumps({"v": 2, "node": None, "message": "0/3 nodes are available: 3 Insufficient cpu.",
                         "feasible": 0, "evaluated": 3})
    pod = {"metadata": {"name": "vip", "namespace": "default", "annotations": {"kube-tui.io/scheduling": record}},
           "spec": {"containers": []}, "status": {"phase": "Pending"}}
    model = SimpleNamespace(clock=lambda: 0.0)
    assert sched_row(pod, model)[0] == "! Unschedulable"  # preemption found no room: it is unschedulable
    pod["status"]["nominatedNodeName"] = "n3"
    row = sched_row(pod, model)
    assert (row[0], row[3]) == ("→ Nominated", "→n3?")
    assert sorted(["✓ Scheduled", row[0], "! Unschedulable", "· Pending"]) == \
        ["! Unschedulable", "· Pending", "→ Nominated", "✓ Scheduled"]
    pod["spec"]["nodeName"] = "n3"  # bound: the nomination it keeps (as kube-scheduler v1.32 leaves it) is history
    assert sched_row(pod, model)[:4] == ("✓ Scheduled", "default", "vip", "n3")


def test_storage_rows_show_the_claims_volume_and_the_volumes_node() -> None:
    from types import SimpleNamespace

    from tui.views.rows import spec_for

    model = SimpleNamespace(clock=lambda: 0.0)
    pending = {"metadata": {"name": "www-web-0", "namespace": "default"}, "spec": {"storageClassName": "standard"},
               "status": {"phase": "Pending"}}
    row = spec_for("PersistentVolumeClaim").row(pending, model)
    assert [str(c) for c in row[:7]] == ["default", "www-web-0", "Pending", "", "", "", "standard"]
    bound = {"metadata": {"name": "www-web-0", "namespace": "default"},
             "spec": {"storageClassName": "standard", "volumeName": "pvc-1"},
             "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}}
    row = spec_for("PersistentVolumeClaim").row(bound, model)
    assert [str(c) for c in row[:7]] == ["default", "www-web-0", "Bound", "pvc-1", "1Gi", "RWO", "standard"]
    pv = {"metadata": {"name": "pvc-1"},
          "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "standard",
                   "persistentVolumeReclaimPolicy": "Delete", "claimRef": {"namespace": "default", "name": "www-web-0"},
                   "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                       {"key": "kubernetes.io/hostname", "operator": "In", "values": ["node-2"]}]}]}}},
          "status": {"phase": "Bound"}}
    row = spec_for("PersistentVolume").row(pv, model)
    assert [str(c) for c in row[:9]] == ["", "pvc-1", "1Gi", "RWO", "Delete", "Bound", "default/www-web-0", "standard",
                                         "node-2"]
    sc = {"metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
          "provisioner": "rancher.io/local-path", "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"}
    assert spec_for("StorageClass").row(sc, model)[:5] == ("", "standard (default)", "rancher.io/local-path", "Delete",
                                                           "WaitForFirstConsumer")
