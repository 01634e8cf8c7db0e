"""KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1): scheduling profiles from a file.

`kube-tui scheduler --config FILE` (and `kube-tui control --scheduler-config FILE`) take the file
kube-scheduler's `--config` takes. What is honoured, with kube-scheduler's rules:

- `profiles`, one framework each, picked by a pod's `spec.schedulerName`;
- per extension point (preFilter, filter, preScore, score, and multiPoint) the plugins `enabled`
  (with score `weight`s) and `disabled` (`*` for all), merged into the defaults as v1 merges them
  (a re-configured default keeps its place; the rest are appended) and expanded from multiPoint as
  the framework does (explicit extension points first, then multiPoint, then the rest);
- `pluginConfig` args: NodeResourcesFit's scoringStrategy, and any args of an out-of-tree plugin;
- `percentageOfNodesToScore` (global and per profile), `podInitialBackoffSeconds`, `podMaxBackoffSeconds`;
- `leaderElection.leaderElect` and `.resourceName` (`.resourceNamespace` too): a second scheduler needs
  its own Lease, or it waits behind the default one, as in Kubernetes.

When any of the files changes, a running scheduler reads them again (`watch`): a good configuration
replaces the profiles (pending pods are tried again with it), a bad one is reported and the one in use
kept. Everything else that kube-scheduler accepts (the other extension points, clientConnection,
extenders, ...) is accepted with a warning that kube-tui does not use it. Errors
name the file, the field and the fix, in kube-scheduler's validation wording.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from control.api import strict_yaml
from control.scheduler import registry as reg
from control.scheduler.framework import Framework, Guarded, _Filter, _Scorer, raised_at

log = logging.getLogger("kube_tui.scheduler")

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"
DEFAULT_SCHEDULER_NAME = "default-scheduler"

# v1's default profile: every default plugin through multiPoint, with the score weights (default_plugins.go).
DEFAULT_MULTI_POINT: tuple[tuple[str, int], ...] = (
    ("SchedulingGates", 0), ("PrioritySort", 0), ("NodeUnschedulable", 0), ("NodeName", 0),
    ("TaintToleration", 3), ("NodeAffinity", 2), ("NodePorts", 0), ("NodeResourcesFit", 1),
    ("VolumeRestrictions", 0), ("NodeVolumeLimits", 0), ("VolumeBinding", 0), ("VolumeZone", 0),
    ("PodTopologySpread", 2), ("InterPodAffinity", 2), ("DefaultPreemption", 0),
    ("NodeResourcesBalancedAllocation", 1), ("ImageLocality", 1), ("DefaultBinder", 0),
)

# The extension points kube-tui's framework runs: (config key, plugin interface name, method).
MODELLED = (("preFilter", "PreFilterPlugin", "pre_filter"), ("filter", "FilterPlugin", "filter"),
            ("preScore", "PreScorePlugin", "pre_score"), ("score", "ScorePlugin", "score"))
OTHER_POINTS = ("preEnqueue", "queueSort", "postFilter", "reserve", "permit", "preBind", "bind", "postBind")
TOP_LEVEL_USED = {"apiVersion", "kind", "profiles", "percentageOfNodesToScore", "podInitialBackoffSeconds",
                  "podMaxBackoffSeconds", "leaderElection"}
TOP_LEVEL_IGNORED = {"parallelism", "clientConnection", "healthzBindAddress", "metricsBindAddress",
                     "enableProfiling", "enableContentionProfiling", "extenders", "delayCacheUntilActive",
                     "featureGates"}
PROFILE_FIELDS = {"schedulerName", "plugins", "pluginConfig", "percentageOfNodesToScore"}


class ConfigError(ValueError):
    """A configuration kube-tui refuses; the message names the file, the field and the fix."""


@dataclass
class Profile:
    scheduler_name: str
    framework: Framework

    def describe(self) -> str:
        """One line: the filter chain and the weighted scores, as the scheduler prints them at start."""
        fw = self.framework
        filters = ", ".join(f.name for f in fw.filters)
        scores = ", ".join(f"{s.name}{_strategy(s.plugin)}×{s.weight}" for s in fw.scorers)
        return f"{self.scheduler_name}: filter [{filters}]  score [{scores}]"


def _strategy(plugin: Any) -> str:
    """NodeResourcesFit's scoring strategy when it is not the default one: "(MostAllocated)"."""
    key = getattr(plugin, "strategy_key", None)
    if not key or getattr(plugin, "_scorer", None) is None:
        return ""
    return f"({key[0]})"


