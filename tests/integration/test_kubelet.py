"""The kubelet against a real API server: registration, lease, pods on the process runtime, logs,
deletion, image pull errors, graceful shutdown, kill -9, and a control plane restart."""

from __future__ import annotations

import array
import asyncio
import contextlib
import dataclasses
import fcntl
import io
import json
import os
import re
import signal
import struct
import sys
import termios
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psutil
import pytest
import yaml

from control.api import meta
from control.api.podlogs import log_pages
from control.api.quantity import to_int
from control.apiserver.ranges import ClusterNetwork
from control.client import Client
from control.errors import ApiError
from control.netutil import stable_port_pair
from control.plane import ControlPlane
from nodes.node import Node, NodeOptions
from nodes.nodestatus import NodeConfig
from tests.conftest import FAST
from tests.helpers import K8S_DOCS, Proc, communicate, kube_tui_env, wait_for
from tui.commands.cp import run_in_pod

pytestmark = pytest.mark.timeout(60)


def node_options(plane: ControlPlane, data_dir: Path, **kw: Any) -> NodeOptions:
    assert plane.server is not None and plane.credentials is not None
    return NodeOptions(server=plane.server.address, token=plane.credentials.first_join_token(), data_dir=data_dir,
                       timings=FAST, cidr_wait=0.3, usage_interval=0.3, proxy=False, **kw)


@pytest.fixture
async def node(plane: ControlPlane, tmp_path: Path) -> AsyncIterator[Node]:
    n = Node(NodeConfig(name="node-1", cpu="2", memory="4Gi", pods=20, labels={"zone": "a"},
                        taints=[{"key": "dedicated", "value": "test", "effect": "PreferNoSchedule"}]),
             node_options(plane, tmp_path / "node-1"), say=lambda s: None)
    await n.start()
    try:
        yield n
    finally:
        await n.stop()


def pod(name: str, script: str, *, image: str = "busybox", policy: str = "Always", node: str = "node-1",
        grace: int = 2, **spec: Any) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node, "restartPolicy": policy, "terminationGracePeriodSeconds": grace,
                     "containers": [{"name": "main", "image": image, "command": ["sh", "-c", script]}], **spec}}


def marked(marker: str) -> list[psutil.Process]:
    """Live processes whose command line carries `marker`."""
    out = []
    for p in psutil.process_iter(["cmdline", "status"]):
        try:
            if p.info["status"] != psutil.STATUS_ZOMBIE and any(marker in a for a in p.info["cmdline"] or []):
                out.append(p)
        except psutil.NoSuchProcess:
            continue
    return out


def phase_is(client: Client, name: str, phase: str) -> Callable[[], Any]:
    async def check() -> dict | None:
        p = await client.get("Pod", name)
        return p if (p.get("status") or {}).get("phase") == phase else None
    return check


def condition(obj: dict, type_: str) -> dict:
    return next(c for c in obj["status"]["conditions"] if c["type"] == type_)


