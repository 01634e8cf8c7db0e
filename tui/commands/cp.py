"""`kube-tui cp [-c C] [-n NS] SRC DEST`: copy files and directories to and from a container, as kubectl cp.

One of SRC and DEST is `[NAMESPACE/]POD:PATH`, the other a local path. As kubectl does, the copy is
a tar stream through an exec of `tar` in the container (the exec session of control/api/remotecommand.py):
`tar -xmf -` reads what we send, `tar -cf -` writes what we take. Both go through a temporary file, so
a copy of any size holds a bounded amount in memory.

Where things land, as kubectl: into a pod directory that exists, under the source's name; a pod
directory copied here becomes DEST (its contents in DEST when DEST exists); a pod file copied onto a
local directory lands in it under its own name. What a pod sends is checked member by member before
anything is written: nothing absolute, no `..`, and links are skipped with a warning (kubectl does the
same), so a container cannot write outside DEST.
"""

from __future__ import annotations

import argparse
import contextlib
import posixpath
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import IO

from control.api.remotecommand import INPUT_MAX
from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, with_client


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("src", metavar="SRC", help="[NAMESPACE/]POD:PATH or a local path")
    p.add_argument("dest", metavar="DEST", help="[NAMESPACE/]POD:PATH or a local path")
    p.add_argument("-c", "--container", default=None, help="the container (default: the pod's first)")
    p.add_argument("-n", "--namespace", default="default")
    add_client_args(p)


def split_remote(spec: str, namespace: str) -> tuple[str, str, str] | None:
    """(namespace, pod, path) of `[NS/]POD:PATH`; None for a local path (one with no `:` before a `/`)."""
    head, colon, path = spec.partition(":")
    if not colon or not head or "/" in head.split("/", 1)[-1] or head.startswith((".", "/")):
        return None
    ns, _, pod = head.rpartition("/")
    return ns or namespace, pod, path


async def run_in_pod(client: Client, ns: str, pod: str, command: list[str], container: str | None,
                     stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None) -> tuple[int, bytes]:
    """(exit code, stderr) of `command` in the pod, fed `stdin` (to its end), its stdout written to
    `stdout`. Output is taken while input goes out, so a command that writes as it reads never waits
    on us; on any way out but its exit, the command is killed."""
    opened = await client.exec_open(pod, command, ns, container=container, stdin=stdin is not None)
    if "session" not in opened:  # it could not start
        out = opened.get("output") or ""
        return int(opened.get("exitCode") or 126), out.encode() if isinstance(out, str) else out
    sid, err, pending, ended = opened["session"], bytearray(), b"", stdin is None
    exhausted = False  # stdin has given all it has (a short read): its end may go with the last bytes
    code = None
    try:
        while code is None:
            if not ended and not pending:
                pending = stdin.read(INPUT_MAX) if stdin is not None else b""
                exhausted = len(pending) < INPUT_MAX
            if ended:
                r = await client.exec_stream(pod, sid, ns, read=True, wait=2.0)
            else:  # input, its end once all of it was taken, and whatever came out meanwhile
                # (not "this chunk is short": what is left of a chunk the node took in part is short too)
                last = exhausted
                r = await client.exec_stream(pod, sid, ns, input=pending, eof=last, read=True)
                pending = pending[int(r.get("accepted", len(pending))):]
                ended = last and not pending
            if r.get("output") and stdout is not None:
                stdout.write(r["output"])
            err += r.get("error") or b""
            code = r.get("exitCode")
        return int(code), bytes(err)
    finally:
        if code is None:
            with contextlib.suppress(ApiError, TimeoutError):
                await client.exec_stream(pod, sid, ns, close=True)


class UnsafeTar(Exception):
    pass


