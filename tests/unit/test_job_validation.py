"""Job validation of podFailurePolicy, backoffLimitPerIndex, successPolicy, Indexed completion and the fields
that may not change, in kube-apiserver's words (pkg/apis/batch/validation)."""

from __future__ import annotations

import copy
from typing import Any

from control.api.defaults import apply_defaults, job_selector_defaults
from control.api.validation import validate
from control.api.warnings import not_enforced


def job(name: str = "pi", restart: str = "Never", **spec: Any) -> dict:
    obj = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
           "spec": {**spec, "template": {"spec": {"restartPolicy": restart, "initContainers": [{"name": "setup", "image": "busybox"}],
                                                   "containers": [{"name": "main", "image": "busybox"}]}}}}
    apply_defaults(obj)
    job_selector_defaults(obj, "0d4b3a1e-7d44-4f0c-8e55-6f1a2b3c4d5e")
    return obj


def messages(obj: dict) -> list[str]:
    errs, _ = validate(obj, None)
    return [str(e) for e in errs]


def rules(*rs: dict) -> dict:
    return {"rules": list(rs)}


def test_a_valid_policy_passes() -> None:
    policy = rules({"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [1, 42]}},
                   {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]},
                   {"action": "Count", "onExitCodes": {"operator": "NotIn", "values": [0]}})
    obj = job(podFailurePolicy=policy)
    assert messages(obj) == []
    assert obj["spec"]["podReplacementPolicy"] == "Failed"  # the default with a podFailurePolicy
    assert not_enforced(obj) == []


def test_pod_failure_policy_rules() -> None:
    policy = rules(
        {"onExitCodes": {"operator": "In", "values": [1]}},
        {"action": "Retry", "onExitCodes": {"operator": "Has", "values": [3, 0, 3], "containerName": "other"}},
        {"action": "FailIndex", "onExitCodes": {"operator": "In", "values": []}},
        {"action": "Ignore"},
        {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [0]},
         "onPodConditions": [{"type": "bad type!", "status": "Maybe"}, {"type": "Ready"}]},
    )
    assert messages(job(podFailurePolicy=policy)) == [
        'spec.podFailurePolicy.rules[0].action: Required value: valid values: ["Count" "FailIndex" "FailJob" "Ignore"]',
        'spec.podFailurePolicy.rules[1].action: Unsupported value: "Retry": supported values: "Count", "FailIndex", "FailJob", "Ignore"',
        'spec.podFailurePolicy.rules[1].onExitCodes.operator: Unsupported value: "Has": supported values: "In", "NotIn"',
        'spec.podFailurePolicy.rules[1].onExitCodes.containerName: Invalid value: "other": must be one of the container '
        "or initContainer names in the pod template",
        "spec.podFailurePolicy.rules[1].onExitCodes.values[2]: Duplicate value: 3",
        "spec.podFailurePolicy.rules[1].onExitCodes.values: Invalid value: must be ordered",
        'spec.podFailurePolicy.rules[2].action: Invalid value: "FailIndex": requires the backoffLimitPerIndex to be set',
        "spec.podFailurePolicy.rules[2].onExitCodes.values: Invalid value: at least one value is required",
        "spec.podFailurePolicy.rules[3]: Invalid value: specifying one of OnExitCodes and OnPodConditions is required",
        "spec.podFailurePolicy.rules[4].onExitCodes.values[0]: Invalid value: 0: must not be 0 for the In operator",
        'spec.podFailurePolicy.rules[4].onPodConditions[0].type: Invalid value: "bad type!": name part must consist of '
        "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  "
        "or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        'spec.podFailurePolicy.rules[4].onPodConditions[0].status: Unsupported value: "Maybe": supported values: '
        '"False", "True", "Unknown"',
        "spec.podFailurePolicy.rules[4]: Invalid value: specifying both OnExitCodes and OnPodConditions is not supported",
    ]


