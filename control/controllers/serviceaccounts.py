"""The service account controller (pkg/controller/serviceaccount, ServiceAccountsController): every active
namespace has a ServiceAccount named `default`, made when the namespace is and made again if deleted.

Pods that name no ServiceAccount run as it (the ServiceAccount admission plugin, in the API server). The
namespaces the API server makes itself get theirs at bootstrap, so a cluster's first pods never wait for this.
"""

from __future__ import annotations

from control.client import Client
from control.controllers.base import Controller
from control.controllers.events import EventBroadcaster
from control.controllers.informers import SharedInformers
from control.errors import ApiError
from control.informer import Key
from control.timings import Timings

DEFAULT = "default"  # the ServiceAccounts every namespace has (the controller's --service-account-names)


class ServiceAccountsController(Controller):
    name = "serviceaccount-controller"
    workers = 2

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.namespaces = informers.get("Namespace")
        self.accounts = informers.get("ServiceAccount")
        self.namespaces.add_handler(self._namespace_changed, lambda _old, new: self._namespace_changed(new), None)
        self.accounts.add_handler(None, None, self._account_deleted)

    def _namespace_changed(self, ns: dict) -> None:
        self.queue.add(("", ns["metadata"]["name"]))

    def _account_deleted(self, sa: dict) -> None:
        md = sa.get("metadata") or {}
        if md.get("name") == DEFAULT:
            self.queue.add(("", md.get("namespace") or ""))

    async def sync(self, key: Key) -> None:
        name = key[1]
        ns = self.namespaces.get(None, name)
        if ns is None or (ns.get("status") or {}).get("phase") != "Active" or ns["metadata"].get("deletionTimestamp"):
            return  # a terminating namespace is being emptied: nothing is made in it
        if self.accounts.get(name, DEFAULT) is not None:
            return
        try:
            await self.client.create({"apiVersion": "v1", "kind": "ServiceAccount",
                                      "metadata": {"name": DEFAULT, "namespace": name}})
        except ApiError as e:
            if e.code != 409:  # AlreadyExists: the cache was behind
                raise
