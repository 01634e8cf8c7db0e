"""Admission warnings: fields kube-tui stores but does not act on, and fields Kubernetes' schema does not know.

Both are warnings, never errors: a real manifest must still apply (the brief: never a silent drop,
never a failure). Unknown fields are worded like kubectl's server-side field validation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Obj:
    """A struct in Kubernetes' schema: its field names, and how to descend into each (None: don't)."""

    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Lst:
    item: Obj


def _leaves(*names: str) -> dict[str, None]:
    return dict.fromkeys(names)


META = Obj(_leaves(
    "annotations", "creationTimestamp", "deletionGracePeriodSeconds", "deletionTimestamp", "finalizers",
    "generateName", "generation", "labels", "managedFields", "name", "namespace", "ownerReferences",
    "resourceVersion", "selfLink", "uid",
))
_REQUIREMENT = Obj(_leaves("key", "operator", "values"))
LABEL_SELECTOR = Obj({"matchLabels": None, "matchExpressions": Lst(_REQUIREMENT)})
_NODE_SELECTOR_TERM = Obj({"matchExpressions": Lst(_REQUIREMENT), "matchFields": Lst(_REQUIREMENT)})
_POD_AFFINITY_TERM = Obj({
    "labelSelector": LABEL_SELECTOR, "matchLabelKeys": None, "mismatchLabelKeys": None,
    "namespaceSelector": LABEL_SELECTOR, "namespaces": None, "topologyKey": None,
})
_WEIGHTED_POD_AFFINITY_TERM = Obj({"weight": None, "podAffinityTerm": _POD_AFFINITY_TERM})
_POD_AFFINITY = Obj({
    "requiredDuringSchedulingIgnoredDuringExecution": Lst(_POD_AFFINITY_TERM),
    "preferredDuringSchedulingIgnoredDuringExecution": Lst(_WEIGHTED_POD_AFFINITY_TERM),
})
AFFINITY = Obj({
    "nodeAffinity": Obj({
        "requiredDuringSchedulingIgnoredDuringExecution": Obj({"nodeSelectorTerms": Lst(_NODE_SELECTOR_TERM)}),
        "preferredDuringSchedulingIgnoredDuringExecution": Lst(Obj({"weight": None, "preference": _NODE_SELECTOR_TERM})),
    }),
    "podAffinity": _POD_AFFINITY,
    "podAntiAffinity": _POD_AFFINITY,
})
PROBE = Obj({
    "exec": Obj(_leaves("command")),
    "httpGet": Obj(_leaves("host", "httpHeaders", "path", "port", "scheme")),
    "tcpSocket": Obj(_leaves("host", "port")),
    "grpc": Obj(_leaves("port", "service")),
    **_leaves("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold",
              "failureThreshold", "terminationGracePeriodSeconds"),
})
CONTAINER = Obj({
    **_leaves("args", "command", "envFrom", "image", "imagePullPolicy", "lifecycle", "name", "resizePolicy",
              "restartPolicy", "securityContext", "stdin", "stdinOnce", "terminationMessagePath",
              "terminationMessagePolicy", "tty", "volumeDevices", "volumeMounts", "workingDir"),
    "ports": Lst(Obj(_leaves("containerPort", "hostIP", "hostPort", "name", "protocol"))),
    "env": Lst(Obj(_leaves("name", "value", "valueFrom"))),
    "resources": Obj(_leaves("claims", "limits", "requests")),
    "livenessProbe": PROBE,
    "readinessProbe": PROBE,
    "startupProbe": PROBE,
})
TOLERATION = Obj(_leaves("effect", "key", "operator", "tolerationSeconds", "value"))
POD_SPEC = Obj({
    **_leaves("activeDeadlineSeconds", "automountServiceAccountToken", "dnsConfig", "dnsPolicy",
              "enableServiceLinks", "ephemeralContainers", "hostAliases", "hostIPC", "hostNetwork", "hostPID",
              "hostUsers", "hostname", "imagePullSecrets", "nodeName", "nodeSelector", "os", "overhead",
              "preemptionPolicy", "priority", "priorityClassName", "readinessGates", "resourceClaims", "resources",
              "restartPolicy", "runtimeClassName", "schedulerName", "schedulingGates", "securityContext",
              "serviceAccount", "serviceAccountName", "setHostnameAsFQDN", "shareProcessNamespace", "subdomain",
              "terminationGracePeriodSeconds", "volumes"),
    "topologySpreadConstraints": Lst(Obj(_leaves("labelSelector", "matchLabelKeys", "maxSkew", "minDomains",
                                                 "nodeAffinityPolicy", "nodeTaintsPolicy", "topologyKey",
                                                 "whenUnsatisfiable"))),
    "containers": Lst(CONTAINER),
    "initContainers": Lst(CONTAINER),
    "affinity": AFFINITY,
    "tolerations": Lst(TOLERATION),
})
TEMPLATE = Obj({"metadata": META, "spec": POD_SPEC})
_ROLLING = Obj(_leaves("maxSurge", "maxUnavailable"))


def _kind(spec: Obj | None, **extra: Any) -> Obj:
    fields: dict[str, Any] = {"apiVersion": None, "kind": None, "metadata": META, "status": None}
    if spec is not None:
        fields["spec"] = spec
    fields.update(extra)
    return Obj(fields)

JOB_SPEC = Obj({
    **_leaves("activeDeadlineSeconds", "backoffLimit", "backoffLimitPerIndex", "completionMode", "completions",
              "managedBy", "manualSelector", "maxFailedIndexes", "parallelism", "podFailurePolicy",
              "podReplacementPolicy", "successPolicy", "suspend", "ttlSecondsAfterFinished"),
    "selector": LABEL_SELECTOR, "template": TEMPLATE,
})


_SCALING_RULES = Obj({**_leaves("selectPolicy", "stabilizationWindowSeconds"),
                      "policies": Lst(Obj(_leaves("periodSeconds", "type", "value")))})
SCHEMAS: dict[str, Obj] = {
    "Pod": _kind(POD_SPEC),
    "Deployment": _kind(Obj({
        **_leaves("minReadySeconds", "paused", "progressDeadlineSeconds", "replicas", "revisionHistoryLimit"),
        "selector": LABEL_SELECTOR, "template": TEMPLATE,
        "strategy": Obj({"type": None, "rollingUpdate": _ROLLING}),
    })),
    "ReplicaSet": _kind(Obj({
        **_leaves("minReadySeconds", "replicas"), "selector": LABEL_SELECTOR, "template": TEMPLATE,
    })),
    "DaemonSet": _kind(Obj({
        **_leaves("minReadySeconds", "revisionHistoryLimit", "templateGeneration"),
        "selector": LABEL_SELECTOR, "template": TEMPLATE,
        "updateStrategy": Obj({"type": None, "rollingUpdate": _ROLLING}),
    })),
    "StatefulSet": _kind(Obj({
        **_leaves("minReadySeconds", "ordinals", "persistentVolumeClaimRetentionPolicy", "podManagementPolicy",
                  "replicas", "revisionHistoryLimit", "serviceName", "volumeClaimTemplates"),
        "selector": LABEL_SELECTOR, "template": TEMPLATE,
        "updateStrategy": Obj({"type": None, "rollingUpdate": Obj(_leaves("maxUnavailable", "partition"))}),
    })),
    "ControllerRevision": _kind(None, **_leaves("data", "revision")),
    "Job": _kind(JOB_SPEC),
    "CronJob": _kind(Obj({
        **_leaves("concurrencyPolicy", "failedJobsHistoryLimit", "schedule", "startingDeadlineSeconds",
                  "successfulJobsHistoryLimit", "suspend", "timeZone"),
        "jobTemplate": Obj({"metadata": META, "spec": JOB_SPEC}),
    })),
    "Service": _kind(Obj({
        **_leaves("allocateLoadBalancerNodePorts", "clusterIP", "clusterIPs", "externalIPs", "externalName",
                  "externalTrafficPolicy", "healthCheckNodePort", "internalTrafficPolicy", "ipFamilies",
                  "ipFamilyPolicy", "loadBalancerClass", "loadBalancerIP", "loadBalancerSourceRanges",
                  "publishNotReadyAddresses", "selector", "sessionAffinity", "sessionAffinityConfig",
                  "trafficDistribution", "type"),
        "ports": Lst(Obj(_leaves("appProtocol", "name", "nodePort", "port", "protocol", "targetPort"))),
    })),
    "Namespace": _kind(Obj(_leaves("finalizers"))),
    "Node": _kind(Obj({
        **_leaves("configSource", "externalID", "podCIDR", "podCIDRs", "providerID", "unschedulable"),
        "taints": Lst(Obj(_leaves("effect", "key", "timeAdded", "value"))),
    })),
    "Lease": _kind(Obj(_leaves("acquireTime", "holderIdentity", "leaseDurationSeconds", "leaseTransitions",
                              "preferredHolder", "renewTime", "strategy"))),
    "Endpoints": _kind(None, subsets=Lst(Obj({
        "addresses": Lst(Obj(_leaves("hostname", "ip", "nodeName", "targetRef"))),
        "notReadyAddresses": Lst(Obj(_leaves("hostname", "ip", "nodeName", "targetRef"))),
        "ports": Lst(Obj(_leaves("appProtocol", "name", "port", "protocol"))),
    }))),
    "ConfigMap": _kind(None, **_leaves("binaryData", "data", "immutable")),
    "Secret": _kind(None, **_leaves("data", "immutable", "stringData", "type")),
    "PriorityClass": _kind(None, **_leaves("description", "globalDefault", "preemptionPolicy", "value")),
    "PodDisruptionBudget": _kind(Obj({**_leaves("maxUnavailable", "minAvailable", "unhealthyPodEvictionPolicy"),
                                      "selector": LABEL_SELECTOR})),
    "HorizontalPodAutoscaler": _kind(Obj({
        **_leaves("maxReplicas", "minReplicas"),
        "scaleTargetRef": Obj(_leaves("apiVersion", "kind", "name")),
        "metrics": Lst(Obj(_leaves("containerResource", "external", "object", "pods", "resource", "type"))),
        "behavior": Obj({"scaleUp": _SCALING_RULES, "scaleDown": _SCALING_RULES}),
    })),
    "Event": _kind(None, **_leaves(
        "action", "count", "eventTime", "firstTimestamp", "involvedObject", "lastTimestamp", "message", "reason",
        "related", "reportingComponent", "reportingInstance", "series", "source", "type",
    )),
}
# `status` is accepted on every kind (even Event and Endpoints, which have none) because clients send
# back what the server returned.


_UNKNOWN = object()


def unknown_fields(obj: Any, schema: Obj | Lst | None = None, path: str = "") -> list[str]:
    """Paths of fields Kubernetes' schema does not have, like kubectl's `unknown field "spec.foo"`."""
    if schema is None:
        kind = obj.get("kind", "") if isinstance(obj, dict) else ""
        schema = SCHEMAS.get(kind)
        if schema is None:
            return []
    out: list[str] = []
    if isinstance(schema, Obj) and isinstance(obj, dict):
        fields = schema.fields
        for key, value in obj.items():
            sub = fields.get(key, _UNKNOWN)
            if sub is None:
                continue  # a leaf: whatever is inside is not checked
            p = f"{path}.{key}" if path else str(key)
            if sub is _UNKNOWN:
                out.append(p)
            else:
                out.extend(unknown_fields(value, sub, p))
    elif isinstance(schema, Lst) and isinstance(obj, list):
        for i, item in enumerate(obj):
            out.extend(unknown_fields(item, schema.item, f"{path}[{i}]"))
    return out


def prune_unknown_fields(obj: Any, schema: Obj | Lst | None = None) -> None:
    """Drop, in place, every field unknown_fields names: as kube-apiserver's decoder drops what the schema does
    not have (with fieldValidation Warn or Ignore), so a typo is never stored and passed on to the objects made
    from this one."""
    if schema is None:
        kind = obj.get("kind", "") if isinstance(obj, dict) else ""
        schema = SCHEMAS.get(kind)
        if schema is None:
            return
    if isinstance(schema, Obj) and isinstance(obj, dict):
        for key in list(obj):
            sub = schema.fields.get(key, _UNKNOWN)
            if sub is _UNKNOWN:
                del obj[key]
            elif sub is not None:
                prune_unknown_fields(obj[key], sub)
    elif isinstance(schema, Lst) and isinstance(obj, list):
        for item in obj:
            prune_unknown_fields(item, schema.item)


# --- stored but not enforced ---------------------------------------------------------------------
# What kube-tui keeps but does not act on. Adjust here when a component starts honouring a field.

POD_SPEC_NOT_ENFORCED = (
    "volumes", "securityContext", "serviceAccountName", "serviceAccount", "automountServiceAccountToken",
    "imagePullSecrets", "hostNetwork", "hostPID", "hostIPC", "hostUsers", "shareProcessNamespace", "dnsConfig",
    "hostAliases", "runtimeClassName", "overhead", "readinessGates", "schedulingGates",
    "os", "resourceClaims", "resources", "ephemeralContainers", "setHostnameAsFQDN",
    "subdomain",
)
CONTAINER_NOT_ENFORCED = (
    "volumeMounts", "volumeDevices", "securityContext", "lifecycle", "resizePolicy",
)
SERVICE_NOT_ENFORCED = (
    "externalIPs", "loadBalancerIP", "loadBalancerSourceRanges", "loadBalancerClass", "sessionAffinityConfig",
    "healthCheckNodePort",
)
JOB_NOT_ENFORCED = (
    "podFailurePolicy", "successPolicy", "backoffLimitPerIndex", "maxFailedIndexes", "ttlSecondsAfterFinished",
    "managedBy",
)
_NOT_ENFORCED = "stored but not enforced by kube-tui"


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _set(value: Any) -> bool:
    """Whether a field carries a value worth warning about (defaults like `securityContext: {}` don't)."""
    return value not in (None, False, "", {}, [])


def _pod_spec_warnings(spec: Any, path: str) -> list[str]:
    if not isinstance(spec, dict):
        return []
    out: list[str] = []
    for key in [k for k in POD_SPEC_NOT_ENFORCED if k in spec]:
        value = spec[key]
        if not _set(value):
            continue
        if key == "volumes" and isinstance(value, list):
            kinds = sorted({k for v in value if isinstance(v, dict) for k in v if k != "name"})
            hint = f" (volume types: {', '.join(kinds)}; nothing is mounted)" if kinds else " (nothing is mounted)"
            if {"configMap", "secret", "projected"} & set(kinds):
                # containers are processes without mount namespaces: nowhere to put the files
                hint += "; configMap and secret volumes are not written either: read them through env or envFrom"
            out.append(f"{path}.volumes: {_NOT_ENFORCED}{hint}")
        else:
            out.append(f"{path}.{key}: {_NOT_ENFORCED}")
    for group in ("initContainers", "containers"):
        for i, c in enumerate(_as_list(spec.get(group))):
            if not isinstance(c, dict):
                continue
            cpath = f"{path}.{group}[{i}]"
            out.extend(f"{cpath}.{key}: {_NOT_ENFORCED}" for key in CONTAINER_NOT_ENFORCED if _set(c.get(key)))
            for j, port in enumerate(_as_list(c.get("ports"))):
                if isinstance(port, dict) and (_set(port.get("hostPort")) or _set(port.get("hostIP"))):
                    out.append(f"{cpath}.ports[{j}].hostPort: {_NOT_ENFORCED} (pods listen on their own IP)")
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                p = c.get(probe)
                if isinstance(p, dict) and "grpc" in p:
                    out.append(f"{cpath}.{probe}.grpc: {_NOT_ENFORCED}")
            res = c.get("resources")
            if isinstance(res, dict) and _set(res.get("claims")):
                out.append(f"{cpath}.resources.claims: {_NOT_ENFORCED}")
    return out


def _statefulset_warnings(spec: dict[str, Any]) -> list[str]:
    out: list[str] = []
    claims = [c for c in _as_list(spec.get("volumeClaimTemplates")) if isinstance(c, dict)]
    if claims:
        names = ", ".join(str((c.get("metadata") or {}).get("name", "")) for c in claims)
        out.append(f"spec.volumeClaimTemplates: {_NOT_ENFORCED} (claims {names}: kube-tui has no PersistentVolumes, "
                   "so no claim is created or bound; each pod gets the volumes by name, and nothing is mounted)")
    policy = spec.get("persistentVolumeClaimRetentionPolicy")
    if isinstance(policy, dict) and "Delete" in (policy.get("whenDeleted"), policy.get("whenScaled")):
        out.append(f"spec.persistentVolumeClaimRetentionPolicy: {_NOT_ENFORCED} (no claims to delete)")
    rolling = (spec.get("updateStrategy") or {}).get("rollingUpdate") if isinstance(spec.get("updateStrategy"), dict) else None
    if isinstance(rolling, dict) and _set(rolling.get("maxUnavailable")):
        out.append(f"spec.updateStrategy.rollingUpdate.maxUnavailable: {_NOT_ENFORCED} (the MaxUnavailableStatefulSet "
                   "feature is off, as in Kubernetes 1.30: pods are replaced one at a time)")
    return out


def not_enforced(obj: dict[str, Any]) -> list[str]:
    """Warnings for the fields of `obj` that kube-tui stores but does not act on."""
    kind = obj.get("kind")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return []
    if kind == "Pod":
        return _pod_spec_warnings(spec, "spec")
    out: list[str] = []
    if kind in ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"):
        template = spec.get("template")
        if isinstance(template, dict):
            out.extend(_pod_spec_warnings(template.get("spec"), "spec.template.spec"))
    if kind == "StatefulSet":
        out.extend(_statefulset_warnings(spec))
    if kind == "Job":
        out.extend(f"spec.{key}: {_NOT_ENFORCED}" for key in JOB_NOT_ENFORCED if _set(spec.get(key)))
    if kind == "CronJob":
        job_spec = (spec.get("jobTemplate") or {}).get("spec") if isinstance(spec.get("jobTemplate"), dict) else None
        if isinstance(job_spec, dict):
            template = job_spec.get("template")
            if isinstance(template, dict):
                out.extend(_pod_spec_warnings(template.get("spec"), "spec.jobTemplate.spec.template.spec"))
            out.extend(f"spec.jobTemplate.spec.{key}: {_NOT_ENFORCED}" for key in JOB_NOT_ENFORCED
                       if _set(job_spec.get(key)))
    if kind == "Service":
        out.extend(f"spec.{key}: {_NOT_ENFORCED}" for key in SERVICE_NOT_ENFORCED if _set(spec.get(key)))
        if spec.get("sessionAffinity") == "ClientIP":
            out.append(f"spec.sessionAffinity: {_NOT_ENFORCED} (connections are spread regardless of client)")
    return out


def collect(obj: dict[str, Any]) -> list[str]:
    """Every warning for `obj`: unknown fields first (as kubectl prints them), then unenforced ones."""
    out = [f'unknown field "{p}"' for p in unknown_fields(obj)]
    out.extend(not_enforced(obj))
    return out
