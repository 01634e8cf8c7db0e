"""kubectl-style output: get tables, ages, pod STATUS, -o yaml/json, and describe layouts."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from control.api.defaults import apply_defaults
from control.api.priority import admit_pod
from tui.printers import (
    describe,
    human_duration,
    no_resources,
    parse_time,
    pod_status,
    table,
    tabwrite,
    to_json,
    to_yaml,
)

NOW = parse_time("2024-01-01T01:00:00Z")
assert NOW is not None


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """describe prints local time, like kubectl; pin it."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def ago(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - seconds))


def pod(name: str, age: int, *, phase: str = "Running", statuses: list[dict[str, Any]] | None = None,
        **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "creationTimestamp": ago(age)},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
        "status": {"phase": phase, "containerStatuses": statuses or []},
    }
    for key, value in extra.items():
        obj["status" if key in ("podIP", "podIPs", "conditions", "initContainerStatuses") else "spec"][key] = value
    return obj


RUNNING = {"name": "c", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": ago(100)}}}


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "<invalid>"), (-1, "0s"), (0, "0s"), (5, "5s"), (119, "119s"), (120, "2m"), (200, "3m20s"),
     (600, "10m"), (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (7 * 3600 + 60 * 5, "7h5m"), (30 * 3600, "30h"),
     (52 * 3600, "2d4h"), (8 * 86400, "8d"), (800 * 86400, "2y70d"), (3000 * 86400, "8y")],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_tabwriter_blocks() -> None:
    # Column widths hold only across consecutive lines that have the cell; the last cell is never padded.
    assert tabwrite("a\tbb\tc\nccc\td\ne\nf\tg", padding=2) == "a    bb  c\nccc  d\ne\nf  g"


def test_pod_table() -> None:
    crashing = dict(RUNNING, ready=False, restartCount=3, state={"waiting": {"reason": "CrashLoopBackOff"}},
                    lastState={"terminated": {"exitCode": 1, "finishedAt": ago(40)}})
    pods = [
        pod("web-7d4b9c-x2x8q", 200, statuses=[RUNNING], podIP="127.1.0.5", nodeName="node-1"),
        pod("crash", 3600 * 30, statuses=[crashing]),
        pod("pi-abcde", 5, phase="Succeeded", statuses=[dict(RUNNING, ready=False,
                                                             state={"terminated": {"reason": "Completed"}})]),
        pod("pending", 2, phase="Pending"),
    ]
    assert table("pods", pods, now=NOW) == (
        "NAME               READY   STATUS             RESTARTS      AGE\n"
        "web-7d4b9c-x2x8q   1/1     Running            0             3m20s\n"
        "crash              0/1     CrashLoopBackOff   3 (40s ago)   30h\n"
        "pi-abcde           0/1     Completed          0             5s\n"
        "pending            0/1     Pending            0             2s"
    )
    assert table("po", pods[:1], now=NOW, wide=True, all_namespaces=True) == (
        "NAMESPACE   NAME               READY   STATUS    RESTARTS   AGE     IP          NODE     NOMINATED NODE   "
        "READINESS GATES\n"
        "default     web-7d4b9c-x2x8q   1/1     Running   0          3m20s   127.1.0.5   node-1   <none>           "
        "<none>"
    )
    labelled = dict(pods[3], metadata=dict(pods[3]["metadata"], labels={"tier": "web", "app": "x"}))
    assert table("pods", [labelled, pods[0]], now=NOW, show_labels=True).splitlines() == [
        "NAME               READY   STATUS    RESTARTS   AGE     LABELS",
        "pending            0/1     Pending   0          2s      app=x,tier=web",
        "web-7d4b9c-x2x8q   1/1     Running   0          3m20s   <none>",
    ]


def test_pod_status_cases() -> None:
    terminating = pod("t", 10, statuses=[RUNNING])
    terminating["metadata"]["deletionTimestamp"] = ago(0)
    assert pod_status(terminating, NOW)[1] == "Terminating"
    init_waiting = pod("i", 10, phase="Pending", initContainers=[{"name": "init", "image": "x"}],
                       initContainerStatuses=[{"name": "init", "state": {"running": {}}}])
    assert pod_status(init_waiting, NOW)[1] == "Init:0/1"
    init_failed = pod("i", 10, phase="Pending", initContainers=[{"name": "init", "image": "x"}],
                      initContainerStatuses=[{"name": "init", "state": {"terminated": {"exitCode": 2}}}])
    assert pod_status(init_failed, NOW)[1] == "Init:ExitCode:2"
    pull = pod("p", 10, phase="Pending", statuses=[dict(RUNNING, ready=False, state={"waiting": {"reason": "ErrImagePull"}})])
    assert pod_status(pull, NOW) == ("0/1", "ErrImagePull", "0")
    exit_code = pod("e", 10, phase="Failed", statuses=[dict(RUNNING, ready=False, state={"terminated": {"exitCode": 137}})])
    assert pod_status(exit_code, NOW)[1] == "ExitCode:137"


