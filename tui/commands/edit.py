"""`kube-tui edit`: change live objects in your editor, as kubectl edit (pkg/cmd/util/editor/editoptions.go).

The objects (TYPE/NAME ..., TYPE [NAME ...], -f FILE, -l SELECTOR) are written to one temporary file (a
`kind: List` when there are several) under kubectl's header, and $KUBE_EDITOR, else $EDITOR, else `vi`
opens it. Each object saved is sent on its own as a strategic merge patch from what was read to what was
saved, so a change someone else made meanwhile to another field is kept, not a conflict. An object the
API server refuses as invalid reopens the editor with the reasons written at the top as comments; saved
unchanged after that, the edit is given up and kept in the file, whose path is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

import yaml

from control.api import kinds, strict_yaml
from control.api.patch import two_way_merge_patch, with_last_applied
from control.client import Client
from control.errors import ApiError
from tui import manifests
from tui.commands.common import Printer, add_client_args, fail, print_warnings, with_client
from tui.printers.output import sorted_keys, to_json, to_yaml

# What kubectl edit writes above the object (YAML comments: the object read back is the same)
EDIT_HEADER = ("# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
               "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
               "# reopened with the relevant failures.\n"
               "#\n")
VALIDATE = {"strict": "strict", "true": "strict", "warn": "warn", "ignore": "ignore", "false": "ignore"}
FIELD_VALIDATION = {"strict": "Strict", "warn": "Warn", "ignore": "Ignore"}  # what --validate asks of the server
# PyYAML's words where go-yaml (the same libyaml messages, ported) says otherwise
GO_YAML_WORDS = {"mapping values are not allowed here": "mapping values are not allowed in this context"}
SUBRESOURCES = ("status",)
NO_RESOURCES = ("error: You must provide one or more resources by argument or filename.\n"
                "Example resource specifications include:\n"
                "   '-f rsrc.yaml'\n"
                "   '--filename=rsrc.json'\n"
                "   '<resource> <name>'\n"
                "   '<resource>'")


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("targets", nargs="*", metavar="TYPE/NAME",
                   help="deployment/web svc/web, or TYPE[,TYPE] [NAME ...] (no name: every one in the namespace)")
    p.add_argument("-f", "--filename", action="append", default=[], help="edit the live objects these manifests name")
    p.add_argument("-R", "--recursive", action="store_true", help="with -f DIR: its subdirectories too")
    p.add_argument("-n", "--namespace", default=None, help="namespace (default: default)")
    p.add_argument("-l", "--selector", default="", help="the objects of TYPE with these labels (not in kubectl edit)")
    p.add_argument("-o", "--output", default="", help="yaml (the default) or json: the editor's format; the saved "
                                                     "objects are printed in it")
    p.add_argument("--output-patch", action="store_true", help="print the patch of each object edited")
    p.add_argument("--subresource", default="", help="status: edit the objects' status")
    p.add_argument("--save-config", action="store_true",
                   help="keep the saved object in its last-applied-configuration annotation (for a later apply)")
    p.add_argument("--validate", nargs="?", const="strict", default="strict",
                   help="strict (or true): refuse unknown fields; warn; ignore (or false)")
    p.add_argument("--windows-line-endings", action="store_true", help="write the file with CRLF line endings")
    add_client_args(p)


# -- the file the editor shows ----------------------------------------------------------------------------

@dataclass
class Reason:
    """Why the file is reopened: a line, and the causes listed under it."""

    head: str
    other: list[str] = field(default_factory=list)


def header(reasons: list[Reason]) -> str:
    """kubectl's editHeader: the instructions, then each reason as comments."""
    out = EDIT_HEADER
    for r in reasons:
        out += f"# {_hash_on_line_break(r.head)}{':' if r.other else ''}\n"
        out += "".join(f"# * {_hash_on_line_break(o)}\n" for o in r.other)
        out += "#\n"
    return out


def _hash_on_line_break(s: str) -> str:
    """A message of several lines stays a comment: '# ' after each line break (not already before a '#')."""
    return "".join("\n# " if ch == "\n" and i + 1 < len(s) and s[i + 1] != "#" else ch for i, ch in enumerate(s))


