"""Kubernetes protobuf request bodies (Content-Type: application/vnd.kubernetes.protobuf), decoded to JSON dicts.

kubectl 1.32's typed `create` commands (`kubectl create namespace|deployment|service|job|configmap|secret ...`) send their
object as protobuf and do not fall back to JSON. This module turns such a body into the dict a JSON client
would have sent, for the few kinds kube-tui's REST API serves that way.

What it mirrors:

- the envelope of k8s.io/apimachinery/pkg/runtime/serializer/protobuf: the 4 magic bytes `k8s\\x00`, then a
  `runtime.Unknown` message {typeMeta{apiVersion=1, kind=2}=1, raw=2, contentEncoding=3, contentType=4}
  (runtime/generated.proto); `raw` is the object's own message, which carries no TypeMeta. Like Kubernetes,
  contentEncoding and contentType are read but not acted on;
- the gogo-protobuf wire format: varint, 64-bit, length-delimited and 32-bit fields (groups are never used),
  unknown fields skipped by wire type, packed or unpacked repeated numbers, last value wins;
- the messages of k8s.io/api (core/v1, apps/v1, batch/v1) and apimachinery (meta/v1, intstr, resource) that
  Namespace, Pod, Service, ConfigMap, Secret, Deployment, ReplicaSet, Job, CronJob and Ingress reach, each field under its Go
  json name; a `bytes` map value (Secret data, ConfigMap binaryData) becomes base64 text, as JSON carries it.
  Field numbers come from the generated.proto files; which fields are Go pointers comes from the types.go files.

Zero values follow what Go's encoding/json would print for the same object: gogo's marshalers always write
non-pointer fields (so "" and 0 are on the wire for every unset string and number) and write pointer fields
(*int32, *bool, *string, *Struct) only when set. A zero non-pointer scalar is dropped (as `omitempty` would),
a present pointer scalar is kept even when 0/false/"" (Deployment spec.replicas: 0 survives), and a present
message is always kept, empty or not (container "resources": {} as kubectl prints it).

Not decoded (skipped like unknown fields): every `status` but a CertificateSigningRequest's (Kubernetes ignores it on
create; kubectl certificate approve sends its conditions), metadata.managedFields,
ephemeralContainers, resourceClaims, windowsOptions, ulimits, and the volume sources other than hostPath, emptyDir,
secret, persistentVolumeClaim, downwardAPI, configMap and projected.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from control.errors import ApiError

CONTENT_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"  # k8s.io/apimachinery/pkg/runtime/serializer/protobuf: protoEncodingPrefix

# Protobuf wire types (groups, 3 and 4, never appear in Kubernetes messages).
VARINT, I64, LEN, I32 = 0, 1, 2, 5

# Field kinds of the schema table.
STRING = "string"
BYTES = "bytes"
BASE64 = "base64"  # a Go []byte field: the bytes as base64 text, as JSON carries them
INT32 = "int32"
INT64 = "int64"
BOOL = "bool"
MESSAGE = "message"  # a nested message, named by Field.message
INLINE = "inline"  # a Go embedded struct (`json:",inline"`): its fields land in the parent's dict
MAP = "map"  # map<string, V>: repeated entries {key=1, value=2}; Field.message is V's kind (STRING or QUANTITY)
TIME = "time"  # metav1.Time {seconds=1, nanos=2} -> RFC 3339 string, or None for the zero time
QUANTITY = "quantity"  # resource.Quantity {string=1} -> that string
INT_OR_STRING = "intorstring"  # intstr.IntOrString {type=1, intVal=2, strVal=3} -> int or str

_NUMBERS = frozenset({INT32, INT64, BOOL})  # the kinds read from a varint; all others are length-delimited
_MASK64 = (1 << 64) - 1
_GO_ZERO_TIME_SECONDS = -62135596800  # time.Time{}.Unix(): 0001-01-01T00:00:00Z, which JSON prints as null
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Field(NamedTuple):
    """One field of a Kubernetes message: its Go json name and how its bytes are read."""

    json: str
    kind: str
    repeated: bool = False
    pointer: bool = False  # a Go pointer (*T): kept when present, even when it is 0, false or ""
    message: str = ""  # MESSAGE/INLINE: the message's name in SCHEMA; MAP: the value kind


def _s(json: str, ptr: bool = False) -> Field:
    return Field(json, STRING, pointer=ptr)


def _i32(json: str, ptr: bool = False) -> Field:
    return Field(json, INT32, pointer=ptr)


def _i64(json: str, ptr: bool = False) -> Field:
    return Field(json, INT64, pointer=ptr)


def _b(json: str, ptr: bool = False) -> Field:
    return Field(json, BOOL, pointer=ptr)


def _m(json: str, message: str) -> Field:
    return Field(json, MESSAGE, message=message)


def _list(json: str, of: str) -> Field:
    """A repeated field: of a scalar kind (STRING, INT64, ...) or of a message named in SCHEMA."""
    return Field(json, of, repeated=True) if of in _SCALARS else Field(json, MESSAGE, repeated=True, message=of)


def _map(json: str, value: str = STRING) -> Field:
    return Field(json, MAP, message=value)


def _inline(message: str) -> Field:
    return Field("", INLINE, message=message)


_SCALARS = frozenset({STRING, BYTES, BASE64, INT32, INT64, BOOL, TIME, QUANTITY, INT_OR_STRING})

# message name -> {field number: Field}. Numbers from the generated.proto files of kubernetes/kubernetes
# (staging/src/k8s.io/api/{core,apps,batch}/v1, apimachinery/pkg/{runtime,apis/meta/v1,util/intstr,api/resource});
# pointer flags from the matching types.go. A number absent here is skipped like any unknown field.
SCHEMA: dict[str, dict[int, Field]] = {
    # --- k8s.io/apimachinery/pkg/runtime: the envelope
    "Unknown": {1: _m("typeMeta", "TypeMeta"), 2: Field("raw", BYTES), 3: _s("contentEncoding"), 4: _s("contentType")},
    "TypeMeta": {1: _s("apiVersion"), 2: _s("kind")},
    # --- the special apimachinery messages, read before they become JSON scalars
    "Time": {1: _i64("seconds"), 2: _i32("nanos")},
    "Quantity": {1: _s("string")},
    "IntOrString": {1: _i64("type"), 2: _i32("intVal"), 3: _s("strVal")},
    "StringMapEntry": {1: _s("key"), 2: _s("value")},
    "QuantityMapEntry": {1: _s("key"), 2: Field("value", QUANTITY)},
    "BytesMapEntry": {1: _s("key"), 2: Field("value", BYTES)},
    # --- k8s.io/apimachinery/pkg/apis/meta/v1
    "ObjectMeta": {
        1: _s("name"), 2: _s("generateName"), 3: _s("namespace"), 4: _s("selfLink"), 5: _s("uid"),
        6: _s("resourceVersion"), 7: _i64("generation"), 8: Field("creationTimestamp", TIME),
        9: Field("deletionTimestamp", TIME, pointer=True), 10: _i64("deletionGracePeriodSeconds", ptr=True),
        11: _map("labels"), 12: _map("annotations"), 13: _list("ownerReferences", "OwnerReference"),
        14: _list("finalizers", STRING),
    },
    "OwnerReference": {
        5: _s("apiVersion"), 1: _s("kind"), 3: _s("name"), 4: _s("uid"),
        6: _b("controller", ptr=True), 7: _b("blockOwnerDeletion", ptr=True),
    },
    "LabelSelector": {1: _map("matchLabels"), 2: _list("matchExpressions", "LabelSelectorRequirement")},
    "LabelSelectorRequirement": {1: _s("key"), 2: _s("operator"), 3: _list("values", STRING)},
    # --- k8s.io/api/core/v1: the top-level kinds (status, field 3, is not decoded)
    "Namespace": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "NamespaceSpec")},
    # map<string, bytes> values become base64 text, the one form kube-tui carries bytes in (configdata.py)
    # value has no omitempty: a 0 on the wire stays (read as if it were a pointer)
    "PriorityClass": {1: _m("metadata", "ObjectMeta"), 2: _i32("value", ptr=True), 3: _b("globalDefault"),
                      4: _s("description"), 5: _s("preemptionPolicy", ptr=True)},
    "ConfigMap": {1: _m("metadata", "ObjectMeta"), 4: _b("immutable", ptr=True), 2: _map("data"),
                  3: _map("binaryData", BYTES)},
    "Secret": {1: _m("metadata", "ObjectMeta"), 5: _b("immutable", ptr=True), 2: _map("data", BYTES),
               4: _map("stringData"), 3: _s("type")},
    "ServiceAccount": {1: _m("metadata", "ObjectMeta"), 2: _list("secrets", "ObjectReference"),
                       3: _list("imagePullSecrets", "LocalObjectReference"),
                       4: _b("automountServiceAccountToken", ptr=True)},
    "ObjectReference": {1: _s("kind"), 2: _s("namespace"), 3: _s("name"), 4: _s("uid"), 5: _s("apiVersion"),
                        6: _s("resourceVersion"), 7: _s("fieldPath")},
    # kubectl create quota; a LimitRange's typed create
    "ResourceQuota": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "ResourceQuotaSpec")},
    "ResourceQuotaSpec": {1: _map("hard", QUANTITY), 2: _list("scopes", STRING), 3: _m("scopeSelector", "ScopeSelector")},
    "ScopeSelector": {1: _list("matchExpressions", "ScopedResourceSelectorRequirement")},
    "ScopedResourceSelectorRequirement": {1: _s("scopeName"), 2: _s("operator"), 3: _list("values", STRING)},
    "LimitRange": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "LimitRangeSpec")},
    "LimitRangeSpec": {1: _list("limits", "LimitRangeItem")},
    "LimitRangeItem": {1: _s("type"), 2: _map("max", QUANTITY), 3: _map("min", QUANTITY), 4: _map("default", QUANTITY),
                       5: _map("defaultRequest", QUANTITY), 6: _map("maxLimitRequestRatio", QUANTITY)},
    # meta/v1 DeleteOptions: the body of a typed client's delete (kubectl drain's, when there is no eviction)
    "DeleteOptions": {1: _i64("gracePeriodSeconds", ptr=True), 2: _m("preconditions", "Preconditions"),
                      3: _b("orphanDependents", ptr=True), 4: _s("propagationPolicy", ptr=True), 5: _list("dryRun", STRING)},
    "Preconditions": {1: _s("uid", ptr=True), 2: _s("resourceVersion", ptr=True)},
    # --- k8s.io/api/policy/v1: a budget (kubectl create pdb) and the Eviction kubectl drain posts
    "PodDisruptionBudget": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "PodDisruptionBudgetSpec")},
    "PodDisruptionBudgetSpec": {1: Field("minAvailable", INT_OR_STRING), 2: _m("selector", "LabelSelector"),
                                3: Field("maxUnavailable", INT_OR_STRING), 4: _s("unhealthyPodEvictionPolicy", ptr=True)},
    "Eviction": {1: _m("metadata", "ObjectMeta"), 2: _m("deleteOptions", "DeleteOptions")},
    # --- k8s.io/api/autoscaling/v1: what kubectl autoscale (v1.32) creates
    "HorizontalPodAutoscalerV1": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "HorizontalPodAutoscalerSpecV1")},
    "HorizontalPodAutoscalerSpecV1": {1: _m("scaleTargetRef", "CrossVersionObjectReference"),
                                      2: _i32("minReplicas", ptr=True), 3: _i32("maxReplicas"),
                                      4: _i32("targetCPUUtilizationPercentage", ptr=True)},
    "CrossVersionObjectReference": {1: _s("kind"), 2: _s("name"), 3: _s("apiVersion")},
    # authentication.k8s.io/v1 and authorization.k8s.io/v1: kubectl auth whoami | can-i (rest_auth.py)
    "SelfSubjectReview": {1: _m("metadata", "ObjectMeta")},
    "SelfSubjectAccessReview": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {1: _m("resourceAttributes", "ResourceAttributes"),
                                    2: _m("nonResourceAttributes", "NonResourceAttributes")},
    "ResourceAttributes": {1: _s("namespace"), 2: _s("verb"), 3: _s("group"), 4: _s("version"), 5: _s("resource"),
                           6: _s("subresource"), 7: _s("name")},
    "NonResourceAttributes": {1: _s("path"), 2: _s("verb")},
    "SelfSubjectRulesReview": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "SelfSubjectRulesReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: _s("namespace")},
    # rbac.authorization.k8s.io/v1: kubectl create role | clusterrole | rolebinding | clusterrolebinding
    "Role": {1: _m("metadata", "ObjectMeta"), 2: _list("rules", "PolicyRule")},
    "ClusterRole": {1: _m("metadata", "ObjectMeta"), 2: _list("rules", "PolicyRule"),
                    3: _m("aggregationRule", "AggregationRule")},
    "PolicyRule": {1: _list("verbs", STRING), 2: _list("apiGroups", STRING), 3: _list("resources", STRING),
                   4: _list("resourceNames", STRING), 5: _list("nonResourceURLs", STRING)},
    "AggregationRule": {1: _list("clusterRoleSelectors", "LabelSelector")},
    "RoleBinding": {1: _m("metadata", "ObjectMeta"), 2: _list("subjects", "Subject"), 3: _m("roleRef", "RoleRef")},
    "Subject": {1: _s("kind"), 2: _s("apiGroup"), 3: _s("name"), 4: _s("namespace")},
    "RoleRef": {1: _s("apiGroup"), 2: _s("kind"), 3: _s("name")},
    "NamespaceSpec": {1: _list("finalizers", STRING)},
    "Pod": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "PodSpec")},
    "PodTemplateSpec": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "PodSpec")},
    "Service": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "ServiceSpec")},
    # --- core/v1 PodSpec and what it reaches
    "PodSpec": {
        1: _list("volumes", "Volume"), 20: _list("initContainers", "Container"), 2: _list("containers", "Container"),
        3: _s("restartPolicy"), 4: _i64("terminationGracePeriodSeconds", ptr=True),
        5: _i64("activeDeadlineSeconds", ptr=True), 6: _s("dnsPolicy"), 7: _map("nodeSelector"),
        8: _s("serviceAccountName"), 9: _s("serviceAccount"), 21: _b("automountServiceAccountToken", ptr=True),
        10: _s("nodeName"), 11: _b("hostNetwork"), 12: _b("hostPID"), 13: _b("hostIPC"),
        27: _b("shareProcessNamespace", ptr=True), 14: _m("securityContext", "PodSecurityContext"),
        15: _list("imagePullSecrets", "LocalObjectReference"), 16: _s("hostname"), 17: _s("subdomain"),
        18: _m("affinity", "Affinity"), 19: _s("schedulerName"), 22: _list("tolerations", "Toleration"),
        23: _list("hostAliases", "HostAlias"), 24: _s("priorityClassName"), 25: _i32("priority", ptr=True),
        26: _m("dnsConfig", "PodDNSConfig"), 28: _list("readinessGates", "PodReadinessGate"),
        29: _s("runtimeClassName", ptr=True), 30: _b("enableServiceLinks", ptr=True),
        31: _s("preemptionPolicy", ptr=True), 32: _map("overhead", QUANTITY),
        33: _list("topologySpreadConstraints", "TopologySpreadConstraint"), 35: _b("setHostnameAsFQDN", ptr=True),
        36: _m("os", "PodOS"), 37: _b("hostUsers", ptr=True), 38: _list("schedulingGates", "PodSchedulingGate"),
        40: _m("resources", "ResourceRequirements"),
    },
    "Container": {
        1: _s("name"), 2: _s("image"), 3: _list("command", STRING), 4: _list("args", STRING), 5: _s("workingDir"),
        6: _list("ports", "ContainerPort"), 19: _list("envFrom", "EnvFromSource"), 7: _list("env", "EnvVar"),
        8: _m("resources", "ResourceRequirements"), 23: _list("resizePolicy", "ContainerResizePolicy"),
        24: _s("restartPolicy", ptr=True), 9: _list("volumeMounts", "VolumeMount"),
        21: _list("volumeDevices", "VolumeDevice"), 10: _m("livenessProbe", "Probe"),
        11: _m("readinessProbe", "Probe"), 22: _m("startupProbe", "Probe"), 12: _m("lifecycle", "Lifecycle"),
        13: _s("terminationMessagePath"), 20: _s("terminationMessagePolicy"), 14: _s("imagePullPolicy"),
        15: _m("securityContext", "SecurityContext"), 16: _b("stdin"), 17: _b("stdinOnce"), 18: _b("tty"),
    },
    "ContainerPort": {1: _s("name"), 2: _i32("hostPort"), 3: _i32("containerPort"), 4: _s("protocol"), 5: _s("hostIP")},
    "ContainerResizePolicy": {1: _s("resourceName"), 2: _s("restartPolicy")},
    "EnvVar": {1: _s("name"), 2: _s("value"), 3: _m("valueFrom", "EnvVarSource")},
    "EnvVarSource": {
        1: _m("fieldRef", "ObjectFieldSelector"), 2: _m("resourceFieldRef", "ResourceFieldSelector"),
        3: _m("configMapKeyRef", "ConfigMapKeySelector"), 4: _m("secretKeyRef", "SecretKeySelector"),
    },
    "ObjectFieldSelector": {1: _s("apiVersion"), 2: _s("fieldPath")},
    "ResourceFieldSelector": {1: _s("containerName"), 2: _s("resource"), 3: Field("divisor", QUANTITY)},
    "ConfigMapKeySelector": {1: _inline("LocalObjectReference"), 2: _s("key"), 3: _b("optional", ptr=True)},
    "SecretKeySelector": {1: _inline("LocalObjectReference"), 2: _s("key"), 3: _b("optional", ptr=True)},
    "EnvFromSource": {1: _s("prefix"), 2: _m("configMapRef", "ConfigMapEnvSource"), 3: _m("secretRef", "SecretEnvSource")},
    "ConfigMapEnvSource": {1: _inline("LocalObjectReference"), 2: _b("optional", ptr=True)},
    "SecretEnvSource": {1: _inline("LocalObjectReference"), 2: _b("optional", ptr=True)},
    "LocalObjectReference": {1: _s("name")},
    "ResourceRequirements": {
        1: _map("limits", QUANTITY), 2: _map("requests", QUANTITY), 3: _list("claims", "ResourceClaim"),
    },
    "ResourceClaim": {1: _s("name"), 2: _s("request")},
    "VolumeMount": {
        1: _s("name"), 2: _b("readOnly"), 7: _s("recursiveReadOnly", ptr=True), 3: _s("mountPath"),
        4: _s("subPath"), 5: _s("mountPropagation", ptr=True), 6: _s("subPathExpr"),
    },
    "VolumeDevice": {1: _s("name"), 2: _s("devicePath")},
    "Probe": {
        1: _inline("ProbeHandler"), 2: _i32("initialDelaySeconds"), 3: _i32("timeoutSeconds"),
        4: _i32("periodSeconds"), 5: _i32("successThreshold"), 6: _i32("failureThreshold"),
        7: _i64("terminationGracePeriodSeconds", ptr=True),
    },
    "ProbeHandler": {
        1: _m("exec", "ExecAction"), 2: _m("httpGet", "HTTPGetAction"), 3: _m("tcpSocket", "TCPSocketAction"),
        4: _m("grpc", "GRPCAction"),
    },
    "ExecAction": {1: _list("command", STRING)},
    "HTTPGetAction": {
        1: _s("path"), 2: Field("port", INT_OR_STRING), 3: _s("host"), 4: _s("scheme"),
        5: _list("httpHeaders", "HTTPHeader"),
    },
    "HTTPHeader": {1: _s("name"), 2: _s("value")},
    "TCPSocketAction": {1: Field("port", INT_OR_STRING), 2: _s("host")},
    "GRPCAction": {1: _i32("port"), 2: _s("service", ptr=True)},
    "Lifecycle": {
        1: _m("postStart", "LifecycleHandler"), 2: _m("preStop", "LifecycleHandler"), 3: _s("stopSignal", ptr=True),
    },
    "LifecycleHandler": {
        1: _m("exec", "ExecAction"), 2: _m("httpGet", "HTTPGetAction"), 3: _m("tcpSocket", "TCPSocketAction"),
        4: _m("sleep", "SleepAction"),
    },
    "SleepAction": {1: _i64("seconds")},
    "SecurityContext": {
        1: _m("capabilities", "Capabilities"), 2: _b("privileged", ptr=True), 3: _m("seLinuxOptions", "SELinuxOptions"),
        4: _i64("runAsUser", ptr=True), 8: _i64("runAsGroup", ptr=True), 5: _b("runAsNonRoot", ptr=True),
        6: _b("readOnlyRootFilesystem", ptr=True), 7: _b("allowPrivilegeEscalation", ptr=True),
        9: _s("procMount", ptr=True), 11: _m("seccompProfile", "SeccompProfile"),
        12: _m("appArmorProfile", "AppArmorProfile"),
    },
    "PodSecurityContext": {
        1: _m("seLinuxOptions", "SELinuxOptions"), 2: _i64("runAsUser", ptr=True), 6: _i64("runAsGroup", ptr=True),
        3: _b("runAsNonRoot", ptr=True), 4: _list("supplementalGroups", INT64),
        12: _s("supplementalGroupsPolicy", ptr=True), 5: _i64("fsGroup", ptr=True), 7: _list("sysctls", "Sysctl"),
        9: _s("fsGroupChangePolicy", ptr=True), 10: _m("seccompProfile", "SeccompProfile"),
        11: _m("appArmorProfile", "AppArmorProfile"), 13: _s("seLinuxChangePolicy", ptr=True),
    },
    "Capabilities": {1: _list("add", STRING), 2: _list("drop", STRING)},
    "SELinuxOptions": {1: _s("user"), 2: _s("role"), 3: _s("type"), 4: _s("level")},
    "SeccompProfile": {1: _s("type"), 2: _s("localhostProfile", ptr=True)},
    "AppArmorProfile": {1: _s("type"), 2: _s("localhostProfile", ptr=True)},
    "Sysctl": {1: _s("name"), 2: _s("value")},
    "Toleration": {
        1: _s("key"), 2: _s("operator"), 3: _s("value"), 4: _s("effect"), 5: _i64("tolerationSeconds", ptr=True),
    },
    "HostAlias": {1: _s("ip"), 2: _list("hostnames", STRING)},
    "PodDNSConfig": {
        1: _list("nameservers", STRING), 2: _list("searches", STRING), 3: _list("options", "PodDNSConfigOption"),
    },
    "PodDNSConfigOption": {1: _s("name"), 2: _s("value", ptr=True)},
    "PodReadinessGate": {1: _s("conditionType")},
    "PodOS": {1: _s("name")},
    "PodSchedulingGate": {1: _s("name")},
    "TopologySpreadConstraint": {
        1: _i32("maxSkew"), 2: _s("topologyKey"), 3: _s("whenUnsatisfiable"), 4: _m("labelSelector", "LabelSelector"),
        5: _i32("minDomains", ptr=True), 6: _s("nodeAffinityPolicy", ptr=True), 7: _s("nodeTaintsPolicy", ptr=True),
        8: _list("matchLabelKeys", STRING),
    },
    "Affinity": {
        1: _m("nodeAffinity", "NodeAffinity"), 2: _m("podAffinity", "PodAffinity"),
        3: _m("podAntiAffinity", "PodAffinity"),  # PodAntiAffinity has PodAffinity's two fields
    },
    "NodeAffinity": {
        1: _m("requiredDuringSchedulingIgnoredDuringExecution", "NodeSelector"),
        2: _list("preferredDuringSchedulingIgnoredDuringExecution", "PreferredSchedulingTerm"),
    },
    "NodeSelector": {1: _list("nodeSelectorTerms", "NodeSelectorTerm")},
    "NodeSelectorTerm": {
        1: _list("matchExpressions", "NodeSelectorRequirement"), 2: _list("matchFields", "NodeSelectorRequirement"),
    },
    "NodeSelectorRequirement": {1: _s("key"), 2: _s("operator"), 3: _list("values", STRING)},
    "PreferredSchedulingTerm": {1: _i32("weight"), 2: _m("preference", "NodeSelectorTerm")},
    "PodAffinity": {
        1: _list("requiredDuringSchedulingIgnoredDuringExecution", "PodAffinityTerm"),
        2: _list("preferredDuringSchedulingIgnoredDuringExecution", "WeightedPodAffinityTerm"),
    },
    "PodAffinityTerm": {
        1: _m("labelSelector", "LabelSelector"), 2: _list("namespaces", STRING), 3: _s("topologyKey"),
        4: _m("namespaceSelector", "LabelSelector"), 5: _list("matchLabelKeys", STRING),
        6: _list("mismatchLabelKeys", STRING),
    },
    "WeightedPodAffinityTerm": {1: _i32("weight"), 2: _m("podAffinityTerm", "PodAffinityTerm")},
    # --- core/v1 volumes: Volume embeds VolumeSource (`json:",inline"`); a few common sources
    "Volume": {1: _s("name"), 2: _inline("VolumeSource")},
    "VolumeSource": {
        1: _m("hostPath", "HostPathVolumeSource"), 2: _m("emptyDir", "EmptyDirVolumeSource"),
        6: _m("secret", "SecretVolumeSource"), 10: _m("persistentVolumeClaim", "PersistentVolumeClaimVolumeSource"),
        16: _m("downwardAPI", "DownwardAPIVolumeSource"), 19: _m("configMap", "ConfigMapVolumeSource"),
        26: _m("projected", "ProjectedVolumeSource"),
    },
    "HostPathVolumeSource": {1: _s("path"), 2: _s("type", ptr=True)},
    "EmptyDirVolumeSource": {1: _s("medium"), 2: Field("sizeLimit", QUANTITY, pointer=True)},
    "SecretVolumeSource": {
        1: _s("secretName"), 2: _list("items", "KeyToPath"), 3: _i32("defaultMode", ptr=True),
        4: _b("optional", ptr=True),
    },
    "ConfigMapVolumeSource": {
        1: _inline("LocalObjectReference"), 2: _list("items", "KeyToPath"), 3: _i32("defaultMode", ptr=True),
        4: _b("optional", ptr=True),
    },
    "KeyToPath": {1: _s("key"), 2: _s("path"), 3: _i32("mode", ptr=True)},
    "PersistentVolumeClaimVolumeSource": {1: _s("claimName"), 2: _b("readOnly")},
    "DownwardAPIVolumeSource": {1: _list("items", "DownwardAPIVolumeFile"), 2: _i32("defaultMode", ptr=True)},
    "DownwardAPIVolumeFile": {
        1: _s("path"), 2: _m("fieldRef", "ObjectFieldSelector"), 3: _m("resourceFieldRef", "ResourceFieldSelector"),
        4: _i32("mode", ptr=True),
    },
    "ProjectedVolumeSource": {1: _list("sources", "VolumeProjection"), 2: _i32("defaultMode", ptr=True)},
    "VolumeProjection": {
        1: _m("secret", "SecretProjection"), 2: _m("downwardAPI", "DownwardAPIProjection"),
        3: _m("configMap", "ConfigMapProjection"), 4: _m("serviceAccountToken", "ServiceAccountTokenProjection"),
    },
    "SecretProjection": {1: _inline("LocalObjectReference"), 2: _list("items", "KeyToPath"), 4: _b("optional", ptr=True)},
    "ConfigMapProjection": {
        1: _inline("LocalObjectReference"), 2: _list("items", "KeyToPath"), 4: _b("optional", ptr=True),
    },
    "DownwardAPIProjection": {1: _list("items", "DownwardAPIVolumeFile")},
    "ServiceAccountTokenProjection": {1: _s("audience"), 2: _i64("expirationSeconds", ptr=True), 3: _s("path")},
    # --- core/v1 Service
    "ServiceSpec": {
        1: _list("ports", "ServicePort"), 2: _map("selector"), 3: _s("clusterIP"), 18: _list("clusterIPs", STRING),
        4: _s("type"), 5: _list("externalIPs", STRING), 7: _s("sessionAffinity"), 8: _s("loadBalancerIP"),
        9: _list("loadBalancerSourceRanges", STRING), 10: _s("externalName"), 11: _s("externalTrafficPolicy"),
        12: _i32("healthCheckNodePort"), 13: _b("publishNotReadyAddresses"),
        14: _m("sessionAffinityConfig", "SessionAffinityConfig"), 19: _list("ipFamilies", STRING),
        17: _s("ipFamilyPolicy", ptr=True), 20: _b("allocateLoadBalancerNodePorts", ptr=True),
        21: _s("loadBalancerClass", ptr=True), 22: _s("internalTrafficPolicy", ptr=True),
        23: _s("trafficDistribution", ptr=True),
    },
    "ServicePort": {
        1: _s("name"), 2: _s("protocol"), 6: _s("appProtocol", ptr=True), 3: _i32("port"),
        4: Field("targetPort", INT_OR_STRING), 5: _i32("nodePort"),
    },
    "SessionAffinityConfig": {1: _m("clientIP", "ClientIPConfig")},
    "ClientIPConfig": {1: _i32("timeoutSeconds", ptr=True)},
    # --- k8s.io/api/authentication/v1 TokenRequest (kubectl create token)
    "TokenRequest": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "TokenRequestSpec")},
    "TokenRequestSpec": {
        1: _list("audiences", STRING), 4: _i64("expirationSeconds", ptr=True),
        3: _m("boundObjectRef", "BoundObjectReference"),
    },
    "BoundObjectReference": {1: _s("kind"), 2: _s("apiVersion"), 3: _s("name"), 4: _s("uid")},
    # --- k8s.io/api/certificates/v1 (kubectl certificate approve|deny sends the whole request, status and all)
    "CertificateSigningRequest": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "CertificateSigningRequestSpec"),
                                  3: _m("status", "CertificateSigningRequestStatus")},
    "CertificateSigningRequestSpec": {
        1: Field("request", BASE64), 7: _s("signerName"), 8: _i32("expirationSeconds", ptr=True),
        5: _list("usages", STRING), 2: _s("username"), 3: _s("uid"), 4: _list("groups", STRING),
    },
    "CertificateSigningRequestStatus": {1: _list("conditions", "CertificateSigningRequestCondition"),
                                        2: Field("certificate", BASE64)},
    "CertificateSigningRequestCondition": {
        1: _s("type"), 6: _s("status"), 2: _s("reason"), 3: _s("message"), 4: Field("lastUpdateTime", TIME),
        5: Field("lastTransitionTime", TIME),
    },
    # --- k8s.io/api/apps/v1
    "Deployment": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "DeploymentSpec")},
    "DeploymentSpec": {
        1: _i32("replicas", ptr=True), 2: _m("selector", "LabelSelector"), 3: _m("template", "PodTemplateSpec"),
        4: _m("strategy", "DeploymentStrategy"), 5: _i32("minReadySeconds"), 6: _i32("revisionHistoryLimit", ptr=True),
        7: _b("paused"), 9: _i32("progressDeadlineSeconds", ptr=True), 10: _s("podReplacementPolicy", ptr=True),
    },
    "DeploymentStrategy": {1: _s("type"), 2: _m("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: Field("maxUnavailable", INT_OR_STRING), 2: Field("maxSurge", INT_OR_STRING)},
    "ReplicaSet": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "ReplicaSetSpec")},
    "ReplicaSetSpec": {
        1: _i32("replicas", ptr=True), 4: _i32("minReadySeconds"), 2: _m("selector", "LabelSelector"),
        3: _m("template", "PodTemplateSpec"),
    },
    # --- k8s.io/api/batch/v1
    "Job": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "JobSpec")},
    "JobSpec": {
        1: _i32("parallelism", ptr=True), 2: _i32("completions", ptr=True), 3: _i64("activeDeadlineSeconds", ptr=True),
        11: _m("podFailurePolicy", "PodFailurePolicy"), 16: _m("successPolicy", "SuccessPolicy"),
        7: _i32("backoffLimit", ptr=True), 12: _i32("backoffLimitPerIndex", ptr=True),
        13: _i32("maxFailedIndexes", ptr=True), 4: _m("selector", "LabelSelector"), 5: _b("manualSelector", ptr=True),
        6: _m("template", "PodTemplateSpec"), 8: _i32("ttlSecondsAfterFinished", ptr=True),
        9: _s("completionMode", ptr=True), 10: _b("suspend", ptr=True), 14: _s("podReplacementPolicy", ptr=True),
        15: _s("managedBy", ptr=True),
    },
    "CronJob": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "CronJobSpec")},
    "CronJobSpec": {
        1: _s("schedule"), 8: _s("timeZone", ptr=True), 2: _i64("startingDeadlineSeconds", ptr=True),
        3: _s("concurrencyPolicy"), 4: _b("suspend", ptr=True), 5: _m("jobTemplate", "JobTemplateSpec"),
        6: _i32("successfulJobsHistoryLimit", ptr=True), 7: _i32("failedJobsHistoryLimit", ptr=True),
    },
    "JobTemplateSpec": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "JobSpec")},
    "PodFailurePolicy": {1: _list("rules", "PodFailurePolicyRule")},
    "PodFailurePolicyRule": {
        1: _s("action"), 2: _m("onExitCodes", "PodFailurePolicyOnExitCodesRequirement"),
        3: _list("onPodConditions", "PodFailurePolicyOnPodConditionsPattern"),
    },
    "PodFailurePolicyOnExitCodesRequirement": {
        1: _s("containerName", ptr=True), 2: _s("operator"), 3: _list("values", INT32),
    },
    "PodFailurePolicyOnPodConditionsPattern": {1: _s("type"), 2: _s("status")},
    "SuccessPolicy": {1: _list("rules", "SuccessPolicyRule")},
    "SuccessPolicyRule": {1: _s("succeededIndexes", ptr=True), 2: _i32("succeededCount", ptr=True)},
    # --- k8s.io/api/networking/v1: kubectl create ingress
    "Ingress": {1: _m("metadata", "ObjectMeta"), 2: _m("spec", "IngressSpec")},
    "IngressSpec": {4: _s("ingressClassName", ptr=True), 1: _m("defaultBackend", "IngressBackend"),
                    2: _list("tls", "IngressTLS"), 3: _list("rules", "IngressRule")},
    "IngressBackend": {4: _m("service", "IngressServiceBackend"), 3: _m("resource", "TypedLocalObjectReference")},
    "IngressServiceBackend": {1: _s("name"), 2: _m("port", "ServiceBackendPort")},
    "ServiceBackendPort": {1: _s("name"), 2: _i32("number")},
    "TypedLocalObjectReference": {1: _s("apiGroup", ptr=True), 2: _s("kind"), 3: _s("name")},
    "IngressTLS": {1: _list("hosts", STRING), 2: _s("secretName")},
    "IngressRule": {1: _s("host"), 2: _inline("IngressRuleValue")},
    "IngressRuleValue": {1: _m("http", "HTTPIngressRuleValue")},
    "HTTPIngressRuleValue": {1: _list("paths", "HTTPIngressPath")},
    "HTTPIngressPath": {1: _s("path"), 3: _s("pathType", ptr=True), 2: _m("backend", "IngressBackend")},
}

# (apiVersion, kind) -> the message its `raw` bytes hold.
KINDS: dict[tuple[str, str], str] = {
    ("v1", "Namespace"): "Namespace",
    ("v1", "ConfigMap"): "ConfigMap",
    ("v1", "Secret"): "Secret",
    ("v1", "ServiceAccount"): "ServiceAccount",
    ("v1", "Pod"): "Pod",
    ("v1", "Service"): "Service",
    ("v1", "ResourceQuota"): "ResourceQuota",
    ("v1", "LimitRange"): "LimitRange",
    ("apps/v1", "Deployment"): "Deployment",
    ("apps/v1", "ReplicaSet"): "ReplicaSet",
    ("batch/v1", "Job"): "Job",
    ("batch/v1", "CronJob"): "CronJob",
    ("scheduling.k8s.io/v1", "PriorityClass"): "PriorityClass",
    ("policy/v1", "PodDisruptionBudget"): "PodDisruptionBudget",
    ("policy/v1", "Eviction"): "Eviction",
    ("networking.k8s.io/v1", "Ingress"): "Ingress",
    ("autoscaling/v1", "HorizontalPodAutoscaler"): "HorizontalPodAutoscalerV1",
    # DeleteOptions travel in the group version of the client that sends them
    **{(gv, "DeleteOptions"): "DeleteOptions" for gv in ("v1", "meta.k8s.io/v1", "apps/v1", "batch/v1",
                                                        "scheduling.k8s.io/v1", "policy/v1", "autoscaling/v1",
                                                        "networking.k8s.io/v1", "rbac.authorization.k8s.io/v1",
                                                        "certificates.k8s.io/v1")},
    ("authentication.k8s.io/v1", "SelfSubjectReview"): "SelfSubjectReview",
    ("authentication.k8s.io/v1", "TokenRequest"): "TokenRequest",
    ("certificates.k8s.io/v1", "CertificateSigningRequest"): "CertificateSigningRequest",
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authorization.k8s.io/v1", "SelfSubjectRulesReview"): "SelfSubjectRulesReview",
    **{("rbac.authorization.k8s.io/v1", k): k for k in ("Role", "ClusterRole", "RoleBinding")},
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "RoleBinding",  # the same fields, numbered alike
}
SUPPORTED = ("Namespace, Pod, Service, ConfigMap, Secret, ServiceAccount, ResourceQuota, LimitRange (v1), Deployment, ReplicaSet (apps/v1), Job, CronJob (batch/v1), "
             "PriorityClass (scheduling.k8s.io/v1), PodDisruptionBudget and Eviction (policy/v1), HorizontalPodAutoscaler "
             "(autoscaling/v1), Ingress (networking.k8s.io/v1), Role, ClusterRole, RoleBinding, ClusterRoleBinding "
             "(rbac.authorization.k8s.io/v1), TokenRequest (authentication.k8s.io/v1), CertificateSigningRequest "
             "(certificates.k8s.io/v1)")


def decode(body: bytes) -> dict[str, Any]:
    """The JSON-shaped dict of a Kubernetes protobuf request body: apiVersion and kind from the envelope,
    the object's fields under their json names. ApiError 400 for malformed bytes, 415 for a kind not decoded."""
    if body[: len(MAGIC)] != MAGIC:
        raise _malformed("it does not start with the 4 bytes k8s\\x00 of Kubernetes' protobuf envelope")
    if len(body) == len(MAGIC):
        raise _malformed("the envelope after k8s\\x00 is empty")
    unknown = _message(bytes(body[len(MAGIC):]), "Unknown", "")
    type_meta = unknown.get("typeMeta", {})
    api_version, kind = type_meta.get("apiVersion", ""), type_meta.get("kind", "")
    if not kind:
        raise _malformed("the envelope's typeMeta names no kind")
    if not api_version:
        raise _malformed(f"the envelope's typeMeta names no apiVersion for kind {kind}")
    message = KINDS.get((api_version, kind))
    if message is None:
        raise ApiError(415, "UnsupportedMediaType",
                       f"kube-tui decodes protobuf request bodies only for {SUPPORTED}, not for {kind} "
                       f"({api_version}): send it as JSON (Content-Type: application/json)")
    obj: dict[str, Any] = {"kind": kind, "apiVersion": api_version}
    obj.update(_message(unknown.get("raw", b""), message, ""))
    return obj


