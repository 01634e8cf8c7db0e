"""Pod volumes on a node: the AtomicWriter's layout, the items/mode/optional logic of configMap, secret and
downwardAPI volumes, hostPath's type checks, validation of volume mounts, and the shim's mount namespace
(including a host where none can be created)."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from control.api.validation import validate
from control.errors import invalid
from nodes.runtime import shim
from nodes.runtime.shim import enter_mounts
from nodes.volumes import (
    FileProjection,
    MountError,
    PodVolumes,
    atomic_write,
    check_host_path,
    configmap_payload,
    downward_payload,
    secret_payload,
)


def test_atomic_writer_layout_update_and_removal(tmp_path: Path) -> None:
    target = tmp_path / "vol"
    assert atomic_write(target, {"a": FileProjection(b"1", 0o644), "dir/b": FileProjection(b"2", 0o400)})
    first = os.readlink(target / "..data")
    assert first.startswith("..20") and (target / first).is_dir()
    assert os.readlink(target / "a") == "..data/a" and os.readlink(target / "dir") == "..data/dir"
    assert (target / "dir" / "b").read_bytes() == b"2"
    assert stat.S_IMODE((target / "dir" / "b").stat().st_mode) == 0o400
    assert stat.S_IMODE((target / first).stat().st_mode) == 0o755
    assert not atomic_write(target, {"a": FileProjection(b"1", 0o644), "dir/b": FileProjection(b"2", 0o400)})
    assert os.readlink(target / "..data") == first  # unchanged: nothing written
    assert atomic_write(target, {"a": FileProjection(b"changed", 0o644)})
    second = os.readlink(target / "..data")
    assert second != first and not (target / first).exists()
    assert (target / "a").read_bytes() == b"changed"
    assert not os.path.lexists(target / "dir")  # gone from the payload: its symlink goes
    assert sorted(os.listdir(target)) == sorted(["..data", second, "a"])
    with pytest.raises(ValueError, match=r"invalid path: must not contain '\.\.': x/../y"):
        atomic_write(target, {"x/../y": FileProjection(b"", 0o644)})
    with pytest.raises(ValueError, match="must not start with '..'"):
        atomic_write(target, {"..a": FileProjection(b"", 0o644)})


def test_configmap_and_secret_payloads_items_modes_and_optional() -> None:
    cm = {"data": {"a": "1", "b": "2"}, "binaryData": {"bin": base64.b64encode(b"\x00\x01").decode()}}
    assert configmap_payload({"name": "c"}, cm) == {"a": FileProjection(b"1", 0o644), "b": FileProjection(b"2", 0o644),
                                                    "bin": FileProjection(b"\x00\x01", 0o644)}
    items = {"name": "c", "defaultMode": 0o600, "items": [{"key": "a", "path": "x/a.txt"}, {"key": "b", "path": "b",
                                                                                          "mode": 0o444}]}
    assert configmap_payload(items, cm) == {"x/a.txt": FileProjection(b"1", 0o600), "b": FileProjection(b"2", 0o444)}
    with pytest.raises(ValueError, match="^configmap references non-existent config key: nope$"):
        configmap_payload({"name": "c", "items": [{"key": "nope", "path": "p"}]}, cm)
    assert configmap_payload({"name": "c", "optional": True, "items": [{"key": "nope", "path": "p"}]}, cm) == {}
    secret = {"data": {"password": base64.b64encode(b"s3cr3t").decode()}}
    assert secret_payload({"secretName": "s"}, secret) == {"password": FileProjection(b"s3cr3t", 0o644)}
    with pytest.raises(ValueError, match="^secret references non-existent secret key: user$"):
        secret_payload({"secretName": "s", "items": [{"key": "user", "path": "u"}]}, secret)


def test_downward_api_payload_formats_labels_like_the_kubelet() -> None:
    pod = {"metadata": {"name": "p", "namespace": "ns", "labels": {"zone": "us-est-coast", "cluster": "test-cluster1"},
                        "annotations": {"build": "two"}},
           "spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": "500m"}}}]}}
    items = [{"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
             {"path": "name", "fieldRef": {"fieldPath": "metadata.name"}, "mode": 0o400},
             {"path": "cpu_limit", "resourceFieldRef": {"containerName": "c", "resource": "limits.cpu", "divisor": "1m"}}]
    payload = downward_payload(items, pod, 0o644, pod_ip="10.0.0.1", host_ip="127.0.0.1", allocatable={})
    assert payload["labels"] == FileProjection(b'cluster="test-cluster1"\nzone="us-est-coast"', 0o644)
    assert payload["name"] == FileProjection(b"p", 0o400)
    assert payload["cpu_limit"].data == b"500"


def test_host_path_type_checks_are_worded_like_the_kubelet(tmp_path: Path) -> None:
    made = tmp_path / "made" / "dir"
    check_host_path(str(made), "DirectoryOrCreate")
    assert made.is_dir()
    check_host_path(str(tmp_path / "f"), "FileOrCreate")
    assert (tmp_path / "f").is_file()
    with pytest.raises(ValueError) as e:
        check_host_path(str(tmp_path / "f"), "Directory")
    assert str(e.value) == f"hostPath type check failed: {tmp_path / 'f'} is not a directory, it's a File"
    with pytest.raises(ValueError) as e:
        check_host_path(str(tmp_path / "absent"), "Socket")
    assert str(e.value) == f"hostPath {tmp_path / 'absent'} doesn't exist"
    with pytest.raises(ValueError, match="is not a character device, it's a Directory"):
        check_host_path(str(made), "CharDevice")


async def test_pod_volumes_fail_the_mount_for_a_missing_configmap_and_resolve_sub_paths(tmp_path: Path) -> None:
    objects: dict[tuple[str, str], dict] = {}

    async def fetch(kind: str, ns: str, name: str) -> dict | None:
        return objects.get((kind, name))

    pod = {"metadata": {"name": "p", "namespace": "default", "uid": "u1"},
           "spec": {"volumes": [{"name": "config", "configMap": {"name": "x"}}, {"name": "cache", "emptyDir": {}},
                                {"name": "claim", "persistentVolumeClaim": {"claimName": "c"}}]}}
    volumes = PodVolumes(pod, tmp_path / "u1", fetch, pod_ip="10.0.0.1", host_ip="127.0.0.1", allocatable={})
    failed = await volumes.set_up()
    assert [str(e) for e in failed] == ['MountVolume.SetUp failed for volume "config" : configmap "x" not found',
                                        'MountVolume.SetUp failed for volume "claim" : persistentvolumeclaim "c" not found']
    assert isinstance(failed[0], MountError)
    objects[("ConfigMap", "x")] = {"kind": "ConfigMap", "data": {"k": "v"}}
    objects[("PersistentVolumeClaim", "c")] = {"kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "default"},
                                               "spec": {"volumeName": "pv-1"}, "status": {"phase": "Pending"}}
    assert [str(e) for e in await volumes.set_up()] == [
        'MountVolume.SetUp failed for volume "claim" : persistentvolumeclaim "c" is not bound']
    # bound: the claim is its volume's directory, made as DirectoryOrCreate asks
    objects[("PersistentVolumeClaim", "c")]["status"]["phase"] = "Bound"
    data = tmp_path / "local-path" / "pvc-1_default_c"
    objects[("PersistentVolume", "pv-1")] = {"kind": "PersistentVolume", "metadata": {"name": "pv-1"},
                                             "spec": {"claimRef": {"namespace": "default", "name": "c"},
                                                      "hostPath": {"path": str(data), "type": "DirectoryOrCreate"}}}
    assert await volumes.set_up() == []
    assert volumes.paths["claim"] == str(data) and data.is_dir()
    cache = tmp_path / "u1" / "volumes" / "kubernetes.io~empty-dir" / "cache"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o777
    container = {"name": "c", "volumeMounts": [
        {"name": "config", "mountPath": "/etc/config"}, {"name": "cache", "mountPath": "/c", "subPathExpr": "$(POD)/x"},
        {"name": "claim", "mountPath": "/claim"}]}
    assert volumes.mounts(container, {"POD": "p"}) == [
        {"source": str(tmp_path / "u1" / "volumes" / "kubernetes.io~configmap" / "config"), "target": "/etc/config",
         "readOnly": True},
        {"source": str(cache / "p" / "x"), "target": "/c", "readOnly": False, "volume": str(cache)},
        {"source": str(data), "target": "/claim", "readOnly": False}]
    assert (cache / "p" / "x").is_dir()
    os.symlink("/etc", cache / "escape")
    with pytest.raises(Exception, match='failed to prepare subPath for volumeMount "cache" of container "c"'):
        volumes.mounts({"name": "c", "volumeMounts": [{"name": "cache", "mountPath": "/e", "subPath": "escape"}]}, {})
    volumes.tear_down()
    assert not (tmp_path / "u1").exists()


def _pod(mounts: list[dict], volumes: list[dict]) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "volumeMounts": mounts}], "volumes": volumes}}


def test_validation_of_mounts_and_volume_files() -> None:
    errs, _ = validate(_pod([{"name": "v", "mountPath": "/a", "subPath": "../x"},
                             {"name": "v", "mountPath": "/b", "subPath": "/abs", "subPathExpr": "y"},
                             {"name": "nope", "mountPath": "/c"}],
                            [{"name": "v", "configMap": {"name": "c", "defaultMode": 1000,
                                                         "items": [{"key": "k", "path": "..k"}]}},
                             {"name": "h", "hostPath": {"path": "/x", "type": "Dir"}}]))
    message = invalid("Pod", "p", errs).message
    for part in (
        """spec.containers[0].volumeMounts.subPath: Invalid value: "../x": must not contain '..'""",
        'spec.containers[0].volumeMounts.subPath: Invalid value: "/abs": must be a relative path',
        'spec.containers[0].volumeMounts[1].subPathExpr: Invalid value: "y": subPathExpr and subPath are mutually '
        "exclusive",
        'spec.containers[0].volumeMounts[2].name: Not found: "nope"',
        "spec.volumes[0].configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), "
        "both inclusive",
        """spec.volumes[0].configMap.items[0].path: Invalid value: "..k": must not start with '..'""",
        'spec.volumes[1].hostPath.type: Unsupported value: "Dir": supported values: "", "BlockDevice", "CharDevice", '
        '"Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"',
    ):
        assert part in message, message


def test_shim_runs_without_mounts_when_unshare_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A host that refuses mount namespaces: the container still starts, and the shim says why it has no mounts
    (the kubelet turns that into a Warning event)."""
    def refuse(flags: int) -> int:
        import ctypes
        ctypes.set_errno(1)  # EPERM
        return -1

    # the shim's own import of mountns (it is run as a script, beside it): the one it calls
    monkeypatch.setattr(shim.mountns._libc, "unshare", refuse)
    spec = json.dumps({"root": str(tmp_path / "root"), "mounts": [{"source": str(tmp_path), "target": "/x",
                                                                    "readOnly": False}]})
    assert enter_mounts(spec) == ("unshare: operation not permitted", None)
    assert not (tmp_path / "root").exists()  # nothing was done
    assert enter_mounts("-") == (None, None)


