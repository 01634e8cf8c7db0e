"""Indexed Jobs' completion indexes (pkg/controller/job/indexed_job_utils.go).

Each pod of an Indexed Job carries its index in an annotation and a label; the Job's status keeps the
succeeded indexes (and, with backoffLimitPerIndex, the failed ones) as ordered intervals, written in the
compressed form "0-2,5,7,8". With backoffLimitPerIndex each pod also carries how many pods of its index
failed before it, so the index fails once that count reaches the limit.
"""

from __future__ import annotations

from collections.abc import Iterable

from control.controllers import controller_utils as cu
from control.controllers import job_backoff
from control.controllers import job_failure_policy as failure_policy

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"  # the annotation, and the label of the same name
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
# batch.JobIndexFailureCountAnnotation / JobIndexIgnoredFailureCountAnnotation: the failures (counted, and
# ignored by the podFailurePolicy) of the pods of the index before this one
INDEX_FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"
INDEX_IGNORED_FAILURE_COUNT = "batch.kubernetes.io/job-index-ignored-failure-count"
MAX_INT32 = 2**31 - 1
# names.MaxGeneratedNameLength: a generateName is cut to leave room for the 5 random characters
MAX_GENERATED_NAME_LENGTH = 58

Intervals = list[tuple[int, int]]  # ordered, disjoint, not adjacent: [(first, last), ...]


def is_indexed(job: dict) -> bool:
    return (job.get("spec") or {}).get("completionMode") == "Indexed"


def has_backoff_limit_per_index(job: dict) -> bool:
    return (job.get("spec") or {}).get("backoffLimitPerIndex") is not None


def completion_index(pod: dict) -> int | None:
    """getCompletionIndex: the pod's index from its annotation, None when missing, malformed or negative."""
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(COMPLETION_INDEX)
    if value is None:
        return None
    try:
        ix = int(str(value))
    except ValueError:
        return None
    return ix if ix >= 0 else None


def parse_intervals(text: str | None, completions: int) -> Intervals:
    """succeededIndexesFromString: "1-3,5" -> [(1, 3), (5, 5)]; corrupt parts skipped, cut at completions."""
    out: Intervals = []
    for part in (text or "").split(","):
        if not part:
            continue
        bounds = part.split("-")
        try:
            first = int(bounds[0])
            last = int(bounds[1]) if len(bounds) > 1 else first
        except ValueError:
            continue
        if first >= completions:
            break
        last = min(last, completions - 1)
        if out and out[-1][1] == first - 1:
            out[-1] = (out[-1][0], last)
        else:
            out.append((first, last))
    return out


def format_intervals(intervals: Intervals) -> str:
    """orderedIntervals.String: two neighbours are written "3,4", longer runs "3-6"."""
    parts = []
    for first, last in intervals:
        if last == first:
            parts.append(str(first))
        elif last == first + 1:
            parts.append(f"{first},{last}")
        else:
            parts.append(f"{first}-{last}")
    return ",".join(parts)


def with_indexes(intervals: Intervals, indexes: Iterable[int]) -> Intervals:
    """withOrderedIndexes: the intervals with the indexes added, merged where they touch."""
    merged = sorted([*intervals, *((i, i) for i in set(indexes))])
    out: Intervals = []
    for first, last in merged:
        if out and first <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def total(intervals: Intervals) -> int:
    return sum(last - first + 1 for first, last in intervals)


def has(intervals: Intervals, ix: int) -> bool:
    return any(first <= ix <= last for first, last in intervals)


def succeeded_indexes(previous: str | None, pods: list[dict], completions: int) -> Intervals:
    """calculateSucceededIndexes: the status' completed indexes plus those of succeeded pods with a valid index."""
    new = []
    for p in pods:
        ix = completion_index(p)
        if cu.phase(p) == "Succeeded" and ix is not None and ix < completions:
            new.append(ix)
    return with_indexes(parse_intervals(previous, completions), new)


def first_pending_indexes(active_pods: list[dict], succeeded: Intervals, count: int, completions: int,
                          failed: Intervals | None = None) -> list[int]:
    """The `count` lowest indexes below completions that no active pod runs, none has succeeded and
    (with backoffLimitPerIndex) has not failed."""
    busy = with_indexes([*succeeded, *(failed or [])], (ix for p in active_pods if (ix := completion_index(p)) is not None))
    out: list[int] = []
    candidate = 0
    for first, last in [*busy, (completions, completions)]:
        while candidate < min(first, completions) and len(out) < count:
            out.append(candidate)
            candidate += 1
        candidate = max(candidate, last + 1)
        if len(out) >= count or candidate >= completions:
            break
    return out


def duplicated_index_pods(active_pods: list[dict], completions: int) -> tuple[list[dict], list[dict]]:
    """appendDuplicatedIndexPodsForRemoval: (to remove, to keep) among active pods.

    Pods without an index or with one out of range go; of pods sharing an index, the one most worth
    keeping stays (the last in the deletion ranking) and the others go.
    """
    remove: list[dict] = []
    by_index: dict[int, list[dict]] = {}
    for p in active_pods:
        ix = completion_index(p)
        if ix is None or ix >= completions:
            remove.append(p)
        else:
            by_index.setdefault(ix, []).append(p)
    keep: list[dict] = []
    for ix in sorted(by_index):
        same = sorted(by_index[ix], key=cu.deletion_cost_key)
        remove.extend(same[:-1])
        keep.append(same[-1])
    return remove, keep


def generate_name(job_name: str, index: int) -> str:
    """podGenerateNameWithIndex: "<job>-<index>-", the job's name cut so the whole fits a generated name."""
    suffix = f"-{index}-"
    prefix = job_name + suffix
    if len(prefix) > MAX_GENERATED_NAME_LENGTH:
        prefix = prefix[:MAX_GENERATED_NAME_LENGTH - len(suffix)] + suffix
    return prefix


