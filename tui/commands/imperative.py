"""kubectl's imperative commands, as the tutorials use them: `run`, `create deployment|namespace`, `expose`.

Each builds the object kubectl would build and creates it (`--dry-run=client -o yaml` prints it
instead, the usual way to start a manifest):

- `kube-tui run NAME --image=IMG [--port=P] [--env=K=V]... [--labels=k=v,...] [--restart=Always|OnFailure|Never]
  [--command] [-- ARGS...]`: a Pod labelled run=NAME; words after `--` are the container's args
  (its command with --command).
- `kube-tui create deployment NAME --image=IMG [--replicas=N] [--port=P]`: a Deployment labelled and
  selecting app=NAME; `kube-tui create namespace NAME`; `kube-tui create configmap NAME` and `kube-tui create
  secret generic NAME` with `--from-literal=K=V`, `--from-file=[K=]PATH` and `--from-env-file=PATH`;
  `kube-tui create -f FILE` creates from manifests.
- `kube-tui create service|svc clusterip|nodeport|loadbalancer|externalname NAME [--tcp=PORT[:TARGET]]...
  [--clusterip=None|IP] [--node-port=N] [--external-name=DNS]`: a Service of that type labelled and selecting
  app=NAME, one TCP port per --tcp named after it (`5678:8080` -> "5678-8080"), checked in kubectl's order and
  words.
- `kube-tui expose (deployment|rs|pod|svc) NAME [--port=P] [--target-port=T] [--type=T] [--name=N]`: a
  Service selecting what the object selects (a pod: its labels); the port defaults to the first
  container port, as kubectl introspects it.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import re
import sys
from typing import Any

from control import aio
from control.api import kinds, labels, quantity
from control.api.labels import is_dns1123_subdomain
from control.api.patch import apply_patch
from control.api.rbac import KINDS as RBAC_KINDS
from control.api.validation.ports import is_valid_port_name, is_valid_port_num
from control.client import Client
from control.errors import ApiError, go_quote
from nodes.images import short_name
from tui.commands import apply, create_rbac, create_token
from tui.commands.common import (
    Printer,
    add_client_args,
    fail,
    kind_named,
    kind_ref,
    output_format,
    print_template,
    with_client,
)
from tui.printers.output import go_order, to_json, to_yaml

CREATE_WHAT = ("Deployment", "Namespace", "ConfigMap", "Secret", "PriorityClass", "PodDisruptionBudget", "Job",
               "CronJob", "Service", "ServiceAccount", "ResourceQuota", "Ingress", *RBAC_KINDS)
EXPOSE_KINDS = ("Deployment", "ReplicaSet", "Pod", "Service")


def add_arguments(p: argparse.ArgumentParser, name: str) -> None:
    if name == "run":
        p.add_argument("name", help="the pod's name")
        p.add_argument("args", nargs="*", metavar="-- ARGS", help="the container's args (its command with --command)")
        p.add_argument("--image", required=True)
        p.add_argument("--port", type=int, help="the container port to declare")
        p.add_argument("--env", action="append", default=[], metavar="K=V")
        p.add_argument("-l", "--labels", help="k=v,... (default run=NAME)")
        p.add_argument("--restart", default="Always", choices=("Always", "OnFailure", "Never"))
        p.add_argument("--command", dest="as_command", action="store_true",
                       help="the words after -- are the command, not args")
        p.add_argument("-i", "--stdin", action="store_true",
                       help="keep the container's stdin open and attach to it (with -t: a terminal)")
        p.add_argument("-t", "--tty", action="store_true", help="give the container a terminal (needs -i)")
        p.add_argument("--rm", action="store_true", help="delete the pod when the attached container ends")
        p.add_argument("--pod-running-timeout", type=float, default=60.0, metavar="SECONDS",
                       help="how long to wait for the pod to run before attaching")
        p.add_argument("--overrides", default="", metavar="JSON",
                       help="an inline JSON override of the generated pod (a merge patch unless --override-type)")
        p.add_argument("--override-type", default="merge", metavar="TYPE",
                       help="how --overrides is applied: json, merge or strategic (default merge)")
    elif name == "create":
        p.add_argument("what", nargs="?", help="deployment, namespace, configmap, secret generic, priorityclass, pdb, "
                       "quota, job, cronjob, ingress, serviceaccount, token, role, clusterrole, rolebinding, "
                       "clusterrolebinding or service clusterip|nodeport|loadbalancer|externalname (or -f FILE)")
        create_token.add_arguments(p)
        p.add_argument("name", nargs="?")
        p.add_argument("-f", "--filename", action="append", help="create from manifests: file, directory or -")
        from tui.commands.apply import VALIDATE

        p.add_argument("--validate", nargs="?", const="strict", default="strict", type=str.lower, choices=VALIDATE,
                       help="with -f: fields the schema does not have: strict (default, as kubectl: refused), warn, ignore")
        p.add_argument("--image", action="append", default=[], help="a container's image (repeatable)")
        p.add_argument("-r", "--replicas", type=int, default=1)
        p.add_argument("argv", nargs="*", metavar="-- COMMAND", help=argparse.SUPPRESS)
        p.add_argument("--port", type=int, help="the container port to declare")
        p.add_argument("--from-literal", action="append", default=[], metavar="KEY=VALUE",
                       help="configmap/secret: a key and its value (repeatable)")
        p.add_argument("--from-file", action="append", default=[], metavar="[KEY=]PATH",
                       help="configmap/secret: a file (key: its name) or every file of a directory (repeatable)")
        p.add_argument("--from-env-file", action="append", default=[], metavar="PATH",
                       help="configmap/secret: KEY=VALUE lines of a file (repeatable)")
        p.add_argument("--type", dest="secret_type", default="", help="secret generic: the Secret's type (default Opaque)")
        p.add_argument("--value", type=int, help="priorityclass: the priority pods of the class get")
        p.add_argument("--global-default", action="store_true",
                       help="priorityclass: the class of pods that name none")
        p.add_argument("--description", default="", help="priorityclass: what the class is for")
        p.add_argument("--preemption-policy", default="", choices=("", "PreemptLowerPriority", "Never"),
                       help="priorityclass: whether its pods may preempt lower-priority pods (default PreemptLowerPriority)")
        p.add_argument("--selector", default="", help="pdb: the label selector of the pods the budget covers")
        p.add_argument("--min-available", default="", help="pdb: pods that must stay available (a number or N%%)")
        p.add_argument("--max-unavailable", default="", help="pdb: pods that may be unavailable (a number or N%%)")
        p.add_argument("--hard", default="", metavar="RESOURCE=QUANTITY,...",
                       help="quota: the hard limits, e.g. cpu=1,memory=1G,pods=2")
        p.add_argument("--scopes", default="", help="quota: the scopes the quota applies to, comma-separated "
                       "(Terminating, NotTerminating, BestEffort, NotBestEffort, ...)")
        p.add_argument("--schedule", default="", help="cronjob: when, in cron format (*/5 * * * *, @hourly, ...)")
        p.add_argument("--restart", default="", choices=("", "OnFailure", "Never"),
                       help="cronjob: the pods' restart policy (default OnFailure)")
        p.add_argument("--from", dest="from_", default="", metavar="cronjob/NAME",
                       help="job: a Job from this CronJob's job template, run now")
        p.add_argument("--tcp", action="append", default=None, metavar="PORT[:TARGET]",
                       help="service: a port and the pods' port (a number or a name), comma-separated or repeated")
        p.add_argument("--clusterip", default=None, help="service clusterip: the ClusterIP to ask for, or None (headless)")
        p.add_argument("--node-port", default=None, metavar="N",
                       help="service nodeport: the nodePort of every port (default: one from the cluster's range)")
        p.add_argument("--external-name", default=None, metavar="DNS",
                       help="service externalname: the DNS name the Service stands for (required)")
        p.add_argument("--rule", action="append", default=[], metavar="HOST/PATH=SERVICE:PORT[,tls[=SECRET]]",
                       help="ingress: a rule (repeatable); a path ending in * is matched as a Prefix, else Exact")
        p.add_argument("--class", dest="ingress_class", default="", help="ingress: the IngressClass to use")
        p.add_argument("--default-backend", default="", metavar="SERVICE:PORT",
                       help="ingress: where requests no rule matches go")
        p.add_argument("--annotation", action="append", default=[], metavar="KEY=VALUE",
                       help="ingress: an annotation of the Ingress (repeatable)")
        create_rbac.add_arguments(p)
    else:  # expose
        p.add_argument("kind", metavar="TYPE", help="deployment, rs, pod or svc (or TYPE/NAME)")
        p.add_argument("name", nargs="?")
        p.add_argument("--port", type=int, help="the Service's port (default: the first container port)")
        p.add_argument("--target-port", help="the pods' port, a number or a name (default: --port)")
        p.add_argument("--type", default=None, choices=("ClusterIP", "NodePort", "LoadBalancer"),
                       help="the Service's type (default: none given, which the API server takes as ClusterIP)")
        p.add_argument("--name", dest="service_name", help="the Service's name (default: the object's)")
        p.add_argument("--protocol", default=None, choices=("TCP", "UDP"),
                       help="every port's protocol (default: each port's own, else TCP)")
    p.add_argument("-n", "--namespace", default=None)
    p.add_argument("--dry-run", choices=("none", "client"), default="none", help="client: print the object, create nothing")
    p.add_argument("-o", "--output", metavar="FORMAT",
                   help="yaml | json | name | jsonpath=TEMPLATE | jsonpath-file=FILE: print the object so")
    add_client_args(p)


def _labels(text: str | None, default: dict[str, str]) -> dict[str, str]:
    if not text:
        return default
    out = {}
    for pair in text.split(","):
        k, eq, v = (part.strip() for part in pair.partition("="))
        if not eq or not k or "=" in v:
            raise ValueError(f"error: unexpected label spec: {pair!r}: use --labels=key=value,...")
        out[k] = v
    return out


def container_name(image: str) -> str:
    """kubectl create deployment's container name: the image's bare name as a DNS label."""
    return re.sub(r"[^a-z0-9-]+", "-", short_name(image)).strip("-")[:63] or "container"


def pod_for(args: argparse.Namespace) -> dict[str, Any]:
    container: dict[str, Any] = {"name": args.name, "image": args.image}
    if args.args:
        container["command" if args.as_command else "args"] = list(args.args)
    if args.port:
        container["ports"] = [{"containerPort": args.port}]
    if args.stdin:  # as kubectl run -i: stdin open, closed when the attached client's input ends
        container.update(stdin=True, stdinOnce=True)
    if args.tty:
        container["tty"] = True
    if args.env:
        container["env"] = env_vars(args.env)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": args.name, "labels": _labels(args.labels, {"run": args.name})},
            "spec": {"containers": [container], "restartPolicy": args.restart, "dnsPolicy": "ClusterFirst"}}


# What kubectl's Overrider says of overrides that are not JSON, by --override-type (the Go libraries' words)
_NOT_JSON = {"merge": "Invalid JSON Patch", "strategic": "invalid JSON document"}


def override(obj: dict[str, Any], overrides: str, kind: str) -> dict[str, Any]:
    """kubectl run --overrides/--override-type (cmdutil.Overrider): the generated object with the patch applied;
    ValueError worded as kubectl's."""
    if not overrides:
        return obj
    if kind not in ("json", "merge", "strategic"):
        raise ValueError(f"error: invalid override type: {kind}")
    try:
        patch = json.loads(overrides)
    except json.JSONDecodeError as e:
        raise ValueError(f"error: {_NOT_JSON.get(kind, e.msg)}") from None
    try:
        return apply_patch(obj, patch, kind)
    except ApiError as e:
        raise ValueError(f"error: {e.message}") from None


