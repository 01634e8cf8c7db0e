"""The PersistentVolume controller (pkg/controller/volume/persistentvolume), the local-path provisioner, and the
pvc-protection and pv-protection controllers.

The binder matches each unbound claim with the smallest Available volume that fits it (index.go's
findMatchingVolume), binds both (the volume's claimRef, then the claim's volumeName, with the
pv.kubernetes.io annotations) and keeps their phases: Pending / Bound / Lost for claims, Pending / Available /
Bound / Released for volumes. A claim whose class binds WaitForFirstConsumer waits until the scheduler picks a
node for its first pod (volume.kubernetes.io/selected-node); then the local-path provisioner (kind's
`rancher.io/local-path`, built in here) makes a hostPath volume in that node's directory, pre-bound to the
claim. A Released volume is deleted when its reclaim policy is Delete; its directory stays on the node (nothing
calls persistentvolume.stale_claim_directories yet; kind's provisioner removes it: see README). The protection
controllers hold a claim's finalizer while a pod uses it, and a volume's while it is Bound.
"""

from __future__ import annotations

import asyncio
import copy

from control.api import meta
from control.api import persistentvolume as pvs
from control.client import Client
from control.controllers import controller_utils as cu
from control.controllers.base import Controller
from control.controllers.events import NORMAL, WARNING, EventBroadcaster
from control.controllers.informers import BY_NAMESPACE, SharedInformers
from control.errors import ApiError
from control.informer import Key, key_of
from control.timings import Timings
from control.workqueue import WorkQueue, run_workers

# The controller's words (pkg/controller/volume/persistentvolume/pv_controller.go, events/event.go)
WAIT_FOR_FIRST_CONSUMER = "waiting for first consumer to be created before binding"
NO_CLASS = "no persistent volumes available for this claim and no storage class is set"
CLAIM_LOST = "Bound claim has lost reference to PersistentVolume. Data on the volume is lost!"
CLAIM_MISBOUND = "Two claims are bound to the same volume, this one is bound incorrectly"
VOLUME_DELETE_FAILED = "VolumeFailedDelete"
PROVISIONER_COMPONENT = f"{pvs.LOCAL_PATH}_kube-tui-local-path-provisioner"


def external_provisioning(provisioner: str) -> str:
    return (f"Waiting for a volume to be created either by the external provisioner '{provisioner}' or manually by "
            "the system administrator. If volume creation is delayed, please verify that the provisioner is running "
            "and correctly registered.")


def pods_using(pods: list[dict], claim_name: str) -> list[dict]:
    """The pods of the claim's namespace whose volumes name it."""
    return [p for p in pods if any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim_name
                                   for v in (p.get("spec") or {}).get("volumes") or [] if isinstance(v, dict))]


def claim_in_use(pods: list[dict], claim_name: str) -> bool:
    """pvc_protection_controller's podUsesPVC over the namespace: a scheduled pod that is not terminal."""
    return any((p.get("spec") or {}).get("nodeName") and cu.phase(p) not in ("Succeeded", "Failed")
               for p in pods_using(pods, claim_name))


