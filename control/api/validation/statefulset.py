"""StatefulSet and ControllerRevision (apps/v1), as pkg/apis/apps/validation checks them.

Kubernetes does not validate a StatefulSet's pod template spec (only its labels and annotations; the
TODO in ValidatePodTemplateSpecForStatefulSet): a bad container shows up when the controller's pod create
fails (FailedCreate). kube-tui keeps that.
"""

from __future__ import annotations

import copy
from typing import Any

from control.api.labels import from_label_selector, is_dns1123_label
from control.api.validation.field import (
    NEGATIVE,
    Errors,
    as_dict,
    as_list,
    check_name,
    forbidden,
    int_field,
    invalid,
    is_int,
    not_supported,
    required,
    shown,
)
from control.api.validation.meta import validate_annotations, validate_label_selector, validate_labels
from control.errors import ApiError

POD_MANAGEMENT_POLICIES = ("OrderedReady", "Parallel")
UPDATE_STRATEGIES = ("RollingUpdate", "OnDelete")
PVC_RETENTION_POLICIES = ("Retain", "Delete")
# What ValidateStatefulSetUpdate lets change; anything else in spec is refused with this message.
MUTABLE = ("replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy",
           "minReadySeconds")
UPDATE_FORBIDDEN = ("updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")


def _update_strategy(errs: Errors, spec: dict[str, Any]) -> None:
    strategy = as_dict(errs, spec.get("updateStrategy"), "spec.updateStrategy") or {}
    kind = strategy.get("type") or ""
    rolling = strategy.get("rollingUpdate")
    if kind == "":
        required(errs, "spec.updateStrategy")
    elif kind == "OnDelete":
        if rolling is not None:
            invalid(errs, "spec.updateStrategy.rollingUpdate", None, "only allowed for updateStrategy 'RollingUpdate'")
    elif kind == "RollingUpdate":
        ru = as_dict(errs, rolling, "spec.updateStrategy.rollingUpdate")
        if ru is not None:
            path = "spec.updateStrategy.rollingUpdate"
            int_field(errs, ru, "partition", f"{path}.partition")
            _max_unavailable(errs, ru.get("maxUnavailable"), f"{path}.maxUnavailable")
    else:
        invalid(errs, "spec.updateStrategy", shown(kind), "must be 'RollingUpdate' or 'OnDelete'")


def _max_unavailable(errs: Errors, value: Any, path: str) -> None:
    """validateRollingUpdateStatefulSet's maxUnavailable: an int or percent, not 0, at most 100%."""
    from control.api.validation.workloads import int_or_percent

    if value is None:
        return
    n = int_or_percent(errs, value, path)  # says "must not be greater than 100%" for a path ending maxUnavailable
    if n == 0:
        invalid(errs, path, shown(value), "cannot be 0")


def _retention_policy(errs: Errors, spec: dict[str, Any]) -> None:
    path = "spec.persistentVolumeClaimRetentionPolicy"
    policy = as_dict(errs, spec.get("persistentVolumeClaimRetentionPolicy"), path)
    if policy is None:
        return
    for key in ("whenDeleted", "whenScaled"):
        value = policy.get(key) or ""
        if value not in PVC_RETENTION_POLICIES:
            not_supported(errs, f"{path}.{key}", shown(value), PVC_RETENTION_POLICIES)


def _template(errs: Errors, spec: dict[str, Any], selector_ok: bool) -> dict[str, Any]:
    """ValidatePodTemplateSpecForStatefulSet: labels match the selector, labels and annotations valid."""
    template = as_dict(errs, spec.get("template"), "spec.template")
    if template is None:
        return {}
    meta = as_dict(errs, template.get("metadata"), "spec.template.metadata") or {}
    labels = meta.get("labels") if isinstance(meta.get("labels"), dict) else {}
    if selector_ok:
        try:
            selector = from_label_selector(spec.get("selector"))
        except ApiError:
            selector = None
        if selector is not None and not selector.empty and not selector.matches(labels):
            invalid(errs, "spec.template.metadata.labels", None, "`selector` does not match template `labels`")
    validate_labels(errs, meta.get("labels"), "spec.template.labels")
    validate_annotations(errs, meta.get("annotations"), "spec.template.annotations")
    return as_dict(errs, template.get("spec"), "spec.template.spec") or {}


