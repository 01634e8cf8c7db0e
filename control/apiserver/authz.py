"""Authorization: system:masters (the admin) may do anything; a node what its kubelet needs (the Node authorizer
and NodeRestriction), which includes a ServiceAccount token for a pod bound to it; everyone else what RBAC's
roles bound to them grant (control/api/rbac.py), as kube-apiserver's --authorization-mode=Node,RBAC decides.

A node reads a ConfigMap or Secret only with `get`, and only one that a pod bound to it uses (env, envFrom,
volumes, imagePullSecrets), as Kubernetes' node authorizer decides from its graph; never list or watch them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from control import errors
from control.api import configdata, kinds, rbac
from control.api.fieldsel import parse_field_selector
from control.api.rbac import Attributes
from control.apiserver.identity import MASTERS, NODES, groups_of

if TYPE_CHECKING:
    from control.apiserver.handlers import Api

READ_VERBS = ("hello", "discovery", "get", "list", "range", "logs")
SUBRESOURCE_VERBS = {"logs": "pods/log", "exec": "pods/exec", "portforward": "pods/portforward",
                     "evict": "pods/eviction"}
# kube-tui's verbs that act on a pod's subresource: the Kubernetes verb and subresource they are
POD_SUBRESOURCES = {"logs": ("get", "log"), "exec": ("create", "exec"), "portforward": ("create", "portforward"),
                    "evict": ("create", "eviction"), "bind": ("create", "binding")}
NODE_READABLE = ("Node", "Pod", "Service", "Endpoints", "EndpointSlice", "Namespace", "Lease")


def _kind_of(verb: str, body: dict) -> kinds.KindInfo | None:
    if verb in ("create", "update"):
        obj = body.get("object")
        if isinstance(obj, dict) and isinstance(obj.get("kind"), str):
            return kinds.KINDS.get(obj["kind"])
        return None
    if verb in POD_SUBRESOURCES:  # bind, evict, logs, exec, portforward: a pod's
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


def attributes(verb: str, body: dict) -> Attributes | None:
    """The request as Kubernetes' authorizers see it (RequestInfo): a verb on a group's resource (and
    subresource), by name, in a namespace; or a non-resource path. None for what only system:masters may do."""
    if verb in ("hello", "discovery"):
        return Attributes(verb="get", path="/api" if verb == "hello" else "/apis")
    if verb == "review":  # kube-tui auth: creating a self-subject review (system:basic-user's)
        kind = str(body.get("kind") or "")
        group = "authentication.k8s.io" if kind == "SelfSubjectReview" else "authorization.k8s.io"
        return Attributes(verb="create", group=group, resource=f"{kind.lower()}s")
    if verb == "range":
        return None  # the store itself: no role can grant it
    info = _kind_of(verb, body)
    if info is None:
        return None
    ns, name = _target(verb, body)
    if verb == "list":
        ns = str(body.get("namespace") or "")  # every namespace's: at the cluster scope
    ns = ns if info.namespaced else name if info.kind == "Namespace" else ""
    sub = str(body.get("subresource") or "") if verb in ("update", "patch", "get") else ""
    if verb in POD_SUBRESOURCES:
        verb, sub = POD_SUBRESOURCES[verb]
    elif verb == "list" and body.get("watch"):
        verb = "watch"
    elif verb == "token":  # serviceaccounts/token: a TokenRequest is created, for the account named
        verb, sub = "create", "token"
    elif verb == "create":
        name = ""  # a create names no object in its URL (an RBAC resourceNames rule cannot allow it)
    return Attributes(verb=verb, resource=info.resource, group=info.group, subresource=sub, name=name, namespace=ns)


def forbidden(user: str, attrs: Attributes, reason: str = "") -> errors.ApiError:
    """403 in kube-apiserver's words (forbiddenMessage, errors.NewForbidden)."""
    if not attrs.is_resource:
        msg = f'forbidden: User "{user}" cannot {attrs.verb} path "{attrs.path}"'
        return errors.ApiError(403, "Forbidden", msg + (f": {reason}" if reason else ""), {})
    qualified = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
    obj = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    scope = f' in the namespace "{attrs.namespace}"' if attrs.namespace else " at the cluster scope"
    msg = (f'{obj} is forbidden: User "{user}" cannot {attrs.verb} resource "{combined}" in API group '
           f'"{attrs.group}"{scope}')
    # StatusDetails, whose empty fields are left out
    details = {k: v for k, v in (("name", attrs.name), ("group", attrs.group), ("kind", attrs.resource)) if v}
    return errors.ApiError(403, "Forbidden", msg + (f": {reason}" if reason else ""), details)


