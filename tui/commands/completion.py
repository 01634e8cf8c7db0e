"""`kube-tui completion bash|zsh`: shell completion, as `kubectl completion` gives it.

`source <(kube-tui completion bash)` (or zsh) makes TAB complete commands, each command's flags, kinds (`get
<TAB>`), and the names of the objects in the cluster (`get pods <TAB>`, `logs <TAB>`, `get deploy/<TAB>`,
`drain <TAB>`): the script asks `kube-tui __complete`, which lists them from the API server (nothing, at once,
when no cluster answers).
"""

from __future__ import annotations

import argparse
import contextlib
import sys

SCRIPTS = {
    "bash": """# kube-tui completion for bash: source <(kube-tui completion bash)
_kube_tui_complete() {
    local IFS=$'\\n'
    COMPREPLY=( $(kube-tui __complete "${COMP_CWORD}" "${COMP_WORDS[@]}" 2>/dev/null) )
}
complete -o default -F _kube_tui_complete kube-tui
""",
    "zsh": """# kube-tui completion for zsh: source <(kube-tui completion zsh)
autoload -U +X bashcompinit && bashcompinit
_kube_tui_complete() {
    local IFS=$'\\n'
    COMPREPLY=( $(kube-tui __complete "${COMP_CWORD}" "${COMP_WORDS[@]}" 2>/dev/null) )
}
complete -o default -F _kube_tui_complete kube-tui
""",
}

# Which positional arguments name what, per command: "kind" then "name"s of it, "pod", "node", or a fixed word.
KIND_THEN_NAMES = ("get", "describe", "delete", "edit", "label", "annotate", "patch", "wait", "scale", "autoscale")
POD_FIRST = ("logs", "exec", "attach", "port-forward", "debug")
NODE_FIRST = ("cordon", "uncordon", "drain", "taint")
WORDS = {"rollout": ("status", "history", "undo", "restart", "pause", "resume"), "set": ("image",),
         "completion": ("bash", "zsh"), "token": ("create", "list", "delete"),
         "etcdctl": ("get", "watch")}
NAME_TIMEOUT = 1.5  # seconds the API server has to list names for a TAB


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    p.add_argument("shell", choices=sorted(SCRIPTS), help="the shell to complete for")


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(SCRIPTS[args.shell])
    return 0


def _parser(command: str) -> argparse.ArgumentParser | None:
    from tui.cli import _define, build_parser

    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sub = action.choices.get(command)
            if sub is not None:
                _define(sub)
                return sub
    return None


def _flags(parser: argparse.ArgumentParser) -> tuple[list[str], set[str]]:
    """(every flag, the flags that take a value)."""
    flags, valued = [], set()
    for action in parser._actions:
        if action.help == argparse.SUPPRESS:
            continue
        flags += [s for s in action.option_strings if s.startswith("--")] or list(action.option_strings)
        if action.option_strings and action.nargs != 0 and not isinstance(
                action, argparse._StoreTrueAction | argparse._StoreFalseAction | argparse._CountAction
                | argparse._HelpAction | argparse._StoreConstAction):
            valued.update(action.option_strings)
    return sorted(set(flags)), valued


def _positionals(words: list[str], valued: set[str]) -> tuple[list[str], str | None]:
    """The positional words before the one being completed, and the -n/--namespace given."""
    out: list[str] = []
    namespace = None
    skip = False
    for i, w in enumerate(words):
        if skip:
            skip = False
            if words[i - 1] in ("-n", "--namespace"):
                namespace = w
            continue
        if w == "--":
            break
        if w.startswith("-"):
            if w.startswith("--namespace="):
                namespace = w.split("=", 1)[1]
            elif "=" not in w and w in valued:
                skip = True
            continue
        out.append(w)
    return out, namespace


def _names(kind: str, namespace: str | None) -> list[str]:
    """The names of the objects of a kind, from the API server; [] when it does not answer in time."""
    from control import aio
    from control.api import kinds
    from tui.commands.common import make_client, refused_reason

    try:
        info = kinds.lookup(kind)
    except Exception:  # noqa: BLE001 - a word that is no kind: nothing to offer
        return []

    async def main() -> list[str]:
        import asyncio

        client = make_client(argparse.Namespace(server=None, token=None, server_key=None, request_timeout=NAME_TIMEOUT),
                             identity="kube-tui completion")
        if refused_reason(client.server):
            return []
        try:
            await client.connect(timeout=NAME_TIMEOUT)
            listed = await asyncio.wait_for(
                client.list(info.kind, (namespace or "default") if info.namespaced else None), NAME_TIMEOUT)
            return sorted(o["metadata"]["name"] for o in listed["items"])
        finally:
            await client.close()

    with contextlib.suppress(Exception):
        return aio.run(main())
    return []


def candidates(cword: int, words: list[str]) -> list[str]:
    """What TAB offers for words[cword] (words[0] is `kube-tui`)."""
    from tui.cli import COMMANDS

    current = words[cword] if cword < len(words) else ""
    if cword <= 1:
        return sorted(c for c in COMMANDS if c.startswith(current))
    command = words[1]
    parser = _parser(command)
    if parser is None:
        return []
    flags, valued = _flags(parser)
    if current.startswith("-"):
        return [f for f in flags if f.startswith(current)]
    if words[cword - 1] in valued:
        if words[cword - 1] in ("-n", "--namespace"):
            return [n for n in _names("Namespace", None) if n.startswith(current)]
        return []  # a flag's value: the shell's own (files)
    before, namespace = _positionals(words[2:cword], valued)
    if command in WORDS and not before:
        return [w for w in WORDS[command] if w.startswith(current)]
    if command in ("rollout", "set"):
        before = before[1:]
    if command in NODE_FIRST and not before:
        return [n for n in _names("Node", None) if n.startswith(current)]
    if command in POD_FIRST and not before:
        if "/" in current:
            kind, _, _ = current.partition("/")
            return [f"{kind}/{n}" for n in _names(kind, namespace) if f"{kind}/{n}".startswith(current)]
        return [n for n in _names("Pod", namespace) if n.startswith(current)]
    if command in KIND_THEN_NAMES or command in ("rollout", "set", "explain"):
        if "/" in current:
            kind, _, _ = current.partition("/")
            return [f"{kind}/{n}" for n in _names(kind, namespace) if f"{kind}/{n}".startswith(current)]
        if not before:
            from control.api import kinds

            return sorted({info.resource for info in kinds.KINDS.values() if info.resource.startswith(current)})
        if command != "explain" and "/" not in before[0]:
            return [n for n in _names(before[0], namespace) if n.startswith(current) and n not in before[1:]]
    return []


def complete(argv: list[str]) -> int:
    """`kube-tui __complete CWORD WORD...`: one candidate a line."""
    try:
        cword, words = int(argv[0]), argv[1:]
    except (IndexError, ValueError):
        return 1
    for c in candidates(cword, words):
        print(c)
    return 0