def manual_strip(text: str) -> str:
    """The file without its comment lines (a line starting with '#', not '#!'), as kubectl's ManualStrip."""
    def comment(line: str) -> bool:
        t = line.strip()
        return t.startswith("#") and not t.startswith("#!")
    return "\n".join(line for line in text.split("\n") if not comment(line))


def strip_comments(text: str) -> str:
    """What a file says, comments and layout aside (kubectl's StripComments: YAML to JSON; the file without its
    comment lines when it is not YAML)."""
    try:
        return json.dumps(list(yaml.safe_load_all(text)), sort_keys=True, default=str)
    except yaml.YAMLError:
        return manual_strip(text)


def has_lines(text: str) -> bool:
    return any(line.strip() and not line.strip().startswith("#") for line in text.splitlines())


def render(objs: list[dict], output: str) -> str:
    """The objects as the editor shows them: one alone, several in a List; JSON with -o json, else YAML."""
    doc = objs[0] if len(objs) == 1 else {"apiVersion": "v1", "items": objs, "kind": "List", "metadata": {}}
    return to_json(sorted_keys(doc)) + "\n" if output == "json" else to_yaml(doc) + "\n"


def go_json(obj: Any) -> str:
    """Compact JSON as Go's encoding/json writes it (kubectl's "Patch: ..."): keys sorted, <, > and & escaped."""
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


class EditedFileError(Exception):
    """The saved file is not objects kube-tui can read back."""


def _yaml_problem(e: yaml.YAMLError) -> str:
    if isinstance(e, yaml.MarkedYAMLError) and (e.problem_mark or e.context_mark):
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context or ""
        return f"yaml: line {mark.line + 1}: {GO_YAML_WORDS.get(problem, problem)}"  # type: ignore[union-attr]
    return f"yaml: {e}"


def validation_problem(text: str) -> str:
    """What kubectl's --validate finds wrong with the saved file (comments stripped) before anything is sent:
    YAML it cannot read, or no object in it. Empty when it is fine."""
    try:
        docs = [d for d in strict_yaml.load_all(manual_strip(text)) if d is not None]
    except yaml.YAMLError as e:
        return _yaml_problem(e)
    return "" if docs and all(isinstance(d, dict) for d in docs) else "invalid object to validate"


def parse_edited(text: str) -> list[dict]:
    """The objects of the saved file, a List's items in its place; EditedFileError in kubectl's words when
    it cannot be read back."""
    try:
        docs = strict_yaml.load_all(text)
    except yaml.YAMLError as e:
        raise EditedFileError(f"error parsing edited-file: error converting YAML to JSON: {_yaml_problem(e)}") from e
    out: list[dict] = []
    for doc in docs:
        if doc is None:
            continue
        if not isinstance(doc, dict) or "kind" not in doc:
            raise EditedFileError(f"error parsing edited-file: Object 'Kind' is missing in '{go_json(doc)}'")
        items = doc.get("items") if doc.get("kind") == "List" else [doc]
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or "kind" not in item:
                raise EditedFileError(f"error parsing edited-file: Object 'Kind' is missing in '{go_json(item)}'")
            try:
                kinds.check_api_version(kinds.by_kind(str(item["kind"])), item.get("apiVersion"))
            except ApiError:
                md = item.get("metadata") if isinstance(item.get("metadata"), dict) else {}
                raise EditedFileError(
                    f'resource mapping not found for name: "{md.get("name", "")}" namespace: "{md.get("namespace", "")}" '
                    f'from "edited-file": no matches for kind "{item["kind"]}" in version "{item.get("apiVersion", "")}"\n'
                    "ensure CRDs are installed first") from None
            out.append(item)
    return out


# -- the editor -------------------------------------------------------------------------------------------

class EditorError(Exception):
    pass


