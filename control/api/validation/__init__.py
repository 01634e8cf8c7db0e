"""Kubernetes' validation of the objects kube-tui serves, on create and update, with the apiserver's wording.

`validate` reports every bad field (it never stops at the first) and the admission warnings.
It expects `apply_defaults` to have run, but tolerates a field that defaulting would fill.
Ported from pkg/apis/core/validation, pkg/apis/apps/validation and pkg/apis/batch/validation;
one module per concept, this one only dispatches by kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from control.api import warnings as admission_warnings
from control.api.kinds import KINDS
from control.api.labels import is_dns1035_label, is_dns1123_label, is_dns1123_subdomain
from control.api.validation.autoscaling import validate_hpa, validate_hpa_update
from control.api.validation.certificates import validate_csr
from control.api.validation.cluster import validate_event, validate_lease, validate_namespace, validate_node
from control.api.validation.config import (
    validate_configmap,
    validate_configmap_update,
    validate_secret,
    validate_secret_update,
    validate_serviceaccount,
)
from control.api.validation.container import PULL_POLICIES, is_env_var_name, validate_probe
from control.api.validation.cronjob import validate_cronjob
from control.api.validation.discovery import validate_endpointslice
from control.api.validation.field import (
    IMMUTABLE,
    NEGATIVE,
    Errors,
    NameRule,
    duplicate,
    forbidden,
    invalid,
    not_found,
    not_supported,
    required,
    shown,
)
from control.api.validation.meta import (
    TOTAL_ANNOTATION_SIZE_LIMIT,
    validate_annotations,
    validate_label_selector,
    validate_labels,
    validate_object_meta,
)
from control.api.validation.networking import (
    validate_ingress,
    validate_ingressclass,
    validate_ingressclass_update,
)
from control.api.validation.pod import DNS_POLICIES, RESTART_POLICIES, validate_pod, validate_pod_spec
from control.api.validation.policy import validate_pdb, validate_pdb_update
from control.api.validation.ports import PORT_RANGE, PROTOCOLS, is_valid_port_name, is_valid_port_num
from control.api.validation.priorityclass import validate_priorityclass, validate_priorityclass_update
from control.api.validation.quota import (
    validate_limitrange,
    validate_resourcequota,
    validate_resourcequota_update,
)
from control.api.validation.rbac import (
    rbac_name,
    validate_binding_update,
    validate_cluster_role,
    validate_cluster_role_binding,
    validate_role,
    validate_role_binding,
)
from control.api.validation.resources import validate_resources
from control.api.validation.scheduling import TAINT_EFFECTS
from control.api.validation.service import (
    SERVICE_TYPES,
    validate_endpoints,
    validate_service,
)
from control.api.validation.statefulset import (
    validate_controllerrevision,
    validate_controllerrevision_update,
    validate_statefulset,
    validate_statefulset_update,
)
from control.api.validation.storage import (
    validate_persistentvolume,
    validate_persistentvolume_update,
    validate_persistentvolumeclaim,
    validate_persistentvolumeclaim_update,
    validate_storageclass,
    validate_storageclass_update,
)
from control.api.validation.update import (
    POD_UPDATE_FORBIDDEN,
    validate_job_update,
    validate_node_update,
    validate_object_meta_update,
    validate_pod_update,
    validate_service_update,
    validate_workload_update,
)
from control.api.validation.workloads import (
    validate_daemonset,
    validate_deployment,
    validate_job,
    validate_replicaset,
)
from control.errors import FieldError

__all__ = [
    "DNS_POLICIES", "IMMUTABLE", "NAME_RULES", "NEGATIVE", "POD_UPDATE_FORBIDDEN", "PORT_RANGE",
    "PROTOCOLS", "PULL_POLICIES", "RESTART_POLICIES", "SERVICE_TYPES", "TAINT_EFFECTS",
    "TOTAL_ANNOTATION_SIZE_LIMIT", "Errors", "NameRule", "duplicate", "forbidden", "invalid", "is_env_var_name",
    "is_valid_port_name", "is_valid_port_num", "not_found", "not_supported", "required", "validate",
    "validate_annotations", "validate_label_selector", "validate_labels", "validate_object_meta",
    "validate_pod_spec", "validate_probe", "validate_resources",
]


NAME_RULES: dict[str, NameRule] = {
    "Namespace": is_dns1123_label,
    "Service": is_dns1035_label,
    "StatefulSet": is_dns1123_label,  # ValidateStatefulSetName: its pods' names are NAME-N hostnames
    **dict.fromkeys(("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"), rbac_name),  # system:discovery
}
_VALIDATORS: dict[str, Callable[[dict[str, Any], Errors], None]] = {
    "Deployment": validate_deployment,
    "ReplicaSet": validate_replicaset,
    "DaemonSet": validate_daemonset,
    "StatefulSet": validate_statefulset,
    "ControllerRevision": validate_controllerrevision,
    "Job": validate_job,
    "Service": validate_service,
    "Endpoints": validate_endpoints,
    "Namespace": validate_namespace,
    "Node": validate_node,
    "Lease": validate_lease,
    "Event": validate_event,
    "ConfigMap": validate_configmap,
    "Secret": validate_secret,
    "ServiceAccount": validate_serviceaccount,
    "PriorityClass": validate_priorityclass,
    "PodDisruptionBudget": validate_pdb,
    "HorizontalPodAutoscaler": validate_hpa,
    "PersistentVolume": validate_persistentvolume,
    "PersistentVolumeClaim": validate_persistentvolumeclaim,
    "StorageClass": validate_storageclass,
    "ResourceQuota": validate_resourcequota,
    "LimitRange": validate_limitrange,
    "IngressClass": validate_ingressclass,
    "Role": validate_role,
    "ClusterRole": validate_cluster_role,
    "RoleBinding": validate_role_binding,
    "ClusterRoleBinding": validate_cluster_role_binding,
}
# Validators that tell a create from an update themselves (a CronJob's name limit is checked on create only).
_VALIDATORS_WITH_OLD: dict[str, Callable[[dict[str, Any], dict[str, Any] | None, Errors], None]] = {
    "CronJob": validate_cronjob,
    "Pod": validate_pod,
    "Ingress": validate_ingress,
    "CertificateSigningRequest": validate_csr,
    "EndpointSlice": validate_endpointslice,
}
UPDATE_FIRST = ("ConfigMap", "Secret")
_UPDATE_VALIDATORS: dict[str, Callable[[dict[str, Any], dict[str, Any], Errors], None]] = {
    "Pod": validate_pod_update,
    "Deployment": validate_workload_update,
    "ReplicaSet": validate_workload_update,
    "DaemonSet": validate_workload_update,
    "StatefulSet": validate_statefulset_update,
    "ControllerRevision": validate_controllerrevision_update,
    "Job": validate_job_update,
    "Service": validate_service_update,
    "Node": validate_node_update,
    "ConfigMap": validate_configmap_update,
    "Secret": validate_secret_update,
    "PriorityClass": validate_priorityclass_update,
    "PodDisruptionBudget": validate_pdb_update,
    "HorizontalPodAutoscaler": validate_hpa_update,
    "PersistentVolume": validate_persistentvolume_update,
    "PersistentVolumeClaim": validate_persistentvolumeclaim_update,
    "StorageClass": validate_storageclass_update,
    "ResourceQuota": validate_resourcequota_update,
    "IngressClass": validate_ingressclass_update,
    "RoleBinding": validate_binding_update,
    "ClusterRoleBinding": validate_binding_update,
}


def validate(obj: dict[str, Any], old: dict[str, Any] | None = None) -> tuple[list[FieldError], list[str]]:
    """Validate an object (and, with `old`, an update of it): every field error, and the warnings."""
    errs: Errors = []
    if not isinstance(obj, dict):
        invalid(errs, "", None, "must be an object")
        return errs, []
    kind = obj.get("kind")
    info = KINDS.get(kind) if isinstance(kind, str) else None
    if info is None:
        not_supported(errs, "kind", shown(kind), sorted(KINDS))
        return errs, []
    validate_object_meta(errs, obj.get("metadata"), "metadata", NAME_RULES.get(info.kind, is_dns1123_subdomain),
                         info.namespaced)
    if old is not None and info.kind in UPDATE_FIRST:
        # ValidateConfigMapUpdate / ValidateSecretUpdate check what may not change before the object itself
        validate_object_meta_update(errs, obj, old)
        _UPDATE_VALIDATORS[info.kind](obj, old, errs)
        _VALIDATORS[info.kind](obj, errs)
        return errs, admission_warnings.collect(obj)
    with_old = _VALIDATORS_WITH_OLD.get(info.kind)
    if with_old is not None:
        with_old(obj, old, errs)
    else:
        _VALIDATORS[info.kind](obj, errs)
    if old is not None:
        validate_object_meta_update(errs, obj, old)
        update = _UPDATE_VALIDATORS.get(info.kind)
        if update is not None:
            update(obj, old, errs)
    return errs, admission_warnings.collect(obj)
