"""TaintToleration: NoSchedule/NoExecute taints must be tolerated; PreferNoSchedule ones lower the score."""

from __future__ import annotations

from control.scheduler.framework import MAX_NODE_SCORE, SUCCESS, Status, unresolvable
from control.scheduler.nodeinfo import NodeInfo, PodInfo
from control.scheduler.plugins.helper import default_normalize_score, filter_some

NAME = "TaintToleration"


def tolerates(toleration: dict, taint: dict) -> bool:
    """core/v1 Toleration.ToleratesTaint: empty effect/key match all; operator Exists ignores the value."""
    effect = toleration.get("effect") or ""
    if effect and effect != taint.get("effect"):
        return False
    key = toleration.get("key") or ""
    if key and key != taint.get("key"):
        return False
    op = toleration.get("operator") or "Equal"
    if op == "Exists":
        return True
    if op == "Equal":
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return False


def tolerated(tolerations: list[dict], taint: dict) -> bool:
    return any(tolerates(t, taint) for t in tolerations)


def find_untolerated(taints: tuple[dict, ...], tolerations: list[dict]) -> dict | None:
    """The first taint (node order) no toleration matches, like v1helper.FindMatchingUntoleratedTaint."""
    for taint in taints:
        if not tolerated(tolerations, taint):
            return taint
    return None


def untolerated_reason(taint: dict) -> str:
    return f"node(s) had untolerated taint {{{taint.get('key', '')}: {taint.get('value') or ''}}}"


class TaintToleration:
    name = NAME

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status:
        if not node.hard_taints:
            return SUCCESS
        taint = find_untolerated(node.hard_taints, pod.spec.get("tolerations") or [])
        if taint is None:
            return SUCCESS
        return unresolvable(untolerated_reason(taint)).with_plugin(NAME)

    def filter_nodes(self, pod: PodInfo, nodes: list[NodeInfo]) -> tuple[list[NodeInfo], list[tuple[NodeInfo, Status]]]:
        return filter_some(self.filter, pod, nodes, [ni for ni in nodes if ni.hard_taints])

    def _prefer_tolerations(self, pod: PodInfo) -> list[dict]:
        tols = pod.state.get(NAME)
        if tols is None:
            # Only tolerations that can match PreferNoSchedule (or any effect) matter for scoring.
            tols = pod.state[NAME] = [t for t in pod.spec.get("tolerations") or ()
                                      if (t.get("effect") or "") in ("", "PreferNoSchedule")]
        return tols

    def score(self, pod: PodInfo, node: NodeInfo) -> int:
        """The number of PreferNoSchedule taints the pod does not tolerate (lower is better)."""
        if not node.soft_taints:
            return 0
        tols = self._prefer_tolerations(pod)
        return sum(1 for t in node.soft_taints if not tolerated(tols, t))

    def score_nodes(self, pod: PodInfo, nodes: list[NodeInfo]) -> list[int]:
        score = self.score
        return [score(pod, ni) if ni.soft_taints else 0 for ni in nodes]

    def normalize(self, scores: list[int]) -> list[int]:
        return default_normalize_score(scores, MAX_NODE_SCORE, reverse=True)
