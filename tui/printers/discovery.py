"""What kubectl prints from discovery: `api-resources` (kubectl/pkg/cmd/apiresources), `api-versions`,
`version` (kubectl/pkg/cmd/version) and `cluster-info` (kubectl/pkg/cmd/clusterinfo). Pure functions of
the APIGroupList, APIResourceLists and version.Info the API server gives; every one returns the text without
a trailing newline, as the other printers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from tui.printers.output import sorted_keys, to_yaml
from tui.printers.tabwriter import tabwrite

OUTPUTS = ("", "wide", "name")
SORTS = ("", "name", "kind")


@dataclass(frozen=True)
class Resource:
    """One row of api-resources: a resource of a group version."""

    group: str
    group_version: str
    name: str
    short_names: tuple[str, ...]
    namespaced: bool
    kind: str
    verbs: tuple[str, ...]
    categories: tuple[str, ...] = ()


@dataclass
class Filters:
    """api-resources' filters; None where the flag was not given (kubectl tells `--api-group=` from none)."""

    api_group: str | None = None
    namespaced: bool | None = None
    verbs: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)


def preferred_resources(groups: list[dict], lists: list[dict]) -> list[Resource]:
    """client-go's ServerPreferredResources: each group version's resources (not subresources) in discovery
    order, the core group's first; a resource served in several versions of its group once, in the preferred
    version."""
    by_gv = {rl["groupVersion"]: rl for rl in lists}
    all_groups = [{"name": "", "versions": [{"groupVersion": "v1", "version": "v1"}],
                   "preferredVersion": {"groupVersion": "v1", "version": "v1"}}, *groups]
    order: list[str] = []
    chosen: dict[tuple[str, str], tuple[str, dict]] = {}
    for g in all_groups:
        preferred = (g.get("preferredVersion") or {}).get("version")
        for v in g.get("versions") or []:
            gv = v["groupVersion"]
            order.append(gv)
            for r in (by_gv.get(gv) or {}).get("resources") or []:
                if "/" in r["name"]:
                    continue
                key = (g["name"], r["name"])
                if key in chosen and v["version"] != preferred:
                    continue  # only the preferred version overrides one already seen
                chosen[key] = (gv, r)
    rows = [Resource(group, gv, r["name"], tuple(r.get("shortNames") or ()), bool(r.get("namespaced")), r["kind"],
                     tuple(r.get("verbs") or ()), tuple(r.get("categories") or ()))
            for (group, _), (gv, r) in chosen.items()]
    return sorted(rows, key=lambda r: order.index(r.group_version))


def select(resources: list[Resource], f: Filters) -> list[Resource]:
    """The resources api-resources shows: with verbs, in the group asked for, of the scope asked for, with
    every verb and category asked for."""
    return [r for r in resources
            if r.verbs
            and (f.api_group is None or r.group == f.api_group)
            and (f.namespaced is None or r.namespaced == f.namespaced)
            and set(f.verbs) <= set(r.verbs)
            and set(f.categories) <= set(r.categories)]


def sort_resources(resources: list[Resource], sort_by: str) -> list[Resource]:
    """kubectl's order: by API group (or by name, or kind, with --sort-by), then by name; stable otherwise."""
    def key(r: Resource) -> tuple[str, str]:
        first = r.name if sort_by == "name" else r.kind if sort_by == "kind" else r.group
        return first, r.name

    return sorted(resources, key=key)


def api_resources(resources: list[Resource], output: str = "", no_headers: bool = False, sort_by: str = "") -> str:
    """`kubectl api-resources` of these resources: a table (-o wide adds VERBS and CATEGORIES), or -o name's
    RESOURCE.GROUP lines."""
    rows = sort_resources(resources, sort_by)
    if output == "name":
        return "\n".join(r.name + (f".{r.group}" if r.group else "") for r in rows)
    header = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"] + ["VERBS", "CATEGORIES"] * (output == "wide")
    lines = [] if no_headers else ["\t".join(header)]
    for r in rows:
        cells = [r.name, ",".join(r.short_names), r.group_version, str(r.namespaced).lower(), r.kind]
        if output == "wide":
            cells += [",".join(r.verbs), ",".join(r.categories)]
        lines.append("\t".join(cells))
    return tabwrite("\n".join(lines), minwidth=6, padding=3) if lines else ""


