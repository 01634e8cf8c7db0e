"""The `kube-tui` command: kubectl-like verbs, the control plane, nodes, demos and benchmarks."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# command name -> module under tui.commands; each module has add_arguments(parser) and run(args) -> int
COMMANDS: dict[str, tuple[str, str]] = {
    "control": ("control", "run the control plane (store, API server, scheduler, controller manager)"),
    "scheduler": ("components", "run the scheduler alone against a server"),
    "controller-manager": ("components", "run the controller manager alone against a server"),
    "node": ("node", "run one node (kubelet + kube-proxy) that joins the cluster"),
    "nodes": ("node", "run many simulated nodes in one process (like KWOK)"),
    "apply": ("apply", "create or update objects from manifests"),
    "replace": ("replace", "replace objects with the manifests' whole objects (--force: delete and create again)"),
    "diff": ("diff", "show what apply would change (a server-side dry run), as kubectl diff"),
    "create": ("imperative", "create objects from manifests (-f), or a deployment or namespace by name"),
    "run": ("imperative", "create a pod running one image (kubectl run)"),
    "expose": ("imperative", "create a Service for a deployment, replica set, pod or service"),
    "get": ("get", "list objects, kubectl style"),
    "describe": ("describe", "show an object in detail, with its events"),
    "api-resources": ("apiresources", "the resources the API server serves, with their short names and kinds"),
    "api-versions": ("apiresources", "the group versions the API server serves, one a line"),
    "version": ("version", "kube-tui's own version and the Kubernetes version the API server serves"),
    "cluster-info": ("clusterinfo", "where the control plane (and the REST API for kubectl) is running"),
    "explain": ("explain", "the fields of a kind, with Kubernetes' own descriptions (kubectl explain)"),
    "delete": ("delete", "delete objects by name or manifest"),
    "logs": ("logs", "print a container's logs"),
    "events": ("events", "the recent events, oldest first (--for TYPE/NAME, --types, -w), as kubectl events"),
    "exec": ("exec", "run a command in a container (-it: a shell on a terminal)"),
    "attach": ("attach", "join a running container's own stdio (-i: our stdin to it), as kubectl attach"),
    "debug": ("debug", "add an ephemeral container to a running pod (-it: a shell in it), as kubectl debug"),
    "cp": ("cp", "copy files and directories to and from a container (a tar stream through exec)"),
    "port-forward": ("portforward", "forward local ports to a pod's, through the API server and its kubelet"),
    "proxy": ("proxy", "serve the Kubernetes REST API on plain HTTP at 127.0.0.1:8001, for curl (kubectl proxy)"),
    "top": ("top", "CPU and memory in use by nodes or pods"),
    "scale": ("scale", "set the replicas of a deployment, replica set or stateful set"),
    "autoscale": ("autoscale", "create a HorizontalPodAutoscaler for a deployment, replica set or stateful set"),
    "rollout": ("rollout", "rollout status | history | undo | restart of a deployment"),
    "wait": ("wait", "wait until objects meet a condition, are deleted or are created (kubectl wait)"),
    "edit": ("edit", "change live objects in your editor ($KUBE_EDITOR, $EDITOR, vi), saved as patches"),
    "set": ("setcmd", "set image: change container images (a rolling update for a deployment)"),
    "label": ("label", "add, change or remove labels of an object"),
    "annotate": ("label", "add, change or remove annotations of an object"),
    "patch": ("label", "patch an object with a merge patch or a JSON patch"),
    "taint": ("taint", "add or remove taints of a node"),
    "cordon": ("drain", "mark a node unschedulable"),
    "uncordon": ("drain", "mark a node schedulable again"),
    "drain": ("drain", "cordon a node and evict its pods, as kubectl drain does"),
    "etcdctl": ("etcdctl", "read the store's raw keys and revisions"),
    "token": ("token", "create, list or delete node join tokens"),
    "certificate": ("certificate", "approve|deny NAME...: approve or deny CertificateSigningRequests, as kubectl certificate"),
    "auth": ("auth", "whoami, or can-i VERB RESOURCE [--list]: what you (or --as USER) may do, as kubectl auth"),
    "up": ("up", "start the cluster of a cluster file without the dashboard"),
    "down": ("down", "stop the cluster a `kube-tui --keep` left running"),
    "demo": ("demo", "run the whole list-watch story headlessly and check it converges"),
    "dashboard": ("dashboard", "open the dashboard (the default when no command is given)"),
    "bench": ("bench", "benchmarks that print numbers"),
    "soak": ("soak", "run fault scenarios against a live cluster and report"),
    "completion": ("completion", "shell completion for bash or zsh: source <(kube-tui completion bash)"),
}


class _Subcommands(argparse._SubParsersAction):
    """Parses the chosen command as kubectl does: options before, between or after its positionals
    (`get pods -o wide web`), which argparse alone refuses for optional positionals (nargs '?' and '*').
    An argument the command does not know is its error, under its usage, not the top-level one."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | list[str] | None, option_string: str | None = None) -> None:
        assert isinstance(values, list)
        name, words = values[0], values[1:]
        command = self._name_parser_map.get(name)
        if command is None:
            super().__call__(parser, namespace, values, option_string)  # argparse's "invalid choice"
            return
        setattr(namespace, self.dest, name)
        _define(command)
        try:
            # a new namespace, so that the command's defaults win over the top level's (as argparse does)
            sub, extra = command.parse_known_intermixed_args(words)
        except TypeError:  # a REMAINDER positional (bench): argparse's own order, options first
            sub, extra = command.parse_known_args(words)
        for key, value in vars(sub).items():
            setattr(namespace, key, value)
        if extra:
            command.error(f"unrecognized arguments: {' '.join(extra)}")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kube-tui",
        description="A small, real Kubernetes control plane you can watch work. "
        "With no command: start (or attach to) the cluster of demo.yaml and open the dashboard.",
    )
    p.register("action", "parsers", _Subcommands)
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_) in COMMANDS.items():
        sp = sub.add_parser(name, help=help_, description=help_)
        sp.set_defaults(_module=module)
        _UNDEFINED[sp] = name
    return p