def test_a_pod_condition_pattern_defaults_to_status_true() -> None:
    policy = rules({"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]})
    obj = job(podFailurePolicy=policy)
    assert obj["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"] == [{"type": "DisruptionTarget", "status": "True"}]
    assert messages(obj) == []
    obj["spec"]["podFailurePolicy"]["rules"][0]["onPodConditions"][0]["status"] = ""
    assert messages(obj) == [
        'spec.podFailurePolicy.rules[0].onPodConditions[0].status: Required value: valid values: ["False" "True" "Unknown"]']


def test_pod_failure_policy_needs_restart_policy_never_and_replacement_failed() -> None:
    policy = rules({"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}})
    assert messages(job(restart="OnFailure", podFailurePolicy=policy)) == [
        'spec.template.spec.restartPolicy: Invalid value: "OnFailure": only "Never" is supported when podFailurePolicy is specified']
    assert messages(job(podFailurePolicy=policy, podReplacementPolicy="TerminatingOrFailed")) == [
        'spec.podReplacementPolicy: Unsupported value: "TerminatingOrFailed": supported values: "Failed"']
    assert messages(job(podReplacementPolicy="Sometimes")) == [
        'spec.podReplacementPolicy: Unsupported value: "Sometimes": supported values: "Failed", "TerminatingOrFailed"']
    too_many = rules(*[{"action": "Count", "onExitCodes": {"operator": "In", "values": [i + 1]}} for i in range(21)])
    assert messages(job(podFailurePolicy=too_many)) == ["spec.podFailurePolicy.rules: Too many: 21: must have at most 20 items"]


def test_backoff_limit_per_index_and_indexed_limits() -> None:
    assert messages(job(backoffLimitPerIndex=1, maxFailedIndexes=2)) == [
        "spec.backoffLimitPerIndex: Invalid value: 1: requires indexed completion mode",
        "spec.maxFailedIndexes: Invalid value: 2: requires indexed completion mode",
    ]
    assert messages(job(completionMode="Indexed", completions=3, maxFailedIndexes=4, parallelism=100_001)) == [
        "spec.backoffLimitPerIndex: Required value: when maxFailedIndexes is specified",
        "spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 when completion mode is Indexed",
        "spec.maxFailedIndexes: Invalid value: 4: must be less than or equal to completions",
    ]
    long_name = "a" * 62
    assert messages(job(long_name, completionMode="Indexed", completions=10)) == [
        f'metadata.name: Invalid value: "{long_name}": will not able to create pod with invalid DNS label: {long_name}-9']
    assert messages(job("a" * 61, completionMode="Indexed", completions=10)) == []


def test_backoff_limit_per_index_limits_for_many_completions() -> None:
    assert messages(job(completionMode="Indexed", completions=3, backoffLimitPerIndex=1, maxFailedIndexes=100_001)) == [
        "spec.maxFailedIndexes: Invalid value: 100001: must be less than or equal to completions",
        "spec.maxFailedIndexes: Invalid value: 100001: must be less than or equal to 100000",
    ]
    above = "when completions are above 100000 and used with backoff limit per index"
    assert messages(job(completionMode="Indexed", completions=200_000, parallelism=10_001, backoffLimitPerIndex=1)) == [
        "spec.maxFailedIndexes: Required value: must be specified when completions is above 100000",
        f"spec.parallelism: Invalid value: 10001: must be less than or equal to 10000 {above}",
    ]
    assert messages(job(completionMode="Indexed", completions=200_000, parallelism=10, backoffLimitPerIndex=1,
                        maxFailedIndexes=10_001)) == [f"spec.maxFailedIndexes: Invalid value: 10001: must be less than or equal to 10000 {above}"]
    # without backoffLimitPerIndex many completions need nothing more
    assert messages(job(completionMode="Indexed", completions=200_000, parallelism=20_000)) == []
    obj = job(completionMode="Indexed", completions=10, backoffLimitPerIndex=1, maxFailedIndexes=5)
    assert messages(obj) == [] and obj["spec"]["backoffLimit"] == 2147483647  # the default with a per-index limit


def test_success_policy_rules() -> None:
    obj = job(completionMode="Indexed", completions=10, backoffLimitPerIndex=1, maxFailedIndexes=5, successPolicy={"rules": [
        {"succeededIndexes": "0,2-3", "succeededCount": 1}, {"succeededCount": 10}]})
    assert messages(obj) == []
    assert not_enforced(obj) == []  # the Job controller enforces them: no "stored but not enforced" warning
    assert messages(job(successPolicy={"rules": [{"succeededCount": 1}]})) == [
        "spec.successPolicy: Invalid value: requires indexed completion mode"]
    assert messages(job(completionMode="Indexed", completions=5, successPolicy={"rules": []})) == [
        "spec.successPolicy.rules: Required value: at least one rules must be specified when the successPolicy is specified"]
    assert messages(job(completionMode="Indexed", completions=5, successPolicy={"rules": [{"succeededCount": 1}] * 21})) == [
        "spec.successPolicy.rules: Too many: 21: must have at most 20 items"]
    rules = [{}, {"succeededIndexes": "0,2-3", "succeededCount": 4}, {"succeededIndexes": "0-1-2"}, {"succeededIndexes": "x"},
             {"succeededIndexes": "3,1"}, {"succeededIndexes": "1-5"}, {"succeededIndexes": "2-2"}, {"succeededCount": 6},
             {"succeededCount": -1}]
    parsing = "Invalid value: {}: error parsing succeededIndexes: {}"
    assert messages(job(completionMode="Indexed", completions=5, successPolicy={"rules": rules})) == [
        "spec.successPolicy.rules[0]: Required value: at least one of succeededCount or succeededIndexes must be specified",
        "spec.successPolicy.rules[1].succeededCount: Invalid value: 4: must be less than or equal to 3 (the number of indexes "
        "in the specified succeededIndexes field)",
        "spec.successPolicy.rules[2].succeededIndexes: " + parsing.format(
            '"0-1-2"', "the fragment \"0-1-2\" violates the requirement that an index interval can have at most two parts separated by '-'"),
        "spec.successPolicy.rules[3].succeededIndexes: " + parsing.format('"x"', 'cannot convert string to integer for index: "x"'),
        "spec.successPolicy.rules[4].succeededIndexes: " + parsing.format('"3,1"', "non-increasing order, previous: 3, current: 1"),
        "spec.successPolicy.rules[5].succeededIndexes: " + parsing.format('"1-5"', 'too large index: "5"'),
        "spec.successPolicy.rules[6].succeededIndexes: " + parsing.format('"2-2"', "non-increasing order, previous: 2, current: 2"),
        "spec.successPolicy.rules[7].succeededCount: Invalid value: 6: must be less than or equal to 5 (the number of specified completions)",
        "spec.successPolicy.rules[8].succeededCount: Invalid value: -1: must be greater than or equal to 0",
    ]


def test_what_the_controller_acted_on_is_immutable() -> None:
    old = job(completionMode="Indexed", completions=4, backoffLimitPerIndex=1, maxFailedIndexes=2,
              successPolicy={"rules": [{"succeededCount": 2}]})
    new = copy.deepcopy(old)
    new["spec"].update(backoffLimitPerIndex=2, maxFailedIndexes=3, successPolicy={"rules": [{"succeededCount": 3}]},
                       managedBy="example.com/other")
    errs, _ = validate(new, old)
    assert [str(e) for e in errs] == [
        "spec.backoffLimitPerIndex: Invalid value: 2: field is immutable",
        'spec.managedBy: Invalid value: "example.com/other": field is immutable',
        "spec.successPolicy: Invalid value: field is immutable",
    ]  # maxFailedIndexes may change
    new = copy.deepcopy(old)
    new["spec"].update(completionMode="NonIndexed", podFailurePolicy=rules({"action": "Ignore", "onExitCodes": {"operator": "In", "values": [3]}}))
    messages_ = [str(e) for e in validate(new, old)[0]]
    assert "spec.completionMode: Invalid value: \"NonIndexed\": field is immutable" in messages_
    assert "spec.podFailurePolicy: Invalid value: field is immutable" in messages_