@dataclass
class SchedulerConfig:
    profiles: list[Profile]
    pod_initial_backoff: float | None = None  # seconds; None: the cluster's timings decide
    pod_max_backoff: float | None = None
    config_file: Path | None = None  # the file it was read from (None: the default profile)
    plugin_files: tuple[Path, ...] = ()  # the plugin files it loaded
    leader_elect: bool | None = None  # None: the command line decides
    lease_name: str = "kube-scheduler"
    lease_namespace: str = "kube-system"
    warnings: list[str] = field(default_factory=list)

    def profile(self, scheduler_name: str) -> Profile | None:
        return next((p for p in self.profiles if p.scheduler_name == scheduler_name), None)

    @property
    def sources(self) -> tuple[Path, ...]:
        """Every file it was read from: a change to any of them is reloaded."""
        return (*([self.config_file] if self.config_file else []), *self.plugin_files)

    def reload(self) -> SchedulerConfig:
        """The configuration read again from its files (the plugin files too). Raises ConfigError."""
        plugins = [str(p) for p in self.plugin_files]
        return load(self.config_file, plugins) if self.config_file else load_default(plugins)


def default() -> SchedulerConfig:
    return parse({"apiVersion": API_VERSION, "kind": KIND}, reg.build())


def load_default(plugin_files: list[str] | tuple[str, ...] = ()) -> SchedulerConfig:
    """The default profile, after checking that the plugin files load. Raises ConfigError."""
    try:
        registry = reg.build(plugin_files)
    except reg.PluginFileError as e:
        raise ConfigError(str(e)) from None
    cfg = parse({"apiVersion": API_VERSION, "kind": KIND}, registry)
    cfg.plugin_files = tuple(Path(f).resolve() for f in plugin_files)
    if plugin_files:
        cfg.warnings.append("plugins loaded but not enabled: enable them by name in a configuration "
                            f"(--config FILE): {', '.join(sorted(reg.out_of_tree(registry)))}")
    return cfg