# A command's arguments are defined (and its module imported) only once it is the one given: importing every
# command's module, the dashboard's and the control plane's included, took each `kube-tui get` about a second.
_UNDEFINED: dict[argparse.ArgumentParser, str] = {}


def _define(sp: argparse.ArgumentParser) -> None:
    name = _UNDEFINED.pop(sp, None)
    if name is not None:
        importlib.import_module(f"tui.commands.{COMMANDS[name][0]}").add_arguments(sp, name)


def add_client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", "-s", help="API server address (default: $KUBE_TUI_SERVER, else the last `kube-tui control`)")
    p.add_argument("--token", help="credential (default: $KUBE_TUI_TOKEN, else the one `kube-tui control` recorded)")


def parse_args(argv: list[str]) -> argparse.Namespace:
    """The command line; `kube-tui` alone (or with options only) is the dashboard. For exec and run, what
    follows the first `--` is the command as given, whatever it holds (another `--`, options of its own)."""
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "-v", "-vv", "--verbose"):
        argv = ["dashboard", *argv]
    command: list[str] | None = None
    at = next((i for i, a in enumerate(argv) if not a.startswith("-")), len(argv))  # the subcommand's word
    if argv[at:at + 1] in (["exec"], ["run"], ["create"], ["debug"]) and "--" in argv[at:]:
        cut = argv.index("--", at)
        argv, command = argv[:cut], argv[cut + 1:]
    parser = build_parser()
    # run, as kubectl: every word after NAME is the container's args, before `--` too (`run web --image=x
    # sleep 5`); _Subcommands' intermixed parsing gives them all to its `args`
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["dashboard"])
    if command is not None:
        if args.command == "run":
            args.args = [*args.args, *command]
        else:
            if args.command == "create":  # create service counts its NAMEs before the `--`, as kubectl does
                args.before_dash = list(args.argv)
            args.argv = command  # exec's command; create deployment's container command
    return args


def main(argv: list[str] | None = None) -> int:
    from tui.pdeathsig import die_with_parent

    die_with_parent()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["__complete"]:  # what `kube-tui completion`'s script asks at each TAB
        from tui.commands.completion import complete

        return complete(argv[1:])
    args = parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    mod = importlib.import_module(f"tui.commands.{args._module}")
    try:
        return int(mod.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
