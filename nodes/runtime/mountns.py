"""A container's own view of the filesystem, built the way runc builds one on containerd's overlayfs snapshot: a
private mount namespace whose root holds the host's top-level entries (the host is the image) under a writable
layer of the container's own, with the pod's volumes bound at their mountPaths, entered with pivot_root. Stdlib
only: the shim imports it.

The layer is a tmpfs made in the container's namespace (capped at its ephemeral-storage limit): every top-level
directory of the host is an overlay whose lowerdir is the host's directory and whose upperdir and workdir are in
that tmpfs, so what the container writes anywhere but in a volume lands in its layer, and the layer goes with the
namespace when the container's last process exits (a restarted container starts from the image again). One
overlay per top-level entry rather than one of "/": in a user namespace the kernel refuses a lowerdir with mounts
below it (they are locked), and "/" has /proc, /sys and /dev below it. Those, and any other kernel filesystem at
the top, are the host's, bound as runc mounts its own; a host mount below a layered entry is bound over it as it
is. An entry that cannot be layered (a mount below it, in a user namespace) is bound as it is, and said so.

A mountPath that the host does not have (/etc/config, /cache) is made in the layer. Without a layer, its parent,
when it is a host directory, is "shadowed" by a tmpfs holding binds of that directory's entries, so the new mount
point exists in the container and never on the host. Nothing is mounted on the host at any time (every mount is
made after unshare, with the whole tree made private first).

As root the container gets a mount namespace; as any other user, a user namespace mapping that user to
itself, and a mount namespace owned by it (exec joins both).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import re
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


def mount_tmpfs(target: str, size: int) -> None:
    """A tmpfs of `size` bytes at `target`, on the host: a memory-backed emptyDir, as the kubelet mounts one."""
    _mount("tmpfs", target, "tmpfs", 0, f"size={size}")


def unmount(target: str) -> None:
    """Detach the mount at `target` (a memory-backed emptyDir's tmpfs, as the kubelet tears one down)."""
    _umount(target)


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


# The kernel's own filesystems: a container gets the host's mounts of them (as runc mounts fresh ones), never a layer.
KERNEL_FS = frozenset({"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "mqueue", "securityfs", "debugfs",
                       "tracefs", "bpf", "pstore", "configfs", "fusectl", "hugetlbfs", "efivarfs", "binfmt_misc",
                       "autofs", "nsfs", "selinuxfs", "rpc_pipefs"})
LAYER_BYTES = 512 * 1024 * 1024  # a container's writable layer when it sets no ephemeral-storage limit


def host_mounts() -> list[tuple[str, str]]:
    """(mount point, filesystem type) of every mount this process sees, in /proc/self/mountinfo's order."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            out.append((point, fields[fields.index("-") + 1]))
    return out


def _within(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


def _option(path: str) -> str:
    """A path as an overlay mount option's value: its separators escaped."""
    return re.sub(r"([\\,:])", r"\\\1", path)


def _remount_read_only(target: str) -> None:
    """Make the mount at `target` read-only, keeping the flags a user namespace may not drop."""
    kept = os.statvfs(target).f_flag
    flags = MS_BIND | MS_REMOUNT | MS_RDONLY
    for st_flag, ms_flag in _KEPT_FLAGS.items():
        if kept & st_flag:
            flags |= ms_flag
    _mount(None, target, None, flags)


class Rootfs:
    """The container's root under construction, in this namespace only, at `base` (a host directory that gets a
    tmpfs). With a layer (`layer_bytes`, the tmpfs's size) the root is the tmpfs's root/, and its upper/ and work/
    hold what the container writes; without one, the root is the tmpfs itself, holding binds of the host's
    entries. `own` holds the container paths whose directory lives on a tmpfs made here, or is a volume bound
    there: entries may be created in them without touching the rest of the host; so may entries anywhere in a
    layered top-level directory (`layered`) but in a host mount bound inside it (`bound`)."""

    def __init__(self, base: str, layer_bytes: int | None = None, user: bool = False) -> None:
        self.base = os.path.realpath(base)
        self.root = self.base
        self.layer_bytes = layer_bytes
        self.user = user
        self.own: set[str] = {"/"}
        self.layered: set[str] = set()
        self.bound: set[str] = set()
        self.image: list[str] = []  # the mounts that make up the image: readOnlyRootFilesystem makes them read-only
        self.unlayered: list[str] = []  # why an entry is the host's own, not layered
        self.overlay = layer_bytes is not None

    def host(self, path: str) -> str:
        return self.root + path if path != "/" else self.root

    def build(self, mounts: Iterable[Mount], read_only: bool = False) -> None:
        _mount(None, "/", None, MS_REC | MS_PRIVATE)
        table = host_mounts()
        if self.layer_bytes is None:
            _mount("tmpfs", self.base, "tmpfs", 0, "mode=755")
            self._populate("/", "/", top=True)
        else:
            _mount("tmpfs", self.base, "tmpfs", 0, f"mode=755,size={self.layer_bytes}")
            for name in ("root", "upper", "work"):
                os.mkdir(os.path.join(self.base, name), 0o755)
            self.root = os.path.join(self.base, "root")
            os.chmod(self.root, 0o755)
            _mount(self.root, self.root, None, MS_BIND)  # pivot_root's new root must be a mount point
            self._layer(table)
        self.image.append(self.root)
        # Held from before the volumes are bound: a volume mounted over /tmp must not be what /tmp's remount reaches.
        image = [os.open(target, os.O_PATH | os.O_CLOEXEC) for target in self.image] if read_only else []
        try:
            # a parent's mount first, so that a volume mounted inside another volume is not hidden by it
            for m in sorted(mounts, key=lambda m: os.path.normpath(m["target"]).count("/")):
                self.bind(m)
            for fd in image:
                _remount_read_only(f"/proc/self/fd/{fd}")
        finally:
            for fd in image:
                os.close(fd)

    def _rbind(self, source: str, path: str) -> None:
        """Bind the host's `source` with every mount below it at container path `path`."""
        dest = self.host(path)
        _mount(source, dest, None, MS_BIND | MS_REC)
        if self.base.startswith(source.rstrip("/") + "/"):
            # The recursive bind copied the half-built root into itself: that copy goes.
            _umount(dest + self.base[len(source.rstrip("/")):])

    def _layer(self, table: list[tuple[str, str]]) -> None:
        """The host's top-level entries under the layer: a directory an overlay (or the host's own mount of a
        kernel filesystem), a symlink copied, anything else bound read-only."""
        fstype = dict(table)  # the last mount at a point is the one on top
        below = [point for point, _ in table if point != "/" and not _within(point, self.base)]
        for name in sorted(os.listdir("/")):
            src = "/" + name
            dest = self.host(src)
            st = os.lstat(src)
            if stat.S_ISLNK(st.st_mode):
                os.symlink(os.readlink(src), dest)
                continue
            if not stat.S_ISDIR(st.st_mode):
                os.close(os.open(dest, os.O_CREAT | os.O_WRONLY, 0o600))
                self._rbind(src, src)
                _remount_read_only(dest)
                continue
            os.mkdir(dest, stat.S_IMODE(st.st_mode))
            if fstype.get(src) in KERNEL_FS:
                self._rbind(src, src)
                continue
            inside = [point for point in below if point.startswith(src + "/")]
            if not self._overlay(src, st, bool(inside)):
                self._rbind(src, src)
                self.image.append(dest)
                continue
            self.layered.add(src)
            self.image.append(dest)
            for point in inside:
                if not any(_within(point, other) and point != other for other in inside):
                    self._rbind(point, point)  # the mounts below it come with it
                    self.bound.add(point)

    def _overlay(self, src: str, st: os.stat_result, mounts_below: bool) -> bool:
        """Mount an overlay of the host's directory `src` over the layer at its place in the root; False (and
        why, in `unlayered`) if the kernel refuses."""
        if not self.overlay:
            return False
        name = src.lstrip("/")
        upper, work = os.path.join(self.base, "upper", name), os.path.join(self.base, "work", name)
        os.mkdir(upper)
        os.mkdir(work)
        # the overlay's root is its upperdir: it must look like the host's directory (a sticky, world-writable /tmp)
        os.chmod(upper, stat.S_IMODE(st.st_mode))
        with contextlib.suppress(OSError):  # a user namespace cannot give it an owner it does not map
            os.chown(upper, st.st_uid, st.st_gid)
        options = f"lowerdir={_option(src)},upperdir={_option(upper)},workdir={_option(work)}"
        try:
            _mount("overlay", self.host(src), "overlay", 0, options + (",userxattr" if self.user else ""))
        except OSError as e:
            if e.errno == errno.ENODEV:
                self.overlay = False
                self.unlayered.append("this kernel has no overlay filesystem")
            else:
                why = "in a user namespace, a directory with mounts below it cannot be an overlay's lower layer" \
                    if self.user and mounts_below else f"overlay: {os.strerror(e.errno or 0).lower()}"
                self.unlayered.append(f"{src} is the node's own ({why})")
            return False
        return True

    def _owned(self, path: str) -> bool:
        """Whether entries may be made in the container directory `path` without touching the host."""
        if path in self.own:
            return True
        top = "/" + path.split("/")[1]
        return top in self.layered and not any(_within(path, point) for point in self.bound)

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
            if top:
                self._rbind(src, os.path.join(path, name))
            else:
                _mount(src, dest, None, MS_BIND | MS_REC)

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
                if not self._owned(path):
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
            _remount_read_only(target)

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


def enter(root: str, mounts: list[Mount], layer_bytes: int | None = LAYER_BYTES, read_only: bool = False) -> str | None:
    """Give this process its container view: unshare, build the root at `root` with a writable layer of
    `layer_bytes` (None: no layer, the host's own directories) and read-only with `read_only` (but its volumes),
    pivot_root into it. Returns why the container has no writable layer, or has one only in part (None: it
    has). NamespaceUnavailable when no namespace can be had (nothing was changed); OSError (worded as runc
    words it) when building the view failed."""
    user = os.geteuid() != 0
    unshare(user=user)
    os.makedirs(root, exist_ok=True)
    fs = Rootfs(root, layer_bytes, user)
    fs.build(mounts, read_only)
    fs.pivot()
    return "; ".join(fs.unlayered) or None
