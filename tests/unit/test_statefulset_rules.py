"""StatefulSets: defaults, validation in kube-apiserver's words, and the controller's decisions (with a fake
pod control, as stateful_set_control_test.go drives it), the revision history and kubectl's rollout status."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from control.api.defaults import apply_defaults
from control.api.validation import validate
from control.controllers import history
from control.controllers import statefulset as ssc
from tui.printers import describe
from tui.printers.table import rows


def sts(name: str = "web", replicas: int = 3, **spec: Any) -> dict:
    obj = {
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "generation": 1},
        "spec": {"replicas": replicas, "serviceName": "nginx", "selector": {"matchLabels": {"app": "nginx"}},
                 "template": {"metadata": {"labels": {"app": "nginx"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}, **spec},
    }
    apply_defaults(obj)
    return obj


def messages(obj: dict, old: dict | None = None) -> list[str]:
    errs, _ = validate(obj, old)
    return [str(e) for e in errs]


# --- defaults and validation ----------------------------------------------------------------------------


def test_defaults_are_kubernetes_ones() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
           "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}},
                    "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]}}
    apply_defaults(obj)
    spec = obj["spec"]
    assert spec["replicas"] == 1
    assert spec["podManagementPolicy"] == "OrderedReady"
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    assert spec["template"]["spec"]["restartPolicy"] == "Always"
    claim = spec["volumeClaimTemplates"][0]
    assert list(claim)[:2] == ["apiVersion", "kind"] and claim["kind"] == "PersistentVolumeClaim"
    assert claim["spec"]["volumeMode"] == "Filesystem" and claim["status"] == {"phase": "Pending"}


def test_an_explicit_rolling_update_without_parameters_gets_no_partition() -> None:
    # SetDefaults_StatefulSet only fills rollingUpdate when it defaulted the type
    obj = sts(updateStrategy={"type": "RollingUpdate"})
    assert obj["spec"]["updateStrategy"] == {"type": "RollingUpdate"}
    assert messages(obj) == []


def test_a_valid_statefulset_with_claim_templates_passes_without_a_warning() -> None:
    # the claims are made and bound now (control/controllers/persistentvolume.py): nothing to warn about
    obj = sts(volumeClaimTemplates=[{"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"]}}],
              persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete", "whenScaled": "Delete"})
    errs, warns = validate(obj)
    assert errs == []
    assert not any("volumeClaimTemplates" in w or "RetentionPolicy" in w for w in warns)


@pytest.mark.parametrize("change, expected", [
    (lambda s: s["spec"].update(selector={"matchLabels": {"app": "other"}}),
     "spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"),
    (lambda s: s["spec"].update(selector={}), "spec.selector: Invalid value: empty selector is invalid for statefulset"),
    (lambda s: s["spec"].pop("selector"), "spec.selector: Required value"),
    (lambda s: s["spec"].update(selector={"matchLabels": {"app": "bad value!"}}),
     'spec.selector.matchLabels: Invalid value: "bad value!"'),
    (lambda s: s["spec"].update(podManagementPolicy="Sometimes"),
     "spec.podManagementPolicy: Invalid value: \"Sometimes\": must be 'OrderedReady' or 'Parallel'"),
    (lambda s: s["spec"].update(updateStrategy={"type": "Recreate"}),
     "spec.updateStrategy: Invalid value: \"Recreate\": must be 'RollingUpdate' or 'OnDelete'"),
    (lambda s: s["spec"].update(updateStrategy={"type": "OnDelete", "rollingUpdate": {"partition": 1}}),
     "spec.updateStrategy.rollingUpdate: Invalid value: only allowed for updateStrategy 'RollingUpdate'"),
    (lambda s: s["spec"].update(updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": -1}}),
     "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0"),
    (lambda s: s["spec"].update(replicas=-1), "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    (lambda s: s["spec"].update(ordinals={"start": -2}),
     "spec.ordinals.start: Invalid value: -2: must be greater than or equal to 0"),
    (lambda s: s["spec"].update(persistentVolumeClaimRetentionPolicy={"whenDeleted": "Keep", "whenScaled": "Retain"}),
     'spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: "Retain", "Delete"'),
    (lambda s: s["spec"]["template"]["spec"].update(restartPolicy="Never"),
     'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'),
    (lambda s: s["spec"]["template"]["spec"].update(activeDeadlineSeconds=5),
     "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in StatefulSet is not Supported"),
    (lambda s: s["metadata"].update(name="web.v1"), 'metadata.name: Invalid value: "web.v1": a lowercase RFC 1123 label'),
    (lambda s: s["spec"].update(serviceName="Nginx"), 'spec.serviceName: Invalid value: "Nginx": a lowercase RFC 1123 label'),
])
def test_bad_statefulsets_are_refused_in_kube_apiserver_words(change: Any, expected: str) -> None:
    obj = sts()
    change(obj)
    got = messages(obj)
    assert any(m.startswith(expected) for m in got), got


def test_only_the_mutable_fields_may_change() -> None:
    old = sts()
    for key, value in (("replicas", 5), ("minReadySeconds", 3), ("ordinals", {"start": 1}),
                       ("updateStrategy", {"type": "OnDelete"}),
                       ("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Delete", "whenScaled": "Retain"})):
        new = copy.deepcopy(old)
        new["spec"][key] = value
        assert messages(new, old) == [], key
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    assert messages(new, old) == []
    forbidden = ("spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                 "'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden")
    for key, value in (("serviceName", "other"), ("podManagementPolicy", "Parallel"), ("revisionHistoryLimit", 3),
                       ("volumeClaimTemplates", [{"metadata": {"name": "www"}}])):
        new = copy.deepcopy(old)
        new["spec"][key] = value
        assert messages(new, old) == [forbidden], key
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "nginx", "tier": "web"}}
    new["spec"]["template"]["metadata"]["labels"]["tier"] = "web"
    assert messages(new, old) == [forbidden]


def test_status_counts_are_checked_on_update() -> None:
    old = sts()
    new = copy.deepcopy(old)
    new["status"] = {"replicas": 1, "readyReplicas": 2, "collisionCount": 0}
    old["status"] = {"collisionCount": 1}
    got = messages(new, old)
    assert "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas" in got
    assert "status.collisionCount: Invalid value: 0: cannot be decremented" in got


def test_controllerrevision_data_is_required_and_immutable() -> None:
    rev = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "web-abc", "namespace": "default"},
           "revision": 1}
    assert messages(rev) == ["data: Required value: data is mandatory"]
    rev["data"] = {"spec": {}}
    new = copy.deepcopy(rev)
    new["data"] = {"spec": {"template": {}}}
    assert messages(new, rev) == ["data: Invalid value: field is immutable"]
    new = copy.deepcopy(rev)
    new["revision"] = 4
    assert messages(new, rev) == []


# --- the controller's decisions ---------------------------------------------------------------------------


class FakePods:
    """A StatefulPodControl over a dict of pods: created pods are Pending, deleted ones terminating."""

    def __init__(self) -> None:
        self.pods: dict[str, dict] = {}
        self.log: list[str] = []
        self.events: list[tuple[str, str, str]] = []

    async def create(self, sts: dict, pod: dict) -> None:
        pod = copy.deepcopy(pod)
        pod["status"] = {"phase": "Pending"}
        self.pods[pod["metadata"]["name"]] = pod
        self.log.append(f"create {pod['metadata']['name']}")

    async def delete(self, sts: dict, pod: dict) -> None:
        name = pod["metadata"]["name"]
        self.pods[name]["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
        self.log.append(f"delete {name}")

    async def update_identity(self, sts: dict, pod: dict) -> None:
        self.log.append(f"update {pod['metadata']['name']}")

    async def create_missing_claims(self, sts: dict, pod: dict) -> None:
        self.log.append(f"claims {pod['metadata']['name']}")

    async def claims_follow_pod(self, sts: dict, pod: dict) -> None:
        self.log.append(f"claims follow {pod['metadata']['name']}")

    def event(self, sts: dict, type_: str, reason: str, message: str) -> None:
        self.events.append((type_, reason, message))

    def ready(self, *names: str) -> None:
        for n in names:
            self.pods[n]["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}

    def gone(self) -> None:
        """The kubelet finished every terminating pod."""
        self.pods = {n: p for n, p in self.pods.items() if not p["metadata"].get("deletionTimestamp")}

    def list(self) -> list[dict]:
        return [copy.deepcopy(p) for p in self.pods.values()]


def revisions_of(*sets: dict) -> ssc.Revisions:
    """current = the first set's template, update = the last's."""
    revs = [history.new_revision(s, {}, ssc.revision_data(s), i + 1, 0) for i, s in enumerate(sets)]
    return ssc.Revisions(revs[0], revs[-1], 0)


async def step(obj: dict, fake: FakePods, revs: ssc.Revisions | None = None) -> dict:
    return await ssc.update_statefulset(obj, revs or revisions_of(obj), fake.list(), fake)


async def test_ordered_ready_creates_one_pod_at_a_time_in_order() -> None:
    obj, fake = sts(), FakePods()
    await step(obj, fake)
    assert fake.log == ["create web-0"]
    await step(obj, fake)  # web-0 is Pending: wait
    assert fake.log == ["create web-0"]
    fake.ready("web-0")
    status = await step(obj, fake)
    assert fake.log == ["create web-0", "create web-1"]
    assert status["replicas"] == 1 and status["readyReplicas"] == 1
    fake.ready("web-1")
    await step(obj, fake)
    fake.ready("web-2")
    status = await step(obj, fake)
    assert fake.log == ["create web-0", "create web-1", "create web-2"]
    assert (status["replicas"], status["readyReplicas"], status["availableReplicas"]) == (3, 3, 3)
    assert status["currentRevision"] == status["updateRevision"] and status["currentReplicas"] == 3
    pod = fake.pods["web-1"]
    assert pod["spec"]["hostname"] == "web-1" and pod["spec"]["subdomain"] == "nginx"
    labels = pod["metadata"]["labels"]
    assert labels[ssc.POD_NAME_LABEL] == "web-1" and labels[ssc.POD_INDEX_LABEL] == "1"
    assert labels[ssc.REVISION_LABEL] == status["updateRevision"] and labels["app"] == "nginx"
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    assert "generateName" not in pod["metadata"]


async def test_parallel_creates_every_pod_at_once() -> None:
    obj, fake = sts(replicas=4, podManagementPolicy="Parallel"), FakePods()
    await step(obj, fake)
    assert sorted(fake.log) == ["create web-0", "create web-1", "create web-2", "create web-3"]


async def test_ordinals_start_moves_the_names() -> None:
    obj, fake = sts(replicas=2, podManagementPolicy="Parallel", ordinals={"start": 5}), FakePods()
    await step(obj, fake)
    assert sorted(fake.log) == ["create web-5", "create web-6"]


async def test_scale_down_from_the_highest_ordinal_one_at_a_time() -> None:
    obj, fake = sts(), FakePods()
    for name in ("web-0", "web-1", "web-2"):
        await step(obj, fake)
        fake.ready(name)
    fake.log.clear()
    obj["spec"]["replicas"] = 1
    await step(obj, fake)
    assert fake.log == ["delete web-2"]
    await step(obj, fake)  # web-2 still terminating: web-1 waits
    assert fake.log == ["delete web-2"]
    fake.gone()
    await step(obj, fake)
    assert fake.log == ["delete web-2", "delete web-1"]


async def test_scale_down_waits_for_unhealthy_pods_in_order() -> None:
    obj, fake = sts(), FakePods()
    for name in ("web-0", "web-1", "web-2"):
        await step(obj, fake)
        fake.ready(name)
    fake.pods["web-0"]["status"] = {"phase": "Running"}  # not ready
    fake.log.clear()
    obj["spec"]["replicas"] = 2
    await step(obj, fake)
    assert fake.log == []  # OrderedReady: web-0 must be Ready before anything is removed


async def test_a_failed_pod_is_recreated_under_its_name() -> None:
    obj, fake = sts(replicas=1), FakePods()
    await step(obj, fake)
    fake.pods["web-0"]["status"] = {"phase": "Failed"}
    fake.log.clear()

    async def delete_now(s: dict, pod: dict) -> None:  # a failed pod is deleted at once by the API server
        del fake.pods[pod["metadata"]["name"]]
        fake.log.append(f"delete {pod['metadata']['name']}")

    fake.delete = delete_now  # type: ignore[method-assign]
    await step(obj, fake)
    assert fake.log == ["delete web-0", "create web-0"]
    assert fake.events == [("Warning", "RecreatingFailedPod", "StatefulSet default/web is recreating failed Pod web-0")]


async def test_rolling_update_goes_from_the_highest_ordinal_down_to_the_partition() -> None:
    old, fake = sts(), FakePods()
    for name in ("web-0", "web-1", "web-2"):
        await step(old, fake)
        fake.ready(name)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    new["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 1
    revs = revisions_of(old, new)
    fake.log.clear()
    await step(new, fake, revs)
    assert fake.log == ["delete web-2"]
    fake.gone()
    await step(new, fake, revs)
    assert fake.log == ["delete web-2", "create web-2"]
    assert fake.pods["web-2"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert fake.pods["web-2"]["metadata"]["labels"][ssc.REVISION_LABEL] == revs.update["metadata"]["name"]
    await step(new, fake, revs)  # web-2 not ready yet: nothing else moves
    assert fake.log == ["delete web-2", "create web-2"]
    fake.ready("web-2")
    await step(new, fake, revs)
    assert fake.log == ["delete web-2", "create web-2", "delete web-1"]
    fake.gone()
    await step(new, fake, revs)
    fake.ready("web-1")
    status = await step(new, fake, revs)
    # web-0 is below the partition: it stays at the current revision
    assert fake.log == ["delete web-2", "create web-2", "delete web-1", "create web-1"]
    assert (status["currentReplicas"], status["updatedReplicas"]) == (1, 2)
    # and a deleted pod below the partition comes back at the current revision
    await fake.delete(new, fake.pods["web-0"])
    fake.gone()
    await step(new, fake, revs)
    assert fake.pods["web-0"]["spec"]["containers"][0]["image"] == "nginx:1.27"


async def test_on_delete_replaces_only_deleted_pods() -> None:
    old, fake = sts(replicas=2, updateStrategy={"type": "OnDelete"}), FakePods()
    for name in ("web-0", "web-1"):
        await step(old, fake)
        fake.ready(name)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    revs = revisions_of(old, new)
    fake.log.clear()
    await step(new, fake, revs)
    assert fake.log == []
    await fake.delete(new, fake.pods["web-1"])
    fake.gone()
    await step(new, fake, revs)
    assert fake.pods["web-1"]["spec"]["containers"][0]["image"] == "nginx:1.28"


async def test_a_pod_that_lost_its_identity_labels_gets_them_back() -> None:
    obj, fake = sts(replicas=1), FakePods()
    await step(obj, fake)
    fake.ready("web-0")
    del fake.pods["web-0"]["metadata"]["labels"][ssc.POD_INDEX_LABEL]
    fake.log.clear()
    await step(obj, fake)
    assert fake.log == ["update web-0"]


async def test_a_terminating_set_acts_on_nothing() -> None:
    obj, fake = sts(), FakePods()
    obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    await step(obj, fake)
    assert fake.log == []


def test_complete_rolling_update_makes_the_update_revision_current() -> None:
    obj = sts()
    status = {"replicas": 3, "readyReplicas": 3, "updatedReplicas": 3, "currentReplicas": 0,
              "currentRevision": "web-a", "updateRevision": "web-b"}
    ssc.complete_rolling_update(obj, status)
    assert status["currentRevision"] == "web-b" and status["currentReplicas"] == 3


def test_pod_names_and_ordinals() -> None:
    obj = sts()
    assert ssc.parent_and_ordinal({"metadata": {"name": "web-12"}}) == ("web", 12)
    assert ssc.parent_and_ordinal({"metadata": {"name": "my-web-3"}}) == ("my-web", 3)
    assert ssc.ordinal_of({"metadata": {"name": "web"}}) == -1
    assert ssc.is_member_of(obj, {"metadata": {"name": "web-0"}})
    assert not ssc.is_member_of(obj, {"metadata": {"name": "webby-0"}})


def test_claim_templates_become_the_pods_volumes() -> None:
    obj = sts(volumeClaimTemplates=[{"metadata": {"name": "www"}, "spec": {}}])
    obj["spec"]["template"]["spec"]["volumes"] = [{"name": "www", "emptyDir": {}}, {"name": "cfg", "emptyDir": {}}]
    pod = ssc.new_pod(obj, 2)
    assert pod["spec"]["volumes"] == [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-2"}},
                                      {"name": "cfg", "emptyDir": {}}]


def test_truncate_keeps_live_revisions_and_the_history_limit() -> None:
    obj = sts(revisionHistoryLimit=1)
    revs = [{"metadata": {"name": f"web-{i}"}, "revision": i} for i in range(1, 6)]
    pods = [{"metadata": {"name": "web-0", "labels": {ssc.REVISION_LABEL: "web-2"}}}]
    gone = ssc.truncate_candidates(obj, pods, revs, revs[3], revs[4])
    assert [r["metadata"]["name"] for r in gone] == ["web-1"]


# --- revisions ----------------------------------------------------------------------------------------------


def test_revision_names_hashes_and_collisions() -> None:
    obj = sts()
    rev = history.new_revision(obj, {"app": "nginx"}, ssc.revision_data(obj), 1, 0)
    hash_ = rev["metadata"]["labels"][history.HASH_LABEL]
    assert rev["metadata"]["name"] == f"web-{hash_}"
    assert rev["data"]["spec"]["template"]["$patch"] == "replace"
    assert rev["metadata"]["ownerReferences"][0]["controller"] is True
    assert history.hash_revision(rev["data"], 1) != hash_  # the collision count changes the name
    assert history.fnv32(b"") == 0x811C9DC5 and history.fnv32(b"a") == 0x050C5D7E  # FNV-1, not FNV-1a
    applied = ssc.apply_revision(obj, rev)
    assert applied["spec"]["template"] == obj["spec"]["template"]


def test_rollout_status_lines_are_kubectls() -> None:
    obj = sts()
    obj["status"] = {"observedGeneration": 1, "replicas": 3, "readyReplicas": 1}
    assert ssc.rollout_status(obj) == (False, "Waiting for 2 pods to be ready...")
    obj["status"].update(readyReplicas=3, updatedReplicas=3)
    assert ssc.rollout_status(obj) == (True, "partitioned roll out complete: 3 new pods have been updated...")
    obj["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 1
    obj["status"]["updatedReplicas"] = 1
    assert ssc.rollout_status(obj) == (
        False, "Waiting for partitioned roll out to finish: 1 out of 2 new pods have been updated...")
    obj["metadata"]["generation"] = 2
    assert ssc.rollout_status(obj) == (False, "Waiting for statefulset spec update to be observed...")
    obj["spec"]["updateStrategy"] = {"type": "OnDelete"}
    with pytest.raises(ValueError, match="only available for RollingUpdate"):
        ssc.rollout_status(obj)


# --- kubectl's printing ---------------------------------------------------------------------------------------


def test_get_and_describe_columns() -> None:
    obj = sts(volumeClaimTemplates=[{"metadata": {"name": "www"},
                                     "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}])
    obj["status"] = {"replicas": 3, "readyReplicas": 2}
    obj["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z"
    header, body = rows("sts", [obj], wide=True, now=1767225660.0)
    assert header == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]
    assert body == [["web", "2/3", "60s", "nginx", "nginx:1.27"]]
    rev = {"metadata": {"name": "web-abc", "creationTimestamp": "2026-01-01T00:00:00Z",
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": True}]},
           "revision": 2}
    assert rows("controllerrevisions", [rev], now=1767225660.0) == (
        ["NAME", "CONTROLLER", "REVISION", "AGE"], [["web-abc", "statefulset.apps/web", "2", "60s"]])
    text = describe(obj, [], now=1767225660.0, pods=[{"status": {"phase": "Running"}}, {"status": {"phase": "Pending"}}])
    for line in ("Replicas:           3 desired | 3 total", "Update Strategy:    RollingUpdate",
                 "  Partition:        0", "Pods Status:        1 Running / 1 Waiting / 0 Succeeded / 0 Failed",
                 "Volume Claims:", "  Capacity:      1Gi", "  Access Modes:  [ReadWriteOnce]"):
        assert line in text.splitlines(), (line, text)


def test_discovery_lists_statefulsets_with_their_subresources() -> None:
    from control.apiserver.discovery import resource_list

    listed = {r["name"]: r for r in resource_list("apps/v1")["resources"]}
    sts_entry = listed["statefulsets"]
    assert sts_entry["kind"] == "StatefulSet" and sts_entry["shortNames"] == ["sts"] and sts_entry["categories"] == ["all"]
    assert listed["statefulsets/scale"]["kind"] == "Scale" and "statefulsets/status" in listed
    assert listed["controllerrevisions"]["kind"] == "ControllerRevision" and "shortNames" not in listed["controllerrevisions"]


# --- the pods' revisions, the end of a rollout, the history (stateful_set_utils.go, truncateHistory) --------


async def test_a_pod_below_the_partition_comes_back_at_the_current_revision_with_ordinals_start() -> None:
    # newVersionedStatefulSetPod: the partition counts from spec.ordinals.start, as the rolling update's
    # loop over replicas[partition:] does; web-5 and web-6 (indices 0 and 1) are below partition 2
    old, fake = sts(podManagementPolicy="Parallel", ordinals={"start": 5}), FakePods()
    await step(old, fake)
    fake.ready("web-5", "web-6", "web-7")
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    new["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 2
    revs = revisions_of(old, new)
    fake.log.clear()
    await step(new, fake, revs)
    assert fake.log == ["delete web-7"]  # only index 2 is at or above the partition
    fake.gone()
    await fake.delete(new, fake.pods["web-5"])  # someone deletes a pod below the partition
    fake.gone()
    await step(new, fake, revs)
    assert sorted(fake.log[1:]) == ["create web-5", "create web-7", "delete web-5"]
    assert fake.pods["web-5"]["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert fake.pods["web-5"]["metadata"]["labels"][ssc.REVISION_LABEL] == revs.current["metadata"]["name"]
    assert fake.pods["web-7"]["spec"]["containers"][0]["image"] == "nginx:1.28"


async def test_without_rolling_update_parameters_a_recreated_pod_counts_current_replicas_from_the_start() -> None:
    old = sts(replicas=2, updateStrategy={"type": "RollingUpdate"}, ordinals={"start": 3})
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    new["status"] = {"currentReplicas": 1}
    revs = revisions_of(old, new)
    current_set, update_set = ssc.apply_revision(new, revs.current), ssc.apply_revision(new, revs.update)
    pod = ssc.new_versioned_pod(current_set, update_set, "web-a", "web-b", 3)
    assert pod["metadata"]["labels"][ssc.REVISION_LABEL] == "web-a"  # ordinal 3 < start 3 + 1 current replica
    pod = ssc.new_versioned_pod(current_set, update_set, "web-a", "web-b", 4)
    assert pod["metadata"]["labels"][ssc.REVISION_LABEL] == "web-b"


async def test_the_rollout_is_not_complete_while_the_last_pod_is_being_made_again() -> None:
    # completeRollingUpdate compares with spec.replicas: when web-0, the last old pod, is gone and made again,
    # the two pods the status counts are updated and ready, but the rollout is not done until web-0 is
    old, fake = sts(), FakePods()
    for name in ("web-0", "web-1", "web-2"):
        await step(old, fake)
        fake.ready(name)
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.28"
    revs = revisions_of(old, new)
    for name in ("web-2", "web-1"):
        await step(new, fake, revs)  # delete
        fake.gone()
        await step(new, fake, revs)  # create
        fake.ready(name)
    await step(new, fake, revs)
    assert fake.log[-1] == "delete web-0"
    fake.gone()
    status = await step(new, fake, revs)
    assert fake.log[-1] == "create web-0"
    assert (status["replicas"], status["updatedReplicas"], status["readyReplicas"]) == (2, 2, 2)
    ssc.complete_rolling_update(new, status)
    assert status["currentRevision"] == revs.current["metadata"]["name"]
    fake.ready("web-0")
    status = await step(new, fake, revs)
    ssc.complete_rolling_update(new, status)
    assert status["currentRevision"] == revs.update["metadata"]["name"] and status["currentReplicas"] == 3


def test_a_negative_history_limit_keeps_every_revision() -> None:
    # truncateHistory: historyLimit < 0 deletes nothing (kube-apiserver 1.30 accepts a negative limit)
    obj = sts(revisionHistoryLimit=-1)
    revs = [{"metadata": {"name": f"web-{i}"}, "revision": i} for i in range(1, 6)]
    assert ssc.truncate_candidates(obj, [], revs, revs[4], revs[4]) == []


def test_a_revision_carries_the_sets_annotations() -> None:
    # newRevision copies the set's annotations: kubectl rollout history reads kubernetes.io/change-cause there
    obj = sts()
    obj["metadata"]["annotations"] = {"kubernetes.io/change-cause": "kubectl set image sts/web nginx=nginx:1.28"}
    rev = ssc.new_revision(obj, 2, 0)
    assert rev["metadata"]["annotations"] == obj["metadata"]["annotations"]
    assert rev["revision"] == 2 and rev["metadata"]["labels"]["app"] == "nginx"
    assert rev["metadata"]["name"] == history.new_revision(obj, {"app": "nginx"}, ssc.revision_data(obj), 2, 0)[
        "metadata"]["name"]  # the annotations are not hashed
