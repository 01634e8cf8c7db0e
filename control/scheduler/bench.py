"""A micro-benchmark of the pure scheduling framework: no network, a synthetic cluster, pods/s."""

from __future__ import annotations

import random
from time import perf_counter, process_time
from typing import Any

from control.scheduler.framework import Framework
from control.scheduler.nodeinfo import PodInfo, Snapshot
from control.scheduler.podindex import Cluster
from control.scheduler.record import to_annotation


def synthetic_node(i: int, rng: random.Random) -> dict:
    labels = {"kubernetes.io/hostname": f"node-{i}", "topology.kubernetes.io/zone": f"zone-{i % 3}",
              "disktype": "ssd" if i % 4 == 0 else "hdd"}
    taints = [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}] if i % 50 == 0 else []
    if i % 20 == 1:
        taints.append({"key": "spot", "value": "true", "effect": "PreferNoSchedule"})
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"node-{i}", "labels": labels},
            "spec": {"taints": taints},
            "status": {"allocatable": {"cpu": rng.choice(["16", "32", "64"]),
                                       "memory": rng.choice(["64Gi", "128Gi", "256Gi"]), "pods": "110"}}}


def synthetic_pod(i: int, rng: random.Random) -> dict:
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "nginx", "resources": {"requests": {
        "cpu": rng.choice(["100m", "250m", "500m", "1"]), "memory": rng.choice(["128Mi", "256Mi", "1Gi"])}}}]}
    if i % 10 == 0:
        spec["nodeSelector"] = {"disktype": "ssd"}
    if i % 25 == 0:
        spec["tolerations"] = [{"key": "dedicated", "operator": "Exists", "effect": "NoSchedule"}]
    if i % 7 == 0:
        spec["affinity"] = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 50, "preference": {"matchExpressions": [
                {"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone-1"]}]}}]}}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"pod-{i}", "namespace": "default", "uid": f"uid-{i}"}, "spec": spec}


def bench_schedule(nodes: int = 5000, pods: int = 10000, *, record: bool = True, seed: int = 1,
                   framework: Framework | None = None) -> dict:
    """Schedule `pods` pods one after another onto `nodes` nodes, assuming each placement.

    Returns counts and rates; `record` also builds each pod's decision annotation, as the real
    scheduler does. `framework`: a profile's (a scheduler configuration's), instead of the default one.
    """
    rng = random.Random(seed)
    snap = Snapshot()
    for i in range(nodes):
        snap.add_node(synthetic_node(i, rng))
    pod_objs = [synthetic_pod(i, rng) for i in range(pods)]
    fw = framework or Framework()
    fw.rng = random.Random(seed)
    node_list = snap.node_infos()
    scheduled = unschedulable = 0
    evaluated = 0
    t0, c0 = perf_counter(), process_time()
    for pod in pod_objs:
        pi = PodInfo(pod)
        res = fw.schedule(pi, node_list, cluster=Cluster(node_list, snap.index, by_name=snap.infos,
                                                          label_keys=snap.label_keys))
        evaluated += res.evaluated
        if record:
            to_annotation(res)
        if res.node is None:
            unschedulable += 1
            continue
        snap.assume_pod(pi, res.node)
        scheduled += 1
    elapsed, cpu = perf_counter() - t0, process_time() - c0
    # CPU time too: on a shared machine it shows the cost of the code rather than of the neighbours.
    return {"nodes": nodes, "pods": pods, "scheduled": scheduled, "unschedulable": unschedulable,
            "seconds": round(elapsed, 3), "pods_per_second": round(pods / elapsed, 1),
            "cpu_seconds": round(cpu, 3), "pods_per_cpu_second": round(pods / cpu, 1),
            "avg_nodes_evaluated": round(evaluated / pods, 1), "record": record}


if __name__ == "__main__":
    print(bench_schedule(record=False))
    print(bench_schedule())