# -- RBAC (plugin/pkg/auth/authorizer/rbac, pkg/registry/rbac/validation/rule.go) ------------------------------
@dataclass
class Grant:
    """A rule that applies to a user, and where it comes from (for SubjectAccessReview's reason)."""

    rule: dict
    source: str


def _objects(api: Api, kind: str, ns: str | None = None) -> list[dict]:
    from control.apiserver.watch import decode

    kvs, _ = api.store.range(kinds.KINDS[kind].prefix(ns), prefix=True)
    return [decode(kv.value, kv.mod_revision) for kv in kvs]


def _object(api: Api, kind: str, ns: str | None, name: str) -> dict | None:
    from control.apiserver.watch import decode

    kv = api.store.get(kinds.KINDS[kind].key(ns, name))
    return decode(kv.value, kv.mod_revision) if kv is not None else None


def _describe_subject(subject: dict, ns: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{subject.get("namespace") or ns}/{subject.get("name")}"'
    return f'{subject.get("kind")} "{subject.get("name")}"'


def grants(api: Api, user: str, namespace: str) -> tuple[list[Grant], list[str]]:
    """Every rule RBAC gives `user` in `namespace` ("" for the cluster scope: ClusterRoleBindings alone), and
    the errors met on the way (a binding to a role that is not there), as VisitRulesFor collects them."""
    groups = groups_of(user)
    out: list[Grant] = []
    errs: list[str] = []

    def add(binding: dict, binding_kind: str, role_ns: str | None) -> None:
        md, ref = binding["metadata"], binding.get("roleRef") or {}
        subject = next(s for s in binding.get("subjects") or []
                       if rbac.applies_to(user, groups, s, md.get("namespace") or ""))
        ref_kind, ref_name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        role = _object(api, ref_kind, role_ns if ref_kind == "Role" else None, ref_name) \
            if ref_kind in ("Role", "ClusterRole") else None
        if role is None:
            errs.append(f'{ref_kind.lower()}.{rbac.GROUP} "{ref_name}" not found')
            return
        where = f'{md.get("namespace")}/{md["name"]}' if binding_kind == "RoleBinding" else md["name"]
        source = (f'{binding_kind} "{where}" of {ref_kind} "{ref_name}" to '
                  f'{_describe_subject(subject, md.get("namespace") or "")}')
        out.extend(Grant(r, source) for r in rbac.rules_of(role))

    for crb in _objects(api, "ClusterRoleBinding"):
        if rbac.binds(user, groups, crb):
            add(crb, "ClusterRoleBinding", None)
    if namespace:
        for rb in _objects(api, "RoleBinding", namespace):
            if rbac.binds(user, groups, rb):
                add(rb, "RoleBinding", namespace)
    return out, errs


def _aggregate(errs: list[str]) -> str:
    """utilerrors.NewAggregate's text: one error as itself, more in brackets."""
    return errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"


def rbac_decide(api: Api, user: str, attrs: Attributes) -> tuple[bool, str]:
    """RBACAuthorizer.Authorize: (allowed, reason): the grant that allows it, or the errors met."""
    found, errs = grants(api, user, attrs.namespace)
    for g in found:
        if rbac.rule_allows(attrs, g.rule):
            return True, f"RBAC: allowed by {g.source}"
    return False, f"RBAC: {_aggregate(errs)}" if errs else ""


def decide(user: str, attrs: Attributes, api: Api) -> tuple[bool, str]:
    """Whether `user` may do what `attrs` ask, by Kubernetes' authorizers alone: system:masters, then RBAC.
    (The node rules, which need the object itself, are authorize's.)"""
    if user == "system:apiserver" or MASTERS in groups_of(user):
        return True, ""
    return rbac_decide(api, user, attrs)


def impersonator(user: str, api: Api) -> Callable[[str, str, str, str], None]:
    """The check identity.impersonate makes of each user, ServiceAccount and group asked for: 403 unless
    `user` may `impersonate` it (the admin may; RBAC grants it to others, as the edit role does for
    serviceaccounts)."""
    def may(resource: str, namespace: str, name: str, verb: str) -> None:
        attrs = Attributes(verb=verb, resource=resource, namespace=namespace, name=name)
        allowed, reason = decide(user, attrs, api)
        if not allowed:
            raise forbidden(user, attrs, reason)
    return may


def _go_strings(values: list[str]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(f'"{v}"' for v in values) + "]"


def _compact(missing: list[Attributes]) -> list[str]:
    """The rights not held, as CompactRules and PolicyRule.CompactString show them: the verbs of one group,
    resource and name (or URL) together."""
    verbs: dict[tuple[str, str, str, str], list[str]] = {}
    for a in missing:
        combined = f"{a.resource}/{a.subresource}" if a.subresource else a.resource
        verbs.setdefault((a.group, combined, a.name, a.path), []).append(a.verb)
    out = []
    for (group, resource, name, path), vs in verbs.items():
        parts = [f"NonResourceURLs:{_go_strings([path])}"] if path else \
            [f"APIGroups:{_go_strings([group])}", f"Resources:{_go_strings([resource])}"]
        if name:
            parts.append(f"ResourceNames:{_go_strings([name])}")
        parts.append(f"Verbs:{_go_strings(vs)}")
        out.append("{" + ", ".join(parts) + "}")
    return sorted(out)


def confirm_no_escalation(api: Api, user: str, obj: dict) -> None:
    """RBAC's privilege-escalation check on a write of a Role, ClusterRole or binding: a user may grant only
    rights they hold themselves, unless they may `escalate` the role (or `bind` the role a binding refers to);
    system:masters may grant anything. 403 in kube-apiserver's words otherwise."""
    if user in ("system", "system:apiserver") or MASTERS in groups_of(user):
        return
    kind, md = obj.get("kind"), obj.get("metadata") or {}
    info = kinds.KINDS[str(kind)]
    ns, name = str(md.get("namespace") or "") if info.namespaced else "", str(md.get("name") or "")
    qualified = f"{info.resource}.{rbac.GROUP}"
    if kind in ("Role", "ClusterRole"):
        verb, role_kind, role_name, wanted = "escalate", str(kind), name, rbac.rules_of(obj)
    else:
        ref = obj.get("roleRef") or {}
        verb, role_kind, role_name = "bind", str(ref.get("kind") or ""), str(ref.get("name") or "")
        if role_kind not in ("Role", "ClusterRole"):
            return  # validation refuses it
        role = _object(api, role_kind, ns if role_kind == "Role" else None, role_name)
        if role is None:
            raise errors.ApiError(403, "Forbidden", f'{qualified} "{name}" is forbidden: {role_kind.lower()}.'
                                  f'{rbac.GROUP} "{role_name}" not found', {"name": name, "group": rbac.GROUP,
                                                                             "kind": info.resource})
        wanted = rbac.rules_of(role)
    may = Attributes(verb=verb, group=rbac.GROUP, resource=kinds.KINDS[role_kind].resource, name=role_name,
                     namespace=ns)
    if rbac_decide(api, user, may)[0]:
        return
    found, errs = grants(api, user, ns)
    owned = [g.rule for g in found]
    missing = [a for rule in wanted for a in rbac.breakdown(rule) if not rbac.covers(owned, a)]
    if not missing:
        return
    msg = (f'user "{user}" (groups={_go_strings(list(groups_of(user)))}) is attempting to grant RBAC permissions '
           "not currently held:\n" + "\n".join(_compact(missing)))
    if errs:
        msg += f"; resolution errors: [{', '.join(errs)}]"
    raise errors.ApiError(403, "Forbidden", f'{qualified} "{name}" is forbidden: {msg}',
                          {"name": name, "group": rbac.GROUP, "kind": info.resource})


def is_node(user: str) -> bool:
    """The Node authorizer's NodeIdentity: a system:node:NAME user in the system:nodes group."""
    return user.startswith("system:node:") and NODES in groups_of(user)


def authorize(user: str, verb: str, body: dict, api: Api) -> None:
    """Raise 403 Forbidden naming the identity, verb and object unless `user` may do this."""
    if user == "system:apiserver" or MASTERS in groups_of(user):
        return
    info = _kind_of(verb, body)
    resource = info.resource if info else str(body.get("kind") or verb)
    ns, name = _target(verb, body)
    if user.startswith("system:bootstrap:"):
        if verb == "hello":
            return
        raise errors.forbidden(user, verb, resource, name, ns, "a join token may only join a node (kube-tui node --token ...)")
    attrs = attributes(verb, body)
    if is_node(user):
        try:
            _authorize_node(user, verb, body, api, info, resource, ns, name)
        except errors.ApiError:
            if attrs is not None and rbac_decide(api, user, attrs)[0]:
                return  # a role bound to the node, or to system:nodes, grants it (Node,RBAC: either allows)
            raise
        return
    if attrs is None:
        what = Attributes(verb=verb, resource=resource, namespace=ns, name=name)
        raise forbidden(user, what, "only system:masters may" if verb == "range" else "")
    allowed, reason = rbac_decide(api, user, attrs)
    if not allowed:
        raise forbidden(user, attrs, reason)
    topic = body.get("topic") if verb == "list" else None
    if isinstance(topic, bytes) and not may_watch(user, topic, api):
        # a list that is to be followed by a watch (get -w, an informer): the subscription would be dropped
        # without a word, so it is refused here, as kube-apiserver refuses the watch request
        watch = _TOPIC_KINDS.get(topic)
        raise forbidden(user, Attributes(verb="watch", resource=watch.resource if watch else attrs.resource,
                                         group=watch.group if watch else attrs.group),
                        "a watch over kube-tui's native API carries every namespace's objects")


def _authorize_node(user: str, verb: str, body: dict, api: Api, info: kinds.KindInfo | None, resource: str,
                    ns: str, name: str) -> None:
    """The Node authorizer and NodeRestriction, for a node's own credential."""
    node = user.removeprefix("system:node:")
    if verb in ("hello", "discovery", "review"):  # system:discovery's and system:basic-user's, as for everyone
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
NODE_WATCHABLE = tuple(f"{kinds.KINDS[k].resource}\x00".encode() for k in ("Node", "Service", "Endpoints", "EndpointSlice",
                                                                         "Namespace", "Lease"))


def may_watch(user: str, topic: bytes, api: Api | None = None) -> bool:
    """Whether `user` may subscribe to a watch topic; topics are matched exactly (ZeroMQ matches by prefix,
    so b"" or b"pods" would otherwise widen a subscription to every pod). A kind's topic carries every
    namespace's objects: anyone else needs RBAC's `watch` of it at the cluster scope."""
    if user == "system:apiserver" or MASTERS in groups_of(user):
        return True
    if is_node(user):
        node = user.removeprefix("system:node:")
        return topic in NODE_WATCHABLE or topic == f"pods/spec.nodeName={node}\x00".encode()
    info = _TOPIC_KINDS.get(topic)
    if api is None or info is None:
        return False
    return rbac_decide(api, user, Attributes(verb="watch", resource=info.resource, group=info.group))[0]


_TOPIC_KINDS = {info.topic(): info for info in kinds.KINDS.values()}
