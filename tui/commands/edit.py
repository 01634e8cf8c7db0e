"""`kube-tui edit TYPE/NAME` (or `edit TYPE NAME`): change a live object in your editor, as kubectl edit.

The object is written as YAML to a temporary file and $KUBE_EDITOR, else $EDITOR, else `vi` opens it.
Saved unchanged: "Edit cancelled, no changes made." Changed: it is written back with the
resourceVersion it was read at, so a change someone else made meanwhile is a Conflict, not lost. When
the API server refuses it (a bad field, a conflict), the error is shown and, as kubectl does, your
edit is kept in a file whose path is printed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile

import yaml

from control.api import kinds, strict_yaml
from control.client import Client
from control.errors import ApiError
from tui.commands.common import add_client_args, fail, kind_ref, with_client
from tui.printers.output import to_yaml


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("target", metavar="TYPE/NAME", help="deployment/web, or TYPE with NAME after it")
    p.add_argument("name", nargs="?", help=argparse.SUPPRESS)
    p.add_argument("-n", "--namespace", default="default")
    add_client_args(p)


def editor() -> list[str]:
    return shlex.split(os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR") or "vi")


def _without_managed_fields(obj: dict) -> dict:
    md = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return dict(obj, metadata=md)


async def _update(client: Client, info: kinds.KindInfo, name: str, changed: dict, path: str) -> int:
    try:
        out = await client.update(changed, field_validation="Strict")  # as kubectl edit: a typo is refused
    except ApiError as e:
        print(f'error: {info.resource} "{name}" could not be patched: {e}', file=sys.stderr)
        return fail(f'A copy of your changes has been stored to "{path}"')
    for w in client.last_warnings:
        print(f"Warning: {w}", file=sys.stderr)
    print(f"{kind_ref(out)} edited")
    os.unlink(path)
    return 0


# What kubectl edit writes above the object (YAML comments: the object read back is the same)
EDIT_HEADER = ("# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
               "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
               "# reopened with the relevant failures.\n"
               "#\n")


def run(args: argparse.Namespace) -> int:
    kind_word, _, name = args.target.partition("/")
    name = name or args.name
    try:
        info = kinds.lookup(kind_word)
    except ApiError as e:
        return fail(str(e))
    if not name:
        return fail("error: edit takes TYPE/NAME (or TYPE NAME)")
    ns = args.namespace if info.namespaced else None
    got = with_client(args, lambda c: c.get(info.kind, name, ns))
    if isinstance(got, int):
        return got
    obj = _without_managed_fields(got)
    original = EDIT_HEADER + to_yaml(obj) + "\n"
    fd, path = tempfile.mkstemp(prefix=f"kube-tui-edit-{info.resource}-", suffix=".yaml")
    with os.fdopen(fd, "w") as f:
        f.write(original)
    # The terminal is the editor's until it exits; the edit is kept in `path` only when it could not be saved.
    code = subprocess.call([*editor(), path])
    with open(path) as f:
        edited = f.read()
    if code != 0 or edited == original:
        os.unlink(path)
        if code != 0:
            return fail(f"error: the editor ({' '.join(editor())}) exited with {code}: no changes made")
        print("Edit cancelled, no changes made.")
        return 0
    try:
        changed = strict_yaml.load(edited)  # a key given twice is refused, as kubectl edit refuses it
    except yaml.YAMLError as e:
        return fail(f'error: the edited file is not valid YAML: {e}\nA copy of your changes has been stored to "{path}"')
    if not isinstance(changed, dict):
        return fail(f'error: the edited file holds no object. A copy of your changes has been stored to "{path}"')
    if changed == obj:
        os.unlink(path)
        print("Edit cancelled, no changes made.")
        return 0
    result = with_client(args, lambda c: _update(c, info, name, changed, path))
    return result if isinstance(result, int) else 0
