"""`kubectl describe`: one describer per kind (kubectl/pkg/describe), the generic one for the rest."""

from __future__ import annotations

from tui.printers.describers.autoscaling import describe_hpa
from tui.printers.describers.certificates import describe_csr
from tui.printers.describers.config import (
    describe_configmap,
    describe_pdb,
    describe_priorityclass,
    describe_secret,
    describe_serviceaccount,
)
from tui.printers.describers.generic import describe_generic
from tui.printers.describers.networking import describe_ingress, describe_ingressclass
from tui.printers.describers.node import describe_node
from tui.printers.describers.pod import describe_pod
from tui.printers.describers.quota import describe_limitrange, describe_resourcequota
from tui.printers.describers.rbac import describe_binding, describe_role
from tui.printers.describers.service import describe_endpointslice, describe_service
from tui.printers.describers.storage import (
    describe_persistentvolume,
    describe_persistentvolumeclaim,
    describe_storageclass,
)
from tui.printers.describers.workloads import (
    describe_cronjob,
    describe_daemonset,
    describe_deployment,
    describe_job,
    describe_replicaset,
    describe_statefulset,
)


def describe(obj: dict, events: list[dict], *, now: float | None = None, pods: list[dict] | None = None,
             replicasets: list[dict] | None = None, endpointslices: list[dict] | None = None,
             lease: dict | None = None, services: list[dict] | None = None) -> str:
    """`kubectl describe` for one object with its events.

    Optional related objects fill in what kubectl would fetch: the pods of a Node, ReplicaSet, DaemonSet or
    StatefulSet, the
    ReplicaSets of a Deployment, a Service's EndpointSlices, a Node's Lease, the Services and EndpointSlices of
    an Ingress's namespace.
    """
    kind = obj.get("kind")
    if kind == "Pod":
        return describe_pod(obj, events, now)
    if kind == "Node":
        return describe_node(obj, events, now, pods, lease)
    if kind == "Deployment":
        return describe_deployment(obj, events, now, replicasets)
    if kind == "ReplicaSet":
        return describe_replicaset(obj, events, now, pods)
    if kind == "DaemonSet":
        return describe_daemonset(obj, events, now, pods)
    if kind == "StatefulSet":
        return describe_statefulset(obj, events, now, pods)
    if kind == "Service":
        return describe_service(obj, events, now, endpointslices)
    if kind == "EndpointSlice":
        return describe_endpointslice(obj, events, now)
    if kind == "ConfigMap":
        return describe_configmap(obj, events, now)
    if kind == "Secret":
        return describe_secret(obj)
    if kind == "ServiceAccount":
        return describe_serviceaccount(obj, events, now)
    if kind in ("Role", "ClusterRole"):
        return describe_role(obj)
    if kind in ("RoleBinding", "ClusterRoleBinding"):
        return describe_binding(obj)
    if kind == "PriorityClass":
        return describe_priorityclass(obj, events, now)
    if kind == "PodDisruptionBudget":
        return describe_pdb(obj, events, now)
    if kind == "Job":
        return describe_job(obj, events, now)
    if kind == "CronJob":
        return describe_cronjob(obj, events, now)
    if kind == "HorizontalPodAutoscaler":
        return describe_hpa(obj, events, now)
    if kind == "PersistentVolumeClaim":
        return describe_persistentvolumeclaim(obj, events, now, pods)
    if kind == "PersistentVolume":
        return describe_persistentvolume(obj, events, now)
    if kind == "StorageClass":
        return describe_storageclass(obj, events, now)
    if kind == "ResourceQuota":
        return describe_resourcequota(obj)
    if kind == "LimitRange":
        return describe_limitrange(obj)
    if kind == "Ingress":
        return describe_ingress(obj, events, now, services, endpointslices)
    if kind == "IngressClass":
        return describe_ingressclass(obj, events, now)
    if kind == "CertificateSigningRequest":
        return describe_csr(obj, events, now)
    return describe_generic(obj, events, now)
