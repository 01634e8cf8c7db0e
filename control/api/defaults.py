"""Kubernetes' defaulting on create and update (SetDefaults_* plus the admission plugins that fill pod fields).

`apply_defaults` is applied to every object the API server accepts, before validation.
The namespace default and system metadata (uid, resourceVersion, timestamps) are the server's job.
"""

from __future__ import annotations

import copy
from typing import Any

from control.api import horizontalpodautoscaler as hpas
from control.api import quantity, rbac

# DefaultTolerationSeconds admission: pods ride out a short node outage before being evicted. 300 s is
# kube-apiserver's --default-not-ready-toleration-seconds / --default-unreachable-toleration-seconds; the
# API server passes the cluster's eviction timing instead (a demo cluster's few seconds), so what a pod's
# spec says is what the taint manager does.
DEFAULT_TOLERATION_SECONDS = 300
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"

JOB_CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
JOB_NAME = "batch.kubernetes.io/job-name"
LEGACY_JOB_CONTROLLER_UID = "controller-uid"
LEGACY_JOB_NAME = "job-name"


def apply_defaults(obj: dict[str, Any], *, toleration_seconds: int = DEFAULT_TOLERATION_SECONDS) -> None:
    """Fill in Kubernetes' defaults for `obj`, in place; unknown kinds are left alone.

    toleration_seconds: the tolerationSeconds of the not-ready / unreachable tolerations a pod gets."""
    if obj.get("kind") == "Pod":
        _default_pod(obj, toleration_seconds)
        return
    fn = _BY_KIND.get(obj.get("kind", ""))
    if fn is not None:
        fn(obj)


def _as_dict(v: Any) -> dict[str, Any]:
    """Defaulting never fails: a field of the wrong shape is left for validation to report."""
    return v if isinstance(v, dict) else {}


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _child(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """parent[key] as a dict to fill in, replacing a missing or wrongly shaped value with {}."""
    value = parent.get(key)
    if not isinstance(value, dict):
        value = parent[key] = {}
    return value


def _spec(obj: dict[str, Any]) -> dict[str, Any]:
    return _child(obj, "spec")


def _template_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    template = _spec(obj).get("template")
    if not isinstance(template, dict):
        return None
    spec = _child(template, "spec")
    return spec


# --- pods ------------------------------------------------------------------------------------------


def image_pull_policy(image: str) -> str:
    """Always for `:latest` or an untagged image, IfNotPresent for any other tag or a digest."""
    name = image.split("@", 1)[0]
    if "@" in image:
        return "IfNotPresent"
    last = name.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else "latest"
    return "Always" if tag == "latest" else "IfNotPresent"


def _default_probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    http = probe.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")


def _default_container(c: Any) -> None:
    if not isinstance(c, dict):
        return
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = image_pull_policy(str(c.get("image") or ""))
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    # Go serializes the empty struct, which is why kubectl -o yaml always shows `resources: {}`.
    c.setdefault("resources", {})
    for p in _as_list(c.get("ports")):
        if isinstance(p, dict):
            p.setdefault("protocol", "TCP")
    for key in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(key))


