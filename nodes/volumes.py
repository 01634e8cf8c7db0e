"""A pod's volumes on its node, as the kubelet's volume manager and volume plugins set them up: emptyDir,
configMap, secret, downwardAPI and projected under `<pods dir>/<pod uid>/volumes/kubernetes.io~<plugin>/<name>`
(the last four written with the AtomicWriter's layout, and rewritten when their source changes), hostPath
with its type checks; an emptyDir of medium Memory is a tmpfs mounted there, as the kubelet sizes it. Each
container's volumeMounts become the binds its runtime makes (mountns.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from control.api import quantity
from control.api.configdata import Base64Error, decode_base64, secret_bytes
from control.api.warnings import MOUNTED_VOLUMES
from control.errors import ApiError
from nodes.env import ConfigError, expand, field_value, resource_value
from nodes.runtime import mountns

# The volume types the node mounts; any other is stored but not mounted (control/api/warnings.py says so).
SUPPORTED = MOUNTED_VOLUMES
PLUGIN_DIRS = {"emptyDir": "kubernetes.io~empty-dir", "configMap": "kubernetes.io~configmap",
               "secret": "kubernetes.io~secret", "downwardAPI": "kubernetes.io~downward-api",
               "projected": "kubernetes.io~projected"}
# Volumes whose files the kubelet writes from API data: always mounted read-only.
API_DATA = ("configMap", "secret", "downwardAPI", "projected")
DEFAULT_MODE = 0o644  # configMap, secret, downwardAPI and projected's defaultMode default
DATA_DIR, NEW_DATA_DIR = "..data", "..data_tmp"
MEMORY = "Memory"  # emptyDir.medium: a tmpfs

Fetch = Callable[[str, str, str], Awaitable[dict[str, Any] | None]]
# The kubelet's token manager: (pod, audience, expirationSeconds) -> a ServiceAccount token bound to the pod.
TokenSource = Callable[[dict[str, Any], str, int], Awaitable[str]]


@dataclass(frozen=True)
class FileProjection:
    data: bytes
    mode: int


class MountError(Exception):
    """A volume cannot be set up: the kubelet's FailedMount, retried until it can."""

    def __init__(self, volume: str, detail: str) -> None:
        super().__init__(f'MountVolume.SetUp failed for volume "{volume}" : {detail}')
        self.volume = volume


def volume_type(volume: dict[str, Any]) -> str:
    """The volume's source field (emptyDir, configMap, persistentVolumeClaim, ...); "" for none."""
    return next((k for k in volume if k != "name"), "")


# -- payloads: what the files of an API-data volume hold -------------------------------------------------

def _validate_path(path: str) -> None:
    """The AtomicWriter's path rules (validation refuses these before they get here)."""
    if not path:
        raise ValueError(f'invalid path: must not be empty: "{path}"')
    if path.startswith("/"):
        raise ValueError(f"invalid path: must be relative path: {path}")
    items = path.split("/")
    if ".." in items:
        raise ValueError(f"invalid path: must not contain '..': {path}")
    if items[0].startswith("..") and len(items[0]) > 2:
        raise ValueError(f"invalid path: must not start with '..': {path}")


def _key_payload(values: Mapping[str, bytes], items: list[dict[str, Any]] | None, default_mode: int,
                 optional: bool, missing_key: str) -> dict[str, FileProjection]:
    """Every key as a file named after it, or with `items` the listed keys at their paths (kubelet's
    MakePayload); a listed key that is not there fails unless the volume is optional."""
    if not items:
        return {k: FileProjection(v, default_mode) for k, v in values.items()}
    out: dict[str, FileProjection] = {}
    for item in items:
        key = str(item.get("key", ""))
        if key not in values:
            if optional:
                continue
            raise ValueError(f"{missing_key}: {key}")
        mode = item.get("mode")
        out[str(item.get("path") or key)] = FileProjection(values[key], default_mode if mode is None else int(mode))
    return out