def test_container_view_leaves_the_host_alone(tmp_path: Path) -> None:
    """The shim's namespace, run for real in a child: the volume is at a mountPath the host does not have,
    read-only, and nothing is mounted or created on the host after."""
    vol = tmp_path / "vol"
    vol.mkdir()
    (vol / "k").write_text("v")
    before = Path("/proc/self/mountinfo").read_text().count("\n")
    script = (
        "import sys, os; sys.path.insert(0, sys.argv[1]); from nodes.runtime import mountns;"
        "mountns.enter(sys.argv[2], [{'source': sys.argv[3], 'target': '/etc/kube-tui-test/config', 'readOnly': True}]);"
        "print(open('/etc/kube-tui-test/config/k').read());"
        "print(os.path.exists('/etc/passwd'), os.path.isdir('/proc/self'));"
        "open('/etc/kube-tui-test/config/new', 'w')")
    out = subprocess.run([sys.executable, "-c", script, str(Path(__file__).resolve().parents[2]),
                          str(tmp_path / "root"), str(vol)], capture_output=True, text=True, timeout=30)
    assert out.stdout == "v\nTrue True\n" and "Read-only file system" in out.stderr
    assert not os.path.exists("/etc/kube-tui-test")
    assert Path("/proc/self/mountinfo").read_text().count("\n") == before
    assert os.listdir(tmp_path / "root") == []


def test_describe_pod_prints_volumes_as_kubectl_does() -> None:
    from tui.printers.describers.pod import describe_pod
    pod = _pod([{"name": "s", "mountPath": "/s", "readOnly": True, "subPath": "x"}],
               [{"name": "config", "configMap": {"name": "x"}}, {"name": "s", "secret": {"secretName": "sec",
                                                                                      "optional": True}},
                {"name": "p", "projected": {"sources": [{"configMap": {"name": "special-config"}},
                                                        {"downwardAPI": {"items": []}}]}}])
    text = describe_pod(pod, [], 0)
    assert '      /s from s (ro,path="x")\n' in text
    assert ("Volumes:\n  config:\n    Type:      ConfigMap (a volume populated by a ConfigMap)\n    Name:      x\n"
            "    Optional:  false\n  s:\n    Type:        Secret (a volume populated by a Secret)\n"
            "    SecretName:  sec\n    Optional:    true\n  p:\n"
            "    Type:               Projected (a volume that contains injected data from multiple sources)\n"
            "    ConfigMapName:      special-config\n    ConfigMapOptional:  <nil>\n    DownwardAPI:        true\n") in text
