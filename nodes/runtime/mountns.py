"""A container's own view of the filesystem, built the way runc builds one: a private mount namespace whose
root is a tmpfs holding binds of the host's top-level entries (the host is the image), with the pod's
volumes bound at their mountPaths, entered with pivot_root. Stdlib only: the shim imports it.

A mountPath that the host does not have (/etc/config, /cache) is made inside the container's root only:
its parent, when it is a host directory, is "shadowed" by a tmpfs holding binds of that directory's
entries, so the new mount point exists in the container and never on the host. The namespace dies with
the container's last process; nothing is mounted on the host at any time (every mount is made after
unshare, with the whole tree made private first).

As root the container gets a mount namespace; as any other user, a user namespace mapping that user to
itself, and a mount namespace owned by it (exec joins both).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import stat
from collections.abc import Iterable
from typing import NotRequired, TypedDict

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC = 32, 4096, 16384
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MS_PRIVATE, MS_SLAVE = 1 << 18, 1 << 19
MNT_DETACH = 2
# statvfs's f_flag bits -> the mount flags a read-only remount must keep (a user namespace may not drop them)
_KEPT_FLAGS = {os.ST_NOSUID: MS_NOSUID, os.ST_NODEV: MS_NODEV, os.ST_NOEXEC: MS_NOEXEC,
               os.ST_NOATIME: MS_NOATIME, os.ST_NODIRATIME: MS_NODIRATIME, os.ST_RELATIME: MS_RELATIME}
_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


class Mount(TypedDict):
    """One bind into the container: a host path (a volume's directory, or a file or directory in it for a
    subPath) at a path of the container. A subPath's mount names its volume: the source is reached from it
    without following symlinks when it is bound."""

    source: str
    target: str
    readOnly: bool
    volume: NotRequired[str]


class NamespaceUnavailable(Exception):
    """This host cannot give the container a mount namespace: it runs with the host's view, without mounts."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err).lower()}")


def _enc(s: str | None) -> bytes | None:
    return None if s is None else s.encode()


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = _enc
    if _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        # runc's wording for a failed mount (libcontainer/rootfs_linux.go)
        raise OSError(err, f'error mounting "{source}" to rootfs at "{target}": mount {source}:{target}, '
                           f"flags: {flags:#x}: {os.strerror(err).lower()}")


def _umount(target: str) -> None:
    _check(_libc.umount2(target.encode(), MNT_DETACH), f"unmount {target}")


def unshare(user: bool) -> None:
    """A new mount namespace for this process (and a user namespace mapping this user to itself if `user`);
    NamespaceUnavailable if the kernel or the host's policy refuses."""
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | (CLONE_NEWUSER if user else 0)
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise NamespaceUnavailable(f"unshare: {os.strerror(err).lower()}")
    if user:
        for path, text in (("/proc/self/setgroups", "deny"), ("/proc/self/uid_map", f"{uid} {uid} 1"),
                           ("/proc/self/gid_map", f"{gid} {gid} 1")):
            with open(path, "w") as f:
                f.write(text)