def configmap_values(cm: dict[str, Any] | None) -> dict[str, bytes]:
    """A ConfigMap's data and binaryData (decoded), as files hold them."""
    if cm is None:
        return {}
    out = {str(k): str(v).encode() for k, v in (cm.get("data") or {}).items()}
    for k, v in (cm.get("binaryData") or {}).items():
        with contextlib.suppress(Base64Error):
            out[str(k)] = decode_base64(str(v))
    return out


def configmap_payload(source: dict[str, Any], cm: dict[str, Any] | None, default_mode: int | None = None) \
        -> dict[str, FileProjection]:
    mode = source.get("defaultMode", DEFAULT_MODE) if default_mode is None else default_mode
    return _key_payload(configmap_values(cm), source.get("items"), int(mode), source.get("optional") is True,
                        "configmap references non-existent config key")


def secret_payload(source: dict[str, Any], secret: dict[str, Any] | None, default_mode: int | None = None) \
        -> dict[str, FileProjection]:
    mode = source.get("defaultMode", DEFAULT_MODE) if default_mode is None else default_mode
    values = secret_bytes(secret) if secret is not None else {}
    return _key_payload(values, source.get("items"), int(mode), source.get("optional") is True,
                        "secret references non-existent secret key")


def _format_map(values: Mapping[str, Any]) -> str:
    """fieldpath.FormatMap: `key="value"` lines, sorted (Go's %q quoting of the value)."""
    def quote(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'
    return "\n".join(f"{k}={quote(str(values[k]))}" for k in sorted(values))


def downward_payload(items: list[dict[str, Any]], pod: dict[str, Any], default_mode: int, *, pod_ip: str,
                     host_ip: str, allocatable: Mapping[str, str]) -> dict[str, FileProjection]:
    """A downwardAPI volume's (or projection's) files: each item's fieldRef or resourceFieldRef value."""
    out: dict[str, FileProjection] = {}
    md = pod.get("metadata") or {}
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    for item in items:
        mode = item.get("mode")
        mode = default_mode if mode is None else int(mode)
        if item.get("fieldRef") is not None:
            path = str(item["fieldRef"].get("fieldPath", ""))
            if path in ("metadata.labels", "metadata.annotations"):
                value = _format_map(md.get(path.split(".")[1]) or {})
            else:
                value = field_value(pod, path, pod_ip=pod_ip, host_ip=host_ip)
        elif item.get("resourceFieldRef") is not None:
            ref = item["resourceFieldRef"]
            name = ref.get("containerName")
            container = next((c for c in containers if c.get("name") == name), containers[0])
            value = resource_value(pod, container, ref, allocatable)
        else:
            continue
        out[os.path.normpath(str(item.get("path", "")))] = FileProjection(value.encode(), mode)
    return out


# -- the AtomicWriter ----------------------------------------------------------------------------------

def _same(payload: Mapping[str, FileProjection], old: Path) -> bool:
    for path, fp in payload.items():
        try:
            if (old / path).read_bytes() != fp.data or stat.S_IMODE((old / path).stat().st_mode) != fp.mode:
                return False
        except OSError:
            return False
    return True


def _old_paths(old: Path) -> set[str]:
    return {str(p.relative_to(old)) for p in old.rglob("*")} if old.is_dir() else set()


def atomic_write(target: Path, payload: Mapping[str, FileProjection]) -> bool:
    """The kubelet's AtomicWriter.Write: the payload goes to a new timestamped directory `..<UTC time>.<random>`,
    the `..data` symlink is swapped to it with one rename (a reader sees the old files or the new ones, never a
    mix), each top-level name is a symlink `name -> ..data/name`, and what the new payload no longer has is
    removed with the old directory. False when nothing changed (nothing is written)."""
    for path in payload:
        _validate_path(path)
    payload = {os.path.normpath(p): fp for p, fp in payload.items()}
    target.mkdir(parents=True, exist_ok=True)
    data_link = target / DATA_DIR
    try:
        old_name = os.readlink(data_link)
    except FileNotFoundError:
        old_name = ""
    old = target / old_name if old_name else None
    to_remove: set[str] = set()
    if old is not None:
        new_paths = set()
        for path in payload:
            parts = path.split("/")
            new_paths.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        to_remove = _old_paths(old) - new_paths
        if not to_remove and _same(payload, old) and _old_paths(old) == new_paths:
            return False
    ts_dir = Path(tempfile.mkdtemp(prefix=time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime()), dir=target))
    try:
        ts_dir.chmod(0o755)
        for path, fp in payload.items():
            full = ts_dir / path
            full.parent.mkdir(parents=True, exist_ok=True)
            full.write_bytes(fp.data)
            full.chmod(fp.mode)
        for path in payload:
            top = path.split("/", 1)[0]
            if not os.path.islink(target / top):
                os.symlink(f"{DATA_DIR}/{top}", target / top)
        tmp_link = target / NEW_DATA_DIR
        with contextlib.suppress(FileNotFoundError):
            tmp_link.unlink()
        os.symlink(ts_dir.name, tmp_link)
        os.replace(tmp_link, data_link)
    except OSError:
        shutil.rmtree(ts_dir, ignore_errors=True)
        raise
    for path in to_remove:
        if "/" not in path:  # only the volume's top-level symlinks
            with contextlib.suppress(FileNotFoundError):
                (target / path).unlink()
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return True


