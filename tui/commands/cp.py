"""`kube-tui cp [-c C] [-n NS] SRC DEST`: copy files and directories to and from a container, as kubectl cp.

One of SRC and DEST is `[NAMESPACE/]POD:PATH`, the other a local path. As kubectl does, the copy is
a tar stream through an exec of `tar` in the container (the exec session of control/api/remotecommand.py):
`tar -xmf -` reads what we send, `tar -cf -` writes what we take. Paths inside a copied tar that would
land outside the destination (absolute, `..`, links out) are refused on our side.
"""

from __future__ import annotations

import argparse
import io
import posixpath
import sys
import tarfile
from pathlib import Path

from control.api.remotecommand import INPUT_MAX
from control.client import Client
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
                     data: bytes = b"") -> tuple[int, bytes, bytes]:
    """(exit code, stdout, stderr) of `command` in the pod, fed `data` on its stdin."""
    opened = await client.exec_open(pod, command, ns, container=container, stdin=True)
    if "session" not in opened:
        out = opened.get("output") or ""
        return int(opened.get("exitCode") or 126), b"", out.encode() if isinstance(out, str) else out
    sid = opened["session"]
    view = memoryview(data)
    while True:  # all of the input, then its end (the node takes what fits and we send the rest again)
        chunk = bytes(view[:INPUT_MAX])
        last = len(view) <= INPUT_MAX
        r = await client.exec_stream(pod, sid, ns, input=chunk, eof=last)
        view = view[int(r.get("accepted", len(chunk))):]
        if last and not view:
            break
    out, err = bytearray(), bytearray()
    while True:
        r = await client.exec_stream(pod, sid, ns, read=True, wait=2.0)
        out += r.get("output") or b""
        err += r.get("error") or b""
        if r.get("exitCode") is not None:
            return int(r["exitCode"]), bytes(out), bytes(err)


def _tar_of(local: Path, name: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(str(local), arcname=name)
    return buf.getvalue()


def _extract(data: bytes, top: str, dest: Path) -> int:
    """Extract the tar's `top` (a file or a directory) as `dest`; the number of files written."""
    written = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        members = []
        for m in tar.getmembers():
            if m.name != top and not m.name.startswith(top + "/"):
                continue
            m.name = dest.name + m.name[len(top):]
            members.append(m)
            written += m.isfile()
        # filter="data": nothing absolute, no `..`, no links leaving the destination, no device files
        tar.extractall(path=str(dest.parent), members=members, filter="data")
    return written


async def copy(client: Client, args: argparse.Namespace) -> int:
    src, dest = split_remote(args.src, args.namespace), split_remote(args.dest, args.namespace)
    if (src is None) == (dest is None):
        return fail("error: one of SRC and DEST must be a pod path ([NAMESPACE/]POD:PATH) and the other a local path")
    if dest is not None:  # local -> pod
        local = Path(args.src)
        ns, pod, path = dest
        path = path or "."
        # As kubectl: into a directory that exists there, under the source's own name.
        if path.endswith("/") or (await run_in_pod(client, ns, pod, ["test", "-d", path], args.container))[0] == 0:
            path = path.rstrip("/") + "/" + local.name
        data = _tar_of(local, posixpath.basename(path.rstrip("/")) or local.name)
        code, _, err = await run_in_pod(client, ns, pod, ["tar", "-xmf", "-", "-C", posixpath.dirname(path) or "."],
                                        args.container, data)
    else:  # pod -> local
        assert src is not None
        ns, pod, path = src
        if not path:
            return fail("error: give the path to copy: POD:PATH")
        path = path.rstrip("/") or "/"
        parent, base = posixpath.dirname(path) or ".", posixpath.basename(path)
        code, data, err = await run_in_pod(client, ns, pod, ["tar", "-cf", "-", "-C", parent, base], args.container)
        if code == 0:
            target = Path(args.dest) / base if args.dest_is_dir else Path(args.dest)
            try:
                _extract(data, base, target)
            except (tarfile.TarError, OSError) as e:
                return fail(f"error: cannot write {target}: {e}")
    if code:
        sys.stderr.write(err.decode(errors="replace"))
        return fail(f"command terminated with exit code {code}")
    return 0


def run(args: argparse.Namespace) -> int:
    if split_remote(args.src, args.namespace) is None and not Path(args.src).exists():
        return fail(f"error: {args.src} doesn't exist in local filesystem")
    args.dest_is_dir = Path(args.dest).is_dir()
    result = with_client(args, lambda c: copy(c, args))
    return result if isinstance(result, int) else 0
