"""A node's capacity as the user sets it: `kube-tui node --cpu/--memory/--ephemeral-storage` and a cluster file's nodes."""

from __future__ import annotations

import argparse

import pytest

from tui.cluster import ClusterFileError, parse_cluster
from tui.commands import node as node_cmd


def node_args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    node_cmd.add_arguments(p, "node")
    return p.parse_args(["--name", "n1", *argv])


def test_ephemeral_storage_flag_sets_the_capacity_the_node_registers() -> None:
    cfg = node_cmd._config(node_args("--ephemeral-storage", "10Gi"), "n1", "process")
    assert cfg.capacity()["ephemeral-storage"] == "10Gi"
    # without it, the size of the data dir's file system (none for a node with no data dir)
    assert "ephemeral-storage" not in node_cmd._config(node_args(), "n1", "sim").capacity()
    with pytest.raises(ValueError, match=r'--ephemeral-storage: "lots" is not a positive quantity'):
        node_cmd._config(node_args("--ephemeral-storage", "lots"), "n1", "process")


def test_a_cluster_files_node_passes_its_ephemeral_storage_to_kube_tui_node() -> None:
    doc = {"apiVersion": "kube-tui/v1", "kind": "Cluster",
           "spec": {"nodes": [{"name": "small", "ephemeral-storage": "1Gi"}, {"name": "default"}]}}
    small, default = parse_cluster(doc).nodes
    assert small.args()[-2:] == ["--ephemeral-storage", "1Gi"] and "--ephemeral-storage" not in default.args()
    doc["spec"]["nodes"][0]["ephemeral-storage"] = "1 GB"
    with pytest.raises(ClusterFileError, match=r'spec.nodes\[0\].ephemeral-storage: Invalid value: "1 GB"'):
        parse_cluster(doc)