def set_volume_ownership(path: Path, fs_group: int, read_only: bool) -> None:
    """The kubelet's SetVolumeOwnership (volume_linux.go): every file and directory of the volume (symlinks not
    followed) group-owned by fsGroup and group-readable, writable too unless the volume is read-only; directories
    group-searchable and setgid, so that what a container makes in them is the group's as well."""
    for top, dirs, files in os.walk(path):
        for full in [top] + [os.path.join(top, n) for n in dirs + files]:
            st = os.lstat(full)
            os.lchown(full, -1, fs_group)
            if stat.S_ISLNK(st.st_mode):
                continue
            mask = 0o440 if read_only else 0o660
            if stat.S_ISDIR(st.st_mode):
                mask |= stat.S_ISGID | 0o110
            os.chmod(full, stat.S_IMODE(st.st_mode) | mask)


# -- hostPath ------------------------------------------------------------------------------------------

_FILE_TYPES = ((stat.S_ISDIR, "Directory"), (stat.S_ISREG, "File"), (stat.S_ISSOCK, "Socket"),
               (stat.S_ISCHR, "CharDevice"), (stat.S_ISBLK, "BlockDevice"))
_DESCRIPTIONS = {"Directory": "directory", "File": "file", "Socket": "socket file", "CharDevice": "character device",
                 "BlockDevice": "block device"}


def check_host_path(path: str, type_: str) -> None:
    """The hostPath plugin's checkType: create what DirectoryOrCreate / FileOrCreate ask for, and check that the
    path is what the type says (ValueError worded as the kubelet words it). No type: nothing is checked, and a
    missing path is made a directory, as containerd makes it."""
    if type_ in ("", None):
        if not os.path.exists(path):
            os.makedirs(path, 0o755, exist_ok=True)
        return
    if type_ == "DirectoryOrCreate" and not os.path.exists(path):
        os.makedirs(path, 0o755, exist_ok=True)
        type_ = "Directory"
    elif type_ == "FileOrCreate" and not os.path.exists(path):
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
        type_ = "File"
    type_ = {"DirectoryOrCreate": "Directory", "FileOrCreate": "File"}.get(type_, type_)
    if type_ not in _DESCRIPTIONS:
        raise ValueError(f"{type_} is an invalid volume type")
    if not os.path.exists(path):
        raise ValueError(f"hostPath {path} doesn't exist")
    mode = os.stat(path).st_mode
    actual = next((name for test, name in _FILE_TYPES if test(mode)), "")
    if actual != type_:
        raise ValueError(f"hostPath type check failed: {path} is not a {_DESCRIPTIONS[type_]}, it's a {actual}")


