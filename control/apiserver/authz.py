"""Authorization: admin may do anything; a node only what its kubelet needs (like NodeRestriction), which
includes a ServiceAccount token for a pod bound to it.

A node reads a ConfigMap or Secret only with `get`, and only one that a pod bound to it uses (env, envFrom,
volumes, imagePullSecrets), as Kubernetes' node authorizer decides from its graph; never list or watch them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from control import errors
from control.api import configdata, kinds
from control.api.fieldsel import parse_field_selector

if TYPE_CHECKING:
    from control.apiserver.handlers import Api

READ_VERBS = ("hello", "discovery", "get", "list", "range", "logs")
SUBRESOURCE_VERBS = {"logs": "pods/log", "exec": "pods/exec", "portforward": "pods/portforward",
                     "evict": "pods/eviction"}
NODE_READABLE = ("Node", "Pod", "Service", "Endpoints", "Namespace", "Lease")


def _kind_of(verb: str, body: dict) -> kinds.KindInfo | None:
    if verb in ("create", "update"):
        obj = body.get("object")
        if isinstance(obj, dict) and isinstance(obj.get("kind"), str):
            return kinds.KINDS.get(obj["kind"])
        return None
    if verb in ("bind", "evict"):
        return kinds.KINDS["Pod"]
    k = body.get("kind")
    if isinstance(k, str):
        try:
            return kinds.lookup(k)
        except errors.ApiError:
            return None
    return None


def _target(verb: str, body: dict) -> tuple[str, str]:
    if verb in ("create", "update"):
        md = (body.get("object") or {}).get("metadata") or {}
        return str(md.get("namespace") or body.get("namespace") or "default"), str(md.get("name") or "")
    return str(body.get("namespace") or "default"), str(body.get("name") or "")


def authorize(user: str, verb: str, body: dict, api: Api) -> None:
    """Raise 403 Forbidden naming the identity, verb and object unless `user` may do this."""
    if user in ("admin", "system:apiserver"):
        return
    info = _kind_of(verb, body)
    resource = info.resource if info else str(body.get("kind") or verb)
    ns, name = _target(verb, body)
    if user.startswith("system:bootstrap:"):
        if verb == "hello":
            return
        raise errors.forbidden(user, verb, resource, name, ns, "a join token may only join a node (kube-tui node --token ...)")
    if not user.startswith("system:node:"):
        raise errors.forbidden(user, verb, resource, name, ns)
    node = user.removeprefix("system:node:")
    if verb in ("hello", "discovery"):  # as kube-apiserver's system:discovery role, for every authenticated user
        return
    if verb == "token":
        _node_token_request(user, node, ns, name, body, api)
        return
    if verb == "range":
        raise errors.forbidden(user, verb, "etcd", str(body.get("key", "")), why="nodes may not read the store directly")
    if verb in SUBRESOURCE_VERBS:  # the pods/log, pods/exec and pods/portforward subresources: admin only
        raise errors.forbidden(user, verb, SUBRESOURCE_VERBS[verb], name, ns)
    if info is None:
        raise errors.forbidden(user, verb, resource, name, ns)
    if verb in ("get", "list"):
        if info.kind == "Pod" and verb == "list":
            # RequiresExactMatch, as the NodeRestriction/Node authorizer reads it: a requirement that
            # spec.nodeName equal this node, ANDed with anything else (never a substring of the text)
            sel = parse_field_selector(str(body.get("fieldSelector") or ""), "Pod")
            if sel.requirement("spec.nodeName") != node:
                raise errors.forbidden(
                    user, verb, "pods", "", ns, f"a node may only list pods bound to it (fieldSelector spec.nodeName={node})"
                )
        if info.kind in NODE_READABLE:
            return
        if info.kind in configdata.KINDS and verb == "get":
            if _used_by_pod_on(api, node, ns, info.kind, name):
                return
            raise errors.forbidden(user, verb, info.resource, name, ns,
                                   f"no relationship found between node '{node}' and this object")
        if info.kind in ("PersistentVolumeClaim", "PersistentVolume") and verb == "get":
            if _storage_used_on(api, node, info.kind, ns, name):
                return
            raise errors.forbidden(user, verb, info.resource, name, ns,
                                   f"no relationship found between node '{node}' and this object")
        raise errors.forbidden(user, verb, info.resource, name, ns)
    if info.kind == "Node" and verb in ("create", "update", "patch"):
        if name == node:
            return
        raise errors.forbidden(user, verb, "nodes", name, "", f"a node may only modify its own Node object ({node})")
    if info.kind == "Lease" and verb in ("create", "update", "patch"):
        if ns == "kube-node-lease" and name == node:
            return
        raise errors.forbidden(user, verb, "leases", name, ns, f"a node may only renew its own Lease (kube-node-lease/{node})")
    if info.kind == "Event" and verb in ("create", "patch"):  # system:node may patch events: repeat counts
        return
    if info.kind == "Pod" and verb in ("update", "patch", "delete"):
        sub = body.get("subresource")
        if verb != "delete" and sub != "status":
            raise errors.forbidden(user, verb, "pods", name, ns, "a node may only update the status of its pods")
        try:
            pod, _ = api._load(info, ns, name)
        except errors.ApiError:
            raise
        if ((pod.get("spec") or {}).get("nodeName") or "") != node:
            raise errors.forbidden(user, verb, "pods", name, ns, f"the pod is not bound to node {node}")
        return
    raise errors.forbidden(user, verb, info.resource, name, ns)


def _node_token_request(user: str, node: str, ns: str, name: str, body: dict, api: Api) -> None:
    """A node asks for a ServiceAccount token only for a pod bound to it, and only for that pod's ServiceAccount
    (the node authorizer's graph and NodeRestriction's admitServiceAccount, in their words)."""
    def refused(why: str) -> errors.ApiError:  # the object (serviceaccounts "NAME"), then the subresource refused
        message = errors.forbidden(user, "create", "serviceaccounts/token", name, ns, why).message
        return errors.ApiError(403, "Forbidden", 'serviceaccounts "' + message.removeprefix('serviceaccounts/token "'),
                               {"name": name, "kind": "serviceaccounts"})

    request = body.get("object") if isinstance(body.get("object"), dict) else {}
    ref = (request.get("spec") or {}).get("boundObjectRef") if isinstance(request.get("spec"), dict) else None
    if not isinstance(ref, dict) or ref.get("kind") != "Pod":
        raise refused("node requested token not bound to a pod")
    pod = api.stored("Pod", ns, str(ref.get("name") or ""))
    spec = (pod or {}).get("spec") or {}
    if pod is None or spec.get("nodeName") != node:
        raise refused("node requested token bound to a pod scheduled on a different node")
    if spec.get("serviceAccountName") != name:
        raise refused(f"no relationship found between node '{node}' and this object")


def _used_by_pod_on(api: Api, node: str, ns: str, kind: str, name: str) -> bool:
    """The node authorizer's graph, asked directly: does a pod bound to `node` in `ns` use this object?"""
    from control.apiserver.watch import decode

    kvs, _ = api.store.range(kinds.KINDS["Pod"].prefix(ns), prefix=True)
    # msgpack keeps strings as their UTF-8 bytes: a pod whose bytes hold neither the node's name nor the
    # object's cannot be one that counts, so only the few that do are decoded.
    node_b, name_b = node.encode(), name.encode()
    for kv in kvs:
        if node_b not in kv.value or name_b not in kv.value:
            continue
        pod = decode(kv.value, kv.mod_revision)
        if (pod.get("spec") or {}).get("nodeName") == node and (kind, name) in configdata.pod_references(pod):
            return True
    return False