def test_workload_tables() -> None:
    deploy = {"kind": "Deployment", "metadata": {"name": "nginx-deployment", "creationTimestamp": ago(90)},
              "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "nginx"}},
                       "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"}]}}},
              "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert table("deployments", [deploy], now=NOW) == (
        "NAME               READY   UP-TO-DATE   AVAILABLE   AGE\n"
        "nginx-deployment   2/3     3            2           90s"
    )
    assert table("deploy", [deploy], now=NOW, wide=True) == (
        "NAME               READY   UP-TO-DATE   AVAILABLE   AGE   CONTAINERS   IMAGES         SELECTOR\n"
        "nginx-deployment   2/3     3            2           90s   nginx        nginx:1.14.2   app=nginx"
    )
    rs = {"kind": "ReplicaSet", "metadata": {"name": "frontend", "creationTimestamp": ago(60)},
          "spec": {"replicas": 3}, "status": {"replicas": 3, "readyReplicas": 3}}
    assert table("rs", [rs], now=NOW) == "NAME       DESIRED   CURRENT   READY   AGE\nfrontend   3         3         3       60s"
    ds = {"kind": "DaemonSet", "metadata": {"name": "fluentd", "creationTimestamp": ago(60)},
          "spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}}}},
          "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1,
                     "updatedNumberScheduled": 2, "numberAvailable": 1}}
    assert table("ds", [ds], now=NOW) == (
        "NAME      DESIRED   CURRENT   READY   UP-TO-DATE   AVAILABLE   NODE SELECTOR   AGE\n"
        "fluentd   2         2         1       2            1           disk=ssd        60s"
    )
    job = {"kind": "Job", "metadata": {"name": "pi", "creationTimestamp": ago(60)}, "spec": {"completions": 1},
           "status": {"succeeded": 1, "startTime": ago(60), "completionTime": ago(20),
                      "conditions": [{"type": "Complete", "status": "True"}]}}
    assert table("jobs", [job], now=NOW) == (
        "NAME   STATUS     COMPLETIONS   DURATION   AGE\n"
        "pi     Complete   1/1           40s        60s"
    )
    cj = {"kind": "CronJob", "metadata": {"name": "hello", "creationTimestamp": ago(600)},
          "spec": {"schedule": "*/1 * * * *", "suspend": False, "jobTemplate": {"spec": {"template": {"spec": {
              "containers": [{"name": "hello", "image": "busybox:1.28"}]}}}}},
          "status": {"lastScheduleTime": ago(20), "active": [{"name": "hello-1"}]}}
    tz = {**cj, "metadata": {"name": "paris", "creationTimestamp": ago(60)},
          "spec": {**cj["spec"], "timeZone": "Europe/Paris", "suspend": True}, "status": {}}
    assert table("cj", [cj, tz], now=NOW) == (
        "NAME    SCHEDULE      TIMEZONE       SUSPEND   ACTIVE   LAST SCHEDULE   AGE\n"
        "hello   */1 * * * *   <none>         False     1        20s             10m\n"
        "paris   */1 * * * *   Europe/Paris   True      0        <none>          60s"
    )
    assert table("cronjobs", [cj], now=NOW, wide=True).splitlines()[1].split() == [
        "hello", "*/1", "*", "*", "*", "*", "<none>", "False", "1", "20s", "10m", "hello", "busybox:1.28", "<none>"]


