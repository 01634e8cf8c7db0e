"""Versions in the shape of Kubernetes' version.Info: the Kubernetes version the API server serves (its
/version, `kubectl version`'s Server Version) and kube-tui's own (`kube-tui version`'s Client Version)."""

from __future__ import annotations

import importlib.metadata
import platform
import re
import sys

from control.api import meta

# Go's GOARCH for what platform.machine() says (version.Info's platform is GOOS/GOARCH)
_GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "386", "i686": "386",
           "armv7l": "arm", "armv6l": "arm", "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}


def _platform() -> str:
    machine = platform.machine().lower()
    return f"{sys.platform}/{_GOARCH.get(machine, machine)}"


def info(git_version: str) -> dict[str, str]:
    """version.Info for `git_version` (v1.30.0+kube-tui), in its field order. What Go fills in at build time
    kube-tui does not know: the commit and tree state stay empty, the build date is Go's default for an
    unset one; the toolchain is the Python that runs it."""
    m = re.match(r"v?(\d+)\.(\d+)", git_version)
    major, minor = m.groups() if m else ("", "")
    return {"major": major, "minor": minor, "gitVersion": git_version, "gitCommit": "", "gitTreeState": "",
            "buildDate": "1970-01-01T00:00:00Z", "goVersion": f"python{platform.python_version()}",
            "compiler": platform.python_implementation().lower(), "platform": _platform()}


def kubernetes() -> dict[str, str]:
    """What the API server answers on /version: the Kubernetes version kube-tui behaves as."""
    return info(meta.KUBE_VERSION)


def kube_tui() -> dict[str, str]:
    """kube-tui's own version, from its package metadata (pyproject.toml)."""
    try:
        own = importlib.metadata.version("kube-tui")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        own = "0.0.0"
    return info(f"v{own}")
