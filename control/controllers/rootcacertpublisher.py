"""The root CA certificate publisher (pkg/controller/certificates/rootcacertpublisher): every active namespace has
a ConfigMap kube-root-ca.crt holding the CA that in-cluster clients verify the API server with (ca.crt), made
again if deleted and put back if changed. Pods' kube-api-access volumes project it to .../serviceaccount/ca.crt.

The CA is the one the API server's REST API is served with (or the data dir's, when it is not served), learned
from its hello. Where no controller manager runs, the API server makes the one a new pod's volume needs
(handlers.py, _ensure_root_ca).
"""

from __future__ import annotations

from control.apiserver.serviceaccount import ROOT_CA_CONFIGMAP
from control.apiserver.serviceaccount import ROOT_CA_DESCRIPTION as DESCRIPTION
from control.client import Client
from control.controllers.base import Controller
from control.controllers.events import EventBroadcaster
from control.controllers.informers import SharedInformers
from control.errors import ApiError
from control.informer import Key
from control.timings import Timings


class RootCACertPublisher(Controller):
    name = "root-ca-cert-publisher"
    workers = 2

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.namespaces = informers.get("Namespace")
        self.configmaps = informers.get("ConfigMap")
        self.namespaces.add_handler(self._namespace, lambda _old, new: self._namespace(new), None)
        self.configmaps.add_handler(None, lambda _old, new: self._configmap(new), self._configmap)

    def _namespace(self, ns: dict) -> None:
        self.queue.add(("", ns["metadata"]["name"]))

    def _configmap(self, cm: dict) -> None:
        md = cm.get("metadata") or {}
        if md.get("name") == ROOT_CA_CONFIGMAP:
            self.queue.add(("", md.get("namespace") or ""))

    async def sync(self, key: Key) -> None:
        name = key[1]
        root_ca = str(self.client.hello.get("root_ca") or "")
        ns = self.namespaces.get(None, name)
        if not root_ca or ns is None or (ns.get("status") or {}).get("phase") != "Active" \
                or ns["metadata"].get("deletionTimestamp"):
            return
        data = {"ca.crt": root_ca}
        annotations = {"kubernetes.io/description": DESCRIPTION}
        cm = self.configmaps.get(name, ROOT_CA_CONFIGMAP)
        try:
            if cm is None:
                await self.client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
                    "name": ROOT_CA_CONFIGMAP, "namespace": name, "annotations": annotations}, "data": data})
                return
            md = cm.get("metadata") or {}
            if cm.get("data") == data and (md.get("annotations") or {}).get("kubernetes.io/description") == DESCRIPTION:
                return
            await self.client.update({**cm, "data": data, "metadata": {
                **md, "annotations": {**(md.get("annotations") or {}), **annotations}}})
        except ApiError as e:
            if e.code not in (404, 409):  # the namespace went, or the cache was behind: the informer requeues
                raise
