"""The Job controller's pure rules: Indexed Jobs' completion indexes, podFailurePolicy matching, the
order of its conditions, and the TTL-after-finished clock."""

from __future__ import annotations

from typing import Any

import pytest

from control.api import meta
from control.controllers import job as job_rules
from control.controllers import job_failure_policy as fp
from control.controllers import job_indexes as ji
from control.controllers import ttlafterfinished as ttl

T0 = 1_700_000_000.0


def pod(name: str, index: int | str | None = None, phase: str = "Running", *, ready: bool = False,
        node: str = "", exit_codes: dict[str, int] | None = None, conditions: list[dict] | None = None,
        init_exit_codes: dict[str, int] | None = None) -> dict:
    md: dict[str, Any] = {"name": name, "namespace": "default", "creationTimestamp": meta.to_rfc3339(T0)}
    if index is not None:
        md["annotations"] = {ji.COMPLETION_INDEX: str(index)}
    status: dict[str, Any] = {"phase": phase, "conditions": list(conditions or [])}
    if ready:
        status["conditions"].append({"type": "Ready", "status": "True"})

    def terminated(codes: dict[str, int]) -> list[dict]:
        return [{"name": c, "state": {"terminated": {"exitCode": code}}} for c, code in codes.items()]

    status["containerStatuses"] = terminated(exit_codes or {})
    status["initContainerStatuses"] = terminated(init_exit_codes or {})
    return {"metadata": md, "spec": {"nodeName": node}, "status": status}


def indexed_job(completions: int, **spec: Any) -> dict:
    return {"metadata": {"name": "sample", "namespace": "default", "uid": "u1"},
            "spec": {"completionMode": "Indexed", "completions": completions, "parallelism": 2, "backoffLimit": 6,
                     **spec}, "status": {}}


# --- completion indexes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "completions", "want"), [
    ("", 5, []),
    ("0", 5, [(0, 0)]),
    ("0-2,5", 10, [(0, 2), (5, 5)]),
    ("0,1", 5, [(0, 1)]),
    ("1-3,4", 10, [(1, 4)]),  # touching intervals merge
    ("1-3,7-9", 8, [(1, 3), (7, 7)]),  # cut at completions
    ("8,9", 8, []),
    ("x,2,a-3,4", 10, [(2, 2), (4, 4)]),  # corrupt parts are skipped
])
def test_parse_intervals(text: str, completions: int, want: list[tuple[int, int]]) -> None:
    assert ji.parse_intervals(text, completions) == want


@pytest.mark.parametrize(("intervals", "want"), [
    ([], ""),
    ([(0, 4)], "0-4"),
    ([(0, 1)], "0,1"),  # two neighbours are listed, not ranged
    ([(0, 2), (5, 5), (7, 8)], "0-2,5,7,8"),
])
def test_format_intervals(intervals: list[tuple[int, int]], want: str) -> None:
    assert ji.format_intervals(intervals) == want
    assert ji.parse_intervals(want, 100) == intervals


def test_with_indexes_merges_in_order() -> None:
    assert ji.with_indexes([(0, 2), (6, 6)], [4, 3, 5, 9, 3]) == [(0, 6), (9, 9)]
    assert ji.with_indexes([], []) == []
    assert ji.total([(0, 6), (9, 9)]) == 8
    assert ji.has([(0, 2), (6, 6)], 6) and not ji.has([(0, 2), (6, 6)], 4)


def test_succeeded_indexes_one_per_index_valid_only() -> None:
    pods = [pod("a", 0, "Succeeded"), pod("b", 0, "Succeeded"), pod("c", 2, "Succeeded"), pod("d", 3, "Failed"),
            pod("e", 7, "Succeeded"), pod("f", None, "Succeeded"), pod("g", "x", "Succeeded"), pod("h", -1, "Succeeded"),
            pod("i", 1, "Running")]
    got = ji.succeeded_indexes("4", pods, 5)
    assert got == [(0, 0), (2, 2), (4, 4)]
    assert ji.total(got) == 3


def test_completion_index_from_the_annotation() -> None:
    assert ji.completion_index(pod("a", 3)) == 3
    assert ji.completion_index(pod("a", "03")) == 3  # strconv.Atoi reads it too
    assert ji.completion_index(pod("a", "-2")) is None
    assert ji.completion_index(pod("a", "two")) is None
    assert ji.completion_index(pod("a")) is None


