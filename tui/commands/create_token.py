"""`kube-tui create token SERVICE_ACCOUNT` as kubectl's (create_token.go): a TokenRequest for the ServiceAccount,
the token printed (with a newline on a terminal only), or the whole TokenRequest with -o."""

from __future__ import annotations

import argparse
import sys

from control.api.cron import CronError, parse_go_duration
from control.client import Client
from tui.commands.common import fail, with_client
from tui.printers.output import to_json, to_yaml

BOUND_KINDS = {"Pod": "v1", "Secret": "v1"}  # boundObjectKindToAPIVersions


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The flags only `create token` has (kube-tui create takes the union of its sub-commands' flags)."""
    p.add_argument("--audience", action="append", default=[],
                   help="token: an audience of the token (repeatable; default: the API server's)")
    p.add_argument("--duration", default="", help="token: its requested lifetime, e.g. 10m, 2h (default: the server's, 1h)")
    p.add_argument("--bound-object-kind", default="", help="token: Pod or Secret, the object the token is bound to")
    p.add_argument("--bound-object-name", default="", help="token: the name of the object the token is bound to")
    p.add_argument("--bound-object-uid", default="", help="token: the uid the bound object must have")


def request_for(args: argparse.Namespace) -> dict:
    """TokenOptions.Validate and Run's TokenRequest; ValueError worded as kubectl's."""
    seconds = 0.0
    if args.duration:
        try:
            seconds = parse_go_duration(args.duration)
        except CronError as e:
            raise ValueError(f'error: invalid argument "{args.duration}" for "--duration" flag: {e}') from None
    if not args.name:
        raise ValueError("error: service account name is required")
    if seconds < 0:
        raise ValueError("error: --duration must be greater than or equal to 0")
    if seconds != int(seconds):
        raise ValueError("error: --duration cannot be expressed in units less than seconds")
    if any(not a for a in args.audience):
        raise ValueError("error: --audience must not be an empty string")
    kind = args.bound_object_kind
    if not kind:
        if args.bound_object_name:
            raise ValueError("error: --bound-object-name can only be set if --bound-object-kind is provided")
        if args.bound_object_uid:
            raise ValueError("error: --bound-object-uid can only be set if --bound-object-kind is provided")
    elif kind not in BOUND_KINDS:
        raise ValueError(f"error: supported --bound-object-kind values are {', '.join(sorted(BOUND_KINDS))}")
    elif not args.bound_object_name:
        raise ValueError("error: --bound-object-name is required if --bound-object-kind is provided")
    spec: dict = {"audiences": list(args.audience) or None}
    if seconds > 0:
        spec["expirationSeconds"] = int(seconds)
    if kind:
        spec["boundObjectRef"] = {"kind": kind, "apiVersion": BOUND_KINDS[kind], "name": args.bound_object_name,
                                  "uid": args.bound_object_uid}
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "metadata": {},
            "spec": {k: v for k, v in spec.items() if v is not None}}


def run(args: argparse.Namespace) -> int:
    try:
        request = request_for(args)
    except ValueError as e:
        return fail(str(e))

    async def create(client: Client) -> int:
        from control.errors import ApiError

        try:
            answer = await client.request("token", {"kind": "ServiceAccount", "name": args.name,
                                                    "namespace": args.namespace or "default", "object": request})
        except ApiError as e:
            return fail(f"error: failed to create token: {e.message}")
        token = str((answer.get("status") or {}).get("token") or "")
        if not token:
            return fail("error: failed to create token: no token in server response")
        if args.output in ("yaml", "json"):
            print(to_yaml(answer) if args.output == "yaml" else to_json(answer), end="")
        else:
            sys.stdout.write(token + ("\n" if sys.stdout.isatty() else ""))
        return 0

    result = with_client(args, create)
    return result if isinstance(result, int) else 0
