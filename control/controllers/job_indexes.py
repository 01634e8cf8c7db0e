"""Indexed Jobs' completion indexes (pkg/controller/job/indexed_job_utils.go).

Each pod of an Indexed Job carries its index in an annotation and a label; the Job's status keeps the
succeeded indexes as ordered intervals, written in the compressed form "0-2,5,7,8".
"""

from __future__ import annotations

from collections.abc import Iterable

from control.controllers import controller_utils as cu

COMPLETION_INDEX = "batch.kubernetes.io/job-completion-index"  # the annotation, and the label of the same name
COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX"
# names.MaxGeneratedNameLength: a generateName is cut to leave room for the 5 random characters
MAX_GENERATED_NAME_LENGTH = 58

Intervals = list[tuple[int, int]]  # ordered, disjoint, not adjacent: [(first, last), ...]


def is_indexed(job: dict) -> bool:
    return (job.get("spec") or {}).get("completionMode") == "Indexed"


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


def first_pending_indexes(active_pods: list[dict], succeeded: Intervals, count: int, completions: int) -> list[int]:
    """The `count` lowest indexes below completions that no active pod runs and none has succeeded."""
    busy = with_indexes(succeeded, (ix for p in active_pods if (ix := completion_index(p)) is not None))
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
