"""PodDisruptionBudget helpers shared by the disruption controller, the Eviction subresource and preemption.

Ported from k8s.io/component-helpers/apps/poddisruptionbudget and intstr.GetScaledValueFromIntOrPercent.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from control.api import meta
from control.api.labels import Selector, from_label_selector
from control.errors import ApiError

DISRUPTION_ALLOWED = "DisruptionAllowed"
DISRUPTION_TARGET = "DisruptionTarget"  # the pod condition an eviction or a preemption sets before the delete
SUFFICIENT_PODS = "SufficientPods"
INSUFFICIENT_PODS = "InsufficientPods"
SYNC_FAILED = "SyncFailed"
IF_HEALTHY_BUDGET = "IfHealthyBudget"
ALWAYS_ALLOW = "AlwaysAllow"
UNHEALTHY_POD_EVICTION_POLICIES = (ALWAYS_ALLOW, IF_HEALTHY_BUDGET)
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"  # policyv1.DisruptionBudgetCause
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."
MORE_THAN_ONE = "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."


def selector_of(pdb: dict) -> Selector | None:
    """The budget's selector (policy/v1: null selects no pod, {} every pod of its namespace); None when bad.
    Parsed once per distinct selector: every pod event and every preemption asks, for every budget."""
    raw = (pdb.get("spec") or {}).get("selector")
    try:
        return _parsed(json.dumps(raw, sort_keys=True))
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=4096)
def _parsed(raw: str) -> Selector | None:
    try:
        return from_label_selector(json.loads(raw))
    except ApiError:
        return None


def selects(pdb: dict, pod: dict) -> bool:
    pmd, bmd = pod.get("metadata") or {}, pdb.get("metadata") or {}
    if (pmd.get("namespace") or "default") != (bmd.get("namespace") or "default"):
        return False
    sel = selector_of(pdb)
    return sel is not None and sel.matches(pmd.get("labels") or {})


def matching(pdbs: list[dict], pod: dict) -> list[dict]:
    """The budgets that cover a pod (the eviction subresource's getPodDisruptionBudgets)."""
    return [b for b in pdbs if selects(b, pod)]


def scaled_value(value: int | str, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, a percent of `total` rounded up or down."""
    if isinstance(value, int):
        return value
    text = str(value)
    if not text.endswith("%") or not text[:-1].isdigit():
        raise ValueError(f'invalid value for IntOrString: invalid value "{text}": must be an integer or percentage')
    n = int(text[:-1]) * total
    return math.ceil(n / 100) if round_up else n // 100


def set_disruption_allowed_condition(pdb: dict) -> None:
    """UpdateDisruptionAllowedCondition: DisruptionAllowed True (SufficientPods) while any disruption is
    allowed, else False (InsufficientPods); lastTransitionTime moves only when the status does."""
    status = pdb.setdefault("status", {})
    allowed = int(status.get("disruptionsAllowed") or 0) > 0
    set_condition(status, "True" if allowed else "False", SUFFICIENT_PODS if allowed else INSUFFICIENT_PODS, "",
                  int(status.get("observedGeneration") or 0))


def set_condition(status: dict, value: str, reason: str, message: str, generation: int) -> None:
    """apimeta.SetStatusCondition for DisruptionAllowed."""
    conds = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    cur = next((c for c in conds if c.get("type") == DISRUPTION_ALLOWED), None)
    if cur is None:
        cur = {"type": DISRUPTION_ALLOWED}
        conds.append(cur)
    if cur.get("status") != value or not cur.get("lastTransitionTime"):
        cur["lastTransitionTime"] = meta.now()
    cur.update(status=value, reason=reason, message=message, observedGeneration=generation)
    status["conditions"] = conds


def conditions_up_to_date(pdb: dict) -> bool:
    status = pdb.get("status") or {}
    cond = next((c for c in status.get("conditions") or [] if c.get("type") == DISRUPTION_ALLOWED), None)
    if cond is None or status.get("observedGeneration") != (pdb.get("metadata") or {}).get("generation"):
        return False
    if int(status.get("disruptionsAllowed") or 0) > 0:
        return cond.get("status") == "True" and cond.get("reason") == SUFFICIENT_PODS
    return cond.get("status") == "False" and cond.get("reason") == INSUFFICIENT_PODS


def empty_status() -> dict[str, Any]:
    """A new budget's status, as the API server writes it on create (these four have no omitempty)."""
    return {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0, "expectedPods": 0}