def iter_fields(data: bytes, where: str = "") -> Iterator[tuple[int, int, int | bytes]]:
    """The (field number, wire type, value) of each field of one protobuf message, in order: an int for
    varint and fixed 64/32-bit fields (unsigned), the bytes of a length-delimited one."""
    pos, end = 0, len(data)
    while pos < end:
        key, pos = _varint(data, pos, where)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _malformed(f"{_at(where)}field number 0 is not allowed")
        value: int | bytes
        if wire == VARINT:
            value, pos = _varint(data, pos, where)
        elif wire in (I64, I32):
            size = 8 if wire == I64 else 4
            if end - pos < size:
                raise _malformed(f"{_at(where)}field {number} is cut short: {size} bytes announced, {end - pos} left")
            value, pos = int.from_bytes(data[pos:pos + size], "little"), pos + size
        elif wire == LEN:
            size, pos = _varint(data, pos, where)
            if size > end - pos:
                raise _malformed(f"{_at(where)}field {number} is cut short: {size} bytes announced, {end - pos} left")
            value, pos = data[pos:pos + size], pos + size
        else:
            raise _malformed(f"{_at(where)}field {number} has wire type {wire}, which Kubernetes never uses")
        yield number, wire, value


def _message(data: bytes, name: str, where: str) -> dict[str, Any]:
    """One message of SCHEMA as a dict; fields it does not list are skipped."""
    schema = SCHEMA[name]
    out: dict[str, Any] = {}
    for number, wire, value in iter_fields(data, where):
        field = schema.get(number)
        if field is not None:
            _put(out, field, wire, value, f"{where}.{field.json}" if where else field.json, f"{name} field {number}")
    return out