def test_cluster_tables() -> None:
    node = {"kind": "Node", "metadata": {"name": "node-1", "creationTimestamp": ago(600),
                                          "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "False"}], "nodeInfo": {"kubeletVersion": "v1.30.0"}}}
    assert table("nodes", [node], now=NOW) == (
        "NAME     STATUS                        ROLES           AGE   VERSION\n"
        "node-1   NotReady,SchedulingDisabled   control-plane   10m   v1.30.0"
    )
    ns = {"kind": "Namespace", "metadata": {"name": "default", "creationTimestamp": ago(86400 * 3)},
          "status": {"phase": "Active"}}
    assert table("ns", [ns], now=NOW, all_namespaces=True) == "NAME      STATUS   AGE\ndefault   Active   3d"
    lease = {"kind": "Lease", "metadata": {"name": "node-1", "creationTimestamp": ago(30)},
             "spec": {"holderIdentity": "node-1"}}
    assert table("leases", [lease], now=NOW) == "NAME     HOLDER   AGE\nnode-1   node-1   30s"


def test_service_and_endpoints_tables() -> None:
    svcs = [
        {"kind": "Service", "metadata": {"name": "kubernetes", "creationTimestamp": ago(3600)},
         "spec": {"type": "ClusterIP", "clusterIP": "127.2.0.1", "ports": [{"port": 443, "protocol": "TCP"}]}},
        {"kind": "Service", "metadata": {"name": "web", "creationTimestamp": ago(65)},
         "spec": {"type": "NodePort", "clusterIP": "127.2.0.7", "selector": {"app": "web"},
                  "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}},
        {"kind": "Service", "metadata": {"name": "lb", "creationTimestamp": ago(65)},
         "spec": {"type": "LoadBalancer", "clusterIP": "127.2.0.8", "ports": [{"port": 80, "nodePort": 30081}]}},
    ]
    assert table("svc", svcs, now=NOW) == (
        "NAME         TYPE           CLUSTER-IP   EXTERNAL-IP   PORT(S)               AGE\n"
        "kubernetes   ClusterIP      127.2.0.1    <none>        443/TCP               60m\n"
        "web          NodePort       127.2.0.7    <none>        80:30080/TCP,53/UDP   65s\n"
        "lb           LoadBalancer   127.2.0.8    <pending>     80:30081/TCP          65s"
    )
    ep = {"kind": "Endpoints", "metadata": {"name": "web", "creationTimestamp": ago(65)},
          "subsets": [{"addresses": [{"ip": f"127.1.0.{i}"} for i in range(1, 6)], "ports": [{"port": 80}]}]}
    empty = {"kind": "Endpoints", "metadata": {"name": "none", "creationTimestamp": ago(65)}}
    assert table("ep", [ep, empty], now=NOW) == (
        "NAME   ENDPOINTS                                            AGE\n"
        "web    127.1.0.1:80,127.1.0.2:80,127.1.0.3:80 + 2 more...   65s\n"
        "none   <none>                                               65s"
    )


def test_event_table() -> None:
    events = [
        {"kind": "Event", "type": "Normal", "reason": "Scheduled", "message": "Successfully assigned default/web to node-1",
         "involvedObject": {"kind": "Pod", "name": "web"}, "firstTimestamp": ago(30), "lastTimestamp": ago(30), "count": 1},
        {"kind": "Event", "type": "Warning", "reason": "BackOff", "message": "Back-off restarting failed container\n",
         "involvedObject": {"kind": "Pod", "name": "crash"}, "firstTimestamp": ago(300), "lastTimestamp": ago(10),
         "count": 7},
    ]
    assert table("events", events, now=NOW) == (
        "LAST SEEN          TYPE      REASON      OBJECT      MESSAGE\n"
        "30s                Normal    Scheduled   pod/web     Successfully assigned default/web to node-1\n"
        "10s (x7 over 5m)   Warning   BackOff     pod/crash   Back-off restarting failed container"
    )


def test_no_resources() -> None:
    assert no_resources("default") == "No resources found in default namespace."
    assert no_resources(None) == "No resources found"


def test_to_yaml_like_kubectl() -> None:
    obj = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "web", "resourceVersion": "42", "creationTimestamp": "2024-01-01T00:00:00Z",
                        "labels": {"app": "web"}},
           "spec": {"containers": [{"name": "web", "image": "nginx", "args": ["-c", "echo a\necho b\n"],
                                    "resources": {}}], "enableServiceLinks": True},
           "status": {"phase": "Pending", "message": ""}}
    assert to_yaml(obj) == (  # every level's keys sorted, as kubectl's printer (JSON to a map) has them
        "apiVersion: v1\n"
        "kind: Pod\n"
        "metadata:\n"
        '  creationTimestamp: "2024-01-01T00:00:00Z"\n'
        "  labels:\n"
        "    app: web\n"
        "  name: web\n"
        '  resourceVersion: "42"\n'
        "spec:\n"
        "  containers:\n"
        "  - args:\n"
        "    - -c\n"
        "    - |\n"
        "      echo a\n"
        "      echo b\n"
        "    image: nginx\n"
        "    name: web\n"
        "    resources: {}\n"
        "  enableServiceLinks: true\n"
        "status:\n"
        '  message: ""\n'
        "  phase: Pending"
    )
    assert yaml.safe_load(to_yaml(obj)) == obj


# What kubectl v1.32's `create configmap --from-literal=k=V --dry-run=client -o yaml` quotes (its go-yaml reads each
# as a number, a boolean or a timestamp) and what it leaves plain. PyYAML's resolver reads all but the last six of
# the first list as strings: only go-yaml's rules quote them.
KUBECTL_QUOTES = ["y", "N", "1e3", "1.5e3", "-80e1", "08", "0o17", "0X1f", "-0o7", ".5e3", "-.5", "2024-1-2",
                  "2024-1-2 3:4:5", "0:7", "1e3_0", "-_5", "0_x1", "0b101", "1_000", "0x1F", "1.5", "2024-01-02", "yes"]
KUBECTL_PLAIN = ["hello", "x08", "a1e3", "_1", ".", "1e", "0x", "0xG", "1.2.3", "0x1p-2", "1e999",
                 "2024-13-01x", "12:30:", "-", "+"]


def test_to_yaml_quotes_what_kubectl_reads_as_something_else() -> None:
    """A string go-yaml (kubectl's reader) would take for a number, a boolean or a timestamp is quoted, as kubectl
    quotes it: `a: 1e3` unquoted went to kubectl apply as the number 1000 (a ConfigMap's value refused)."""
    for value in KUBECTL_QUOTES:
        assert to_yaml({"k": value}) == f'k: "{value}"', value
    for value in KUBECTL_PLAIN:
        assert to_yaml({"k": value}).replace("'", "") == f"k: {value}", value
    for value in KUBECTL_QUOTES + KUBECTL_PLAIN:
        assert yaml.safe_load(to_yaml({value: [value]})) == {value: [value]}


def test_to_yaml_folds_long_strings_as_kubectl() -> None:
    """go-yaml, kubectl's printer, folds a string that runs past column 80 (kubectl v1.32's bytes for these two):
    printed on one line, kubectl get -o yaml and kube-tui's differed for every long event or condition message."""
    obj = {"items": [{"description": "Used for system critical pods that must run in the cluster, but can be moved "
                                     "to another node if necessary."}],
           "status": {"conditions": [{"lastTransitionTime": "2026-11-27T22:40:51Z",
                                      "message": "the HPA was unable to compute the replica count: failed to get cpu "
                                                 "utilization: missing request for cpu in container c of Pod "
                                                 "web-59db48fd8b-p4xwg"}]}}
    assert to_yaml(obj) == (
        "items:\n"
        "- description: Used for system critical pods that must run in the cluster, but can\n"
        "    be moved to another node if necessary.\n"
        "status:\n"
        "  conditions:\n"
        '  - lastTransitionTime: "2026-11-27T22:40:51Z"\n'
        "    message: 'the HPA was unable to compute the replica count: failed to get cpu utilization:\n"
        "      missing request for cpu in container c of Pod web-59db48fd8b-p4xwg'"
    )
    assert yaml.safe_load(to_yaml(obj)) == obj


def test_to_json_indent_four() -> None:
    assert to_json({"a": {"b": [1]}}) == '{\n    "a": {\n        "b": [\n            1\n        ]\n    }\n}'


def _describe_pod() -> dict[str, Any]:
    obj = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "nginx", "namespace": "default", "labels": {"env": "test", "app": "web"},
                        "creationTimestamp": ago(600),
                        "ownerReferences": [{"kind": "ReplicaSet", "name": "web-7d4b9c", "controller": True}],
                        "annotations": {"kube-tui.io/scheduling": json.dumps({
                            "node": "node-2", "message": "",
                            "nodes": [
                                {"node": "node-1", "filters": [{"plugin": "TaintToleration", "ok": False,
                                                                "reason": "node(s) had untolerated taint {a: b}"}],
                                 "scores": [], "total": 0},
                                {"node": "node-2", "filters": [{"plugin": "TaintToleration", "ok": True, "reason": ""}],
                                 "scores": [{"plugin": "NodeResourcesFit", "score": 90, "weight": 1}], "total": 90},
                            ]})}},
           "spec": {"nodeName": "node-2", "containers": [{"name": "nginx", "image": "nginx",
                                                          "ports": [{"containerPort": 80}],
                                                          "resources": {"limits": {"cpu": "500m", "memory": "64Mi"}},
                                                          "readinessProbe": {"tcpSocket": {"port": 80}}}]},
           "status": {"phase": "Running", "hostIP": "127.0.0.2", "podIP": "127.1.0.5", "podIPs": [{"ip": "127.1.0.5"}],
                      "startTime": ago(590),
                      "conditions": [{"type": "Ready", "status": "True"}, {"type": "PodScheduled", "status": "True"}],
                      "containerStatuses": [{"name": "nginx", "ready": True, "restartCount": 0,
                                             "containerID": "process://4242", "imageID": "kube-tui/nginx",
                                             "state": {"running": {"startedAt": ago(580)}}}]}}
    apply_defaults(obj)
    admit_pod(obj, {})  # the API server's Priority admission: priority 0 without a class
    return obj