def editor_args() -> list[str]:
    """kubectl's editor: $KUBE_EDITOR, else $EDITOR, else vi; with spaces, split on them; with quotes or a
    backslash too, given to $SHELL (else /bin/bash) -c."""
    editor = os.environ.get("KUBE_EDITOR") or os.environ.get("EDITOR") or "vi"
    if " " not in editor:
        return [editor]
    if not any(c in editor for c in "\"'\\"):
        return editor.split(" ")
    return [os.environ.get("SHELL") or "/bin/bash", "-c", editor]


def launch(text: str, ext: str) -> tuple[str, str]:
    """Write `text` to a new temporary file, open the editor on it, and return what it saved and the path.
    The terminal is the editor's until it exits: ^C is its own, not this process's."""
    fd, path = tempfile.mkstemp(prefix="kube-tui-edit-", suffix=ext)
    with os.fdopen(fd, "w", newline="") as f:
        f.write(text)
    args = editor_args()
    shown = " ".join(args)
    argv = [*args[:-1], f"{args[-1]} {shlex.quote(path)}"] if len(args) == 3 and args[1] == "-c" else [*args, path]
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = subprocess.call(argv, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    except OSError:
        os.unlink(path)
        raise EditorError(f'error: unable to launch the editor "{shown}"') from None
    finally:
        signal.signal(signal.SIGINT, previous)
    if code != 0:
        os.unlink(path)
        raise EditorError(f'error: there was a problem with the editor "{shown}"')
    with open(path, newline="") as f:
        return f.read(), path


# -- which objects --------------------------------------------------------------------------------------

@dataclass
class Target:
    info: kinds.KindInfo
    namespace: str | None
    name: str | None  # None: every one (of the selector)


def targets_of(args: argparse.Namespace) -> list[Target]:
    """kubectl's ResourceTypeOrNameArgs and -f, as Targets; ValueError with kubectl's message."""
    ns = args.namespace or "default"
    if args.filename:
        if args.targets:
            raise ValueError("error: resource/name arguments cannot be provided when a path is specified")
        out = []
        for m in manifests.load(args.filename, args.recursive):
            info = kinds.by_kind(str(m.obj.get("kind", "")))
            md = m.obj.get("metadata") or {}
            out.append(Target(info, (md.get("namespace") or ns) if info.namespaced else None, md.get("name")))
        return out
    if not args.targets:
        raise ValueError(NO_RESOURCES)
    if any("/" in t for t in args.targets):
        if not all("/" in t for t in args.targets):
            raise ValueError("error: there is no need to specify a resource type as a separate argument when passing "
                             "arguments in resource/name form (e.g. 'kube-tui get resource/<resource_name>' instead of "
                             "'kube-tui get resource resource/<resource_name>'")
        pairs = [t.partition("/")[::2] for t in args.targets]
        refs = [(kinds.lookup(k), n) for k, n in pairs]
    else:
        types = [kinds.lookup(k) for k in args.targets[0].split(",") if k]
        refs = [(info, n) for info in types for n in args.targets[1:]] if args.targets[1:] else [(i, None) for i in types]
    if args.selector and any(n for _, n in refs):
        raise ValueError("error: name cannot be provided when a selector is specified")
    return [Target(info, ns if info.namespaced else None, n) for info, n in refs]


async def fetch(client: Client, targets: list[Target], selector: str) -> list[dict] | int:
    """The live objects, in the order asked; every one that could not be read is reported (exit 1)."""
    out: list[dict] = []
    errs: list[str] = []
    for t in targets:
        try:
            if t.name is not None:
                out.append(await client.get(t.info.kind, t.name, t.namespace))
            else:
                out.extend((await client.list(t.info.kind, t.namespace, label_selector=selector))["items"])
        except ApiError as e:
            errs.append(str(e))
    if errs:
        return fail("\n".join(errs))
    return out


# -- saving ---------------------------------------------------------------------------------------------

def resource_string(info: kinds.KindInfo) -> str:
    return info.resource + (f".{info.group}" if info.group else "")


@dataclass
class Results:
    """One pass's outcome (kubectl's editResults): the reasons to reopen, and what kind of failures there were."""

    file: str = ""
    reasons: list[Reason] = field(default_factory=list)
    invalid: int = 0
    retryable: int = 0
    notfound: int = 0

    def add_error(self, e: ApiError, info: kinds.KindInfo, name: str) -> str:
        """Count a refused object; the line kubectl prints for it."""
        res = resource_string(info)
        if e.reason == "Invalid":
            self.invalid += 1
            causes = (e.details or {}).get("causes") or []
            self.reasons.append(Reason(f'{res} "{name}" was not valid',
                                       [f"{c.get('field', '')}: {c.get('message', '')}" for c in causes]))
            return f'error: {res} "{name}" is invalid'
        if e.code == 404:
            self.notfound += 1
            return f'error: {res} "{name}" could not be found on the server'
        self.retryable += 1
        return f'error: {res} "{name}" could not be patched: {e.message}'


class Fatal(Exception):
    """An edit kubectl does not send at all (a name or kind changed, another namespace): its message."""


def key_of(obj: dict) -> str:
    return str((obj.get("metadata") or {}).get("uid", ""))


def check_namespaces(edited: list[dict], namespace: str) -> None:
    """kubectl's RequireNamespace: an object without one is in the command's; another one is refused."""
    for obj in edited:
        if not kinds.by_kind(obj["kind"]).namespaced:
            continue
        md = obj.get("metadata")
        if not isinstance(md, dict):
            md = obj["metadata"] = {}
        have = md.get("namespace")
        if not have:
            md["namespace"] = namespace
        elif have != namespace:
            raise Fatal(f'error: the namespace from the provided object "{have}" does not match the namespace '
                        f'"{namespace}". You must pass \'--namespace={have}\' to perform this operation.')


def patch_for(original: dict, edited: dict) -> dict:
    """The two-way strategic merge patch of one object; Fatal if it would change what names the object."""
    patch = two_way_merge_patch(original, edited)
    if "apiVersion" in patch or "kind" in patch or "name" in (patch.get("metadata") or {}):
        raise Fatal("error: At least one of apiVersion, kind and name was changed")
    return patch


async def save(client: Client, originals: list[dict], edited: list[dict], args: argparse.Namespace,
               results: Results) -> None:
    """Patch each saved object that changed, in the file's order, and print each outcome as kubectl does."""
    printer = Printer(args.output or None)
    by_uid = {key_of(o): o for o in originals}
    for obj in edited:
        original = by_uid.get(key_of(obj))
        md = obj.get("metadata") or {}
        if original is None:
            raise Fatal(f'error: no original object found for {obj.get("kind")} "{md.get("name", "")}": '
                        "its metadata.uid must stay as it was read")
        info = kinds.by_kind(obj["kind"])
        if json.dumps(original, sort_keys=True, default=str) == json.dumps(obj, sort_keys=True, default=str):
            printer.show(obj, "skipped")
            continue
        patch = patch_for(original, obj)
        if args.output_patch:
            print(f"Patch: {go_json(patch)}", flush=True)
        name = original["metadata"]["name"]
        try:
            out = await client.patch(info.kind, name, patch, (original["metadata"].get("namespace") if info.namespaced
                                                               else None), subresource=args.subresource or None,
                                     patch_type="strategic", field_validation=FIELD_VALIDATION[args.validate])
        except ApiError as e:
            print(results.add_error(e, info, name), file=sys.stderr, flush=True)
            continue
        print_warnings(client)
        printer.show(out, "edited")


def preserved(msg: str, path: str) -> int:
    """kubectl's preservedFile: where the edit was kept (if it was), then the error; exit 1."""
    _tell_kept(path)
    return fail(msg)


def _tell_kept(path: str) -> None:
    if path and os.path.exists(path):
        print(f'A copy of your changes has been stored to "{path}"', file=sys.stderr)


def _remove(path: str) -> None:
    if path and os.path.exists(path):
        os.unlink(path)


def run(args: argparse.Namespace) -> int:
    if args.output not in ("", "yaml", "json"):
        return fail(f'error: unable to match a printer suitable for the output format "{args.output}", allowed '
                    "formats are: json,yaml")
    if args.validate.lower() not in VALIDATE:
        return fail(f'error: invalid - validate option "{args.validate}"; must be one of: strict (or true), warn, '
                    "ignore (or false)")
    args.validate = VALIDATE[args.validate.lower()]
    if args.subresource and args.subresource not in SUBRESOURCES:
        return fail(f'error: invalid subresource value: "{args.subresource}". Must be one of [{" ".join(SUBRESOURCES)}]')
    try:
        targets = targets_of(args)
    except manifests.ManifestError as e:
        return fail(str(e))
    except ApiError as e:
        return fail(f"error: {e.message}")
    except ValueError as e:
        return fail(str(e))
    got = with_client(args, lambda c: fetch(c, targets, args.selector))
    if isinstance(got, int):
        return got
    if not got:
        return fail("error: edit cancelled, no objects found")
    return edit_loop(args, got)


def edit_loop(args: argparse.Namespace, live: list[dict]) -> int:
    """kubectl's editFn: open the objects, send what changed, reopen with the reasons while some are invalid."""
    # managedFields are not shown, and put back before comparing (kubectl's extract/restoreManagedFields)
    managed = {key_of(o): (o.get("metadata") or {}).get("managedFields") for o in live}
    originals = [dict(o, metadata={k: v for k, v in o["metadata"].items() if k != "managedFields"}) for o in live]
    ext, with_header = (".json", False) if args.output == "json" else (".yaml", True)
    body = render(originals, args.output)
    namespace = args.namespace or "default"
    results = Results()
    contains_error = False
    original = edited = ""
    while True:
        text = header(results.reasons) if with_header else ""
        if not contains_error:
            original = text = text + body
        else:
            text += manual_strip(edited)  # the last save, under the new reasons
        if args.windows_line_endings:
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        previous = edited
        try:
            edited, path = launch(text, ext)
        except EditorError as e:
            return preserved(str(e), results.file)
        if contains_error and strip_comments(previous) == strip_comments(edited):
            _remove(results.file)  # (kubectl leaves it too; it is this one less the reasons)
            return preserved("error: Edit cancelled, no valid changes were saved.", path)
        _remove(results.file)
        if args.validate != "ignore":
            problem = validation_problem(edited)
            if problem:
                results = Results(file=path)
                contains_error = True
                first = originals[0]
                print(results.add_error(ApiError(422, "Invalid", problem, {"causes": [{
                    "field": "<nil>", "message": f'Invalid value: "The edited file failed validation": {problem}'}]}),
                    kinds.by_kind(first["kind"]), first["metadata"]["name"]), file=sys.stderr)
                continue
        if strip_comments(original) == strip_comments(edited):
            os.unlink(path)
            return fail("Edit cancelled, no changes made.", 0)
        if not has_lines(edited):
            os.unlink(path)
            return fail("Edit cancelled, saved file was empty.", 0)
        results = Results(file=path)
        try:
            objs = parse_edited(edited)
        except EditedFileError as e:
            contains_error = True
            results.reasons.append(Reason(f"The edited file had a syntax error: {e}"))
            continue
        contains_error = False
        for o in [*objs, *originals]:
            if key_of(o) in managed and managed[key_of(o)] is not None and isinstance(o.get("metadata"), dict):
                o["metadata"]["managedFields"] = managed[key_of(o)]
        try:
            check_namespaces(objs, namespace)
            if args.save_config:
                objs = [with_last_applied(o, empty_annotations=True) for o in objs]
            outcome = with_client(args, lambda c, objs=objs, results=results: save(c, originals, objs, args, results))
        except Fatal as e:
            return preserved(str(e), path)
        if isinstance(outcome, int) and outcome:  # the API server did not answer: with_client said so
            _tell_kept(path)
            return outcome
        if results.retryable:
            return fail(f"You can run `kube-tui replace -f {path}` to try this update again.")
        if results.notfound:
            return fail(f'The edits you made on deleted resources have been saved to "{path}"')
        if not results.invalid:
            os.unlink(path)
            return 0
        if results.reasons:
            contains_error = True