def extract(source: IO[bytes], top: str, dest: Path) -> tuple[int, list[str]]:
    """Extract the tar's `top` (a file or a directory) as `dest` itself; (files written, names of links
    skipped). UnsafeTar for a member that would land outside `dest`: nothing after it is written."""
    written, skipped = 0, []
    with tarfile.open(fileobj=source, mode="r|") as tar:
        for m in tar:
            if m.name != top and not m.name.startswith(top + "/"):
                continue
            rel = m.name[len(top):].lstrip("/")
            parts = [p for p in rel.split("/") if p not in ("", ".")]
            if ".." in parts or m.name.startswith("/"):
                raise UnsafeTar(f"refusing {m.name!r}: it would land outside {dest}")
            if m.issym() or m.islnk():
                skipped.append(m.name)  # kubectl: "warning: skipping symlink"
                continue
            target = dest.joinpath(*parts)
            if m.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif m.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                data = tar.extractfile(m)
                assert data is not None
                with target.open("wb") as f:
                    while chunk := data.read(1 << 20):
                        f.write(chunk)
                target.chmod(m.mode & 0o777)
                written += 1
            else:
                skipped.append(m.name)  # devices and fifos: nothing to copy
    return written, skipped


async def to_pod(client: Client, args: argparse.Namespace, local: Path, ns: str, pod: str, path: str) -> int:
    # As kubectl: into a directory that exists there, under the source's own name (`.`: its contents).
    name = posixpath.basename(posixpath.normpath(str(local)))
    name = "" if name in (".", "..") else name
    exists_dir = (await run_in_pod(client, ns, pod, ["test", "-d", path], args.container))[0] == 0
    if (path.endswith("/") or exists_dir) and name:
        path = path.rstrip("/") + "/" + name
    parent, base = posixpath.split(path.rstrip("/") or "/")
    with tempfile.TemporaryFile() as buf:
        with tarfile.open(fileobj=buf, mode="w|") as tar:
            tar.add(str(local), arcname=base or ".")
        buf.seek(0)
        code, err = await run_in_pod(client, ns, pod, ["tar", "-xmf", "-", "-C", parent or "/"], args.container,
                                     stdin=buf)
    if code:
        sys.stderr.write(err.decode(errors="replace"))
        return fail(f"command terminated with exit code {code}")
    return 0


async def from_pod(client: Client, args: argparse.Namespace, ns: str, pod: str, path: str) -> int:
    parent, base = posixpath.split(path.rstrip("/"))
    if not base:
        return fail("error: give a file or directory under /, not / itself")
    target = Path(args.dest)
    with tempfile.TemporaryFile() as buf:
        code, err = await run_in_pod(client, ns, pod, ["tar", "-cf", "-", "-C", parent or "/", base], args.container,
                                     stdout=buf)
        if code:
            sys.stderr.write(err.decode(errors="replace"))
            return fail(f"command terminated with exit code {code}")
        buf.seek(0)
        with tarfile.open(fileobj=buf, mode="r|") as tar:
            first = next(iter(tar), None)
        if first is not None and first.isfile() and args.dest_is_dir:
            target = target / base  # a file onto a directory: into it
        buf.seek(0)
        try:
            _, skipped = extract(buf, base, target)
        except UnsafeTar as e:
            return fail(f"error: {e}")
    for name in skipped:
        print(f"warning: skipping symlink, hard link or special file: {name!r}", file=sys.stderr)
    return 0


async def copy(client: Client, args: argparse.Namespace) -> int:
    src, dest = split_remote(args.src, args.namespace), split_remote(args.dest, args.namespace)
    if (src is None) == (dest is None):
        return fail("error: one of SRC and DEST must be a pod path ([NAMESPACE/]POD:PATH) and the other a local path")
    remote = dest if dest is not None else src
    assert remote is not None
    if not remote[2]:
        return fail("error: filepath can not be empty: POD:PATH")
    try:
        if dest is not None:
            return await to_pod(client, args, Path(args.src), *dest)
        return await from_pod(client, args, *remote)
    except (OSError, tarfile.TarError) as e:
        return fail(f"error: {e}")


def run(args: argparse.Namespace) -> int:
    if split_remote(args.src, args.namespace) is None and not Path(args.src).exists():
        return fail(f"error: {args.src} doesn't exist in local filesystem")
    args.dest_is_dir = Path(args.dest).is_dir()
    result = with_client(args, lambda c: copy(c, args))
    return result if isinstance(result, int) else 0