def open_beneath(base: str, rel: str) -> int:
    """An O_PATH fd of `base`/`rel` reached without following a symlink below `base` (the kubelet's
    safeOpenSubPath): what a subPath is bound from, so that a symlink a container swaps into its volume
    between the kubelet's check and the bind cannot lead the bind out of the volume. OSError if one is there."""
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise OSError(errno.EINVAL, f"cannot open {os.path.join(base, rel)}: must not contain '..'")
    fd = os.open(base, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for i, name in enumerate(parts):
            flags = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC | (0 if i == len(parts) - 1 else os.O_DIRECTORY)
            try:
                nxt = os.open(name, flags, dir_fd=fd)
            except OSError as e:
                raise OSError(e.errno, f"cannot open {os.path.join(base, *parts[:i + 1])}: "
                                       f"{os.strerror(e.errno or 0).lower()}") from None
            os.close(fd)
            fd = nxt
        if stat.S_ISLNK(os.fstat(fd).st_mode):  # O_PATH|O_NOFOLLOW opens the link itself
            raise OSError(errno.ELOOP, f"cannot open {os.path.join(base, *parts)}: "
                                       f"{os.strerror(errno.ELOOP).lower()}")
        return fd
    except BaseException:
        os.close(fd)
        raise


def join(pid: int, user: bool) -> None:
    """Enter the mount namespace (and first the user namespace, if it has its own) of process `pid`: what
    kubectl exec and exec probes run in. setns also moves this process's root and cwd to that namespace's."""
    for kind, flag in (("user", CLONE_NEWUSER),) * user + (("mnt", CLONE_NEWNS),):
        fd = os.open(f"/proc/{pid}/ns/{kind}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _check(_libc.setns(fd, flag), f"setns {kind} namespace of pid {pid}")
        finally:
            os.close(fd)


class Rootfs:
    """The container's root under construction at `root` (a host directory that gets a tmpfs, in this
    namespace only). `own` holds the container paths whose directory lives on a tmpfs made here, or is a
    volume bound there: entries may be created in them without touching the rest of the host."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)
        self.own: set[str] = {"/"}

    def host(self, path: str) -> str:
        return self.root + path if path != "/" else self.root

    def build(self, mounts: Iterable[Mount]) -> None:
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        _mount("tmpfs", self.root, "tmpfs", 0, "mode=755")
        self._populate("/", "/", top=True)
        # a parent's mount first, so that a volume mounted inside another volume is not hidden by it
        for m in sorted(mounts, key=lambda m: os.path.normpath(m["target"]).count("/")):
            self.bind(m)

    def _populate(self, path: str, source: str, top: bool = False) -> None:
        """Fill the own directory `path` with a bind of every entry of the host directory `source`."""
        for name in sorted(os.listdir(source)):
            src = os.path.join(source, name)
            dest = self.host(os.path.join(path, name))
            st = os.lstat(src)
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(src), dest)
                continue
            if stat.S_ISDIR(st.st_mode):
                os.mkdir(dest, stat.S_IMODE(st.st_mode))
            else:
                os.close(os.open(dest, os.O_CREAT | os.O_WRONLY, 0o600))
            _mount(src, dest, None, MS_BIND | MS_REC)
            if top and self.root.startswith(src + "/"):
                # The recursive bind copied the half-built root into itself: that copy goes.
                _umount(self.root + self.root)

    def _resolve(self, parent: str, name: str) -> str:
        """The container path `parent/name` with a symlink there followed inside the container's root."""
        path = os.path.join(parent, name)
        for _ in range(40):
            full = self.host(path)
            if not os.path.islink(full):
                return path
            link = os.readlink(full)
            path = os.path.normpath(link if link.startswith("/") else os.path.join(os.path.dirname(path), link))
        raise OSError(errno.ELOOP, f"{path}: too many levels of symbolic links")

    def _shadow(self, path: str) -> None:
        """Make the host directory at container path `path` an own one: a tmpfs over it, with its entries bound."""
        full = self.host(path)
        st = os.stat(full)
        fd = os.open(full, os.O_RDONLY | os.O_DIRECTORY)
        try:
            _mount("tmpfs", full, "tmpfs", 0, f"mode={stat.S_IMODE(st.st_mode):o},uid={st.st_uid},gid={st.st_gid}")
            self._populate(path, f"/proc/self/fd/{fd}")
        finally:
            os.close(fd)
        self.own.add(path)

    def ensure(self, target: str, directory: bool) -> str:
        """The container path `target`, created (as a directory or an empty file) if it is not there; the
        host path where it is in the root being built."""
        path = "/"
        parts = [p for p in os.path.normpath(target).split("/") if p]
        for i, name in enumerate(parts):
            last = i == len(parts) - 1
            nxt = self._resolve(path, name)
            full = self.host(nxt)
            if not os.path.lexists(full):
                if path not in self.own:
                    self._shadow(path)
                if last and not directory:
                    os.close(os.open(full, os.O_CREAT | os.O_WRONLY, 0o644))
                else:
                    os.mkdir(full, 0o755)
                    self.own.add(nxt)
            elif not last and not os.path.isdir(full):
                raise OSError(errno.ENOTDIR, f"mkdir {nxt}: not a directory")
            path = nxt
        return self.host(path)

    def bind(self, m: Mount) -> None:
        source = m["source"]
        fd = -1
        if m.get("volume"):
            # the kubelet checked the subPath; a container sharing the volume may have swapped a symlink in since
            fd = open_beneath(m["volume"], os.path.relpath(source, m["volume"]))
            source = f"/proc/self/fd/{fd}"
        try:
            directory = os.path.isdir(source)
            target = self.ensure(m["target"], directory)
            _mount(source, target, None, MS_BIND | MS_REC)
        finally:
            if fd >= 0:
                os.close(fd)
        if directory and not m.get("readOnly"):
            # A mount nested in this volume gets its mount point made in the volume, as runc makes it: shadowing
            # the volume with a tmpfs would hide from it what the container writes there. (A read-only one
            # cannot take a mount point; shadowing it hides nothing.)
            self.own.add(target[len(self.root):] or "/")
        if m.get("readOnly"):
            kept = os.statvfs(target).f_flag
            flags = MS_BIND | MS_REMOUNT | MS_RDONLY
            for st_flag, ms_flag in _KEPT_FLAGS.items():
                if kept & st_flag:
                    flags |= ms_flag
            _mount(None, target, None, flags)

    def pivot(self) -> None:
        """pivot_root into the new root and let go of the old one, as runc does (pivot_root(".", "."))."""
        number = _PIVOT_ROOT.get(platform.machine())
        if number is None:
            raise OSError(errno.ENOSYS, f"pivot_root: unknown system call number on {platform.machine()}")
        old = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
        new = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fchdir(new)
            _check(_libc.syscall(number, b".", b"."), "pivot_root .")
            os.fchdir(old)
            _mount(None, ".", None, MS_SLAVE | MS_REC)
            _umount(".")
        finally:
            os.close(old)
            os.close(new)
        os.chdir("/")


def enter(root: str, mounts: list[Mount]) -> None:
    """Give this process its container view: unshare, build the root at `root`, pivot_root into it.
    NamespaceUnavailable when no namespace can be had (nothing was changed); OSError (worded as runc words it)
    when building the view failed."""
    unshare(user=os.geteuid() != 0)
    os.makedirs(root, exist_ok=True)
    fs = Rootfs(root)
    fs.build(mounts)
    fs.pivot()