class PersistentVolumeController(Controller):
    name = "persistentvolume-controller"
    workers = 2

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.claims = informers.get("PersistentVolumeClaim")
        self.volumes = informers.get("PersistentVolume")
        self.classes = informers.get("StorageClass")
        self.nodes = informers.get("Node")
        self.provisioner = events.new_recorder(PROVISIONER_COMPONENT)
        self.volume_queue: WorkQueue[Key] = WorkQueue(f"{self.name}-volumes", base_delay=0.005,
                                                      max_delay=min(30.0, max(timings.backoff_max, 1.0)))
        self.claims.add_handler(self.enqueue, lambda old, new: self.enqueue(new), self._claim_deleted)
        self.volumes.add_handler(self._volume_changed, lambda old, new: self._volume_changed(new),
                                 self._volume_changed)
        self.classes.add_handler(on_add=self._class_added)

    # -- handlers -------------------------------------------------------------------------------------
    def _claim_deleted(self, claim: dict) -> None:
        volume = (claim.get("spec") or {}).get("volumeName")
        if volume:
            self.volume_queue.add(("", volume))
        for pv in self.volumes.list():  # a volume pre-bound to it is released too
            if pvs.is_bound_to(pv, claim):
                self.volume_queue.add(key_of(pv))

    def _volume_changed(self, volume: dict) -> None:
        self.volume_queue.add(key_of(volume))
        ref = (volume.get("spec") or {}).get("claimRef") or {}
        if ref.get("name"):
            self.queue.add((ref.get("namespace") or "", ref["name"]))
        else:  # a new Available volume may fit a waiting claim
            for claim in self.claims.list():
                if not (claim.get("spec") or {}).get("volumeName"):
                    self.enqueue(claim)

    def _class_added(self, sc: dict) -> None:
        for claim in self.claims.list():
            if not (claim.get("spec") or {}).get("volumeName") and pvs.claim_class(claim) == sc["metadata"]["name"]:
                self.enqueue(claim)

    async def run(self) -> None:
        try:
            await asyncio.gather(super().run(), run_workers(self.volume_queue, self.sync_volume, 1,
                                                            on_error=self._on_error))
        finally:
            self.volume_queue.shutdown()

    # -- claims ---------------------------------------------------------------------------------------
    async def sync(self, key: Key) -> None:
        """syncClaim: an unbound claim is bound or provisioned for; a bound one is kept consistent."""
        cached = self.claims.get(*key)
        if cached is None or cu.is_terminating(cached) and not (cached.get("spec") or {}).get("volumeName"):
            return
        claim = copy.deepcopy(cached)
        if (claim.get("spec") or {}).get("volumeName"):
            await self._sync_bound_claim(claim)
        else:
            await self._sync_unbound_claim(claim)

    async def _sync_unbound_claim(self, claim: dict) -> None:
        class_name = pvs.claim_class(claim)
        sc = self.classes.get(None, class_name) if class_name else None
        delay = sc is not None and pvs.binding_mode(sc) == "WaitForFirstConsumer"
        annotations = claim["metadata"].get("annotations") or {}
        selected = annotations.get(pvs.SELECTED_NODE)
        if delay and not selected:
            # a volume pre-bound to the claim is still bound at once (findMatchingVolume's first case)
            volume = pvs.find_matching_volume(claim, self.volumes.list(), delay_binding=True)
            if volume is None:
                await self._claim_phase(claim, "Pending")
                self.recorder.event(claim, NORMAL, "WaitForFirstConsumer", WAIT_FOR_FIRST_CONSUMER)
                return
        else:
            volume = pvs.find_matching_volume(claim, self.volumes.list())
        if volume is not None:
            await self._bind(claim, copy.deepcopy(volume))
            return
        await self._claim_phase(claim, "Pending")
        if not class_name:
            self.recorder.event(claim, NORMAL, "FailedBinding", NO_CLASS)
            return
        if sc is None:
            self.recorder.event(claim, WARNING, "ProvisioningFailed",
                                f'storageclass.storage.k8s.io "{class_name}" not found')
            return
        provisioner = str(sc.get("provisioner") or "")
        if provisioner == pvs.NO_PROVISIONER:
            self.recorder.event(claim, NORMAL, "FailedBinding",
                                "no persistent volumes available for this claim and no storage class is set"
                                if not class_name else "no volume plugin matched name: " + provisioner)
            return
        if annotations.get(pvs.STORAGE_PROVISIONER) != provisioner:
            claim = await self._patch_claim(claim, {pvs.STORAGE_PROVISIONER: provisioner,
                                                    pvs.BETA_STORAGE_PROVISIONER: provisioner})
        self.recorder.event(claim, NORMAL, "ExternalProvisioning", external_provisioning(provisioner))
        if provisioner == pvs.LOCAL_PATH:
            await self._provision(claim, sc, selected)

    async def _sync_bound_claim(self, claim: dict) -> None:
        """syncBoundClaim: the claim names a volume; that volume must name it back."""
        name = claim["spec"]["volumeName"]
        volume = self.volumes.get(None, name)
        if volume is None:
            if (claim.get("status") or {}).get("phase") != "Lost":
                await self._claim_status(claim, {"phase": "Lost"})
                self.recorder.event(claim, WARNING, "ClaimLost", CLAIM_LOST)
            return
        ref = (volume.get("spec") or {}).get("claimRef")
        if not ref or (ref.get("uid") and ref.get("uid") != claim["metadata"].get("uid")):
            if (claim.get("status") or {}).get("phase") == "Bound":
                await self._claim_status(claim, {"phase": "Lost"})
                self.recorder.event(claim, WARNING, "ClaimMisbound", CLAIM_MISBOUND)
            elif not ref:  # bound by the user to this volume: the volume is bound to it in turn
                await self._bind(claim, copy.deepcopy(volume))
            return
        await self._bind(claim, copy.deepcopy(volume))

    # -- binding --------------------------------------------------------------------------------------
    async def _bind(self, claim: dict, volume: dict) -> None:
        """bind(): the volume first (claimRef, Bound), then the claim (volumeName, annotations, Bound)."""
        cmd, vmd = claim["metadata"], volume["metadata"]
        spec = volume.setdefault("spec", {})
        ref = spec.get("claimRef") or {}
        if ref.get("uid") != cmd.get("uid") or ref.get("name") != cmd.get("name"):
            if not ref:
                vmd.setdefault("annotations", {})[pvs.BOUND_BY_CONTROLLER] = "yes"
            spec["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": cmd.get("namespace"),
                                "name": cmd.get("name"), "uid": cmd.get("uid"), "apiVersion": "v1",
                                "resourceVersion": cmd.get("resourceVersion")}
            volume = await self.client.update(volume)
        if (volume.get("status") or {}).get("phase") != "Bound":
            volume["status"] = {**(volume.get("status") or {}), "phase": "Bound",
                                "lastPhaseTransitionTime": meta.now()}
            volume = await self.client.update_status(volume)
        cspec = claim.setdefault("spec", {})
        anns = cmd.get("annotations") or {}
        if cspec.get("volumeName") != vmd["name"] or anns.get(pvs.BIND_COMPLETED) != "yes":
            by_controller = not cspec.get("volumeName")
            cspec["volumeName"] = vmd["name"]
            anns = cmd["annotations"] = {**anns, pvs.BIND_COMPLETED: "yes"}
            if by_controller:
                anns[pvs.BOUND_BY_CONTROLLER] = "yes"
            claim = await self.client.update(claim)
        vspec = volume.get("spec") or {}
        want = {"phase": "Bound", "accessModes": list(vspec.get("accessModes") or []),
                "capacity": dict(vspec.get("capacity") or {})}
        status = claim.get("status") or {}
        if any(status.get(k) != v for k, v in want.items()):
            await self._claim_status(claim, {**status, **want})

    async def _claim_phase(self, claim: dict, phase: str) -> None:
        if (claim.get("status") or {}).get("phase") != phase:
            await self._claim_status(claim, {**(claim.get("status") or {}), "phase": phase})

    async def _claim_status(self, claim: dict, status: dict) -> dict:
        claim["status"] = status
        return await self.client.update_status(claim)

    async def _patch_claim(self, claim: dict, annotations: dict[str, str]) -> dict:
        md = claim["metadata"]
        return await self.client.patch("PersistentVolumeClaim", md["name"], {"metadata": {"annotations": annotations}},
                                       md.get("namespace"))

    # -- the local-path provisioner -------------------------------------------------------------------
    async def _provision(self, claim: dict, sc: dict, selected: str | None) -> None:
        """local-path-provisioner's Provision: a hostPath volume in the selected node's directory."""
        key = f"{claim['metadata'].get('namespace')}/{claim['metadata']['name']}"
        if self.volumes.get(None, pvs.provisioned_volume_name(claim)) is not None:
            return  # made already; the binder binds it when its event comes
        if not selected:
            self.provisioner.event(claim, WARNING, "ProvisioningFailed",
                                   f'failed to provision volume with StorageClass "{sc["metadata"]["name"]}": '
                                   "configuration error, no node was specified")
            return
        self.provisioner.event(claim, NORMAL, "Provisioning",
                               f'External provisioner is provisioning volume for claim "{key}"')
        node = self.nodes.get(None, selected)
        volume = pvs.provisioned_volume(claim, sc, selected, pvs.node_local_path_dir(node))
        try:
            await self.client.create(volume)
        except ApiError as e:
            if e.code != 409:
                self.provisioner.event(claim, WARNING, "ProvisioningFailed",
                                       f'failed to provision volume with StorageClass "{sc["metadata"]["name"]}": '
                                       f"{e.message}")
                raise
            return
        self.provisioner.event(claim, NORMAL, "ProvisioningSucceeded",
                               f"Successfully provisioned volume {volume['metadata']['name']}")

    # -- volumes --------------------------------------------------------------------------------------
    async def sync_volume(self, key: Key) -> None:
        """syncVolume: Available without a claim, Bound with its claim, Released (and reclaimed) without it."""
        cached = self.volumes.get(None, key[1])
        if cached is None:
            return
        volume = copy.deepcopy(cached)
        ref = (volume.get("spec") or {}).get("claimRef") or {}
        phase = (volume.get("status") or {}).get("phase")
        if not ref:
            if phase not in ("Available",) and not cu.is_terminating(volume):
                await self._volume_phase(volume, "Available")
            return
        claim = self.claims.get(ref.get("namespace"), ref.get("name", ""))
        if claim is not None and ref.get("uid") and claim["metadata"].get("uid") != ref["uid"]:
            claim = None  # a new claim of the same name: not this volume's
        if claim is None:
            if not ref.get("uid"):  # pre-bound to a claim that is not there yet
                if phase != "Available":
                    await self._volume_phase(volume, "Available")
                return
            if phase != "Released" and phase != "Failed":
                volume = await self._volume_phase(volume, "Released")
            await self._reclaim(volume)
            return
        if (claim.get("spec") or {}).get("volumeName") == volume["metadata"]["name"] and phase != "Bound":
            await self._volume_phase(volume, "Bound")
        elif not (claim.get("spec") or {}).get("volumeName"):
            self.enqueue(claim)  # the claim's sync binds it

    async def _volume_phase(self, volume: dict, phase: str) -> dict:
        volume["status"] = {**(volume.get("status") or {}), "phase": phase, "lastPhaseTransitionTime": meta.now()}
        return await self.client.update_status(volume)

    async def _reclaim(self, volume: dict) -> None:
        """reclaimVolume: Retain keeps the Released volume; Delete deletes it (its directory is the node's to remove)."""
        policy = (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
        if policy != "Delete" or cu.is_terminating(volume):
            return
        try:
            await self.client.delete("PersistentVolume", volume["metadata"]["name"], None)
        except ApiError as e:
            if e.code != 404:
                self.recorder.event(volume, WARNING, VOLUME_DELETE_FAILED, e.message)
                raise


class PVCProtectionController(Controller):
    """pvc-protection: a claim being deleted keeps kubernetes.io/pvc-protection while a pod uses it."""

    name = "pvc-protection-controller"
    workers = 2

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.claims = informers.get("PersistentVolumeClaim")
        self.pods = informers.get("Pod")
        self.claims.add_handler(self.enqueue, lambda old, new: self.enqueue(new), None)
        self.pods.add_handler(self._pod_changed, lambda old, new: self._pod_changed(new), self._pod_changed)

    def _pod_changed(self, pod: dict) -> None:
        ns = (pod.get("metadata") or {}).get("namespace") or ""
        for v in (pod.get("spec") or {}).get("volumes") or []:
            name = (v.get("persistentVolumeClaim") or {}).get("claimName") if isinstance(v, dict) else None
            if name:
                self.queue.add((ns, name))

    async def sync(self, key: Key) -> None:
        claim = self.claims.get(*key)
        if claim is None or not cu.is_terminating(claim):
            return
        finalizers = list(claim["metadata"].get("finalizers") or [])
        if pvs.PVC_PROTECTION not in finalizers:
            return
        if claim_in_use(self.pods.by_index(BY_NAMESPACE, key[0]), key[1]):
            return  # a pod's change brings the claim back
        finalizers.remove(pvs.PVC_PROTECTION)
        await self.client.patch("PersistentVolumeClaim", key[1], {"metadata": {
            "finalizers": finalizers, "resourceVersion": claim["metadata"].get("resourceVersion")}}, key[0])


class PVProtectionController(Controller):
    """pv-protection: a volume being deleted keeps kubernetes.io/pv-protection while it is Bound."""

    name = "pv-protection-controller"
    workers = 1

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings) -> None:
        super().__init__(client, informers, events, timings)
        self.volumes = informers.get("PersistentVolume")
        self.volumes.add_handler(self.enqueue, lambda old, new: self.enqueue(new), None)

    async def sync(self, key: Key) -> None:
        volume = self.volumes.get(None, key[1])
        if volume is None or not cu.is_terminating(volume):
            return
        finalizers = list(volume["metadata"].get("finalizers") or [])
        if pvs.PV_PROTECTION not in finalizers or (volume.get("status") or {}).get("phase") == "Bound":
            return
        finalizers.remove(pvs.PV_PROTECTION)
        await self.client.patch("PersistentVolume", key[1], {"metadata": {
            "finalizers": finalizers, "resourceVersion": volume["metadata"].get("resourceVersion")}}, None)
