"""A real `kube-tui control` process: CLI from other processes, and kill -9 mid-write loses nothing acknowledged."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from control.client import Client
from control.errors import ApiError
from control.informer import Informer
from tests.helpers import K8S_DOCS, Proc, free_port_pair, run_cli, wait_for

pytestmark = pytest.mark.slow

MANIFESTS = K8S_DOCS


def start_control(home: Path, port: int, data: Path) -> Proc:
    proc = Proc(["control", "--listen", f"tcp://127.0.0.1:{port}", "--data-dir", str(data),
                 "--no-scheduler", "--no-controllers", "--bookmark-interval", "0.2"], home)
    proc.wait_line("To add a node", timeout=30)
    return proc


def admin(data: Path) -> str:
    return json.loads((data / "credentials.json").read_text())["admin"]


def test_cli_apply_get_delete_from_other_processes(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    port = free_port_pair()
    cp = start_control(home, port, data)
    try:
        out = run_cli(["apply", "-f", str(MANIFESTS / "nginx-deployment.yaml")], home)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "deployment.apps/nginx-deployment created"
        again = run_cli(["apply", "-f", str(MANIFESTS / "nginx-deployment.yaml")], home)
        assert again.stdout.strip() == "deployment.apps/nginx-deployment unchanged"
        got = run_cli(["get", "deploy"], home)
        assert got.returncode == 0 and got.stdout.splitlines()[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
        assert "nginx-deployment" in got.stdout
        # kubectl's several kinds at once: a table each, names prefixed by their resource; "all"
        assert run_cli(["apply", "-f", str(MANIFESTS / "nginx-service.yaml")], home).returncode == 0
        several = run_cli(["get", "deploy,svc"], home)
        deploys, services = several.stdout.split("\n\n")
        assert deploys.splitlines()[1].split()[0] == "deployment.apps/nginx-deployment"
        assert [line.split()[0] for line in services.splitlines()[1:]] == ["service/kubernetes", "service/nginx-service"]
        every = run_cli(["get", "all", "-o", "name"], home).stdout.splitlines()
        assert "deployment.apps/nginx-deployment" in every and "service/nginx-service" in every and "" not in every
        # The object itself for one kind and one name (KIND/NAME too); a List otherwise, as kubectl
        one = run_cli(["get", "deploy/nginx-deployment", "-o", "yaml"], home).stdout
        assert "\nkind: Deployment\n" in one and "kind: List" not in one
        assert "kind: List" in run_cli(["get", "deploy", "nginx-deployment", "nope", "-o", "yaml"], home).stdout
        watched = run_cli(["get", "po,svc", "-w"], home)
        assert (watched.returncode, watched.stderr) == (1, "error: you may only specify a single resource type\n")
        keys = run_cli(["etcdctl", "get", "--prefix", "/registry/deployments/", "--keys-only"], home)
        assert keys.stdout.split() == ["/registry/deployments/default/nginx-deployment"]
        missing = run_cli(["get", "pod", "nope"], home)
        assert missing.returncode == 1 and 'Error from server (NotFound): pods "nope" not found' in missing.stderr
        bad = run_cli(["apply", "-f", "-"], home, input="kind: Pod\nmetadata: {name: x\n")
        assert bad.returncode == 1 and "error parsing STDIN: line" in bad.stderr
        gone = run_cli(["delete", "deploy", "nginx-deployment"], home)
        assert gone.stdout.strip() == 'deployment.apps "nginx-deployment" deleted'
    finally:
        assert cp.close() == 0, cp.output()


def test_every_k8s_docs_manifest_is_accepted(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    cp = start_control(home, free_port_pair(), data)
    try:
        run_cli(["apply", "-f", "-"], home, input="apiVersion: v1\nkind: Namespace\nmetadata: {name: mem-example}\n")
        for f in sorted(MANIFESTS.glob("*.yaml")):
            if f.name == "pod-with-toleration.yaml":
                continue  # names the same pod "nginx" as pod-nginx-required-affinity.yaml: checked below
            out = run_cli(["apply", "-f", str(f)], home)
            assert out.returncode == 0, f"{f.name}: {out.stderr}"
            if f.name == "daemonset.yaml":  # its hostPath volumes are mounted now: nothing to warn about them
                assert "volumes" not in out.stderr, out.stderr
        tol = run_cli(["create", "-n", "kube-public", "-f", str(MANIFESTS / "pod-with-toleration.yaml")], home)
        assert tol.returncode == 0, tol.stderr
        # Applied again, every manifest is "unchanged" (kubectl's three-way merge: nothing to send).
        again = run_cli(["apply", "-f", str(MANIFESTS / "daemonset.yaml"), "-f", str(MANIFESTS / "commands.yaml")], home)
        assert again.returncode == 0, again.stderr
        assert again.stdout.split("\n")[:2] == ["daemonset.apps/fluentd-elasticsearch unchanged", "pod/command-demo unchanged"]
    finally:
        cp.close()


async def test_kill_9_mid_write_loses_nothing_acknowledged(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    port = free_port_pair()
    addr = f"tcp://127.0.0.1:{port}"
    cp = start_control(home, port, data)
    token = admin(data)
    writer = Client(addr, token=token, identity="writer", timeout=1.0, retry_for=1.0)
    watcher = Client(addr, token=token, identity="watcher", timeout=1.0, retry_for=30.0)
    inf = Informer(watcher, "Pod", silence_timeout=1.0)
    acked: list[str] = []
    try:
        await writer.connect()
        await inf.start()
        await inf.wait_synced()

        async def write_forever() -> None:
            i = 0
            while True:
                name = f"p{i}"
                try:
                    await writer.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                                         "spec": {"containers": [{"name": "c", "image": "pause"}]}})
                    acked.append(name)
                except ApiError:
                    return
                i += 1

        tasks = [asyncio.create_task(write_forever())]
        await wait_for(lambda: len(acked) > 200, timeout=20, what="200 acknowledged writes")
        cp.kill9()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
        cp2 = start_control(home, port, data)
        try:
            check = Client(addr, token=token, identity="check")
            names = {p["metadata"]["name"] for p in (await check.list("pods"))["items"]}
            await check.close()
            lost = [n for n in acked if n not in names]
            assert not lost, f"{len(lost)} acknowledged writes lost after kill -9: {lost[:5]}"
            # the watcher found the new server by itself and converged on the store
            await wait_for(lambda: {n for _, n in inf.cache} == names, timeout=20, what="the watcher to recover")
        finally:
            cp2.close()
    finally:
        await inf.stop()
        await watcher.close()
        await writer.close()
        cp.close()


def test_no_server_fails_fast_with_a_clear_error(tmp_path: Path) -> None:
    port = free_port_pair()  # nothing listens there
    out = run_cli(["get", "pods", "--server", f"tcp://127.0.0.1:{port}"], tmp_path / "home", timeout=10)
    assert out.returncode == 1
    assert f"cannot reach the API server at tcp://127.0.0.1:{port} (connection refused)" in out.stderr
    assert "is `kube-tui control` running?" in out.stderr


def test_a_second_control_plane_on_the_same_data_dir_says_so_and_changes_nothing(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    cp = start_control(home, free_port_pair(), data)
    try:
        assert run_cli(["create", "namespace", "kept"], home).returncode == 0
        second = run_cli(["control", "--listen", f"tcp://127.0.0.1:{free_port_pair()}", "--data-dir", str(data),
                          "--https", ""], home, timeout=30)
        assert second.returncode == 1
        assert "Traceback" not in second.stderr, second.stderr
        assert (f"error: the store in {data} is already open in another process or store (its LOCK file is held): "
                "is a control plane of this cluster already running?") in second.stderr
        assert "kept" in run_cli(["get", "ns", "-o", "name"], home).stdout  # the first one still serves it
    finally:
        assert cp.close() == 0, cp.output()


def test_a_sigterm_while_the_control_plane_starts_stops_it_cleanly(tmp_path: Path) -> None:
    """SIGTERM as soon as the store is open, before anything is printed: a graceful stop (exit 0, the store
    closed), not Python's default death by signal (-15), which is what a test or a script that stops the plane
    right after starting it got."""
    import signal

    home, data = tmp_path / "home", tmp_path / "data"
    cp = Proc(["control", "--listen", f"tcp://127.0.0.1:{free_port_pair()}", "--data-dir", str(data),
               "--no-scheduler", "--no-controllers", "--https", ""], home)
    try:
        asyncio.run(wait_for(lambda: (data / "LOCK").exists(), 30, what="the store opened"))
        cp.signal(signal.SIGTERM)
        cp.popen.wait(30)
    finally:
        code = cp.close()
    assert code == 0, cp.output()
    assert "stopping the control plane" in cp.output()
