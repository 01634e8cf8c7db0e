"""The eviction manager's local storage decisions (nodes/eviction.py) and a memory-backed emptyDir's size
(nodes/volumes.py), as the kubelet makes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from control.api.quantity import format_bytes
from nodes.eviction import PodStorage, dir_usage, violation
from nodes.nodestatus import NodeConfig
from nodes.volumes import memory_volume_size

MI = 1024 * 1024


def container(name: str, **limits: str) -> dict[str, Any]:
    return {"name": name, "image": "busybox", "resources": {"limits": limits} if limits else {}}


def pod(*containers: dict[str, Any], volumes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"spec": {"containers": list(containers), "volumes": volumes or []}}


def test_an_emptydir_over_its_size_limit() -> None:
    p = pod(container("c"), volumes=[{"name": "cache", "emptyDir": {"sizeLimit": "1Mi"}},
                                     {"name": "free", "emptyDir": {}}])
    assert violation(p, PodStorage(volumes={"cache": MI, "free": 100 * MI})) is None
    assert violation(p, PodStorage(volumes={"cache": MI + 1})) == 'Usage of EmptyDir volume "cache" exceeds the limit "1Mi". '
    # the limit as the API server keeps it, in its canonical form
    p = pod(container("c"), volumes=[{"name": "cache", "emptyDir": {"sizeLimit": "1000000"}}])
    assert violation(p, PodStorage(volumes={"cache": 2 * MI})) == 'Usage of EmptyDir volume "cache" exceeds the limit "1M". '


def test_the_pod_total_is_checked_before_each_container() -> None:
    p = pod(container("a", **{"ephemeral-storage": "1Mi"}), container("b", **{"ephemeral-storage": "1Mi"}))
    # a is past its own limit, and the pod past the sum of both: the pod's message, as the kubelet checks it first
    assert violation(p, PodStorage(containers={"a": 3 * MI, "b": 0})) == \
        "Pod ephemeral local storage usage exceeds the total limit of containers 2Mi. "
    assert violation(p, PodStorage(containers={"a": MI + MI // 2, "b": 0})) == \
        'Container a exceeded its local ephemeral storage limit "1Mi". '
    # emptyDir usage counts in the pod's total
    assert violation(p, PodStorage(volumes={"v": 2 * MI}, containers={"a": 1})) == \
        "Pod ephemeral local storage usage exceeds the total limit of containers 2Mi. "
    # no container with a limit: nothing to exceed
    assert violation(pod(container("a")), PodStorage(containers={"a": 10**12})) is None


def test_dir_usage_counts_allocated_blocks_once(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"x" * 100_000)
    (tmp_path / "link").hardlink_to(tmp_path / "d" / "f")
    (tmp_path / "sym").symlink_to("/usr")
    used = dir_usage(str(tmp_path))
    assert 100_000 <= used < 100_000 + 64 * 1024
    assert dir_usage(str(tmp_path / "missing")) == 0


def test_a_memory_volume_is_the_smallest_of_node_pod_and_size_limit() -> None:
    node = 4096 * MI
    limited = pod(container("a", memory="64Mi"), container("b", memory="64Mi"))
    assert memory_volume_size({}, pod(container("a")), node) == node
    assert memory_volume_size({}, limited, node) == 128 * MI
    assert memory_volume_size({"sizeLimit": "16Mi"}, limited, node) == 16 * MI
    # a sizeLimit above what the pod may use does not raise it
    assert memory_volume_size({"sizeLimit": "1Gi"}, limited, node) == 128 * MI
    # a container without a memory limit: the pod has none (ResourceConfigForPod)
    assert memory_volume_size({}, pod(container("a", memory="64Mi"), container("b")), node) == node


def test_ephemeral_storage_capacity_is_the_data_dirs_file_system(tmp_path: Path) -> None:
    import os

    st = os.statvfs(tmp_path)
    cap = NodeConfig("n", data_dir=str(tmp_path)).capacity()
    assert cap["ephemeral-storage"] == format_bytes(st.f_blocks * st.f_frsize)
    assert NodeConfig("n", ephemeral_storage="100Gi").capacity()["ephemeral-storage"] == "100Gi"
    assert "ephemeral-storage" not in NodeConfig("sim", runtime="sim").capacity()  # as a KWOK node: none
