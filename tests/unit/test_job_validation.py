"""Job validation of podFailurePolicy, backoffLimitPerIndex and Indexed completion, in kube-apiserver's words
(pkg/apis/batch/validation)."""

from __future__ import annotations

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
