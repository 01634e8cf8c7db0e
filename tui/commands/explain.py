"""`kube-tui explain RESOURCE[.FIELD...] [--recursive] [--api-version G/V]`: the fields of a kind with
Kubernetes' own descriptions, as `kubectl explain` prints them. Read from the schemas kube-tui ships
(control/api/openapi), so it needs no cluster."""

from __future__ import annotations

import argparse

from control.api import kinds
from control.errors import ApiError
from tui.commands.common import fail
from tui.printers.explain import ExplainError, explain, header


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("target", metavar="RESOURCE[.FIELD...]", help="e.g. pods, pods.spec.containers, deploy.spec.strategy")
    p.add_argument("--recursive", action="store_true", help="print the fields of fields, without descriptions")
    p.add_argument("--api-version", default="", help="the group/version of the kind (e.g. apps/v1)")


def run(args: argparse.Namespace) -> int:
    resource, *path = args.target.split(".")
    try:
        info = kinds.lookup(resource)
    except ApiError as e:
        return fail(f"error: {e.message}")
    api_version = args.api_version or info.api_version
    try:
        text = explain(api_version, info.kind, path, recursive=args.recursive)
    except ExplainError as e:
        print(header(api_version, info.kind), end="")
        return fail(str(e))
    print(text, end="")
    return 0