async def test_node_registers_renews_its_lease_and_is_ready(client: Client, node: Node) -> None:
    n = await client.get("Node", "node-1", None)
    st = n["status"]
    storage = st["capacity"].pop("ephemeral-storage")  # the data dir's file system (test_local_storage.py)
    assert st["capacity"] == {"cpu": "2", "memory": "4Gi", "pods": "20"} and to_int(storage) > 0
    assert st["nodeInfo"]["kubeletVersion"] == "v1.30.0+kube-tui"
    assert st["nodeInfo"]["operatingSystem"] == "linux"
    assert n["metadata"]["labels"]["kubernetes.io/hostname"] == "node-1"
    assert n["metadata"]["labels"]["zone"] == "a"
    assert n["spec"]["taints"] == [{"key": "dedicated", "value": "test", "effect": "PreferNoSchedule"}]
    ready = condition(n, "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == ("True", "KubeletReady", "kubelet is posting ready status")
    assert condition(n, "MemoryPressure")["reason"] == "KubeletHasSufficientMemory"
    # No node lifecycle controller here: the node claimed a /24 of the pod range itself.
    cidr = n["spec"]["podCIDR"]
    assert cidr.startswith("127.") and cidr.endswith(".0/24")
    ip = cidr.rsplit(".", 1)[0] + ".1"
    assert {"type": "InternalIP", "address": ip} in st["addresses"]
    assert n["metadata"]["annotations"]["kube-tui.io/kubelet-endpoint"].startswith(f"tcp://{ip}:")
    lease = await client.get("Lease", "node-1", "kube-node-lease")
    assert lease["spec"]["holderIdentity"] == "node-1"
    assert lease["spec"]["leaseDurationSeconds"] == 2
    assert lease["metadata"]["ownerReferences"][0]["uid"] == n["metadata"]["uid"]
    first = meta.parse_time(lease["spec"]["renewTime"])

    async def renewed() -> bool:
        again = await client.get("Lease", "node-1", "kube-node-lease")
        return (meta.parse_time(again["spec"]["renewTime"]) or 0) > (first or 0)

    await wait_for(renewed, 5, what="a lease renewal")
    # The node's credential may not touch another node.
    assert node.client is not None
    with pytest.raises(ApiError) as e:
        await node.client.patch("Node", "other", {"metadata": {"labels": {"x": "y"}}}, None)
    assert e.value.code in (403, 404)

    # kubectl cordon / uncordon: the kubelet says so at its next status update, as the kubelet does.
    async def node_event(reason: str) -> dict | None:
        return next((ev for ev in (await client.list("Event", "default"))["items"]
                     if ev["reason"] == reason and ev["involvedObject"]["kind"] == "Node"), None)
    await client.patch("Node", "node-1", {"spec": {"unschedulable": True}}, None)
    ev = await wait_for(lambda: node_event("NodeNotSchedulable"), 10, what="the NodeNotSchedulable event")
    assert ev["message"] == "Node node-1 status is now: NodeNotSchedulable" and ev["source"]["component"] == "kubelet"
    await client.patch("Node", "node-1", {"spec": {"unschedulable": False}}, None)
    await wait_for(lambda: node_event("NodeSchedulable"), 10, what="the NodeSchedulable event")


async def test_pod_runs_with_service_env_and_its_logs_are_served(client: Client, node: Node) -> None:
    svc = await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "my-db", "namespace": "default"},
                               "spec": {"ports": [{"name": "sql", "port": 5432}], "selector": {"app": "db"}}})
    ip = svc["spec"]["clusterIP"]
    await wait_for(lambda: node.kubelet is not None and node.kubelet.services is not None
                   and node.kubelet.services.get("default", "my-db"), 5, what="the service in the kubelet's cache")
    await client.create(pod("web", 'echo "db=$MY_DB_SERVICE_HOST:$MY_DB_SERVICE_PORT $MY_DB_PORT k=$KUBERNETES_SERVICE_HOST"; '
                                   'echo "ip=$POD_IP"; exec sleep 30'))
    running = await wait_for(phase_is(client, "web", "Running"), 10, what="web Running")
    st = running["status"]
    assert st["podIP"].rsplit(".", 1)[0] == node.status.pod_cidr.rsplit(".", 1)[0]  # type: ignore[union-attr]
    assert st["hostIP"] == node.status.node_ip  # type: ignore[union-attr]
    assert condition(running, "PodScheduled")["status"] == "True"

    async def logs() -> str:
        out = await client.request("logs", {"namespace": "default", "name": "web"})
        return out["text"] if "ip=" in out["text"] else ""

    text = await wait_for(logs, 5, what="the pod's logs")
    kubernetes_ip = (await client.get("Service", "kubernetes", "default"))["spec"]["clusterIP"]
    assert kubernetes_ip == ClusterNetwork.from_dict(client.hello["network"]).kubernetes_ip
    assert f"db={ip}:5432 tcp://{ip}:5432 k={kubernetes_ip}" in text
    assert f"ip={st['podIP']}" in text
    tail = await client.request("logs", {"namespace": "default", "name": "web", "tail": 1})
    assert tail["text"].startswith("ip=")
    follow = await client.request("logs", {"namespace": "default", "name": "web", "offset": tail["offset"]})
    assert follow["text"] == "" and follow["offset"] == tail["offset"]
    with pytest.raises(ApiError) as e:
        await client.request("logs", {"namespace": "default", "name": "web", "container": "nope"})
    assert e.value.code == 400 and "container nope is not valid" in e.value.message

    async def started_event() -> bool:
        evs = (await client.list("Event", "default"))["items"]
        return any(ev["reason"] == "Started" and ev["message"] == "Started container main"
                   and ev["involvedObject"]["name"] == "web" and ev["source"]["host"] == "node-1" for ev in evs)

    await wait_for(started_event, 5, what="a Started event")

    async def usage() -> list[int] | None:
        n = await client.get("Node", "node-1", None)
        return json.loads(n["metadata"].get("annotations", {}).get("kube-tui.io/usage", "{}")).get("default/web")

    cpu, memory = await wait_for(usage, 5, what="the usage annotation")
    assert cpu >= 0 and memory > 0

    # kubectl exec, not interactive: the command runs in the container's env, its exit code comes back
    out = await client.exec("web", ["sh", "-c", 'echo "in $HOSTNAME at $POD_IP"; exit 4'])
    assert out == {"exitCode": 4, "output": f"in web at {st['podIP']}\n"}
    out = await client.exec("web", ["no-such-command"], container="main")
    assert out["exitCode"] == 126 and 'exec: "no-such-command": executable file not found' in out["output"]
    with pytest.raises(ApiError) as e:
        await client.exec("web", ["true"], container="nope")
    assert e.value.code == 400 and "container nope is not valid for pod web" in e.value.message
    with pytest.raises(ApiError) as e:
        await client.exec("web", [])
    assert e.value.code == 400 and "'command' must be a non-empty list of strings" in e.value.message
    with pytest.raises(ApiError) as e:  # killed at its time limit, and said so
        await client.exec("web", ["sleep", "5"], timeout=0.5)
    assert e.value.code == 504 and "did not finish within 0.5s and was killed" in e.value.message
    for bad in ("abc", -5, 601):
        with pytest.raises(ApiError) as e:
            await client.request("exec", {"name": "web", "command": ["true"], "timeout": bad})
        assert e.value.code == 400 and "'timeout' must be a number of seconds in (0, 600]" in e.value.message
    out = await client.exec("web", ["sh", "-c", "head -c 1200000 /dev/zero | tr '\\0' x"])
    assert out["exitCode"] == 0 and out["output"].startswith("x" * 1000)
    assert out["output"].endswith("[kube-tui: the output was cut at 1024 KiB]\n")


async def _cli(plane: ControlPlane, home: Path, args: list[str], **io: Any) -> asyncio.subprocess.Process:
    """`kube-tui ARGS` against the plane, as its admin, without blocking the loop the plane runs on."""
    assert plane.server is not None and plane.credentials is not None
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tui.cli", args[0], "--server", plane.server.address, "--token", plane.credentials.admin,
        *args[1:], env=kube_tui_env(home), **io)


