"""The cluster file's `kind: Cluster` document (apiVersion kube-tui/v1): which nodes to start and the timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from control import config
from control.api import quantity
from control.timings import Timings
from tui import manifests

ROOT = Path(__file__).resolve().parent.parent


class ClusterFileError(ValueError):
    pass


@dataclass
class NodeSpec:
    name: str
    cpu: str = "4"
    memory: str = "8Gi"
    pods: int = 110
    labels: dict[str, str] = field(default_factory=dict)
    taints: list[str] = field(default_factory=list)  # "key=value:Effect"
    runtime: str = "process"
    ephemeral_storage: str | None = None  # None: the node's data dir's file system

    def args(self) -> list[str]:
        """The `kube-tui node` arguments that start this node."""
        out = ["--name", self.name, "--cpu", self.cpu, "--memory", self.memory, "--pods", str(self.pods), "--runtime", self.runtime]
        if self.ephemeral_storage is not None:
            out += ["--ephemeral-storage", self.ephemeral_storage]
        if self.labels:
            out += ["--labels", ",".join(f"{k}={v}" for k, v in self.labels.items())]
        if self.taints:
            out += ["--taints", ",".join(self.taints)]
        return out


@dataclass
class ClusterSpec:
    name: str = "kube-tui"
    listen: str = config.DEFAULT_SERVER
    nodes: list[NodeSpec] = field(default_factory=list)
    timings: Timings = field(default_factory=Timings)
    path: Path | None = None
    objects: list[manifests.Manifest] = field(default_factory=list)
    scheduler_config: Path | None = None  # spec.controlPlane.schedulerConfig: a KubeSchedulerConfiguration
    scheduler_plugins: list[Path] = field(default_factory=list)  # spec.controlPlane.schedulerPlugins: *.py

    def control_args(self) -> list[str]:
        """`kube-tui control` arguments for the scheduler configuration this file names."""
        out = ["--scheduler-config", str(self.scheduler_config)] if self.scheduler_config else []
        for p in self.scheduler_plugins:
            out += ["--scheduler-plugins", str(p)]
        return out


def default_file() -> Path:
    """./demo.yaml when there is one, else the one beside the installed sources."""
    here = Path.cwd() / "demo.yaml"
    return here if here.exists() else ROOT / "demo.yaml"


def _taint(t: object, where: str) -> str:
    if isinstance(t, str):
        key_value, sep, effect = t.rpartition(":")
        if not sep or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise ClusterFileError(f'{where}: "{t}" is not a taint: write key=value:Effect with Effect NoSchedule, PreferNoSchedule or NoExecute')
        return t
    if isinstance(t, dict) and "key" in t and "effect" in t:
        value = f"={t['value']}" if t.get("value") else ""
        return _taint(f"{t['key']}{value}:{t['effect']}", where)
    raise ClusterFileError(f"{where}: a taint is key=value:Effect or a map with key, value and effect")


def parse_cluster(doc: dict, path: Path | None = None) -> ClusterSpec:
    spec = doc.get("spec") or {}
    if not isinstance(spec, dict):
        raise ClusterFileError("Cluster.spec: must be a map with nodes and timings")
    where = str(path) if path else "Cluster"
    try:
        timings = Timings.from_dict(spec.get("timings"))
    except ValueError as e:
        raise ClusterFileError(f"{where}: spec.{e}") from e
    nodes: list[NodeSpec] = []
    seen: set[str] = set()
    for i, n in enumerate(spec.get("nodes") or []):
        at = f"{where}: spec.nodes[{i}]"
        if not isinstance(n, dict) or not isinstance(n.get("name"), str):
            raise ClusterFileError(f"{at}.name: Required value: every node needs a name")
        name = n["name"]
        if name in seen:
            raise ClusterFileError(f'{at}.name: Duplicate value: "{name}"')
        seen.add(name)
        for res in ("cpu", "memory", "ephemeral-storage"):
            if res in n and not quantity.is_valid(n[res]):
                raise ClusterFileError(f'{at}.{res}: Invalid value: "{n[res]}": {quantity.QUANTITY_HELP}')
        runtime = n.get("runtime", "process")
        if runtime not in ("process", "sim"):
            raise ClusterFileError(f'{at}.runtime: Unsupported value: "{runtime}": supported values: "process", "sim"')
        labels = n.get("labels") or {}
        if not isinstance(labels, dict):
            raise ClusterFileError(f"{at}.labels: must be a map of label: value")
        nodes.append(
            NodeSpec(
                name=name,
                cpu=str(n.get("cpu", "4")),
                memory=str(n.get("memory", "8Gi")),
                pods=int(n.get("pods", 110)),
                labels={str(k): str(v) for k, v in labels.items()},
                taints=[_taint(t, f"{at}.taints[{j}]") for j, t in enumerate(n.get("taints") or [])],
                runtime=runtime,
                ephemeral_storage=str(n["ephemeral-storage"]) if "ephemeral-storage" in n else None,
            )
        )
    cp = spec.get("controlPlane") or {}
    if not isinstance(cp, dict):
        raise ClusterFileError(f"{where}: spec.controlPlane: must be a map (listen, schedulerConfig, schedulerPlugins)")
    base = path.parent if path else Path.cwd()

    def file(value: object, field_path: str) -> Path:
        if not isinstance(value, str) or not value:
            raise ClusterFileError(f"{where}: {field_path}: must be a file path (relative to this file)")
        f = (base / value).resolve()
        if not f.is_file():
            raise ClusterFileError(f"{where}: {field_path}: {f}: no such file")
        return f

    sched_config = cp.get("schedulerConfig")
    plugins = cp.get("schedulerPlugins") or []
    if not isinstance(plugins, list):
        raise ClusterFileError(f"{where}: spec.controlPlane.schedulerPlugins: must be a list of *.py files")
    return ClusterSpec(
        name=str((doc.get("metadata") or {}).get("name") or "kube-tui"),
        listen=str(cp.get("listen") or config.DEFAULT_SERVER),
        nodes=nodes,
        timings=timings,
        path=path,
        scheduler_config=file(sched_config, "spec.controlPlane.schedulerConfig") if sched_config is not None else None,
        scheduler_plugins=[file(p, f"spec.controlPlane.schedulerPlugins[{i}]") for i, p in enumerate(plugins)],
    )


def load(path: str | Path | None = None) -> ClusterSpec:
    p = (Path(path) if path else default_file()).resolve()  # children (the control plane) run elsewhere
    items = manifests.load([str(p)])
    doc, objects = manifests.split_cluster(items)
    spec = parse_cluster(doc or {}, p)
    spec.objects = objects
    return spec
