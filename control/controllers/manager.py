"""The controller manager: shared informers started once, then every controller, until cancelled.

Like kube-controller-manager: one process, one informer per kind shared by all controllers, optional
Lease-based leader election (kube-system/kube-controller-manager) so that only one instance acts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from control.client import Client
from control.controllers.base import Controller, cancel_and_wait
from control.controllers.certificates import CSRSigningController
from control.controllers.clusterroleaggregation import ClusterRoleAggregationController
from control.controllers.cronjob import CronJobController
from control.controllers.daemonset import DaemonSetController
from control.controllers.deployment import DeploymentController
from control.controllers.disruption import DisruptionController
from control.controllers.endpoints import EndpointsController
from control.controllers.endpointslice import EndpointSliceController, EndpointSliceMirroringController
from control.controllers.events import EventBroadcaster
from control.controllers.garbagecollector import GarbageCollector
from control.controllers.horizontal import HorizontalController
from control.controllers.informers import SharedInformers
from control.controllers.job import JobController
from control.controllers.leaderelection import run_with_leader_election
from control.controllers.namespace import NamespaceController
from control.controllers.nodelifecycle import NodeLifecycleController
from control.controllers.persistentvolume import (
    PersistentVolumeController,
    PVCProtectionController,
    PVProtectionController,
)
from control.controllers.replicaset import ReplicaSetController
from control.controllers.resourcequota import ResourceQuotaController
from control.controllers.rootcacertpublisher import RootCACertPublisher
from control.controllers.serviceaccounts import ServiceAccountsController
from control.controllers.statefulset import StatefulSetController
from control.controllers.ttlafterfinished import TTLAfterFinishedController
from control.timings import Timings

log = logging.getLogger("kube_tui.controller_manager")

LEASE_NAME = "kube-controller-manager"

# kube-controller-manager's --controllers names.
CONTROLLERS: dict[str, type[Controller]] = {
    "replicaset": ReplicaSetController,
    "deployment": DeploymentController,
    "garbagecollector": GarbageCollector,
    "nodelifecycle": NodeLifecycleController,
    "endpoint": EndpointsController,
    "endpointslice": EndpointSliceController,
    "endpointslicemirroring": EndpointSliceMirroringController,
    "job": JobController,
    "cronjob": CronJobController,
    "daemonset": DaemonSetController,
    "statefulset": StatefulSetController,
    "namespace": NamespaceController,
    "disruption": DisruptionController,
    "horizontalpodautoscaling": HorizontalController,
    "ttl-after-finished-controller": TTLAfterFinishedController,
    "persistentvolume-binder": PersistentVolumeController,
    "pvc-protection": PVCProtectionController,
    "pv-protection": PVProtectionController,
    "serviceaccount": ServiceAccountsController,
    "resourcequota": ResourceQuotaController,
    "clusterrole-aggregation": ClusterRoleAggregationController,
    "root-ca-cert-publisher": RootCACertPublisher,
    "csrsigning": CSRSigningController,  # only with a CA to sign with (signing_ca)
}


async def run_controller_manager(
    client: Client,
    *,
    timings: Timings,
    leader_elect: bool = False,
    identity: str | None = None,
    controllers: Iterable[str] | None = None,
    leader_elect_scale: float = 1.0,
    signing_ca: tuple[bytes, bytes] | None = None,
) -> None:
    """Run the controllers (all, or those named) until cancelled; with leader_elect, only while leading.
    `signing_ca` (certificate PEM, key PEM) is what csrsigning signs with; without it that one does not run."""
    names = list(controllers) if controllers is not None else list(CONTROLLERS)
    unknown = [n for n in names if n not in CONTROLLERS]
    if unknown:
        raise ValueError(f"unknown controllers {unknown}: known are {', '.join(CONTROLLERS)}")

    async def run() -> None:
        await _run(client, timings, names, signing_ca)

    if not leader_elect:
        await run()
        return
    await run_with_leader_election(client, LEASE_NAME, identity, run, scale=leader_elect_scale)


async def _run(client: Client, timings: Timings, names: list[str], signing_ca: tuple[bytes, bytes] | None) -> None:
    if client.server_id is None:
        await client.connect()
    informers = SharedInformers(client)
    events = EventBroadcaster(client)
    # Controllers register their handlers before the informers start, so they hear every initial object.
    if signing_ca is None and "csrsigning" in names:
        log.info("controller manager: no CA to sign with (--cluster-signing-cert-file/--cluster-signing-key-file): "
                 "csrsigning does not run, CertificateSigningRequests stay unsigned")
        names = [n for n in names if n != "csrsigning"]
    running = [CSRSigningController(client, informers, events, timings, signing_ca) if n == "csrsigning" and signing_ca
               else CONTROLLERS[n](client, informers, events, timings) for n in names]
    tasks: list[asyncio.Task[None]] = []
    try:
        await informers.start()
        log.info("controller manager: informers synced, starting %s", ", ".join(names))
        tasks = [asyncio.create_task(c.run(), name=c.name) for c in running]
        await asyncio.gather(*tasks)
    finally:
        await cancel_and_wait(tasks)
        await informers.stop()
        await events.close()
