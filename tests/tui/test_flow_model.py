"""Unit tests of the dashboard's pure logic: flow summaries and timelines, the model's coalescing and indexes."""

from __future__ import annotations

import copy

from dashboard_fake import NOW, fake_model, pod

from control.apiserver.watch import RAW_TOPIC
from tui.flow import FlowLog, summarize, timeline, writer_of
from tui.model import ClusterModel, RawMirror


def test_summaries_name_what_changed() -> None:
    pending = pod("p", None, "Pending")
    bound = pod("p", "node-2", "Pending", waiting="ContainerCreating")
    running = pod("p", "node-2", "Running")
    assert summarize("Pod", "ADDED", pending, None) == "created"
    assert summarize("Pod", "MODIFIED", bound, pending).startswith("bound to node-2, ContainerCreating")
    assert "phase Pending→Running" in summarize("Pod", "MODIFIED", running, bound)
    d1 = {"kind": "Deployment", "spec": {"replicas": 2}}
    d2 = {"kind": "Deployment", "spec": {"replicas": 3}}
    assert summarize("Deployment", "MODIFIED", d2, d1) == "replicas 2→3"
    assert summarize("Pod", "DELETED", running, running) == "deleted"
    assert writer_of(bound) == "kubelet/node-1"
    l1 = {"kind": "Lease", "spec": {"holderIdentity": "node-1", "renewTime": "2026-11-27T09:00:00.000000Z"}}
    l2 = {"kind": "Lease", "spec": {"holderIdentity": "node-1", "renewTime": "2026-11-27T09:00:01.000000Z"}}
    l3 = {"kind": "Lease", "spec": {"holderIdentity": "node-2", "renewTime": "2026-11-27T09:00:02.000000Z"}}
    assert summarize("Lease", "MODIFIED", l2, l1) == "renewed"
    assert summarize("Lease", "MODIFIED", l3, l2) == "holder node-1→node-2"


def test_an_event_reads_as_what_it_records() -> None:
    """A student sees why in the Flow view: an Event's reason and message, not just "created"."""
    created = {"kind": "Event", "type": "Normal", "reason": "SuccessfulCreate",
               "message": "create Pod web-1 in StatefulSet web successful"}
    assert summarize("Event", "ADDED", created, None) == "SuccessfulCreate: create Pod web-1 in StatefulSet web successful"
    backoff = {"kind": "Event", "type": "Warning", "reason": "BackOff", "message": "Back-off restarting\n" + "x" * 200}
    said = summarize("Event", "ADDED", backoff, None)
    assert said.startswith("Warning BackOff: Back-off restarting xxx") and len(said) == len("Warning BackOff: ") + 100
    assert summarize("Event", "MODIFIED", {**created, "count": 2}, {**created, "count": 1}) == "count 1→2"


def test_preemption_and_disruption_budgets_read_in_the_flow() -> None:
    """A talk on preemption watches the Flow view: the victim's DisruptionTarget condition, the preemptor's
    nominated node and a budget's allowed disruptions say what they are, not "status changed"."""
    victim = pod("low", "node-1", "Running")
    marked = copy.deepcopy(victim)
    marked["status"].setdefault("conditions", []).append(
        {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
         "message": "default-scheduler: preempting to accommodate a higher priority pod"})
    assert summarize("Pod", "MODIFIED", marked, victim) == "DisruptionTarget: PreemptionByScheduler"
    vip = pod("vip", None, "Pending")
    nominated = copy.deepcopy(vip)
    nominated["status"]["nominatedNodeName"] = "node-1"
    assert summarize("Pod", "MODIFIED", nominated, vip) == "nominated node-1"
    assert summarize("Pod", "MODIFIED", vip, nominated) == "nomination cleared"
    b1 = {"kind": "PodDisruptionBudget", "status": {"currentHealthy": 3, "disruptionsAllowed": 1}}
    b2 = {"kind": "PodDisruptionBudget", "status": {"currentHealthy": 2, "disruptionsAllowed": 0}}
    assert summarize("PodDisruptionBudget", "MODIFIED", b2, b1) == "healthy 3→2, allowed disruptions 1→0"