def config_for(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """kubectl create configmap|secret generic NAME --from-literal/--from-file/--from-env-file: the object. Text
    goes to data (a Secret's base64), bytes that are not UTF-8 to a ConfigMap's binaryData. ValueError, worded
    like kubectl's, for a bad source or a key given twice."""
    import base64
    from pathlib import Path

    if args.from_env_file and (args.from_file or args.from_literal):  # kubectl's validation, in its words
        raise ValueError("error: from-env-file cannot be combined with from-file or from-literal")
    entries: list[tuple[str, bytes]] = []
    for lit in args.from_literal:
        key, sep, value = lit.partition("=")
        if not sep or not key:
            raise ValueError(f'error: invalid literal source {lit}, expected key=value')
        entries.append((key, value.encode()))
    for src in args.from_file:
        key, sep, path = src.partition("=")
        if not sep:
            key, path = "", src
        p = Path(path).expanduser()
        if p.is_dir():
            if key:
                raise ValueError(f'error: cannot give a key name for a directory path: "{src}"')
            entries += [(f.name, f.read_bytes()) for f in sorted(p.iterdir()) if f.is_file()]
            continue
        try:
            entries.append((key or p.name, p.read_bytes()))
        except OSError as e:
            raise ValueError(f"error: error reading {path}: {e.strerror or e}") from None
    for path in args.from_env_file:
        try:
            lines = Path(path).expanduser().read_text().splitlines()
        except OSError as e:
            raise ValueError(f"error: error reading {path}: {e.strerror or e}") from None
        for n, line in enumerate(lines, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.partition("=")
            if not sep:
                raise ValueError(f'error: "{line}" is not a valid key=value line in {path} (line {n})')
            entries.append((key.strip(), value.encode()))
    seen: set[str] = set()
    for key, _ in entries:
        if key in seen:
            raise ValueError(f'error: cannot add key "{key}", another key by that name already exists in '
                             f"{'Data' if kind == 'ConfigMap' else 'data'} for {kind} \"{args.name}\"")
        seen.add(key)
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": args.name}}
    if kind == "Secret":
        if args.secret_type:  # as kubectl: none given, none sent (the API server defaults it to Opaque)
            obj["type"] = args.secret_type
        if entries:
            obj["data"] = {k: base64.b64encode(v).decode() for k, v in entries}
        return obj
    data: dict[str, str] = {}
    binary: dict[str, str] = {}
    for k, v in entries:
        try:
            data[k] = v.decode()
        except UnicodeDecodeError:
            binary[k] = base64.b64encode(v).decode()
    if data:
        obj["data"] = data
    if binary:
        obj["binaryData"] = binary
    return obj


def priorityclass_for(args: argparse.Namespace) -> dict[str, Any]:
    """kubectl create priorityclass NAME --value=N [--global-default] [--description=...] [--preemption-policy=...]."""
    obj: dict[str, Any] = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": args.name},
                           "value": args.value if args.value is not None else 0}
    if args.global_default:  # omitempty, as kubectl's typed object prints (and sends) them
        obj["globalDefault"] = True
    if args.description:
        obj["description"] = args.description
    obj["preemptionPolicy"] = args.preemption_policy or "PreemptLowerPriority"  # kubectl's flag default
    return obj


_PDB_AMOUNT = re.compile(r"^[0-9]+%?$")
_LABEL_SELECTOR_OPERATORS = {labels.IN: "In", labels.NOT_IN: "NotIn", labels.EXISTS: "Exists",
                             labels.DOES_NOT_EXIST: "DoesNotExist"}


def label_selector(text: str) -> dict[str, Any]:
    """metav1.ParseToLabelSelector: `a=b` into matchLabels, `in`, `notin`, `k`, `!k` into matchExpressions."""
    try:
        selector = labels.parse_selector(text)
    except ApiError as e:
        raise ValueError(f"error: {e.message}") from None
    match: dict[str, str] = {}
    expressions: list[dict[str, Any]] = []
    for r in selector.requirements:
        if r.operator in (labels.EQUALS, labels.DOUBLE_EQUALS):
            match[r.key] = r.values[0]
        elif r.operator in _LABEL_SELECTOR_OPERATORS:
            expressions.append({"key": r.key, "operator": _LABEL_SELECTOR_OPERATORS[r.operator],
                                "values": sorted(r.values)} if r.values else
                               {"key": r.key, "operator": _LABEL_SELECTOR_OPERATORS[r.operator]})
        elif r.operator in (labels.GREATER_THAN, labels.LESS_THAN):
            raise ValueError(f'error: "{r.operator}" isn\'t supported in label selectors')
        else:
            raise ValueError(f'error: "{r.operator}" is not a valid label selector operator')
    out: dict[str, Any] = {}
    if expressions:
        out["matchExpressions"] = expressions
    if match:
        out["matchLabels"] = match
    return out


def pdb_for(args: argparse.Namespace) -> dict[str, Any]:
    """kubectl create poddisruptionbudget|pdb NAME --selector=SEL --min-available=N[%] | --max-unavailable=N[%],
    checked in kubectl's order and words."""
    if not args.selector:
        raise ValueError("error: a selector must be specified")
    if not args.min_available and not args.max_unavailable:
        raise ValueError("error: one of min-available or max-unavailable must be specified")
    if args.min_available and args.max_unavailable:
        raise ValueError("error: min-available and max-unavailable cannot be both specified")
    if args.min_available and not _PDB_AMOUNT.match(args.min_available):
        raise ValueError("error: invalid format specified for min-available")
    if args.max_unavailable and not _PDB_AMOUNT.match(args.max_unavailable):
        raise ValueError("error: invalid format specified for max-unavailable")
    field, amount = ("minAvailable", args.min_available) if args.min_available else ("maxUnavailable", args.max_unavailable)
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": args.name},
            "spec": {field: amount if amount.endswith("%") else int(amount), "selector": label_selector(args.selector)}}


