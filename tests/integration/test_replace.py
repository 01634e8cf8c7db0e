"""kube-tui replace against a real API server: the whole object PUT, NotFound, Conflict, the API server's Invalid
error for a pod, --force waiting for the delete, bad YAML and unknown kinds, each said of its file."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from control import config
from control.client import Client
from control.errors import ApiError
from control.plane import ControlPlane
from tests.helpers import communicate, kube_tui_env
from tests.integration import test_rest as base
from tests.integration.test_imperative import cli

rest_plane = base.rest_plane  # the fixture: a control plane serving the REST API too, for the real kubectl

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}}
POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
       "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}}


def manifest(path: Path, *objs: dict) -> str:
    path.write_text(yaml.safe_dump_all(objs))
    return str(path)


def pod_running(command: list[str]) -> dict:
    return {**POD, "spec": {"containers": [{"name": "c", "image": "busybox", "command": command}]}}


async def test_replace_puts_the_whole_object_and_a_missing_one_is_not_found(plane: ControlPlane, client: Client,
                                                                            tmp_path: Path) -> None:
    await client.create({**CM, "metadata": {"name": "cfg", "labels": {"tier": "web"}}})
    other = {**CM, "metadata": {"name": "other"}}
    f = manifest(tmp_path / "cm.yaml", {**CM, "data": {"b": "2"}}, other)
    code, out, err = await cli(plane, tmp_path, "replace", "-f", f)
    assert (code, out) == (1, "configmap/cfg replaced\n")
    assert err == f'Error from server (NotFound): error when replacing "{f}": configmaps "other" not found\n'
    live = await client.get("ConfigMap", "cfg")
    assert live["data"] == {"b": "2"} and "labels" not in live["metadata"]  # a PUT: what it leaves out is gone
    assert not [c for c in (await client.list("ConfigMap"))["items"] if c["metadata"]["name"] == "other"]

    # --dry-run changes nothing; -o name; --save-config writes kubectl's annotation
    g = manifest(tmp_path / "one.yaml", {**CM, "data": {"c": "3"}})
    assert await cli(plane, tmp_path, "replace", "-f", g, "--dry-run=server") == (
        0, "configmap/cfg replaced (server dry run)\n", "")
    assert await cli(plane, tmp_path, "replace", "-f", g, "--dry-run=client", "-o", "name") == (0, "configmap/cfg\n", "")
    assert (await client.get("ConfigMap", "cfg"))["data"] == {"b": "2"}
    assert await cli(plane, tmp_path, "replace", "-f", g, "--save-config") == (0, "configmap/cfg replaced\n", "")
    notes = (await client.get("ConfigMap", "cfg"))["metadata"]["annotations"]
    assert notes["kubectl.kubernetes.io/last-applied-configuration"].startswith('{"apiVersion":"v1","data":{"c":"3"}')
    # without --save-config, and the manifest without one, the annotation goes with the rest (as kubectl)
    assert (await cli(plane, tmp_path, "replace", "-f", g))[0] == 0
    assert "annotations" not in (await client.get("ConfigMap", "cfg"))["metadata"]


async def test_a_stale_resource_version_is_a_conflict_and_none_replaces_what_is_there(
        plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    old = await client.create(CM)
    await client.update({**old, "data": {"a": "by someone else"}})
    stale = manifest(tmp_path / "stale.yaml", {**CM, "metadata": {"name": "cfg", "resourceVersion":
                                                                  old["metadata"]["resourceVersion"]}})
    code, out, err = await cli(plane, tmp_path, "replace", "-f", stale)
    assert (code, out) == (1, "")
    assert err == (f'Error from server (Conflict): error when replacing "{stale}": Operation cannot be fulfilled on '
                   'configmaps "cfg": the object has been modified; please apply your changes to the latest version '
                   "and try again\n")
    assert (await client.get("ConfigMap", "cfg"))["data"] == {"a": "by someone else"}
    unversioned = manifest(tmp_path / "cm.yaml", {**CM, "data": {"a": "mine"}})
    assert await cli(plane, tmp_path, "replace", "-f", unversioned) == (0, "configmap/cfg replaced\n", "")
    assert (await client.get("ConfigMap", "cfg"))["data"] == {"a": "mine"}


async def test_an_immutable_pod_field_is_the_api_servers_invalid_error_unchanged(
        plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    await client.create(POD)
    changed = pod_running(["sleep", "7200"])
    try:
        await client.update(changed)
        raise AssertionError("the API server took a change of a pod's command")
    except ApiError as e:
        server = e.message
    assert server.startswith('Pod "web" is invalid: spec: Forbidden: pod updates may not change fields other than')
    f = manifest(tmp_path / "pod.yaml", changed)
    code, out, err = await cli(plane, tmp_path, "replace", "-f", f)
    # kubectl prints an Invalid error alone as "The KIND "NAME" is invalid: " and the server's causes
    assert (code, out, err) == (1, "", f"The {server}\n")


async def test_force_deletes_waits_until_the_pod_is_gone_and_creates_it(plane: ControlPlane, client: Client,
                                                                        tmp_path: Path) -> None:
    old = await client.create(POD)
    await client.bind("default", "web", "n1")  # a bound pod goes only once its kubelet says it stopped
    f = manifest(tmp_path / "pod.yaml", pod_running(["sleep", "7200"]))
    assert plane.server is not None and plane.credentials is not None
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tui.cli", "replace", "--force", "-f", f, "--server", plane.server.address,
        "--token", plane.credentials.admin, env=kube_tui_env(tmp_path), stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert line == b'pod "web" deleted\n'
        terminating = await client.get("Pod", "web")
        assert terminating["metadata"]["uid"] == old["metadata"]["uid"] and terminating["metadata"]["deletionTimestamp"]
        assert proc.returncode is None  # still waiting: the new pod cannot be made while the old one is there
        await client.delete("Pod", "web", grace_period=0)  # as the kubelet does once the containers stopped
        out, err = await communicate(proc, timeout=30)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert (proc.returncode, out, err) == (0, b"pod/web replaced\n", b"")
    new = await client.get("Pod", "web")
    assert new["metadata"]["uid"] != old["metadata"]["uid"]
    assert new["spec"]["containers"][0]["command"] == ["sleep", "7200"] and "nodeName" not in new["spec"]

    # an object that is not there is only created
    g = manifest(tmp_path / "cm.yaml", CM)
    assert await cli(plane, tmp_path, "replace", "--force", "-f", g) == (0, "configmap/cfg replaced\n", "")
    assert await cli(plane, tmp_path, "replace", "--force", "-f", g, "-o", "name") == (
        0, "configmap/cfg\nconfigmap/cfg\n", "")


async def test_force_gives_up_at_its_timeout_in_kubectls_words(plane: ControlPlane, client: Client,
                                                               tmp_path: Path) -> None:
    await client.create(POD)
    await client.bind("default", "web", "n1")  # no kubelet: its delete never finishes
    f = manifest(tmp_path / "pod.yaml", POD)
    assert await cli(plane, tmp_path, "replace", "--force", "--timeout=1s", "-f", f) == (
        1, 'pod "web" deleted\n', "error: context deadline exceeded\n")
    assert await cli(plane, tmp_path, "replace", "--force", "--grace-period=0", "--timeout=1s", "-f", f) == (
        1, 'pod "web" deleted\n', "error: timed out waiting for the condition on pods/web\n")


async def test_bad_yaml_and_unknown_kinds_are_said_of_their_file(plane: ControlPlane, client: Client,
                                                                 tmp_path: Path) -> None:
    await client.create(CM)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**CM, "data": {"a": "2"}}) + "---\napiVersion: v1\nkind: ConfigMap\n"
                   "metadata:\n  name: x\n data: [\n")
    code, out, err = await cli(plane, tmp_path, "replace", "-f", str(bad))
    assert (code, out) == (1, "")
    assert err.startswith(f"error: error parsing {bad}: line 12, column 2: ")
    assert (await client.get("ConfigMap", "cfg"))["data"] == {"a": "1"}  # nothing was sent

    f = manifest(tmp_path / "mixed.yaml", {**CM, "data": {"a": "2"}},
                 {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    code, out, err = await cli(plane, tmp_path, "replace", "-f", f)
    assert (code, out) == (1, "configmap/cfg replaced\n")
    assert err == (f'error: resource mapping not found for name: "w" namespace: "" from "{f}": no matches for kind '
                   '"Widget" in version "example.com/v1"\nensure CRDs are installed first\n')
    # with --force nothing is deleted when a manifest cannot be sent (kubectl would delete cfg and not create it)
    code, out, _ = await cli(plane, tmp_path, "replace", "--force", "-f", f)
    assert (code, out) == (1, "")
    assert (await client.get("ConfigMap", "cfg"))["data"] == {"a": "2"}


async def test_recursive_replaces_what_subdirectories_hold(plane: ControlPlane, client: Client, tmp_path: Path) -> None:
    await client.create(CM)
    await client.create({**CM, "metadata": {"name": "deep"}})
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    manifest(d / "cm.yaml", {**CM, "data": {"a": "2"}})
    manifest(d / "sub" / "deep.yaml", {**CM, "metadata": {"name": "deep"}, "data": {"a": "2"}})
    assert await cli(plane, tmp_path, "replace", "-f", str(d)) == (0, "configmap/cfg replaced\n", "")
    assert await cli(plane, tmp_path, "replace", "-R", "-f", str(d)) == (
        0, "configmap/cfg replaced\nconfigmap/deep replaced\n", "")
    assert (await client.get("ConfigMap", "deep"))["data"] == {"a": "2"}


KUBECTL = next((k for k in ("/usr/lib/google-cloud-sdk/bin/kubectl.1.32", shutil.which("kubectl")) if k and Path(k).exists()),
               None)


@pytest.mark.slow
@pytest.mark.skipif(KUBECTL is None, reason="no kubectl on this machine")
async def test_the_real_kubectl_says_the_same(rest_plane: ControlPlane, tmp_path: Path) -> None:
    """Each case run by kubectl and by kube-tui from the same state of the same cluster: the same output, errors and
    exit code."""
    assert rest_plane.credentials is not None and rest_plane.server is not None and KUBECTL is not None
    kubeconfig = config.write_kubeconfig(rest_plane.rest.address, rest_plane.credentials.admin, rest_plane.rest.ca_pem)
    manifest(tmp_path / "cm.yaml", CM, {**CM, "metadata": {"name": "cfg2"}})
    manifest(tmp_path / "pod.yaml", pod_running(["sleep", "7200"]))
    manifest(tmp_path / "unknown.yaml", {**CM, "data": {"a": "2"}},
             {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})
    client = rest_plane.client("test")
    await client.connect()

    async def fresh(*objs: dict) -> None:
        for kind in ("ConfigMap", "Pod"):
            for o in (await client.list(kind, "default"))["items"]:
                await client.delete(kind, o["metadata"]["name"], "default", grace_period=0)
        for o in objs:
            await client.create(o)

    def run(*argv: str) -> tuple[int, str, str]:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=tmp_path, env=kube_tui_env(tmp_path))
        return r.returncode, r.stdout, r.stderr

    stale = {**CM, "metadata": {"name": "cfg", "resourceVersion": "1"}}
    manifest(tmp_path / "stale.yaml", stale)
    cases: list[tuple[tuple[dict, ...], list[str]]] = [
        ((), ["-f", "cm.yaml"]),
        ((CM,), ["-f", "cm.yaml"]),
        ((CM, {**CM, "metadata": {"name": "cfg2"}}), ["-f", "cm.yaml", "-o", "name"]),
        ((CM, {**CM, "metadata": {"name": "cfg2"}}), ["-f", "cm.yaml", "--dry-run=server"]),
        ((CM,), ["-f", "stale.yaml"]),
        ((POD,), ["-f", "pod.yaml"]),
        ((CM,), ["-f", "unknown.yaml"]),
        ((CM,), ["--force", "-f", "cm.yaml"]),
        ((POD,), ["--force", "-f", "pod.yaml", "-o", "name"]),
        ((), ["-f", "cm.yaml", "--grace-period=1"]),
    ]
    try:
        for objs, words in cases:
            await fresh(*objs)
            theirs = await asyncio.to_thread(run, KUBECTL, "--kubeconfig", str(kubeconfig), "replace", *words)
            await fresh(*objs)
            ours = await asyncio.to_thread(run, sys.executable, "-m", "tui.cli", "replace", *words, "--server",
                                           rest_plane.server.address, "--token", rest_plane.credentials.admin)
            assert ours == theirs, words
    finally:
        await client.close()