async def test_exec_streams_input_and_output_and_gives_a_terminal(client: Client, node: Node, plane: ControlPlane,
                                                                  tmp_path: Path) -> None:
    await client.create(pod("shell", "exec sleep 300"))
    await wait_for(phase_is(client, "shell", "Running"), 10, what="shell Running")
    # Through the API server: a session, its input, its output as it comes, its exit code once read out.
    opened = await client.exec_open("shell", ["sh", "-c", "read -r a; echo \"got $a\"; echo oops >&2; cat; exit 5"],
                                    stdin=True)
    sid = opened["session"]
    assert (await client.exec_stream("shell", sid, input=b"one\n"))["accepted"] == 4
    got, err, code = b"", b"", None
    while b"got one\n" not in got or b"oops\n" not in err:
        r = await client.exec_stream("shell", sid, read=True, wait=5)
        got, err = got + r["output"], err + r["error"]
    assert (got, err, r["exitCode"]) == (b"got one\n", b"oops\n", None)  # stderr apart, as kubectl keeps it
    await client.exec_stream("shell", sid, input=b"two", eof=True)
    got = b""
    while code is None:
        r = await client.exec_stream("shell", sid, read=True, wait=5)
        got, code = got + r["output"], r["exitCode"]
    assert (got, code) == (b"two", 5)
    again = await client.exec_stream("shell", sid, read=True)  # kept a while: a lost answer changes nothing
    assert again["exitCode"] == 5
    with pytest.raises(ApiError) as e:
        await client.request("exec", {"name": "shell", "session": sid, "input": "not bytes"})
    assert e.value.code == 400 and "field 'input' must be bytes" in e.value.message

    # kube-tui exec -i, stdin from a pipe: everything reaches the command, its code becomes ours.
    proc = await _cli(plane, tmp_path, ["exec", "-i", "shell", "--", "sh", "-c", "wc -c; exit 3"],
                      stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await communicate(proc, b"x" * 200_000, 30)
    assert (stdout.strip(), proc.returncode) == (b"200000", 3)
    assert b"command terminated with exit code 3" in stderr
    # stdin from a file, or /dev/null (which epoll refuses); the command's stderr comes out on ours.
    script = tmp_path / "script.sh"
    script.write_text("echo from-a-file; echo to-stderr >&2\n" * 3000)
    for source in (script, Path(os.devnull)):
        with source.open("rb") as f:
            proc = await _cli(plane, tmp_path, ["exec", "-i", "shell", "--", "sh"], stdin=f,
                              stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            stdout, stderr = await communicate(proc, timeout=30)
        assert proc.returncode == 0, stderr
        lines = 3000 if source == script else 0
        assert (stdout.count(b"from-a-file\n"), stderr.count(b"to-stderr\n")) == (lines, lines)

    # Output as it comes; ^C (SIGINT) without a terminal ends the exec and kills the command on the node.
    proc = await _cli(plane, tmp_path, ["exec", "shell", "--", "sh", "-c", "echo started; exec sleep 302"],
                      stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 15) == b"started\n"  # while the command still runs
    await wait_for(lambda: any(p.cmdline() == ["sleep", "302"] for p in marked("302")), 10, what="sleep to run")
    proc.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(proc.wait(), 15) == 130
    await wait_for(lambda: not any(p.cmdline() == ["sleep", "302"] for p in marked("302")), 10,
                   what="the interrupted command to be killed")

    # ^C while our stdout is not read at all (a pager that stopped): no hang, the command is killed.
    reader_r, reader_w = os.pipe()
    try:
        proc = await _cli(plane, tmp_path, ["exec", "shell", "--", "sh", "-c", "exec yes 303"],
                          stdout=reader_w, stderr=asyncio.subprocess.PIPE)
        await wait_for(lambda: any(p.cmdline() == ["yes", "303"] for p in marked("303")), 10, what="yes to run")
        unread = array.array("i", [0])

        def pipe_full() -> bool:
            fcntl.ioctl(reader_r, termios.FIONREAD, unread)
            return unread[0] >= 60_000

        await wait_for(pipe_full, 10, what="our stdout's pipe to fill")
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 15) == 130
    finally:
        os.close(reader_w)
        os.close(reader_r)
    await wait_for(lambda: not any(p.cmdline() == ["yes", "303"] for p in marked("303")), 10,
                   what="the interrupted command to be killed")

    # kube-tui exec -it from a terminal: a shell on a pty of its own, ^C and exit as in kubectl exec -it.
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
    proc = await _cli(plane, tmp_path, ["exec", "-it", "shell", "--", "sh"], stdin=slave, stdout=slave, stderr=slave,
                      start_new_session=True)
    os.close(slave)
    seen = bytearray()

    async def screen_shows(text: bytes) -> bool:
        with contextlib.suppress(BlockingIOError, OSError):
            seen.extend(os.read(master, 65536))
        return text in seen

    os.set_blocking(master, False)
    try:
        await wait_for(lambda: screen_shows(b"# ") or screen_shows(b"$ "), 15, what="the shell's prompt")
        os.write(master, b"tty; stty size; sleep 301\r")
        await wait_for(lambda: screen_shows(b"33 111"), 15, what="the shell's answer")
        assert b"/dev/pts/" in seen
        await wait_for(lambda: any(p.cmdline() == ["sleep", "301"] for p in marked("301")), 10, what="sleep in the shell")
        os.write(master, b"\x03")  # ^C: the remote terminal interrupts sleep, the shell goes on
        os.write(master, b"echo $((6*7)); exit 4\r")
        await wait_for(lambda: screen_shows(b"42"), 15, what="the shell after ^C")
        assert await asyncio.wait_for(proc.wait(), 15) == 4
        await wait_for(lambda: screen_shows(b"command terminated with exit code 4"), 5, what="kubectl's last line")
    except AssertionError as e:
        raise AssertionError(f"{e}\nthe terminal showed: {bytes(seen)!r}") from None
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        os.close(master)


async def test_cp_copies_files_and_directories_both_ways_through_exec(client: Client, node: Node, plane: ControlPlane,
                                                                     tmp_path: Path) -> None:
    inpod = tmp_path / "inpod"  # the node's directory, mounted at the same path in the container (hostPath)
    inpod.mkdir()
    box = pod("box", "exec sleep 300", volumes=[{"name": "inpod", "hostPath": {"path": str(inpod)}}])
    box["spec"]["containers"][0]["volumeMounts"] = [{"name": "inpod", "mountPath": str(inpod)}]
    await client.create(box)
    await wait_for(phase_is(client, "box", "Running"), 10, what="box Running")
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("hello\n")
    blob = os.urandom(300_000)
    (src / "sub" / "b.bin").write_bytes(blob)

    async def cp(*argv: str) -> tuple[int, bytes]:
        proc = await _cli(plane, tmp_path, ["cp", *argv], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        _, err = await communicate(proc, timeout=30)
        return proc.returncode or 0, err

    assert await cp(str(src), f"box:{inpod}") == (0, b"")  # into a directory that exists: under its own name
    assert (inpod / "src" / "sub" / "b.bin").read_bytes() == blob
    assert await cp(str(src / "a.txt"), f"default/box:{inpod}/renamed.txt") == (0, b"")
    assert (inpod / "renamed.txt").read_text() == "hello\n"
    back = tmp_path / "back"
    back.mkdir()
    assert await cp(f"box:{inpod}/src", str(back / "copy")) == (0, b"")  # a directory becomes DEST
    assert (back / "copy" / "a.txt").read_text() == "hello\n" and (back / "copy" / "sub" / "b.bin").read_bytes() == blob
    assert await cp(f"box:{inpod}/src/sub", str(back)) == (0, b"")  # DEST exists: the contents go in it
    assert (back / "b.bin").read_bytes() == blob
    assert await cp(f"box:{inpod}/renamed.txt", str(back / "one.txt")) == (0, b"")
    assert (back / "one.txt").read_text() == "hello\n"
    assert await cp(f"box:{inpod}/renamed.txt", str(back)) == (0, b"")  # a file onto a directory: into it
    assert (back / "renamed.txt").read_text() == "hello\n"
    (inpod / "src" / "link").symlink_to("/etc/passwd")  # links are skipped, with kubectl's warning
    code, err = await cp(f"box:{inpod}/src", str(back / "again"))
    assert code == 0 and b"warning: skipping symlink" in err and not (back / "again" / "link").exists()
    code, err = await cp(str(src), "box:")
    assert code == 1 and b"filepath can not be empty" in err
    # A command that writes more than the node holds before it reads its input: output is taken while
    # input goes out, so neither side waits on the other for ever.
    script = "head -c 600000 /dev/zero >&2; wc -c"
    out = io.BytesIO()
    code, err = await asyncio.wait_for(run_in_pod(client, "default", "box", ["sh", "-c", script], None,
                                                  stdin=io.BytesIO(b"z" * 1_000_000), stdout=out), 60)
    assert (code, len(err), out.getvalue().strip()) == (0, 600_000, b"1000000")
    code, err = await cp(f"box:{inpod}/nothing-here", str(back / "x"))
    assert code == 1 and b"nothing-here: Cannot stat: No such file or directory" in err
    code, err = await cp(str(tmp_path / "no-such-file"), f"box:{inpod}")
    assert code == 1 and b"no-such-file doesn't exist in local filesystem" in err


async def test_logs_of_an_object_use_one_of_its_pods(client: Client, node: Node, plane: ControlPlane,
                                                     tmp_path: Path) -> None:
    for name in ("lg-b", "lg-a"):
        p = pod(name, f"echo from {name}; exec sleep 300")
        p["metadata"]["labels"] = {"app": "lg"}
        await client.create(p)
    await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "lg"},
                         "spec": {"selector": {"app": "lg"}, "ports": [{"port": 80}]}})
    for name in ("lg-a", "lg-b"):
        await wait_for(phase_is(client, name, "Running"), 10, what=f"{name} Running")

    async def logs(*argv: str) -> tuple[int, bytes, bytes]:
        proc = await _cli(plane, tmp_path, ["logs", *argv], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await communicate(proc, timeout=30)
        return proc.returncode or 0, out, err

    async def logged() -> bool:
        code, out, err = await logs("svc/lg")
        return code == 0 and out == b"from lg-a\n" and b"Found 2 pods, using pod/lg-a" in err

    await wait_for(logged, 10, what="the service's first pod's logs")
    code, _, err = await logs("configmap/x")
    assert code == 1 and b"TYPE one of pod, svc, deploy, rs, ds, sts, job" in err
    # -l: each pod's log (the last 10 lines of each, as kubectl); --prefix says whose each line is
    code, out, err = await logs("-l", "app=lg", "--prefix")
    assert (code, out) == (0, b"[pod/lg-a/main] from lg-a\n[pod/lg-b/main] from lg-b\n"), err
    code, _, err = await logs("lg-a", "-l", "app=lg")
    assert code == 1 and err.startswith(b"error: only a selector (-l) or a POD name is allowed\n")
    assert await logs("-l", "app=nope") == (0, b"", b"No resources found in default namespace.\n")
    # exec takes TYPE/NAME as kubectl does: one of the object's running pods
    proc = await _cli(plane, tmp_path, ["exec", "svc/lg", "--", "sh", "-c", "echo $HOSTNAME"],
                      stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await communicate(proc, timeout=30)
    assert (proc.returncode, out) == (0, b"lg-a\n"), err


async def test_attach_and_a_default_container_as_kubectl(client: Client, node: Node, plane: ControlPlane,
                                                         tmp_path: Path) -> None:
    two = pod("two", "echo main says hi; exec sleep 300")
    two["metadata"]["labels"] = {"attach": "me"}
    two["spec"]["containers"].append({"name": "side", "image": "busybox", "command": ["sh", "-c", "exec sleep 300"]})
    await client.create(two)
    reader = pod("reader", "while read line; do echo got $line; done")
    reader["spec"]["containers"][0]["stdin"] = True
    reader["metadata"]["labels"] = {"attach": "me"}
    await client.create(reader)
    for name in ("two", "reader"):
        await wait_for(phase_is(client, name, "Running"), 10, what=f"{name} Running")

    async def cli(*argv: str, stdin: bytes | None = None) -> tuple[int, bytes, bytes]:
        proc = await _cli(plane, tmp_path, list(argv), stdin=asyncio.subprocess.PIPE if stdin is not None else None,
                          stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await communicate(proc, stdin, timeout=30)
        return proc.returncode or 0, out, err

    defaulted = b'Defaulted container "main" out of: main, side\n'
    assert await cli("exec", "two", "--", "echo", "hi") == (0, b"hi\n", defaulted)

    async def logged() -> bool:
        return await cli("logs", "two") == (0, b"main says hi\n", defaulted)
    await wait_for(logged, 10, what="the default container's log")
    assert await cli("logs", "two", "-c", "nope") == (1, b"", b"error: container nope is not valid for pod two\n")
    # attach -i: our input to the container's stdin, its output to us; the session ends with our input
    # (the container goes on: its stdin is not stdinOnce), and -t on it is said to be of no use
    proc = await _cli(plane, tmp_path, ["attach", "reader", "-i", "-t"], stdin=asyncio.subprocess.PIPE,
                      stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"hello\n")
    await proc.stdin.drain()
    assert await asyncio.wait_for(proc.stdout.readline(), 20) == b"got hello\n"
    proc.terminate()
    _, err = await communicate(proc, timeout=20)
    assert err.startswith(b"error: Unable to use a TTY - container main did not allocate one\n"
                          b"If you don't see a command prompt, try pressing enter.\n"), err
    assert (await client.get("Pod", "reader"))["status"]["phase"] == "Running"  # detached, not stopped
    code, _, err = await cli("attach", "reader", "-c", "nope")
    assert (code, err) == (1, b"error: cannot attach to the container: container nope not found in pod reader\n")
    # as kubectl attach: nothing said of the pod chosen among a Service's, the server's refusal in its form
    await client.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "both"},
                         "spec": {"selector": {"attach": "me"}, "ports": [{"port": 80}]}})
    code, _, err = await cli("attach", "svc/both", "-c", "nope")
    assert code == 1 and err.startswith(b"error: cannot attach to the container: container nope not found"), err
    floating = pod("floating", "sleep 300", nodeSelector={"no": "such"})
    del floating["spec"]["nodeName"]
    await client.create(floating)
    code, _, err = await cli("attach", "floating", "-q")
    assert (code, err) == (1, b"Error from server (BadRequest): pod floating does not have a host assigned\n")
    assert await cli("attach") == (1, b"", b"error: at least 1 argument is required for attach\n")