# create_ingress.go's ruleRegex: host/path=service:port, then ,tls or ,tls=secret
_INGRESS_RULE = re.compile(r"^[\w*\-.]*/[^,=\n]*=[\w\-]+:[\w\-]+(,tls=?([\w\-]+)?)?$", re.ASCII)


def _ingress_backend(service: str) -> dict[str, Any]:
    """buildIngressBackendSvc: NAME:PORT, the port a number when it reads as one (intstr.Parse), else a name."""
    name, port = service.split(":")[0], service.split(":")[1]
    if not re.fullmatch(r"-?[0-9]+", port, re.ASCII):
        return {"service": {"name": name, "port": {"name": port}}}
    return {"service": {"name": name, "port": {"number": int(port)} if int(port) else {}}}


def ingress_for(args: argparse.Namespace) -> dict[str, Any]:
    """kubectl create ingress NAME --rule=host/path=svc:port[,tls[=secret]] ... [--class] [--default-backend]
    [--annotation=k=v], checked and built as kubectl's create_ingress.go: rules of one host share it, a path
    ending in `*` is a Prefix (the `*` dropped), any other Exact; a rule's tls puts its host under that secret."""
    if not args.default_backend and not args.rule:
        raise ValueError("error: not enough information provided: every ingress has to either specify a default-backend "
                         "(which catches all traffic) or a list of rules (which catch specific paths)")
    for rule in args.rule:
        if not _INGRESS_RULE.match(rule):
            raise ValueError(f"error: rule {rule} is invalid and should be in format host/path=svcname:svcport[,tls[=secret]]")
    for annotation in args.annotation:
        if "=" not in annotation:
            raise ValueError(f"error: annotation {annotation} is invalid and should be in format key=[value]")
    if args.default_backend and len(args.default_backend.split(":")) != 2:
        raise ValueError("error: default-backend should be in format servicename:serviceport")
    spec: dict[str, Any] = {}
    if args.default_backend:
        spec["defaultBackend"] = _ingress_backend(args.default_backend)
    if args.ingress_class:
        spec["ingressClassName"] = args.ingress_class
    tls: list[dict[str, Any]] = []
    seen: set[str] = set()
    for rule in args.rule:  # buildTLSRules
        parts = rule.split(",")
        if len(parts) != 2:
            continue
        host = rule.split("/", 1)[0]
        secret = parts[1].split("=")[1] if "=" in parts[1] else ""
        if host in seen:
            continue
        seen.add(host)
        same = next((t for t in tls if t.get("secretName", "") == secret), None)
        if same is not None:
            same.setdefault("hosts", []).append(host)
            continue
        entry: dict[str, Any] = {}
        if host:
            entry["hosts"] = [host]
        if secret:
            entry["secretName"] = secret
        if entry:
            tls.append(entry)
    rules: list[dict[str, Any]] = []
    for rule in args.rule:  # buildIngressRules
        host, _, rest = rule.split(",")[0].partition("/")
        path, service = "/" + rest.split("=")[0], rest.split("=")[1]
        path_type = "Exact"
        if path.endswith("*"):
            path_type, path = "Prefix", path[:-1]
        item = {"path": path, "pathType": path_type, "backend": _ingress_backend(service)}
        same_host = next((r for r in rules if r.get("host", "") == host), None)
        if same_host is not None:
            same_host["http"]["paths"].append(item)
            continue
        rules.append({**({"host": host} if host else {}), "http": {"paths": [item]}})
    if rules:
        spec["rules"] = rules
    if tls:
        spec["tls"] = tls
    metadata: dict[str, Any] = {"name": args.name}
    annotations = dict(a.split("=", 1) for a in args.annotation)
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": metadata, "spec": spec}


