"""`kube-tui set image TYPE/NAME CONTAINER=IMAGE...`: change container images, as kubectl set image.

The tutorials' rolling update (`kubectl set image deployments/web web=nginx:1.27`). TYPE is a
deployment, replica set, daemon set or pod; `*=IMAGE` sets every container. The object is read and
written back with its resourceVersion (again on a conflict), so nothing another writer changed meanwhile
is lost.
"""

from __future__ import annotations

import argparse
import sys

from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, kind_named, kind_ref, with_client

KINDS = ("Deployment", "ReplicaSet", "DaemonSet", "Pod")


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("what", choices=["image"], help="what to set (image)")
    p.add_argument("target", metavar="TYPE/NAME", help="deployment/NAME, rs/NAME, ds/NAME or pod/NAME")
    p.add_argument("images", nargs="+", metavar="CONTAINER=IMAGE", help="a container's new image; *=IMAGE for all")
    p.add_argument("-n", "--namespace", default="default")
    add_client_args(p)


def parse_images(specs: list[str]) -> dict[str, str]:
    out = {}
    for spec in specs:
        name, eq, image = spec.partition("=")
        if not eq or not name or not image:
            raise ValueError(f"error: invalid image spec {spec!r}: use CONTAINER=IMAGE (or *=IMAGE)")
        out[name] = image
    return out


def _containers(obj: dict) -> list[dict]:
    spec = obj.get("spec") or {}
    if obj["kind"] != "Pod":
        spec = (spec.get("template") or {}).get("spec") or {}
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


async def set_image(client: Client, kind: str, name: str, ns: str, images: dict[str, str]) -> int:
    for _ in range(5):
        obj = await client.get(kind, name, ns)
        containers = _containers(obj)
        for want in images:
            if want != "*" and not any(c.get("name") == want for c in containers):
                return fail(f'error: unable to find container named "{want}"')
        changed = False
        for c in containers:
            image = images.get(c.get("name"), images.get("*"))
            if image is not None and c.get("image") != image:
                c["image"], changed = image, True
        if not changed:
            print(f"{kind_ref(obj)} image unchanged")  # as kubectl: nothing is written
            return 0
        try:
            out = await client.update(obj)
        except ApiError as e:
            if e.reason == "Conflict":
                continue
            raise
        for w in client.last_warnings:
            print(f"Warning: {w}", file=sys.stderr)
        print(f"{kind_ref(out)} image updated")
        return 0
    return fail(f"error: {kind.lower()} {name} kept changing under us: try again")


def run(args: argparse.Namespace) -> int:
    kind_word, _, name = args.target.partition("/")
    kind = kind_named(kind_word, KINDS)
    if kind is None or not name:
        return fail(f"error: set image takes TYPE/NAME with TYPE one of deployment, rs, ds, pod; got {args.target!r}")
    try:
        images = parse_images(args.images)
    except ValueError as e:
        return fail(str(e))
    result = with_client(args, lambda c: set_image(c, kind, name, args.namespace, images))
    return result if isinstance(result, int) else 0