def test_describe_pod() -> None:
    events = [{"type": "Normal", "reason": "Scheduled", "message": "Successfully assigned default/nginx to node-2",
               "source": {"component": "default-scheduler"}, "firstTimestamp": ago(590), "lastTimestamp": ago(590),
               "count": 1}]
    assert describe(_describe_pod(), events, now=NOW) == """\
Name:         nginx
Namespace:    default
Priority:     0
Node:         node-2/127.0.0.2
Start Time:   Mon, 01 Jan 2024 00:50:10 +0000
Labels:       app=web
              env=test
Annotations:  <none>
Status:       Running
IP:           127.1.0.5
IPs:
  IP:           127.1.0.5
Controlled By:  ReplicaSet/web-7d4b9c
Containers:
  nginx:
    Container ID:   process://4242
    Image:          nginx
    Image ID:       kube-tui/nginx
    Port:           80/TCP
    Host Port:      0/TCP
    State:          Running
      Started:      Mon, 01 Jan 2024 00:50:20 +0000
    Ready:          True
    Restart Count:  0
    Limits:
      cpu:     500m
      memory:  64Mi
    Requests:
      cpu:        500m
      memory:     64Mi
    Readiness:    tcp-socket :80 delay=0s timeout=1s period=10s #success=1 #failure=3
    Environment:  <none>
    Mounts:       <none>
Conditions:
  Type           Status
  Ready          True$
  PodScheduled   True$
Volumes:         <none>
QoS Class:       Guaranteed
Node-Selectors:  <none>
Tolerations:     node.kubernetes.io/not-ready:NoExecute op=Exists for 300s
                 node.kubernetes.io/unreachable:NoExecute op=Exists for 300s
Scheduling:
  Node:  node-2

  Node    Result    Filters                                                Scores                 Total
  ----    ------    -------                                                ------                 -----
  node-1  Filtered  TaintToleration: node(s) had untolerated taint {a: b}  <none>                 -
  node-2  Selected  all 1 passed                                           NodeResourcesFit 90x1  90
Events:
  Type    Reason     Age    From               Message
  ----    ------     ----   ----               -------
  Normal  Scheduled  9m50s  default-scheduler  Successfully assigned default/nginx to node-2""".replace("$", " ")