def quota_for(args: argparse.Namespace) -> dict[str, Any]:
    """kubectl create quota NAME [--hard=RESOURCE=QUANTITY,...] [--scopes=SCOPE,...] (populateResourceListV1's
    checks and words)."""
    spec: dict[str, Any] = {}
    if args.hard:
        hard: dict[str, str] = {}
        for statement in args.hard.split(","):
            parts = statement.split("=")
            if len(parts) != 2:
                raise ValueError(f"error: Invalid argument syntax {statement}, expected <resource>=<value>")
            if not quantity.is_valid(parts[1]):
                raise ValueError("error: quantities must match the regular expression "
                                 "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
            hard[parts[0]] = quantity.canonical_of(parts[1])
        spec["hard"] = hard
    scopes = [s for s in args.scopes.split(",") if s]
    if scopes:
        spec["scopes"] = scopes
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": args.name}, "spec": spec}


# kubectl create service's subcommands and the type each makes.
SERVICE_TYPES = {"clusterip": "ClusterIP", "nodeport": "NodePort", "loadbalancer": "LoadBalancer",
                 "externalname": "ExternalName"}
# The flags of create service only each subcommand has (its own --flag: dest), kubectl's "unknown flag" for another.
_SERVICE_FLAGS = {"clusterip": "clusterip", "node-port": "node_port", "external-name": "external_name"}
_SERVICE_OWN_FLAGS = {"ClusterIP": ("clusterip",), "NodePort": ("node-port",), "LoadBalancer": (),
                      "ExternalName": ("external-name",)}
# create's flags for other kinds (--flag, dest, default): kubectl's create service has none of them.
_OTHER_CREATE_FLAGS = (("image", "image", []), ("replicas", "replicas", 1), ("port", "port", None),
                       ("from-literal", "from_literal", []), ("from-file", "from_file", []),
                       ("from-env-file", "from_env_file", []), ("type", "secret_type", ""), ("value", "value", None),
                       ("global-default", "global_default", False), ("description", "description", ""),
                       ("preemption-policy", "preemption_policy", ""), ("selector", "selector", ""),
                       ("min-available", "min_available", ""), ("max-unavailable", "max_unavailable", ""),
                       ("schedule", "schedule", ""), ("restart", "restart", ""), ("from", "from_", ""))

SERVICE_USAGE = """Create a service using a specified subcommand.

Aliases:
service, svc

Available Commands:
  clusterip      Create a ClusterIP service
  externalname   Create an ExternalName service
  loadbalancer   Create a LoadBalancer service
  nodeport       Create a NodePort service

Usage:
  kube-tui create service clusterip|externalname|loadbalancer|nodeport NAME [flags]"""


class FlagError(ValueError):
    """A value pflag refuses while it parses the command line (kubectl's "invalid argument ... for ... flag")."""


def _read_csv(flag: str, value: str) -> list[str]:
    """pflag's StringSlice: one record of Go's encoding/csv (quotes and all), its errors in Go's words."""
    if value == "":
        return []
    fields: list[str] = []
    raw = value.encode()
    i = 0

    def bad(column: int, what: str) -> FlagError:
        return FlagError(f'error: invalid argument {go_quote(value)} for "--{flag}" flag: parse error on line 1, '
                         f"column {column}: {what}")

    while True:
        if raw[i:i + 1] == b'"':  # a quoted field: "" is a quote, it ends at a quote before a comma or the end
            i += 1
            field = bytearray()
            while True:
                j = raw.find(b'"', i)
                if j < 0:
                    raise bad(len(raw) + 1, 'extraneous or missing " in quoted-field')
                field += raw[i:j]
                if raw[j + 1:j + 2] == b'"':
                    field += b'"'
                    i = j + 2
                    continue
                if j + 1 < len(raw) and raw[j + 1:j + 2] != b",":
                    raise bad(j + 1, 'extraneous or missing " in quoted-field')
                i = j + 1
                break
            fields.append(field.decode(errors="replace"))
        else:
            j = raw.find(b",", i)
            end = len(raw) if j < 0 else j
            quote = raw.find(b'"', i, end)
            if quote >= 0:
                raise bad(quote + 1, 'bare " in non-quoted-field')
            fields.append(raw[i:end].decode(errors="replace"))
            i = end
        if i >= len(raw):
            return fields
        i += 1  # the comma
        if i == len(raw):
            fields.append("")
            return fields


def _go_parse_int(flag: str, value: str) -> int:
    """pflag's Int: strconv.ParseInt(value, 0, 64) (0x, 0o, 0b, a leading 0 for octal, _ between digits)."""
    body = value[1:] if value[:1] in "+-" else value
    if len(body) > 1 and body[0] == "0" and body[1] not in "xXbBoO":
        body = "0o" + body[1:]  # Go's base 0 reads a leading 0 as octal
    try:
        if not value.isascii() or not body or body[:1] in "+-_" or body[-1:] == "_" or any(c.isspace() for c in body):
            raise ValueError
        number = int(body, 0) * (-1 if value.startswith("-") else 1)
    except ValueError:
        raise FlagError(f'error: invalid argument {go_quote(value)} for "--{flag}" flag: strconv.ParseInt: parsing '
                        f"{go_quote(value)}: invalid syntax") from None
    if not -(1 << 63) <= number < 1 << 63:
        raise FlagError(f'error: invalid argument {go_quote(value)} for "--{flag}" flag: strconv.ParseInt: parsing '
                        f"{go_quote(value)}: value out of range")
    return number


_GO_INT = re.compile(r"[+-]?[0-9]+")


def service_port(spec: str) -> tuple[int, int | str]:
    """kubectl create service's parsePorts: PORT[:TARGET], the port as utilsnet.ParsePort reads it (0 allowed),
    the target a number (strconv.Atoi) or else a port name, each refused in kubectl's words."""
    parts = spec.split(":")
    if not parts[0].isascii() or not parts[0].isdigit():
        raise ValueError(f"error: strconv.ParseUint: parsing {go_quote(parts[0])}: invalid syntax")
    port = int(parts[0])
    if port > 65535:
        raise ValueError(f"error: strconv.ParseUint: parsing {go_quote(parts[0])}: value out of range")
    if len(parts) == 1:
        return port, port
    target = parts[1]  # a third part is not read, as kubectl does not read it
    if _GO_INT.fullmatch(target) and -(1 << 63) <= int(target) < 1 << 63:
        errs = is_valid_port_num(int(target))
        if errs:
            raise ValueError(f"error: {','.join(errs)}")
        return port, int(target)
    errs = is_valid_port_name(target)
    if errs:
        raise ValueError(f"error: {','.join(errs)}")
    return port, target


def _service_flag_errors(args: argparse.Namespace, sub: str, kind: str) -> None:
    """kubectl's flag parsing for create service SUB: a flag the subcommand does not have, a --node-port pflag
    cannot read, a --tcp that is not CSV."""
    own = _SERVICE_OWN_FLAGS[kind]
    given = [flag for flag, dest in _SERVICE_FLAGS.items() if getattr(args, dest, None) is not None and flag not in own]
    given += [flag for flag, dest, default in _OTHER_CREATE_FLAGS if getattr(args, dest, default) != default]
    if given:
        raise FlagError(f"error: unknown flag: --{given[0]}\nSee 'kube-tui create service {sub} --help' for usage.")


def service_from_flags(args: argparse.Namespace, sub: str, names: list[str]) -> dict[str, Any]:
    """kubectl create service SUB NAME: the Service kubectl builds (ServiceOptions.createService), after the
    checks it makes, in its order and words (flags as pflag reads them, the required --external-name, one NAME,
    Validate, then each --tcp). The object is in kubectl's typed form: Go's field order, creationTimestamp null
    and an empty status, as `--dry-run=client -o json` prints it."""
    kind = SERVICE_TYPES[sub]
    try:
        _service_flag_errors(args, sub, kind)
        tcp = [field for value in args.tcp or [] for field in _read_csv("tcp", value)]
        node_port = _go_parse_int("node-port", args.node_port) if args.node_port is not None else 0
    except FlagError as e:
        msg = str(e)
        raise ValueError(msg if "\nSee " in msg else f"{msg}\nSee 'kube-tui create service {sub} --help' for usage.") \
            from None
    if kind == "ExternalName" and args.external_name is None:
        raise ValueError('error: required flag(s) "external-name" not set')
    if len(names) != 1:
        raise ValueError(f"error: exactly one NAME is required, got {len(names)}\n"
                         f"See 'kube-tui create service {sub} -h' for help and examples")
    name = names[0]
    cluster_ip = args.clusterip or ""
    if cluster_ip != "None" and not tcp and kind != "ExternalName":
        raise ValueError("error: at least one tcp port specifier must be provided")
    if kind == "ExternalName" and is_dns1123_subdomain(args.external_name):
        raise ValueError(f"error: invalid service external name {args.external_name}")
    node_port = (node_port + (1 << 31)) % (1 << 32) - (1 << 31)  # int32(o.NodePort)
    ports = []
    for value in tcp:
        port, target = service_port(value)
        entry: dict[str, Any] = {"name": value.replace(":", "-"), "protocol": "TCP", "port": port, "targetPort": target}
        if node_port:
            entry["nodePort"] = node_port
        ports.append(entry)
    metadata: dict[str, Any] = {"name": name}
    if args.namespace:
        metadata["namespace"] = args.namespace
    metadata.update(creationTimestamp=None, labels={"app": name})
    spec: dict[str, Any] = {}
    if ports:
        spec["ports"] = ports
    spec["selector"] = {"app": name}
    if cluster_ip:
        spec["clusterIP"] = cluster_ip
    spec["type"] = kind
    if args.external_name:
        spec["externalName"] = args.external_name
    return {"kind": "Service", "apiVersion": "v1", "metadata": metadata, "spec": spec, "status": {"loadBalancer": {}}}


# Go's field order of what a Service prints with (corev1's struct fields), as kubectl prints a typed object
# in -o json.
_GO_ORDER = {
    "": ("kind", "apiVersion", "metadata", "spec", "status"),
    "metadata": ("name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
                 "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations",
                 "ownerReferences", "finalizers", "managedFields"),
    "spec": ("ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity",
             "loadBalancerIP", "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy",
             "healthCheckNodePort", "publishNotReadyAddresses", "sessionAffinityConfig", "ipFamilies",
             "ipFamilyPolicy", "allocateLoadBalancerNodePorts", "loadBalancerClass", "internalTrafficPolicy",
             "trafficDistribution"),
    "port": ("name", "protocol", "appProtocol", "port", "targetPort", "nodePort"),
    "status": ("loadBalancer", "conditions"),
}


def _in_order(obj: dict, order: tuple[str, ...]) -> dict:
    return {**{k: obj[k] for k in order if k in obj}, **{k: v for k, v in obj.items() if k not in order}}


def typed_service(obj: dict) -> dict:
    """A Service as kubectl prints the typed object it decoded (create's answer, a client dry run): Go's field
    order, and a status with its loadBalancer, empty or not."""
    out = _in_order(obj, _GO_ORDER[""])
    out["metadata"] = _in_order(obj.get("metadata") or {}, _GO_ORDER["metadata"])
    if "spec" in obj:
        spec = _in_order(obj["spec"] or {}, _GO_ORDER["spec"])
        if "ports" in spec:
            spec["ports"] = [_in_order(p, _GO_ORDER["port"]) for p in spec["ports"] or []]
        out["spec"] = spec
    out["status"] = _in_order({"loadBalancer": {}, **(obj.get("status") or {})}, _GO_ORDER["status"])
    return out


def cronjob_for(args: argparse.Namespace) -> dict[str, Any]:
    """kubectl create cronjob NAME --image=I --schedule=S [--restart=OnFailure] [-- COMMAND]: one container
    named NAME; the job template carries the name too, as kubectl's."""
    missing = [f'"{f}"' for f, v in (("image", args.image), ("schedule", args.schedule)) if not v]
    if missing:
        raise ValueError(f"error: required flag(s) {', '.join(missing)} not set")
    container: dict[str, Any] = {"name": args.name, "image": args.image[0]}
    if args.argv:
        container["command"] = list(args.argv)
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": args.name},
            "spec": {"schedule": args.schedule, "jobTemplate": {
                "metadata": {"name": args.name},
                "spec": {"template": {"spec": {"containers": [container],
                                               "restartPolicy": args.restart or "OnFailure"}}}}}}


