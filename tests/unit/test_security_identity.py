"""securityContext users and groups as the node derives them (nodes/securitycontext.py), fsGroup's volume ownership
(nodes/volumes.py), and the busybox image's `id`."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from control.api.warnings import collect
from nodes import images, securitycontext
from nodes.env import ConfigError
from nodes.runtime.shim import parse_user
from nodes.securitycontext import container_user, identity, verify_run_as_non_root
from nodes.volumes import set_volume_ownership

BUSYBOX_ID = Path(images.__file__).resolve().parent / "busybox" / "id"


def pod(sc: dict[str, Any] | None = None, **container_sc: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    c: dict[str, Any] = {"name": "main", "image": "busybox"}
    if container_sc:
        c["securityContext"] = container_sc
    p = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {"containers": [c]}}
    if sc is not None:
        p["spec"]["securityContext"] = sc
    return p, c


def ids(p: dict[str, Any], c: dict[str, Any], **kw: Any) -> securitycontext.Identity:
    return identity(p, c, image_uid=0, image_gid=0, passwd_gid=lambda uid: {1000: 1000}.get(uid),
                    memberships=lambda uid: {1000: [27]}.get(uid, []), **kw)


def test_the_docs_example_and_a_container_over_its_pod() -> None:
    p, c = pod({"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000}, allowPrivilegeEscalation=False)
    # 27: a group /etc/group lists user 1000 in (here); the docs' busybox image has none
    assert ids(p, c) == securitycontext.Identity(1000, 3000, (27, 2000, 3000), no_new_privs=True)
    p, c = pod({"runAsUser": 1000, "runAsGroup": 3000, "supplementalGroups": [4000]}, runAsUser=2000, runAsGroup=0)
    assert ids(p, c) == securitycontext.Identity(2000, 0, (0, 4000))


def test_the_group_defaults_to_the_users_in_passwd_else_root_and_the_image_user_keeps_its_own() -> None:
    assert ids(*pod({"runAsUser": 1000})).run_as == (1000, 1000, (27, 1000))  # passwd's group, /etc/group's
    assert ids(*pod({"runAsUser": 5000})).run_as == (5000, 0, (0,))  # not in passwd: gid 0, as in the docs
    assert ids(*pod()).run_as == (0, 0, (0,))
    assert ids(*pod({"runAsGroup": 7})).run_as == (0, 7, (7,))


def test_run_as_non_root_words_its_refusals_as_the_kubelet() -> None:
    p, c = pod({"runAsNonRoot": True})
    with pytest.raises(ConfigError, match=r'^container has runAsNonRoot and image will run as root \(pod: '
                                          r'"p_ns\(u1\)", container: main\)$'):
        verify_run_as_non_root(p, c, image_uid=0)
    verify_run_as_non_root(p, c, image_uid=1000)  # a node not run as root: its user is the image's
    p, c = pod({"runAsNonRoot": True}, runAsUser=0)
    with pytest.raises(ConfigError, match=r"^container's runAsUser breaks non-root policy \(pod: \"p_ns\(u1\)\", "
                                          r"container: main\)$"):
        verify_run_as_non_root(p, c, image_uid=1000)
    p, c = pod({"runAsNonRoot": True}, runAsNonRoot=False)  # the container's own says no
    verify_run_as_non_root(p, c, image_uid=0)


def test_a_node_not_run_as_root_runs_the_container_as_itself_and_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(securitycontext, "node_identity", lambda: (1001, 1001))
    run_as, no_new_privs, why = container_user(*pod({"runAsUser": 1000}, allowPrivilegeEscalation=False))
    assert (run_as, no_new_privs) == (None, True)
    assert why is not None and why.startswith("Container main runs as the node's user (uid 1001, gid 1001), not as "
                                              "its securityContext asks (uid 1000")
    assert container_user(*pod()) == (None, False, None)


def test_user_and_group_fields_are_no_longer_warned_about() -> None:
    p = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
         "spec": {"securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000, "runAsNonRoot": True,
                                      "supplementalGroups": [4000], "sysctls": [{"name": "a", "value": "1"}]},
                  "containers": [{"name": "c", "image": "busybox", "securityContext": {
                      "runAsUser": 1, "allowPrivilegeEscalation": False, "privileged": True}}]}}
    assert collect(p) == ["spec.securityContext.sysctls: stored but not enforced by kube-tui",
                          "spec.containers[0].securityContext.privileged: stored but not enforced by kube-tui"]


def test_the_shim_reads_its_user_argument() -> None:
    assert parse_user("-") is None
    assert parse_user("1000:3000:2000,3000") == (1000, 3000, [2000, 3000])
    assert parse_user("5:6:") == (5, 6, [])


@pytest.mark.skipif(os.geteuid() != 0, reason="gives files to another group")
def test_fs_group_owns_the_volume_as_set_volume_ownership_does(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir(mode=0o755)
    (tmp_path / "d" / "f").write_text("x")
    (tmp_path / "d" / "f").chmod(0o600)
    os.symlink("d/f", tmp_path / "link")
    set_volume_ownership(tmp_path, 2000, read_only=False)
    modes = {p.name: (stat.filemode(p.lstat().st_mode), p.lstat().st_gid) for p in (tmp_path / "d", tmp_path / "d" / "f")}
    assert modes == {"d": ("drwxrwsr-x", 2000), "f": ("-rw-rw----", 2000)}
    assert os.lstat(tmp_path / "link").st_gid == 2000 and stat.S_IMODE(os.stat(tmp_path).st_mode) & stat.S_ISGID
    set_volume_ownership(tmp_path / "d", 3000, read_only=True)
    assert stat.filemode((tmp_path / "d" / "f").stat().st_mode) == "-rw-rw----"  # only added to, never taken from


@pytest.mark.skipif(os.geteuid() != 0, reason="runs a command as another user")
def test_the_busybox_images_id_prints_as_busybox_does() -> None:
    def run(*args: str, **user: Any) -> str:
        return subprocess.run([str(BUSYBOX_ID), *args], capture_output=True, text=True, check=True, timeout=10,
                              **user).stdout
    assert run(user=1000, group=3000, extra_groups=[3000, 2000]) == "uid=1000 gid=3000 groups=2000,3000\n"
    assert run(user=0, group=0, extra_groups=[0, 10]) == "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n"
    assert run("-u", user=1000, group=3000, extra_groups=[]) == "1000\n"
    assert run("-G", user=1000, group=3000, extra_groups=[]) == "3000\n"
    assert run("-un", user=0, group=0, extra_groups=[]) == "root\n"
    assert images.image_env("busybox:1.28")["PATH"].split(":")[0] == str(BUSYBOX_ID.parent)