def test_flow_ring_is_bounded_and_measures_deltas() -> None:
    log = FlowLog(capacity=3)
    a = pod("a", None, "Pending", writer="controller-manager")
    log.record("Pod", "ADDED", a, None, 10.0)
    b = pod("a", "node-1", "Pending", writer="scheduler")
    step = log.record("Pod", "MODIFIED", b, a, 10.004)
    assert step.delta_ms is not None and abs(step.delta_ms - 4.0) < 1e-6
    for i in range(5):
        log.record("Pod", "ADDED", pod(f"x{i}", None), None, 11.0 + i)
    assert len(log) == 3
    assert [s.key for s in log.since(log.last_seq - 1)] == ["default/x4"]


def test_pod_timeline_reads_from_creation_to_running() -> None:
    m = fake_model()
    steps = m.flow.for_objects([("Pod", "default/web-1")])
    lines = timeline(steps, focus=("Pod", "default/web-1"))
    assert lines[0].startswith("created by controller-manager at rev")
    assert "scheduler: bound to node-1" in lines[1] and "(+4 ms)" in lines[1]
    assert "kubelet/node-1: phase Pending→Running" in lines[2] and "(+350 ms)" in lines[2]


def test_changes_coalesce_into_one_dirty_set_per_take() -> None:
    m = fake_model()
    m.take_dirty()
    base = pod("web-2", "node-2")
    for i in range(2000):
        m.feed(dict(base, status=dict(base["status"], containerStatuses=[{"restartCount": i}])))
    changes = m.take_dirty()
    assert changes.objects["Pod"] == {("default", "web-2")}
    assert ("", "node-2") in changes.objects["Node"]  # a pod's node row shows its allocation
    assert not m.take_dirty()


def test_allocation_and_usage_follow_pods() -> None:
    m = fake_model()
    assert m.pod_count("node-1") == 2
    assert m.allocated("node-1") == (200, 2 * 64 * 2**20)
    m.feed(pod("web-3", "node-1"), "DELETED")
    assert m.allocated("node-1") == (100, 64 * 2**20)
    assert m.usage(m.get("Node", None, "node-1") or {}) == {"default/web-1": (120, 40 * 2**20)}
    assert m.clock() == NOW


class _NoClient:
    server_id = "x"

    def subscribe(self, topic: bytes, fn: object) -> object:
        return lambda: None


def test_raw_mirror_applies_in_order_and_relists_on_gap() -> None:
    mirror = RawMirror(_NoClient())  # type: ignore[arg-type]
    assert mirror.topic == RAW_TOPIC
    mirror.synced = True
    mirror.seq = 5
    put = {"key": "/registry/pods/default/a", "type": "PUT", "create_revision": 9, "mod_revision": 9, "version": 1}
    mirror._apply({"seq": 6, "type": "MODIFIED", "rev": 9, "object": put})
    assert mirror.cache["/registry/pods/default/a"].mod_revision == 9
    mirror._apply({"seq": 6, "type": "MODIFIED", "rev": 9, "object": put})  # duplicate: ignored
    assert mirror.events == 1
    mirror._apply({"seq": 8, "type": "MODIFIED", "rev": 11, "object": put})
    assert mirror.relist_reasons == {"gap": 1}
    mirror._need_relist.clear()
    mirror._apply({"seq": 7, "type": "BOOKMARK", "rev": 12, "object": None})
    assert mirror.relist_reasons == {"gap": 2}
    gone = dict(put, type="DELETE")
    mirror.seq = 6
    mirror._apply({"seq": 7, "type": "DELETED", "rev": 12, "object": gone})
    assert "/registry/pods/default/a" not in mirror.cache


