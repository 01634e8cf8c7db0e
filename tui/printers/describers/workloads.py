"""`kubectl describe` for Deployments, ReplicaSets, DaemonSets, StatefulSets, Jobs and CronJobs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from control.api.labels import format_label_selector
from tui.printers.describers.pod import describe_pod_template
from tui.printers.describers.writer import (
    PrefixWriter,
    annotations_multiline,
    controlled_by,
    describe_events,
    labels_multiline,
)
from tui.printers.status import get_path, human_duration, meta_of, parse_time, rfc1123z


def _conditions(w: PrefixWriter, conditions: list[Mapping[str, Any]] | None) -> None:
    if conditions:
        w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.write(1, "----\t------\t------\n")
        for c in conditions:
            w.write(1, f"{c.get('type')} \t{c.get('status')}\t{c.get('reason', '')}\n")


def _replica_sets_cell(rss: list[Mapping[str, Any]]) -> str:
    if not rss:
        return "<none>"
    return ", ".join(f"{meta_of(r).get('name')} ({get_path(r, 'status', 'replicas', default=0)}/"
                     f"{get_path(r, 'spec', 'replicas', default=0)} replicas created)" for r in rss)


def describe_deployment(d: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None,
                         replicasets: list[Mapping[str, Any]] | None) -> str:
    w = PrefixWriter()
    meta, spec, st = meta_of(d), d.get("spec") or {}, d.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    w.write(0, f"Replicas:\t{spec.get('replicas', 0)} desired | {st.get('updatedReplicas', 0)} updated | "
               f"{st.get('replicas', 0)} total | {st.get('availableReplicas', 0)} available | "
               f"{st.get('unavailableReplicas', 0)} unavailable\n")
    strategy = spec.get("strategy") or {}
    w.write(0, f"StrategyType:\t{strategy.get('type', '')}\n")
    w.write(0, f"MinReadySeconds:\t{spec.get('minReadySeconds', 0)}\n")
    ru = strategy.get("rollingUpdate")
    if ru:
        w.write(0, f"RollingUpdateStrategy:\t{ru.get('maxUnavailable')} max unavailable, "
                   f"{ru.get('maxSurge')} max surge\n")
    describe_pod_template(w, spec.get("template"))
    _conditions(w, st.get("conditions"))
    if replicasets is not None:
        new = [r for r in replicasets if _is_current_rs(r, spec.get("template"))][:1]
        new_name = meta_of(new[0]).get("name") if new else None
        old = [r for r in replicasets if meta_of(r).get("name") != new_name
               and (get_path(r, "spec", "replicas", default=0) or get_path(r, "status", "replicas", default=0))]
        w.write(0, f"OldReplicaSets:\t{_replica_sets_cell(old)}\n")
        w.write(0, f"NewReplicaSet:\t{_replica_sets_cell(new)}\n")
    describe_events(w, events, now)
    return w.text()


def _is_current_rs(rs: Mapping[str, Any], template: Mapping[str, Any] | None) -> bool:
    """The new ReplicaSet has the deployment's pod template (ignoring the pod-template-hash label)."""
    mine = json.loads(json.dumps(get_path(rs, "spec", "template") or {}))
    (mine.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
    theirs = json.loads(json.dumps(template or {}))
    return mine == theirs


def _pods_status(w: PrefixWriter, pods: list[Mapping[str, Any]] | None) -> None:
    """The controller's pods by phase, as kubectl's ReplicaSet and DaemonSet describers count them."""
    phases = [get_path(p, "status", "phase", default="") for p in pods or []]
    w.write(0, f"Pods Status:\t{phases.count('Running')} Running / {phases.count('Pending')} Waiting / "
               f"{phases.count('Succeeded')} Succeeded / {phases.count('Failed')} Failed\n")


def describe_replicaset(rs: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None,
                         pods: list[Mapping[str, Any]] | None) -> str:
    w = PrefixWriter()
    meta, spec, st = meta_of(rs), rs.get("spec") or {}, rs.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    if controlled_by(rs):
        w.write(0, f"Controlled By:\t{controlled_by(rs)}\n")
    w.write(0, f"Replicas:\t{st.get('replicas', 0)} current / {spec.get('replicas', 0)} desired\n")
    _pods_status(w, pods)
    describe_pod_template(w, spec.get("template"))
    _conditions(w, st.get("conditions"))
    describe_events(w, events, now)
    return w.text()


def describe_daemonset(ds: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None,
                       pods: list[Mapping[str, Any]] | None) -> str:
    """kubectl's DaemonSetDescriber: the node counts the controller reports, and its pods' phases."""
    w = PrefixWriter()
    meta, spec, st = meta_of(ds), ds.get("spec") or {}, ds.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    node_selector = get_path(spec, "template", "spec", "nodeSelector") or {}
    w.write(0, "Node-Selector:\t" + (",".join(f"{k}={v}" for k, v in sorted(node_selector.items())) or "<none>") + "\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Desired Number of Nodes Scheduled: {st.get('desiredNumberScheduled', 0)}\n")
    w.write(0, f"Current Number of Nodes Scheduled: {st.get('currentNumberScheduled', 0)}\n")
    w.write(0, f"Number of Nodes Scheduled with Up-to-date Pods: {st.get('updatedNumberScheduled', 0)}\n")
    w.write(0, f"Number of Nodes Scheduled with Available Pods: {st.get('numberAvailable', 0)}\n")
    w.write(0, f"Number of Nodes Misscheduled: {st.get('numberMisscheduled', 0)}\n")
    _pods_status(w, pods)
    describe_pod_template(w, spec.get("template"))
    describe_events(w, events, now)
    return w.text()


def describe_statefulset(sts: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None,
                         pods: list[Mapping[str, Any]] | None) -> str:
    """kubectl's StatefulSetDescriber: replicas, the update strategy, its pods' phases, template and claims."""
    w = PrefixWriter()
    meta, spec, st = meta_of(sts), sts.get("spec") or {}, sts.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.get('creationTimestamp'))}\n")
    w.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Replicas:\t{spec.get('replicas', 0)} desired | {st.get('replicas', 0)} total\n")
    strategy = spec.get("updateStrategy") or {}
    w.write(0, f"Update Strategy:\t{strategy.get('type', '')}\n")
    ru = strategy.get("rollingUpdate")
    if isinstance(ru, dict) and ru.get("partition") is not None:
        w.write(1, f"Partition:\t{ru['partition']}\n")
        if ru.get("maxUnavailable") is not None:
            w.write(1, f"MaxUnavailable:\t{ru['maxUnavailable']}\n")
    _pods_status(w, pods)
    describe_pod_template(w, spec.get("template"))
    claims = [c for c in spec.get("volumeClaimTemplates") or [] if isinstance(c, Mapping)]
    if not claims:
        w.write(0, "Volume Claims:\t<none>\n")
    else:
        w.write(0, "Volume Claims:\n")
        for c in claims:
            cmeta, cspec = c.get("metadata") or {}, c.get("spec") or {}
            w.write(1, f"Name:\t{cmeta.get('name', '')}\n")
            storage_class = (cmeta.get("annotations") or {}).get("volume.beta.kubernetes.io/storage-class") \
                or cspec.get("storageClassName") or ""
            w.write(1, f"StorageClass:\t{storage_class}\n")
            labels_multiline(w, "Labels", cmeta.get("labels"), level=1)
            labels_multiline(w, "Annotations", cmeta.get("annotations"), level=1)
            capacity = ((cspec.get("resources") or {}).get("requests") or {}).get("storage")
            w.write(1, f"Capacity:\t{capacity if capacity is not None else '<default>'}\n")
            w.write(1, f"Access Modes:\t[{' '.join(cspec.get('accessModes') or [])}]\n")
    describe_events(w, events, now)
    return w.text()


