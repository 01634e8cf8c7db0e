"""The API server's verbs: admission (defaults, validation), optimistic concurrency, and the store writes."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import msgpack

from control import errors
from control.api import certificates as csrs
from control.api import configdata, kinds, meta, podsecurity, priority, rbac, remotecommand
from control.api import endpointslice as slices
from control.api import horizontalpodautoscaler as hpas
from control.api import ingress as ingresses
from control.api import limitrange as lrs
from control.api import persistentvolume as pvs
from control.api import poddisruptionbudget as pdbs
from control.api import resourcequota as rqs
from control.api.defaults import DEFAULT_TOLERATION_SECONDS, apply_defaults, job_selector_defaults
from control.api.fieldsel import parse_field_selector
from control.api.kinds import KindInfo
from control.api.labels import parse_selector
from control.api.patch import apply_patch
from control.api.qos import qos_class
from control.api.validation import validate
from control.api.validation.pod import since_time, validate_pod_log_options
from control.api.warnings import prune_unknown_fields, unknown_fields
from control.apiserver import authz, discovery, eviction, fieldmanager, pagination, ranges, serviceaccount
from control.apiserver.allocator import IPAllocator, PortAllocator
from control.apiserver.watch import RAW_TOPIC, WatchHub, decode, node_topic
from control.errors import FieldError
from control.store import Compare, ErrCompacted, ErrFutureRev, Op, Store, StoreError
from control.wire import require

log = logging.getLogger("kube_tui.apiserver")

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# kube-apiserver's post-start hooks that Api.bootstrap runs: the system namespaces and the kubernetes Service,
# the RBAC bootstrap policy, and the system PriorityClasses
POST_START_HOOKS = ("bootstrap-controller", "rbac/bootstrap-roles", "scheduling/bootstrap-system-priority-classes")
WORKLOADS = ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job", "CronJob")
CONFLICT_RETRIES = 8
NO_GENERATION = (*configdata.KINDS, "ControllerRevision", "PersistentVolume", "PersistentVolumeClaim", "StorageClass",
                 "ResourceQuota", "LimitRange", "CertificateSigningRequest", *rbac.KINDS)
QUOTA_IGNORED = ("Event",)  # the quota admission's default ignoredResources

# Warnings for the current request (each request runs in its own task, so its own context).
WARNINGS: contextvars.ContextVar[list[str]] = contextvars.ContextVar("warnings")
# Who is writing (the client's agent string), recorded like metadata.managedFields' manager.
AGENT: contextvars.ContextVar[str] = contextvars.ContextVar("agent", default="unknown")
# A server-side dry run (dryRun=All): admission runs in full, the store is not written.
DRY_RUN: contextvars.ContextVar[bool] = contextvars.ContextVar("dry_run", default=False)
# Fields the schema does not have (fieldValidation): Warn (the default), Strict (refused: kubectl's
# default, --validate=strict) or Ignore.
FIELD_VALIDATION: contextvars.ContextVar[str] = contextvars.ContextVar("field_validation", default="Warn")
FIELD_VALIDATIONS = ("Ignore", "Warn", "Strict")
WRITE_VERBS = ("create", "update", "patch", "delete", "evict")
# Who is writing (the authenticated, or impersonated, user): RBAC's escalation check of a role or binding.
REQUESTER: contextvars.ContextVar[str] = contextvars.ContextVar("requester", default="system:apiserver")

Handler = Callable[[dict, str], Awaitable[tuple[int, Any]]]


SUBRESOURCES = {"status": None, "ephemeralcontainers": "Pod", "approval": "CertificateSigningRequest"}  # written by update and patch: the kind, None for any


def check_subresource(verb: str, info: KindInfo, sub: str | None) -> None:
    """BadRequest for a subresource update and patch do not write (scale, binding, eviction have verbs of their own)."""
    if sub in (None, ""):
        return
    if sub not in SUBRESOURCES or SUBRESOURCES[sub] not in (None, info.kind):
        raise errors.bad_request(f'{verb}: unknown subresource "{sub}" of {info.resource}: use "status"'
                                 + (' or "ephemeralcontainers"' if info.kind == "Pod" else "")
                                 + (' or "approval"' if info.kind == "CertificateSigningRequest" else "") + " or none")


def keep_ephemeral_containers(new: dict, cur: dict) -> None:
    """A pod's ephemeral containers change only through pods/ephemeralcontainers (kubectl debug): an update of
    the pod keeps the stored ones, as it keeps the status."""
    spec, old = new.get("spec"), (cur.get("spec") or {}).get("ephemeralContainers")
    if not isinstance(spec, dict):
        return
    if old:
        spec["ephemeralContainers"] = old
    else:
        spec.pop("ephemeralContainers", None)


def record_manager(obj: dict, manager: str, subresource: str = "") -> None:
    """metadata.managedFields without field sets: which agent last wrote this object, and when (the fields
    themselves are recorded only for objects with an Apply manager: fieldmanager.record). The REST API gives
    such an entry an empty field set as it serves it (rest.served): kubectl reads every entry's fieldsV1."""
    md = obj.setdefault("metadata", {})
    entries = [e for e in md.get("managedFields") or [] if isinstance(e, dict)]
    entry = {"manager": manager, "operation": "Update", "apiVersion": obj.get("apiVersion"), "time": meta.now()}
    if subresource:
        entry["subresource"] = subresource
    entries = [e for e in entries if not (e.get("manager") == manager and e.get("subresource", "") == subresource)]
    entries.append(entry)
    md["managedFields"] = entries[-8:]


def _check_scale_patch(info: KindInfo, patch: Any, patch_type: str) -> None:
    """A patch through the scale subresource (kubectl scale) changes spec.replicas alone; it is recorded in
    metadata.managedFields with subresource "scale", as kube-apiserver records it."""
    if info.kind not in ("Deployment", "ReplicaSet", "StatefulSet"):
        raise errors.not_found(f"{info.resource}/scale", "", info.group)
    spec = patch.get("spec") if isinstance(patch, dict) else None
    if (patch_type != "merge" or not isinstance(spec, dict) or set(spec) != {"replicas"}
            or set(patch) - {"spec", "metadata"} or set(patch.get("metadata") or {}) - {"resourceVersion"}):
        raise errors.bad_request('patch: the "scale" subresource takes a merge patch of spec.replicas only '
                                 '(and metadata.resourceVersion)')


def _protect(md: dict, finalizer: str) -> None:
    """The StorageObjectInUseProtection admission plugin: a new claim or volume carries its protection finalizer,
    so it stays until the PV controller has seen it is not in use."""
    finalizers = md.get("finalizers") if isinstance(md.get("finalizers"), list) else []
    if finalizer not in finalizers:
        md["finalizers"] = [*finalizers, finalizer]


def _only_gc_fields_change(new: dict, cur: dict) -> bool:
    """Whether an update changes nothing but what the garbage collector writes (ownerReferences, finalizers)."""
    def rest(obj: dict) -> dict:
        md = {k: v for k, v in (obj.get("metadata") or {}).items()
              if k not in ("ownerReferences", "finalizers", "resourceVersion", "managedFields")}
        return {**obj, "metadata": md}
    return rest(new) == rest(cur)


def dry_run_of(verb: str, body: dict) -> bool:
    """Whether a request is a server-side dry run: dryRun ["All"] (kubectl --dry-run=server) on a write."""
    value = body.get("dryRun")
    if not value:
        return False
    values = value if isinstance(value, list) else [value]
    if verb not in WRITE_VERBS:
        raise errors.bad_request(f"{verb}: dryRun applies only to create, update, patch and delete")
    bad = next((v for v in values if v != "All"), None)
    if bad is not None:
        raise errors.bad_request(f'Invalid dryRun value "{bad}": supported values: "All"')
    return True


def field_validation_of(verb: str, body: dict) -> str:
    value = body.get("fieldValidation")
    if value in (None, "") or verb not in ("create", "update", "patch"):
        return "Warn"  # kube-apiserver's default, an empty value included
    if value not in FIELD_VALIDATIONS:
        raise errors.bad_request(f'Invalid fieldValidation value "{value}": supported values: "Ignore", "Warn", "Strict"')
    return str(value)


def _any_index(path: str) -> str:
    return re.sub(r"\[\d+\]", "[*]", path)


def set_request_options(verb: str, body: dict) -> None:
    """The options a write carries in its body (or a REST request in its query): dryRun, fieldValidation."""
    DRY_RUN.set(dry_run_of(verb, body))
    FIELD_VALIDATION.set(field_validation_of(verb, body))


def checked_fields(kind: str, api_version: str, obj: dict, old: dict | None, warns: list[str]) -> list[str]:
    """fieldValidation: with Strict, a field the schema does not have (and `old` did not have already) is a
    400 in kube-apiserver's wording; with Warn it is a warning and, with Ignore silently, dropped from `obj`
    before it is stored, as kube-apiserver drops it."""
    mode = FIELD_VALIDATION.get()
    unknown = [w for w in warns if w.startswith('unknown field "')]
    if not unknown:
        return warns
    if mode in ("Warn", "Ignore"):
        prune_unknown_fields(obj)  # as kube-apiserver's decoder: what the schema does not have is not stored
        return warns if mode == "Warn" else [w for w in warns if w not in unknown]
    # A field the object already had is not the request's doing, wherever a list insert moved it to.
    had = {_any_index(f'unknown field "{p}"') for p in unknown_fields(old)} if old is not None else set()
    new = [w for w in unknown if _any_index(w) not in had]
    if new:
        version = api_version.rpartition("/")[2]
        raise errors.bad_request(f'{kind} in version "{version}" cannot be handled as a {kind}: '
                                 f"strict decoding error: {', '.join(new)}")
    return warns