def job_for(args: argparse.Namespace) -> dict[str, Any]:
    """kubectl create job NAME --image=I [-- COMMAND] (restartPolicy Never)."""
    if not args.image:
        raise ValueError("error: either --image or --from must be specified")
    container: dict[str, Any] = {"name": args.name, "image": args.image[0]}
    if args.argv:
        container["command"] = list(args.argv)
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": args.name},
            "spec": {"template": {"spec": {"containers": [container], "restartPolicy": "Never"}}}}


def job_from_cronjob(name: str, cj: dict) -> dict[str, Any]:
    """kubectl create job NAME --from=cronjob/CJ (createJobFromCronJob): the template's spec, labels and
    annotations, `cronjob.kubernetes.io/instantiate: manual`, and the CronJob as controller (without
    blockOwnerDeletion, as kubectl)."""
    template = (cj.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    md: dict[str, Any] = {
        "name": name,
        "annotations": {"cronjob.kubernetes.io/instantiate": "manual", **(tmeta.get("annotations") or {})},
        "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": cj["metadata"]["name"],
                             "uid": cj["metadata"]["uid"], "controller": True}],
    }
    if tmeta.get("labels"):
        md["labels"] = dict(tmeta["labels"])
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": md, "spec": template.get("spec") or {}}


async def _create_job_from(client: Client, args: argparse.Namespace) -> int:
    kind, _, source = args.from_.partition("/")
    if kind.lower() not in ("cronjob", "cronjobs", "cj", "cronjob.batch") or not source:
        return fail(f"error: from must be an existing cronjob: {args.from_}" if source else
                    "error: from must be an existing cronjob")
    try:
        cj = await client.get("CronJob", source, args.namespace or client_namespace(args))
    except ApiError as e:
        return fail(f"Error from server ({e.reason}): {e.message}")
    return await _create(client, job_from_cronjob(args.name, cj), args, "created")