def test_describe_pod_without_events_or_scheduling() -> None:
    obj = _describe_pod()
    del obj["metadata"]["annotations"]
    out = describe(obj, [], now=NOW)
    assert "Scheduling:" not in out
    assert out.endswith("                 node.kubernetes.io/unreachable:NoExecute op=Exists for 300s\n"
                        "Events:          <none>")


def test_describe_deployment_and_replicaset() -> None:
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(60)},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}]}}},
         "status": {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2,
                    "conditions": [{"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"}]}}
    apply_defaults(d)
    rs = {"kind": "ReplicaSet", "metadata": {"name": "web-5d59d67564", "namespace": "default",
                                            "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": True}]},
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "pod-template-hash": "5d59d67564"}},
                   "template": json.loads(json.dumps(d["spec"]["template"]))},
          "status": {"replicas": 2}}
    rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = "5d59d67564"
    assert describe(d, [], now=NOW, replicasets=[rs]) == """\
Name:                   web
Namespace:              default
CreationTimestamp:      Mon, 01 Jan 2024 00:59:00 +0000
Labels:                 <none>
Annotations:            <none>
Selector:               app=web
Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable
StrategyType:           RollingUpdate
MinReadySeconds:        0
RollingUpdateStrategy:  25% max unavailable, 25% max surge
Pod Template:
  Labels:  app=web
  Containers:
   web:
    Image:         nginx
    Port:          80/TCP
    Host Port:     0/TCP
    Environment:   <none>
    Mounts:        <none>
  Volumes:         <none>
  Node-Selectors:  <none>
  Tolerations:     <none>
Conditions:
  Type           Status  Reason
  ----           ------  ------
  Available      True    MinimumReplicasAvailable
OldReplicaSets:  <none>
NewReplicaSet:   web-5d59d67564 (2/2 replicas created)
Events:          <none>"""
    pods = [{"status": {"phase": "Running"}}, {"status": {"phase": "Pending"}}]
    out = describe(rs, [], now=NOW, pods=pods)
    assert "Controlled By:  Deployment/web\n" in out
    assert "Replicas:       2 current / 2 desired\n" in out
    assert "Pods Status:    1 Running / 1 Waiting / 0 Succeeded / 0 Failed\n" in out
    assert "Selector:       app=web,pod-template-hash=5d59d67564\n" in out


def test_describe_service_and_generic() -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "my-nginx", "namespace": "default",
                                                                "labels": {"run": "my-nginx"}},
           "spec": {"ports": [{"port": 80}], "selector": {"run": "my-nginx"}, "clusterIP": "127.2.0.9"}}
    apply_defaults(svc)
    # kubectl v1.32 reads the Service's EndpointSlices: the ready endpoints (an unset ready counts as ready)
    eps = [{"ports": [{"name": "", "port": 80}], "endpoints": [
        {"addresses": ["127.1.0.2"], "conditions": {"ready": True}}, {"addresses": ["127.1.0.4"], "conditions": {"ready": False}},
        {"addresses": ["127.1.0.3"]}]}]
    assert describe(svc, [], now=NOW, endpointslices=eps) == """\
Name:                     my-nginx
Namespace:                default
Labels:                   run=my-nginx
Annotations:              <none>
Selector:                 run=my-nginx
Type:                     ClusterIP
IP Family Policy:         SingleStack
IP Families:              IPv4
IP:                       127.2.0.9
IPs:                      127.2.0.9
Port:                     <unset>  80/TCP
TargetPort:               80/TCP
Endpoints:                127.1.0.2:80,127.1.0.3:80
Session Affinity:         None
Internal Traffic Policy:  Cluster
Events:                   <none>"""
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
             "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}}
    assert describe(lease, [], now=NOW) == """\
Name:         node-1
Namespace:    kube-node-lease
Labels:       <none>
Annotations:  <none>
API Version:  coordination.k8s.io/v1
Kind:         Lease
Spec:
  Holder Identity:         node-1
  Lease Duration Seconds:  40
Events:                    <none>"""