def _within(path: str, base: str) -> bool:
    return path == base or path.startswith(base.rstrip("/") + "/")


# -- emptyDir's medium: Memory ---------------------------------------------------------------------------

def resource_bytes(value: Any) -> int:
    try:
        return int(quantity.parse(value)) if value is not None else 0
    except (ValueError, TypeError):
        return 0


def pod_memory_limit(pod: dict[str, Any]) -> int:
    """The pod's memory limit as its cgroup has it (cm.ResourceConfigForPod): its limits' sum, if every container
    declares one; else 0 (no pod limit)."""
    from control.api.resourcequota import pod_resources

    containers = (pod.get("spec") or {}).get("containers") or []
    if not containers or any(resource_bytes(((c.get("resources") or {}).get("limits") or {}).get("memory")) <= 0
                             for c in containers):
        return 0
    limit = pod_resources(pod, "limits").get("memory")
    return int(limit.value) if limit is not None else 0


def memory_volume_size(source: dict[str, Any], pod: dict[str, Any], node_memory: int) -> int:
    """A memory-backed emptyDir's tmpfs size (calculateEmptyDirMemorySize, SizeMemoryBackedVolumes): the node's
    allocatable memory, else the pod's memory limit if smaller, else the volume's sizeLimit if smaller."""
    size = node_memory
    for bound in (pod_memory_limit(pod), resource_bytes(source.get("sizeLimit"))):
        if bound > 0 and (size <= 0 or bound <= size):
            size = bound
    return size


def unmount_below(path: Path) -> None:
    """Unmount every host mount at or below `path` (a pod's memory-backed volumes), deepest first."""
    base = os.path.realpath(path)
    try:
        points = [p for p, _ in mountns.host_mounts() if _within(p, base)]
    except OSError:
        return
    for point in sorted(set(points), key=len, reverse=True):
        with contextlib.suppress(OSError):
            mountns.unmount(point)


# -- one pod's volumes ---------------------------------------------------------------------------------