def client_namespace(args: argparse.Namespace) -> str:
    return args.namespace or "default"


def deployment_for(args: argparse.Namespace) -> dict[str, Any]:
    if not args.image:
        raise ValueError("error: required flag(s) \"image\" not set")
    labels = {"app": args.name}
    containers: list[dict[str, Any]] = [{"name": container_name(image), "image": image} for image in args.image]
    command = list(getattr(args, "argv", []) or [])
    if command:
        if len(containers) > 1:
            raise ValueError("error: cannot specify multiple --image options and command")
        containers[0]["command"] = command  # as kubectl: the words after -- are the command
    if args.port:
        containers[0]["ports"] = [{"containerPort": args.port}]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": args.name, "labels": dict(labels)},
            "spec": {"replicas": args.replicas, "selector": {"matchLabels": dict(labels)},
                     "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": containers}}}}


def service_for(obj: dict, args: argparse.Namespace) -> dict[str, Any]:
    """The Service `kubectl expose` makes for obj: its selector, and its first container port by default."""
    kind, name = obj["kind"], obj["metadata"]["name"]
    spec = obj.get("spec") or {}
    if kind == "Pod":
        selector, template = obj["metadata"].get("labels") or {}, obj
    elif kind == "Service":
        selector, template = spec.get("selector") or {}, None
    else:
        sel = spec.get("selector") or {}
        if sel.get("matchExpressions"):
            raise ValueError(f"error: cannot expose a {kind} with match expressions in its selector: use a manifest")
        selector, template = sel.get("matchLabels") or {}, spec.get("template") or {}
    if not selector:
        raise ValueError(f"error: couldn't retrieve selectors via --selector flag or introspection: {kind.lower()} "
                         f"{name} has no {'labels' if kind == 'Pod' else 'selector'}")
    if args.port is not None:
        target: int | str = args.port
        if args.target_port:
            target = int(args.target_port) if args.target_port.isdigit() else args.target_port
        ports = [{"port": args.port, "protocol": args.protocol or "TCP", "targetPort": target}]
    else:  # as kubectl introspects them: every port of every container (a Service's own ports)
        if kind == "Service":  # the same ports, to the same pods' ports
            found = [(p.get("port"), p.get("protocol"), p.get("targetPort") or p.get("port"))
                     for p in spec.get("ports") or []]
        else:
            found = [(p.get("containerPort"), p.get("protocol"), p.get("containerPort"))
                     for c in ((template or {}).get("spec") or {}).get("containers") or [] for p in c.get("ports") or []]
        if not found:
            raise ValueError("error: couldn't find port via --port flag or introspection")
        ports = [{"port": int(port), "protocol": args.protocol or proto or "TCP", "targetPort": target}
                 for port, proto, target in found]
        if args.target_port:
            ports[0]["targetPort"] = int(args.target_port) if args.target_port.isdigit() else args.target_port
        if len(ports) > 1:
            for i, p in enumerate(ports, 1):
                p["name"] = f"port-{i}"  # kubectl's names when it exposes several
    labels = obj["metadata"].get("labels") or {}
    svc: dict[str, Any] = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": args.service_name or name},
                           "spec": {"ports": ports, "selector": dict(selector)}}
    if args.type:
        svc["spec"]["type"] = args.type
    if labels:
        svc["metadata"]["labels"] = dict(labels)
    return svc


def env_vars(pairs: list[str]) -> list[dict[str, str]]:
    """--env KEY=VALUE flags as a container's env (kubectl run's and debug's)."""
    env = []
    for pair in pairs:
        k, eq, v = pair.partition("=")
        if not eq or not k:
            raise ValueError(f"error: invalid env: {pair!r}: use --env=KEY=VALUE")
        env.append({"name": k, "value": v})
    return env


def _print_files(args: argparse.Namespace) -> int:
    """kubectl create -f --dry-run=client: each manifest's object as it is, in the namespace it would go to (a
    namespaced one without its own gets -n's, else default), sent nowhere; -o yaml puts --- between documents."""
    from tui import manifests

    try:
        items = manifests.split_cluster(manifests.load(args.filename))[1]
        infos = [kinds.by_kind(m.obj.get("kind", "")) for m in items]
    except (manifests.ManifestError, ApiError) as e:
        return fail(str(e))
    printer = Printer(args.output)
    for m, info in zip(items, infos, strict=True):
        obj = m.obj
        md = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
        if info.namespaced and not md.get("namespace"):
            obj = dict(obj, metadata=dict(md, namespace=args.namespace or "default"))
        printer.show(obj, "created (dry run)")
    return 0


