"""KubeSchedulerConfiguration profiles, out-of-tree plugin files and NodeResourcesFit's scoring strategies."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from control.scheduler import config as sc
from control.scheduler import registry as reg
from control.scheduler.framework import Framework, PluginError
from control.scheduler.nodeinfo import NodeInfo, PodInfo
from control.scheduler.plugins.node_resources_fit import NodeResourcesFit, scoring_strategy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples" / "scheduler"
HEAD = {"apiVersion": sc.API_VERSION, "kind": sc.KIND}


def cfg(**doc: Any) -> sc.SchedulerConfig:
    return sc.parse({**HEAD, **doc}, reg.build())


def chain(fw: Framework) -> tuple[list[tuple[str, bool]], list[tuple[str, int, bool]]]:
    return ([(f.name, f.pre_filter is not None) for f in fw.filters],
            [(s.name, s.weight, s.pre_score is not None) for s in fw.scorers])


def node(name: str, cpu: str = "4", mem: str = "8Gi", labels: dict | None = None) -> NodeInfo:
    return NodeInfo({"metadata": {"name": name, "labels": labels or {}},
                     "status": {"allocatable": {"cpu": cpu, "memory": mem, "pods": "110"}}})


def pod(name: str = "p", cpu: str = "500m", mem: str = "256Mi", labels: dict | None = None, **spec: Any) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "labels": labels or {}},
            "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu, "memory": mem}}}], **spec}}


def with_load(ni: NodeInfo, cpu: str, mem: str = "1Gi") -> NodeInfo:
    ni.add_pod(PodInfo(pod(f"load-{ni.name}", cpu, mem, nodeName=ni.name)))
    return ni


# -- profiles -----------------------------------------------------------------------------------------------

def test_the_default_profile_is_the_built_in_framework() -> None:
    for c in (sc.default(), cfg(), cfg(profiles=[{"schedulerName": "default-scheduler"}])):
        assert [p.scheduler_name for p in c.profiles] == ["default-scheduler"]
        assert chain(c.profiles[0].framework) == chain(Framework())
        assert c.warnings == []


def test_a_disabled_default_leaves_the_profile_and_a_reconfigured_one_keeps_its_weight_first() -> None:
    c = cfg(profiles=[{"schedulerName": "x", "plugins": {
        "score": {"enabled": [{"name": "NodeResourcesFit", "weight": 7}],
                  "disabled": [{"name": "NodeResourcesBalancedAllocation"}, {"name": "TaintToleration"}]},
        "filter": {"disabled": [{"name": "NodePorts"}]}}}])
    filters, scores = chain(c.profiles[0].framework)
    # NodePorts still runs at PreFilter (as in kube-scheduler), after the filter chain; its Filter lets all pass.
    assert [n for n, _ in filters] == ["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity",
                                       "NodeResourcesFit", "VolumeBinding", "PodTopologySpread", "InterPodAffinity", "NodePorts"]
    ports = c.profiles[0].framework.filters[-1]
    taken = node("taken")
    taken.add_pod(PodInfo(pod("hp", nodeName="taken", containers=[{"name": "c", "ports": [{"containerPort": 80, "hostPort": 80}]}])))
    wants_port = PodInfo(pod(containers=[{"name": "c", "ports": [{"containerPort": 80, "hostPort": 80}]}]))
    assert ports.filter(wants_port, taken).ok
    # A plugin enabled at the score point and in multiPoint comes first, with the score point's weight.
    assert scores == [("NodeResourcesFit", 7, False), ("NodeAffinity", 2, True), ("PodTopologySpread", 2, True),
                      ("InterPodAffinity", 2, True)]


def test_disabling_everything_keeps_only_what_the_point_enables() -> None:
    plugins: dict = {"multiPoint": {"disabled": [{"name": "*"}]},
                     "filter": {"enabled": [{"name": "NodeResourcesFit"}]},
                     "score": {"enabled": [{"name": "NodeResourcesFit"}]}}
    # kube-scheduler's framework needs a queue sort and a bind plugin: "*" took them too.
    with pytest.raises(sc.ConfigError, match='one queue sort plugin required for profile with scheduler name "default-scheduler"'):
        cfg(profiles=[{"plugins": plugins}])
    plugins["queueSort"] = {"enabled": [{"name": "PrioritySort"}]}
    with pytest.raises(sc.ConfigError, match="at least one bind plugin is needed"):
        cfg(profiles=[{"plugins": plugins}])
    plugins["bind"] = {"enabled": [{"name": "DefaultBinder"}]}
    c = cfg(profiles=[{"plugins": plugins}])
    assert chain(c.profiles[0].framework) == ([("NodeResourcesFit", False)], [("NodeResourcesFit", 1, False)])
    assert c.warnings == []
    c = cfg(profiles=[{"plugins": {"score": {"disabled": [{"name": "*"}]}}}])
    assert chain(c.profiles[0].framework)[1] == []


def test_pre_filter_and_pre_score_follow_their_own_extension_points() -> None:
    c = cfg(profiles=[{"plugins": {"preFilter": {"disabled": [{"name": "NodeAffinity"}]},
                                   "preScore": {"disabled": [{"name": "*"}]}}}])
    filters, scores = chain(c.profiles[0].framework)
    assert ("NodeAffinity", False) in filters and ("NodeName", True) in filters
    assert all(not pre for _, _, pre in scores)


def test_several_profiles_are_picked_by_scheduler_name_and_their_settings_apply() -> None:
    c = cfg(percentageOfNodesToScore=30, podInitialBackoffSeconds=2, podMaxBackoffSeconds=20,
            leaderElection={"resourceName": "mine", "leaderElect": False},
            profiles=[{"schedulerName": "a"}, {"schedulerName": "b", "percentageOfNodesToScore": 70}])
    assert c.profile("a").framework.percentage_of_nodes_to_score == 30
    assert c.profile("b").framework.percentage_of_nodes_to_score == 70
    assert c.profile("default-scheduler") is None
    assert (c.pod_initial_backoff, c.pod_max_backoff, c.lease_name, c.leader_elect) == (2.0, 20.0, "mine", False)


def test_what_kube_tui_does_not_run_is_a_warning_not_a_failure() -> None:
    c = cfg(clientConnection={"kubeconfig": "/etc/kubernetes/scheduler.conf"}, profiles=[{"plugins": {
        "score": {"enabled": [{"name": "ImageLocality", "weight": 1}]},
        "reserve": {"enabled": [{"name": "VolumeBinding"}]}, "bind": {"enabled": [{"name": "DefaultBinder"}]}},
        "pluginConfig": [{"name": "VolumeBinding", "args": {"bindTimeoutSeconds": 600}}]}])
    text = "\n".join(c.warnings)
    assert "clientConnection: not used" in text
    assert "ImageLocality is a kube-scheduler plugin kube-tui does not implement" in text
    assert "no reserve extension point" in text and "bind" not in text  # DefaultBinder there is what kube-tui does
    assert "VolumeBinding's args" in text
    assert chain(c.profiles[0].framework) == chain(Framework())


@pytest.mark.parametrize(("doc", "message"), [
    ({"apiVersion": "v1"}, 'apiVersion and kind must be "kubescheduler.config.k8s.io/v1"'),
    ({"profiles": [{"schedulerName": "a"}, {"schedulerName": "a"}]}, 'profiles[1].schedulerName: Duplicate value: "a"'),
    ({"profiles": [{"schedulerName": "a"}, {}]}, "profiles[1].schedulerName: Required value"),
    ({"profiles": [{"plugins": {"score": {"enabled": [{"name": "Nope"}]}}}]},
     'profiles[0].plugins.score.enabled[0]: ScorePlugin "Nope" does not exist; the plugins here are: InterPodAffinity, NodeAffinity'),
    ({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "NodeResourcesBalancedAllocation"}]}}}]},
     'plugin "NodeResourcesBalancedAllocation" does not extend FilterPlugin plugin'),
    ({"profiles": [{"plugins": {"filter": {"enabled": [{"name": "NodeName"}, {"name": "NodeName"}]}}}]},
     'profiles[0].plugins.filter.enabled[1]: plugin "NodeName" already registered as "FilterPlugin"'),
    ({"profiles": [{"plugins": {"score": {"enabled": [{"name": "NodeAffinity", "weight": -1}]}}}]},
     "profiles[0].plugins.score.enabled[0].weight: Invalid value: -1: must be a non-negative integer"),
    ({"profiles": [{"plugins": {"scores": {}}}]}, 'strict decoding error: unknown field "profiles[0].plugins.scores"'),
    ({"profile": []}, 'strict decoding error: unknown field "profile"'),
    ({"percentageOfNodesToScore": 101}, "percentageOfNodesToScore: Invalid value: 101: not in valid range [0-100]"),
    ({"podInitialBackoffSeconds": 5, "podMaxBackoffSeconds": 1}, "podMaxBackoffSeconds: Invalid value: 1"),
    ({"profiles": [{"pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "Most"}}}]}]},
     'profiles[0].pluginConfig[0].args.scoringStrategy.type: Unsupported value: "Most": supported values: '
     '"LeastAllocated", "MostAllocated", "RequestedToCapacityRatio"'),
    ({"profiles": [{"pluginConfig": [{"name": "NodeResourcesFit"}, {"name": "NodeResourcesFit"}]}]},
     'profiles[0].pluginConfig[1]: Duplicate value: "NodeResourcesFit"'),
])
def test_a_configuration_kube_scheduler_refuses_is_refused_with_the_field(doc: dict, message: str) -> None:
    with pytest.raises(sc.ConfigError) as e:
        sc.parse({**HEAD, **doc}, reg.build())
    assert message in str(e.value)


def test_a_file_error_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "sched.yaml"
    bad.write_text("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles: [\n")
    with pytest.raises(sc.ConfigError, match=r"scheduler configuration .*sched.yaml, line 4: not valid YAML"):
        sc.load(bad)
    with pytest.raises(sc.ConfigError, match="no-such.yaml: No such file"):
        sc.load(tmp_path / "no-such.yaml")


# -- NodeResourcesFit's scoring strategies ---------------------------------------------------------------------

def test_most_allocated_prefers_the_fuller_node_and_least_allocated_the_emptier() -> None:
    busy, idle = with_load(node("busy"), "2"), node("idle")
    p = PodInfo(pod())
    most = NodeResourcesFit({"scoringStrategy": {"type": "MostAllocated"}})
    least = NodeResourcesFit()
    # (2000m + 500m) / 4000m = 62; (1Gi + 256Mi) / 8Gi = 15; mean 38. Idle: 12 and 3 -> 7.
    assert most.score_nodes(p, [busy, idle]) == [most.score(p, busy), most.score(p, idle)] == [38, 7]
    assert least.score(p, busy) < least.score(p, idle)


def test_resource_weights_and_requested_to_capacity_ratio() -> None:
    p = PodInfo(pod(cpu="1", mem="0"))
    n = node("n", cpu="4", mem="8Gi")
    cpu_only = NodeResourcesFit({"scoringStrategy": {"type": "LeastAllocated", "resources": [{"name": "cpu", "weight": 1}]}})
    assert cpu_only.score(p, n) == 75  # (4000 - 1000) * 100 / 4000
    shape = {"type": "RequestedToCapacityRatio", "resources": [{"name": "cpu", "weight": 1}],
             "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}}
    assert NodeResourcesFit({"scoringStrategy": shape}).score(p, n) == 25  # 25 % used -> 2.5 of 10 -> 25
    _, scorer = scoring_strategy({"scoringStrategy": {"type": "LeastAllocated"}})
    assert scorer is None  # the default: the fast path


@pytest.mark.parametrize(("strategy", "message"), [
    ({"type": "MostAllocated", "resources": [{"name": "cpu", "weight": 101}]},
     "scoringStrategy.resources[0].weight: Invalid value: 101: resource weight of cpu not in valid range (0, 100]"),
    ({"resources": [{"name": "cpu"}]}, 'scoringStrategy.type: Unsupported value: "": supported values'),
    ({"type": "MostAllocated", "resources": [{"name": "cpu", "wieght": 2}]},
     'scoringStrategy.resources[0].wieght: strict decoding error: unknown field "scoringStrategy.resources[0].wieght"'),
    ({"type": "RequestedToCapacityRatio"}, "scoringStrategy.shape: Required value: at least one point must be specified"),
    ({"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [
        {"utilization": 50, "score": 1}, {"utilization": 40, "score": 2}]}},
     "scoringStrategy.shape[1].utilization: Invalid value: 40: utilization values must be sorted in increasing order"),
    ({"type": "RequestedToCapacityRatio", "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 11}]}},
     "scoringStrategy.shape[0].score: Invalid value: 11: not in valid range [0, 10]"),
])
def test_bad_scoring_strategies_name_the_field(strategy: dict, message: str) -> None:
    with pytest.raises(ValueError) as e:
        scoring_strategy({"scoringStrategy": strategy})
    assert message in str(e.value)


# -- out-of-tree plugins ----------------------------------------------------------------------------------------

def plugin_file(tmp_path: Path, body: str, name: str = "mine.py") -> Path:
    f = tmp_path / name
    f.write_text(textwrap.dedent(body))
    return f


def test_the_example_profiles_schedule_as_their_names_say() -> None:
    c = sc.load(EXAMPLES / "profiles.yaml", [str(EXAMPLES / "plugins.py")])
    assert c.warnings == []
    busy = with_load(node("busy", labels={"disktype": "ssd"}), "2")
    busy.add_pod(PodInfo(pod("web-0", labels={"app": "web"}, nodeName="busy")))
    nodes = [busy, node("idle"), node("ssd", labels={"disktype": "ssd"})]
    web = pod("web-1", labels={"app": "web"})
    assert c.profile("default-scheduler").framework.schedule(web, nodes).node in ("idle", "ssd")
    assert c.profile("bin-packing").framework.schedule(web, nodes).node == "busy"
    mine = c.profile("my-scheduler").framework.schedule(web, nodes)
    assert mine.node == "ssd"  # RequireLabel filters idle out; SpreadByApp prefers ssd (no web pod) to busy
    assert ("idle", ("node(s) didn't have label disktype=ssd",)) in [(n, st.reasons) for n, st in mine.failures]
    assert mine.scores["SpreadByApp"] == [0, 100] and mine.weights["SpreadByApp"] == 5


def test_plugin_args_reach_the_constructor(tmp_path: Path) -> None:
    f = plugin_file(tmp_path, """
        class Only:
            name = "Only"
            def __init__(self, args):
                self.node = args["node"]
            def filter(self, pod, node):
                return None if node.name == self.node else f"not {self.node}"
    """)
    c = sc.parse({**HEAD, "profiles": [{"plugins": {"filter": {"enabled": [{"name": "Only"}]}},
                                        "pluginConfig": [{"name": "Only", "args": {"node": "b"}}]}]}, reg.build([f]))
    r = c.profiles[0].framework.schedule(pod(), [node("a"), node("b"), node("c")])
    assert r.node == "b" and r.message == ""
    assert r.reason_counts() == {"not b": 2}


@pytest.mark.parametrize(("body", "message"), [
    ("class X(:\n    pass\n", "mine.py, line 1: invalid syntax"),
    ("import json\n\nraise RuntimeError('no config')\n", "mine.py, line 3: RuntimeError: no config"),
    ("x = 1\n", "defines no plugin; a plugin is a class with a `name` string"),
    ("class F:\n    name = 'NodeName'\n    def filter(self, pod, node):\n        return None\n",
     "plugin name 'NodeName' is already taken by a kube-scheduler in-tree plugin"),
])
def test_a_plugin_file_that_cannot_load_says_where(tmp_path: Path, body: str, message: str) -> None:
    f = plugin_file(tmp_path, body)
    with pytest.raises(reg.PluginFileError) as e:
        reg.build([f])
    assert message in str(e.value)
    with pytest.raises(reg.PluginFileError, match="nope.py: no such file"):
        reg.build([tmp_path / "nope.py"])


@pytest.mark.parametrize(("method", "message"), [
    ("def filter(self, pod, node):\n        return 1 / 0",
     'running "Bad" filter plugin: ZeroDivisionError: division by zero (mine.py, line 4)'),
    ("def filter(self, pod, node):\n        return 42", 'running "Bad" filter plugin: it returned 42'),
    ("def score(self, pod, node):\n        return 101",
     'plugin "Bad" returns an invalid score 101, it should in the range of [0, 100]'),
    ("def score(self, pod, node):\n        return 1\n    def normalize(self, scores):\n        return []",
     'running Normalize on Score plugin "Bad": it must return a list of 2 scores'),
])
def test_a_failing_plugin_fails_the_attempt_with_its_message(tmp_path: Path, method: str, message: str) -> None:
    f = plugin_file(tmp_path, f"class Bad:\n    name = 'Bad'\n    {method}\n")
    point = "filter" if "def filter" in method else "score"
    c = sc.parse({**HEAD, "profiles": [{"plugins": {point: {"enabled": [{"name": "Bad"}]}}}]}, reg.build([f]))
    with pytest.raises(PluginError) as e:
        c.profiles[0].framework.schedule(pod(), [node("a"), node("b")])
    assert message in str(e.value)


def test_the_scheduler_command_refuses_a_bad_configuration_before_connecting(tmp_path: Path) -> None:
    bad = tmp_path / "sched.yaml"
    bad.write_text(f"apiVersion: {sc.API_VERSION}\nkind: {sc.KIND}\nprofiles:\n- plugins: {{score: {{enabled: [{{name: Nope}}]}}}}\n")
    out = subprocess.run([sys.executable, "-m", "tui.cli", "scheduler", "--config", str(bad), "--server", "tcp://127.0.0.1:9"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 2
    assert 'profiles[0].plugins.score.enabled[0]: ScorePlugin "Nope" does not exist' in out.stderr
    assert "Traceback" not in out.stderr


def test_a_cluster_file_names_the_scheduler_configuration_beside_it(tmp_path: Path) -> None:
    from tui.cluster import ClusterFileError, parse_cluster

    (tmp_path / "sched.yaml").write_text((EXAMPLES / "profiles.yaml").read_text())
    (tmp_path / "plugins.py").write_text((EXAMPLES / "plugins.py").read_text())
    doc = {"apiVersion": "kube-tui/v1", "kind": "Cluster",
           "spec": {"controlPlane": {"schedulerConfig": "sched.yaml", "schedulerPlugins": ["plugins.py"]}}}
    spec = parse_cluster(doc, tmp_path / "cluster.yaml")
    assert spec.control_args() == ["--scheduler-config", str(tmp_path / "sched.yaml"),
                                   "--scheduler-plugins", str(tmp_path / "plugins.py")]
    doc["spec"]["controlPlane"]["schedulerPlugins"] = ["missing.py"]
    with pytest.raises(ClusterFileError, match=r"spec.controlPlane.schedulerPlugins\[0\]: .*missing.py: no such file"):
        parse_cluster(doc, tmp_path / "cluster.yaml")


def test_the_scheduler_view_shows_a_failed_attempt_with_its_message() -> None:
    from tui.views.scheduler import result_of, sched_row

    p = pod("boomer", schedulerName="boom")
    p["status"] = {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulerError",
                                   "message": 'running "Boom" filter plugin: ZeroDivisionError: division by zero'}]}
    assert result_of(p) == "! Error"
    assert sched_row(p, None)[-1] == 'running "Boom" filter plugin: ZeroDivisionError: division by zero'  # type: ignore[arg-type]
    p["spec"]["nodeName"] = "n1"
    assert result_of(p) == "✓ Scheduled"


def test_a_cluster_file_given_by_a_relative_path_is_found_from_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui import cluster

    (tmp_path / "c.yaml").write_text("apiVersion: kube-tui/v1\nkind: Cluster\nspec:\n  nodes: [{name: n1}]\n")
    monkeypatch.chdir(tmp_path)
    spec = cluster.load("c.yaml")
    assert spec.path == tmp_path / "c.yaml"  # the control plane, started elsewhere, reads its timings from it


# -- the scheduler loop around profiles (review findings) --------------------------------------------------------

class _Client:
    identity = "test"

    def __init__(self) -> None:
        self.binds: list[tuple[str, str]] = []
        self.gate = __import__("asyncio").Event()

    async def bind(self, ns: str, name: str, node: str, annotations: dict) -> None:
        self.binds.append((name, node))
        await self.gate.wait()

    async def patch(self, *args: Any, **kwargs: Any) -> None:
        return None


def _scheduler(config: sc.SchedulerConfig) -> tuple[Any, _Client, dict]:
    from control.scheduler.scheduler import Scheduler
    from control.timings import Timings

    client = _Client()
    s = Scheduler(client, timings=Timings(), config=config)  # type: ignore[arg-type]
    for n in ("a", "b"):
        s.snapshot.add_node({"metadata": {"name": n}, "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}})
    p = {"metadata": {"name": "p", "namespace": "default", "uid": "u1"}, "spec": {"containers": [{"name": "c"}]}}
    s.pods.cache[("default", "p")] = p
    s.queue.add(p)
    return s, client, p


async def test_a_reload_while_a_bind_is_on_its_way_does_not_schedule_the_pod_twice() -> None:
    import asyncio

    s, client, p = _scheduler(sc.default())
    await s.schedule_one(await s.queue.pop())  # assumed; its bind waits at the gate
    assert s.snapshot.is_assumed(p) and len(client.binds) == 1
    s.use(sc.default())  # the configuration file changed meanwhile
    s._pod_updated(p, p)  # and the pod was updated meanwhile
    assert s.queue.where(p) is None  # neither queued it again (kube-scheduler's skipPodSchedule)
    client.gate.set()
    await asyncio.gather(*s._binds)
    assert client.binds == [("p", client.binds[0][1])]


async def test_a_plugin_status_with_odd_reasons_or_an_error_code_cannot_stop_the_loop(tmp_path: Path) -> None:
    f = plugin_file(tmp_path, """
        from control.scheduler.framework import Code, Status
        class Odd:
            name = "Odd"
            def filter(self, pod, node):
                if node.name == "a":
                    return Status(Code.UNSCHEDULABLE, ["too far"])  # a list, not a tuple
                return Status(Code.ERROR, ("backend unreachable",))
    """)
    c = sc.parse({**HEAD, "profiles": [{"plugins": {"filter": {"enabled": [{"name": "Odd"}]}}}]}, reg.build([f]))
    s, client, p = _scheduler(c)
    await s.schedule_one(await s.queue.pop())  # must not raise
    assert not client.binds and s.failed == 1
    assert s.queue.where(p) == "backoff"  # an Error: retried with back-off, not parked as unschedulable


def test_a_plugin_constructor_that_raises_is_a_configuration_error_with_its_line(tmp_path: Path) -> None:
    f = plugin_file(tmp_path, """
        class Needy:
            name = "Needy"
            def __init__(self, args):
                self.node = args["node"]
            def filter(self, pod, node):
                return None
    """)
    doc = {**HEAD, "profiles": [{"plugins": {"filter": {"enabled": [{"name": "Needy"}]}}}]}
    with pytest.raises(sc.ConfigError, match=r"making plugin Needy failed: KeyError: 'node' \(mine.py, line 5\)"):
        sc.parse(doc, reg.build([f]))


def test_requested_to_capacity_ratio_rounds_halves_up_as_go_does() -> None:
    shape = {"type": "RequestedToCapacityRatio",
             "requestedToCapacityRatio": {"shape": [{"utilization": 0, "score": 0}, {"utilization": 100, "score": 10}]}}
    p = PodInfo(pod(cpu="1", mem="2304Mi"))  # cpu 1000/4000 -> 25; memory 2304Mi/8Gi -> 28: mean 26.5
    assert NodeResourcesFit({"scoringStrategy": shape}).score(p, node("n")) == 27


def test_typos_below_the_profile_are_refused_and_upstream_points_of_in_tree_plugins_accepted() -> None:
    with pytest.raises(sc.ConfigError, match=r'unknown field "profiles\[0\].plugins.score.enabled\[0\].wieght"'):
        cfg(profiles=[{"plugins": {"score": {"enabled": [{"name": "NodeAffinity", "wieght": 5}]}}}])
    with pytest.raises(sc.ConfigError, match=r'unknown field "profiles\[0\].pluginConfig\[0\].arg"'):
        cfg(profiles=[{"pluginConfig": [{"name": "NodeResourcesFit", "arg": {}}]}])
    with pytest.raises(sc.ConfigError, match=r'args.scoringStratgy: strict decoding error'):
        cfg(profiles=[{"pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStratgy": {}}}]}])
    # kube-scheduler's NodeResourcesFit has a PreFilter and TaintToleration a PreScore: enabling them there is valid.
    cfg(profiles=[{"plugins": {"preFilter": {"enabled": [{"name": "NodeResourcesFit"}]},
                               "preScore": {"enabled": [{"name": "TaintToleration"}]}}}])
    with pytest.raises(sc.ConfigError, match="podMaxBackoffSeconds: Invalid value: 10: must be greater than or equal"):
        cfg(podInitialBackoffSeconds=20)  # kube-scheduler's default maximum is 10


def test_an_error_names_the_users_own_multipoint_index() -> None:
    with pytest.raises(sc.ConfigError, match=r'profiles\[0\].plugins.multiPoint.enabled\[0\]: plugin "Nope" does not exist'):
        cfg(profiles=[{"plugins": {"multiPoint": {"enabled": [{"name": "Nope"}]}}}])


def test_the_headless_demo_shows_scores_only_of_the_nodes_that_fit() -> None:
    from control.scheduler.record import to_record
    from tui.commands.demo import decision_summary

    nodes = [with_load(node("busy"), "2"), node("idle"), node("tiny", cpu="100m")]
    rec = to_record(Framework().schedule(pod(), nodes))
    text = decision_summary(rec)
    assert text.startswith("; scores: ") and "tiny" not in text and text.endswith("; filtered out: 1")
    one = to_record(Framework().schedule(pod(), [node("idle"), node("tiny", cpu="100m")]))
    assert decision_summary(one) == "; idle the only node that fits (not scored); filtered out: 1"


def test_a_key_given_twice_in_a_scheduler_configuration_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "sched.yaml"
    f.write_text(f"apiVersion: {sc.API_VERSION}\nkind: {sc.KIND}\nprofiles:\n- plugins:\n    score:\n"
                 "      disabled: [{name: NodeAffinity}]\n    score:\n      enabled: [{name: NodeAffinity}]\n")
    with pytest.raises(sc.ConfigError, match=r'sched.yaml, line 7: not valid YAML: key "score" already set in map'):
        sc.load(f)


def test_bench_scheduler_measures_each_profile_of_a_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    from control.bench_scheduler import main

    assert main(["--pure", "--nodes", "40", "--pods", "60", "--json", "--config", str(EXAMPLES / "profiles.yaml"),
                 "--plugins", str(EXAMPLES / "plugins.py")]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["profile"] for r in rows] == ["default-scheduler", "bin-packing", "my-scheduler"]
    assert all(r["scheduled"] == 60 and r["pods_per_second"] > 0 for r in rows)
    assert main(["--config", str(EXAMPLES / "profiles.yaml")]) == 2  # profiles are measured with --pure only


def test_a_class_that_is_almost_a_plugin_is_named_in_the_error(tmp_path: Path) -> None:
    f = plugin_file(tmp_path, """
        class Real:
            name = "Real"
            def filter(self, pod, node):
                return None
        class PreferNodes:
            name = "PreferNodes"
            def scores(self, pod, node):  # a typo: not a plugin method
                return 1
        class Unnamed:
            def score(self, pod, node):
                return 1
    """)
    registry = reg.build([f])
    with pytest.raises(sc.ConfigError, match=r"class PreferNodes in mine.py has none of the methods .*check the method"):
        sc.parse({**HEAD, "profiles": [{"plugins": {"score": {"enabled": [{"name": "PreferNodes"}]}}}]}, registry)
    with pytest.raises(sc.ConfigError, match=r'class Unnamed in mine.py has no `name` attribute.*add name = "Unnamed"'):
        sc.parse({**HEAD, "profiles": [{"plugins": {"score": {"enabled": [{"name": "Unnamed"}]}}}]}, registry)


def test_leader_election_fields_are_decoded_strictly() -> None:
    with pytest.raises(sc.ConfigError, match=r'unknown field "leaderElection.resourcename"'):
        cfg(leaderElection={"resourcename": "mine"})
    c = cfg(leaderElection={"resourceName": "mine", "leaseDuration": "15s"})
    assert c.lease_name == "mine" and "leaseDuration ignored" in "\n".join(c.warnings)


def test_the_profile_line_names_a_scoring_strategy_that_is_not_the_default() -> None:
    c = cfg(profiles=[{"pluginConfig": [{"name": "NodeResourcesFit", "args": {"scoringStrategy": {"type": "MostAllocated"}}}]}])
    assert "NodeResourcesFit(MostAllocated)×1" in c.profiles[0].describe()
    assert "NodeResourcesFit×1" in sc.default().profiles[0].describe()