def test_model_reads_fall_back_to_local_caches() -> None:
    m = ClusterModel(None, watch=False)
    assert m.objects("Pod") == {}
    assert m.synced


def test_a_cronjob_s_job_says_which_cronjob_and_scheduled_time_made_it() -> None:
    """The Flow view reads "CronJob created Job": the Job's controller and its scheduled-timestamp annotation."""
    owner = [{"kind": "CronJob", "name": "hello", "uid": "u", "controller": True}]
    job = {"kind": "Job", "metadata": {"name": "hello-29929907", "namespace": "default", "ownerReferences": owner,
                                       "annotations": {"batch.kubernetes.io/cronjob-scheduled-timestamp":
                                                       "2026-11-27T15:47:00Z"},
                                       "managedFields": [{"manager": "controller-manager"}]}}
    assert summarize("Job", "ADDED", job, None) == "created for CronJob hello, scheduled 2026-11-27T15:47:00Z"
    manual = copy.deepcopy(job)
    manual["metadata"]["annotations"] = {"cronjob.kubernetes.io/instantiate": "manual"}
    assert summarize("Job", "ADDED", manual, None) == "created from CronJob hello by hand"
    assert summarize("Job", "ADDED", {"kind": "Job", "metadata": {"name": "pi"}}, None) == "created"
    log = FlowLog()
    log.record("Job", "ADDED", job, None, 1.0, revision=51)
    assert timeline(log.since(0)) == [
        "Job default/hello-29929907: created for CronJob hello, scheduled 2026-11-27T15:47:00Z by controller-manager at rev 51"]
    cj = {"kind": "CronJob", "metadata": {"name": "hello"}, "spec": {"schedule": "* * * * *", "suspend": False},
          "status": {}}
    ran = copy.deepcopy(cj)
    ran["status"] = {"active": [{"name": "hello-29929907"}], "lastScheduleTime": "2026-11-27T15:47:00Z"}
    assert summarize("CronJob", "MODIFIED", ran, cj) == "last schedule ∅→2026-11-27T15:47:00Z, active 0→1"
    suspended = copy.deepcopy(ran)
    suspended["spec"]["suspend"] = True
    assert summarize("CronJob", "MODIFIED", suspended, ran) == "suspend False→True"


def test_the_cronjob_table_shows_when_it_runs_next() -> None:
    from tui.views.rows import cronjob_row

    m = fake_model()
    cj = {"kind": "CronJob", "metadata": {"name": "hello", "namespace": "default", "creationTimestamp": "2025-12-31T23:55:00Z"},
          "spec": {"schedule": "*/10 * * * *", "suspend": False},
          "status": {"lastScheduleTime": "2025-12-31T23:50:00Z", "active": [{"name": "hello-1"}]}}
    assert cronjob_row(cj, m) == ("default", "hello", "*/10 * * * *", "<none>", "False", "1", "10m", "in 10m", "5m")
    cj["spec"]["suspend"] = True
    assert cronjob_row(cj, m)[4:8] == ("True", "1", "10m", "-")


def test_the_jobs_table_says_whether_a_job_failed() -> None:
    # between a failing pod's tries, and once backoffLimit is reached, a Job reads 0/1 and 0 active either way:
    # only kubectl's STATUS column tells a student it has Failed
    from tui.views.rows import job_row

    m = fake_model()
    job = {"kind": "Job", "metadata": {"name": "pi", "namespace": "default", "creationTimestamp": "2025-12-31T23:55:00Z"},
           "spec": {"completions": 1}, "status": {"failed": 3}}
    assert [str(c) for c in job_row(job, m)] == ["default", "pi", "Running", "0/1", "0", "5m"]
    job["status"]["conditions"] = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
    row = job_row(job, m)
    assert str(row[2]) == "Failed" and "red" in str(row[2].style)
    job["status"] = {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}
    assert [str(c) for c in job_row(job, m)][2:4] == ["Complete", "1/1"]
