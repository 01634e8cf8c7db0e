"""A Job's podFailurePolicy (pkg/controller/job/pod_failure_policy.go): which rule a failed pod matches.

Rules are tried in order; the first whose onExitCodes or onPodConditions matches decides: FailJob fails
the Job at once, FailIndex fails the pod's index, Ignore does not count the failure, Count counts it.
A rule with an action this controller does not know is skipped, as Kubernetes asks clients to do.
"""

from __future__ import annotations

from dataclasses import dataclass

FAIL_JOB = "FailJob"
FAIL_INDEX = "FailIndex"
IGNORE = "Ignore"
COUNT = "Count"


@dataclass(frozen=True)
class Match:
    action: str | None  # None: no rule matched, the failure is handled the default way (counted)
    counts: bool  # whether the failure counts towards backoffLimit (Ignore does not)
    message: str | None = None  # the Job's failure message, for FailJob


NO_MATCH = Match(None, True)


def _exit_code_matches(code: int, req: dict) -> bool:
    values = req.get("values") or []
    if req.get("operator") == "In":
        return code in values
    if req.get("operator") == "NotIn":
        return code not in values
    return False


def _matching_container(statuses: list[dict], req: dict) -> dict | None:
    """The first terminated container (exit code not 0) whose code the requirement matches."""
    name = req.get("containerName")
    for cs in statuses:
        term = (cs.get("state") or {}).get("terminated")
        if term is None or (name is not None and cs.get("name") != name):
            continue
        code = int(term.get("exitCode") or 0)
        if code != 0 and _exit_code_matches(code, req):
            return cs
    return None


def _matching_condition(conditions: list[dict], patterns: list[dict]) -> dict | None:
    for cond in conditions:
        for pattern in patterns:
            if cond.get("type") == pattern.get("type") and cond.get("status") == pattern.get("status"):
                return cond
    return None


def match(policy: dict | None, pod: dict) -> Match:
    """matchPodFailurePolicy for one failed pod."""
    if not policy:
        return NO_MATCH
    st = pod.get("status") or {}
    md = pod.get("metadata") or {}
    who = f"{md.get('namespace', 'default')}/{md.get('name', '')}"
    for index, rule in enumerate(policy.get("rules") or []):
        action = rule.get("action")
        if action not in (FAIL_JOB, FAIL_INDEX, IGNORE, COUNT):
            continue
        if rule.get("onExitCodes") is not None:
            req = rule["onExitCodes"]
            cs = _matching_container(st.get("containerStatuses") or [], req) or \
                _matching_container(st.get("initContainerStatuses") or [], req)
            if cs is None:
                continue
            code = int(cs["state"]["terminated"].get("exitCode") or 0)
            message = f"Container {cs.get('name')} for pod {who} failed with exit code {code} matching {action} rule at index {index}"
        elif rule.get("onPodConditions") is not None:
            cond = _matching_condition(st.get("conditions") or [], rule["onPodConditions"])
            if cond is None:
                continue
            message = f"Pod {who} has condition {cond.get('type')} matching {action} rule at index {index}"
        else:
            continue
        if action == IGNORE:
            return Match(IGNORE, False)
        if action == FAIL_JOB:
            return Match(FAIL_JOB, True, message)
        return Match(action, True)
    return NO_MATCH
