"""A Job's pod replacement back-off (pkg/controller/job/backoff_utils.go): when a failed pod finished, and what
is left of the wait base * 2^(failures-1), capped, since then. With backoffLimitPerIndex each index waits
on its own (job_indexes.remaining_backoff).
"""

from __future__ import annotations

from control.api import meta


def finished_time(pod: dict) -> float:
    """getFinishedTime: when every container has terminated, the last finishedAt; else when the pod's Ready
    condition turned False; else its deletion time less its grace period; else its creation time."""
    st = pod.get("status") or {}
    ends = []
    for cs in st.get("containerStatuses") or []:
        end = meta.parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
        if end is None:
            ends = []
            break
        ends.append(end)
    if ends:
        return max(ends)
    for c in st.get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "False":
            t = meta.parse_time(c.get("lastTransitionTime"))
            if t is not None:
                return t
    md = pod.get("metadata") or {}
    deleted = meta.parse_time(md.get("deletionTimestamp"))
    if deleted is not None:
        return deleted - float(md.get("deletionGracePeriodSeconds") or 0)
    return meta.parse_time(md.get("creationTimestamp")) or 0.0


def remaining_for_failures(base: float, cap: float, failures: int, last_failure: float, now: float) -> float:
    """getRemainingTimeForFailuresCount: what is left of base * 2^(failures-1) (at most cap) since last_failure."""
    if failures <= 0:
        return 0.0
    delay = base
    for _ in range(1, failures):
        delay *= 2
        if delay >= cap:
            delay = cap
            break
    return max(0.0, delay - (now - last_failure))

