"""An Indexed Job's successPolicy (pkg/controller/job/success_policy.go): when the Job succeeds early.

Rules are tried in order; the first met declares the Job succeeded (SuccessCriteriaMet, reason SuccessPolicy,
then Complete once its remaining pods are gone). A rule with succeededIndexes is met when all of those indexes
succeeded, or, with succeededCount too, that many of them; a rule with only succeededCount when that many
indexes succeeded.
"""

from __future__ import annotations

from control.controllers import job_indexes

REASON = "SuccessPolicy"  # batch.JobReasonSuccessPolicy


def _overlap(rule: job_indexes.Intervals, succeeded: job_indexes.Intervals) -> int:
    """How many of the rule's indexes succeeded (matchSucceededIndexesRule's walk over both lists)."""
    contains = r = s = 0
    while r < len(rule) and s < len(succeeded):
        overlap = min(rule[r][1], succeeded[s][1]) - max(rule[r][0], succeeded[s][0]) + 1
        if overlap > 0:
            contains += overlap
        if succeeded[s][1] < rule[r][1]:
            s += 1
        elif succeeded[s][1] > rule[r][1]:
            r += 1
        else:
            r += 1
            s += 1
    return contains


def match(policy: dict | None, completions: int, succeeded: job_indexes.Intervals) -> str | None:
    """matchSuccessPolicy: the SuccessCriteriaMet message of the first rule met ("Matched rules at index 0"),
    or None."""
    if not policy or not succeeded:
        return None
    for index, rule in enumerate(policy.get("rules") or []):
        count = rule.get("succeededCount")
        if rule.get("succeededIndexes") is not None:
            required = job_indexes.parse_intervals(str(rule["succeededIndexes"]), completions)
            if not required:
                continue  # unparsable or out of range: the rule never matches
            contains = _overlap(required, succeeded)
            if contains == job_indexes.total(required) or (count is not None and contains >= int(count)):
                return f"Matched rules at index {index}"
        elif count is not None and job_indexes.total(succeeded) >= int(count):
            return f"Matched rules at index {index}"
    return None