def _storage_used_on(api: Api, node: str, kind: str, ns: str, name: str) -> bool:
    """The node authorizer's graph for storage: a claim a pod bound to `node` uses, or the volume bound to one."""
    from control.apiserver.watch import decode

    node_b = node.encode()
    kvs, _ = api.store.range(kinds.KINDS["Pod"].prefix(ns if kind == "PersistentVolumeClaim" else ""), prefix=True)
    for kv in kvs:
        if node_b not in kv.value or b"persistentVolumeClaim" not in kv.value:
            continue
        pod = decode(kv.value, kv.mod_revision)
        spec = pod.get("spec") or {}
        if spec.get("nodeName") != node:
            continue
        pod_ns = (pod.get("metadata") or {}).get("namespace") or "default"
        for v in spec.get("volumes") or []:
            claim_name = ((v.get("persistentVolumeClaim") or {}) if isinstance(v, dict) else {}).get("claimName")
            if not claim_name:
                continue
            if kind == "PersistentVolumeClaim" and claim_name == name:
                return True
            if kind == "PersistentVolume":
                try:
                    claim, _ = api._load(kinds.KINDS["PersistentVolumeClaim"], pod_ns, str(claim_name))
                except errors.ApiError:
                    continue
                if (claim.get("spec") or {}).get("volumeName") == name:
                    return True
    return False


# Watch topics a node may subscribe to besides its own pods' topic: what its kubelet and kube-proxy read.
NODE_WATCHABLE = tuple(f"{kinds.KINDS[k].resource}\x00".encode() for k in ("Node", "Service", "Endpoints", "Namespace", "Lease"))


def may_watch(user: str, topic: bytes) -> bool:
    """Whether `user` may subscribe to a watch topic; topics are matched exactly (ZeroMQ matches by prefix,
    so b"" or b"pods" would otherwise widen a subscription to every pod)."""
    if user in ("admin", "system:apiserver"):
        return True
    if user.startswith("system:node:"):
        node = user.removeprefix("system:node:")
        return topic in NODE_WATCHABLE or topic == f"pods/spec.nodeName={node}\x00".encode()
    return False