def _put(out: dict[str, Any], field: Field, wire: int, value: int | bytes, where: str, which: str) -> None:
    """Store one wire field into its message's dict, by the field's kind, repetition and pointer-ness."""
    if field.repeated and field.kind in _NUMBERS and wire == LEN:  # a packed repeated number
        assert isinstance(value, bytes)
        out.setdefault(field.json, []).extend(_number(field.kind, v) for v in _packed(value, where))
        return
    expected = VARINT if field.kind in _NUMBERS else LEN
    if wire != expected:
        raise _malformed(f"{where} ({which}) has wire type {wire}, expected {expected}")
    item = _value(field, value, where)
    if field.kind == INLINE:
        out.update(item)
    elif field.kind == MAP:
        key, val = item
        out.setdefault(field.json, {})[key] = val
    elif field.repeated:
        out.setdefault(field.json, []).append(item)
    elif field.kind == MESSAGE and isinstance(out.get(field.json), dict):
        out[field.json].update(item)  # a message seen twice merges, as protobuf says
    elif field.kind in (STRING, BYTES, BASE64, INT32, INT64, BOOL) and not field.pointer and not item:
        out.pop(field.json, None)  # a zero non-pointer scalar: omitted, as `omitempty` would
    else:
        out[field.json] = item


def _value(field: Field, value: int | bytes, where: str) -> Any:
    if field.kind in _NUMBERS:
        assert isinstance(value, int)
        return _number(field.kind, value)
    assert isinstance(value, bytes)
    if field.kind == STRING:
        return _text(value, where)
    if field.kind == BYTES:
        return value
    if field.kind == BASE64:
        return base64.b64encode(value).decode("ascii")
    if field.kind in (MESSAGE, INLINE):
        return _message(value, field.message, where)
    if field.kind == MAP:
        if field.message == BYTES:
            entry = _message(value, "BytesMapEntry", where)
            return entry.get("key", ""), base64.b64encode(entry.get("value", b"")).decode("ascii")
        entry = _message(value, "QuantityMapEntry" if field.message == QUANTITY else "StringMapEntry", where)
        return entry.get("key", ""), entry.get("value", "0" if field.message == QUANTITY else "")
    if field.kind == TIME:
        return _time(value, where)
    if field.kind == QUANTITY:
        return _message(value, "Quantity", where).get("string") or "0"  # the zero Quantity prints as "0"
    if field.kind == INT_OR_STRING:
        return _int_or_string(value, where)
    raise AssertionError(f"unknown field kind {field.kind!r}")  # pragma: no cover - the schema is fixed