def test_first_pending_indexes() -> None:
    assert ji.first_pending_indexes([], [], 2, 5) == [0, 1]
    assert ji.first_pending_indexes([pod("a", 0), pod("b", 2)], [(1, 1)], 3, 6) == [3, 4, 5]
    assert ji.first_pending_indexes([pod("a", 4)], [(0, 2)], 5, 6) == [3, 5]  # only what is left
    assert ji.first_pending_indexes([], [(0, 4)], 2, 5) == []
    assert ji.first_pending_indexes([pod("x", None)], [], 0, 5) == []


def test_duplicated_indexes_keep_the_most_valuable_pod() -> None:
    scheduled = pod("b", 1, node="n1", ready=True)
    pending = pod("a", 1)
    stray = pod("c", None)
    out_of_range = pod("d", 9)
    single = pod("e", 2)
    remove, keep = ji.duplicated_index_pods([pending, scheduled, stray, out_of_range, single], 5)
    assert {p["metadata"]["name"] for p in remove} == {"a", "c", "d"}
    assert [p["metadata"]["name"] for p in keep] == ["b", "e"]


def test_pods_for_removal_adds_the_least_valuable_when_more_must_go() -> None:
    job = indexed_job(5)
    pods = [pod("a", 0, node="n1", ready=True), pod("b", 1), pod("c", 1, node="n1")]
    assert [p["metadata"]["name"] for p in job_rules.pods_for_removal(job, pods, 0)] == ["b"]
    assert [p["metadata"]["name"] for p in job_rules.pods_for_removal(job, pods, 2)] == ["b", "c"]


def test_generate_name_and_pod_template_of_an_index() -> None:
    assert ji.generate_name("sample", 3) == "sample-3-"
    long = "j" * 60
    assert ji.generate_name(long, 12) == "j" * 54 + "-12-" and len(ji.generate_name(long, 12)) == 58
    template = {"metadata": {"labels": {"app": "x"}},
                "spec": {"subdomain": "svc", "initContainers": [{"name": "init"}],
                         "containers": [{"name": "main", "env": [{"name": "A", "value": "1"}]},
                                        {"name": "own", "env": [{"name": "JOB_COMPLETION_INDEX", "value": "7"}]}]}}
    ji.add_env(template)
    ji.set_index(template, "sample", 3)
    ref = {"fieldRef": {"fieldPath": "metadata.labels['batch.kubernetes.io/job-completion-index']"}}
    assert template["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"},
                                                        {"name": "JOB_COMPLETION_INDEX", "valueFrom": ref}]
    assert template["spec"]["containers"][1]["env"] == [{"name": "JOB_COMPLETION_INDEX", "value": "7"}]
    assert template["spec"]["initContainers"][0]["env"] == [{"name": "JOB_COMPLETION_INDEX", "valueFrom": ref}]
    assert template["metadata"]["annotations"] == {ji.COMPLETION_INDEX: "3"}
    assert template["metadata"]["labels"] == {"app": "x", ji.COMPLETION_INDEX: "3"}
    assert template["spec"]["hostname"] == "sample-3" and template["spec"]["subdomain"] == "svc"


def test_job_state_counts_indexes_and_ignored_failures() -> None:
    policy = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [42]}}]}
    job = indexed_job(3, podFailurePolicy=policy)
    job["status"] = {"completedIndexes": "0"}
    pods = [pod("a", 1, "Succeeded"), pod("b", 1, "Succeeded"), pod("c", 2, "Failed", exit_codes={"main": 42}),
            pod("d", 2, "Failed", exit_codes={"main": 1}), pod("e", 5, "Failed", exit_codes={"main": 1}), pod("f", 2, ready=True)]
    state = job_rules.job_state(job, pods)
    assert state.succeeded_indexes == [(0, 1)]
    assert (state.counts.succeeded, state.counts.failed, state.counts.active, state.counts.ready) == (2, 1, 1, 1)


# --- podFailurePolicy ------------------------------------------------------------------------------------


def policy(*rules: dict) -> dict:
    return {"rules": list(rules)}


def on_codes(action: str, operator: str, values: list[int], container: str | None = None) -> dict:
    req: dict[str, Any] = {"operator": operator, "values": values}
    if container is not None:
        req["containerName"] = container
    return {"action": action, "onExitCodes": req}


def test_fail_job_on_an_exit_code_with_kubernetes_message() -> None:
    m = fp.match(policy(on_codes("Ignore", "In", [1]), on_codes("FailJob", "In", [42])),
                 pod("x", phase="Failed", exit_codes={"main": 42}))
    assert m == fp.Match("FailJob", True, "Container main for pod default/x failed with exit code 42 matching FailJob rule at index 1")


