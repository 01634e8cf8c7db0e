"""Workloads that run pods from a template: Deployment, ReplicaSet, DaemonSet and Job.

Ported from pkg/apis/apps/validation and pkg/apis/batch/validation.
"""

from __future__ import annotations

import re
from typing import Any

from control.api.labels import Selector, from_label_selector, is_dns1123_label, is_qualified_name, regex_error
from control.api.validation.field import (
    NEGATIVE,
    Errors,
    as_dict,
    as_item,
    as_list,
    duplicate,
    forbidden,
    int_field,
    invalid,
    is_int,
    not_supported,
    required,
    shown,
)
from control.api.validation.meta import validate_annotations, validate_label_selector, validate_labels
from control.api.validation.pod import RESTART_POLICIES, validate_pod_spec
from control.errors import ApiError, FieldError, go_quote


def _workload_selector(errs: Errors, spec: dict[str, Any], what: str, *, generated: bool = False) -> Selector | None:
    sel = spec.get("selector")
    if sel is None:
        if not generated:
            required(errs, "spec.selector")
        return None
    sel = as_dict(errs, sel, "spec.selector")
    if sel is None:
        return None
    before = len(errs)
    validate_label_selector(errs, sel, "spec.selector")
    if not sel.get("matchLabels") and not sel.get("matchExpressions"):
        invalid(errs, "spec.selector", None, f"empty selector is invalid for {what}")
        return None
    if len(errs) != before:
        return None
    try:
        return from_label_selector(sel)
    except ApiError:
        invalid(errs, "spec.selector", None, "invalid label selector")
        return None