def _optional(value: Any, suffix: str = "") -> str:
    return "<unset>" if value is None else f"{value}{suffix}"


def _completed_indexes(indexes: str, soft_limit: int = 50) -> str:
    """kubectl's capIndexesListOrNone: the list cut at the first comma past soft_limit characters."""
    if not indexes:
        return "<none>"
    cut = indexes.find(",", soft_limit)
    return indexes if cut < 0 else indexes[:cut + 1] + "..."


def describe_job(job: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    """kubectl's describeJob: the spec's knobs as set, start/completion times and duration, pod counts,
    completed indexes of an Indexed Job, the pod template."""
    w = PrefixWriter()
    meta, spec, st = meta_of(job), job.get("spec") or {}, job.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    w.write(0, f"Selector:\t{format_label_selector(spec.get('selector'))}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    owner = controlled_by(job)
    if owner:
        w.write(0, f"Controlled By:\t{owner}\n")
    if spec.get("parallelism") is not None:
        w.write(0, f"Parallelism:\t{spec['parallelism']}\n")
    w.write(0, f"Completions:\t{_optional(spec.get('completions'))}\n")
    if spec.get("completionMode") is not None:
        w.write(0, f"Completion Mode:\t{spec['completionMode']}\n")
    if spec.get("suspend") is not None:
        w.write(0, f"Suspend:\t{'true' if spec['suspend'] else 'false'}\n")
    if spec.get("backoffLimit") is not None:
        w.write(0, f"Backoff Limit:\t{spec['backoffLimit']}\n")
    if spec.get("ttlSecondsAfterFinished") is not None:
        w.write(0, f"TTL Seconds After Finished:\t{spec['ttlSecondsAfterFinished']}\n")
    start, completion = st.get("startTime"), st.get("completionTime")
    if start:
        w.write(0, f"Start Time:\t{rfc1123z(start)}\n")
    if completion:
        w.write(0, f"Completed At:\t{rfc1123z(completion)}\n")
    began, ended = parse_time(start), parse_time(completion)
    if began is not None and ended is not None:
        w.write(0, f"Duration:\t{human_duration(ended - began)}\n")
    if spec.get("activeDeadlineSeconds") is not None:
        w.write(0, f"Active Deadline Seconds:\t{spec['activeDeadlineSeconds']}s\n")
    active, succeeded, failed = st.get("active", 0), st.get("succeeded", 0), st.get("failed", 0)
    if st.get("ready") is None:
        w.write(0, f"Pods Statuses:\t{active} Active / {succeeded} Succeeded / {failed} Failed\n")
    else:
        w.write(0, f"Pods Statuses:\t{active} Active ({st['ready']} Ready) / {succeeded} Succeeded / {failed} Failed\n")
    if spec.get("completionMode") == "Indexed":
        w.write(0, f"Completed Indexes:\t{_completed_indexes(st.get('completedIndexes') or '')}\n")
    describe_pod_template(w, spec.get("template"))
    describe_events(w, events, now)
    return w.text()


def describe_cronjob(cj: Mapping[str, Any], events: list[Mapping[str, Any]] | None, now: float | None) -> str:
    """kubectl's describeCronJob: the schedule and its policies, the job template (describeJobTemplate),
    the last schedule time and the active Jobs."""
    w = PrefixWriter()
    meta, spec, st = meta_of(cj), cj.get("spec") or {}, cj.get("status") or {}
    w.write(0, f"Name:\t{meta.get('name', '')}\n")
    w.write(0, f"Namespace:\t{meta.get('namespace', '')}\n")
    labels_multiline(w, "Labels", meta.get("labels"))
    annotations_multiline(w, "Annotations", meta.get("annotations"))
    w.write(0, f"Schedule:\t{spec.get('schedule', '')}\n")
    w.write(0, f"Concurrency Policy:\t{spec.get('concurrencyPolicy', '')}\n")
    suspend = spec.get("suspend")
    w.write(0, f"Suspend:\t{'<unset>' if suspend is None else ('True' if suspend else 'False')}\n")
    w.write(0, f"Successful Job History Limit:\t{_optional(spec.get('successfulJobsHistoryLimit'))}\n")
    w.write(0, f"Failed Job History Limit:\t{_optional(spec.get('failedJobsHistoryLimit'))}\n")
    w.write(0, f"Starting Deadline Seconds:\t{_optional(spec.get('startingDeadlineSeconds'), 's')}\n")
    job_spec = get_path(spec, "jobTemplate", "spec") or {}
    selector = job_spec.get("selector")
    w.write(0, f"Selector:\t{format_label_selector(selector) if selector is not None else '<unset>'}\n")
    w.write(0, f"Parallelism:\t{_optional(job_spec.get('parallelism'))}\n")
    w.write(0, f"Completions:\t{_optional(job_spec.get('completions'))}\n")
    if job_spec.get("activeDeadlineSeconds") is not None:
        w.write(0, f"Active Deadline Seconds:\t{job_spec['activeDeadlineSeconds']}s\n")
    describe_pod_template(w, job_spec.get("template"))
    last = st.get("lastScheduleTime")
    w.write(0, f"Last Schedule Time:\t{rfc1123z(last) if last else '<unset>'}\n")
    active = ", ".join(str(r.get("name", "")) for r in st.get("active") or [])
    w.write(0, f"Active Jobs:\t{active or '<none>'}\n")
    describe_events(w, events, now)
    return w.text()