def test_exit_code_rules() -> None:
    failed = pod("x", phase="Failed", exit_codes={"sidecar": 0, "main": 3})
    assert fp.match(policy(on_codes("Ignore", "NotIn", [1, 2])), failed).action == "Ignore"
    assert fp.match(policy(on_codes("Ignore", "NotIn", [3])), failed) == fp.NO_MATCH
    assert fp.match(policy(on_codes("Count", "In", [3])), failed) == fp.Match("Count", True)
    # a container name narrows the rule; exit code 0 never matches, even for NotIn
    assert fp.match(policy(on_codes("Ignore", "NotIn", [1], container="sidecar")), failed) == fp.NO_MATCH
    assert fp.match(policy(on_codes("Ignore", "In", [3], container="main")), failed).action == "Ignore"
    # init containers are looked at after the regular ones
    init_failed = pod("y", phase="Failed", init_exit_codes={"setup": 5})
    assert fp.match(policy(on_codes("FailJob", "In", [5])), init_failed).message == (
        "Container setup for pod default/y failed with exit code 5 matching FailJob rule at index 0")
    # an unknown action is skipped; no policy counts every failure
    assert fp.match(policy({"action": "Retry", "onExitCodes": {"operator": "In", "values": [3]}},
                           on_codes("Ignore", "In", [3])), failed).action == "Ignore"
    assert fp.match(None, failed) == fp.NO_MATCH