def api_versions(groups: list[dict]) -> str:
    """`kubectl api-versions`: every group version the server serves (the core group's v1 too), sorted."""
    versions = ["v1", *(v["groupVersion"] for g in groups for v in g.get("versions") or [])]
    return "\n".join(sorted(set(versions)))


def version(client: dict, server: dict | None, output: str = "") -> str:
    """`kubectl version`: the client's and (unless None, as with --client) the server's version.Info, as
    text, -o json or -o yaml."""
    doc = {"clientVersion": client} | ({"serverVersion": server} if server is not None else {})
    if output == "json":
        return json.dumps(doc, indent=2)
    if output == "yaml":
        return to_yaml(sorted_keys(doc)) + "\n"  # kubectl prints the YAML with Println: a blank line follows
    lines = [f"Client Version: {client['gitVersion']}"]
    if server is not None:
        lines.append(f"Server Version: {server['gitVersion']}")
    return "\n".join(lines)


# go-colortext, which kubectl's cluster-info colours with: green names, yellow addresses
GREEN, YELLOW, RESET = "\x1b[0;32m", "\x1b[0;33m", "\x1b[0m"


def running_at(name: str, link: str, colour: bool) -> str:
    """One line of cluster-info: "NAME is running at LINK"."""
    if colour:
        return f"{GREEN}{name}{RESET} is running at {YELLOW}{link}{RESET}"
    return f"{name} is running at {link}"


def service_link(service: dict, proxy_base: str) -> str:
    """Where cluster-info says a cluster service runs, as kubectl works it out: its load balancer's address for
    each port, else the API server's proxy to it (`proxy_base`: the REST API's address), else, with no REST API
    to proxy through, its ClusterIP and first port (a real listener on this machine, kube-proxy's)."""
    spec, status = service.get("spec") or {}, service.get("status") or {}
    ports = spec.get("ports") or []
    ingress = (status.get("loadBalancer") or {}).get("ingress") or []
    if ingress:
        ip = ingress[0].get("ip") or ingress[0].get("hostname") or ""
        return "".join(f"http://{ip}:{p.get('port')} " for p in ports)
    md = service["metadata"]
    name, scheme = md["name"], ""
    if ports:
        port = ports[0]
        scheme = "https" if port.get("name") == "https" or port.get("port") == 443 else ""
        name = _join_scheme_name_port(scheme, name, str(port.get("name") or ""))
    if proxy_base:
        return f"{proxy_base}/api/v1/namespaces/{md.get('namespace', '')}/services/{name}/proxy"
    ip = spec.get("clusterIP") or ""
    if not ports or not ip or ip == "None":
        return f"(no address: the Service {md['name']} has {'no ports' if not ports else 'no ClusterIP'})"
    return f"{scheme or 'http'}://{ip}:{ports[0].get('port')}"


def _join_scheme_name_port(scheme: str, name: str, port: str) -> str:
    """apimachinery's utilnet.JoinSchemeNamePort: [scheme:]name[:port], the form a proxy path takes."""
    if scheme:
        return f"{scheme}:{name}:{port}"
    return f"{name}:{port}" if port else name


def cluster_info(control_plane: str, rest_address: str, services: list[dict], colour: bool = False) -> str:
    """`kubectl cluster-info`: where the control plane runs (the ZeroMQ API server, and the REST API for kubectl
    when it is served), then each cluster service (label kubernetes.io/cluster-service=true)."""
    lines = [running_at("Kubernetes control plane", control_plane, colour)]
    if rest_address:
        lines.append(running_at("Kubernetes REST API (kubectl)", rest_address, colour))
    for svc in services:
        md = svc["metadata"]
        name = (md.get("labels") or {}).get("kubernetes.io/name") or md["name"]
        lines.append(running_at(name, service_link(svc, rest_address), colour))
    lines += ["", "To further debug and diagnose cluster problems, use 'kube-tui get events -A' and 'kube-tui describe'."]
    return "\n".join(lines)