def _pod_template(errs: Errors, spec: dict[str, Any], selector: Selector | None,
                  restart_policies: tuple[str, ...], path: str = "spec") -> None:
    """ValidatePodTemplateSpecForReplicaSet and friends: labels match, pod spec valid, restart policy allowed.

    path: where the spec is (a CronJob's job template's is spec.jobTemplate.spec)."""
    tpath = f"{path}.template"
    template = spec.get("template")
    if template is None:
        required(errs, tpath)
        return
    template = as_dict(errs, template, tpath)
    if template is None:
        return
    meta = as_dict(errs, template.get("metadata"), f"{tpath}.metadata") or {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    if selector is not None and not selector.empty and not selector.matches(labels):
        invalid(errs, f"{tpath}.metadata.labels", None, "`selector` does not match template `labels`")
    # Kubernetes' path for template labels skips "metadata" (ObjectMeta is inlined in Go).
    validate_labels(errs, meta.get("labels"), f"{tpath}.labels")
    validate_annotations(errs, meta.get("annotations"), f"{tpath}.annotations")
    validate_pod_spec(errs, template.get("spec"), f"{tpath}.spec")
    pod_spec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
    policy = pod_spec.get("restartPolicy") or "Always"
    if policy in RESTART_POLICIES and policy not in restart_policies:
        not_supported(errs, f"{tpath}.spec.restartPolicy", policy, restart_policies)
    if pod_spec.get("ephemeralContainers"):
        forbidden(errs, f"{tpath}.spec.ephemeralContainers", "ephemeral containers not allowed in pod template")


_PERCENT = re.compile(r"^[0-9]+%$")


def int_or_percent(errs: Errors, value: Any, path: str) -> int | None:
    """ValidatePositiveIntOrPercent; returns the number (percent or count) for the zero checks."""
    if value is None:
        return None
    if is_int(value):
        if value < 0:
            invalid(errs, path, value, NEGATIVE)
        return value
    if isinstance(value, str):
        if not _PERCENT.match(value):
            invalid(errs, path, value, regex_error(
                "a valid percent string must be a numeric string followed by an ending '%'", "[0-9]+%", "1%", "93%"))
            return None
        n = int(value[:-1])
        if n > 100 and path.endswith("maxUnavailable"):
            invalid(errs, path, value, "must not be greater than 100%")
        return n
    invalid(errs, path, shown(value), "must be an integer or a percentage")
    return None


def _deployment_strategy(errs: Errors, strategy: Any) -> None:
    strategy = as_dict(errs, strategy, "spec.strategy")
    if strategy is None:
        return
    kind = strategy.get("type") or "RollingUpdate"
    if kind == "Recreate":
        if strategy.get("rollingUpdate") is not None:
            forbidden(errs, "spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'")
    elif kind == "RollingUpdate":
        ru = as_dict(errs, strategy.get("rollingUpdate"), "spec.strategy.rollingUpdate") or {}
        unavailable = int_or_percent(errs, ru.get("maxUnavailable"), "spec.strategy.rollingUpdate.maxUnavailable")
        surge = int_or_percent(errs, ru.get("maxSurge"), "spec.strategy.rollingUpdate.maxSurge")
        if unavailable == 0 and surge == 0:
            invalid(errs, "spec.strategy.rollingUpdate.maxUnavailable", shown(ru.get("maxUnavailable")),
                    "may not be 0 when `maxSurge` is 0")
    else:
        not_supported(errs, "spec.strategy.type", shown(kind), ("Recreate", "RollingUpdate"))


def _replicas(errs: Errors, spec: dict[str, Any]) -> None:
    int_field(errs, spec, "replicas", "spec.replicas")
    int_field(errs, spec, "minReadySeconds", "spec.minReadySeconds")


def _workload_spec(errs: Errors, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The spec of a Deployment, ReplicaSet or DaemonSet; without one, its selector and template are missing."""
    spec = as_dict(errs, obj.get("spec"), "spec")
    if spec is None:
        required(errs, "spec.selector")
        required(errs, "spec.template")
    return spec


def validate_deployment(obj: dict[str, Any], errs: Errors) -> None:
    spec = _workload_spec(errs, obj)
    if spec is None:
        return
    _replicas(errs, spec)
    selector = _workload_selector(errs, spec, "deployment")
    _pod_template(errs, spec, selector, ("Always",))
    _deployment_strategy(errs, spec.get("strategy"))
    int_field(errs, spec, "revisionHistoryLimit", "spec.revisionHistoryLimit")
    deadline = int_field(errs, spec, "progressDeadlineSeconds", "spec.progressDeadlineSeconds")
    min_ready = spec.get("minReadySeconds") if is_int(spec.get("minReadySeconds")) else 0
    if deadline is not None and deadline <= min_ready:
        invalid(errs, "spec.progressDeadlineSeconds", deadline, "must be greater than minReadySeconds")


def validate_replicaset(obj: dict[str, Any], errs: Errors) -> None:
    spec = _workload_spec(errs, obj)
    if spec is None:
        return
    _replicas(errs, spec)
    # Kubernetes says "deployment" here too (shared code); keep its wording.
    selector = _workload_selector(errs, spec, "deployment")
    _pod_template(errs, spec, selector, ("Always",))


def validate_daemonset(obj: dict[str, Any], errs: Errors) -> None:
    spec = _workload_spec(errs, obj)
    if spec is None:
        return
    int_field(errs, spec, "minReadySeconds", "spec.minReadySeconds")
    int_field(errs, spec, "revisionHistoryLimit", "spec.revisionHistoryLimit")
    selector = _workload_selector(errs, spec, "daemonset")
    _pod_template(errs, spec, selector, ("Always",))
    strategy = as_dict(errs, spec.get("updateStrategy"), "spec.updateStrategy")
    if strategy is None:
        return
    kind = strategy.get("type") or "RollingUpdate"
    if kind not in ("OnDelete", "RollingUpdate"):
        not_supported(errs, "spec.updateStrategy.type", shown(kind), ("OnDelete", "RollingUpdate"))
    elif kind == "RollingUpdate":
        ru = as_dict(errs, strategy.get("rollingUpdate"), "spec.updateStrategy.rollingUpdate") or {}
        path = "spec.updateStrategy.rollingUpdate"
        unavailable = int_or_percent(errs, ru.get("maxUnavailable"), f"{path}.maxUnavailable")
        surge = int_or_percent(errs, ru.get("maxSurge"), f"{path}.maxSurge")
        if unavailable and surge:
            invalid(errs, f"{path}.maxSurge", shown(ru.get("maxSurge")), "may not be set when maxUnavailable is non-zero")
        elif unavailable == 0 and not surge:
            required(errs, f"{path}.maxUnavailable", "cannot be 0 when maxSurge is 0")


def validate_job(obj: dict[str, Any], errs: Errors) -> None:
    spec = as_dict(errs, obj.get("spec"), "spec")
    if spec is None:
        required(errs, "spec.template")
        return
    # Without manualSelector the server generates the selector (job_selector_defaults).
    selector = _workload_selector(errs, spec, "job", generated=spec.get("manualSelector") is not True)
    validate_job_spec(errs, spec, "spec", selector)
    completions = spec.get("completions")
    if spec.get("completionMode") == "Indexed" and is_int(completions) and completions > 0:
        # the controller names each pod's host "<job>-<index>": the highest index must still make a DNS label
        name = str((obj.get("metadata") or {}).get("name") or "")
        hostname = f"{name}-{completions - 1}"
        if name and is_dns1123_label(hostname):
            invalid(errs, "metadata.name", name, f"will not able to create pod with invalid DNS label: {hostname}")


def validate_job_spec(errs: Errors, spec: dict[str, Any], path: str, selector: Selector | None) -> None:
    """validateJobSpec, at `path` (spec, or a CronJob's spec.jobTemplate.spec); the selector is checked by the caller."""
    for key in ("parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished"):
        int_field(errs, spec, key, f"{path}.{key}")
    for key in ("backoffLimitPerIndex", "maxFailedIndexes"):
        int_field(errs, spec, key, f"{path}.{key}")
    per_index, max_failed = spec.get("backoffLimitPerIndex"), spec.get("maxFailedIndexes")
    if max_failed is not None and per_index is None:
        required(errs, f"{path}.backoffLimitPerIndex", "when maxFailedIndexes is specified")
    mode = spec.get("completionMode")
    if mode is not None and mode not in ("NonIndexed", "Indexed"):
        not_supported(errs, f"{path}.completionMode", shown(mode), ("NonIndexed", "Indexed"))
    completions, parallelism = spec.get("completions"), spec.get("parallelism")
    if mode == "Indexed":
        if completions is None:
            required(errs, f"{path}.completions", "when completion mode is Indexed")
        if is_int(parallelism) and parallelism > MAX_PARALLELISM_INDEXED:
            invalid(errs, f"{path}.parallelism", parallelism,
                    f"must be less than or equal to {MAX_PARALLELISM_INDEXED} when completion mode is Indexed")
        if is_int(completions) and is_int(max_failed) and max_failed > completions:
            invalid(errs, f"{path}.maxFailedIndexes", max_failed, "must be less than or equal to completions")
        if is_int(max_failed) and max_failed > MAX_FAILED_INDEXES:
            invalid(errs, f"{path}.maxFailedIndexes", max_failed, f"must be less than or equal to {MAX_FAILED_INDEXES}")
        if is_int(completions) and completions > COMPLETIONS_SOFT_LIMIT and per_index is not None:
            # .status.completedIndexes and .failedIndexes of many indexes stay small enough only so
            above = f"when completions are above {COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index"
            if max_failed is None:
                required(errs, f"{path}.maxFailedIndexes", f"must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}")
            if is_int(parallelism) and parallelism > PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS:
                invalid(errs, f"{path}.parallelism", parallelism,
                        f"must be less than or equal to {PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS} {above}")
            if is_int(max_failed) and max_failed > MAX_FAILED_INDEXES_FOR_HIGH_COMPLETIONS:
                invalid(errs, f"{path}.maxFailedIndexes", max_failed,
                        f"must be less than or equal to {MAX_FAILED_INDEXES_FOR_HIGH_COMPLETIONS} {above}")
    elif mode in (None, "NonIndexed"):
        for key, value in (("backoffLimitPerIndex", per_index), ("maxFailedIndexes", max_failed)):
            if value is not None:
                invalid(errs, f"{path}.{key}", shown(value), "requires indexed completion mode")
    policy = spec.get("podFailurePolicy")
    if policy is not None:
        _pod_failure_policy(errs, spec, as_dict(errs, policy, f"{path}.podFailurePolicy") or {}, f"{path}.podFailurePolicy")
    success = spec.get("successPolicy")
    if success is not None:
        if mode != "Indexed":
            invalid(errs, f"{path}.successPolicy", None, "requires indexed completion mode")
        else:
            _success_policy(errs, spec, as_dict(errs, success, f"{path}.successPolicy") or {}, f"{path}.successPolicy")
    replacement = spec.get("podReplacementPolicy")
    if replacement is not None:
        allowed = ("Failed",) if policy is not None else ("Failed", "TerminatingOrFailed")
        if replacement not in allowed:
            not_supported(errs, f"{path}.podReplacementPolicy", shown(replacement), allowed)
    _pod_template(errs, spec, selector, ("OnFailure", "Never"), path)
    template_spec = (spec.get("template") or {}).get("spec") if isinstance(spec.get("template"), dict) else None
    restart = template_spec.get("restartPolicy") if isinstance(template_spec, dict) else None
    if policy is not None and restart == "OnFailure":
        invalid(errs, f"{path}.template.spec.restartPolicy", restart, 'only "Never" is supported when podFailurePolicy is specified')


# Limits of pkg/apis/batch/validation.
MAX_PARALLELISM_INDEXED = 100_000
MAX_FAILED_INDEXES = 100_000
COMPLETIONS_SOFT_LIMIT = 100_000
PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS = 10_000
MAX_FAILED_INDEXES_FOR_HIGH_COMPLETIONS = 10_000
MAX_SUCCESS_POLICY_RULES = 20
MAX_SUCCEEDED_INDEXES_LENGTH = 64 * 1024
MAX_POD_FAILURE_POLICY_RULES = 20
MAX_ON_EXIT_CODES_VALUES = 255
MAX_ON_POD_CONDITIONS_PATTERNS = 20
POD_FAILURE_POLICY_ACTIONS = ("Count", "FailIndex", "FailJob", "Ignore")


def _too_many(errs: Errors, path: str, actual: int, most: int) -> None:
    errs.append(FieldError(path, "Too many", f"{actual}: must have at most {most} items"))


def _pod_failure_policy(errs: Errors, spec: dict[str, Any], policy: dict[str, Any], path: str) -> None:
    """validatePodFailurePolicy: each rule has a known action and exactly one of onExitCodes, onPodConditions."""
    rules = as_list(errs, policy.get("rules"), f"{path}.rules")
    if len(rules) > MAX_POD_FAILURE_POLICY_RULES:
        _too_many(errs, f"{path}.rules", len(rules), MAX_POD_FAILURE_POLICY_RULES)
    template_spec = (spec.get("template") or {}).get("spec") if isinstance(spec.get("template"), dict) else None
    names = {c.get("name") for group in ("containers", "initContainers")
             for c in ((template_spec or {}).get(group) or []) if isinstance(c, dict)}
    for i, rule in enumerate(rules):
        rpath = f"{path}.rules[{i}]"
        rule = as_dict(errs, rule, rpath)
        if rule is None:
            continue
        action = rule.get("action")
        if not action:
            required(errs, f"{rpath}.action", "valid values: " + _go_quoted_list(POD_FAILURE_POLICY_ACTIONS))
        elif action == "FailIndex":
            if spec.get("backoffLimitPerIndex") is None:
                invalid(errs, f"{rpath}.action", action, "requires the backoffLimitPerIndex to be set")
        elif action not in POD_FAILURE_POLICY_ACTIONS:
            not_supported(errs, f"{rpath}.action", shown(action), POD_FAILURE_POLICY_ACTIONS)
        on_codes = rule.get("onExitCodes")
        on_conditions = rule.get("onPodConditions")
        if on_codes is not None:
            _on_exit_codes(errs, as_dict(errs, on_codes, f"{rpath}.onExitCodes") or {}, f"{rpath}.onExitCodes", names)
        if on_conditions:
            _on_pod_conditions(errs, as_list(errs, on_conditions, f"{rpath}.onPodConditions"), f"{rpath}.onPodConditions")
        if on_codes is not None and on_conditions:
            invalid(errs, rpath, None, "specifying both OnExitCodes and OnPodConditions is not supported")
        if on_codes is None and not on_conditions:
            invalid(errs, rpath, None, "specifying one of OnExitCodes and OnPodConditions is required")


def _go_quoted_list(values: tuple[str, ...]) -> str:
    """Go's %q of a []string: ["A" "B"]."""
    return "[" + " ".join(f'"{v}"' for v in values) + "]"


def _on_exit_codes(errs: Errors, req: dict[str, Any], path: str, container_names: set[Any]) -> None:
    operator = req.get("operator")
    if not operator:
        required(errs, f"{path}.operator", 'valid values: ["In" "NotIn"]')
    elif operator not in ("In", "NotIn"):
        not_supported(errs, f"{path}.operator", shown(operator), ("In", "NotIn"))
    name = req.get("containerName")
    if name is not None and name not in container_names:
        invalid(errs, f"{path}.containerName", shown(name), "must be one of the container or initContainer names in the pod template")
    values = as_list(errs, req.get("values"), f"{path}.values")
    if not values:
        invalid(errs, f"{path}.values", None, "at least one value is required")
    elif len(values) > MAX_ON_EXIT_CODES_VALUES:
        _too_many(errs, f"{path}.values", len(values), MAX_ON_EXIT_CODES_VALUES)
    seen: set[int] = set()
    for j, v in enumerate(values):
        if not is_int(v):
            invalid(errs, f"{path}.values[{j}]", shown(v), "must be an integer")
            return
        if operator == "In" and v == 0:
            invalid(errs, f"{path}.values[{j}]", v, "must not be 0 for the In operator")
        if v in seen:
            duplicate(errs, f"{path}.values[{j}]", v)
        seen.add(v)
    if any(a > b for a, b in zip(values, values[1:], strict=False)):
        invalid(errs, f"{path}.values", None, "must be ordered")


def _on_pod_conditions(errs: Errors, patterns: list[Any], path: str) -> None:
    if len(patterns) > MAX_ON_POD_CONDITIONS_PATTERNS:
        _too_many(errs, path, len(patterns), MAX_ON_POD_CONDITIONS_PATTERNS)
    for j, pattern in enumerate(patterns):
        ppath = f"{path}[{j}]"
        pattern = as_dict(errs, pattern, ppath)
        if pattern is None:
            continue
        type_ = str(pattern.get("type") or "")
        for msg in is_qualified_name(type_):
            invalid(errs, f"{ppath}.type", type_, msg)
        status = pattern.get("status")
        if not status:
            required(errs, f"{ppath}.status", 'valid values: ["False" "True" "Unknown"]')
        elif status not in ("False", "True", "Unknown"):
            not_supported(errs, f"{ppath}.status", shown(status), ("False", "True", "Unknown"))


def _success_policy(errs: Errors, spec: dict[str, Any], policy: dict[str, Any], path: str) -> None:
    """validateSuccessPolicy: 1 to 20 rules, each with succeededIndexes (intervals below completions) and/or
    succeededCount (at most completions, and at most the number of those indexes)."""
    rules = as_list(errs, policy.get("rules"), f"{path}.rules")
    if not rules:
        required(errs, f"{path}.rules", "at least one rules must be specified when the successPolicy is specified")
    if len(rules) > MAX_SUCCESS_POLICY_RULES:
        _too_many(errs, f"{path}.rules", len(rules), MAX_SUCCESS_POLICY_RULES)
    completions = spec.get("completions") if is_int(spec.get("completions")) else None
    for i, rule in enumerate(rules):
        rpath = f"{path}.rules[{i}]"
        rule = as_item(errs, rule, rpath)
        if rule is None:
            continue
        indexes, count = rule.get("succeededIndexes"), rule.get("succeededCount")
        if indexes is None and count is None:
            required(errs, rpath, "at least one of succeededCount or succeededIndexes must be specified")
        total = 0
        if indexes is not None:
            ipath = f"{rpath}.succeededIndexes"
            if not isinstance(indexes, str):
                invalid(errs, ipath, shown(indexes), "must be a string")
            else:
                if len(indexes) > MAX_SUCCEEDED_INDEXES_LENGTH:
                    errs.append(FieldError(ipath, "Too long", f"must have at most {MAX_SUCCEEDED_INDEXES_LENGTH} bytes"))
                if completions is not None:
                    try:
                        total = indexes_total(indexes, completions)
                    except ValueError as e:
                        invalid(errs, ipath, indexes, f"error parsing succeededIndexes: {e}")
        if count is not None:
            cpath = f"{rpath}.succeededCount"
            if int_field(errs, rule, "succeededCount", cpath) is None:
                continue
            if completions is not None and count > completions:
                invalid(errs, cpath, count, f"must be less than or equal to {completions} (the number of specified completions)")
            if indexes is not None and count > total:
                invalid(errs, cpath, count,
                        f"must be less than or equal to {total} (the number of indexes in the specified succeededIndexes field)")


def indexes_total(text: str, completions: int) -> int:
    """validateIndexesFormat: how many indexes "1,3-5" names; ValueError, in Kubernetes' words, when an
    interval is malformed, out of range or out of order."""
    if not text:
        return 0
    total, last = 0, None
    for part in text.split(","):
        first, end = _index_interval(part, completions)
        if last is not None and last >= first:
            raise ValueError(f"non-increasing order, previous: {last}, current: {first}")
        total += end - first + 1
        last = end
    return total


def _index_interval(part: str, completions: int) -> tuple[int, int]:
    """parseIndexInterval: "3" or "3-5", each bound a decimal below completions, the first below the last."""
    bounds = part.split("-")
    if len(bounds) > 2:
        raise ValueError(f"the fragment {go_quote(part)} violates the requirement that an index interval can have "
                         "at most two parts separated by '-'")
    values = []
    for bound in bounds:
        if not re.fullmatch(r"[+-]?[0-9]+", bound):
            raise ValueError(f"cannot convert string to integer for index: {go_quote(bound)}")
        if int(bound) >= completions:
            raise ValueError(f"too large index: {go_quote(bound)}")
        values.append(int(bound))
    if len(values) > 1 and values[0] >= values[1]:
        raise ValueError(f"non-increasing order, previous: {values[0]}, current: {values[1]}")
    return values[0], values[-1]