def kubectl_typed(obj: dict[str, Any]) -> dict[str, Any]:
    """obj as kubectl prints the typed object it built (--dry-run=client -o yaml, the usual start of a manifest):
    with the zero values Go's encoding/json writes for its structs. A null creationTimestamp in every ObjectMeta
    (pod and job templates too), `resources: {}` of each container, a Deployment's `strategy: {}`, a Namespace's
    `spec: {}`, and an empty status (a Service's with its empty loadBalancer); ConfigMaps and Secrets have none."""
    out = copy.deepcopy(obj)
    kind = out.get("kind")

    def meta(m: dict[str, Any]) -> None:
        m.setdefault("creationTimestamp", None)

    def pod_template(t: dict[str, Any] | None) -> None:
        if not isinstance(t, dict):
            return
        meta(t.setdefault("metadata", {}))
        pod_spec(t.get("spec"))

    def pod_spec(spec: Any) -> None:
        for key in ("initContainers", "containers"):
            for c in (spec or {}).get(key) or []:
                if isinstance(c, dict):
                    c.setdefault("resources", {})

    meta(out.setdefault("metadata", {}))
    spec = out.get("spec") if isinstance(out.get("spec"), dict) else None
    if kind == "Pod":
        pod_spec(spec)
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job") and spec is not None:
        if kind == "Deployment":
            spec.setdefault("strategy", {})
        pod_template(spec.get("template"))
    elif kind == "CronJob" and spec is not None:
        job = spec.get("jobTemplate")
        if isinstance(job, dict):
            meta(job.setdefault("metadata", {}))
            pod_template((job.get("spec") or {}).get("template"))
    elif kind in ("Namespace", "ResourceQuota"):
        out.setdefault("spec", {})
    if kind in ("Service", "Ingress"):
        out.setdefault("status", {"loadBalancer": {}})
    elif kind == "PodDisruptionBudget":  # its status's counts are not omitempty
        out.setdefault("status", {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0})
    elif kind in ("Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Namespace",
                  "HorizontalPodAutoscaler", "ResourceQuota"):
        out.setdefault("status", {})
    return out


# kubectl v1.32's `create KIND` wraps the server's refusal in its own words for these kinds (the secret's without
# a colon, as kubectl prints it); `create namespace` and `run` print the server's error as it is.
FAILED_TO_CREATE = {"Deployment": "failed to create deployment: ", "ConfigMap": "failed to create configmap: ",
                    "Secret": "failed to create secret ", "PriorityClass": "failed to create priorityclass: ",
                    "PodDisruptionBudget": "failed to create poddisruptionbudgets: ",
                    "ResourceQuota": "failed to create quota: ",
                    "Job": "failed to create job: ", "CronJob": "failed to create cronjob: ",
                    "Service": "failed to create service: ", "ServiceAccount": "failed to create serviceaccount: ",
                    "Ingress": "failed to create ingress: ",
                    "RoleBinding": "failed to create rolebinding: ",
                    "ClusterRoleBinding": "failed to create clusterrolebinding: "}  # worded with the Service's type in _create


async def _create(client: Client | None, obj: dict, args: argparse.Namespace, verb: str, *,
                  typed: bool = False) -> int:
    """Create obj (or with --dry-run=client only print it) and print what kubectl prints, without
    managedFields. typed: obj is in the form kubectl's typed object has (create service's), and so is what is
    printed, the answer too (-o yaml with every level's keys sorted, -o json in Go's field order); what is sent
    leaves out its null creationTimestamp and empty status."""
    if args.namespace and kinds.by_kind(obj["kind"]).namespaced:
        obj["metadata"]["namespace"] = args.namespace
    if args.dry_run == "client" or client is None:
        stored, verb = (obj if typed else kubectl_typed(obj)), f"{verb} (dry run)"
    else:
        if typed:
            obj = {k: v for k, v in obj.items() if k != "status"}
            obj["metadata"] = {k: v for k, v in obj["metadata"].items() if v is not None}
        try:
            stored = await client.create(obj)
        except ApiError as e:
            prefix = FAILED_TO_CREATE.get(obj["kind"]) if args.command == "create" else None
            if prefix is None:
                raise
            if obj["kind"] == "Service":  # kubectl create service names the type it was making
                prefix = f"failed to create {obj['spec']['type']} service: "
            return fail(f"error: {prefix}{e.message}")
        for w in client.last_warnings:
            print(f"Warning: {w}", file=sys.stderr)
        if typed:  # kubectl prints the Service it decoded from the answer
            stored = typed_service(stored)
    md = stored.get("metadata") or {}
    if "managedFields" in md:  # as kubectl's printers: hidden (it has no --show-managed-fields here)
        stored = dict(stored, metadata={k: v for k, v in md.items() if k != "managedFields"})
    if args.output == "yaml":
        print(to_yaml(stored))
    elif args.output == "json":
        print(to_json(go_order(stored)))
    elif args.output == "name":
        print(kind_ref(stored))
    elif args.output:
        print_template(args.output, stored)
    else:
        print(f"{kind_ref(stored)} {verb}")
    return 0


async def _run_attached(client: Client, pod: dict, args: argparse.Namespace) -> int:
    """kubectl run -i/-it [--rm]: create the pod, attach to its container once it runs (our stdin to it,
    its output to us), and end with the container's exit code (restartPolicy Never or OnFailure; with
    Always, kubectl's default, the container is restarted and the session's end is 0); with --rm the pod is
    deleted after (also when it never ran). A pod that finished before it could be attached to shows its
    log instead."""
    from tui.commands import exec as exec_cmd

    ns = args.namespace or "default"
    name = pod["metadata"]["name"]
    await client.create(pod, ns)
    for w in client.last_warnings:
        print(f"Warning: {w}", file=sys.stderr)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args.pod_running_timeout
        phase = ""
        while phase not in ("Running", "Succeeded", "Failed"):
            if loop.time() > deadline:
                return fail(f"error: timed out waiting for the condition (pod {ns}/{name} is {phase or 'Pending'})")
            await asyncio.sleep(0.2)
            phase = ((await client.get("Pod", name, ns)).get("status") or {}).get("phase") or ""
        if phase == "Running":
            # kubectl attach's line, -it or -i alike
            print("If you don't see a command prompt, try pressing enter.", file=sys.stderr, flush=True)
            opts = argparse.Namespace(namespace=ns, container=None, timeout=None)
            try:
                code = await exec_cmd.stream(client, opts, name, [], stdin=True, tty=args.tty, attach=True)
            except ApiError as e:  # it ended between our look and the attach: kubectl's handleAttachPod
                print(f"warning: couldn't attach to pod/{name}, falling back to streaming logs: {e.message}",
                      file=sys.stderr)
                await _print_log(client, name, ns)
                code = 0
            if code == 130:  # interrupted: ours to report, whatever the container does next
                return code
            if pod["spec"].get("restartPolicy", "Always") == "Always":
                # as kubectl run: a container that is restarted has no exit code to wait for; the session's
                # end is said, with how to come back (kubectl attach's reattachMessage)
                if args.tty:  # printed with --rm too, before the pod goes (as kubectl)
                    container = pod["spec"]["containers"][0]["name"]
                    print(f"Session ended, resume using 'kube-tui attach {name} -c {container} -i -t' command "
                          "when the pod is running")
                return 0
        else:  # it ended before we could attach: what it wrote is in its log, as kubectl shows it
            await _print_log(client, name, ns)
        terminated = await _terminated(client, name, ns)
        code = int((terminated or {}).get("exitCode") or 0)
        if code:
            print(f"pod {ns}/{name} terminated ({(terminated or {}).get('reason') or 'Error'})", file=sys.stderr)
        return code
    finally:
        if args.rm:
            await client.delete("Pod", name, ns)
            print(f'pod "{name}" deleted')


