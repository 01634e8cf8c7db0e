"""A volumeMount's subPath (or expanded subPathExpr) stays inside its volume, as the kubelet's makeMounts and
doSafeMakeDir keep it: nothing is created on the node outside the volume, whatever the pod spec or a symlink a
container left in the volume says, and a bad one is the container's CreateContainerConfigError."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from nodes.env import ConfigError
from nodes.volumes import PodVolumes


async def _volumes(tmp_path: Path) -> tuple[PodVolumes, Path]:
    pod = {"metadata": {"name": "p", "namespace": "default", "uid": "u1"},
           "spec": {"volumes": [{"name": "cache", "emptyDir": {}}]}}
    volumes = PodVolumes(pod, tmp_path / "u1", None, pod_ip="10.0.0.1", host_ip="127.0.0.1", allocatable={})
    assert await volumes.set_up() == []
    return volumes, tmp_path / "u1" / "volumes" / "kubernetes.io~empty-dir" / "cache"


def _mount(**vm: str) -> dict:
    return {"name": "c", "volumeMounts": [{"name": "cache", "mountPath": "/m", **vm}]}


async def test_an_expanded_sub_path_expr_may_not_be_absolute_or_step_out(tmp_path: Path) -> None:
    volumes, _ = await _volumes(tmp_path)
    outside = tmp_path / "outside" / "made"
    with pytest.raises(ConfigError) as e:
        volumes.mounts(_mount(subPathExpr="$(DIR)"), {"DIR": str(outside)})
    assert str(e.value) == f"error SubPath `{outside}` must not be an absolute path"
    with pytest.raises(ConfigError) as e:
        volumes.mounts(_mount(subPathExpr="$(UP)/outside/made"), {"UP": "../../../.."})
    assert str(e.value) == "unable to provision SubPath `../../../../outside/made`: must not contain '..'"
    assert not (tmp_path / "outside").exists()


async def test_a_symlink_in_the_volume_does_not_make_the_kubelet_create_outside_it(tmp_path: Path) -> None:
    volumes, cache = await _volumes(tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, cache / "escape")  # what a container of the pod may leave in its emptyDir
    with pytest.raises(ConfigError, match='^failed to prepare subPath for volumeMount "cache" of container "c"$'):
        volumes.mounts(_mount(subPath="escape/new/dir"), {})
    assert os.listdir(outside) == []
    # a symlink that stays inside the volume is followed, as the kubelet follows it
    (cache / "real").mkdir()
    os.symlink("real", cache / "inside")
    [m] = volumes.mounts(_mount(subPath="inside/new"), {})
    assert m["source"] == str(cache / "real" / "new") and (cache / "real" / "new").is_dir()
    # made with the volume's mode (an emptyDir's 0777), as doSafeMakeDir makes it
    assert stat.S_IMODE((cache / "real" / "new").stat().st_mode) == 0o777


async def test_a_sub_path_that_cannot_be_made_is_a_config_error(tmp_path: Path) -> None:
    volumes, cache = await _volumes(tmp_path)
    (cache / "file").write_text("x")
    with pytest.raises(ConfigError, match='^failed to prepare subPath for volumeMount "cache" of container "c"$'):
        volumes.mounts(_mount(subPath="file/below"), {})


def test_the_shim_binds_a_sub_path_without_following_a_symlink_swapped_in_after_the_check(tmp_path: Path) -> None:
    """CVE-2017-1002101's race: the kubelet checked vol/a/b; a container sharing the volume then swaps `a` for a
    symlink out of it. The shim reaches the subPath from its volume without following symlinks: it refuses to
    start the container rather than bind what the symlink leads to."""
    vol, outside = tmp_path / "vol", tmp_path / "outside"
    (vol / "a" / "b").mkdir(parents=True)
    (outside / "b").mkdir(parents=True)
    (outside / "b" / "host-secret").write_text("s")
    mount = {"source": str(vol / "a" / "b"), "target": "/etc/kube-tui-test/sub", "readOnly": False, "volume": str(vol)}
    (vol / "a" / "b").rmdir()
    (vol / "a").rmdir()
    os.symlink(outside, vol / "a")
    script = (
        "import json, os, sys; sys.path.insert(0, sys.argv[1]); from nodes.runtime import mountns\n"
        "try:\n"
        "    mountns.enter(sys.argv[2], [json.loads(sys.argv[3])])\n"
        "except OSError as e:\n"
        "    print('refused:', e.strerror); sys.exit(0)\n"
        "print('bound:', os.listdir('/etc/kube-tui-test/sub'))\n")
    out = subprocess.run([sys.executable, "-c", script, str(Path(__file__).resolve().parents[2]),
                          str(tmp_path / "root"), json.dumps(mount)], capture_output=True, text=True, timeout=30)
    assert out.stdout == f"refused: cannot open {vol / 'a'}: not a directory\n", out.stdout + out.stderr
    assert not os.path.exists("/etc/kube-tui-test")


async def test_a_resync_in_flight_when_the_pod_goes_does_not_bring_its_directory_back(tmp_path: Path) -> None:
    """The periodic resync awaits the ConfigMap; if the pod's volumes are torn down meanwhile (the pod deleted),
    the late answer must not recreate pods/<uid>/volumes on the node."""
    import asyncio

    release, asked = asyncio.Event(), asyncio.Event()

    async def fetch(kind: str, ns: str, name: str) -> dict | None:
        asked.set()
        await release.wait()
        return {"kind": "ConfigMap", "data": {"k": "v2"}}

    pod = {"metadata": {"name": "p", "namespace": "default", "uid": "u1"},
           "spec": {"volumes": [{"name": "config", "configMap": {"name": "x"}}]}}
    volumes = PodVolumes(pod, tmp_path / "u1", fetch, pod_ip="10.0.0.1", host_ip="127.0.0.1", allocatable={})
    release.set()
    assert await volumes.set_up() == []
    release.clear()
    asked.clear()
    refresh = asyncio.ensure_future(volumes.refresh())
    await asyncio.wait_for(asked.wait(), 5)  # the refresh is now waiting for its ConfigMap
    volumes.tear_down()
    release.set()
    await refresh
    assert not (tmp_path / "u1").exists()


def test_a_volume_over_a_host_directory_keeps_what_is_written_in_it_when_a_mount_nests_inside(tmp_path: Path) -> None:
    """An emptyDir at a path the host has (/tmp, say) with a configMap at a new path inside it: the nested mount
    point is made in the volume (as runc makes it), not by shadowing the volume with a tmpfs, so what the
    container writes there is in the volume, where the pod's other containers see it."""
    shared, config = tmp_path / "shared", tmp_path / "config"
    shared.mkdir()
    config.mkdir()
    (config / "k").write_text("v")
    at = tmp_path / "existing-on-host"
    at.mkdir()
    mounts = [{"source": str(shared), "target": str(at), "readOnly": False},
              {"source": str(config), "target": str(at / "conf"), "readOnly": True}]
    script = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); from nodes.runtime import mountns\n"
        "mountns.enter(sys.argv[2], json.loads(sys.argv[3]))\n"
        "print(open(sys.argv[4] + '/conf/k').read())\n"
        "open(sys.argv[4] + '/written', 'w').write('w')\n")
    out = subprocess.run([sys.executable, "-c", script, str(Path(__file__).resolve().parents[2]),
                          str(tmp_path / "root"), json.dumps(mounts), str(at)], capture_output=True, text=True,
                         timeout=30)
    assert out.stdout == "v\n", out.stderr
    assert (shared / "written").read_text() == "w"
    assert sorted(os.listdir(shared)) == ["conf", "written"] and os.listdir(at) == []


def test_a_pods_host_path_may_not_step_back_as_kube_apiserver_refuses_it() -> None:
    from control.api.validation import validate
    from control.errors import invalid

    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
           "spec": {"containers": [{"name": "c", "image": "busybox"}],
                    "volumes": [{"name": "h", "hostPath": {"path": "/var/log/../../etc"}}]}}
    errs, _ = validate(pod)
    assert """spec.volumes[0].hostPath.path: Invalid value: "/var/log/../../etc": must not contain '..'""" in \
        invalid("Pod", "p", errs).message