def test_pod_condition_rules() -> None:
    evicted = pod("z", phase="Failed", conditions=[{"type": "DisruptionTarget", "status": "True"}])
    rule = {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
    assert fp.match(policy(rule), evicted) == fp.Match("Ignore", False)
    fail = {"action": "FailJob", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}
    assert fp.match(policy(fail), evicted).message == "Pod default/z has condition DisruptionTarget matching FailJob rule at index 0"
    assert fp.match(policy({"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "False"}]}),
                    evicted) == fp.NO_MATCH


def test_finish_reason_prefers_fail_job_then_backoff_then_deadline() -> None:
    job = {"metadata": {"name": "j"}, "spec": {"backoffLimit": 0, "podFailurePolicy": policy(on_codes("FailJob", "In", [42])),
                                                "template": {"spec": {"restartPolicy": "Never"}}}, "status": {}}
    failed = [pod("a", phase="Failed", exit_codes={"main": 1}), pod("b", phase="Failed", exit_codes={"main": 42})]
    state = job_rules.job_state(job, failed)
    cond = job_rules.finish_reason(job, state, T0)
    assert cond is not None and (cond["type"], cond["reason"]) == ("FailureTarget", "PodFailurePolicy")
    state = job_rules.job_state(job, failed[:1])
    cond = job_rules.finish_reason(job, state, T0)
    assert cond is not None and (cond["type"], cond["reason"], cond["message"]) == (
        "FailureTarget", "BackoffLimitExceeded", "Job has reached the specified backoff limit")
    # a Job that already has its FailureTarget keeps it
    job["status"] = {"conditions": [dict(cond, reason="DeadlineExceeded")]}
    assert job_rules.finish_reason(job, job_rules.job_state(job, []), T0)["reason"] == "DeadlineExceeded"  # type: ignore[index]


def test_ensure_condition_never_adds_a_false_one() -> None:
    conds, changed = job_rules.ensure_condition([], "Suspended", "False", "JobResumed", "Job resumed")
    assert (conds, changed) == ([], False)
    conds, changed = job_rules.ensure_condition([], "Suspended", "True", "JobSuspended", "Job suspended")
    assert changed and conds[0]["status"] == "True"
    again, changed = job_rules.ensure_condition(conds, "Suspended", "True", "JobSuspended", "Job suspended")
    assert not changed and again == conds
    resumed, changed = job_rules.ensure_condition(conds, "Suspended", "False", "JobResumed", "Job resumed")
    assert changed and (resumed[0]["status"], resumed[0]["reason"]) == ("False", "JobResumed")


def test_managed_by() -> None:
    assert job_rules.managed_by_other({"spec": {}}) is None
    assert job_rules.managed_by_other({"spec": {"managedBy": "kubernetes.io/job-controller"}}) is None
    assert job_rules.managed_by_other({"spec": {"managedBy": "kueue.x-k8s.io/multikueue"}}) == "kueue.x-k8s.io/multikueue"


# --- ttlSecondsAfterFinished -----------------------------------------------------------------------------


def finished_job(ttl_seconds: int | None, finished_at: float | None, **md: Any) -> dict:
    conds = [] if finished_at is None else [
        {"type": "SuccessCriteriaMet", "status": "True", "lastTransitionTime": meta.to_rfc3339(finished_at - 5)},
        {"type": "Complete", "status": "True", "lastTransitionTime": meta.to_rfc3339(finished_at)}]
    spec = {} if ttl_seconds is None else {"ttlSecondsAfterFinished": ttl_seconds}
    return {"metadata": {"name": "j", **md}, "spec": spec, "status": {"conditions": conds}}


def test_ttl_time_left() -> None:
    assert ttl.time_left(finished_job(100, T0), now=T0 + 30) == pytest.approx(70)
    assert ttl.time_left(finished_job(0, T0), now=T0 + 1) == pytest.approx(-1)
    assert ttl.time_left(finished_job(None, T0), now=T0) is None  # no TTL
    assert ttl.time_left(finished_job(10, None), now=T0) is None  # not finished
    assert ttl.time_left(finished_job(10, T0, deletionTimestamp=meta.to_rfc3339(T0)), now=T0) is None


# --- backoffLimitPerIndex ----------------------------------------------------------------------------------


def failed_pod(name: str, index: int, failures: int | None, finished: float = T0, code: int = 1, ignored: int = 0) -> dict:
    """A failed pod of `index` whose annotation says `failures` pods of the index failed before it."""
    p = pod(name, index, "Failed", exit_codes={"main": code})
    p["status"]["containerStatuses"][0]["state"]["terminated"]["finishedAt"] = meta.to_rfc3339(finished)
    if failures is not None:
        p["metadata"]["annotations"][ji.INDEX_FAILURE_COUNT] = str(failures)
    if ignored:
        p["metadata"]["annotations"][ji.INDEX_IGNORED_FAILURE_COUNT] = str(ignored)
    return p


def test_an_index_fails_once_its_failures_pass_the_limit() -> None:
    job = indexed_job(6, backoffLimitPerIndex=1)
    job["status"] = {"failedIndexes": "5"}
    pods = [failed_pod("a", 0, 0), failed_pod("b", 0, 1),  # index 0: the retry failed too -> failed
            failed_pod("c", 1, 0),  # index 1: one failure, one retry left
            failed_pod("d", 2, None), failed_pod("e", 3, 7), failed_pod("f", 4, "x")]  # type: ignore[arg-type]
    assert [ji.index_failure_count(p) for p in pods] == [0, 1, 0, 0, 7, 0]  # missing or corrupt: 0
    assert ji.failed_indexes(job["status"]["failedIndexes"], job, pods, 6) == [(0, 0), (3, 3), (5, 5)]
    # a FailIndex rule fails the index at once; an Ignore rule's failure never does
    job = indexed_job(6, backoffLimitPerIndex=0, podFailurePolicy=policy(on_codes("FailIndex", "In", [42]), on_codes("Ignore", "In", [3])))
    job["spec"]["backoffLimitPerIndex"] = 5
    assert ji.failed_indexes(None, job, [failed_pod("g", 2, 0, code=42), failed_pod("h", 3, 9, code=3)], 6) == [(2, 2)]


def test_the_replacement_carries_the_failures_of_its_index() -> None:
    job = indexed_job(4, backoffLimitPerIndex=3, podFailurePolicy=policy(on_codes("Ignore", "In", [3])))
    first, second = failed_pod("a", 1, 0, finished=T0), failed_pod("b", 1, 1, finished=T0 + 5)
    ignored = failed_pod("c", 2, 1, code=3)
    running = pod("d", 3)
    pods = [second, first, ignored, failed_pod("e", 3, 0), running, failed_pod("f", 0, 0)]
    last = ji.last_failed_pods(job, pods, [running], succeeded=[(0, 0)], failed=[])
    assert {ix: p["metadata"]["name"] for ix, p in last.items()} == {1: "b", 2: "c"}  # 0 succeeded, 3 runs again
    assert ji.new_index_failure_counts(job, last[1]) == (2, 0)
    assert ji.new_index_failure_counts(job, last[2]) == (1, 1)  # ignored: counted apart
    assert ji.new_index_failure_counts(job, None) == (0, 0)
    template: dict = {"metadata": {}}
    ji.set_failure_counts(template, job, last[2])
    assert template["metadata"]["annotations"] == {ji.INDEX_FAILURE_COUNT: "1", ji.INDEX_IGNORED_FAILURE_COUNT: "1"}
    # each index waits base * 2^(failures-1) from its last failure: b is the 2nd failure of index 1
    assert ji.remaining_backoff(last[1], 10, 300, now=T0 + 7) == pytest.approx(18)
    assert ji.remaining_backoff(last[1], 10, 15, now=T0 + 7) == pytest.approx(13)  # capped
    assert ji.remaining_backoff(None, 10, 300, now=T0) == 0
    # the failed indexes are not pending
    assert ji.first_pending_indexes([running], [(0, 0)], 5, 6, failed=[(1, 2)]) == [4, 5]


def test_failed_indexes_fail_the_job() -> None:
    job = indexed_job(4, backoffLimitPerIndex=0, maxFailedIndexes=1, backoffLimit=2147483647)
    pods = [failed_pod("a", 0, 0), pod("b", 1, "Succeeded")]
    state = job_rules.job_state(job, pods)
    assert (state.failed_indexes, state.counts.failed) == ([(0, 0)], 1)
    assert job_rules.finish_reason(job, state, T0) is None  # one failed index is allowed; 2 and 3 still to run
    state = job_rules.job_state(job, [*pods, failed_pod("c", 2, 0)])
    cond = job_rules.finish_reason(job, state, T0)
    assert cond is not None and (cond["type"], cond["reason"], cond["message"]) == (
        "FailureTarget", "MaxFailedIndexesExceeded", "Job has exceeded the specified maximal number of failed indexes")
    del job["spec"]["maxFailedIndexes"]
    state = job_rules.job_state(job, [*pods, pod("c", 2, "Succeeded"), pod("d", 3, "Succeeded")])
    cond = job_rules.finish_reason(job, state, T0)
    assert cond is not None and (cond["reason"], cond["message"]) == ("FailedIndexes", "Job has failed indexes")
    # without backoffLimitPerIndex there are no failed indexes
    assert job_rules.job_state(indexed_job(4), pods).failed_indexes is None


# --- successPolicy -----------------------------------------------------------------------------------------


def test_success_policy_rules() -> None:
    from control.controllers import job_success_policy as sp

    rules = {"rules": [{"succeededIndexes": "0,2-3", "succeededCount": 2}, {"succeededCount": 3}]}
    assert sp.match(rules, 10, []) is None
    assert sp.match(rules, 10, [(2, 2), (5, 5)]) is None  # one of 0,2,3; two in all
    assert sp.match(rules, 10, [(1, 2), (5, 5)]) == "Matched rules at index 1"
    assert sp.match(rules, 10, [(0, 0), (3, 3)]) == "Matched rules at index 0"
    assert sp.match({"rules": [{"succeededIndexes": "1-3,7"}]}, 10, [(0, 3), (7, 9)]) == "Matched rules at index 0"
    assert sp.match({"rules": [{"succeededIndexes": "1-3,7"}]}, 10, [(0, 2), (7, 9)]) is None  # all of them, without a count
    assert sp.match({"rules": [{"succeededIndexes": "12"}]}, 10, [(0, 9)]) is None  # beyond completions: never met
    job = indexed_job(10, successPolicy=rules)
    state = job_rules.job_state(job, [pod("a", 0, "Succeeded"), pod("b", 3, "Succeeded")])
    cond = job_rules.success_policy_met(job, state)
    assert cond is not None and (cond["type"], cond["reason"], cond["message"]) == (
        "SuccessCriteriaMet", "SuccessPolicy", "Matched rules at index 0")


def test_each_index_waits_for_its_own_back_off() -> None:
    last = {1: failed_pod("a", 1, 0, finished=T0), 2: failed_pod("b", 2, 2, finished=T0)}  # 1st and 3rd failures
    assert job_rules.indexes_past_backoff([0, 1, 2], last, 10, 300, now=T0 + 5) == ([0], 0)
    assert job_rules.indexes_past_backoff([1, 2], last, 10, 300, now=T0 + 5) == ([], pytest.approx(5))
    assert job_rules.indexes_past_backoff([1, 2], last, 10, 300, now=T0 + 10) == ([1], 0)
    assert job_rules.indexes_past_backoff([1, 2], last, 10, 300, now=T0 + 40) == ([1, 2], 0)