async def _print_log(client: Client, name: str, ns: str) -> None:
    sys.stdout.write((await client.request("logs", {"namespace": ns, "name": name})).get("text", ""))
    sys.stdout.flush()


async def _terminated(client: Client, name: str, ns: str, wait: float = 5.0) -> dict | None:
    """The container's terminated state once the kubelet reported it (a moment after its end)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        pod = await client.get("Pod", name, ns)
        state = (((pod.get("status") or {}).get("containerStatuses") or [{}])[0].get("state") or {})
        if state.get("terminated") or loop.time() > deadline or pod["spec"].get("restartPolicy") != "Never":
            return state.get("terminated")
        await asyncio.sleep(0.2)


async def _expose(client: Client, args: argparse.Namespace) -> int:
    kind_word, _, name = args.kind.partition("/")
    name = name or args.name
    kind = kind_named(kind_word, EXPOSE_KINDS)
    if kind is None or not name:
        return fail("error: expose takes TYPE NAME (or TYPE/NAME) with TYPE one of deployment, rs, pod, svc")
    obj = await client.get(kind, name, args.namespace or "default")
    try:
        svc = service_for(obj, args)
    except ValueError as e:
        return fail(str(e))
    return await _create(client, svc, args, "exposed")


def _create_service(args: argparse.Namespace) -> int:
    """kubectl create service|svc SUB NAME ...: SUB is args.name, the words after it (those before a `--`, as
    kubectl counts them) the NAMEs."""
    sub = args.name
    if sub is None:  # as kubectl: the subcommands, on stderr, and a failure
        return fail(SERVICE_USAGE)
    before_dash = getattr(args, "before_dash", None)
    names = list(args.argv if before_dash is None else before_dash)
    if sub not in SERVICE_TYPES:
        return fail(f'error: unknown command "{" ".join([sub, *args.argv])}"\n'
                    "See 'kube-tui create service -h' for help and examples")
    try:
        obj = service_from_flags(args, sub, names)
    except ValueError as e:
        return fail(str(e))
    if args.dry_run == "client":  # as kubectl: nothing is sent, the object is only printed
        return aio.run(_create(None, obj, args, "created", typed=True))
    result = with_client(args, lambda c: _create(c, obj, args, "created", typed=True))
    return result if isinstance(result, int) else 0


def run(args: argparse.Namespace) -> int:
    try:
        args.output = output_format(args.output)
    except ValueError as e:
        return fail(f"error: {e}")
    try:
        if args.command == "run":
            if args.tty and not args.stdin:
                return fail("error: -i/--stdin is required for containers with -t/--tty=true")
            if args.rm and not args.stdin:
                return fail("error: --rm should only be used for attached containers")
            obj = override(pod_for(args), args.overrides, args.override_type)
            if args.stdin and args.dry_run == "none" and not args.output:
                result = with_client(args, lambda c: _run_attached(c, obj, args))
                return result if isinstance(result, int) else 0
        elif args.command == "create":
            if args.filename:
                if args.what:
                    return fail("error: give either -f FILE or deployment|namespace NAME, not both")
                if args.dry_run == "client":
                    return _print_files(args)
                return apply.run(args)
            if args.what == "token":  # kubectl create token SERVICE_ACCOUNT: a TokenRequest, nothing stored
                return create_token.run(args)
            what = kind_named(args.what or "", CREATE_WHAT)
            if what == "Service":
                return _create_service(args)
            if what is not None:  # create service's own flags, which kubectl's other create commands do not have
                given = [flag for flag, dest in (("tcp", "tcp"), *_SERVICE_FLAGS.items())
                         if getattr(args, dest, None) is not None]
                if given:
                    sub = f"{args.what} generic" if what == "Secret" else args.what
                    return fail(f"error: unknown flag: --{given[0]}\nSee 'kube-tui create {sub} --help' for usage.")
            if what == "Secret":  # kubectl create secret generic NAME: the sub-type comes first
                if args.name != "generic" or len(args.argv) != 1:
                    return fail("error: kube-tui create secret takes generic NAME [--from-literal=K=V] "
                                "[--from-file=[K=]PATH] [--from-env-file=PATH] (tls and docker-registry are not built)")
                args.name = args.argv[0]
            if what is None or not args.name:
                return fail("error: kube-tui create takes -f FILE, or deployment NAME --image=IMAGE, namespace NAME, "
                            "configmap NAME --from-literal=K=V, secret generic NAME --from-literal=K=V, or "
                            "priorityclass NAME --value=N, pdb NAME --selector=SEL --min-available=N, quota NAME --hard=R=Q,..., "
                            "job NAME --image=IMAGE | --from=cronjob/NAME, cronjob NAME --image=IMAGE --schedule=S, "
                            "serviceaccount NAME, ingress NAME --rule=HOST/PATH=SERVICE:PORT, "
                            "serviceaccount NAME, role NAME --verb=V --resource=R, clusterrole NAME --verb=V "
                            "--resource=R | --non-resource-url=U, rolebinding NAME --role=R | --clusterrole=R --user=U, "
                            "clusterrolebinding NAME --clusterrole=R --user=U, "
                            "or service clusterip|nodeport|loadbalancer|externalname NAME --tcp=PORT[:TARGET]")
            if what == "Job" and args.from_:
                if args.image:
                    return fail("error: either --image or --from must be specified")
                result = with_client(args, lambda c: _create_job_from(c, args))
                return result if isinstance(result, int) else 0
            if what in ("ConfigMap", "Secret"):
                obj = config_for(what, args)
            elif what == "PriorityClass":
                obj = priorityclass_for(args)
            elif what == "PodDisruptionBudget":
                obj = pdb_for(args)
            elif what == "ResourceQuota":
                obj = quota_for(args)
            elif what == "CronJob":
                obj = cronjob_for(args)
            elif what == "Job":
                obj = job_for(args)
            elif what == "Ingress":
                obj = ingress_for(args)
            elif what in ("Role", "ClusterRole"):
                obj = create_rbac.role_for(args, what == "ClusterRole")
            elif what in ("RoleBinding", "ClusterRoleBinding"):
                obj = create_rbac.binding_for(args, what == "ClusterRoleBinding")
            elif what == "ServiceAccount":  # kubectl create serviceaccount NAME
                obj = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": args.name}}
            else:
                obj = deployment_for(args) if what == "Deployment" else {
                    "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": args.name}}
        else:
            result = with_client(args, lambda c: _expose(c, args))
            return result if isinstance(result, int) else 0
    except ValueError as e:
        return fail(str(e))
    if args.dry_run == "client":  # as kubectl: nothing is sent, the object is only printed
        return aio.run(_create(None, obj, args, "created"))
    result = with_client(args, lambda c: _create(c, obj, args, "created"))
    return result if isinstance(result, int) else 0

