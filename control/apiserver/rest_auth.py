"""Who am I, and may I? `kubectl auth whoami` and `kubectl auth can-i`, answered by the same authentication
and authorization every request goes through (auth.py, authz.py).

SelfSubjectReview (authentication.k8s.io/v1) gives back the user the credential belongs to (or the one it
impersonates: kubectl --as) and its groups; SelfSubjectAccessReview (authorization.k8s.io/v1) asks whether that
user may do a verb to a resource, without doing it (SelfSubjectRulesReview lists the rules: `kubectl auth can-i
--list`): system:masters may do anything, a node's credential what the node rules (like NodeRestriction) let
it, so a node can see which of its requests would be refused and why, and everyone else what RBAC grants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from control import errors
from control.api import kinds, rbac
from control.apiserver import authz
from control.apiserver.identity import MASTERS, User, groups_of
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
                       ("selfsubjectrulesreviews", "SelfSubjectRulesReview"),
                       ("subjectaccessreviews", "SubjectAccessReview"))}


def groups() -> list[dict]:
    out = []
    for gv in (AUTHN, AUTHZ):
        group, version = gv.split("/")
        entry = {"groupVersion": gv, "version": version}
        out.append({"name": group, "versions": [entry], "preferredVersion": entry})
    return out


def user_info(user: str) -> dict:
    return {"username": user, "groups": list(groups_of(user))}


def whoami(user: str) -> dict:
    return {"kind": "SelfSubjectReview", "apiVersion": AUTHN, "metadata": {"creationTimestamp": None},
            "status": {"userInfo": user_info(user)}}


def can_i(user: str, review: Any, api: Api) -> dict:
    """A SelfSubjectAccessReview, answered: status.allowed, and why (the rule that allows it, or the refusal)."""
    spec = (review.get("spec") if isinstance(review, dict) else None) or {}
    attrs = spec.get("resourceAttributes")
    if isinstance(attrs, dict) and authz.is_node(user):
        allowed, reason = _allowed(user, attrs, api)
        if not allowed and authz.decide(user, _attributes(spec), api)[0]:
            allowed, reason = True, ""
    else:
        allowed, reason = authz.decide(user, _attributes(spec), api)
    status: dict[str, Any] = {"allowed": allowed}
    if reason:
        status["reason"] = reason
    return {"kind": "SelfSubjectAccessReview", "apiVersion": AUTHZ, "metadata": {"creationTimestamp": None},
            "spec": spec, "status": status}


def subject_access_review(user: str, review: Any, api: Api) -> dict:
    """A SubjectAccessReview: may another user (spec.user, spec.groups as given) do this? Asked by one who may
    create subjectaccessreviews (cluster-admin), answered as can_i answers for oneself."""
    attrs = rbac.Attributes(verb="create", group="authorization.k8s.io", resource="subjectaccessreviews")
    allowed, reason = authz.decide(user, attrs, api)
    if not allowed:
        raise authz.forbidden(user, attrs, reason)
    spec = (review.get("spec") if isinstance(review, dict) else None) or {}
    name, groups = str(spec.get("user") or ""), [str(g) for g in spec.get("groups") or []]
    if not name and not groups:
        cause = errors.FieldError("spec.user", "Invalid value", "at least one of user or group must be specified", "")
        raise errors.ApiError(422, "Invalid", f'SubjectAccessReview.authorization.k8s.io "" is invalid: {cause}',
                              {"name": "", "group": "authorization.k8s.io", "kind": "SubjectAccessReview",
                               "causes": [cause.cause()]})
    answer = can_i(User(name, groups), review, api)
    return dict(answer, kind="SubjectAccessReview")


def _attributes(spec: dict) -> rbac.Attributes:
    attrs = spec.get("resourceAttributes")
    if isinstance(attrs, dict):
        return rbac.Attributes(**{field: str(attrs.get(key) or "") for field, key in (
            ("verb", "verb"), ("group", "group"), ("resource", "resource"), ("subresource", "subresource"),
            ("name", "name"), ("namespace", "namespace"))})
    other = spec.get("nonResourceAttributes") if isinstance(spec.get("nonResourceAttributes"), dict) else {}
    return rbac.Attributes(verb=str(other.get("verb") or ""), path=str(other.get("path") or "/"))


def rules(user: str, review: Any, api: Api) -> dict:
    """A SelfSubjectRulesReview (`kubectl auth can-i --list`): what the user may do in the namespace asked
    about. system:masters may do anything (and RBAC's rules follow, as kube-apiserver's union lists them); a
    node's rules are listed, and marked incomplete because they also hold only for its own objects; everyone
    else's are RBAC's."""
    spec = (review.get("spec") if isinstance(review, dict) else None) or {}
    if user.startswith("system:bootstrap:"):  # a join token: it may only join (authz.py)
        status: dict[str, Any] = {"resourceRules": [], "nonResourceRules": [], "incomplete": True,
                                  "evaluationError": "a join (bootstrap) token may only join a node: kube-tui node --token"}
    elif authz.is_node(user):
        readable = [kinds.KINDS[k] for k in authz.NODE_READABLE]
        status = {"resourceRules": [
            {"verbs": ["get", "list", "watch"], "apiGroups": sorted({i.group for i in readable}),
             "resources": sorted(i.resource for i in readable)},
            {"verbs": ["create", "update", "patch"], "apiGroups": ["", "coordination.k8s.io"],
             "resources": ["events", "leases", "nodes", "nodes/status", "pods/status"]},
        ], "nonResourceRules": [], "incomplete": True,
            "evaluationError": "kube-tui's node rules (like NodeRestriction) also limit these to the node's own "
                               "Node, Lease and the pods bound to it"}
    else:
        found, errs = authz.grants(api, user, str(spec.get("namespace") or ""))
        resource_rules: list[dict] = []
        non_resource_rules: list[dict] = []
        if MASTERS in groups_of(user):  # the privileged-group authorizer's rules, before RBAC's
            resource_rules.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
            non_resource_rules.append({"verbs": ["*"], "nonResourceURLs": ["*"]})
        for g in found:
            rule = g.rule
            if rule.get("resources"):
                out = {k: list(rule[k]) for k in ("verbs", "apiGroups", "resources") if k in rule}
                if rule.get("resourceNames"):
                    out["resourceNames"] = list(rule["resourceNames"])
                resource_rules.append(out)
            if rule.get("nonResourceURLs"):
                non_resource_rules.append({"verbs": list(rule.get("verbs") or []),
                                           "nonResourceURLs": list(rule["nonResourceURLs"])})
        status = {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules, "incomplete": False}
        if errs:
            status["evaluationError"] = errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]"
    return {"kind": "SelfSubjectRulesReview", "apiVersion": AUTHZ, "metadata": {"creationTimestamp": None},
            "spec": spec, "status": status}


def _allowed(user: str, attrs: dict, api: Api) -> tuple[bool, str]:
    resource, sub = str(attrs.get("resource") or ""), str(attrs.get("subresource") or "")
    verb = str(attrs.get("verb") or "")
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