async def test_logs_timestamps_and_since_from_the_command_line(client: Client, node: Node, plane: ControlPlane,
                                                               tmp_path: Path) -> None:
    await client.create(pod("ts", "echo first; echo second", policy="Never"))
    await wait_for(phase_is(client, "ts", "Succeeded"), 10, what="ts Succeeded")

    async def logs(*argv: str) -> tuple[int, bytes, bytes]:
        proc = await _cli(plane, tmp_path, ["logs", "ts", *argv], stdout=asyncio.subprocess.PIPE,
                          stderr=asyncio.subprocess.PIPE)
        out, err = await communicate(proc, timeout=30)
        return proc.returncode or 0, out, err

    code, out, _ = await logs("--timestamps", "--since", "1h")
    assert code == 0 and re.fullmatch(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z first\n)"
                                      rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z second\n)", out), out
    code, out, _ = await logs("--since-time", "2099-01-01T00:00:00Z", "--tail", "1")
    assert (code, out) == (0, b"")
    code, _, err = await logs("--since", "5s", "--since-time", "2099-01-01T00:00:00Z")
    assert code == 1 and b"at most one of `sinceTime` or `sinceSeconds` may be specified" in err
    code, _, err = await logs("--since", "5 minutes")
    assert code == 2 and b'invalid duration "5 minutes"' in err