def test_describe_node_allocations() -> None:
    node = {"kind": "Node", "metadata": {"name": "node-1", "creationTimestamp": ago(600)},
            "spec": {"taints": [{"key": "example-key", "effect": "NoSchedule"}]},
            "status": {"capacity": {"cpu": "2", "memory": "1Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}
    p = pod("web", 60)
    p["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "500m", "memory": "256Mi"}}
    out = describe(node, [], now=NOW, pods=[p])
    assert "Taints:             example-key:NoSchedule\n" in out
    assert (  # kubectl's empty column after the name: two more spaces there
        "Non-terminated Pods:  (1 in total)\n"
        "  Namespace           Name    CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age\n"
        "  ---------           ----    ------------  ----------  ---------------  -------------  ---\n"
        "  default             web     500m (25%)    0 (0%)      256Mi (25%)      0 (0%)         60s\n"
    ) in out
    assert ("  cpu                500m (25%)   0 (0%)\n  memory             256Mi (25%)  0 (0%)\n"
            "  ephemeral-storage  0 (0%)       0 (0%)\n") in out
    # a pod's requests as kubectl counts them: an init container's, when larger than its containers' sum
    p["spec"]["initContainers"] = [{"name": "init", "image": "busybox", "resources": {"requests": {"cpu": "1"}}}]
    p["spec"]["containers"][0]["resources"]["limits"] = {"ephemeral-storage": "2Gi"}
    out = describe(node, [], now=NOW, pods=[p])
    assert "  default             web     1 (50%)       0 (0%)      256Mi (25%)      0 (0%)         60s\n" in out
    assert "  ephemeral-storage  0 (0%)       2Gi (0%)\n" in out


def test_describe_daemonset_as_kubectl_lays_it_out() -> None:
    ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
          "metadata": {"name": "fluentd", "namespace": "kube-system", "labels": {"k8s-app": "fluentd-logging"}},
          "spec": {"selector": {"matchLabels": {"name": "fluentd"}},
                   "template": {"metadata": {"labels": {"name": "fluentd"}},
                                "spec": {"nodeSelector": {"disktype": "ssd"},
                                         "containers": [{"name": "fluentd", "image": "fluentd:v2"}]}}},
          "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "updatedNumberScheduled": 2,
                     "numberAvailable": 2, "numberMisscheduled": 1}}
    pods = [{"status": {"phase": "Running"}}, {"status": {"phase": "Running"}}, {"status": {"phase": "Pending"}}]
    out = describe(ds, [], now=NOW, pods=pods)
    assert out.startswith("Name:           fluentd\nNamespace:      kube-system\nSelector:       name=fluentd\n"
                          "Node-Selector:  disktype=ssd\nLabels:         k8s-app=fluentd-logging\n")
    assert ("Desired Number of Nodes Scheduled: 3\nCurrent Number of Nodes Scheduled: 3\n"
            "Number of Nodes Scheduled with Up-to-date Pods: 2\nNumber of Nodes Scheduled with Available Pods: 2\n"
            "Number of Nodes Misscheduled: 1\nPods Status:  2 Running / 1 Waiting / 0 Succeeded / 0 Failed\n") in out
    assert "Pod Template:\n  Labels:  name=fluentd\n" in out and "\nEvents:" in out


def test_describe_job_as_kubectl_lays_it_out() -> None:
    # The head of `kubectl describe job` (v1.32.5) for this Job, against a kube-tui cluster.
    job = {"apiVersion": "batch/v1", "kind": "Job",
           "metadata": {"name": "idx", "namespace": "default",
                        "ownerReferences": [{"kind": "CronJob", "name": "nightly", "controller": True}]},
           "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "c41d"}}, "parallelism": 2,
                    "completions": 3, "completionMode": "Indexed", "suspend": False, "backoffLimit": 2,
                    "ttlSecondsAfterFinished": 600, "activeDeadlineSeconds": 100,
                    "template": {"spec": {"containers": [{"name": "w", "image": "busybox"}]}}},
           "status": {"startTime": "2026-11-27T23:42:26Z", "completionTime": "2026-11-27T23:44:01Z", "ready": 0,
                      "succeeded": 3, "completedIndexes": "0-2"}}
    out = describe(job, [], now=NOW)
    assert out.startswith(
        "Name:                        idx\n"
        "Namespace:                   default\n"
        "Selector:                    batch.kubernetes.io/controller-uid=c41d\n"
        "Labels:                      <none>\n"
        "Annotations:                 <none>\n"
        "Controlled By:               CronJob/nightly\n"
        "Parallelism:                 2\n"
        "Completions:                 3\n"
        "Completion Mode:             Indexed\n"
        "Suspend:                     false\n"
        "Backoff Limit:               2\n"
        "TTL Seconds After Finished:  600\n"
        "Start Time:                  Fri, 27 Nov 2026 23:42:26 +0000\n"
        "Completed At:                Fri, 27 Nov 2026 23:44:01 +0000\n"
        "Duration:                    95s\n"
        "Active Deadline Seconds:     100s\n"
        "Pods Statuses:               0 Active (0 Ready) / 3 Succeeded / 0 Failed\n"
        "Completed Indexes:           0-2\n"
        "Pod Template:\n"), out
    # Unset knobs are left out; no ready count, no completions: kubectl's other forms.
    bare = describe({"kind": "Job", "metadata": {"name": "j"}, "spec": {}, "status": {"active": 1}}, [], now=NOW)
    assert "Completions:    <unset>\n" in bare and "Pods Statuses:  1 Active / 0 Succeeded / 0 Failed\n" in bare
    assert "Parallelism" not in bare and "Completed Indexes" not in bare and "Start Time" not in bare


def test_describe_pod_shows_a_claim_volume_as_kubectl() -> None:
    pod = {"kind": "Pod", "metadata": {"name": "web-0", "namespace": "default"},
           "spec": {"containers": [{"name": "nginx", "image": "nginx"}],
                    "volumes": [{"name": "www", "persistentVolumeClaim": {"claimName": "www-web-0"}}]}}
    out = describe(pod, [], now=NOW)
    # (the tab stops are the block's, which runs on into QoS Class: as kubectl's tabwriter lays it out)
    assert ("Volumes:\n  www:\n    Type:        PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the "
            "same namespace)\n    ClaimName:   www-web-0\n    ReadOnly:    false\nQoS Class:       BestEffort\n") in out, out


def test_jsonpath_as_kubectl_prints_it() -> None:
    from tui.printers.jsonpath import JSONPathError
    from tui.printers.jsonpath import render as jp

    lst = {"kind": "List", "items": [
        {"metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x"}},
         "spec": {"nodeName": "n1", "containers": [{"image": "nginx"}, {"image": "busybox"}]}},
        {"metadata": {"name": "b"}, "spec": {"nodeName": "n2", "containers": [{"image": "redis"}]}}]}
    assert jp("{.items[*].metadata.name}", lst) == "a b"
    assert jp(r'{range .items[*]}{.metadata.name}{"\t"}{.spec.nodeName}{"\n"}{end}', lst) == "a\tn1\nb\tn2\n"
    assert jp("{.items[0].spec.containers[*].image}", lst) == "nginx busybox"
    assert jp("{.items[0].metadata.labels['app.kubernetes.io/name']}", lst) == "x"
    assert jp("{.items[1].spec}", lst) == '{"containers":[{"image":"redis"}],"nodeName":"n2"}'
    assert jp("name: {.items[-1].metadata.name}", lst) == "name: b"
    assert jp("{.items[*].nope}", lst) == ""
    # Filters, slices, unions, escaped dots and recursive descent, as in the kubectl cheat sheet.
    lst["items"][0]["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    lst["items"][1]["status"] = {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}],
                                 "restarts": 3}
    assert jp('{.items[?(@.status.phase=="Running")].metadata.name}', lst) == "a"
    assert jp("{.items[?(@.spec.nodeName!='n1')].metadata.name}", lst) == "b"
    assert jp('{.items[*].status.conditions[?(@.type=="Ready")].status}', lst) == "True False"
    assert jp("{.items[?(@.status.restarts>2)].metadata.name}", lst) == "b"
    assert jp("{.items[?(@.metadata.labels)].metadata.name}", lst) == "a"
    assert jp("{..image}", lst) == "nginx busybox redis"
    assert jp("{.items[0].spec.containers[-1:].image}", lst) == "busybox"
    assert jp("{.items[0:1].metadata.name} {.items[0,1].spec.nodeName}", lst) == "a n1 n2"
    assert jp(r"{.items[0].metadata.labels.app\.kubernetes\.io/name}", lst) == "x"
    assert jp('{range .items[?(@.status.phase=="Pending")]}{.metadata.name}{"\n"}{end}', lst) == "b\n"
    with pytest.raises(JSONPathError, match="not supported"):
        jp('{.items[?(@.metadata.name=~"a.*")]}', lst)
    with pytest.raises(JSONPathError, match="unrecognized filter"):
        jp("{.items[?(x)]}", lst)
    with pytest.raises(JSONPathError, match="unterminated"):
        jp("{.items[0}", lst)
    assert jp("{$.items[*].metadata.name}", lst) == "a b"
    with pytest.raises(JSONPathError, match="without its"):
        jp("{.items[0].metadata.name}{end}", lst)
    with pytest.raises(JSONPathError, match="without its"):
        jp("{range .items[*]}{.x}", lst)


