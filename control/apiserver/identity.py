"""Who a request acts as: a username and its groups (user.Info), and impersonation (kubectl --as, --as-group).

A username is a str everywhere in the API server; one that carries groups other than its own (an impersonated
user) is a `User`, a str with `.groups`. `groups_of` is the one rule for the groups a username has.
"""

from __future__ import annotations

from collections.abc import Callable

from control.api.rbac import SA_PREFIX
from control.errors import bad_request

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
NODES = "system:nodes"


class User(str):
    """A username with the groups it was given (by impersonation) instead of those groups_of would give it."""

    groups: tuple[str, ...]

    def __new__(cls, name: str, groups: tuple[str, ...] | list[str]) -> User:
        self = super().__new__(cls, name)
        self.groups = tuple(groups)
        return self


def service_account_groups(namespace: str) -> tuple[str, ...]:
    """serviceaccount.MakeGroupNames: every ServiceAccount, and those of its namespace."""
    return ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")


def split_service_account(user: str) -> tuple[str, str] | None:
    """(namespace, name) of a ServiceAccount's username, system:serviceaccount:NS:NAME; None for another."""
    if not user.startswith(SA_PREFIX):
        return None
    ns, sep, name = user[len(SA_PREFIX):].partition(":")
    return (ns, name) if sep and ns and name and ":" not in name else None


def groups_of(user: str) -> tuple[str, ...]:
    """The groups Kubernetes' authenticators give a username: the admin's credential is system:masters, a
    node's system:nodes, a ServiceAccount's system:serviceaccounts and system:serviceaccounts:NS, a join
    token's system:bootstrappers; every one of them system:authenticated."""
    given = getattr(user, "groups", None)
    if given is not None:
        return given  # type: ignore[no-any-return]
    if user == "admin":
        return (MASTERS, AUTHENTICATED)
    if user.startswith("system:node:"):
        return (NODES, AUTHENTICATED)
    sa = split_service_account(user)
    if sa is not None:
        return (*service_account_groups(sa[0]), AUTHENTICATED)
    if user.startswith("system:bootstrap:"):
        return ("system:bootstrappers", AUTHENTICATED)
    return (AUTHENTICATED,)


def impersonate(user: str, as_user: str | None, as_groups: list[str],
                may: Callable[[str, str, str, str], None]) -> str:
    """kube-apiserver's impersonation filter: `user` acts as `as_user` with `as_groups` if it may `impersonate`
    each of them (`may(resource, namespace, name, verb)` raises 403 otherwise). A ServiceAccount's username
    is checked as the serviceaccounts resource, and given its groups when none are asked for; every
    impersonated user but system:anonymous is also system:authenticated."""
    if as_user is None and not as_groups:
        return user
    if not as_user:
        raise bad_request("requested impersonation of groups without impersonating a user")
    sa = split_service_account(as_user)
    if sa is not None:
        may("serviceaccounts", sa[0], sa[1], "impersonate")
    else:
        may("users", "", as_user, "impersonate")
    for g in as_groups:
        may("groups", "", g, "impersonate")
    groups = list(as_groups)
    if sa is not None and not as_groups:
        groups = list(service_account_groups(sa[0]))
    if as_user != "system:anonymous" and not ({AUTHENTICATED, UNAUTHENTICATED} & set(groups)):
        groups.append(AUTHENTICATED)
    return User(as_user, groups)