def validate_statefulset(obj: dict[str, Any], errs: Errors) -> None:
    """ValidateStatefulSetSpec, in its order."""
    spec = as_dict(errs, obj.get("spec"), "spec")
    if spec is None:
        spec = {}
    policy = spec.get("podManagementPolicy") or ""
    if policy == "":
        required(errs, "spec.podManagementPolicy")
    elif policy not in POD_MANAGEMENT_POLICIES:
        invalid(errs, "spec.podManagementPolicy", shown(policy), "must be 'OrderedReady' or 'Parallel'")
    _update_strategy(errs, spec)
    _retention_policy(errs, spec)
    int_field(errs, spec, "replicas", "spec.replicas")
    int_field(errs, spec, "minReadySeconds", "spec.minReadySeconds")
    int_field(errs, spec, "revisionHistoryLimit", "spec.revisionHistoryLimit", minimum=None)  # a type, no bound
    ordinals = as_dict(errs, spec.get("ordinals"), "spec.ordinals")
    if ordinals is not None:
        int_field(errs, ordinals, "start", "spec.ordinals.start")
    # kube-apiserver 1.30 does not check serviceName; later ones hold a set one to a DNS label, as it is the
    # pods' subdomain (and kube-tui's Endpoints controller gives pods their hostname by it).
    service = spec.get("serviceName")
    if service not in (None, ""):
        if not isinstance(service, str):
            invalid(errs, "spec.serviceName", shown(service), "must be a string")
        else:
            check_name(errs, service, "spec.serviceName", is_dns1123_label)
    selector_ok = False
    sel = spec.get("selector")
    if sel is None:
        required(errs, "spec.selector")
    else:
        sel = as_dict(errs, sel, "spec.selector")
        if sel is not None:
            before = len(errs)
            validate_label_selector(errs, sel, "spec.selector")
            if not sel.get("matchLabels") and not sel.get("matchExpressions"):
                invalid(errs, "spec.selector", None, "empty selector is invalid for statefulset")
            selector_ok = len(errs) == before
    pod_spec = _template(errs, spec, selector_ok)
    restart = pod_spec.get("restartPolicy") or ""
    if restart != "Always":
        not_supported(errs, "spec.template.spec.restartPolicy", shown(restart), ("Always",))
    if pod_spec.get("activeDeadlineSeconds") is not None:
        forbidden(errs, "spec.template.spec.activeDeadlineSeconds", "activeDeadlineSeconds in StatefulSet is not Supported")
    as_list(errs, spec.get("volumeClaimTemplates"), "spec.volumeClaimTemplates")  # not checked further, as 1.30


def _semantic(x: Any) -> Any:
    # apiequality.Semantic.DeepEqual: an empty map or list equals an absent one.
    if isinstance(x, dict):
        out = {k: _semantic(v) for k, v in x.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(x, list):
        return [_semantic(v) for v in x]
    return x


def validate_statefulset_update(new: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    """ValidateStatefulSetUpdate: only the MUTABLE fields of spec may change."""
    nspec, ospec = new.get("spec"), old.get("spec")
    if not isinstance(nspec, dict) or not isinstance(ospec, dict):
        return
    masked = copy.copy(nspec)
    for key in MUTABLE:
        if key in ospec:
            masked[key] = ospec[key]
        else:
            masked.pop(key, None)
    if _semantic(masked) != _semantic(ospec):
        forbidden(errs, "spec", UPDATE_FORBIDDEN)
    _status(errs, new.get("status"), old.get("status"))


def _status(errs: Errors, status: Any, old: Any) -> None:
    """ValidateStatefulSetStatusUpdate: counts never negative nor above status.replicas."""
    if not isinstance(status, dict):
        return
    for key in ("replicas", "readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas",
                "observedGeneration", "collisionCount"):
        int_field(errs, status, key, f"status.{key}", detail=NEGATIVE)
    replicas = status.get("replicas") if is_int(status.get("replicas")) else 0
    for key in ("readyReplicas", "currentReplicas", "updatedReplicas", "availableReplicas"):
        v = status.get(key)
        if is_int(v) and v > replicas:
            invalid(errs, f"status.{key}", v, "cannot be greater than status.replicas")
    ready, available = status.get("readyReplicas"), status.get("availableReplicas")
    if is_int(ready) and is_int(available) and available > ready:
        invalid(errs, "status.availableReplicas", available, "cannot be greater than status.readyReplicas")
    was = old.get("collisionCount") if isinstance(old, dict) else None
    now = status.get("collisionCount")
    if is_int(was) and (now is None or (is_int(now) and now < was)):
        invalid(errs, "status.collisionCount", now if is_int(now) else 0, "cannot be decremented")


def validate_controllerrevision(obj: dict[str, Any], errs: Errors) -> None:
    if obj.get("data") is None:
        required(errs, "data", "data is mandatory")
    v = obj.get("revision")
    if v is not None and not is_int(v):
        invalid(errs, "revision", shown(v), "must be an integer")
    elif is_int(v) and v < 0:
        invalid(errs, "revision", v, NEGATIVE)


def validate_controllerrevision_update(new: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    from control.api.validation.field import IMMUTABLE

    if new.get("data") != old.get("data"):
        invalid(errs, "data", None, IMMUTABLE)