def _config_objects() -> tuple[dict, dict]:
    md = {"namespace": "default", "creationTimestamp": "2024-01-01T00:59:00Z"}
    cm = {"kind": "ConfigMap", "metadata": {"name": "game", **md},
          "data": {"lives": "3", "game.properties": "enemies=aliens\nlives=3\n"}, "binaryData": {"logo": "AP8A"}}
    secret = {"kind": "Secret", "metadata": {"name": "db", **md}, "type": "Opaque",
              "data": {"password": "czNjcjN0", "user": "YWRtaW4="}}
    return cm, secret


def test_get_configmaps_and_secrets() -> None:
    cm, secret = _config_objects()
    assert table("ConfigMap", [cm], now=NOW).splitlines() == ["NAME   DATA   AGE", "game   3      60s"]
    assert table("secrets", [secret], now=NOW).splitlines() == ["NAME   TYPE     DATA   AGE", "db     Opaque   2      60s"]


def test_describe_configmap_shows_values_and_secret_only_sizes() -> None:
    cm, secret = _config_objects()
    assert describe(cm, [], now=NOW) == (
        "Name:         game\nNamespace:    default\nLabels:       <none>\nAnnotations:  <none>\n\n"
        "Data\n====\ngame.properties:\n----\nenemies=aliens\nlives=3\n\nlives:\n----\n3\n\n"
        "BinaryData\n====\nlogo: 3 bytes\n\nEvents:  <none>")
    text = describe(secret, [], now=NOW)
    assert text == ("Name:         db\nNamespace:    default\nLabels:       <none>\nAnnotations:  <none>\n\n"
                    "Type:  Opaque\n\nData\n====\npassword:  6 bytes\nuser:      5 bytes")
    assert "s3cr3t" not in text and "czNjcjN0" not in text