def default_pod_spec(spec: dict[str, Any]) -> None:
    """SetDefaults_PodSpec and SetDefaults_Container: applies to pods and pod templates alike."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("securityContext", {})
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in _as_list(spec.get(key)):
            _default_container(c)
    if spec.get("hostNetwork"):
        # With the host's network the container port is the host port.
        for c in _as_list(spec.get("containers")):
            for p in _as_list(c.get("ports")) if isinstance(c, dict) else []:
                if isinstance(p, dict) and not p.get("hostPort") and p.get("containerPort"):
                    p["hostPort"] = p["containerPort"]


def _default_pod(obj: dict[str, Any], toleration_seconds: int = DEFAULT_TOLERATION_SECONDS) -> None:
    spec = _spec(obj)
    default_pod_spec(spec)
    # SetDefaults_Pod (pods only, not templates): requests default to limits.
    for key in ("initContainers", "containers"):
        for c in _as_list(spec.get(key)):
            if not isinstance(c, dict):
                continue
            res = _as_dict(c.get("resources"))
            limits = res.get("limits")
            if isinstance(limits, dict) and limits:
                requests = res.setdefault("requests", {})
                if isinstance(requests, dict):
                    for name, value in limits.items():
                        requests.setdefault(name, value)
    spec.setdefault("enableServiceLinks", True)
    # priority and preemptionPolicy: set by Priority admission (control/api/priority.py), not by defaulting
    _default_tolerations(spec, toleration_seconds)


def _default_tolerations(spec: dict[str, Any], seconds: int) -> None:
    """DefaultTolerationSeconds admission: add each default toleration unless one already tolerates that taint."""
    tolerations = spec.get("tolerations")
    if not isinstance(tolerations, list):
        tolerations = []
    for key in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        if any(_tolerates_no_execute(t, key) for t in tolerations if isinstance(t, dict)):
            continue
        tolerations.append({
            "key": key, "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": seconds,
        })
    spec["tolerations"] = tolerations


def _tolerates_no_execute(t: dict[str, Any], key: str) -> bool:
    # The plugin skips a pod that already tolerates the taint in any way (an empty key with Exists
    # tolerates every taint; an empty effect tolerates every effect).
    key_ok = t.get("key", "") == key or (not t.get("key") and t.get("operator") == "Exists")
    effect_ok = t.get("effect", "") in ("", "NoExecute")
    return key_ok and effect_ok


# --- workloads -------------------------------------------------------------------------------------


def _default_template(obj: dict[str, Any]) -> None:
    spec = _template_spec(obj)
    if spec is not None:
        default_pod_spec(spec)


def _default_strategy(spec: dict[str, Any], key: str, *, max_unavailable: int | str, max_surge: int | str) -> None:
    """A Deployment's `strategy` or a DaemonSet's `updateStrategy`: RollingUpdate, with its two bounds."""
    strategy = _child(spec, key)
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        ru = _child(strategy, "rollingUpdate")
        if ru.get("maxUnavailable") is None:
            ru["maxUnavailable"] = max_unavailable
        if ru.get("maxSurge") is None:
            ru["maxSurge"] = max_surge


def _default_deployment(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _default_strategy(spec, "strategy", max_unavailable="25%", max_surge="25%")
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    _default_template(obj)


def _default_replicaset(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _default_template(obj)


def _default_daemonset(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    _default_strategy(spec, "updateStrategy", max_unavailable=1, max_surge=0)
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    _default_template(obj)


def _default_statefulset(obj: dict[str, Any]) -> None:
    """SetDefaults_StatefulSet (with StatefulSetAutoDeletePVC on, as since 1.27), and the claim templates'."""
    spec = _spec(obj)
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    strategy = _child(spec, "updateStrategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        if strategy.get("rollingUpdate") is None:
            strategy["rollingUpdate"] = {}
    rolling = strategy.get("rollingUpdate")
    if strategy["type"] == "RollingUpdate" and isinstance(rolling, dict) and rolling.get("partition") is None:
        rolling["partition"] = 0
    policy = _child(spec, "persistentVolumeClaimRetentionPolicy")
    for key in ("whenDeleted", "whenScaled"):
        if not policy.get(key):
            policy[key] = "Retain"
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    _default_template(obj)
    for claim in _as_list(spec.get("volumeClaimTemplates")):
        if not isinstance(claim, dict):
            continue
        # the embedded PersistentVolumeClaims are defaulted as claims are: kubectl -o yaml shows these, first
        fields = dict(claim)
        claim.clear()
        claim.update({"apiVersion": fields.pop("apiVersion", "v1"), "kind": fields.pop("kind", "PersistentVolumeClaim")})
        claim.update(fields)
        _default_persistentvolumeclaim(claim)


def _default_job(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
        spec["parallelism"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    if spec.get("backoffLimit") is None:
        spec["backoffLimit"] = 2147483647 if spec.get("backoffLimitPerIndex") is not None else 6
    if not spec.get("completionMode"):
        spec["completionMode"] = "NonIndexed"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if not spec.get("podReplacementPolicy"):
        spec["podReplacementPolicy"] = "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed"
    policy = spec.get("podFailurePolicy")
    for rule in _as_list(policy.get("rules")) if isinstance(policy, dict) else []:
        for pattern in _as_list(rule.get("onPodConditions")) if isinstance(rule, dict) else []:
            if isinstance(pattern, dict) and not pattern.get("status"):
                pattern["status"] = "True"
    _default_template(obj)


def _default_cronjob(obj: dict[str, Any]) -> None:
    """SetDefaults_CronJob. The job template's spec gets no Job defaults (SetDefaults_Job is for Jobs only:
    the Job the controller makes is defaulted when it is created), but its pod template the pod spec's."""
    spec = _spec(obj)
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    if spec.get("suspend") is None:
        spec["suspend"] = False
    if spec.get("successfulJobsHistoryLimit") is None:
        spec["successfulJobsHistoryLimit"] = 3
    if spec.get("failedJobsHistoryLimit") is None:
        spec["failedJobsHistoryLimit"] = 1
    job_template = spec.get("jobTemplate")
    if isinstance(job_template, dict) and isinstance(job_template.get("spec"), dict):
        template = job_template["spec"].get("template")
        if isinstance(template, dict):
            default_pod_spec(_child(template, "spec"))


def job_selector_defaults(job: dict[str, Any], uid: str) -> None:
    """The Job strategy's generateSelector: call after the server assigned metadata.uid.

    Unless spec.manualSelector is true, the template gets the job-name and controller-uid labels
    (new and legacy spellings) and the selector selects on the controller uid. Labels the user set are
    kept, so a conflicting one fails validation instead of being overwritten.
    """
    spec = _spec(job)
    if spec.get("manualSelector") is True:
        return
    name = str(_as_dict(job.get("metadata")).get("name", ""))
    template = _child(spec, "template")
    meta = _child(template, "metadata")
    labels = _child(meta, "labels")
    for key, value in ((LEGACY_JOB_CONTROLLER_UID, uid), (JOB_CONTROLLER_UID, uid),
                       (LEGACY_JOB_NAME, name), (JOB_NAME, name)):
        labels.setdefault(key, value)
    selector = _child(spec, "selector")
    match = _child(selector, "matchLabels")
    match.setdefault(JOB_CONTROLLER_UID, uid)


# --- the rest ------------------------------------------------------------------------------------


def _default_service(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    for p in _as_list(spec.get("ports")):
        if not isinstance(p, dict):
            continue
        p.setdefault("protocol", "TCP")
        if p.get("targetPort") in (None, 0, "") and p.get("port") is not None:
            p["targetPort"] = p["port"]
    kind = spec["type"]
    if kind in ("NodePort", "LoadBalancer") and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if kind != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")


def _default_namespace(obj: dict[str, Any]) -> None:
    spec = _spec(obj)
    spec.setdefault("finalizers", ["kubernetes"])
    status = _child(obj, "status")
    status.setdefault("phase", "Active")


def _default_node(obj: dict[str, Any]) -> None:
    status = obj.get("status")
    if isinstance(status, dict) and isinstance(status.get("capacity"), dict) and not status.get("allocatable"):
        # SetDefaults_NodeStatus: a node that reports no allocatable offers its whole capacity.
        status["allocatable"] = copy.deepcopy(status["capacity"])


def _default_endpoints(obj: dict[str, Any]) -> None:
    for subset in _as_list(obj.get("subsets")):
        for p in _as_list(_as_dict(subset).get("ports")):
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")


def _default_endpointslice(obj: dict[str, Any]) -> None:
    for p in _as_list(obj.get("ports")):
        if isinstance(p, dict):  # SetDefaults_EndpointPort: an unnamed port's name is "", not absent
            p.setdefault("name", "")
            p.setdefault("protocol", "TCP")


def _default_secret(obj: dict[str, Any]) -> None:
    if not obj.get("type"):
        obj["type"] = "Opaque"  # SetDefaults_Secret


def _default_priorityclass(obj: dict[str, Any]) -> None:
    if obj.get("preemptionPolicy") is None:
        obj["preemptionPolicy"] = "PreemptLowerPriority"  # SetDefaults_PriorityClass


def _default_persistentvolumeclaim(obj: dict[str, Any]) -> None:
    """SetDefaults_PersistentVolumeClaim(Spec): a Filesystem volume, and Pending until the PV controller binds it."""
    spec = obj.get("spec")
    if isinstance(spec, dict) and not spec.get("volumeMode"):
        spec["volumeMode"] = "Filesystem"
    status = _child(obj, "status")
    if not status.get("phase"):
        status["phase"] = "Pending"


def _default_persistentvolume(obj: dict[str, Any]) -> None:
    """SetDefaults_PersistentVolume: Retain, Filesystem, and Pending until the PV controller sees it."""
    spec = obj.get("spec")
    if isinstance(spec, dict):
        if not spec.get("persistentVolumeReclaimPolicy"):
            spec["persistentVolumeReclaimPolicy"] = "Retain"
        if not spec.get("volumeMode"):
            spec["volumeMode"] = "Filesystem"
        host = spec.get("hostPath")
        if isinstance(host, dict) and host.get("type") is None:
            host["type"] = ""  # SetDefaults_HostPathVolumeSource
    status = _child(obj, "status")
    if not status.get("phase"):
        status["phase"] = "Pending"


def _canonical_quantities(rl: Any) -> None:
    """A ResourceList as kube-apiserver stores it: each valid quantity in its canonical form ("0.5" -> "500m")."""
    if isinstance(rl, dict):
        for k, v in rl.items():
            if quantity.is_valid(v):
                rl[k] = quantity.canonical_of(v)


def _default_limitrange(obj: dict[str, Any]) -> None:
    """SetDefaults_LimitRangeItem: a Container item's default limit is its max, its default request its
    default limit, else its min."""
    for item in _as_list(_spec(obj).get("limits")):
        if not isinstance(item, dict):
            continue
        for key in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
            _canonical_quantities(item.get(key))
        if item.get("type") != "Container":
            continue
        default, request = _child(item, "default"), _child(item, "defaultRequest")
        for k, v in _as_dict(item.get("max")).items():
            default.setdefault(k, v)
        for k, v in default.items():
            request.setdefault(k, v)
        for k, v in _as_dict(item.get("min")).items():
            request.setdefault(k, v)
        for key in ("default", "defaultRequest"):
            if not item[key]:
                del item[key]  # an empty ResourceList is omitted


def _default_resourcequota(obj: dict[str, Any]) -> None:
    _canonical_quantities(_spec(obj).get("hard"))


def _default_storageclass(obj: dict[str, Any]) -> None:
    """SetDefaults_StorageClass: Delete, Immediate."""
    if not obj.get("reclaimPolicy"):
        obj["reclaimPolicy"] = "Delete"
    if not obj.get("volumeBindingMode"):
        obj["volumeBindingMode"] = "Immediate"


_BY_KIND = {
    "PersistentVolumeClaim": _default_persistentvolumeclaim,
    "PersistentVolume": _default_persistentvolume,
    "StorageClass": _default_storageclass,
    "LimitRange": _default_limitrange,
    "ResourceQuota": _default_resourcequota,
    "Pod": _default_pod,
    "Deployment": _default_deployment,
    "ReplicaSet": _default_replicaset,
    "DaemonSet": _default_daemonset,
    "StatefulSet": _default_statefulset,
    "Job": _default_job,
    "CronJob": _default_cronjob,
    "Service": _default_service,
    "Namespace": _default_namespace,
    "Node": _default_node,
    "Endpoints": _default_endpoints,
    "EndpointSlice": _default_endpointslice,
    "Secret": _default_secret,
    "PriorityClass": _default_priorityclass,
    "HorizontalPodAutoscaler": hpas.apply_defaults,
    "RoleBinding": rbac.apply_defaults,
    "ClusterRoleBinding": rbac.apply_defaults,
}
