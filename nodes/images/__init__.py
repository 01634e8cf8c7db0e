"""Built-in images: how an image reference plus command/args becomes the argv a runtime starts.

The "image" of a host-run container is the host itself; a few images (nginx, pause) are
small Python programs shipped here.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nodes.runtime.base import ImagePullError

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Image:
    """What a built-in image provides: Docker's ENTRYPOINT and CMD, and its ENV."""

    name: str
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    script: str | None = None  # a Python program of this package that is the image's entrypoint
    # A directory of this package with the image's own commands where the node's differ (busybox's `id`): first
    # on the PATH.
    bin: str | None = None


BUILTIN: dict[str, Image] = {
    "nginx": Image("nginx", script="nginx.py"),
    # The Kubernetes Basics tutorial's app (gcr.io/google-samples/kubernetes-bootcamp:v1, .../kubernetes-bootcamp:v2).
    "kubernetes-bootcamp": Image("kubernetes-bootcamp", script="bootcamp.py"),
    "pause": Image("pause", script="pause.py"),
    # The HorizontalPodAutoscaler walkthrough's php-apache app (registry.k8s.io/hpa-example): CPU per request.
    "hpa-example": Image("hpa-example", script="hpa_example.py"),
    "busybox": Image("busybox", cmd=("sh",), bin="busybox"),
    "alpine": Image("alpine", cmd=("sh",), bin="busybox"),  # alpine's userland is busybox
    "debian": Image("debian", cmd=("sh",)),
    "ubuntu": Image("ubuntu", cmd=("sh",)),
    "perl": Image("perl", cmd=("perl",)),
    "python": Image("python", cmd=("python3",), env={"LANG": "C.UTF-8"}),
}

SUGGESTED = ("nginx", "busybox", "debian", "perl", "python", "pause")
BOOTCAMP_TAGS = ("v1", "v2")


def short_name(ref: str) -> str:
    """The bare image name: registry, repository path, tag and digest dropped.

    `registry.k8s.io/busybox:1.27.2` -> `busybox`, `docker.io/library/nginx@sha256:ab..` -> `nginx`.
    """
    ref = ref.strip().split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    # A colon in the last path segment is the tag (a registry port lives in an earlier segment).
    return last.split(":", 1)[0].lower()


def image_id(ref: str) -> str:
    """A stable imageID for the status, shaped like `docker.io/library/nginx@sha256:...`."""
    name = short_name(ref)
    digest = hashlib.sha256(f"kube-tui/{name}".encode()).hexdigest()
    return f"kube-tui.local/{name}@sha256:{digest}"


def _ports(ports: list[dict[str, Any]]) -> list[int]:
    out = [int(p["containerPort"]) for p in ports
           if p.get("containerPort") and str(p.get("protocol", "TCP")).upper() == "TCP"]
    return out or [80]


def resolve(ref: str, command: list[str] | None, args: list[str] | None,
            ports: list[dict[str, Any]] | None = None) -> list[str]:
    """The argv to run for this container, with Docker's ENTRYPOINT/CMD override rules.

    Raises ImagePullError when the image is unknown and the container says nothing to run.
    """
    command = list(command or [])
    args = list(args or [])
    image = BUILTIN.get(short_name(ref))
    if image is None:
        if command or args:
            return command + args
        raise ImagePullError(
            f'Failed to pull image "{ref}": kube-tui has no built-in image "{short_name(ref)}" and the '
            f"container has no command: use one of the built-in images ({', '.join(SUGGESTED)}), or set the "
            "container's command (spec.containers[].command) to a program on the node.")
    if image.name == "kubernetes-bootcamp" and image_tag(ref) not in BOOTCAMP_TAGS:
        # Only v1 and v2 were published: the tutorial's "deploy a version that does not exist" step needs this.
        raise ImagePullError(f'Failed to pull image "{ref}": rpc error: code = NotFound desc = failed to pull and '
                             f'unpack image "{ref}": {ref}: not found')
    if image.script is not None:
        # Like the real nginx image, whose entrypoint script execs whatever it is given.
        if command or args:
            return command + args
        argv = [sys.executable, "-I", "-S", str(_HERE / image.script)]
        if image.name in ("nginx", "hpa-example"):
            for port in _ports(ports or []):
                argv += ["--listen", str(port)]
        return argv
    if command:
        return command + args
    if args:
        return list(image.entrypoint) + args
    return list(image.entrypoint) + list(image.cmd)


def image_env(ref: str) -> dict[str, str]:
    """The image's ENV, the base that the pod's env is laid over.

    PATH and HOME come from the node: the host is the image's filesystem.
    """
    env = {"PATH": os.environ.get("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")}
    if "HOME" in os.environ:
        env["HOME"] = os.environ["HOME"]
    image = BUILTIN.get(short_name(ref))
    if image is not None:
        env.update(image.env)
        if image.bin is not None:
            env["PATH"] = f"{_HERE / image.bin}:{env['PATH']}"
        if image.name == "kubernetes-bootcamp":
            env["BOOTCAMP_VERSION"] = image_tag(ref).removeprefix("v")
        if image.name == "nginx":
            # Its `nginx` command (nginx -s quit) first, as the real image has /usr/sbin/nginx.
            env["PATH"] = f"{_HERE / 'bin'}:{env['PATH']}"
            # The real image's ENV NGINX_VERSION is its tag: nginx:1.14.2 reports nginx/1.14.2.
            tag = image_tag(ref)
            if re.fullmatch(r"\d+(\.\d+)*", tag):
                env["NGINX_VERSION"] = tag
    return env


def image_tag(ref: str) -> str:
    """The tag of an image reference ("latest" when it has none): `nginx:1.14.2` -> `1.14.2`."""
    last = ref.strip().split("@", 1)[0].rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else "latest"