def test_get_json_sorts_keys_as_kubectl() -> None:
    """kubectl get -o json prints what it read as a map, every level's keys sorted, a List's too: the server's
    order (metadata's name first, data after metadata) differed from kubectl's for every object."""
    import argparse

    from control.api import kinds
    from tui.commands.get import render
    cm = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"name": "cm1", "namespace": "default", "uid": "u",
          "creationTimestamp": "2024-01-01T00:00:00Z", "resourceVersion": "30"}, "data": {"b": "two", "a": "1"}}
    args = argparse.Namespace(output="json", show_managed_fields=False, names=["cm1"])
    assert render(kinds.lookup("configmaps"), [cm], args) == json.dumps(cm, indent=4, sort_keys=True)
    args.names = []
    listed = json.loads(render(kinds.lookup("configmaps"), [cm], args))
    assert list(listed) == ["apiVersion", "items", "kind", "metadata"]
    assert list(listed["items"][0]) == ["apiVersion", "data", "kind", "metadata"]


def test_tabwrite_remembers_widths_as_get_watch() -> None:
    """kubectl get -w prints each change through one tabwriter with RememberWidths: a column is never narrower
    than it was (kubectl v1.32.5: `Running             0` after a ContainerCreating row); kube-tui aligned each
    row alone."""
    from tui.printers.tabwriter import tabwrite
    widths: list[int] = []
    assert tabwrite("NAME\tSTATUS\tAGE\nwt1\tContainerCreating\t0s", minwidth=6, padding=3, remember=widths) == (
        "NAME   STATUS              AGE\nwt1    ContainerCreating   0s")
    assert tabwrite("wt1\tRunning\t0s", minwidth=6, padding=3, remember=widths) == "wt1    Running             0s"
    assert tabwrite("wt1\tRunning\t0s", minwidth=6, padding=3) == "wt1   Running   0s"


def test_table_without_headers_is_as_wide_as_its_rows() -> None:
    """kubectl get --no-headers aligns the rows alone: the header it does not print widens no column (kube-tui's
    PriorityClass table had GLOBAL-DEFAULT's width after `false`)."""
    pc = {"kind": "PriorityClass", "metadata": {"name": "pc1", "creationTimestamp": "2024-01-01T00:00:00Z"},
          "value": 1000, "preemptionPolicy": "PreemptLowerPriority"}
    now = time.time()
    row = table("PriorityClass", [pc], now=now, headers=False)
    assert row.startswith("pc1   1000   false   ") and "\n" not in row
    assert table("PriorityClass", [pc], now=now).splitlines()[1].startswith("pc1    1000    false            ")


def test_to_yaml_folds_double_quoted_strings_as_go_yaml() -> None:
    """A string printed in double quotes (a tab, a trailing space) is folded past column 80 at a space only, the
    space becoming the break and a second one kept behind a backslash: kubectl v1.32.5's bytes. PyYAML's own
    emitter broke such a string anywhere, a backslash ending each line."""
    data = {"a": "x\t" + "two  spaces " * 12, "c": "z" * 100 + "\t y", "d": "w " * 45 + "\n"}
    assert to_yaml({"data": data}) == (
        "data:\n"
        '  a: "x\\ttwo  spaces two  spaces two  spaces two  spaces two  spaces two  spaces two\n'
        '    \\ spaces two  spaces two  spaces two  spaces two  spaces two  spaces "\n'
        '  c: "' + "z" * 100 + '\\t\n'
        '    y"\n'
        '  d: "w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w w\n'
        '    w w w w w w w \\n"'
    )
    assert yaml.safe_load(to_yaml({"data": data})) == {"data": data}
