"""Admission validation: Kubernetes' rules and wording, every bad field reported, warnings for what kube-tui ignores."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from control.api.defaults import apply_defaults, job_selector_defaults
from control.api.validation import POD_UPDATE_FORBIDDEN, validate
from control.api.validation.pod import since_time, validate_pod_log_options
from control.errors import invalid
from tests.helpers import K8S_DOCS

MANIFESTS = sorted(K8S_DOCS.glob("*.yaml"))


def _docs() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in MANIFESTS:
        with path.open() as f:
            out.extend((path.name, d) for d in yaml.safe_load_all(f) if d)
    return out


def _admit(obj: dict[str, Any]) -> dict[str, Any]:
    """What the API server does before validating: namespace, defaults, uid-based job selector."""
    obj = copy.deepcopy(obj)
    obj.setdefault("metadata", {})
    if obj["kind"] not in ("Namespace", "Node"):
        obj["metadata"].setdefault("namespace", "default")
    apply_defaults(obj)
    if obj["kind"] == "Job":
        job_selector_defaults(obj, "0d4b3a1e-7d44-4f0c-8e55-6f1a2b3c4d5e")
    return obj


def messages(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    errs, _ = validate(obj, old)
    return [str(e) for e in errs]


def pod(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"containers": [{"name": "c", "image": "nginx"}]}
    base.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": base}


def deployment(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "replicas": 2,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [{"name": "web", "image": "nginx"}]}},
    }
    base.update(spec)
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"},
            "spec": base}


def test_manifests_exist() -> None:
    assert len(MANIFESTS) >= 12


@pytest.mark.parametrize(("name", "doc"), _docs(), ids=[n for n, _ in _docs()])
def test_every_k8s_docs_manifest_is_accepted(name: str, doc: dict[str, Any]) -> None:
    raw = copy.deepcopy(doc)
    raw.setdefault("metadata", {}).setdefault("namespace", "default")
    errs, raw_warnings = validate(raw)  # before defaulting, too
    assert errs == []
    errs, warnings = validate(_admit(doc))
    assert errs == [], [str(e) for e in errs]
    assert warnings == [] and raw_warnings == []


def test_only_volume_types_nodes_do_not_mount_are_warned_about() -> None:
    (doc,) = [d for n, d in _docs() if n == "daemonset.yaml"]
    errs, warnings = validate(_admit(doc))
    assert errs == [] and warnings == []  # hostPath: mounted
    spec = doc["spec"]["template"]["spec"]
    spec["volumes"] += [{"name": "claim", "persistentVolumeClaim": {"claimName": "c"}},
                        {"name": "share", "nfs": {"server": "s", "path": "/"}}]
    errs, warnings = validate(_admit(doc))
    assert errs == []
    assert warnings == [
        "spec.template.spec.volumes: stored but not enforced by kube-tui (volume types nfs are not mounted: kube-tui "
        "nodes mount emptyDir, configMap, secret, downwardAPI, projected, hostPath, persistentVolumeClaim)"]


def test_emptydir_memory_and_size_limit_are_enforced_huge_pages_are_not() -> None:
    (doc,) = [d for n, d in _docs() if n == "daemonset.yaml"]
    spec = doc["spec"]["template"]["spec"]
    spec["volumes"] += [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}},
                        {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}]
    errs, warnings = validate(_admit(doc))
    assert errs == [] and warnings == []  # a tmpfs of the kubelet's size; eviction past the sizeLimit
    spec["volumes"].append({"name": "huge", "emptyDir": {"medium": "HugePages"}})
    errs, warnings = validate(_admit(doc))
    assert errs == []
    assert warnings == [f"spec.template.spec.volumes[{len(spec['volumes']) - 1}].emptyDir.medium: stored but not "
                        "enforced by kube-tui (HugePages: the volume is a directory on the node's disk, not backed "
                        "by huge pages)"]


def test_invalid_name_wording() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "My_Team"}}
    errs, _ = validate(ns)
    assert invalid("Namespace", "My_Team", errs).message == (
        'Namespace "My_Team" is invalid: metadata.name: Invalid value: "My_Team": a lowercase RFC 1123 label '
        "must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric "
        "character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    )
    p = pod()
    p["metadata"]["name"] = "Web.1"
    assert messages(p) == [
        'metadata.name: Invalid value: "Web.1": a lowercase RFC 1123 subdomain must consist of lower case '
        "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
        "[a-z0-9])?)*')"
    ]


def test_name_required_unless_generate_name() -> None:
    p = pod()
    del p["metadata"]["name"]
    assert messages(p) == ["metadata.name: Required value: name or generateName is required"]
    p["metadata"]["generateName"] = "web-"
    assert messages(p) == []


def test_service_names_are_dns1035_labels() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "1web", "namespace": "default"},
           "spec": {"ports": [{"port": 80}]}}
    assert messages(svc)[0].startswith(
        'metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric '
        "characters or '-', start with an alphabetic character")


def test_negative_replicas() -> None:
    assert messages(deployment(replicas=-1)) == [
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0"
    ]


def test_missing_image_has_template_path() -> None:
    d = deployment()
    del d["spec"]["template"]["spec"]["containers"][0]["image"]
    assert messages(d) == ["spec.template.spec.containers[0].image: Required value"]


def test_selector_mismatch() -> None:
    d = deployment(selector={"matchLabels": {"app": "other"}})
    assert messages(d) == [
        "spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"
    ]
    d = deployment(selector=None)
    del d["spec"]["selector"]
    assert messages(d) == ["spec.selector: Required value"]


def test_bad_quantity_and_requests_over_limits() -> None:
    p = pod(containers=[{"name": "c", "image": "nginx", "resources": {
        "limits": {"cpu": "500m", "memory": "64Mi"},
        "requests": {"cpu": "1", "memory": "64MB!"},
    }}])
    assert messages(p) == [
        "spec.containers[0].resources.requests: Invalid value: \"1\": must be less than or equal to cpu limit of 500m",
        "spec.containers[0].resources.requests[memory]: Invalid value: \"64MB!\": must match the regular "
        "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ]


def test_every_bad_field_is_reported() -> None:
    p = pod(
        restartPolicy="Sometimes",
        containers=[
            {"name": "Web", "image": "nginx", "ports": [{"containerPort": 70000, "protocol": "HTTP"}]},
            {"name": "side", "image": "", "livenessProbe": {"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}}},
            {"name": "side", "image": "x", "readinessProbe": {"periodSeconds": -1}},
        ],
        tolerations=[{"key": "k", "operator": "Exists", "value": "v", "effect": "Never"}],
    )
    assert messages(p) == [
        'spec.containers[0].name: Invalid value: "Web": a lowercase RFC 1123 label must consist of lower case '
        "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  "
        "or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
        "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
        "spec.containers[1].image: Required value",
        "spec.containers[1].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
        'spec.containers[2].name: Duplicate value: "side"',
        "spec.containers[2].readinessProbe: Required value: must specify a handler type",
        "spec.containers[2].readinessProbe.periodSeconds: Invalid value: -1: must be greater than or equal to 0",
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        "spec.tolerations[0].operator: Invalid value: value must be empty when `operator` is 'Exists'",
        'spec.tolerations[0].effect: Unsupported value: "Never": supported values: "NoSchedule", '
        '"PreferNoSchedule", "NoExecute"',
    ]


def test_lifecycle_hooks() -> None:
    """validateLifecycle / validateHandler: one handler type each, a sleep within the grace period (its default 30 s
    when unset), none on a plain init container."""
    hooks = {"postStart": {"exec": {"command": ["true"]}, "httpGet": {"port": 80}, "sleep": {"seconds": 1}},
             "preStop": {}}
    assert messages(pod(containers=[{"name": "c", "image": "x", "lifecycle": hooks}])) == [
        "spec.containers[0].lifecycle.postStart.httpGet: Forbidden: may not specify more than 1 handler type",
        "spec.containers[0].lifecycle.postStart.sleep: Forbidden: may not specify more than 1 handler type",
        "spec.containers[0].lifecycle.preStop: Required value: must specify a handler type",
    ]
    assert messages(pod(terminationGracePeriodSeconds=5, containers=[
        {"name": "a", "image": "x", "lifecycle": {"preStop": {"sleep": {"seconds": 6}}}},
        {"name": "b", "image": "x", "lifecycle": {"preStop": {"sleep": {"seconds": -1}}}},
        {"name": "c", "image": "x", "lifecycle": {"postStart": {"sleep": {"seconds": 5}},
                                                   "preStop": {"sleep": {"seconds": 0}}}},
        {"name": "d", "image": "x", "lifecycle": {"postStart": {"httpGet": {"port": "no_such"}},
                                                   "preStop": {"tcpSocket": {"port": 8080}}}},
    ])) == [
        "spec.containers[0].lifecycle.preStop.sleep: Invalid value: 6: must be non-negative and less than "
        "terminationGracePeriodSeconds (5)",
        "spec.containers[1].lifecycle.preStop.sleep: Invalid value: -1: must be non-negative and less than "
        "terminationGracePeriodSeconds (5)",
        'spec.containers[3].lifecycle.postStart.httpGet.port: Invalid value: "no_such": must contain only '
        "alpha-numeric characters (a-z, 0-9), and hyphens (-)",
    ]
    assert messages(pod(containers=[{"name": "c", "image": "x",
                                     "lifecycle": {"preStop": {"sleep": {"seconds": 31}}}}])) == [
        "spec.containers[0].lifecycle.preStop.sleep: Invalid value: 31: must be non-negative and less than "
        "terminationGracePeriodSeconds (30)"]
    assert messages(pod(initContainers=[
        {"name": "i", "image": "x", "lifecycle": {"postStart": {"exec": {"command": ["true"]}}}},
        {"name": "s", "image": "x", "restartPolicy": "Always", "lifecycle": {"preStop": {"sleep": {"seconds": 1}}}},
    ])) == ["spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers without "
            "restartPolicy=Always"]
    # Pod templates too, and the hooks are enforced now: no "stored but not enforced" warning.
    d = deployment()
    d["spec"]["template"]["spec"]["containers"][0]["lifecycle"] = {"preStop": {"sleep": {"seconds": 40}}}
    assert messages(d) == ["spec.template.spec.containers[0].lifecycle.preStop.sleep: Invalid value: 40: must be "
                           "non-negative and less than terminationGracePeriodSeconds (30)"]
    ok = pod(containers=[{"name": "c", "image": "x", "lifecycle": {"postStart": {"exec": {"command": ["true"]}}}}])
    assert validate(_admit(ok)) == ([], [])


def test_containers_required() -> None:
    assert messages(pod(containers=[])) == ["spec.containers: Required value"]


def test_named_ports_and_env() -> None:
    p = pod(containers=[{"name": "c", "image": "x", "ports": [{"containerPort": 80, "name": "web--1"}],
                         "env": [{"name": "1BAD", "value": "x"}, {"name": "OK", "value": "y"}]}])
    assert messages(p) == [
        'spec.containers[0].ports[0].name: Invalid value: "web--1": must not contain consecutive hyphens',
        'spec.containers[0].env[0].name: Invalid value: "1BAD": a valid environment variable name must consist '
        "of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',"
        "  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
    ]


def test_node_affinity_operators() -> None:
    p = pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "disk", "operator": "In"}, {"key": "zone", "operator": "Near", "values": ["a"]},
                              {"key": "gen", "operator": "Exists", "values": ["x"]}]},
    ]}}})
    base = "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
    assert messages(p) == [
        f"{base}.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
        f'{base}.matchExpressions[1].operator: Invalid value: "Near": not a valid selector operator',
        f"{base}.matchExpressions[2].values: Forbidden: may not be specified when `operator` is 'Exists' or "
        "'DoesNotExist'",
    ]


def test_topology_spread_constraints_with_kube_apiservers_messages() -> None:
    ok = {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
          "labelSelector": {"matchLabels": {"app": "web"}}, "matchLabelKeys": ["pod-template-hash"], "minDomains": 2}
    assert messages(pod(topologySpreadConstraints=[ok])) == []
    bad = [{"maxSkew": 0, "topologyKey": "", "whenUnsatisfiable": "Sometimes"},
           {**ok, "nodeTaintsPolicy": "Maybe", "matchLabelKeys": ["app"]},
           {**ok, "minDomains": 3},
           {**ok, "whenUnsatisfiable": "ScheduleAnyway", "minDomains": 2}]
    base = "spec.topologySpreadConstraints"
    assert messages(pod(topologySpreadConstraints=bad)) == [
        f"{base}[0].maxSkew: Invalid value: 0: must be greater than zero",
        f"{base}[0].topologyKey: Required value: can not be empty",
        f'{base}[0].whenUnsatisfiable: Unsupported value: "Sometimes": supported values: "DoNotSchedule", '
        '"ScheduleAnyway"',
        f'{base}[1].{{topologyKey, whenUnsatisfiable}}: Duplicate value: "{{topology.kubernetes.io/zone, DoNotSchedule}}"',
        f'{base}[1].nodeTaintsPolicy: Unsupported value: "Maybe": supported values: "Honor", "Ignore"',
        f'{base}[1].matchLabelKeys[0]: Invalid value: "app": exists in both matchLabelKeys and labelSelector',
        f"{base}[3].minDomains: Invalid value: 2: can only use minDomains if whenUnsatisfiable=DoNotSchedule, "
        "not ScheduleAnyway",
    ]


def test_job_restart_policy() -> None:
    job = _admit({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
                  "spec": {"template": {"spec": {"containers": [{"name": "pi", "image": "perl"}]}}}})
    assert messages(job) == [
        'spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"'
    ]


def test_deployment_strategy() -> None:
    d = deployment(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}})
    assert messages(d) == [
        'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: "0%": may not be 0 when `maxSurge` is 0'
    ]
    d = deployment(strategy={"rollingUpdate": {"maxSurge": "lots"}})
    assert messages(d)[0].startswith(
        "spec.strategy.rollingUpdate.maxSurge: Invalid value: \"lots\": a valid percent string must be")


def test_service_rules() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
           "spec": {"type": "Magic", "ports": [{"port": 0, "targetPort": "8080", "nodePort": 70000, "protocol": "ICMP"},
                                               {"port": 81, "name": "b"}]}}
    assert messages(svc) == [
        'spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", '
        '"NodePort"',
        "spec.ports[0].name: Required value",
        "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
        'spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
        'spec.ports[0].targetPort: Invalid value: "8080": must contain at least one letter (a-z)',
        "spec.ports[0].nodePort: Invalid value: 70000: must be between 1 and 65535, inclusive",
    ]
    svc["spec"] = {"ports": []}
    assert messages(svc) == ["spec.ports: Required value"]
    svc["spec"] = {"clusterIP": "None"}
    assert messages(svc) == []
    svc["spec"] = {"type": "ClusterIP", "ports": [{"port": 80, "nodePort": 30001}]}
    assert messages(svc) == ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]


def test_basic_shapes_of_cluster_kinds() -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1", "namespace": "x"},
            "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]},
            "status": {"capacity": {"cpu": "four"}}}
    assert messages(node) == [
        "metadata.namespace: Forbidden: not allowed on this type",
        'spec.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", '
        '"PreferNoSchedule", "NoExecute"',
        "status.capacity[cpu]: Invalid value: \"four\": must match the regular expression "
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    ]
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
             "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 0}}
    assert messages(lease) == ["spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0"]
    ep = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "web", "namespace": "default"},
          "subsets": [{"addresses": [{"ip": "127.1.0.5"}, {"ip": "nope"}], "ports": [{"port": 80}]}]}
    assert messages(ep) == ['subsets[0].addresses[1].ip: Invalid value: "nope": must be a valid IP address']
    ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1", "namespace": "default"},
          "involvedObject": {"kind": "Pod", "name": "web", "namespace": "other"}, "type": "Info"}
    assert messages(ev) == [
        'involvedObject.namespace: Invalid value: "other": does not match event.namespace',
        'type: Unsupported value: "Info": supported values: "Normal", "Warning"',
    ]


def test_negative_quantities_and_bad_annotation_keys_every_time() -> None:
    p = pod(containers=[{"name": "c", "image": "x",
                         "resources": {"requests": {"cpu": "-100m", "memory": "0"}, "limits": {"cpu": "-1"}}}])
    p["metadata"]["annotations"] = {"Bad Key": "x", "example.com/ok": "y"}
    want = [
        'metadata.annotations: Invalid value: "Bad Key": name part must consist of alphanumeric characters, '
        "'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  "
        "or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        'spec.containers[0].resources.limits[cpu]: Invalid value: "-1": must be greater than or equal to 0',
        'spec.containers[0].resources.requests[cpu]: Invalid value: "-100m": must be greater than or equal to 0',
    ]
    # Rule checks are remembered per value: asking again must give the same answer.
    assert messages(p) == want and messages(p) == want


def test_unknown_fields_warn_like_kubectl() -> None:
    d = deployment(replica=3)
    d["spec"]["template"]["spec"]["containers"][0]["imagePolicy"] = "Always"
    d["extra"] = True
    errs, warnings = validate(d)
    assert errs == []
    # In the manifest's own order.
    assert warnings == [
        'unknown field "spec.template.spec.containers[0].imagePolicy"',
        'unknown field "spec.replica"',
        'unknown field "extra"',
    ]


def test_unknown_fields_are_found_at_any_depth_from_kubernetes_schema() -> None:
    """The structure comes from Kubernetes' OpenAPI schema of the kind (control/api/openapi): a typo deep in a
    volume, a security context, a probe or a CronJob's job template is found, and free-form or scalar-valued
    fields (labels, resources.limits, status) are left alone."""
    p = pod(volumes=[{"name": "cfg", "configMap": {"nmae": "game"}}],
            securityContext={"runAsUsr": 1000},
            containers=[{"name": "c", "image": "x", "resources": {"limits": {"cpu": "1"}, "limts": {}},
                         "livenessProbe": {"httpGet": {"port": 80, "pth": "/"}}}])
    p["metadata"]["labels"] = {"anything": "goes"}
    p["status"] = {"whatever": True}
    assert sorted(w for w in validate(p)[1] if w.startswith("unknown field")) == [
        'unknown field "spec.containers[0].livenessProbe.httpGet.pth"',
        'unknown field "spec.containers[0].resources.limts"',
        'unknown field "spec.securityContext.runAsUsr"',
        'unknown field "spec.volumes[0].configMap.nmae"',
    ]
    cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "default"},
          "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"backofLimit": 1, "template": {"spec": {
              "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "comand": ["date"]}]}}}}}}
    assert [w for w in validate(cj)[1] if w.startswith("unknown field")] == [
        'unknown field "spec.jobTemplate.spec.backofLimit"',
        'unknown field "spec.jobTemplate.spec.template.spec.containers[0].comand"',
    ]


def test_not_enforced_fields_warn() -> None:
    p = pod(serviceAccountName="builder", hostNetwork=True, securityContext={"runAsUser": 1000},
            containers=[{"name": "c", "image": "x", "securityContext": {"privileged": True,
                                                                        "readOnlyRootFilesystem": True}}])
    errs, warnings = validate(p)
    assert errs == []
    assert warnings == [  # runAsUser is enforced (nodes/securitycontext.py), serviceAccountName by admission
        "spec.hostNetwork: stored but not enforced by kube-tui",
        "spec.containers[0].securityContext.privileged: stored but not enforced by kube-tui",
    ]  # readOnlyRootFilesystem is enforced (nodes/rootfs.py)
    # The defaulted empty securityContext is not worth a warning.
    assert validate(_admit(pod()))[1] == []


# --- updates -------------------------------------------------------------------------------------


def test_pod_update_allows_image_and_toleration_additions() -> None:
    old = _admit(pod(nodeName="node-1"))
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:1.25"
    new["spec"]["tolerations"].append({"key": "k", "operator": "Exists", "effect": "NoSchedule"})
    assert messages(new, old) == []


def test_pod_update_forbids_other_spec_changes() -> None:
    old = _admit(pod(nodeName="node-1"))
    new = copy.deepcopy(old)
    new["spec"]["nodeName"] = "node-2"
    new["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "protocol": "TCP"}]
    errs, _ = validate(new, old)
    assert len(errs) == 1
    assert errs[0].field == "spec" and errs[0].type == "Forbidden"
    assert str(errs[0]).startswith("spec: Forbidden: " + POD_UPDATE_FORBIDDEN)
    assert str(errs[0]).endswith("changed: spec.containers, spec.nodeName")


def test_pod_update_binding_an_unbound_pod_is_allowed() -> None:
    old = _admit(pod())
    new = copy.deepcopy(old)
    new["spec"]["nodeName"] = "node-1"
    assert messages(new, old) == []


def test_pod_update_tolerations_can_not_be_removed() -> None:
    old = _admit(pod())
    new = copy.deepcopy(old)
    new["spec"]["tolerations"] = new["spec"]["tolerations"][:1]
    assert messages(new, old) == [
        "spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"
    ]


def test_immutable_metadata_and_selector() -> None:
    old = _admit(deployment())
    old["metadata"]["uid"] = "u-1"
    new = copy.deepcopy(old)
    new["metadata"]["uid"] = "u-2"
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "tier": "x"}}
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "x"
    assert messages(new, old) == [
        'metadata.uid: Invalid value: "u-2": field is immutable',
        "spec.selector: Invalid value: field is immutable",
    ]
    scaled = copy.deepcopy(old)
    scaled["spec"]["replicas"] = 5
    assert messages(scaled, old) == []


def test_job_template_is_immutable() -> None:
    old = _admit({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
                  "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                 "containers": [{"name": "pi", "image": "perl"}]}}}})
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "perl:5"
    assert messages(new, old) == ["spec.template: Invalid value: field is immutable"]


def test_unknown_kind() -> None:
    assert messages({"kind": "NetworkPolicy", "metadata": {"name": "x"}})[0].startswith('kind: Unsupported value: "NetworkPolicy"')


def test_pod_log_options_are_validated_with_kubernetes_words() -> None:
    assert validate_pod_log_options({"tailLines": 0, "limitBytes": 1, "sinceSeconds": 1}) == []
    errs = validate_pod_log_options({"sinceSeconds": 5, "sinceTime": "2026-11-27T13:10:01Z"})
    assert [str(e) for e in errs] == [": Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified"]
    errs = validate_pod_log_options({"tailLines": -1, "limitBytes": 0, "sinceSeconds": 0})
    assert [str(e) for e in errs] == ["tailLines: Invalid value: -1: must be greater than or equal to 0",
                                      "limitBytes: Invalid value: 0: must be greater than 0",
                                      "sinceSeconds: Invalid value: 0: must be greater than 0"]
    # kube-apiserver passes sinceTime on in whole seconds (time.RFC3339)
    assert since_time("2026-11-27T14:10:01.987+01:00") == "2026-11-27T13:10:01Z"
    for bad in ("2026-11-27", "2026-13-27T13:10:01Z", "now", 5):
        with pytest.raises(ValueError, match='as "2006-01-02T15:04:05Z07:00"'):
            since_time(bad)


def test_scheduling_gates_are_qualified_names_once_each_and_exclude_a_node_name() -> None:
    assert messages(pod(schedulingGates=[{"name": "example.com/foo"}, {"name": "bar"}])) == []
    assert messages(pod(schedulingGates=[{"name": "a"}, {"name": "bad name"}, {"name": "a"}], nodeName="n1")) == [
        "spec.schedulingGates[1]: Invalid value: \"bad name\": name part must consist of alphanumeric characters, '-', "
        "'_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
        "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        "spec.schedulingGates[2]: Duplicate value: \"a\"",
        "spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared",
    ]


def test_scheduling_gates_may_only_be_removed() -> None:
    old = _admit(pod(schedulingGates=[{"name": "a"}, {"name": "b"}]))
    new = copy.deepcopy(old)
    new["spec"]["schedulingGates"] = [{"name": "b"}]
    assert messages(new, old) == []
    new["spec"]["schedulingGates"] = [{"name": "b"}, {"name": "c"}]
    assert messages(new, old) == [
        "spec.schedulingGates[1].name: Forbidden: only deletion is allowed, but found new scheduling gate 'c'"]
