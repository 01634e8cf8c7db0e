"""The ClusterRole aggregation controller (pkg/controller/clusterroleaggregation): a ClusterRole with an
aggregationRule holds the rules of every ClusterRole its selectors match, kept up to date as they change.
That is how the default admin, edit and view roles get their rules (from system:aggregate-to-*)."""

from __future__ import annotations

import copy

from control.api import rbac
from control.api.labels import from_label_selector
from control.client import Client
from control.controllers.base import Controller
from control.controllers.events import EventBroadcaster
from control.controllers.informers import SharedInformers
from control.informer import Key
from control.timings import Timings


def _selects(selector: dict, labels: dict) -> bool:
    return from_label_selector(selector).matches(labels)


class ClusterRoleAggregationController(Controller):
    name = "clusterrole-aggregation-controller"
    workers = 1

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.roles = informers.get("ClusterRole")
        # any ClusterRole's change may change what an aggregated one holds: every aggregated one is looked at
        self.roles.add_handler(self._changed, lambda _old, new: self._changed(new), self._changed)

    def _changed(self, _role: dict) -> None:
        for role in self.roles.list():
            if role.get("aggregationRule"):
                self.queue.add(("", role["metadata"]["name"]))

    async def sync(self, key: Key) -> None:
        role = self.roles.get(None, key[1])
        if role is None or not role.get("aggregationRule"):
            return
        rules = rbac.aggregated_rules(role, self.roles.list(), _selects)
        if rules == (role.get("rules") or []):
            return
        new = copy.deepcopy(role)
        new["rules"] = rules
        await self.client.update(new)
