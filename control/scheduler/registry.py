"""The plugin registry: kube-scheduler's in-tree plugins, and out-of-tree plugins from Python files.

kube-scheduler builds a custom scheduler by adding plugins to its registry (`app.WithPlugin`) and
compiling; here `--plugins FILE.py` adds every plugin class the file defines. A plugin class has a
`name` and any of the framework's methods (see control/scheduler/framework.py); its constructor may
take one argument, the plugin's `args` from the configuration's pluginConfig (a dict).
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from control.scheduler.plugins import (
    BalancedAllocation,
    InterPodAffinity,
    NodeAffinity,
    NodeName,
    NodePorts,
    NodeResourcesFit,
    NodeUnschedulable,
    PodTopologySpread,
    TaintToleration,
    VolumeBinding,
)

Factory = Callable[[dict[str, Any]], Any]
# What makes a class in a plugin file a plugin (the batch forms filter_nodes/score_nodes are for in-tree ones).
METHODS = ("pre_filter", "filter", "pre_score", "score")

# kube-scheduler's in-tree plugins that kube-tui implements, by name.
IN_TREE: dict[str, type] = {cls.name: cls for cls in (  # type: ignore[attr-defined]
    NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit, PodTopologySpread,
    InterPodAffinity, BalancedAllocation, VolumeBinding)}

# The extension points each of them extends in kube-scheduler (a configuration may enable them there; where
# kube-tui's version has nothing to do, e.g. NodeResourcesFit's PreFilter, it is accepted and does nothing).
IN_TREE_POINTS: dict[str, tuple[str, ...]] = {
    "NodeUnschedulable": ("filter",),
    "NodeName": ("filter",),
    "TaintToleration": ("filter", "preScore", "score"),
    "NodeAffinity": ("preFilter", "filter", "preScore", "score"),
    "NodePorts": ("preFilter", "filter"),
    "NodeResourcesFit": ("preFilter", "filter", "preScore", "score"),
    "PodTopologySpread": ("preFilter", "filter", "preScore", "score"),
    "InterPodAffinity": ("preFilter", "filter", "preScore", "score"),
    "NodeResourcesBalancedAllocation": ("preScore", "score"),
    "VolumeBinding": ("preFilter", "filter", "reserve", "preBind"),
}

# The in-tree plugins whose pluginConfig args kube-tui reads (the others' args are ignored with a warning).
WITH_ARGS = frozenset({"NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"})

# kube-scheduler's other in-tree plugins: a configuration may name them (copied from a real cluster),
# but kube-tui does not run them; naming one gives a warning, never a failure.
NOT_IMPLEMENTED = frozenset({
    "PrioritySort", "SchedulingGates", "DefaultPreemption", "DefaultBinder", "ImageLocality", "VolumeRestrictions", "VolumeZone", "NodeVolumeLimits",
    "EBSLimits", "GCEPDLimits", "AzureDiskLimits", "CinderLimits", "DynamicResources",
})


# Classes of the plugin files loaded that are almost plugins, by the name a configuration would use for
# them: what they lack, to say when a configuration names one.
NEAR_MISSES: dict[str, str] = {}


class PluginFileError(Exception):
    """A plugin file that cannot be loaded; the message names the file, the line and the fix."""


def _takes_args(cls: type) -> bool:
    try:
        params = list(inspect.signature(cls).parameters.values())
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0].kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                               inspect.Parameter.VAR_POSITIONAL)


def factory_of(cls: type) -> Factory:
    """How to make a plugin of `cls`: with its pluginConfig args when its constructor takes them."""
    def make(args: dict[str, Any]) -> Any:
        return cls(args) if _takes_args(cls) else cls()

    make.plugin_file = getattr(cls, "__kube_tui_file__", None)  # type: ignore[attr-defined]
    return make


def plugin_files(registry: dict[str, Factory]) -> set[str]:
    """The files the registry's out-of-tree plugins come from."""
    return {f for f in (getattr(make, "plugin_file", None) for make in registry.values()) if f}


def _is_plugin(obj: Any, module: str) -> bool:
    return (inspect.isclass(obj) and obj.__module__ == module and isinstance(getattr(obj, "name", None), str)
            and any(callable(getattr(obj, m, None)) for m in METHODS))


def load_file(path: str | Path) -> dict[str, type]:
    """The plugin classes a Python file defines, by name. Raises PluginFileError."""
    p = Path(path)
    if not p.is_file():
        raise PluginFileError(f"scheduler plugin file {p}: no such file")
    module = f"kube_tui_scheduler_plugin_{abs(hash(str(p.resolve()))):x}"
    spec = importlib.util.spec_from_file_location(module, p)
    if spec is None or spec.loader is None:
        raise PluginFileError(f"scheduler plugin file {p}: not a Python file (name it *.py)")
    mod = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(module)  # the same file loaded before: its plugins may be in use
    sys.modules[module] = mod  # dataclasses and typing look the module up while it loads

    def restore() -> None:
        if previous is not None:
            sys.modules[module] = previous
        else:
            sys.modules.pop(module, None)

    try:
        spec.loader.exec_module(mod)
    except SyntaxError as e:
        restore()
        raise PluginFileError(f"scheduler plugin file {p}, line {e.lineno}: {e.msg}") from None
    except Exception as e:
        restore()
        line = next((f.lineno for f in reversed(traceback.extract_tb(e.__traceback__)) if f.filename == str(p)), None)
        where = f", line {line}" if line else ""
        raise PluginFileError(f"scheduler plugin file {p}{where}: {type(e).__name__}: {e}") from None
    found = {obj.name: obj for obj in vars(mod).values() if _is_plugin(obj, module)}
    for obj in vars(mod).values():
        if not inspect.isclass(obj) or obj.__module__ != module or _is_plugin(obj, module):
            continue
        name = getattr(obj, "name", None)
        if isinstance(name, str):
            NEAR_MISSES[name] = (f"class {obj.__name__} in {p.name} has none of the methods {', '.join(METHODS)}, "
                                 "so it is no plugin: check the method names")
        elif any(callable(getattr(obj, m, None)) for m in METHODS):
            NEAR_MISSES[obj.__name__] = (f"class {obj.__name__} in {p.name} has no `name` attribute, so it is no "
                                         f'plugin: add name = "{obj.__name__}"')
    for cls in found.values():
        cls.__kube_tui_file__ = str(p.resolve())  # where its code is, for the file and line of its errors
    if not found:
        restore()
        raise PluginFileError(
            f"scheduler plugin file {p}: defines no plugin; a plugin is a class with a `name` string and a "
            "`filter(pod, node)` and/or `score(pod, node)` method")
    return found


def build(files: Iterable[str | Path] = ()) -> dict[str, Factory]:
    """The registry: in-tree plugins plus every plugin the files define. Raises PluginFileError."""
    registry: dict[str, Factory] = {name: factory_of(cls) for name, cls in IN_TREE.items()}
    origin: dict[str, str] = dict.fromkeys(IN_TREE, "in-tree")
    for f in files:
        for name, cls in load_file(f).items():
            if name in origin or name in NOT_IMPLEMENTED:
                where = "a kube-scheduler in-tree plugin" if name in IN_TREE or name in NOT_IMPLEMENTED else origin[name]
                raise PluginFileError(f"scheduler plugin file {f}: plugin name {name!r} is already taken by {where}; "
                                      "give the class another `name`")
            registry[name] = factory_of(cls)
            origin[name] = str(f)
    return registry


def out_of_tree(registry: dict[str, Factory]) -> frozenset[str]:
    return frozenset(registry) - frozenset(IN_TREE)