async def test_a_log_longer_than_a_wire_frame_comes_in_pages(client: Client, node: Node, plane: ControlPlane,
                                                              tmp_path: Path) -> None:
    # 6,000 lines of 1,000 x: ~6 MB, more than one frame (4 MiB) can carry
    await client.create(pod("chatty", "i=0; line=$(printf '%01000d' 0 | tr 0 x); while [ $i -lt 6000 ]; do "
                                      'echo "$i $line"; i=$((i+1)); done', policy="Never"))
    await wait_for(phase_is(client, "chatty", "Succeeded"), 30, what="chatty Succeeded")
    pages = [a async for a in log_pages(lambda b: client.request("logs", b), {"namespace": "default", "name": "chatty"})]
    assert len(pages) >= 3 and all(len(p["text"]) <= 2 * 1024 * 1024 for p in pages)
    lines = "".join(p["text"] for p in pages).splitlines()
    assert len(lines) == 6000 and lines[0].startswith("0 xxx") and lines[-1].startswith("5999 xxx")
    proc = await _cli(plane, tmp_path, ["logs", "chatty", "--tail", "4500"], stdout=asyncio.subprocess.PIPE,
                      stderr=asyncio.subprocess.PIPE)
    out, err = await communicate(proc, timeout=60)
    got = out.decode().splitlines()
    assert proc.returncode == 0 and len(got) == 4500 and got[0].startswith("1500 x"), err


