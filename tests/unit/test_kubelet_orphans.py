"""A starting kubelet removes the directories of pods it no longer has (cleanupOrphanedPodDirs): a pod deleted
while its node was down leaves no volume files (a Secret's among them) in the node's data dir."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from control.timings import Timings
from nodes.kubelet import Kubelet


def _kubelet(log_dir: Path, shared: bool = False) -> Kubelet:
    node: Any = SimpleNamespace(pod_cidr="10.244.1.0/24", name="n1")
    return Kubelet(None, node, None, timings=Timings(), log_dir=log_dir, pods=lambda ns, name: None,  # type: ignore[arg-type]
                   statuses=None, enqueue=lambda key: None, shared_logs_root=shared)  # type: ignore[arg-type]


def test_a_starting_kubelet_removes_the_volume_dirs_of_pods_it_no_longer_has(tmp_path: Path) -> None:
    gone, kept = "0b7a9f9e-1111-4a4a-8b8b-000000000001", "0b7a9f9e-1111-4a4a-8b8b-000000000002"
    for uid in (gone, kept):
        secret = tmp_path / uid / "volumes" / "kubernetes.io~secret" / "s"
        secret.mkdir(parents=True)
        (secret / "password").write_text("s3cr3t")
    (tmp_path / f"default_web_{kept}").mkdir()  # a log directory: not a pod's volumes
    (tmp_path / "not-a-pod").mkdir()
    pod = {"metadata": {"namespace": "default", "name": "web", "uid": kept}, "spec": {"nodeName": "n1"}}
    _kubelet(tmp_path).start([pod])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([kept, f"default_web_{kept}", "not-a-pod"])
    # a pool of simulated nodes shares one directory: none of them may sweep it
    (tmp_path / gone).mkdir()
    _kubelet(tmp_path, shared=True).start([])
    assert (tmp_path / gone).is_dir()
