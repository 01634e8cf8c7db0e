"""Pod priority: the PriorityClasses every cluster has, and the Priority admission plugin.

Like plugin/pkg/admission/priority: a pod's `spec.priority` (and `spec.preemptionPolicy`) come from the
PriorityClass its `priorityClassName` names, else from the global default class, else 0. A pod may not set
them itself to anything else. The scheduler orders its queue by priority and preempts lower-priority pods
for a higher one (control/scheduler/preemption.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from control import errors

HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000
SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY
SYSTEM_PREFIX = "system-"
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")
DEFAULT_PREEMPTION_POLICY = "PreemptLowerPriority"
DEFAULT_PRIORITY = 0  # scheduling.DefaultPriorityWhenNoDefaultClassExists

# pkg/apis/scheduling/v1/defaults.go: SystemPriorityClasses()
SYSTEM_CLASSES: tuple[dict[str, Any], ...] = (
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "system-node-critical"},
     "value": SYSTEM_CRITICAL_PRIORITY + 1000,
     "description": "Used for system critical pods that must not be moved from their current node."},
    {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "system-cluster-critical"},
     "value": SYSTEM_CRITICAL_PRIORITY,
     "description": "Used for system critical pods that must run in the cluster, but can be moved to another node "
                    "if necessary."},
)


def known_system_class(name: str, value: Any, global_default: bool) -> str:
    """IsKnownSystemPriorityClass: "" when `name` is one of the system classes with its value, else why not."""
    for spc in SYSTEM_CLASSES:
        if spc["metadata"]["name"] == name:
            if value != spc["value"]:
                return f"value of {name} PriorityClass must be {spc['value']}"
            if global_default:
                return f"globalDefault of {name} PriorityClass must be false"
            return ""
    return f"{name} is not a known system priority class"


def is_system_class(name: str) -> bool:
    return any(spc["metadata"]["name"] == name for spc in SYSTEM_CLASSES)


def default_class(classes: Iterable[dict]) -> dict | None:
    """getDefaultPriorityClass: the global default class with the lowest value (if several claim it)."""
    best: dict | None = None
    for pc in classes:
        if pc.get("globalDefault") and (best is None or pc.get("value", 0) < best.get("value", 0)):
            best = pc
    return best


def admit_pod(pod: dict, classes: dict[str, dict], *, name: str | None = None) -> None:
    """Set a new pod's priority from its class (Priority admission, on create). Raises 403 Forbidden as
    kube-apiserver does when the class does not exist or the pod set a value the class does not give;
    `name`: what the message calls the pod (its generateName when the server made its name up)."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return  # validation reports it
    md = pod.get("metadata") or {}
    if name is None:
        name = str(md.get("name") or md.get("generateName") or "")
    class_name = spec.get("priorityClassName") or ""
    if not class_name:
        pc = default_class(classes.values())
        if pc is None:
            priority, policy = DEFAULT_PRIORITY, DEFAULT_PREEMPTION_POLICY
        else:
            spec["priorityClassName"] = pc["metadata"]["name"]
            priority, policy = pc.get("value", 0), pc.get("preemptionPolicy") or DEFAULT_PREEMPTION_POLICY
    else:
        pc = classes.get(str(class_name))
        if pc is None:
            raise _forbidden(name, f"no PriorityClass with name {class_name} was found")
        priority, policy = pc.get("value", 0), pc.get("preemptionPolicy") or DEFAULT_PREEMPTION_POLICY
    given = spec.get("priority")
    if given is not None and given != priority:
        raise _forbidden(name, f"the integer value of priority ({given}) must not be provided in pod spec; "
                               f"priority admission controller computed {priority} from the given PriorityClass name")
    given_policy = spec.get("preemptionPolicy")
    if given_policy is not None and given_policy != policy:
        raise _forbidden(name, f"the string value of PreemptionPolicy ({given_policy}) must not be provided in pod "
                               f"spec; priority admission controller computed {policy} from the given PriorityClass "
                               "name")
    spec["priority"] = priority
    spec["preemptionPolicy"] = policy


def keep_pod_priority(new: dict, old: dict) -> None:
    """On update, the priority admission set on create stays (a manifest re-applied carries none)."""
    spec, old_spec = new.get("spec"), old.get("spec") or {}
    if isinstance(spec, dict):
        for key in ("priority", "preemptionPolicy"):
            if spec.get(key) is None and old_spec.get(key) is not None:
                spec[key] = old_spec[key]


def admit_class(pc: dict, classes: dict[str, dict]) -> None:
    """Only one PriorityClass may be the global default."""
    if not pc.get("globalDefault"):
        return
    name = (pc.get("metadata") or {}).get("name")
    other = next((c for n, c in classes.items() if n != name and c.get("globalDefault")), None)
    if other is not None:
        raise errors.ApiError(403, "Forbidden", f'priorityclasses.scheduling.k8s.io "{name}" is forbidden: '
                                                f"PriorityClass {other['metadata']['name']} is already marked as "
                                                "default. Only one default can exist",
                              {"name": name, "group": "scheduling.k8s.io", "kind": "priorityclasses"})


def _forbidden(name: str, why: str) -> errors.ApiError:
    return errors.ApiError(403, "Forbidden", f'pods "{name}" is forbidden: {why}' if name else f"pods is forbidden: {why}",
                           {"name": name, "kind": "pods"})
