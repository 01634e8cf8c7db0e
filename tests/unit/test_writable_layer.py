"""A container's writable layer (nodes/runtime/mountns.py, nodes/rootfs.py): its size, readOnlyRootFilesystem, the
user-namespace path, and the fall back to the node's own directories when the kernel refuses an overlay. The
namespaces are made for real, in a child process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from nodes.rootfs import layer_bytes, no_layer_event, read_only_root
from nodes.runtime.mountns import LAYER_BYTES

REPO = str(Path(__file__).resolve().parents[2])
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="makes mount namespaces as root (and drops to a user)")


def in_container(root: Path, body: str, *args: str, user: int | None = None, before: str = "",
                 mounts: list[dict] | None = None, **enter: object) -> str:
    """Run `body` (Python, after `before` and `why = mountns.enter(...)`) in a child's new view; its stdout."""
    script = ("import ctypes, json, os, sys; sys.path.insert(0, sys.argv[1]); from nodes.runtime import mountns\n"
              "user = json.loads(sys.argv[4])\n"
              "if user is not None:\n"
              "    os.setgroups([]); os.setgid(user); os.setuid(user)\n"
              "    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: its /proc/self is its own again\n"
              + before + "why = mountns.enter(sys.argv[2], json.loads(sys.argv[5]), **json.loads(sys.argv[3]))\n"
              + body)
    out = subprocess.run([sys.executable, "-c", script, REPO, str(root), json.dumps(enter), json.dumps(user),
                          json.dumps(mounts or []), *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_layer_leaves_room_above_the_ephemeral_storage_limit() -> None:
    # the limit is met by the eviction manager, not by ENOSPC
    assert layer_bytes({"resources": {"limits": {"ephemeral-storage": "64Mi"}}}) == 64 * 1024 * 1024 + LAYER_BYTES
    assert layer_bytes({"resources": {"limits": {"cpu": "1"}}}) == LAYER_BYTES
    assert layer_bytes({}) == LAYER_BYTES
    assert read_only_root({"securityContext": {"readOnlyRootFilesystem": True}})
    assert not read_only_root({"securityContext": {"readOnlyRootFilesystem": False}}) and not read_only_root({})


def test_the_events_say_plainly_what_the_container_writes() -> None:
    assert no_layer_event("c", None, "/mnt is the node's own (overlay: invalid argument)") == (
        "NoWritableLayer", "Container c has no writable layer of its own over some of the node's directories (/mnt "
        "is the node's own (overlay: invalid argument)): what it writes there reaches the node's filesystem and "
        "outlives the container")
    assert no_layer_event("c", "unshare: operation not permitted", None)[0] == "FailedMount"


def test_a_full_layer_is_enospc(tmp_path: Path) -> None:
    out = in_container(tmp_path / "root", (
        "try:\n"
        "    open('/tmp/kube-tui-big', 'wb').write(b'x' * 2 * 1024 * 1024)\n"
        "except OSError as e:\n"
        "    print(e.strerror)\n"), layer_bytes=1024 * 1024)
    assert out == "No space left on device\n"
    assert not os.path.exists("/tmp/kube-tui-big")


def test_when_the_kernel_refuses_overlays_the_container_writes_the_nodes_directories_and_says_so(
        tmp_path: Path) -> None:
    """Today's view (binds of the node's directories), and the reason, which the pod's events show."""
    target = tmp_path / "written-through"
    out = in_container(tmp_path / "root", "open(sys.argv[6], 'w').write('x')\nprint(why)\n", str(target), before=(
        "import errno\n"
        "real = mountns._mount\n"
        "def no_overlay(source, target, fstype, flags, data=None):\n"
        "    if fstype == 'overlay':\n"
        "        raise OSError(errno.ENODEV, 'no overlay')\n"
        "    return real(source, target, fstype, flags, data)\n"
        "mountns._mount = no_overlay\n"))
    assert out == "this kernel has no overlay filesystem\n"
    assert target.read_text() == "x"


def test_a_user_namespace_gets_a_layer_too() -> None:
    """The non-root node's path: a user namespace mapping the user to itself; /tmp is layered (and still
    writable by that user, sticky and world-writable as on the node)."""
    base = tempfile.mkdtemp(prefix="kube-tui-userns-")
    try:
        os.chown(base, 65534, 65534)
        out = in_container(Path(base) / "root", (
            "open('/tmp/kube-tui-userns-test', 'w').write('x')\n"
            "print(oct(os.stat('/tmp').st_mode & 0o7777), os.path.isdir('/proc/self'), why)\n"), user=65534)
        mode, proc, why = out.strip().split(" ", 2)
        assert (mode, proc) == ("0o1777", "True")
        # a top-level directory with mounts below it (not on every host) is the node's own, and said so
        assert why == "None" or "is the node's own (in a user namespace" in why, why
        assert not os.path.exists("/tmp/kube-tui-userns-test")
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_a_read_only_root_keeps_a_volume_mounted_over_one_of_its_directories_writable(tmp_path: Path) -> None:
    """The remount that makes /tmp's overlay read-only reaches the overlay, not the emptyDir mounted over it."""
    volume = tmp_path / "volume"
    volume.mkdir()
    out = in_container(tmp_path / "root", (
        "open('/tmp/kube-tui-in-volume', 'w').write('x')\n"
        "try:\n"
        "    open('/etc/kube-tui-layer-test', 'w')\n"
        "except OSError as e:\n"
        "    print(e.strerror)\n"), read_only=True, mounts=[{"source": str(volume), "target": "/tmp", "readOnly": False}])
    assert out == "Read-only file system\n"
    assert (volume / "kube-tui-in-volume").read_text() == "x"
