"""`kube-tui api-resources | api-versions | version | cluster-info` against a real control plane, and against the
real kubectl reading the same cluster's REST API when the machine has one: the same text, byte for byte."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from control import config, version
from control.api import meta
from control.plane import ControlPlane
from tests.conftest import running_plane
from tests.integration.test_imperative import cli

# kubectl v1.32.5 where the machine has it (the version these printers follow), else any kubectl
KUBECTL = next((k for k in ("/usr/lib/google-cloud-sdk/bin/kubectl.1.32", shutil.which("kubectl")) if k and os.access(k, os.X_OK)),
               None)


@pytest.fixture
async def rest_plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    async with running_plane(tmp_path / "data", rest_listen="127.0.0.1:0") as p:
        yield p


async def kubectl(plane: ControlPlane, home: Path, *args: str) -> tuple[int, str, str]:
    """The real kubectl with a kubeconfig for the plane's REST API, its cache under `home`."""
    assert KUBECTL is not None and plane.credentials is not None
    kubeconfig = config.write_kubeconfig(plane.rest.address, plane.credentials.admin, plane.rest.ca_pem)
    r = await asyncio.to_thread(subprocess.run, [KUBECTL, "--kubeconfig", str(kubeconfig), *args], capture_output=True,
                                text=True, timeout=60, env={**os.environ, "HOME": str(home)})
    return r.returncode, r.stdout, r.stderr


async def test_api_resources_lists_what_the_server_serves_as_kubectl_does(rest_plane: ControlPlane, tmp_path: Path) -> None:
    code, out, err = await cli(rest_plane, tmp_path, "api-resources")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert lines[1].split() == ["configmaps", "cm", "v1", "true", "ConfigMap"]  # by group, then name
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in [line.split() for line in lines]
    assert ["nodes", "metrics.k8s.io/v1beta1", "false", "NodeMetrics"] in [line.split() for line in lines]
    code, out, _ = await cli(rest_plane, tmp_path, "api-resources", "--api-group=apps", "-o", "wide", "--no-headers")
    assert out.splitlines()[0].split() == ["controllerrevisions", "apps/v1", "true", "ControllerRevision",
                                           "create,delete,get,list,patch,update,watch"]
    assert await cli(rest_plane, tmp_path, "api-resources", "--sort-by=age") == (
        1, "", "error: --sort-by accepts only name or kind\n")
    if KUBECTL is None:
        return
    for args in ([], ["-o", "wide"], ["-o", "name"], ["--sort-by=kind"], ["--sort-by=name", "--no-headers"],
                 ["--namespaced=false"], ["--api-group="], ["--api-group=policy", "-o", "wide"], ["--categories=all"]):
        ours, theirs = await cli(rest_plane, tmp_path, "api-resources", *args), await kubectl(rest_plane, tmp_path,
                                                                                           "api-resources", *args)
        assert ours[:2] == theirs[:2], args


async def test_api_versions_are_the_servers_group_versions_sorted(rest_plane: ControlPlane, tmp_path: Path) -> None:
    code, out, err = await cli(rest_plane, tmp_path, "api-versions")
    versions = out.splitlines()
    assert code == 0 and versions == sorted(versions) and versions[-1] == "v1", err
    assert {"apps/v1", "autoscaling/v1", "autoscaling/v2", "metrics.k8s.io/v1beta1"} <= set(versions)
    if KUBECTL is not None:
        assert (code, out) == (await kubectl(rest_plane, tmp_path, "api-versions"))[:2]


async def test_version_is_kube_tuis_own_and_the_kubernetes_version_served(rest_plane: ControlPlane, tmp_path: Path) -> None:
    own = version.kube_tui()["gitVersion"]
    assert await cli(rest_plane, tmp_path, "version") == (
        0, f"Client Version: {own}\nServer Version: {meta.KUBE_VERSION}\n", "")
    code, out, _ = await cli(rest_plane, tmp_path, "version", "-o", "json")
    doc = json.loads(out)
    assert code == 0 and doc["clientVersion"]["gitVersion"] == own and doc["serverVersion"] == version.kubernetes()
    # --client needs no server: none answers at this address
    assert await cli(rest_plane, tmp_path, "version", "--client", "--server", "tcp://127.0.0.1:1") == (
        0, f"Client Version: {own}\n", "")
    code, out, err = await cli(rest_plane, tmp_path, "version", "--server", "tcp://127.0.0.1:1")
    assert (code, out) == (1, f"Client Version: {own}\n") and "cannot reach the API server" in err
    if KUBECTL is not None:  # kubectl's Server Version is what the REST API says on /version
        code, out, _ = await kubectl(rest_plane, tmp_path, "version", "-o", "json")
        assert code == 0 and json.loads(out)["serverVersion"] == doc["serverVersion"]


async def test_cluster_info_says_where_the_control_plane_runs(rest_plane: ControlPlane, tmp_path: Path) -> None:
    assert rest_plane.server is not None
    dns = {"apiVersion": "v1", "kind": "Service", "metadata": {
        "name": "kube-dns", "namespace": "kube-system",
        "labels": {"kubernetes.io/cluster-service": "true", "kubernetes.io/name": "CoreDNS"}},
        "spec": {"ports": [{"name": "dns", "port": 53}]}}
    client = rest_plane.client("test")
    await client.connect()
    await client.create(dns)
    code, out, err = await cli(rest_plane, tmp_path, "cluster-info")  # not a terminal: no colours
    dns_link = f"{rest_plane.rest.address}/api/v1/namespaces/kube-system/services/kube-dns:dns/proxy"
    assert (code, out.splitlines()) == (0, [
        f"Kubernetes control plane is running at {rest_plane.server.address}",
        f"Kubernetes REST API (kubectl) is running at {rest_plane.rest.address}",
        f"CoreDNS is running at {dns_link}",
        "",
        "To further debug and diagnose cluster problems, use 'kube-tui get events -A' and 'kube-tui describe'."]), err
    if KUBECTL is not None:  # kubectl's line for the same service is ours
        assert f"CoreDNS is running at {dns_link}" in (await kubectl(rest_plane, tmp_path, "cluster-info"))[1]
    code, out, err = await cli(rest_plane, tmp_path, "cluster-info", "dump")
    assert (code, out) == (1, "") and "kube-tui does not support `cluster-info dump`" in err
    async with running_plane(tmp_path / "plain") as plain:  # no REST API: the ZeroMQ API server's address alone
        assert plain.server is not None
        code, out, _ = await cli(plain, tmp_path, "cluster-info")
        assert out.splitlines()[:2] == [f"Kubernetes control plane is running at {plain.server.address}", ""]