def add_env(template: dict) -> None:
    """addCompletionIndexEnvVariables: JOB_COMPLETION_INDEX in every container, from the pod's index label
    (the PodIndexLabel feature, GA in 1.32); a container that sets the variable itself keeps its own."""
    spec = template.get("spec") or {}
    for group in ("initContainers", "containers"):
        for c in spec.get(group) or []:
            env = c.setdefault("env", [])
            if any(e.get("name") == COMPLETION_INDEX_ENV for e in env):
                continue
            env.append({"name": COMPLETION_INDEX_ENV,
                        "valueFrom": {"fieldRef": {"fieldPath": f"metadata.labels['{COMPLETION_INDEX}']"}}})


def set_index(template: dict, job_name: str, index: int) -> None:
    """The annotation, the label and the hostname "<job>-<index>" of the pod for one index."""
    md = template.setdefault("metadata", {})
    md.setdefault("annotations", {})[COMPLETION_INDEX] = str(index)
    md.setdefault("labels", {})[COMPLETION_INDEX] = str(index)
    template.setdefault("spec", {})["hostname"] = f"{job_name}-{index}"


# --- backoffLimitPerIndex ---------------------------------------------------------------------------


def _annotation_count(pod: dict, key: str) -> int:
    """parseInt32: a count annotation's value, 0 when missing, not a number, negative or beyond int32."""
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(key)
    try:
        n = int(str(value)) if value is not None else 0
    except ValueError:
        return 0
    return n if 0 <= n <= MAX_INT32 else 0


def index_failure_count(pod: dict) -> int:
    """getIndexFailureCount: the counted failures of the pods of this pod's index before it."""
    return _annotation_count(pod, INDEX_FAILURE_COUNT)


def index_absolute_failure_count(pod: dict) -> int:
    """getIndexAbsoluteFailureCount: the failures before this pod, counted and ignored."""
    return _annotation_count(pod, INDEX_FAILURE_COUNT) + _annotation_count(pod, INDEX_IGNORED_FAILURE_COUNT)


def is_index_failed(job: dict, pod: dict) -> bool:
    """isIndexFailed: the pod failed and fails its index, by a FailIndex rule or by being the failure that
    reaches backoffLimitPerIndex (an Ignore rule's failure never does)."""
    if cu.phase(pod) != "Failed":
        return False
    spec = job.get("spec") or {}
    m = failure_policy.match(spec.get("podFailurePolicy"), pod)
    if m.action == failure_policy.FAIL_INDEX:
        return True
    return m.counts and index_failure_count(pod) >= int(spec.get("backoffLimitPerIndex") or 0)


def failed_indexes(previous: str | None, job: dict, pods: list[dict], completions: int) -> Intervals:
    """calculateFailedIndexes: the status' failed indexes plus those of pods with a valid index that failed them."""
    new = []
    for p in pods:
        ix = completion_index(p)
        if ix is not None and ix < completions and is_index_failed(job, p):
            new.append(ix)
    return with_indexes(parse_intervals(previous, completions), new)


def last_failed_pods(job: dict, pods: list[dict], active_pods: list[dict], succeeded: Intervals,
                     failed: Intervals) -> dict[int, dict]:
    """getPodsWithDelayedDeletionPerIndex: for each index still to be run again (not succeeded, not failed,
    no active pod), the failed pod its replacement replaces: the one with the most failures before it,
    the last to finish of those. Its annotations and finish time give the replacement's count and back-off."""
    completions = int((job.get("spec") or {}).get("completions") or 0)
    active = {ix for p in active_pods if (ix := completion_index(p)) is not None}
    out: dict[int, dict] = {}
    for p in pods:
        ix = completion_index(p)
        if cu.phase(p) != "Failed" or ix is None or ix >= completions:
            continue
        if has(succeeded, ix) or has(failed, ix) or ix in active:
            continue
        last = out.get(ix)
        if last is None or (index_absolute_failure_count(last) <= index_absolute_failure_count(p)
                            and job_backoff.finished_time(p) >= job_backoff.finished_time(last)):
            out[ix] = p
    return out


def new_index_failure_counts(job: dict, replaced: dict | None) -> tuple[int, int]:
    """getNewIndexFailureCounts: (failures, ignored failures) of the index for the pod replacing `replaced`."""
    if replaced is None:
        return 0, 0
    count, ignored = index_failure_count(replaced), _annotation_count(replaced, INDEX_IGNORED_FAILURE_COUNT)
    if failure_policy.match((job.get("spec") or {}).get("podFailurePolicy"), replaced).counts:
        count += 1
    else:
        ignored += 1
    return count, ignored


def remaining_backoff(last_failed: dict | None, base: float, cap: float, now: float) -> float:
    """getRemainingTimePerIndex: how long the index whose last failed pod is `last_failed` still waits
    before its replacement; the index's failures are the pod's count annotations plus the pod itself."""
    if last_failed is None:
        return 0.0
    failures = index_absolute_failure_count(last_failed) + 1
    return job_backoff.remaining_for_failures(base, cap, failures, job_backoff.finished_time(last_failed), now)


def set_failure_counts(template: dict, job: dict, replaced: dict | None) -> None:
    """addIndexFailureCountAnnotation: the new pod of an index carries the index's failures so far."""
    count, ignored = new_index_failure_counts(job, replaced)
    annotations = template.setdefault("metadata", {}).setdefault("annotations", {})
    annotations[INDEX_FAILURE_COUNT] = str(count)
    if ignored > 0:
        annotations[INDEX_IGNORED_FAILURE_COUNT] = str(ignored)