def load(path: str | Path, plugin_files: list[str] | tuple[str, ...] = ()) -> SchedulerConfig:
    """Read and check a configuration file (and the plugin files it may name). Raises ConfigError."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise ConfigError(f"scheduler configuration {p}: {e.strerror or e}") from None
    try:
        doc = strict_yaml.load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"scheduler configuration {p}{where}: not valid YAML: "
                          f"{getattr(e, 'problem', None) or e}") from None
    try:
        registry = reg.build(plugin_files)
    except reg.PluginFileError as e:
        raise ConfigError(str(e)) from None
    try:
        cfg = parse(doc, registry)
    except ConfigError as e:
        raise ConfigError(f"scheduler configuration {p}: {e}") from None
    cfg.config_file, cfg.plugin_files = p.resolve(), tuple(Path(f).resolve() for f in plugin_files)
    return cfg


def parse(doc: Any, registry: dict[str, reg.Factory]) -> SchedulerConfig:
    if not isinstance(doc, dict):
        raise ConfigError(f"expected a {KIND} mapping (apiVersion: {API_VERSION}, kind: {KIND}, profiles: [...])")
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != KIND:
        raise ConfigError(f'apiVersion and kind must be "{API_VERSION}" and "{KIND}" '
                          f"(got {doc.get('apiVersion')!r} and {doc.get('kind')!r})")
    warnings: list[str] = []
    for k in doc:
        if k in TOP_LEVEL_IGNORED:
            warnings.append(f"{k}: not used by kube-tui's scheduler (ignored)")
        elif k not in TOP_LEVEL_USED:
            raise ConfigError(f'strict decoding error: unknown field "{k}"')
    percentage = _percentage(doc.get("percentageOfNodesToScore"), "percentageOfNodesToScore") or 0
    initial = _seconds(doc, "podInitialBackoffSeconds")
    maximum = _seconds(doc, "podMaxBackoffSeconds")
    if (initial is not None or maximum is not None) and (maximum or 10.0) < (initial or 1.0):
        # kube-scheduler's defaults (1 s and 10 s) fill in the one not given, and are checked with it
        raise ConfigError(f"podMaxBackoffSeconds: Invalid value: {maximum or 10.0:g}: must be greater than or equal "
                          f"to podInitialBackoffSeconds ({initial or 1.0:g}; kube-scheduler's defaults are 1 and 10)")
    le = doc.get("leaderElection") or {}
    if not isinstance(le, dict):
        raise ConfigError("leaderElection: Invalid value: expected a mapping (leaderElect, resourceName, ...)")
    if "leaderElect" in le and not isinstance(le["leaderElect"], bool):
        raise ConfigError(f"leaderElection.leaderElect: Invalid value: {le['leaderElect']!r}: true or false")
    for k in ("resourceName", "resourceNamespace"):
        if k in le and (not isinstance(le[k], str) or not le[k]):
            raise ConfigError(f"leaderElection.{k}: Invalid value: {le[k]!r}: a Lease name")
    used_le = {"leaderElect", "resourceName", "resourceNamespace"}
    known_le = used_le | {"leaseDuration", "renewDeadline", "retryPeriod", "resourceLock"}
    for k in le:
        if k not in known_le:
            raise ConfigError(f'strict decoding error: unknown field "leaderElection.{k}"')
    if set(le) - used_le:
        warnings.append("leaderElection: only leaderElect, resourceName and resourceNamespace are used; "
                        f"{', '.join(sorted(set(le) - used_le))} ignored (the cluster's lease timings apply)")
    raw_profiles = doc.get("profiles") or [{}]
    if not isinstance(raw_profiles, list):
        raise ConfigError("profiles: Invalid value: expected a list of profiles")
    profiles: list[Profile] = []
    seen: set[str] = set()
    for i, rp in enumerate(raw_profiles):
        path = f"profiles[{i}]"
        if not isinstance(rp, dict):
            raise ConfigError(f"{path}: Invalid value: expected a mapping with schedulerName and plugins")
        for k in rp:
            if k not in PROFILE_FIELDS:
                raise ConfigError(f'strict decoding error: unknown field "{path}.{k}"')
        name = rp.get("schedulerName")
        if name is None and len(raw_profiles) == 1:
            name = DEFAULT_SCHEDULER_NAME
        if not name or not isinstance(name, str):
            raise ConfigError(f"{path}.schedulerName: Required value: each of several profiles needs its own "
                              "schedulerName (pods choose one with spec.schedulerName)")
        if name in seen:
            raise ConfigError(f'{path}.schedulerName: Duplicate value: "{name}"')
        seen.add(name)
        own = _percentage(rp.get("percentageOfNodesToScore"), f"{path}.percentageOfNodesToScore")
        fw = _framework(rp, path, registry, warnings)
        fw.percentage_of_nodes_to_score = own if own is not None else percentage
        profiles.append(Profile(name, fw))
    return SchedulerConfig(profiles, pod_initial_backoff=initial, pod_max_backoff=maximum,
                           leader_elect=le.get("leaderElect"), lease_name=le.get("resourceName", "kube-scheduler"),
                           lease_namespace=le.get("resourceNamespace", "kube-system"), warnings=warnings)


# -- one profile --------------------------------------------------------------------------------------

def _percentage(v: Any, path: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 100:
        raise ConfigError(f"{path}: Invalid value: {v!r}: not in valid range [0-100]")
    return v


def _seconds(doc: dict, key: str) -> float | None:
    v = doc.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
        raise ConfigError(f"{key}: Invalid value: {v!r}: must be greater than 0")
    return float(v)


def _plugin_set(plugins: dict, point: str, path: str) -> tuple[list[tuple[str, int]], list[str]]:
    """(enabled (name, weight) in order, disabled names) of one extension point."""
    ps = plugins.get(point) or {}
    if not isinstance(ps, dict):
        raise ConfigError(f"{path}.plugins.{point}: Invalid value: expected a mapping with enabled and/or disabled")
    out: dict[str, list] = {"enabled": [], "disabled": []}
    for key in ps:
        if key not in out:
            raise ConfigError(f'strict decoding error: unknown field "{path}.plugins.{point}.{key}"')
    for key in out:
        items = ps.get(key) or []
        if not isinstance(items, list):
            raise ConfigError(f"{path}.plugins.{point}.{key}: Invalid value: expected a list of {{name: ...}}")
        for j, item in enumerate(items):
            where = f"{path}.plugins.{point}.{key}[{j}]"
            if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
                raise ConfigError(f"{where}.name: Required value: the plugin's name, e.g. NodeResourcesFit")
            for k in item:
                if k not in ("name", "weight"):
                    raise ConfigError(f'strict decoding error: unknown field "{where}.{k}"')
            weight = item.get("weight", 0)
            if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
                raise ConfigError(f"{where}.weight: Invalid value: {weight!r}: must be a non-negative integer")
            out[key].append((item["name"], weight) if key == "enabled" else item["name"])
    return out["enabled"], out["disabled"]


def _merge(defaults: tuple[tuple[str, int], ...] | list[tuple[str, int]], enabled: list[tuple[str, int]],
           disabled: list[str]) -> list[tuple[str, int]]:
    """mergePluginSet: the defaults minus the disabled, re-configured ones in place, then the new ones."""
    custom = {name: (i, (name, w)) for i, (name, w) in enumerate(enabled)}
    replaced: set[int] = set()
    merged: list[tuple[str, int]] = []
    if "*" not in disabled:
        for d in defaults:
            if d[0] in disabled:
                continue
            if d[0] in custom:
                i, d = custom[d[0]]
                replaced.add(i)
            merged.append(d)
    merged.extend(p for i, p in enumerate(enabled) if i not in replaced)
    return merged


def _implements(plugin: Any, name: str, point: str, method: str) -> bool:
    """Whether a plugin extends a point: by having the method, or for an in-tree one where kube-scheduler's
    does (kube-tui's may do nothing there, e.g. NodeResourcesFit's PreFilter)."""
    if name in reg.IN_TREE and point in reg.IN_TREE_POINTS.get(name, ()):
        return True
    return callable(getattr(plugin, method, None))


def _framework(rp: dict, path: str, registry: dict[str, reg.Factory], warnings: list[str]) -> Framework:
    plugins = rp.get("plugins") or {}
    if not isinstance(plugins, dict):
        raise ConfigError(f"{path}.plugins: Invalid value: expected a mapping of extension points")
    for point in plugins:
        if point not in OTHER_POINTS and point != "multiPoint" and point not in {p for p, _, _ in MODELLED}:
            raise ConfigError(f'strict decoding error: unknown field "{path}.plugins.{point}"')
    mp_enabled, mp_disabled = _plugin_set(plugins, "multiPoint", path)
    multi = _merge(DEFAULT_MULTI_POINT, mp_enabled, mp_disabled)
    user_multi = {name: j for j, (name, _) in enumerate(mp_enabled)}  # the user's own index, for messages
    name = rp.get("schedulerName") or DEFAULT_SCHEDULER_NAME
    _check_queue_sort_and_bind(plugins, path, name, multi, mp_disabled, warnings)
    args = _plugin_args(rp, path)
    instances: dict[str, Any] = {}

    def instance(plugin_name: str) -> Any:
        if plugin_name not in instances:
            where = (f"{path}.pluginConfig[{list(args).index(plugin_name)}].args" if plugin_name in args
                     else f"{path}: plugin {plugin_name}")
            try:
                plugin = registry[plugin_name](args.get(plugin_name) or {})
            except ValueError as e:
                if plugin_name in reg.IN_TREE:  # the in-tree args' own validation: the message is "field: ..."
                    raise ConfigError(f"{where}.{e}") from None
                raise ConfigError(f"{where}: {plugin_name} refused its args: {raised_at(e, reg.plugin_files(registry))}") \
                    from None
            except Exception as e:
                raise ConfigError(f"{where}: making plugin {plugin_name} failed: {raised_at(e, reg.plugin_files(registry))}") \
                    from None
            instances[plugin_name] = Guarded(plugin) if plugin_name not in reg.IN_TREE else plugin
        return instances[plugin_name]

    def known(plugin_name: str, where: str, iface: str, *, user: bool = True) -> bool:
        if plugin_name in registry:
            return True
        if plugin_name in reg.NOT_IMPLEMENTED:
            if user:
                msg = f"{where}: {plugin_name} is a kube-scheduler plugin kube-tui does not implement (ignored)"
                if msg not in warnings:
                    warnings.append(msg)
            return False
        available = ", ".join(sorted(registry))
        near = reg.NEAR_MISSES.get(plugin_name)
        hint = f" ({near})" if near else " (add your own with --plugins FILE.py)"
        raise ConfigError(f'{where}: {iface} "{plugin_name}" does not exist; the plugins here are: {available}{hint}')

    lists: dict[str, list[str]] = {}
    for point, iface, method in MODELLED:
        enabled, disabled = _plugin_set(plugins, point, path)
        names: list[str] = []
        for j, (plugin_name, _) in enumerate(_merge([], enabled, disabled)):
            where = f"{path}.plugins.{point}.enabled[{j}]"
            if not known(plugin_name, where, iface):
                continue
            if not _implements(instance(plugin_name), plugin_name, point, method):
                raise ConfigError(f'{where}: plugin "{plugin_name}" does not extend {iface} plugin')
            if plugin_name in names:
                raise ConfigError(f'{where}: plugin "{plugin_name}" already registered as "{iface}"')
            names.append(plugin_name)
        if "*" not in disabled:
            overrides: list[str] = []
            from_multi: list[str] = []
            for plugin_name, _ in multi:
                j = user_multi.get(plugin_name)
                where = f"{path}.plugins.multiPoint.enabled[{j}]"
                if not known(plugin_name, where, "plugin", user=j is not None):
                    continue
                if not _implements(instance(plugin_name), plugin_name, point, method) or plugin_name in disabled:
                    continue
                if plugin_name in names:
                    overrides.append(plugin_name)
                    continue
                if plugin_name in from_multi:
                    raise ConfigError(f'{where}: plugin "{plugin_name}" already registered as "{iface}"')
                from_multi.append(plugin_name)
            names = [n for n in names if n in overrides] + from_multi + [n for n in names if n not in overrides]
        lists[point] = names

    weights: dict[str, int] = {}
    for plugin_name, w in [*_plugin_set(plugins, "score", path)[0], *multi]:  # getScoreWeights: score's own wins
        if plugin_name in lists["score"] and plugin_name not in weights:
            weights[plugin_name] = w or 1
    for plugin_name in args:
        if plugin_name not in instances and plugin_name in registry:
            warnings.append(f"{path}.pluginConfig: {plugin_name} is not enabled in this profile (its args are unused)")
        elif plugin_name in reg.IN_TREE and plugin_name not in reg.WITH_ARGS or plugin_name in reg.NOT_IMPLEMENTED:
            warnings.append(f"{path}.pluginConfig: kube-tui does not use {plugin_name}'s args (ignored)")
        elif plugin_name not in registry:
            warnings.append(f"{path}.pluginConfig: there is no plugin {plugin_name} (its args are unused)")
    # Only what does something here runs: an in-tree plugin enabled at a point kube-tui's version of it
    # does nothing at (NodeResourcesFit's PreFilter) is accepted above and left out here.
    def does(n: str, method: str) -> bool:
        return callable(getattr(instance(n), method, None))

    filter_names = [n for n in lists["filter"] if does(n, "filter")]
    filter_names += [n for n in lists["preFilter"] if n not in filter_names and does(n, "pre_filter")]
    filters = [_Filter(instance(n), pre_filter=n in lists["preFilter"], filter=n in lists["filter"])
               for n in filter_names]
    scorers = [_Scorer(instance(n), weights[n], pre_score=n in lists["preScore"]) for n in lists["score"]
               if does(n, "score")]
    return Framework(filters=filters, scorers=scorers)


def _check_queue_sort_and_bind(plugins: dict, path: str, scheduler: str, multi: list[tuple[str, int]],
                               mp_disabled: list[str], warnings: list[str]) -> None:
    """kube-scheduler's framework needs exactly one queue sort plugin and a bind plugin; kube-tui has one
    queue and binds itself, so these points are only checked, and otherwise ignored with a warning."""
    counts: dict[str, int] = {}
    for point, default in (("queueSort", "PrioritySort"), ("bind", "DefaultBinder")):
        enabled, disabled = _plugin_set(plugins, point, path)
        names = {n for n, _ in enabled}
        if "*" not in disabled and default in {n for n, _ in multi} and default not in disabled:
            names.add(default)
        counts[point] = len(names)
    for point in OTHER_POINTS:
        enabled, disabled = _plugin_set(plugins, point, path)
        custom = [n for n, _ in enabled if n not in ("PrioritySort", "DefaultBinder")] + \
                 [n for n in disabled if n not in ("PrioritySort", "DefaultBinder", "*")]
        if custom or (point not in ("queueSort", "bind") and (enabled or disabled)):
            warnings.append(f"{path}.plugins.{point}: kube-tui's scheduler has no {point} extension point "
                            "to configure (ignored)")
    if counts["queueSort"] != 1:
        raise ConfigError(f'{path}: one queue sort plugin required for profile with scheduler name "{scheduler}" '
                          "(enable PrioritySort under queueSort or multiPoint)")
    if counts["bind"] == 0:
        raise ConfigError(f'{path}: at least one bind plugin is needed for profile with scheduler name "{scheduler}" '
                          "(enable DefaultBinder under bind or multiPoint)")


def _plugin_args(rp: dict, path: str) -> dict[str, dict]:
    pc = rp.get("pluginConfig") or []
    if not isinstance(pc, list):
        raise ConfigError(f"{path}.pluginConfig: Invalid value: expected a list of {{name, args}}")
    out: dict[str, dict] = {}
    for i, item in enumerate(pc):
        where = f"{path}.pluginConfig[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise ConfigError(f"{where}.name: Required value: the plugin the args are for")
        for k in item:
            if k not in ("name", "args"):
                raise ConfigError(f'strict decoding error: unknown field "{where}.{k}"')
        if item["name"] in out:
            raise ConfigError(f'{where}: Duplicate value: "{item["name"]}"')
        a = item.get("args") or {}
        if not isinstance(a, dict):
            raise ConfigError(f"{where}.args: Invalid value: expected a mapping")
        out[item["name"]] = a
    return out


async def watch(config: SchedulerConfig, use: Callable[[SchedulerConfig], None], *, debounce: int = 300) -> None:
    """Until cancelled: on every change of the configuration's files, read them again and `use` the result;
    a configuration that no longer loads is logged and the one in use kept."""
    import watchfiles

    if not config.sources:
        return
    dirs = sorted({str(p.parent) for p in config.sources})
    watched = {str(p) for p in config.sources}
    async for changes in watchfiles.awatch(*dirs, debounce=debounce, recursive=False):
        if not any(path in watched for _, path in changes):  # absolute: the directories watched are
            continue
        try:
            fresh = await asyncio.to_thread(config.reload)
        except ConfigError as e:
            log.warning("scheduler configuration not reloaded, the previous one stays in use: %s", e)
            continue
        except Exception:  # whatever a plugin file does while it loads: the watch goes on
            log.exception("scheduler configuration not reloaded, the previous one stays in use")
            continue
        for w in fresh.warnings:
            log.warning("scheduler configuration: %s", w)
        fixed = ("pod_initial_backoff", "pod_max_backoff", "leader_elect", "lease_name", "lease_namespace")
        if any(getattr(fresh, f) != getattr(config, f) for f in fixed):
            log.warning("scheduler configuration: podInitialBackoffSeconds, podMaxBackoffSeconds and leaderElection "
                        "changes take effect when the scheduler starts again")
        log.warning("scheduler configuration reloaded: %s", "; ".join(p.describe() for p in fresh.profiles))
        use(fresh)
        config = fresh