class PodVolumes:
    """The volumes of one pod on this node, under `pod_dir` (<pods dir>/<uid>). `fetch` is the kubelet's way
    to read a ConfigMap or Secret (kind, namespace, name) -> the object, None if it does not exist."""

    def __init__(self, pod: dict[str, Any], pod_dir: Path, fetch: Fetch | None, *, pod_ip: str, host_ip: str,
                 allocatable: Mapping[str, str], token_source: TokenSource | None = None) -> None:
        self.pod = pod
        self.pod_dir = Path(pod_dir)
        self.fetch = fetch
        self.token_source = token_source
        self.pod_ip, self.host_ip, self.allocatable = pod_ip, host_ip, dict(allocatable)
        self.paths: dict[str, str] = {}  # volume name -> its path on the node, once set up
        self.memory: dict[str, str] = {}  # the emptyDirs of medium Memory mounted as a tmpfs -> their path
        self.not_in_memory: list[str] = []  # the ones that could not be (the node may not mount): directories
        self.torn_down = False  # the pod is gone: a set-up or resync still awaiting its data writes nothing

    @property
    def volumes(self) -> list[dict[str, Any]]:
        return [v for v in (self.pod.get("spec") or {}).get("volumes") or [] if isinstance(v, dict)]

    @property
    def namespace(self) -> str:
        return str((self.pod.get("metadata") or {}).get("namespace") or "default")

    @property
    def read_only_claims(self) -> set[str]:
        """persistentVolumeClaim volumes the pod mounts read-only (persistentVolumeClaim.readOnly)."""
        return {str(v.get("name", "")) for v in self.volumes
                if isinstance(v.get("persistentVolumeClaim"), dict) and v["persistentVolumeClaim"].get("readOnly")}

    def volume_dir(self, volume: dict[str, Any]) -> Path:
        return self.pod_dir / "volumes" / PLUGIN_DIRS[volume_type(volume)] / str(volume.get("name", ""))

    async def set_up(self) -> list[MountError]:
        """Set up every volume not set up yet (kubelet's WaitForAttachAndMount); the ones that failed."""
        failed = []
        for volume in self.volumes:
            name = str(volume.get("name", ""))
            if name in self.paths or volume_type(volume) not in SUPPORTED:
                continue
            try:
                self.paths[name] = await self._set_up(volume)
            except MountError as e:
                failed.append(e)
        return failed

    async def refresh(self) -> list[MountError]:
        """Rewrite the API-data volumes from their sources now (the kubelet's periodic remount): a changed
        ConfigMap or Secret reaches the files. The volumes that could not be rewritten keep their files."""
        failed = []
        for volume in self.volumes:
            if volume_type(volume) in API_DATA and str(volume.get("name", "")) in self.paths:
                try:
                    await self._set_up(volume)
                except MountError as e:
                    failed.append(e)
        return failed

    async def _object(self, kind: str, name: str) -> dict[str, Any] | None:
        if self.fetch is None:
            return None
        return await self.fetch(kind, self.namespace, name)

    async def _required(self, kind: str, name: str, optional: bool) -> dict[str, Any] | None:
        obj = await self._object(kind, name)
        if obj is None and not optional:
            # the kubelet's cache-based manager says "configmap"/"secret", singular
            raise ValueError(f'{kind.lower()} "{name}" not found')
        return obj

    async def _set_up(self, volume: dict[str, Any]) -> str:
        name = str(volume.get("name", ""))
        kind = volume_type(volume)
        source = volume.get(kind) or {}
        try:
            if kind == "hostPath":
                path = str(source.get("path", ""))
                check_host_path(path, str(source.get("type") or ""))
                return path
            if kind == "persistentVolumeClaim":
                return await self._claim_path(volume, source)
            target = self.volume_dir(volume)
            if kind == "emptyDir":
                # world-writable, as the kubelet makes it (a tmpfs's root is 1777 of itself)
                target.mkdir(parents=True, exist_ok=True)
                target.chmod(0o777)
                if source.get("medium") == MEMORY:
                    self._mount_memory(name, target, source)
                self._own(target, read_only=False)
                return str(target)
            payload = await self._payload(kind, source)
            if not self.torn_down:
                atomic_write(target, payload)
                self._own(target, read_only=True)
            return str(target)
        except (ValueError, ConfigError) as e:
            raise MountError(name, str(e)) from None
        except OSError as e:
            raise MountError(name, f"{e.strerror}: {e.filename}" if e.filename else str(e)) from None

    def _mount_memory(self, name: str, target: Path, source: dict[str, Any]) -> None:
        """medium: Memory: a tmpfs at the volume's directory, sized as the kubelet sizes it (already there: a
        restarted node's, kept). A node that may not mount one (not run as root) keeps a directory, and says so."""
        if not os.path.ismount(target):
            size = memory_volume_size(source, self.pod, resource_bytes(self.allocatable.get("memory")))
            try:
                mountns.mount_tmpfs(str(target), size)
            except PermissionError:
                self.not_in_memory.append(name)
                return
        self.memory[name] = str(target)

    def _own(self, target: Path, read_only: bool) -> None:
        """The pod's fsGroup, if it has one, given to the volume (a node not run as root cannot: it says so in
        the pod's events, nodes/securitycontext.py)."""
        fs_group = ((self.pod.get("spec") or {}).get("securityContext") or {}).get("fsGroup")
        if fs_group is None:
            return
        try:
            set_volume_ownership(target, int(fs_group), read_only)
        except PermissionError:
            if os.geteuid() == 0:
                raise

    async def _claim_path(self, volume: dict[str, Any], source: dict[str, Any]) -> str:
        """A persistentVolumeClaim volume is its bound PersistentVolume's directory (a hostPath or local source:
        the local-path provisioner's, in this node's data dir), created if its type asks for it."""
        from control.api.persistentvolume import ClaimError, claim_host_path

        claim_name = str(source.get("claimName") or "")
        claim = await self._object("PersistentVolumeClaim", claim_name) if claim_name else None
        claims = {f"{self.namespace}/{claim_name}": claim} if claim is not None else {}
        volume_name = str(((claim or {}).get("spec") or {}).get("volumeName") or "")
        pv = await self.fetch("PersistentVolume", "", volume_name) if volume_name and self.fetch else None
        try:
            path = claim_host_path(volume, self.namespace, claims, {volume_name: pv} if pv is not None else {})
        except ClaimError as e:
            raise ValueError(str(e)) from None
        host = ((pv or {}).get("spec") or {}).get("hostPath") or {}
        check_host_path(path, str(host.get("type") or ""))
        return path

    async def _payload(self, kind: str, source: dict[str, Any]) -> dict[str, FileProjection]:
        optional = source.get("optional") is True
        if kind == "configMap":
            return configmap_payload(source, await self._required("ConfigMap", str(source.get("name", "")), optional))
        if kind == "secret":
            return secret_payload(source, await self._required("Secret", str(source.get("secretName", "")), optional))
        mode = int(source.get("defaultMode", DEFAULT_MODE))
        if kind == "downwardAPI":
            return self._downward(source.get("items") or [], mode)
        payload: dict[str, FileProjection] = {}
        errors: list[str] = []
        for projection in source.get("sources") or []:
            try:
                payload.update(await self._projection(projection, mode))
            except (ValueError, ConfigError) as e:
                errors.append(str(e))
        if errors:
            # utilerrors.NewAggregate: one error as it is, more in brackets
            raise ValueError(errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]")
        return payload

    async def _projection(self, projection: dict[str, Any], mode: int) -> dict[str, FileProjection]:
        if projection.get("configMap") is not None:
            src = projection["configMap"]
            obj = await self._required("ConfigMap", str(src.get("name", "")), src.get("optional") is True)
            return configmap_payload(src, obj, mode)
        if projection.get("secret") is not None:
            src = projection["secret"]
            obj = await self._required("Secret", str(src.get("name", "")), src.get("optional") is True)
            return secret_payload(src, obj, mode)
        if projection.get("downwardAPI") is not None:
            return self._downward(projection["downwardAPI"].get("items") or [], mode)
        if projection.get("serviceAccountToken") is not None and self.token_source is not None:
            src = projection["serviceAccountToken"]
            try:
                token = await self.token_source(self.pod, str(src.get("audience") or ""),
                                                int(src.get("expirationSeconds") or 3600))
            except ApiError as e:
                raise ValueError(f"failed to fetch token: {e.message}") from None
            return {str(src.get("path") or "token"): FileProjection(token.encode(), mode)}
        return {}  # clusterTrustBundle: not projected here

    def _downward(self, items: list[dict[str, Any]], mode: int) -> dict[str, FileProjection]:
        return downward_payload(items, self.pod, mode, pod_ip=self.pod_ip, host_ip=self.host_ip,
                                allocatable=self.allocatable)

    def mounts(self, container: dict[str, Any], env: Mapping[str, str]) -> list[dict[str, Any]]:
        """The container's volumeMounts as binds (mountns.Mount): a subPath (or subPathExpr, expanded against
        the container's env) is made inside its volume if it is not there; ConfigError (the kubelet's
        CreateContainerConfigError) for one that leads out of its volume."""
        kinds = {str(v.get("name", "")): volume_type(v) for v in self.volumes}
        out: list[dict[str, Any]] = []
        for vm in container.get("volumeMounts") or []:
            name = str(vm.get("name", ""))
            source = self.paths.get(name)
            if source is None:
                continue  # a volume type the node does not mount
            sub = str(vm.get("subPath") or "")
            if vm.get("subPathExpr"):
                sub = expand(str(vm["subPathExpr"]), env)
            mount = {"source": source, "target": str(vm.get("mountPath", "")),
                     "readOnly": vm.get("readOnly") is True or kinds.get(name) in API_DATA
                     or name in self.read_only_claims}
            if sub:
                mount.update(source=self._sub_path(source, sub, name, str(container.get("name", ""))),
                             volume=os.path.realpath(source))
            out.append(mount)
        return out

    @staticmethod
    def _sub_path(volume: str, sub: str, mount: str, container: str) -> str:
        """The node path of a subPath inside its volume, made (a directory) if it is not there, as makeMounts and
        doSafeMakeDir make it: an absolute one or one with '..' is refused as the kubelet words it; the part that
        exists must resolve inside the volume, and the rest is created one directory at a time without following
        a symlink, so that no symlink a container left in the volume gets the node to create anything outside."""
        if sub.startswith("/"):
            raise ConfigError(f"error SubPath `{sub}` must not be an absolute path")
        if ".." in sub.split("/"):
            raise ConfigError(f"unable to provision SubPath `{sub}`: must not contain '..'")
        refused = ConfigError(f'failed to prepare subPath for volumeMount "{mount}" of container "{container}"')
        base = os.path.realpath(volume)
        parts = [p for p in sub.split("/") if p not in ("", ".")]
        have = len(parts)
        while have > 0 and not os.path.lexists(os.path.join(base, *parts[:have])):
            have -= 1
        existing = os.path.realpath(os.path.join(base, *parts[:have]))
        if not _within(existing, base):
            raise refused
        try:
            mode = stat.S_IMODE(os.stat(base).st_mode)  # the volume's, as the kubelet gives a subPath it makes
            fd = mountns.open_beneath(base, os.path.relpath(existing, base))
            try:
                for name in parts[have:]:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(name, mode, dir_fd=fd)
                    nxt = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                    os.close(fd)
                    fd = nxt
                    os.fchmod(fd, mode)  # mkdir's mode went through the umask
            finally:
                os.close(fd)
        except OSError:
            raise refused from None
        real = os.path.realpath(os.path.join(base, *parts))
        if not _within(real, base):
            raise refused
        return real

    def rootfs(self, container: str) -> Path:
        """Where the container's root is built (a tmpfs in its own mount namespace: nothing of it on the node)."""
        return self.pod_dir / "containers" / container / "rootfs"

    def disk_volumes(self) -> dict[str, str]:
        """The emptyDir volumes on the node's disk (not tmpfs) set up so far: name -> path. Their usage is the
        pod's ephemeral storage, as the kubelet's volume stats count it."""
        kinds = {str(v.get("name", "")): v for v in self.volumes}
        return {name: path for name, path in self.paths.items()
                if volume_type(kinds.get(name, {})) == "emptyDir" and name not in self.memory}

    def size_limits(self) -> dict[str, str]:
        """The emptyDir volumes with a sizeLimit: name -> the limit as written."""
        return {str(v.get("name", "")): str(v["emptyDir"]["sizeLimit"]) for v in self.volumes
                if isinstance(v.get("emptyDir"), dict) and v["emptyDir"].get("sizeLimit") is not None}

    def unmount_memory(self) -> None:
        """The node stops: its memory-backed volumes' tmpfs go (their files with them, as on a reboot)."""
        unmount_below(self.pod_dir)
        self.memory.clear()

    def tear_down(self) -> None:
        """The pod is gone from the node: its volume directories (and containers' root mount points) go, a
        memory-backed one's tmpfs unmounted first."""
        self.torn_down = True
        unmount_below(self.pod_dir)
        self.memory.clear()
        shutil.rmtree(self.pod_dir, ignore_errors=True)