async def test_port_forward_reaches_a_pod_port_through_the_api_server(client: Client, node: Node, plane: ControlPlane,
                                                                     tmp_path: Path) -> None:
    web = pod("web", "")
    web["spec"]["containers"][0].update(image="nginx", command=None,
                                        ports=[{"name": "http", "containerPort": 8080}])
    await client.create(web)
    await wait_for(phase_is(client, "web", "Running"), 10, what="web Running")

    async def get(port: int) -> bytes:
        async def ready() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.0\r\nHost: web\r\n\r\n")
            answer = await reader.read()  # HTTP/1.0: the server closes when done
            writer.close()
            return answer
        return await wait_for(ready, 10, what="an answer through the forwarded port")

    async def opened() -> str | None:  # Running comes before nginx listens (the pod has no readiness probe)
        try:
            return str((await client.port_forward_open("web", 8080))["session"])
        except ApiError as e:
            assert "connection refused" in e.message, e.message
            return None

    # Through the API: one connection is one session; it ends (exit code 0) when the pod closes its side.
    sid = await wait_for(opened, 10, what="nginx to listen")
    r = await client.exec_stream("web", sid, input=b"GET / HTTP/1.0\r\n\r\n", eof=True, verb="portforward")
    assert r["accepted"] == 18
    answer, code = b"", None
    while code is None:
        r = await client.exec_stream("web", sid, read=True, wait=5, verb="portforward")
        answer, code = answer + r["output"], r["exitCode"]
    assert answer.startswith(b"HTTP/1.") and b"Welcome to nginx" in answer and code == 0
    with pytest.raises(ApiError) as e:  # nothing listens there: kubelet's wording, naming pod and port
        await client.port_forward_open("web", 9)
    assert e.value.code == 400 and "error forwarding port 9 to pod default/web" in e.value.message

    # kube-tui port-forward pod/web :http: a free local port to the named container port.
    proc = await _cli(plane, tmp_path, ["port-forward", "pod/web", ":http"], stdout=asyncio.subprocess.PIPE,
                      stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    try:
        line = await asyncio.wait_for(proc.stdout.readline(), 15)
        assert line.startswith(b"Forwarding from 127.0.0.1:") and line.endswith(b" -> 8080\n"), line
        local = int(line.split(b":")[1].split()[0])
        for _ in range(3):
            assert b"Welcome to nginx" in await get(local)
        assert await asyncio.wait_for(proc.stdout.readline(), 5) == f"Handling connection for {local}\n".encode()
        sessions = node.kubelet.exec_sessions  # type: ignore[union-attr]
        await wait_for(lambda: len(sessions) == 0, 10, what="the finished connections' sessions to end")
        # A local client that resets its connection ends its session on the node too.
        _, w = await asyncio.open_connection("127.0.0.1", local)
        w.write(b"GET / HT")
        await w.drain()
        await wait_for(lambda: len(sessions) == 1, 10, what="the connection's session")
        w.transport.abort()
        await wait_for(lambda: len(sessions) == 0, 10, what="the reset connection's session to end")
        # ^C with a connection open: it is closed, its session ended, no traceback.
        _, held = await asyncio.open_connection("127.0.0.1", local)
        await wait_for(lambda: len(sessions) == 1, 10, what="the held connection's session")
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 15) == 0
        assert proc.stderr is not None and b"Traceback" not in await proc.stderr.read()
        await wait_for(lambda: len(sessions) == 0, 10, what="the held connection's session to end")
        held.close()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    # a named port a pod does not have: kubectl's words
    proc = await _cli(plane, tmp_path, ["port-forward", "web", "8081:https"], stdout=asyncio.subprocess.PIPE,
                      stderr=asyncio.subprocess.PIPE)
    _, stderr = await communicate(proc, timeout=15)
    assert proc.returncode == 1 and b"error: Pod 'web' does not have a named port 'https'" in stderr
    # The pod goes away: the forward ends, as kubectl's does.
    proc = await _cli(plane, tmp_path, ["port-forward", "web", ":8080"], stdout=asyncio.subprocess.PIPE,
                      stderr=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    assert (await asyncio.wait_for(proc.stdout.readline(), 15)).startswith(b"Forwarding from")
    await client.delete("Pod", "web")
    _, stderr = await communicate(proc, timeout=15)
    assert proc.returncode == 1 and b"error: lost connection to pod" in stderr


async def test_on_failure_pod_that_exits_0_succeeds_and_keeps_its_status(client: Client, node: Node) -> None:
    await client.create(pod("job", "echo done", policy="OnFailure"))
    done = await wait_for(phase_is(client, "job", "Succeeded"), 10, what="job Succeeded")
    term = done["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (0, "Completed")
    out = await client.request("logs", {"namespace": "default", "name": "job"})
    assert out["text"] == "done\n"


async def test_deletion_stops_gracefully_then_the_pod_is_gone(client: Client, node: Node) -> None:
    marker = f"m{uuid.uuid4().hex[:10]}"
    await client.create(pod("victim", f"trap 'echo bye; exit 0' TERM; while true; do sleep 0.05; done # {marker}"))
    await wait_for(phase_is(client, "victim", "Running"), 10, what="victim Running")
    assert marked(marker)
    deleted = await client.delete("Pod", "victim")
    assert deleted["metadata"]["deletionTimestamp"]

    async def gone() -> bool:
        try:
            await client.get("Pod", "victim")
        except ApiError as e:
            return e.code == 404
        return False

    await wait_for(gone, 10, what="the pod object to go")
    assert not marked(marker)
    killing = [ev for ev in (await client.list("Event", "default"))["items"] if ev["reason"] == "Killing"]
    assert any(ev["message"] == "Stopping container main" for ev in killing)


async def test_unknown_image_reports_image_pull_back_off(client: Client, plane: ControlPlane, tmp_path: Path) -> None:
    # A back-off long enough for ImagePullBackOff to show between pulls (FAST's 0.1 s would hide it).
    opts = node_options(plane, tmp_path / "puller")
    opts.timings = dataclasses.replace(FAST, backoff_base=3.0, backoff_max=3.0)
    n = Node(NodeConfig(name="puller"), opts, say=lambda s: None)
    await n.start()
    try:
        await _image_pull_back_off(client)
    finally:
        await n.stop()


async def _image_pull_back_off(client: Client) -> None:
    p = pod("bad", "true", image="registry.example/nope:1", node="puller")
    del p["spec"]["containers"][0]["command"]
    await client.create(p)

    async def backoff() -> dict | None:
        got = await client.get("Pod", "bad")
        cs = (got.get("status") or {}).get("containerStatuses") or [{}]
        waiting = cs[0].get("state", {}).get("waiting", {})
        return waiting if waiting.get("reason") == "ImagePullBackOff" else None

    waiting = await wait_for(backoff, 10, what="ImagePullBackOff")
    assert 'Back-off pulling image "registry.example/nope:1"' in waiting["message"]
    got = await client.get("Pod", "bad")
    assert got["status"]["phase"] == "Pending"

    # The kubelet's events for a failed pull: Pulling, Failed, BackOff; never "already present on machine".
    async def events() -> dict[str, str] | None:
        evs = {ev["reason"] + " " + ev["message"]: ev["type"] for ev in (await client.list("Event", "default"))["items"]
               if ev["involvedObject"]["name"] == "bad"}
        return evs if any(k.startswith("BackOff ") for k in evs) else None

    evs = await wait_for(events, 10, what="the pull events")
    assert evs['Pulling Pulling image "registry.example/nope:1"'] == "Normal"
    assert evs['BackOff Back-off pulling image "registry.example/nope:1"'] == "Normal"
    assert {"Failed Error: ErrImagePull", "Failed Error: ImagePullBackOff"} <= set(evs)
    assert any(k.startswith('Failed Failed to pull image "registry.example/nope:1": ') for k in evs)
    assert not any(k.startswith("Pulled ") for k in evs), evs


async def test_a_container_that_fails_to_start_is_backed_off_like_a_crash(client: Client, node: Node) -> None:
    """kubernetes.io's memory-request-limit-2 (polinux/stress): here `stress` is not on the node, so the start
    fails. The kubelet backs such a container off as any it must restart: CrashLoopBackOff between attempts."""
    p = yaml.safe_load((K8S_DOCS / "memory-request-limit-2.yaml").read_text())
    p["metadata"]["namespace"] = "default"
    p["spec"]["nodeName"] = "node-1"
    await client.create(p)
    seen: set[str] = set()

    async def crash_loop() -> dict | None:
        got = await client.get("Pod", "memory-demo-2")
        cs = ((got.get("status") or {}).get("containerStatuses") or [{}])[0]
        waiting = (cs.get("state") or {}).get("waiting") or {}
        seen.add(waiting.get("reason", ""))
        return got if waiting.get("reason") == "CrashLoopBackOff" and cs["restartCount"] >= 1 else None

    got = await wait_for(crash_loop, 15, what="CrashLoopBackOff")
    cs = got["status"]["containerStatuses"][0]
    uid = got["metadata"]["uid"]
    assert re.fullmatch(rf"back-off \d+(ms|s) restarting failed container=memory-demo-2-ctr "
                        rf"pod=memory-demo-2_default\({uid}\)", cs["state"]["waiting"]["message"])
    assert cs["lastState"]["terminated"]["reason"] == "StartError"

    async def backoff_event() -> bool:
        return any(ev["reason"] == "BackOff" and ev["type"] == "Warning" and ev["message"] ==
                   f"Back-off restarting failed container memory-demo-2-ctr in pod memory-demo-2_default({uid})"
                   for ev in (await client.list("Event", "default"))["items"])

    await wait_for(backoff_event, 10, what="a BackOff event")

    async def run_container_error() -> bool:  # right after each failed start
        await crash_loop()
        return "RunContainerError" in seen

    await wait_for(run_container_error, 10, what="RunContainerError after a failed start")


def node_proc(plane: ControlPlane, home: Path, name: str) -> Proc:
    assert plane.server is not None and plane.credentials is not None
    return Proc(["node", "--name", name, "--server", plane.server.address, "--token",
                 plane.credentials.first_join_token(), "--lease-duration", "2", "--data-dir", str(home / name)], home)


@pytest.mark.slow
async def test_kill_9_of_the_node_leaves_no_container_alive(client: Client, plane: ControlPlane, tmp_path: Path) -> None:
    proc = node_proc(plane, tmp_path, "doomed")
    try:
        await wait_for(lambda: "ready" in proc.output(), 20, what=f"the node to be ready:\n{proc.output()}")
        marker = f"m{uuid.uuid4().hex[:10]}"
        await client.create(pod("orphan", f"sleep 300 # {marker}", node="doomed"))
        await wait_for(phase_is(client, "orphan", "Running"), 10, what="orphan Running")
        assert marked(marker)
        proc.kill9()
        await wait_for(lambda: not marked(marker), 10, what="every container of the killed node to die")
    finally:
        proc.close()


@pytest.mark.slow
async def test_sigterm_stops_pods_marks_the_node_not_ready_and_keeps_the_pods(
        client: Client, plane: ControlPlane, tmp_path: Path) -> None:
    proc = node_proc(plane, tmp_path, "leaving")
    try:
        await wait_for(lambda: "ready" in proc.output(), 20, what=f"the node to be ready:\n{proc.output()}")
        marker = f"m{uuid.uuid4().hex[:10]}"
        await client.create(pod("stay", f"sleep 300 # {marker}", node="leaving", grace=1))
        await wait_for(phase_is(client, "stay", "Running"), 10, what="stay Running")
        proc.signal(signal.SIGTERM)
        await wait_for(lambda: proc.popen.poll() is not None, 15, what="the node to exit")
        assert proc.popen.returncode == 0, proc.output()
        assert not marked(marker)
        n = await client.get("Node", "leaving", None)
        ready = condition(n, "Ready")
        assert (ready["status"], ready["reason"], ready["message"]) == ("False", "KubeletNotReady", "node is shutting down")
        assert (await client.get("Pod", "stay"))["metadata"]["name"] == "stay"  # not deleted
    finally:
        proc.close()


@pytest.mark.slow
async def test_control_plane_restart_keeps_running_containers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    address = f"tcp://127.0.0.1:{stable_port_pair()}"
    plane = ControlPlane(data, address, scheduler=False, controllers=False, bookmark_interval=0.2, timings=FAST)
    await plane.start()
    n = Node(NodeConfig(name="steady"), node_options(plane, tmp_path / "steady"), say=lambda s: None)
    client: Client | None = None
    try:
        await n.start()
        client = plane.client("test")
        marker = f"m{uuid.uuid4().hex[:10]}"
        await client.create(pod("keep", f"sleep 300 # {marker}", node="steady"))
        await wait_for(phase_is(client, "keep", "Running"), 10, what="keep Running")
        pids = {p.pid for p in marked(marker)}
        assert pids
        await plane.stop()
        plane = ControlPlane(data, address, scheduler=False, controllers=False, bookmark_interval=0.2, timings=FAST)
        await plane.start()
        client = plane.client("test2")
        before = (await client.get("Lease", "steady", "kube-node-lease"))["spec"]["renewTime"]

        async def heartbeat() -> bool:
            lease = await client.get("Lease", "steady", "kube-node-lease")  # type: ignore[union-attr]
            return bool(lease["spec"]["renewTime"] != before)

        await wait_for(heartbeat, 15, what="the node to renew its lease on the new control plane")
        # The pod informer relisted and found nothing new: the container kept running.
        got = await client.get("Pod", "keep")
        assert got["status"]["phase"] == "Running"
        assert got["status"]["containerStatuses"][0]["restartCount"] == 0
        assert {p.pid for p in marked(marker)} == pids
        assert condition(await client.get("Node", "steady", None), "Ready")["status"] == "True"
    finally:
        await n.stop()
        await plane.stop()


async def test_a_restarted_node_runs_its_pods_again_on_the_same_address(
        client: Client, plane: ControlPlane, tmp_path: Path) -> None:
    opts = node_options(plane, tmp_path / "again")
    first = Node(NodeConfig(name="again"), opts, say=lambda s: None)
    await first.start()
    try:
        await client.create(pod("sticky", "exec sleep 300", node="again", grace=1))
        before = await wait_for(phase_is(client, "sticky", "Running"), 10, what="sticky Running")
    finally:
        await first.stop()
    assert condition(await client.get("Node", "again", None), "Ready")["status"] == "False"
    second = Node(NodeConfig(name="again"), opts, say=lambda s: None)
    await second.start()  # with the credential the first run saved: no join token needed
    try:
        assert second.status is not None and second.status.pod_cidr == first.status.pod_cidr  # type: ignore[union-attr]

        async def running_again() -> dict | None:
            p = await client.get("Pod", "sticky")
            mine = second.kubelet is not None and ("default", "sticky") in second.kubelet.workers
            running = "running" in (((p.get("status") or {}).get("containerStatuses") or [{}])[0].get("state") or {})
            return p if mine and (p.get("status") or {}).get("phase") == "Running" and running else None

        after = await wait_for(running_again, 10, what="sticky running on the restarted node")
        assert after["status"]["podIP"] == before["status"]["podIP"]
        cs = after["status"]["containerStatuses"][0]
        # the container the stop ended is its lastState (so get pods shows "1 (Xs ago)"), and counted a restart
        assert cs["restartCount"] == 1 and cs["lastState"]["terminated"]["reason"] == "NodeShutdown", cs
        assert condition(await client.get("Node", "again", None), "Ready")["status"] == "True"
    finally:
        await second.stop()


async def test_a_restarted_node_still_serves_the_logs_of_a_pod_that_finished_before(
        client: Client, plane: ControlPlane, tmp_path: Path) -> None:
    opts = node_options(plane, tmp_path / "keeper")
    first = Node(NodeConfig(name="keeper"), opts, say=lambda s: None)
    await first.start()
    try:
        await client.create(pod("done", "echo the answer is 42", node="keeper", policy="Never"))
        await wait_for(phase_is(client, "done", "Succeeded"), 10, what="done Succeeded")
    finally:
        await first.stop()
    second = Node(NodeConfig(name="keeper"), opts, say=lambda s: None)
    await second.start()
    try:
        assert second.kubelet is not None and ("default", "done") not in second.kubelet.workers  # finished: not run again
        got = await wait_for(lambda: client.request("logs", {"namespace": "default", "name": "done"}), 10,
                             what="the logs through the restarted node")
        assert got["text"] == "the answer is 42\n"
        with pytest.raises(ApiError, match='previous terminated container "main" in pod "done" not found'):
            await client.request("logs", {"namespace": "default", "name": "done", "previous": True})
        uid = (await client.get("Pod", "done"))["metadata"]["uid"]
        logs = second.kubelet.log_dir / f"default_done_{uid}"
        assert logs.is_dir()
        await client.delete("Pod", "done")
        await wait_for(lambda: not logs.exists(), 10, what="the pod's logs removed with it")
    finally:
        await second.stop()
