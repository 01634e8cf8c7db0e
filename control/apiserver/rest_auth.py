"""Who am I, and may I? `kubectl auth whoami` and `kubectl auth can-i`, answered by the same authentication
and authorization every request goes through (auth.py, authz.py).

SelfSubjectReview (authentication.k8s.io/v1) gives back the user the credential belongs to;
SelfSubjectAccessReview (authorization.k8s.io/v1) asks authz.authorize whether that user may do a verb
to a resource, without doing it (SelfSubjectRulesReview lists the rules: `kubectl auth can-i --list`): kube-tui's rules are admin (may do anything) and NodeRestriction-like
rules for a node's credential, so a node can see which of its requests would be refused, and why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from control.api import kinds
from control.apiserver import authz, serviceaccount
from control.errors import ApiError

if TYPE_CHECKING:
    from control.apiserver.handlers import Api

AUTHN = "authentication.k8s.io/v1"
AUTHZ = "authorization.k8s.io/v1"
# Kubernetes verbs on a resource -> the verb of kube-tui's API that does it
VERBS = {"get": "get", "list": "list", "watch": "list", "create": "create", "update": "update", "patch": "patch",
         "delete": "delete", "deletecollection": "delete"}
SUBRESOURCES = {"log": "logs", "exec": "exec", "portforward": "portforward", "eviction": "evict"}


def resource_lists() -> dict[str, dict]:
    """Discovery for the two group versions (kubectl auth looks the resources up)."""
    def one(gv: str, *names: tuple[str, str]) -> dict:
        return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": [
            {"name": name, "singularName": "", "namespaced": False, "kind": kind, "verbs": ["create"]}
            for name, kind in names]}
    return {AUTHN: one(AUTHN, ("selfsubjectreviews", "SelfSubjectReview")),
            AUTHZ: one(AUTHZ, ("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
                       ("selfsubjectrulesreviews", "SelfSubjectRulesReview"))}


def groups() -> list[dict]:
    out = []
    for gv in (AUTHN, AUTHZ):
        group, version = gv.split("/")
        entry = {"groupVersion": gv, "version": version}
        out.append({"name": group, "versions": [entry], "preferredVersion": entry})
    return out


def user_info(user: str) -> dict:
    account = serviceaccount.split_username(user)
    if account is not None:  # serviceaccount.UserInfo: the account's namespace's groups
        groups = serviceaccount.groups(account[0])
    else:
        groups = ["system:masters"] if user == "admin" else ["system:nodes"] if user.startswith("system:node:") else []
    return {"username": user, "groups": [*groups, "system:authenticated"]}


def whoami(user: str) -> dict:
    return {"kind": "SelfSubjectReview", "apiVersion": AUTHN, "metadata": {"creationTimestamp": None},
            "status": {"userInfo": user_info(user)}}


def can_i(user: str, review: Any, api: Api) -> dict:
    """A SelfSubjectAccessReview, answered: status.allowed, and the refusal as the reason."""
    spec = (review.get("spec") if isinstance(review, dict) else None) or {}
    attrs = spec.get("resourceAttributes")
    allowed, reason = False, ""
    if not isinstance(attrs, dict):
        reason = "kube-tui authorizes only requests on resources (no non-resource URLs)"
        allowed = user == "admin"
    else:
        allowed, reason = _allowed(user, attrs, api)
    status: dict[str, Any] = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return {"kind": "SelfSubjectAccessReview", "apiVersion": AUTHZ, "metadata": {"creationTimestamp": None},
            "spec": spec, "status": status}


def rules(user: str, review: Any) -> dict:
    """A SelfSubjectRulesReview (`kubectl auth can-i --list`): what the user may do. Admin may do anything;
    a node's rules are listed, and marked incomplete because they also hold only for its own objects."""
    spec = (review.get("spec") if isinstance(review, dict) else None) or {}
    if user == "admin":
        status: dict[str, Any] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                                  "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                                  "incomplete": False}
    elif not user.startswith("system:node:"):  # a join token: it may only join (authz.py)
        status = {"resourceRules": [], "nonResourceRules": [], "incomplete": True,
                  "evaluationError": "a join (bootstrap) token may only join a node: kube-tui node --token"}
    else:
        readable = [kinds.KINDS[k] for k in authz.NODE_READABLE]
        status = {"resourceRules": [
            {"verbs": ["get", "list", "watch"], "apiGroups": sorted({i.group for i in readable}),
             "resources": sorted(i.resource for i in readable)},
            {"verbs": ["create", "update", "patch"], "apiGroups": ["", "coordination.k8s.io"],
             "resources": ["events", "leases", "nodes", "nodes/status", "pods/status"]},
        ], "nonResourceRules": [], "incomplete": True,
            "evaluationError": "kube-tui's node rules (like NodeRestriction) also limit these to the node's own "
                               "Node, Lease and the pods bound to it"}
    return {"kind": "SelfSubjectRulesReview", "apiVersion": AUTHZ, "metadata": {"creationTimestamp": None},
            "spec": spec, "status": status}


def _allowed(user: str, attrs: dict, api: Api) -> tuple[bool, str]:
    resource, sub = str(attrs.get("resource") or ""), str(attrs.get("subresource") or "")
    verb = str(attrs.get("verb") or "")
    if user == "admin":
        return True, ""
    try:
        info = kinds.lookup(resource) if resource not in ("*", "") else None
    except ApiError:
        info = None
    if info is None:
        return False, f'kube-tui has no rule for "{resource or "*"}" other than admin\'s'
    ours = SUBRESOURCES.get(sub) if info.kind == "Pod" and sub else VERBS.get(verb)
    if sub == "status" and verb in ("update", "patch"):
        ours = verb
    if ours is None:
        return False, f'kube-tui has no rule for verb "{verb}" on {resource}{"/" + sub if sub else ""} other than admin\'s'
    body = {"kind": info.kind, "namespace": attrs.get("namespace") or None, "name": attrs.get("name") or "",
            "subresource": sub or None}
    if ours in ("create", "update", "patch"):  # these name their object in it
        body["object"] = {"kind": info.kind, "apiVersion": info.api_version,
                          "metadata": {"name": body["name"], "namespace": body["namespace"]}}
    try:
        authz.authorize(user, ours, body, api)
    except ApiError as e:
        return False, e.message
    return True, ""