def encode(obj: dict) -> bytes:
    """Stored form: the object without its resourceVersion (that is the key's mod_revision)."""
    md = obj.get("metadata") or {}
    if "resourceVersion" in md:
        obj = dict(obj)
        obj["metadata"] = {k: v for k, v in md.items() if k != "resourceVersion"}
    return msgpack.packb(obj, use_bin_type=True)


class Api:
    """One method per verb; every write goes through admission and a compare-and-swap on the store."""

    def __init__(
        self,
        store: Store,
        hub: WatchHub,
        *,
        server_id: str,
        watch_address: str,
        event_ttl: int = 3600,
        timings: dict[str, Any] | None = None,
        logs_proxy: Callable[[dict, dict], Awaitable[dict]] | None = None,
        exec_proxy: Callable[[dict, dict], Awaitable[dict]] | None = None,
        portforward_proxy: Callable[[dict, dict], Awaitable[dict]] | None = None,
        watch_auth: str = "none",
        network: ranges.Requested | None = None,
        token_issuer: serviceaccount.TokenIssuer | None = None,
    ) -> None:
        self.store = store
        # signs ServiceAccount tokens (the serviceaccounts/token subresource) and checks them (server.py)
        self.token_issuer = token_issuer or serviceaccount.TokenIssuer.load(None)
        self.root_ca = ""  # the CA (PEM) in-cluster clients verify the REST API with: set when it is served
        self.watch_auth = watch_auth  # how a SUB proves who it is: "plain" (token), "curve" (derived key), "none"
        self.hub = hub
        self.server_id = server_id
        self.watch_address = watch_address
        self.event_ttl = event_ttl
        self.timings = timings or {}
        # DefaultTolerationSeconds admission with the cluster's eviction timing (kube-apiserver's
        # --default-unreachable-toleration-seconds): a pod says how long it rides out a dead node.
        self.toleration_seconds = max(0, math.ceil(float(self.timings.get("eviction_timeout", DEFAULT_TOLERATION_SECONDS))))
        self.scheduler_profiles: list[str] = []  # set by the control plane when it runs a scheduler
        self.logs_proxy = logs_proxy
        self.exec_proxy = exec_proxy
        self.portforward_proxy = portforward_proxy
        self.requested_network = network
        self.rest_address = ""  # where the Kubernetes REST API for kubectl is served (set by the control plane)
        # The cluster's ranges, settled by bootstrap() from the store (or chosen there for a new one).
        self.network = ranges.LEGACY
        # kube-apiserver's post-start hooks that bootstrap() runs, and whether each has finished (/readyz)
        self.post_start_hooks: dict[str, bool] = dict.fromkeys(POST_START_HOOKS, False)
        self.cluster_ips = IPAllocator(self.network.service_cidr)
        self.node_ports = PortAllocator(*self.network.node_ports)
        self._event_lease: tuple[int, int] = (0, 0)  # (window start, lease id)
        # namespace -> (mod_revision, status.phase, metadata.labels): what every create in it reads
        self._namespace_phases: dict[str, tuple[int, Any, dict]] = {}
        self._accounts: dict[tuple[str, str], tuple[int, dict]] = {}  # (namespace, name) -> (mod_revision, account)
        self._classes: dict[str, dict] | None = None  # PriorityClasses by name, dropped when one is written
        self.verbs: dict[str, Handler] = {
            "hello": self.hello,
            "discovery": self.discovery,
            "create": self.create,
            "get": self.get,
            "list": self.list,
            "update": self.update,
            "patch": self.patch,
            "delete": self.delete,
            "bind": self.bind,
            "evict": self.evict,
            "range": self.range,
            "logs": self.logs,
            "exec": self.exec,
            "portforward": self.port_forward,
            "review": self.review,
            "token": self.token,
        }

    # -- bootstrap ----------------------------------------------------------------------------
    async def bootstrap(self) -> None:
        """Rebuild allocators from the store and create what a cluster always has."""
        self.network = await ranges.establish(self.store, self.requested_network or ranges.Requested.parse())
        self.cluster_ips = IPAllocator(self.network.service_cidr)
        self.node_ports = PortAllocator(*self.network.node_ports)
        svc = kinds.by_kind("Service")
        kvs, _ = self.store.range(svc.prefix(), prefix=True)
        for kv in kvs:
            self._take_service_addresses(decode(kv.value, kv.mod_revision))
        self.cluster_ips.take(self.network.kubernetes_ip)  # the kubernetes service
        new_cluster = self.store.get(kinds.by_kind("Namespace").key(None, "default")) is None
        sa_info = kinds.by_kind("ServiceAccount")
        for ns in PROTECTED_NAMESPACES:
            if self.store.get(kinds.by_kind("Namespace").key(None, ns)) is None:
                await self.create({"object": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}}, "system")
            if self.store.get(sa_info.key(ns, "default")) is None:  # the serviceaccounts controller's, made at once here
                await self.create({"object": {"apiVersion": "v1", "kind": "ServiceAccount",
                                              "metadata": {"name": "default", "namespace": ns}}}, "system")
        pc_info = kinds.by_kind("PriorityClass")
        for spc in priority.SYSTEM_CLASSES:  # the apiserver's bootstrap-system-priority-classes hook
            if self.store.get(pc_info.key(None, spc["metadata"]["name"])) is None:
                await self.create({"object": copy.deepcopy(spc)}, "system")
        self.post_start_hooks["scheduling/bootstrap-system-priority-classes"] = True
        for default in (*rbac.bootstrap_cluster_roles(), *rbac.bootstrap_cluster_role_bindings()):
            # the RBAC bootstrap policy (kube-apiserver's rbac/bootstrap-roles hook): made again if deleted
            if self.store.get(kinds.by_kind(default["kind"]).key(None, default["metadata"]["name"])) is None:
                await self.create({"object": default}, "system")
        self.post_start_hooks["rbac/bootstrap-roles"] = True
        if new_cluster:  # kind's default class, made once (a user may delete or replace it)
            await self.create({"object": copy.deepcopy(pvs.STANDARD_CLASS)}, "system")
        if not self.ingress_classes():  # the ingress controller's class, the default (deleted: made again only
            await self.create({"object": copy.deepcopy(ingresses.DEFAULT_CLASS)}, "system")  # with no other)
        if self.store.get(svc.key("default", "kubernetes")) is None:
            self.cluster_ips.release(self.network.kubernetes_ip)  # create() takes it again
            await self.create(
                {
                    "object": {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "metadata": {"name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
                        "spec": {
                            "clusterIP": self.network.kubernetes_ip,
                            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                        },
                    }
                },
                "system",
            )
        self.post_start_hooks["bootstrap-controller"] = True

    async def reconcile_apiserver_endpoints(self, address: tuple[str, int] | None) -> None:
        """The `kubernetes` Service's Endpoints: where the Kubernetes REST API is served (kube-apiserver's
        endpoint reconciler), so its ClusterIP leads there through kube-proxy; none when it is not served."""
        ep_info = kinds.by_kind("Endpoints")
        raw = self.store.get(ep_info.key("default", "kubernetes"))
        cur = decode(raw.value, raw.mod_revision) if raw is not None else None
        if address is None:
            if cur is not None:
                await self.delete({"kind": "Endpoints", "name": "kubernetes", "namespace": "default"}, "system")
            return
        subsets = [{"addresses": [{"ip": address[0]}], "ports": [{"name": "https", "port": address[1], "protocol": "TCP"}]}]
        if cur is None:
            await self.create({"object": {"apiVersion": "v1", "kind": "Endpoints",
                                          "metadata": {"name": "kubernetes", "namespace": "default",
                                                       "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                                          "subsets": subsets}}, "system")
        elif cur.get("subsets") != subsets:
            cur["subsets"] = subsets
            await self.update({"object": cur}, "system")
        await self._reconcile_apiserver_slice(address)

    async def _reconcile_apiserver_slice(self, address: tuple[str, int] | None) -> None:
        """The `kubernetes` Service's EndpointSlice, named `kubernetes`, which the endpoint reconciler writes
        beside the Endpoints (endpointsadapter.go); the Endpoints say skip-mirror, so no controller copies them."""
        raw = self.store.get(kinds.by_kind("EndpointSlice").key("default", "kubernetes"))
        cur = decode(raw.value, raw.mod_revision) if raw is not None else None
        if address is None:
            if cur is not None:
                await self.delete({"kind": "EndpointSlice", "name": "kubernetes", "namespace": "default"}, "system")
            return
        want = {"addressType": "IPv6" if ":" in address[0] else "IPv4",
                "endpoints": [{"addresses": [address[0]], "conditions": {"ready": True}}],
                "ports": [{"name": "https", "port": address[1], "protocol": "TCP"}]}
        if cur is None:
            await self.create({"object": {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                                          "metadata": {"name": "kubernetes", "namespace": "default",
                                                       "labels": {slices.SERVICE_NAME_LABEL: "kubernetes"}},
                                          **want}}, "system")
        elif any(cur.get(k) != v for k, v in want.items()):
            await self.update({"object": {**cur, **want}}, "system")

    def _take_service_addresses(self, svc: dict) -> None:
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if ip and ip != "None":
            self.cluster_ips.take(ip)
        for p in spec.get("ports") or []:
            if p.get("nodePort"):
                self.node_ports.take(int(p["nodePort"]))

    # -- helpers ------------------------------------------------------------------------------
    def _identify(self, obj: Any, namespace: str | None = None) -> tuple[KindInfo, str | None, str]:
        if not isinstance(obj, dict):
            raise errors.bad_request(f"object must be a map, got {type(obj).__name__}")
        kind = obj.get("kind")
        if not isinstance(kind, str) or not kind:
            raise errors.bad_request("Object 'Kind' is missing in the request: every object needs 'kind' (e.g. kind: Pod)")
        info = kinds.by_kind(kind)
        kinds.check_api_version(info, obj.get("apiVersion"))
        md = obj.get("metadata")
        if md is None:
            md = obj["metadata"] = {}
        if not isinstance(md, dict):
            raise errors.invalid(kind, "", [FieldError("metadata", "Invalid value", "must be a map")])
        name = md.get("name") or ""
        if not isinstance(name, str):
            raise errors.invalid(kind, str(name), [FieldError("metadata.name", "Invalid value", "must be a string", name)])
        ns: str | None = None
        if info.namespaced:
            ns = md.get("namespace") or namespace or "default"
            if namespace and md.get("namespace") and md["namespace"] != namespace:
                raise errors.bad_request(
                    f"the namespace of the provided object ({md['namespace']}) does not match the namespace sent on the request ({namespace})"
                )
            if not isinstance(ns, str):
                raise errors.invalid(kind, name, [FieldError("metadata.namespace", "Invalid value", "must be a string", ns)])
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        return info, ns, name

    def _load(self, info: KindInfo, ns: str | None, name: str) -> tuple[dict, int]:
        """The stored object, freshly decoded: the caller's own to change."""
        kv = self.store.get(info.key(ns, name))
        if kv is None:
            raise errors.not_found(info.resource, name, info.group)
        return decode(kv.value, kv.mod_revision), kv.mod_revision

    def _load_twice(self, info: KindInfo, ns: str | None, name: str) -> tuple[dict, dict, int]:
        """Two independent decodes of the stored object (the old one to compare, a copy to change):
        decoding again is several times cheaper than a deepcopy."""
        kv = self.store.get(info.key(ns, name))
        if kv is None:
            raise errors.not_found(info.resource, name, info.group)
        return decode(kv.value, kv.mod_revision), decode(kv.value, kv.mod_revision), kv.mod_revision

    def _target(self, body: dict, verb: str) -> tuple[KindInfo, str | None, str]:
        info = kinds.lookup(require(body, "kind", verb=verb))
        name = require(body, "name", verb=verb)
        ns = body.get("namespace") or "default" if info.namespaced else None
        if ns is not None and not isinstance(ns, str):
            raise errors.bad_request(f"{verb}: field 'namespace' must be a string")
        return info, ns, name

    def _check_namespace(self, ns: str | None, kind: str) -> None:
        if ns is None:
            return
        known = self._namespace(ns)
        if known is None:
            raise errors.not_found("namespaces", ns)
        if known[1] == "Terminating":
            raise errors.ApiError(
                403,
                "Forbidden",
                f'{kind.lower()}s is forbidden: unable to create new content in namespace {ns} because it is being terminated',
            )

    def _namespace(self, ns: str) -> tuple[int, Any, dict] | None:
        """The namespace's (mod_revision, status.phase, metadata.labels); None if there is none. Every create
        asks: each version of the namespace is decoded once, not once per create."""
        kv = self.store.get(f"/registry/namespaces/{ns}")
        if kv is None:
            self._namespace_phases.pop(ns, None)
            return None
        known = self._namespace_phases.get(ns)
        if known is None or known[0] != kv.mod_revision:
            nso = decode(kv.value, kv.mod_revision)
            known = self._namespace_phases[ns] = (kv.mod_revision, (nso.get("status") or {}).get("phase"),
                                                  (nso.get("metadata") or {}).get("labels") or {})
        return known

    def _admit_pod_security(self, obj: dict, ns: str | None, name: str, info: KindInfo) -> list[str]:
        """PodSecurity admission of a pod (enforced) or a workload's pod template (warned about and audited
        only): the namespace's labels pick the levels. A refusal is 403 in PSA's words; the warning goes back
        to the client. kube-tui keeps no audit log: what would be the audit event's annotation is logged."""
        if ns is None:
            return []
        pod = info.kind == "Pod"
        found = (obj.get("metadata"), obj.get("spec")) if pod else podsecurity.pod_template(obj)
        if found is None:
            return []
        known = self._namespace(ns)
        decision = podsecurity.admit(known[2] if known else {}, *found, enforce=pod)
        if decision.audit:  # the user asked for this record with the audit label: shown, not at INFO
            log.warning("PodSecurity audit: %s %s/%s: %s", info.resource, ns, name, decision.audit)
        if decision.errors:
            log.info("PodSecurity: %s %s/%s: Failed to parse policy: %s", info.resource, ns, name,
                     ", ".join(f"{e.label}={e.value}: {e.detail}" for e in decision.errors))
        if decision.forbidden:
            resource = f"{info.resource}.{info.group}" if info.group else info.resource
            raise errors.ApiError(403, "Forbidden", f'{resource} "{name}" is forbidden: {decision.forbidden}',
                                  {"name": name, "kind": info.resource, **({"group": info.group} if info.group else {})})
        return [decision.warning] if decision.warning else []

    def _admit_namespace_labels(self, new: dict, old: dict | None) -> list[str]:
        """PodSecurity admission of a namespace: its pod-security.kubernetes.io labels must be valid (422), and
        an enforce level made stricter is checked against the namespace's pods, each violation a warning."""
        name = new["metadata"].get("name", "")
        labels = new["metadata"].get("labels") or {}
        old_labels = ((old or {}).get("metadata") or {}).get("labels") or {} if old is not None else None
        if errs := podsecurity.label_errors(labels, old_labels):
            raise errors.invalid("Namespace", name, [
                FieldError(f"metadata.labels[{e.label}]", "Invalid value", e.detail, e.value) for e in errs])
        if old is None:
            return []

        def pods() -> list[dict]:
            kvs, _ = self.store.range(kinds.by_kind("Pod").prefix(name), prefix=True)
            return [decode(kv.value, kv.mod_revision) for kv in kvs]

        return podsecurity.enforce_warnings(name, labels, old_labels, pods)

    def priority_classes(self) -> dict[str, dict]:
        """Every PriorityClass by name (what Priority admission reads for each new pod), kept between writes."""
        if self._classes is None:
            kvs, _ = self.store.range(kinds.by_kind("PriorityClass").prefix(), prefix=True)
            self._classes = {}
            for kv in kvs:
                pc = decode(kv.value, kv.mod_revision)
                self._classes[pc["metadata"]["name"]] = pc
        return self._classes

    def _admit_service_account(self, pod: dict, namespace: str, name: str) -> None:
        """The ServiceAccount admission plugin, on a pod's create: the pod runs as its namespace's `default`
        ServiceAccount unless it names one (spec.serviceAccountName, or the deprecated spec.serviceAccount,
        which mirrors it), and one it names must exist (403 otherwise).

        kube-apiserver refuses a pod while even `default` is missing, which it is for a moment after a
        namespace is made, until the serviceaccounts controller adds it; kube-tui admits that one, so that a
        pod created right after its namespace does not fail.

        Unless the pod or its ServiceAccount opts out (automountServiceAccountToken: false, the pod's word
        first), every container mounts the kube-api-access-XXXXX projected volume (the token the kubelet asks
        for, the cluster's CA and the namespace) at /var/run/secrets/kubernetes.io/serviceaccount."""
        spec = pod.setdefault("spec", {})
        if not isinstance(spec, dict):
            return  # validation says what is wrong with it
        account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        spec["serviceAccountName"] = spec["serviceAccount"] = account
        sa = self._service_account(namespace, account) if isinstance(account, str) else None
        if account != "default" and sa is None:
            why = f'error looking up service account {namespace}/{account}: serviceaccount "{account}" not found'
            raise errors.ApiError(403, "Forbidden", f'pods "{name}" is forbidden: {why}' if name else f"pods is forbidden: {why}",
                                  {"name": name, "kind": "pods"})
        if serviceaccount.should_automount(sa, spec):
            serviceaccount.mount_token(spec, meta.random_suffix())

    def _service_account(self, namespace: str, name: str) -> dict | None:
        """A ServiceAccount as stored, decoded once per version (every pod create asks for its account)."""
        kv = self.store.get(kinds.by_kind("ServiceAccount").key(namespace, name))
        if kv is None:
            self._accounts.pop((namespace, name), None)
            return None
        known = self._accounts.get((namespace, name))
        if known is None or known[0] != kv.mod_revision:
            known = self._accounts[(namespace, name)] = (kv.mod_revision, decode(kv.value, kv.mod_revision))
        return known[1]

    async def _ensure_root_ca(self, namespace: str, pod: dict) -> None:
        """A pod with a kube-api-access volume finds kube-root-ca.crt in its namespace even where no controller
        manager runs (a plane of the store and API server alone): what the root CA publisher would make is made
        here, once, if missing. Where the publisher runs it has made it already; a refusal (a quota on
        ConfigMaps) leaves the pod to its FailedMount, as in Kubernetes."""
        volumes = (pod.get("spec") or {}).get("volumes") or []
        if not self.root_ca or not any(isinstance(v, dict) and str(v.get("name") or "").startswith(
                serviceaccount.TOKEN_VOLUME_PREFIX) for v in volumes):
            return
        if self.store.get(kinds.by_kind("ConfigMap").key(namespace, serviceaccount.ROOT_CA_CONFIGMAP)) is not None:
            return
        agent = AGENT.set("kube-controller-manager")
        warnings = WARNINGS.set([])
        try:
            await self._create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                "name": serviceaccount.ROOT_CA_CONFIGMAP, "namespace": namespace,
                "annotations": {"kubernetes.io/description": serviceaccount.ROOT_CA_DESCRIPTION}}, "data": {"ca.crt": self.root_ca}}, None)
        except errors.ApiError as e:
            if e.code != 409:
                log.info("kube-root-ca.crt not made in namespace %s: %s", namespace, e.message)
        finally:
            AGENT.reset(agent)
            WARNINGS.reset(warnings)

    def _limit_ranges(self, ns: str | None) -> list[dict]:
        """The namespace's LimitRanges (what LimitRanger admission reads for each new pod and claim)."""
        kvs, _ = self.store.range(kinds.by_kind("LimitRange").prefix(ns), prefix=True) if ns else ([], 0)
        return [decode(kv.value, kv.mod_revision) for kv in kvs]

    async def _charge_quotas(self, info: KindInfo, ns: str | None, name: str, obj: dict) -> None:
        """ResourceQuota admission: the new object's usage is added to the status.used of every quota of its
        namespace that counts it, or the create is refused (403). The quotas are written in one
        compare-and-swap on their revisions, so two creates never both pass on the same headroom: the one that
        loses the race reads the quotas again and is checked against what the winner took."""
        if ns is None or info.kind in QUOTA_IGNORED:
            return
        rq_info = kinds.by_kind("ResourceQuota")
        for attempt in range(CONFLICT_RETRIES):
            kvs, _ = self.store.range(rq_info.prefix(ns), prefix=True)
            if not kvs:
                return
            quotas = [decode(kv.value, kv.mod_revision) for kv in kvs]
            charged = rqs.check_request(info, quotas, obj, name, time.time())
            if not charged or DRY_RUN.get():
                return
            compares, puts = [], []
            for i, used in charged.items():
                rq = quotas[i]
                rq["status"] = {**rq.get("status", {}), "used": used}
                record_manager(rq, "kube-apiserver", "status")
                compares.append(Compare(kvs[i].key, "mod", "=", kvs[i].mod_revision))
                puts.append(Op.put(kvs[i].key, encode(rq)))
            try:
                res = await self.store.txn(compares, puts, [])
            except StoreError as e:
                raise errors.internal(f"storage error: {e}") from e
            if res.succeeded:
                return
            await asyncio.sleep(0.001 * (attempt + 1))
        raise errors.conflict("resourcequotas", quotas[0]["metadata"]["name"])

    def storage_classes(self) -> list[dict]:
        """Every StorageClass (what DefaultStorageClass admission reads for each new claim)."""
        kvs, _ = self.store.range(kinds.by_kind("StorageClass").prefix(), prefix=True)
        return [decode(kv.value, kv.mod_revision) for kv in kvs]

    def ingress_classes(self) -> list[dict]:
        """Every IngressClass (what DefaultIngressClass admission reads for each new Ingress)."""
        kvs, _ = self.store.range(kinds.by_kind("IngressClass").prefix(), prefix=True)
        return [decode(kv.value, kv.mod_revision) for kv in kvs]

    def _admit_csr(self, new: dict, cur: dict, sub: str | None) -> None:
        """CertificateApproval and CertificateSigning admission: approving or denying a request needs `approve`,
        issuing its certificate `sign`, on certificates.k8s.io signers/SIGNER (or DOMAIN/*), unless
        system:masters; the requester's own RBAC on the subresource was checked before (authz)."""
        user = REQUESTER.get()
        name, signer = cur["metadata"]["name"], str((cur.get("spec") or {}).get("signerName") or "")

        def may(verb: str, signer_name: str) -> bool:
            attrs = rbac.Attributes(verb=verb, group=csrs.GROUP, resource="signers", name=signer_name)
            return authz.decide(user, attrs, self)[0]

        if sub == "approval":  # every write of it, as the CertificateApproval plugin checks
            if not csrs.signer_allowed(may, "approve", signer):
                raise csrs.forbidden(name, f'user not permitted to approve requests with signerName "{signer}"')
        elif sub == "status":
            cert = (new.get("status") or {}).get("certificate")
            if cert and cert != (cur.get("status") or {}).get("certificate") \
                    and not csrs.signer_allowed(may, "sign", signer):
                raise csrs.forbidden(name, f'user not permitted to sign requests with signerName "{signer}"')

    def _admit_resize(self, new: dict, cur: dict) -> None:
        """The PersistentVolumeClaimResize admission plugin: a bound claim grows only when its class allows it."""
        want = pvs.requested_storage(new)
        if want <= pvs.requested_storage(cur) or (cur.get("status") or {}).get("phase") != "Bound":
            return
        name = new["metadata"].get("name", "")
        sc_name = pvs.claim_class(cur)
        sc = next((c for c in self.storage_classes() if c["metadata"]["name"] == sc_name), None) if sc_name else None
        if sc is None or not sc.get("allowVolumeExpansion"):
            raise errors.ApiError(403, "Forbidden", f'persistentvolumeclaims "{name}" is forbidden: only dynamically '
                                  "provisioned pvc can be resized and the storageclass that provisions the pvc must "
                                  "support resize", {"name": name, "kind": "persistentvolumeclaims"})

    async def _event_lease_id(self) -> int:
        # one etcd lease per minute of events, like the apiserver's lease reuse
        window = int(time.time() // 60)
        if self._event_lease[0] != window:
            lease = await self.store.lease_grant(self.event_ttl + 60)
            self._event_lease = (window, lease)
        return self._event_lease[1]

    async def _write(self, key: str, obj: dict, *, expect_mod: int, lease: int = 0, subresource: str = "",
                     old: dict | None = None, applied: bool = False) -> int:
        """Compare-and-swap put: expect_mod 0 means 'must not exist'. In a dry run, only the comparison.
        The writer is recorded in metadata.managedFields: with the fields it changed from `old` when that has
        an Apply manager (fieldmanager.record), else by name and time; an apply has set them itself."""
        if not applied and not fieldmanager.record(obj, old, AGENT.get(), subresource):
            record_manager(obj, AGENT.get(), subresource)
        if DRY_RUN.get():
            return self._would_write(key, expect_mod)
        target = "create" if expect_mod == 0 else "mod"
        value = encode(obj)
        # The watch publishes `obj` itself for this value (the commit runs before txn returns): no decode.
        self.hub.remember(value, obj)
        try:
            res = await self.store.txn([Compare(key, target, "=", expect_mod)], [Op.put(key, value, lease=lease)], [])
        except StoreError as e:
            raise errors.internal(f"storage error: {e}") from e
        finally:
            self.hub.forget(value)
            if key.startswith("/registry/priorityclasses/"):
                self._classes = None  # read again once this write is in the store
        return res.revision if res.succeeded else 0

    # -- verbs ----------------------------------------------------------------------------------
    async def hello(self, body: dict, user: str) -> tuple[int, Any]:
        return 200, {
            "server_id": self.server_id,
            "version": 1,
            "watch": self.watch_address,
            "watch_auth": self.watch_auth,
            "revision": self.store.revision,
            "user": user,
            # what the root CA publisher puts in every namespace's kube-root-ca.crt ("" if not served)
            "root_ca": self.root_ca,
            # nodes started by hand learn the cluster's timings (lease, back-off) here
            "timings": self.timings,
            # the profiles the control plane's own scheduler runs: a second `kube-tui scheduler` must not
            # run them too (that one takes no Lease)
            "scheduler_profiles": self.scheduler_profiles,
            # the cluster's ranges: nodes claim their pod range in it, kube-proxy knows the Services'
            "network": self.network.to_dict(),
        }

    async def review(self, body: dict, user: str) -> tuple[int, Any]:
        """kube-tui auth whoami | can-i [--list]: a SelfSubjectReview, SelfSubjectAccessReview or
        SelfSubjectRulesReview (body: its kind and spec), answered as the REST API answers kubectl's."""
        from control.apiserver import rest_auth

        kind = body.get("kind")
        if kind == "SelfSubjectReview":
            return 201, rest_auth.whoami(user)
        if kind == "SelfSubjectAccessReview":
            return 201, rest_auth.can_i(user, body, self)
        if kind == "SelfSubjectRulesReview":
            return 201, rest_auth.rules(user, body, self)
        raise errors.bad_request(f'review: unknown kind "{kind}": use SelfSubjectReview, SelfSubjectAccessReview or '
                                 "SelfSubjectRulesReview")

    async def discovery(self, body: dict, user: str) -> tuple[int, Any]:
        """What kubectl's discovery reads from the REST API (/version, /api, /apis, each group version's
        resources), at once, and where that API is served (`kube-tui cluster-info`)."""
        return 200, discovery.document(self.rest_address)

    async def token(self, body: dict, user: str) -> tuple[int, Any]:
        """The serviceaccounts/token subresource: a TokenRequest for the ServiceAccount `name`, answered with a
        signed token (serviceaccount.token_request). Nothing is stored."""
        ns = body.get("namespace") or "default"
        name = require(body, "name", verb="token")
        if not isinstance(ns, str):
            raise errors.bad_request("token: field 'namespace' must be a string")
        return 201, serviceaccount.token_request(self.token_issuer, ns, name, body.get("object"), self.stored)

    def stored(self, kind: str, namespace: str, name: str) -> dict | None:
        """The stored object of a kind, decoded; None if there is none."""
        info = kinds.by_kind(kind)
        kv = self.store.get(info.key(namespace if info.namespaced else None, name))
        return decode(kv.value, kv.mod_revision) if kv is not None else None

    async def create(self, body: dict, user: str) -> tuple[int, Any]:
        REQUESTER.set(user)
        # the body was decoded for this request alone, so it is ours to fill in (no copy)
        return await self._create(require(body, "object", dict, verb="create"), body.get("namespace"))

    async def _create(self, obj: dict, namespace: str | None, *, applied: bool = False) -> tuple[int, Any]:
        """A create; `applied`: by a server-side apply, which has set metadata.managedFields."""
        info, ns, name = self._identify(obj, namespace)
        md = obj["metadata"]
        generated = not name and bool(md.get("generateName"))
        if generated:
            name = md["name"] = f"{md['generateName']}{meta.random_suffix()}"
        if info.kind != "Namespace":
            self._check_namespace(ns, info.kind)
        md.pop("resourceVersion", None)
        md["uid"] = meta.new_uid()
        md["creationTimestamp"] = meta.now()
        md.pop("deletionTimestamp", None)
        md["generation"] = 1
        if info.kind in NO_GENERATION:
            del md["generation"]  # kube-apiserver's strategies for these set none
        if info.kind in configdata.KINDS:
            configdata.normalize(obj)  # decoding: base64 checked, stringData merged into data
        apply_defaults(obj, toleration_seconds=self.toleration_seconds)
        limit_ranges = self._limit_ranges(ns) if info.kind in ("Pod", "PersistentVolumeClaim") else []
        if info.kind == "Pod":
            lrs.default_pod(obj, limit_ranges)  # LimitRanger's mutating half: the namespace's defaults
            # admission runs before kube-apiserver makes a name up: its errors name the generateName
            priority.admit_pod(obj, self.priority_classes(), name=md["generateName"] if generated else name)
            self._admit_service_account(obj, ns, md["generateName"] if generated else name)
            obj["status"] = {"phase": "Pending", "qosClass": qos_class(obj)}
            if (obj.get("spec") or {}).get("schedulingGates"):  # applySchedulingGatedCondition
                obj["status"]["conditions"] = [{
                    "type": "PodScheduled", "status": "False", "lastProbeTime": None,
                    "lastTransitionTime": md["creationTimestamp"], "reason": "SchedulingGated",
                    "message": "Scheduling is blocked due to non-empty scheduling gates"}]
        elif info.kind in WORKLOADS:
            obj["status"] = {}
        elif info.kind == "PodDisruptionBudget":
            obj["status"] = pdbs.empty_status()  # the disruption controller fills it in
        elif info.kind == "HorizontalPodAutoscaler":
            obj["status"] = hpas.empty_status()  # the HPA controller fills it in
        elif info.kind == "PersistentVolumeClaim":
            pvs.admit_claim(obj, self.storage_classes())  # DefaultStorageClass
            _protect(md, pvs.PVC_PROTECTION)  # StorageObjectInUseProtection
            obj["status"] = {"phase": "Pending"}
        elif info.kind == "PersistentVolume":
            _protect(md, pvs.PV_PROTECTION)
            obj["status"] = {"phase": "Pending", "lastPhaseTransitionTime": meta.now()}
        elif info.kind == "ResourceQuota":
            obj["status"] = {}  # the resource quota controller fills it in
        elif info.kind == "Ingress":
            ingresses.admit(obj, self.ingress_classes())  # DefaultIngressClass
            obj["status"] = {"loadBalancer": {}}  # the ingress controller fills it in
        elif info.kind == "CertificateSigningRequest":
            csrs.admit(obj, REQUESTER.get())  # the requester's identity, never the client's
        elif info.kind == "Namespace":
            obj["spec"] = {"finalizers": ["kubernetes"]}
            obj["status"] = {"phase": "Active"}
        if info.kind == "Job":
            job_selector_defaults(obj, md["uid"])
        errs, warns = validate(obj, None)
        warns = checked_fields(info.kind, info.api_version, obj, None, warns)  # decoding comes before validation
        if errs:
            raise errors.invalid(info.kind, name, errs)
        if info.kind in rbac.KINDS:
            authz.confirm_no_escalation(self, REQUESTER.get(), obj)
        if info.kind == "PriorityClass":
            priority.admit_class(obj, self.priority_classes())
        if info.kind == "CertificateSigningRequest" and csrs.restricted_subject(obj):
            raise csrs.forbidden(name, csrs.restricted_subject(obj))  # CertificateSubjectRestriction
        if info.kind == "Pod":
            lrs.validate_pod(obj, limit_ranges, name)  # LimitRanger's validating half
        elif info.kind == "PersistentVolumeClaim":
            lrs.validate_claim(obj, limit_ranges, name)
        if info.kind == "Pod" or info.kind in WORKLOADS:
            warns.extend(self._admit_pod_security(obj, ns, name, info))
        elif info.kind == "Namespace":
            warns.extend(self._admit_namespace_labels(obj, None))
        if self.store.get(info.key(ns, name)) is None:  # no charge for what the write would refuse
            await self._charge_quotas(info, ns, name, obj)
        if info.kind == "Pod" and ns is not None and not DRY_RUN.get():
            await self._ensure_root_ca(ns, obj)
        taken: list[Callable[[], None]] = []
        if info.kind == "Service":
            self._allocate_taking(obj, None, taken)
        dry = DRY_RUN.get()
        lease = await self._event_lease_id() if info.kind == "Event" and not dry else 0
        rev = await self._write(info.key(ns, name), obj, expect_mod=0, lease=lease, applied=applied)
        if not rev or dry:
            for undo in taken:
                undo()
        if not rev:
            raise errors.already_exists(info.resource, name, info.group)
        if not dry:  # a dry-run create has no resourceVersion, as in Kubernetes
            md["resourceVersion"] = str(rev)
        WARNINGS.get().extend(warns)
        return 201, obj

    def _allocate_taking(self, svc: dict, old: dict | None, taken: list[Callable[[], None]]) -> None:
        """_allocate_service, giving back what it took if it refuses part way (a second nodePort taken)."""
        try:
            self._allocate_service(svc, old, taken)
        except BaseException:
            for undo in taken:
                undo()
            taken.clear()
            raise

    def _allocate_service(self, svc: dict, old: dict | None, taken: list[Callable[[], None]]) -> None:
        spec = svc.setdefault("spec", {})
        old_spec = (old or {}).get("spec") or {}
        name = svc["metadata"].get("name", "")
        if spec.get("type") == "ExternalName":
            return
        ip = spec.get("clusterIP")
        if old is not None and not ip:
            ip = spec["clusterIP"] = old_spec.get("clusterIP")
        if old is not None and ip != old_spec.get("clusterIP"):
            raise errors.invalid("Service", name, [FieldError("spec.clusterIP", "Invalid value", "field is immutable", ip)])
        if old is None:
            if not ip:
                ip = spec["clusterIP"] = self.cluster_ips.allocate()
                taken.append(lambda: self.cluster_ips.release(ip))
            elif ip != "None":
                if not self.cluster_ips.contains(ip):
                    raise errors.invalid(
                        "Service", name,
                        [FieldError("spec.clusterIPs", "Invalid value", f"failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {self.network.service_cidr}", ip)],
                    )
                if not self.cluster_ips.take(ip):
                    raise errors.invalid(
                        "Service", name,
                        [FieldError("spec.clusterIPs", "Invalid value", f"failed to allocate IP {ip}: provided IP is already allocated", ip)],
                    )
                taken.append(lambda: self.cluster_ips.release(ip))
        if ip and ip != "None":
            spec["clusterIPs"] = [ip]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            old_ports = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort") for p in old_spec.get("ports") or []}
            for i, p in enumerate(spec.get("ports") or []):
                want = p.get("nodePort") or old_ports.get((p.get("port"), p.get("protocol", "TCP")))
                if want:
                    if want not in old_ports.values():
                        if not self.node_ports.contains(int(want)):
                            raise errors.invalid(
                                "Service", name,
                                [FieldError(f"spec.ports[{i}].nodePort", "Invalid value",
                                            "provided port is not in the valid range. The range of valid ports is "
                                            f"{self.node_ports.lo}-{self.node_ports.hi}", want)],
                            )
                        if not self.node_ports.take(int(want)):
                            raise errors.invalid(
                                "Service", name,
                                [FieldError(f"spec.ports[{i}].nodePort", "Invalid value", "provided port is already allocated", want)],
                            )
                        taken.append(lambda port=int(want): self.node_ports.release(port))
                    p["nodePort"] = int(want)
                else:
                    port = self.node_ports.allocate()
                    p["nodePort"] = port
                    taken.append(lambda port=port: self.node_ports.release(port))

    async def get(self, body: dict, user: str) -> tuple[int, Any]:
        info, ns, name = self._target(body, "get")
        obj, _ = self._load(info, ns, name)
        return 200, obj

    async def list(self, body: dict, user: str) -> tuple[int, Any]:
        info = kinds.lookup(require(body, "kind", verb="list"))
        ns = body.get("namespace") if info.namespaced else None
        lsel = parse_selector(body.get("labelSelector") or "")
        fsel = parse_field_selector(body.get("fieldSelector") or "", info.kind)
        topic = body.get("topic")
        limit = pagination.parse_limit(body.get("limit"))
        prefix = info.prefix(ns)
        rev, start = 0, ""
        if body.get("continue"):
            rev, rel = pagination.decode_continue(body["continue"])
            start = prefix + rel
        items: list[dict] = []
        more = ""  # where the next page starts, when there is one
        chunk = max(limit, 256) if limit else 0  # with a limit, read in chunks: a selector may skip many keys
        try:
            while True:
                kvs, current = self.store.range(prefix, prefix=True, revision=rev, start=start, limit=chunk)
                rev = rev or current  # every chunk and page of this list reads this revision
                for kv in kvs:
                    if limit and len(items) == limit:
                        more = kv.key
                        break
                    obj = decode(kv.value, kv.mod_revision)
                    if not lsel.empty and not lsel.matches((obj.get("metadata") or {}).get("labels") or {}):
                        continue
                    if not fsel.empty and not fsel.matches(obj):
                        continue
                    items.append(obj)
                if more or not chunk or len(kvs) < chunk:
                    break
                start = kvs[-1].key + "\x00"
        except ErrCompacted:
            raise errors.gone(pagination.TOO_OLD) from None
        seq = self.hub.current_seq(topic.encode() if isinstance(topic, str) else topic) if topic else 0
        md: dict[str, Any] = {"resourceVersion": str(rev)}
        if more:
            md["continue"] = pagination.encode_continue(rev, more[len(prefix):])
        return 200, {
            "kind": f"{info.kind}List",
            "apiVersion": info.api_version,
            "metadata": md,
            "items": items,
            "revision": rev,
            "seq": seq,
        }

    async def update(self, body: dict, user: str) -> tuple[int, Any]:
        REQUESTER.set(user)
        # the body was decoded for this request alone; _apply_update copies what it changes
        obj = require(body, "object", dict, verb="update")
        sub = body.get("subresource")
        info, ns, name = self._identify(obj, body.get("namespace"))
        check_subresource("update", info, sub)
        if not name:
            raise errors.invalid(info.kind, "", [FieldError("metadata.name", "Required value", "name is required")])
        rv = obj["metadata"].get("resourceVersion")
        for attempt in range(CONFLICT_RETRIES):
            cur, cur_rev = self._load(info, ns, name)
            if rv and str(rv) != str(cur_rev):
                raise errors.conflict(info.resource if not sub else f"{info.resource}/{sub}", name)
            result = await self._apply_update(info, ns, name, cur, cur_rev, obj, sub)
            if result is not None:
                return 200, result
            if rv:
                raise errors.conflict(info.resource, name)
            await asyncio.sleep(0.001 * (attempt + 1))
        raise errors.conflict(info.resource, name)

    async def _apply_update(
        self, info: KindInfo, ns: str | None, name: str, cur: dict, cur_rev: int, obj: dict, sub: str | None,
        *, owned: bool = False, applied: bool = False
    ) -> dict | None:
        """Merge `obj` over `cur` for this subresource and write it; None means lost a race (retry).

        `cur` is a fresh decode the caller does not change; `owned` says `obj` is fresh for this attempt
        too (else it is copied, as a retry reuses it). Parts of either may be shared with the result.
        A Service's new nodePorts are given back when the update is refused or loses the race.
        `applied`: a server-side apply, whose metadata.managedFields `obj` carries.
        """
        taken: list[Callable[[], None]] = []
        result = None
        try:
            result = await self._merge_and_write(info, ns, name, cur, cur_rev, obj, sub, owned, taken, applied)
        finally:
            if result is None:
                for undo in taken:
                    undo()
        return result

    async def _merge_and_write(
        self, info: KindInfo, ns: str | None, name: str, cur: dict, cur_rev: int, obj: dict, sub: str | None,
        owned: bool, taken: list[Callable[[], None]], applied: bool = False,
    ) -> dict | None:
        owners = cur  # whose metadata.managedFields this write's own are recorded over
        if info.kind == "CertificateSigningRequest":
            new = obj if owned else copy.deepcopy(obj)
            md, old_md = new.setdefault("metadata", {}), cur["metadata"]
            for f in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
                if f in old_md:
                    md[f] = old_md[f]
                else:
                    md.pop(f, None)
            csrs.prepare_update(new, cur, sub)
            self._admit_csr(new, cur, sub)
        elif sub == "status":
            # Only metadata (resourceVersion, managedFields) and status change: a shallow copy will do.
            new = dict(cur)
            new["metadata"] = dict(cur["metadata"])
            if applied:
                new["metadata"]["managedFields"] = obj["metadata"]["managedFields"]
            new["status"] = (obj.get("status") or {}) if owned else copy.deepcopy(obj.get("status") or {})
        elif sub == "ephemeralcontainers":
            # dropNonEphemeralContainerUpdates: the stored pod with the new spec.ephemeralContainers, nothing else
            new = dict(cur)
            new["metadata"] = dict(cur["metadata"])
            new["spec"] = dict(cur.get("spec") or {})
            wanted = (obj.get("spec") or {}).get("ephemeralContainers") if isinstance(obj.get("spec"), dict) else None
            if wanted:
                new["spec"]["ephemeralContainers"] = wanted if owned else copy.deepcopy(wanted)
            else:
                new["spec"].pop("ephemeralContainers", None)
            apply_defaults(new, toleration_seconds=self.toleration_seconds)
        else:
            new = obj if owned else copy.deepcopy(obj)
            if "status" in cur and info.kind not in ("Event", "Lease", "Endpoints"):
                new["status"] = cur["status"]  # status changes only through /status
            md, old_md = new["metadata"], cur["metadata"]
            written = None if applied else fieldmanager.written_managed_fields(md.get("managedFields"),
                                                                                old_md.get("managedFields"))
            if written is not None:  # the writer's changes are recorded over the owners it wrote
                md["managedFields"] = written
                owners = {**cur, "metadata": {**old_md, "managedFields": written}}
            kept = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation",
                    *(() if applied or written is not None else ("managedFields",)))
            for f in kept:
                if f in old_md:
                    md[f] = old_md[f]
                else:
                    md.pop(f, None)
            if info.kind in configdata.KINDS:
                configdata.normalize(new)
            if info.kind == "Pod":
                priority.keep_pod_priority(new, cur)
                keep_ephemeral_containers(new, cur)
            apply_defaults(new, toleration_seconds=self.toleration_seconds)
            if info.kind == "Service":
                self._allocate_taking(new, cur, taken)
                if DRY_RUN.get():
                    for undo in taken:
                        undo()
                    taken.clear()
            if info.kind == "Namespace":
                new["spec"] = cur.get("spec", {})
            if info.kind == "PersistentVolumeClaim":
                self._admit_resize(new, cur)
            if new.get("spec") != cur.get("spec") and info.kind not in NO_GENERATION:
                md["generation"] = int(old_md.get("generation") or 1) + 1
        new["metadata"].pop("resourceVersion", None)
        errs, warns = validate(new, cur)
        warns = checked_fields(info.kind, info.api_version, new, cur, warns)  # decoding comes before validation
        if errs:
            raise errors.invalid(info.kind, name, errs)
        if info.kind in rbac.KINDS and not _only_gc_fields_change(new, cur):  # IsOnlyMutatingGCFields
            authz.confirm_no_escalation(self, REQUESTER.get(), new)
        if info.kind == "PriorityClass":
            priority.admit_class(new, self.priority_classes())
        if (info.kind == "Pod" and sub in (None, "ephemeralcontainers") and podsecurity.significant_update(new, cur)) \
                or (info.kind in WORKLOADS and not sub):
            warns.extend(self._admit_pod_security(new, ns, name, info))
        elif info.kind == "Namespace" and not sub:
            warns.extend(self._admit_namespace_labels(new, cur))
        cur_cmp = dict(cur)
        cur_cmp["metadata"] = {k: v for k, v in cur["metadata"].items() if k != "resourceVersion"}
        if new == cur_cmp:
            WARNINGS.get().extend(warns)
            return cur  # a no-op update writes nothing, like the apiserver
        key = info.key(ns, name)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers") \
                and not cur["metadata"].get("deletionGracePeriodSeconds"):
            # the last finalizer is gone: the object can finally go (shouldDeleteDuringUpdate: not a pod still in
            # its grace period, whose containers are stopping and whose kubelet reports their status meanwhile)
            if await self._delete_key(key, cur_rev):
                return new
            return None
        rev = await self._write(key, new, expect_mod=cur_rev, subresource=sub or "", old=owners, applied=applied)
        if not rev:
            return None
        new["metadata"]["resourceVersion"] = str(rev)
        WARNINGS.get().extend(warns)
        return new

    async def patch(self, body: dict, user: str) -> tuple[int, Any]:
        REQUESTER.set(user)
        info, ns, name = self._target(body, "patch")
        # kubectl patch --type: merge (RFC 7386, the default here) or json (RFC 6902, a list of operations)
        patch_type = body.get("type") or "merge"
        fieldmanager.check_options(patch_type, body.get("fieldManager"), body.get("force"))
        patch = require(body, "patch", list if patch_type == "json" else dict, verb="patch")
        sub = body.get("subresource")
        if sub == "scale":
            _check_scale_patch(info, patch, patch_type)
        else:
            check_subresource("patch", info, sub)
        if patch_type == "apply":
            return await self._server_side_apply(info, ns, name, patch, sub or "", body)
        for attempt in range(CONFLICT_RETRIES):
            cur, base, cur_rev = self._load_twice(info, ns, name)
            merged = apply_patch(base, copy.deepcopy(patch), patch_type)
            want_rv = (patch.get("metadata") or {}).get("resourceVersion") if isinstance(patch, dict) else None
            if want_rv and str(want_rv) != str(cur_rev):
                raise errors.conflict(info.resource, name)
            merged.setdefault("metadata", {})
            merged["kind"], merged["apiVersion"] = info.kind, info.api_version
            merged["metadata"]["name"] = name
            if ns:
                merged["metadata"]["namespace"] = ns
            result = await self._apply_update(info, ns, name, cur, cur_rev, merged, sub or None, owned=True)
            if result is not None:
                return 200, result
            await asyncio.sleep(0.001 * (attempt + 1))
        raise errors.conflict(info.resource, name)

    async def _server_side_apply(self, info: KindInfo, ns: str | None, name: str, config: dict, sub: str,
                                 body: dict) -> tuple[int, Any]:
        """A server-side apply (patch type "apply", fieldManager, force): the applied configuration merged into
        the object by fieldmanager.apply, or the object created from it when there is none."""
        manager, force = str(body["fieldManager"]), bool(body.get("force"))
        kind, version = config.get("kind"), config.get("apiVersion")
        if (kind, version) != (info.kind, info.api_version):
            raise errors.bad_request(f"apply: the applied configuration is a {version or '(no apiVersion)'} "
                                     f"{kind or '(no kind)'}, the request names {info.api_version} {info.kind}: "
                                     "give it the kind and apiVersion of the object it applies to")
        md = config.get("metadata")
        if not isinstance(md, dict) or md.get("name") not in (None, name):
            shown = md.get("name") if isinstance(md, dict) else None
            raise errors.bad_request(f"the name of the object ({shown}) does not match the name on the URL ({name})")
        if ns and md.get("namespace") not in (None, "", ns):
            raise errors.bad_request(f"the namespace of the provided object ({md['namespace']}) does not match "
                                     f"the namespace sent on the request ({ns})")
        want_rv = md.get("resourceVersion")
        for attempt in range(CONFLICT_RETRIES):
            kv = self.store.get(info.key(ns, name))
            if kv is None:
                if sub or want_rv:
                    raise errors.not_found(info.resource, name, info.group)
                obj = fieldmanager.apply(None, copy.deepcopy(config), manager=manager, force=force)
                obj["metadata"]["name"] = name
                try:
                    return await self._create(obj, ns, applied=True)
                except errors.ApiError as e:
                    if e.reason != "AlreadyExists":
                        raise
                    continue  # created meanwhile: apply to it
            cur, live = decode(kv.value, kv.mod_revision), decode(kv.value, kv.mod_revision)
            if want_rv and str(want_rv) != str(kv.mod_revision):
                raise errors.conflict(info.resource, name)
            merged = fieldmanager.apply(live, copy.deepcopy(config), manager=manager, force=force, subresource=sub)
            merged["metadata"]["name"] = name
            if ns:
                merged["metadata"]["namespace"] = ns
            result = await self._apply_update(info, ns, name, cur, kv.mod_revision, merged, sub or None, owned=True,
                                              applied=True)
            if result is not None:
                return 200, result
            await asyncio.sleep(0.001 * (attempt + 1))
        raise errors.conflict(info.resource, name)

    def _would_write(self, key: str, expect_mod: int) -> int:
        """A dry run's compare-and-swap: the revision the key has now if the write would succeed, else 0."""
        kv = self.store.get(key)
        if expect_mod == 0:
            return self.store.revision if kv is None else 0
        return kv.mod_revision if kv is not None and kv.mod_revision == expect_mod else 0

    async def _delete_key(self, key: str, expect_mod: int) -> int:
        if DRY_RUN.get():
            return self._would_write(key, expect_mod)
        try:
            res = await self.store.txn([Compare(key, "mod", "=", expect_mod)], [Op.delete(key)], [])
        except StoreError as e:
            raise errors.internal(f"storage error: {e}") from e
        finally:
            if key.startswith("/registry/priorityclasses/"):
                self._classes = None
        return res.revision if res.succeeded else 0

    async def delete(self, body: dict, user: str) -> tuple[int, Any]:
        info, ns, name = self._target(body, "delete")
        policy = body.get("propagationPolicy") or "Background"
        if policy not in ("Background", "Foreground", "Orphan"):
            raise errors.bad_request(
                f'delete: unsupported propagationPolicy "{policy}": use Background, Foreground or Orphan'
            )
        grace = body.get("gracePeriodSeconds")
        if grace is not None and (not isinstance(grace, int) or isinstance(grace, bool) or grace < 0):
            raise errors.bad_request("delete: gracePeriodSeconds must be a non-negative integer")
        pre = body.get("preconditions") or {}
        if not isinstance(pre, dict):
            raise errors.bad_request("delete: preconditions must be a map with uid and/or resourceVersion")
        if info.kind == "Namespace" and name in PROTECTED_NAMESPACES:
            raise errors.ApiError(403, "Forbidden", f'namespaces "{name}" is forbidden: this namespace may not be deleted')
        if info.kind == "PriorityClass" and priority.is_system_class(name):
            raise errors.ApiError(403, "Forbidden", f'priorityclasses.scheduling.k8s.io "{name}" is forbidden: '
                                                    "this is a system priority class and cannot be deleted",
                                  {"name": name, "group": "scheduling.k8s.io", "kind": "priorityclasses"})
        for attempt in range(CONFLICT_RETRIES):
            cur, new, cur_rev = self._load_twice(info, ns, name)
            self.check_preconditions(info.resource, cur, cur_rev, pre)
            new["metadata"].pop("resourceVersion", None)
            md = new["metadata"]
            finalizers = list(md.get("finalizers") or [])
            want = {"Orphan": "orphan", "Foreground": "foregroundDeletion"}.get(policy)
            if want and want not in finalizers and not md.get("deletionTimestamp"):
                finalizers.append(want)
            graceful = False
            if info.kind == "Pod":
                g = grace if grace is not None else int((cur.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
                phase = (cur.get("status") or {}).get("phase")
                if (cur.get("spec") or {}).get("nodeName") and g > 0 and phase not in ("Succeeded", "Failed"):
                    graceful = True
                    old_g = md.get("deletionGracePeriodSeconds")
                    if md.get("deletionTimestamp") and old_g is not None and old_g <= g:
                        return 200, cur  # already terminating, no sooner
                    md["deletionTimestamp"] = meta.to_rfc3339(time.time() + g)
                    md["deletionGracePeriodSeconds"] = g
            if info.kind == "Namespace":
                graceful = self._namespace_has_content(name)
                if graceful:
                    md.setdefault("deletionTimestamp", meta.now())
                    new.setdefault("status", {})["phase"] = "Terminating"
            if finalizers or graceful:
                if finalizers:
                    md["finalizers"] = finalizers
                    md.setdefault("deletionTimestamp", meta.now())
                    md.setdefault("deletionGracePeriodSeconds", 0)
                rev = await self._write(info.key(ns, name), new, expect_mod=cur_rev, old=cur)
                if rev:
                    md["resourceVersion"] = str(rev)
                    return 200, new
            else:
                if await self._delete_key(info.key(ns, name), cur_rev):
                    if info.kind == "Service" and not DRY_RUN.get():
                        self._release_service(cur)
                    if info.kind == "Namespace" and not DRY_RUN.get():  # and the root CA the API server made
                        await self._delete_root_ca(name)
                    return 200, cur
            await asyncio.sleep(0.001 * (attempt + 1))
        raise errors.conflict(info.resource, name)

    @staticmethod
    def check_preconditions(resource: str, cur: dict, cur_rev: int, pre: dict) -> None:
        """DeleteOptions.preconditions (Preconditions.Check), refused as a Conflict as kube-apiserver words it."""
        name = cur["metadata"].get("name", "")
        uid, rv = pre.get("uid"), pre.get("resourceVersion")
        if uid and uid != cur["metadata"].get("uid"):
            raise errors.conflict(resource, name, f"Precondition failed: UID in precondition: {uid}, "
                                                  f"UID in object meta: {cur['metadata'].get('uid', '')}")
        if rv and str(rv) != str(cur_rev):
            raise errors.conflict(resource, name, f"Precondition failed: ResourceVersion in precondition: {rv}, "
                                                  f"ResourceVersion in object meta: {cur_rev}")

    async def evict(self, body: dict, user: str) -> tuple[int, Any]:
        """The Eviction subresource of a pod (control/apiserver/eviction.py)."""
        return await eviction.evict(self, body, user)

    def _namespace_has_content(self, ns: str) -> bool:
        """Whether a namespace holds anything a namespace controller would have to delete first; the
        kube-root-ca.crt the API server made for its pods (_ensure_root_ca) goes with it instead."""
        root_ca = kinds.by_kind("ConfigMap").key(ns, serviceaccount.ROOT_CA_CONFIGMAP)
        for info in kinds.KINDS.values():
            if info.namespaced and any(kv.key != root_ca
                                       for kv in self.store.range(info.prefix(ns), prefix=True, limit=2)[0]):
                return True
        return False

    async def _delete_root_ca(self, ns: str) -> None:
        kv = self.store.get(kinds.by_kind("ConfigMap").key(ns, serviceaccount.ROOT_CA_CONFIGMAP))
        if kv is not None:
            await self._delete_key(kv.key, kv.mod_revision)

    def _release_service(self, svc: dict) -> None:
        spec = svc.get("spec") or {}
        if spec.get("clusterIP") and spec["clusterIP"] != "None":
            self.cluster_ips.release(spec["clusterIP"])
        for p in spec.get("ports") or []:
            if p.get("nodePort"):
                self.node_ports.release(int(p["nodePort"]))

    async def bind(self, body: dict, user: str) -> tuple[int, Any]:
        name = require(body, "name", verb="bind")
        ns = body.get("namespace") or "default"
        node = require(body, "node", verb="bind")
        info = kinds.by_kind("Pod")
        for attempt in range(CONFLICT_RETRIES):
            cur, cur_rev = self._load(info, ns, name)
            assigned = (cur.get("spec") or {}).get("nodeName")
            if assigned:
                raise errors.conflict("pods/binding", name, f'pod {name} is already assigned to node "{assigned}"')
            if cur["metadata"].get("deletionTimestamp"):
                raise errors.conflict("pods/binding", name, f"pod {name} is being deleted, cannot be assigned to a host")
            if (cur.get("spec") or {}).get("schedulingGates"):  # a scheduling un-ready pod
                raise errors.conflict("pods/binding", name, f"pod {name} has non-empty .spec.schedulingGates")
            new = cur  # fresh from the store and not needed again: changed in place
            new["metadata"].pop("resourceVersion", None)
            new.setdefault("spec", {})["nodeName"] = node
            # a Binding's annotations are copied onto the pod (the scheduler's decision record rides here)
            extra = body.get("annotations")
            if isinstance(extra, dict) and extra:
                anns = dict(new["metadata"].get("annotations") or {})
                anns.update({str(k): str(v) for k, v in extra.items()})
                new["metadata"]["annotations"] = anns
            st = new.setdefault("status", {})
            conds = [c for c in st.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conds.insert(0, {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": meta.now()})
            st["conditions"] = conds
            if await self._write(info.key(ns, name), new, expect_mod=cur_rev, subresource="binding"):
                return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
            await asyncio.sleep(0.001 * (attempt + 1))
        raise errors.conflict("pods/binding", name)

    async def range(self, body: dict, user: str) -> tuple[int, Any]:
        key = require(body, "key", verb="range")
        revision = body.get("revision") or 0
        limit = body.get("limit") or 0
        if not isinstance(revision, int) or not isinstance(limit, int):
            raise errors.bad_request("range: 'revision' and 'limit' must be integers")
        keys_only = bool(body.get("keys_only"))
        try:
            kvs, rev = self.store.range(key, prefix=bool(body.get("prefix")), revision=revision, limit=limit, keys_only=keys_only)
        except ErrCompacted as e:
            raise errors.gone(
                f"etcdserver: mvcc: required revision has been compacted (revision {revision}, compacted at {self.store.compact_revision})"
            ) from e
        except ErrFutureRev as e:
            raise errors.bad_request(f"etcdserver: mvcc: required revision is a future revision (revision {revision})") from e
        out = []
        for kv in kvs:
            item: dict[str, Any] = {
                "key": kv.key,
                "create_revision": kv.create_revision,
                "mod_revision": kv.mod_revision,
                "version": kv.version,
                "lease": kv.lease,
            }
            if not keys_only:
                item["value"] = decode(kv.value, kv.mod_revision)
            out.append(item)
        topic = body.get("topic")
        seq = self.hub.current_seq(RAW_TOPIC) if topic else 0
        return 200, {"kvs": out, "revision": rev, "compact_revision": self.store.compact_revision, "seq": seq}

    async def logs(self, body: dict, user: str) -> tuple[int, Any]:
        """kubectl logs, answered by the pod's kubelet: {text, offset, running}. Its options are checked as
        kube-apiserver checks PodLogOptions: `tail` (tailLines), `limitBytes` (a cut of this answer's text: a
        follower counts what it has shown itself), `sinceSeconds` or `sinceTime` (RFC 3339, passed on in whole
        seconds), `timestamps`."""
        numbers = {"tailLines": body.get("tail"), "limitBytes": body.get("limitBytes"),
                   "sinceSeconds": body.get("sinceSeconds")}
        for name, value in numbers.items():
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise errors.bad_request(f'{name}: not a whole number: "{value}"')
        if body.get("sinceTime") is not None:
            try:
                body = dict(body, sinceTime=since_time(body["sinceTime"]))
            except ValueError as e:
                raise errors.bad_request(str(e)) from None
        if not isinstance(body.get("timestamps", False), bool):
            raise errors.bad_request(f'timestamps: not true or false: "{body["timestamps"]}"')
        errs = validate_pod_log_options(dict(numbers, sinceTime=body.get("sinceTime")))
        if errs:
            raise errors.invalid("PodLogOptions", str(body.get("name") or ""), errs)
        code, answer = await self._via_kubelet("logs", body, self.logs_proxy)
        limit = numbers["limitBytes"]
        if limit is not None and isinstance(answer, dict):
            data = str(answer.get("text") or "").encode()
            if len(data) > limit:  # a character cut in two is left out: the answer is text
                answer = dict(answer, text=data[:limit].decode(errors="ignore"))
        return code, answer

    async def exec(self, body: dict, user: str) -> tuple[int, Any]:
        """kubectl exec, proxied to the pod's kubelet: a command run to completion ({exitCode, output}), or
        with stdin or tty a session that later requests stream (control/api/remotecommand.py)."""
        if "session" in body:
            remotecommand.check_stream(body)
            return await self._via_kubelet("exec", body, self.exec_proxy)
        if remotecommand.is_session(body):
            remotecommand.check_open(body)
        else:
            remotecommand.check_command(body)
            timeout = body.get("timeout", 60)
            if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout <= 600:
                raise errors.bad_request("exec: field 'timeout' must be a number of seconds in (0, 600]")
        return await self._via_kubelet("exec", body, self.exec_proxy, container=body.get("container") or None)

    async def port_forward(self, body: dict, user: str) -> tuple[int, Any]:
        """kubectl port-forward, one connection: the pod's kubelet connects to the pod's port, and the
        connection is streamed as a session, like an exec's (control/api/remotecommand.py)."""
        if "session" in body:
            remotecommand.check_stream(body)
        else:
            remotecommand.check_port(body)
        return await self._via_kubelet("portforward", body, self.portforward_proxy)

    async def _via_kubelet(self, verb: str, body: dict, proxy: Callable[[dict, dict], Awaitable[dict]] | None,
                           *, container: str | None = None) -> tuple[int, Any]:
        """The request, answered by the kubelet of the node its pod runs on."""
        node_obj = self._node_of_pod(body, verb, container=container)
        if proxy is None:
            raise errors.unavailable(f"{verb}: this API server cannot reach kubelets")
        return 200, await proxy(node_obj, body)

    def _node_of_pod(self, body: dict, verb: str, *, container: str | None = None) -> dict:
        """The Node object of the pod the request names (for a request its kubelet answers). An exec, attach or
        port-forward is checked first as kube-apiserver checks it (its container, then the pod's node), with
        its words."""
        name = require(body, "name", verb=verb)
        ns = body.get("namespace") or "default"
        pod, _ = self._load(kinds.by_kind("Pod"), ns, name)
        spec = pod.get("spec") or {}
        if container is not None and not any(
                c.get("name") == container for group in ("containers", "initContainers", "ephemeralContainers")
                for c in spec.get(group) or []):
            raise errors.bad_request(f"container {container} is not valid for pod {name}")
        node = spec.get("nodeName")
        if not node and verb in ("exec", "portforward"):
            raise errors.bad_request(f"pod {name} does not have a host assigned")
        if not node:
            raise errors.bad_request(f'pod "{name}" is not scheduled to a node yet: no {verb}')
        kv = self.store.get(f"/registry/nodes/{node}")
        if kv is None:
            raise errors.not_found("nodes", node)
        return decode(kv.value, kv.mod_revision)


__all__ = ["Api", "encode", "node_topic"]