def _number(kind: str, raw: int) -> int | bool:
    """A varint as Go reads it: int64 is two's complement over 64 bits, int32 its low 32 bits, bool non-zero."""
    if kind == BOOL:
        return raw != 0
    if kind == INT32:
        raw &= 0xFFFFFFFF
        return raw - (1 << 32) if raw >= 1 << 31 else raw
    return raw - (1 << 64) if raw >= 1 << 63 else raw


def _time(data: bytes, where: str) -> str | None:
    """metav1.Time: seconds and nanos since the epoch, printed like its MarshalJSON (RFC 3339, whole seconds,
    UTC); an empty message or Go's zero time (time.Time{}) is JSON null."""
    if not data:
        return None
    ts = _message(data, "Time", where)
    seconds, nanos = ts.get("seconds", 0), ts.get("nanos", 0)
    if seconds == _GO_ZERO_TIME_SECONDS and nanos == 0:
        return None
    try:
        t = _EPOCH + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        raise _malformed(f"{where} is {seconds} seconds from 1970, outside years 1-9999") from None
    return f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"


def _int_or_string(data: bytes, where: str) -> int | str:
    """intstr.IntOrString: type 0 is intVal, type 1 strVal, as its MarshalJSON prints them."""
    v = _message(data, "IntOrString", where)
    kind = v.get("type", 0)
    if kind == 0:
        return int(v.get("intVal", 0))
    if kind == 1:
        return str(v.get("strVal", ""))
    raise _malformed(f"{where} is an IntOrString of unknown type {kind}")


def _varint(data: bytes, pos: int, where: str) -> tuple[int, int]:
    """A base-128 varint of at most 10 bytes, as an unsigned 64-bit number, and the position after it."""
    result = shift = 0
    while True:
        if pos >= len(data):
            raise _malformed(f"{_at(where)}a varint is cut short at byte {pos}")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & _MASK64, pos
        shift += 7
        if shift >= 70:
            raise _malformed(f"{_at(where)}a varint runs past 10 bytes")


def _packed(data: bytes, where: str) -> Iterator[int]:
    pos = 0
    while pos < len(data):
        value, pos = _varint(data, pos, where)
        yield value


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _malformed(f"{where} is not valid UTF-8") from None


def _at(where: str) -> str:
    return f"{where}: " if where else ""


def _malformed(detail: str) -> ApiError:
    return ApiError(400, "BadRequest", f"the protobuf body is malformed: {detail}")
