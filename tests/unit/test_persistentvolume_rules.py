"""PersistentVolumes, claims and classes: validation in Kubernetes' words, the binder's matching, the
local-path provisioner's naming, DefaultStorageClass admission, the kubelet's claim-to-directory lookup and the
scheduler's VolumeBinding plugin."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from control.api import persistentvolume as pvs
from control.api.defaults import apply_defaults
from control.api.validation import validate
from control.scheduler.framework import Framework
from control.scheduler.nodeinfo import NodeInfo
from control.scheduler.plugins import VolumeBinding
from control.scheduler.plugins.volume_binding import BIND_CONFLICT, NODE_CONFLICT, UNBOUND_IMMEDIATE, Storage
from control.scheduler.podindex import Cluster
from tui.printers.table import table


def claim(name: str = "data", size: str = "1Gi", modes: list[str] | None = None, **spec: object) -> dict:
    obj = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}"},
           "spec": {"accessModes": modes or ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}, **spec}}
    apply_defaults(obj)
    return obj


def volume(name: str, size: str = "1Gi", modes: list[str] | None = None, cls: str = "", node: str = "",
           labels: dict[str, str] | None = None, **spec: object) -> dict:
    obj: dict = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name, "labels": labels or {}},
                 "spec": {"accessModes": modes or ["ReadWriteOnce"], "capacity": {"storage": size},
                          "hostPath": {"path": f"/srv/{name}"}, "storageClassName": cls, **spec},
                 "status": {"phase": "Available"}}
    if node:
        obj["spec"]["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    apply_defaults(obj)
    return obj


def messages(obj: dict, old: dict | None = None) -> list[str]:
    errs, _ = validate(obj, old)
    return [str(e) for e in errs]


# --- validation ----------------------------------------------------------------------------------------------


def test_a_claim_needs_known_access_modes_and_a_positive_storage_request() -> None:
    bad = claim(modes=["ReadWriteSometimes"], size="0")
    assert messages(bad) == [
        'spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", '
        '"ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"',
        'spec.resources[storage]: Invalid value: "0": must be greater than zero',
    ]
    empty = claim()
    empty["spec"] = {}
    assert messages(empty) == ["spec.accessModes: Required value: at least 1 access mode is required",
                               "spec.resources[storage]: Required value"]
    assert messages(claim(size="lots"))[0].startswith('spec.resources[storage]: Invalid value: "lots": must match')
    assert messages(claim(modes=["ReadWriteOncePod", "ReadWriteOnce"])) == [
        "spec.accessModes: Forbidden: may not use ReadWriteOncePod with other access modes"]


def test_a_claims_spec_is_immutable_but_a_bound_claim_may_grow() -> None:
    old = claim()
    changed = copy.deepcopy(old)
    changed["spec"]["accessModes"] = ["ReadWriteMany"]
    assert messages(changed, old)[0].startswith("spec: Forbidden: spec is immutable after creation except "
                                                "resources.requests and volumeAttributesClassName for bound claims")
    grown = copy.deepcopy(old)
    grown["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert messages(grown, old) != []  # a Pending claim may not be resized
    old["status"] = grown["status"] = {"phase": "Bound"}
    assert messages(grown, old) == []
    shrunk = copy.deepcopy(old)
    shrunk["spec"]["resources"]["requests"]["storage"] = "500Mi"
    assert messages(shrunk, old) == ["spec.resources.requests.storage: Forbidden: field can not be less than "
                                     "previous value"]
    bound = copy.deepcopy(old)
    bound["spec"]["volumeName"] = "pv-1"  # set once, by the PV controller
    assert messages(bound, old) == []


def test_a_volume_needs_capacity_modes_and_one_source() -> None:
    bad = volume("v")
    bad["spec"] = {"accessModes": [], "capacity": {"storage": "-1", "cpu": "1"}, "persistentVolumeReclaimPolicy": "Keep"}
    assert messages(bad) == [
        "spec.accessModes: Required value: must specify at least 1 access mode",
        'spec.capacity: Unsupported value: supported values: "storage"',
        'spec.capacity[storage]: Invalid value: "-1": must be greater than zero',
        'spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", '
        '"Retain"',
        "spec: Required value: must specify a volume type",
    ]
    local = volume("l")
    local["spec"].pop("hostPath")
    local["spec"]["local"] = {"path": "/mnt/disk"}
    assert messages(local) == ["spec.nodeAffinity: Required value: Local volume requires node affinity"]
    moved = copy.deepcopy(volume("v"))
    moved2 = copy.deepcopy(moved)
    moved2["spec"]["hostPath"]["path"] = "/elsewhere"
    assert messages(moved2, moved) == ["spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is "
                                       "immutable after creation"]


def test_a_storage_class_needs_a_provisioner_and_keeps_it() -> None:
    sc = copy.deepcopy(pvs.STANDARD_CLASS)
    assert messages(sc) == []
    bad = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "x"},
           "volumeBindingMode": "Later", "reclaimPolicy": "Recycle"}
    assert messages(bad) == [
        "provisioner: Required value",
        'reclaimPolicy: Unsupported value: "Recycle": supported values: "Delete", "Retain"',
        'volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"',
    ]
    changed = copy.deepcopy(sc)
    changed["provisioner"] = "example.com/nfs"
    assert messages(changed, sc) == ["provisioner: Forbidden: updates to provisioner are forbidden."]


def test_defaults() -> None:
    c = claim()
    assert c["spec"]["volumeMode"] == "Filesystem" and c["status"] == {"phase": "Pending"}
    v = volume("v")
    assert v["spec"]["persistentVolumeReclaimPolicy"] == "Retain" and v["spec"]["hostPath"]["type"] == ""
    sc = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "x"}, "provisioner": "p"}
    apply_defaults(sc)
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Delete", "Immediate")


# --- DefaultStorageClass admission -----------------------------------------------------------------------------


def test_a_claim_without_a_class_gets_the_default_one() -> None:
    classes = [{"metadata": {"name": "slow", "creationTimestamp": "2026-01-01T00:00:00Z"}},
               {**copy.deepcopy(pvs.STANDARD_CLASS), "metadata": {
                   **pvs.STANDARD_CLASS["metadata"], "creationTimestamp": "2026-01-01T00:00:00Z"}}]
    c = claim()
    pvs.admit_claim(c, classes)
    assert c["spec"]["storageClassName"] == "standard"
    none = claim(storageClassName="")  # "" asks for no class: kept
    pvs.admit_claim(none, classes)
    assert none["spec"]["storageClassName"] == ""
    alone = claim()
    pvs.admit_claim(alone, classes[:1])  # no default class: left unset
    assert "storageClassName" not in alone["spec"]
    newer = {"metadata": {"name": "fast", "creationTimestamp": "2026-02-01T00:00:00Z",
                          "annotations": {pvs.DEFAULT_CLASS_ANNOTATION: "true"}}}
    two = claim()
    pvs.admit_claim(two, [*classes, newer])  # of two defaults, the newest
    assert two["spec"]["storageClassName"] == "fast"


# --- the binder ----------------------------------------------------------------------------------------------


def test_the_binder_picks_the_smallest_volume_that_fits() -> None:
    vols = [volume("big", "10Gi"), volume("small", "2Gi"), volume("tiny", "500Mi"),
            volume("rox", "1Gi", ["ReadOnlyMany"]), volume("gold", "1Gi", cls="gold")]
    assert pvs.find_matching_volume(claim(size="1Gi", storageClassName=""), vols)["metadata"]["name"] == "small"
    assert pvs.find_matching_volume(claim(size="1Gi", storageClassName="gold"), vols)["metadata"]["name"] == "gold"
    assert pvs.find_matching_volume(claim(size="20Gi", storageClassName=""), vols) is None
    taken = volume("taken", "1Gi", claimRef={"namespace": "default", "name": "other", "uid": "u"})
    assert pvs.find_matching_volume(claim(storageClassName=""), [taken]) is None


def test_the_binder_honours_selectors_pre_binding_and_delayed_binding() -> None:
    vols = [volume("a", "1Gi", labels={"tier": "a"}), volume("b", "1Gi", labels={"tier": "b"})]
    picky = claim(storageClassName="", selector={"matchLabels": {"tier": "b"}})
    assert pvs.find_matching_volume(picky, vols)["metadata"]["name"] == "b"
    pre = volume("pre", "5Gi", claimRef={"namespace": "default", "name": "data"})
    assert pvs.find_matching_volume(claim(storageClassName=""), [*vols, pre])["metadata"]["name"] == "pre"
    # WaitForFirstConsumer without a node: only a pre-bound volume
    assert pvs.find_matching_volume(claim(storageClassName=""), vols, delay_binding=True) is None
    n1 = {"metadata": {"name": "n1", "labels": {"kubernetes.io/hostname": "n1"}}}
    local = [volume("on-n2", node="n2"), volume("on-n1", node="n1")]
    assert pvs.find_matching_volume(claim(storageClassName=""), local, node=n1)["metadata"]["name"] == "on-n1"


# --- the local-path provisioner ------------------------------------------------------------------------------


def test_the_provisioner_names_the_volume_and_its_directory_as_local_path_provisioner() -> None:
    c = claim("www-web-0", storageClassName="standard")
    c["metadata"]["uid"] = "1234"
    assert pvs.provisioned_volume_name(c) == "pvc-1234"
    assert pvs.local_path("/var/local-path-provisioner/", c) == "/var/local-path-provisioner/pvc-1234_default_www-web-0"
    pv = pvs.provisioned_volume(c, pvs.STANDARD_CLASS, "n1", "/data/n1/local-path-provisioner")
    assert pv["spec"]["hostPath"] == {"path": "/data/n1/local-path-provisioner/pvc-1234_default_www-web-0",
                                      "type": "DirectoryOrCreate"}
    assert pv["spec"]["claimRef"]["uid"] == "1234" and pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]["values"] == ["n1"]
    apply_defaults(pv)
    assert messages(pv) == []
    assert pvs.node_local_path_dir(None) == "/var/local-path-provisioner"
    assert pvs.node_local_path_dir({"metadata": {"annotations": {pvs.LOCAL_PATH_DIR: "/d"}}}) == "/d"


# --- the kubelet's view --------------------------------------------------------------------------------------


def _bound() -> tuple[dict, dict]:
    c = claim(storageClassName="standard")
    pv = pvs.provisioned_volume(c, pvs.STANDARD_CLASS, "n1", "/base")
    c["spec"]["volumeName"] = pv["metadata"]["name"]
    c["status"] = {"phase": "Bound"}
    return c, pv


def test_a_bound_claim_gives_its_volumes_directory() -> None:
    c, pv = _bound()
    vol = {"name": "www", "persistentVolumeClaim": {"claimName": "data"}}
    claims, volumes = {"default/data": c}, {pv["metadata"]["name"]: pv}
    assert pvs.claim_host_path(vol, "default", claims, volumes) == "/base/pvc-uid-data_default_data"
    with pytest.raises(pvs.ClaimError, match='persistentvolumeclaim "data" not found'):
        pvs.claim_host_path(vol, "other", claims, volumes)
    pending = claim()
    with pytest.raises(pvs.ClaimError, match='persistentvolumeclaim "data" is not bound'):
        pvs.claim_host_path(vol, "default", {"default/data": pending}, volumes)
    with pytest.raises(pvs.ClaimError, match=f'persistentvolume "{pv["metadata"]["name"]}" not found'):
        pvs.claim_host_path(vol, "default", claims, {})


def test_the_kubelet_makes_and_reclaims_provisioned_directories(tmp_path: Path) -> None:
    c, pv = _bound()
    pv["spec"]["hostPath"]["path"] = str(tmp_path / "pvc-uid-data_default_data")
    assert pvs.prepare_claim_directory(pv) == pv["spec"]["hostPath"]["path"]
    assert Path(pv["spec"]["hostPath"]["path"]).is_dir()
    (tmp_path / "pvc-gone_default_old").mkdir()
    assert pvs.stale_claim_directories(str(tmp_path), [pv]) == [str(tmp_path / "pvc-gone_default_old")]


# --- the scheduler's VolumeBinding ----------------------------------------------------------------------------


def _node(name: str) -> NodeInfo:
    return NodeInfo({"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
                     "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}})


def _schedule(claims: dict[str, dict], volumes: list[dict], classes: list[dict]) -> object:
    storage = Storage(claim=lambda ns, n: claims.get(n), volume=lambda n: next(
        (v for v in volumes if v["metadata"]["name"] == n), None),
        storage_class=lambda n: next((c for c in classes if c["metadata"]["name"] == n), None),
        volumes=lambda: volumes)
    pod = {"metadata": {"name": "p", "namespace": "default", "uid": "p"},
           "spec": {"containers": [{"name": "c"}], "volumes": [
               {"name": "v", "persistentVolumeClaim": {"claimName": n}} for n in claims or {"missing": None}]}}
    nodes = [_node("n1"), _node("n2")]
    return Framework([VolumeBinding()]).schedule(pod, nodes, cluster=Cluster(nodes, storage=storage))


def test_volume_binding_sends_a_pod_to_its_volumes_node() -> None:
    c = claim(storageClassName="")
    c["spec"]["volumeName"] = "on-n2"
    res = _schedule({"data": c}, [volume("on-n2", node="n2")], [])
    assert res.node == "n2"


def test_volume_binding_rejects_pods_in_kube_schedulers_words() -> None:
    assert 'persistentvolumeclaim "missing" not found' in _schedule({}, [], []).message
    immediate = _schedule({"data": claim(storageClassName="")}, [], [])
    assert immediate.message.startswith(f"0/2 nodes are available: {UNBOUND_IMMEDIATE}.")
    c2 = claim(storageClassName="")
    c2["spec"]["volumeName"] = "on-n3"
    assert NODE_CONFLICT in _schedule({"data": c2}, [volume("on-n3", node="n3")], []).message
    manual = {"metadata": {"name": "manual"}, "provisioner": pvs.NO_PROVISIONER,
              "volumeBindingMode": "WaitForFirstConsumer"}
    assert BIND_CONFLICT in _schedule({"data": claim(storageClassName="manual")}, [], [manual]).message
    # the default class provisions anywhere
    assert _schedule({"data": claim(storageClassName="standard")}, [], [pvs.STANDARD_CLASS]).node in ("n1", "n2")


def test_kubectl_columns() -> None:
    c, pv = _bound()
    c["status"].update(capacity={"storage": "1Gi"}, accessModes=["ReadWriteOnce"])
    out = table("PersistentVolumeClaim", [c], now=None)
    assert out.splitlines()[0].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS",
                                           "VOLUMEATTRIBUTESCLASS", "AGE"]
    assert out.splitlines()[1].split()[:6] == ["data", "Bound", pv["metadata"]["name"], "1Gi", "RWO", "standard"]
    sc = table("StorageClass", [pvs.STANDARD_CLASS], now=None).splitlines()[1]
    assert sc.split("   ")[:2] == ["standard (default)", "rancher.io/local-path"]
    assert sc.split()[3:6] == ["Delete", "WaitForFirstConsumer", "false"]
    assert pvs.access_modes_string(["ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod", "ReadOnlyMany"]) == \
        "RWO,ROX,RWX,RWOP"
