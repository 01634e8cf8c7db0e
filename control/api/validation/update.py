"""What an update may change: the immutable fields of each kind, checked against the stored object."""

from __future__ import annotations

import copy
from typing import Any

from control.api.validation.field import IMMUTABLE, Errors, forbidden, invalid, is_int, shown

POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,"
    "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),"
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"
)


def validate_object_meta_update(errs: Errors, new: dict[str, Any], old: dict[str, Any]) -> None:
    """Name, namespace, uid and creation time never change; an empty new value means 'not sent'."""
    nm, om = new.get("metadata"), old.get("metadata")
    if not isinstance(nm, dict) or not isinstance(om, dict):
        return
    for key in ("name", "namespace", "uid", "creationTimestamp"):
        if nm.get(key) and om.get(key) and nm[key] != om[key]:
            invalid(errs, f"metadata.{key}", shown(nm[key]), IMMUTABLE)


def validate_pod_update(new: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    nspec, ospec = new.get("spec"), old.get("spec")
    if not isinstance(nspec, dict) or not isinstance(ospec, dict):
        return
    old_deadline, new_deadline = ospec.get("activeDeadlineSeconds"), nspec.get("activeDeadlineSeconds")
    if is_int(old_deadline):
        if new_deadline is None:
            invalid(errs, "spec.activeDeadlineSeconds", None, "must not update from a positive integer to nil value")
        elif is_int(new_deadline) and new_deadline > old_deadline:
            invalid(errs, "spec.activeDeadlineSeconds", new_deadline, "must be less than or equal to previous value")
    # Tolerations may only be added (an existing one may change only its tolerationSeconds).
    new_tols = [t for t in nspec.get("tolerations") or [] if isinstance(t, dict)]
    for t in ospec.get("tolerations") or []:
        if not isinstance(t, dict):
            continue
        strip = {k: v for k, v in t.items() if k != "tolerationSeconds"}
        if not any({k: v for k, v in n.items() if k != "tolerationSeconds"} == strip for n in new_tols):
            forbidden(errs, "spec.tolerations", "existing toleration can not be modified except its tolerationSeconds")
            break
    # Compare what is left after taking the mutable fields from the old spec.
    masked = copy.deepcopy(nspec)
    for key in ("containers", "initContainers"):
        new_cs, old_cs = masked.get(key), ospec.get(key)
        if isinstance(new_cs, list) and isinstance(old_cs, list) and len(new_cs) == len(old_cs):
            for nc, oc in zip(new_cs, old_cs, strict=True):
                if isinstance(nc, dict) and isinstance(oc, dict) and "image" in oc:
                    nc["image"] = oc["image"]
    _only_deleted_gates(nspec, ospec, errs)
    for key in ("activeDeadlineSeconds", "tolerations", "ephemeralContainers", "schedulingGates"):
        _restore(masked, ospec, key)
    if ospec.get("schedulingGates"):
        # A gated pod's placement may still be narrowed (how a queueing controller such as Kueue picks
        # where a pod runs before it lifts the gate): keys added to its nodeSelector, terms to its affinity.
        _gated_placement(masked, ospec, errs)
    if isinstance(ospec.get("terminationGracePeriodSeconds"), int) and ospec["terminationGracePeriodSeconds"] < 0 \
            and masked.get("terminationGracePeriodSeconds") == 1:
        masked["terminationGracePeriodSeconds"] = ospec["terminationGracePeriodSeconds"]
    # kube-tui lets an update bind an unbound pod (the bind verb is the usual way); once bound, it's fixed.
    if not ospec.get("nodeName"):
        _restore(masked, ospec, "nodeName")
    if masked != ospec:
        forbidden(errs, "spec", POD_UPDATE_FORBIDDEN + _spec_diff(ospec, masked))
    _ephemeral_update(nspec, ospec, errs)


def _only_deleted_gates(nspec: dict[str, Any], ospec: dict[str, Any], errs: Errors) -> None:
    """validateOnlyDeletedSchedulingGates: a gate may be removed, never added after the pod's creation."""
    old = {g.get("name") for g in ospec.get("schedulingGates") or [] if isinstance(g, dict)}
    for i, gate in enumerate(nspec.get("schedulingGates") or []):
        name = gate.get("name") if isinstance(gate, dict) else None
        if name not in old:
            forbidden(errs, f"spec.schedulingGates[{i}].name",
                      f"only deletion is allowed, but found new scheduling gate '{name}'")


def _gated_placement(masked: dict[str, Any], ospec: dict[str, Any], errs: Errors) -> None:
    """validateNodeSelectorMutation and validateNodeAffinityMutation, for a pod that still has gates: what
    they allow is taken from the old spec in `masked`, so only what they refuse remains a difference."""
    new_sel, old_sel = masked.get("nodeSelector") or {}, ospec.get("nodeSelector") or {}
    if new_sel != old_sel:
        if isinstance(new_sel, dict) and all(new_sel.get(k) == v for k, v in old_sel.items()):
            _restore(masked, ospec, "nodeSelector")
        else:
            invalid(errs, "spec.nodeSelector", None, "only additions to spec.nodeSelector are allowed "
                    "(no mutations or deletions)")
            _restore(masked, ospec, "nodeSelector")
    new_aff = (masked.get("affinity") or {}).get("nodeAffinity")
    old_aff = (ospec.get("affinity") or {}).get("nodeAffinity")
    if new_aff == old_aff:
        return
    path = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
    old_terms = ((old_aff or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    new_terms = ((new_aff or {}).get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    if old_terms:
        if len(new_terms) != len(old_terms):
            invalid(errs, path, None, "no additions/deletions to non-empty NodeSelectorTerms list are allowed")
        else:
            for i, (nt, ot) in enumerate(zip(new_terms, old_terms, strict=True)):
                if not _only_additions(nt, ot):
                    invalid(errs, f"{path}[{i}]", None, "only additions are allowed (no mutations or deletions)")
    # while the pod is gated, its node affinity may change in every way the checks above let through
    affinity = dict(masked.get("affinity") or {})
    if old_aff is None:
        affinity.pop("nodeAffinity", None)
    else:
        affinity["nodeAffinity"] = copy.deepcopy(old_aff)
    if affinity or "affinity" in ospec:
        masked["affinity"] = affinity
    else:
        masked.pop("affinity", None)


def _only_additions(new: Any, old: Any) -> bool:
    """validateNodeSelectorTermHasOnlyAdditions: every old expression and field is still there."""
    if not isinstance(new, dict) or not isinstance(old, dict):
        return new == old
    for key in ("matchExpressions", "matchFields"):
        before, after = old.get(key) or [], new.get(key) or []
        if any(req not in after for req in before):
            return False
    return True


def _ephemeral_update(nspec: dict[str, Any], ospec: dict[str, Any], errs: Errors) -> None:
    """ValidatePodEphemeralContainersUpdate: ephemeral containers are only ever added (looked up by name,
    as a patch may reorder them)."""
    new = {c.get("name"): c for c in nspec.get("ephemeralContainers") or [] if isinstance(c, dict)}
    for old in ospec.get("ephemeralContainers") or []:
        if not isinstance(old, dict):
            continue
        name = old.get("name")
        if name not in new:
            forbidden(errs, "spec.ephemeralContainers", f'existing ephemeral containers "{name}" may not be removed')
        elif new[name] != old:
            forbidden(errs, "spec.ephemeralContainers", f'existing ephemeral containers "{name}" may not be changed')


def _restore(target: dict[str, Any], source: dict[str, Any], key: str) -> None:
    if key in source:
        target[key] = copy.deepcopy(source[key])
    else:
        target.pop(key, None)


def _spec_diff(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Which top-level spec fields changed, in place of the Go struct diff Kubernetes prints."""
    changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return "\n  changed: " + ", ".join(f"spec.{k}" for k in changed) if changed else ""


def validate_workload_update(new: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    nspec, ospec = new.get("spec") or {}, old.get("spec") or {}
    if isinstance(nspec, dict) and isinstance(ospec, dict) and nspec.get("selector") != ospec.get("selector"):
        invalid(errs, "spec.selector", None, IMMUTABLE)


def validate_job_update(new: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    validate_workload_update(new, old, errs)
    nspec, ospec = new.get("spec") or {}, old.get("spec") or {}
    if not isinstance(nspec, dict) or not isinstance(ospec, dict):
        return
    # A suspended Job's template may still be adjusted before it starts (Kubernetes allows a subset).
    if nspec.get("template") != ospec.get("template") and not ospec.get("suspend"):
        invalid(errs, "spec.template", None, IMMUTABLE)
    if nspec.get("completions") != ospec.get("completions"):
        invalid(errs, "spec.completions", shown(nspec.get("completions")), IMMUTABLE)
    # ValidateJobSpecUpdate: what the controller has already acted on may not change (maxFailedIndexes may)
    for key in ("completionMode", "podFailurePolicy", "backoffLimitPerIndex", "managedBy", "successPolicy"):
        if nspec.get(key) != ospec.get(key):
            invalid(errs, f"spec.{key}", shown(nspec.get(key)), IMMUTABLE)


def validate_service_update(new: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    nip = (new.get("spec") or {}).get("clusterIP")
    oip = (old.get("spec") or {}).get("clusterIP")
    # The server carries the allocated IP over when the client leaves it out; a different one is an error.
    if oip and nip and nip != oip and (new.get("spec") or {}).get("type") != "ExternalName":
        invalid(errs, "spec.clusterIP", shown(nip), IMMUTABLE)


def validate_node_update(new: dict[str, Any], old: dict[str, Any], errs: Errors) -> None:
    ocidr = (old.get("spec") or {}).get("podCIDR")
    ncidr = (new.get("spec") or {}).get("podCIDR")
    if ocidr and ncidr != ocidr:
        forbidden(errs, "spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid')
