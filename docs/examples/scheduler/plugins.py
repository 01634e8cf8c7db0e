"""Two scheduler plugins of your own: load with --plugins (or --scheduler-plugins), enable in a profile.

A plugin is a class with a `name` and any of:
    filter(pod, node)  -> None if the pod fits on the node, else a reason string (or a Status)
    score(pod, node)   -> an int, 0..100 (or any number, if normalize maps them to 0..100)
    normalize(scores)  -> the scores of all feasible nodes, mapped to 0..100
    pre_filter(pod), pre_score(pod): see control/scheduler/framework.py
Its constructor may take one argument: its `args` from the profile's pluginConfig (a dict).

`pod` is a PodInfo: .pod (the Pod as a dict), .namespace, .name, .labels, .cpu (millicores requested),
.mem (bytes requested). `node` is a NodeInfo: .name, .labels, .node (the Node as a dict), .pods (the
PodInfos on it), .alloc_cpu, .alloc_mem, .req_cpu, .req_mem, .free_cpu, .free_mem.
An exception in a plugin fails that scheduling attempt with its message (the pod is retried with
back-off), as a plugin's Error status does in kube-scheduler; it never stops the scheduler.
"""


class RequireLabel:
    """Filter: only nodes with the label in args (default disktype=ssd)."""

    name = "RequireLabel"

    def __init__(self, args):
        self.key = args.get("key", "disktype")
        self.value = args.get("value", "ssd")

    def filter(self, pod, node):
        if node.labels.get(self.key) != self.value:
            return f"node(s) didn't have label {self.key}={self.value}"
        return None


class SpreadByApp:
    """Score: prefer nodes running fewer pods with the same `app` label as this pod."""

    name = "SpreadByApp"

    def score(self, pod, node):
        app = pod.labels.get("app")
        if app is None:
            return 0
        return sum(1 for other in node.pods.values() if other.labels.get("app") == app)

    def normalize(self, scores):
        most = max(scores, default=0)
        if most == 0:
            return [100] * len(scores)
        return [100 - 100 * s // most for s in scores]  # fewer same-app pods: a higher score
