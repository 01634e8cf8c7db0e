"""A volumeMount's subPath (or expanded subPathExpr) stays inside its volume, as the kubelet's makeMounts and
doSafeMakeDir keep it: nothing is created on the node outside the volume, whatever the pod spec or a symlink a
container left in the volume says, and a bad one is the container's CreateContainerConfigError."""

from __future__ import annotations

import os
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


async def test_a_sub_path_that_cannot_be_made_is_a_config_error(tmp_path: Path) -> None:
    volumes, cache = await _volumes(tmp_path)
    (cache / "file").write_text("x")
    with pytest.raises(ConfigError, match='^failed to prepare subPath for volumeMount "cache" of container "c"$'):
        volumes.mounts(_mount(subPath="file/below"), {})
