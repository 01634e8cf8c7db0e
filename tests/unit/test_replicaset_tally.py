"""The ReplicaSet controller's PodTally: status from counts kept up to date by pod events equals the
status calculated over every pod (calculateStatus), whatever order the events come in."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from control.controllers.replicaset import PodTally, calculate_status, tallied_status

RS = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
      "metadata": {"name": "web", "namespace": "default", "uid": "rs-1", "generation": 3},
      "spec": {"replicas": 5, "selector": {"matchLabels": {"app": "web"}},
               "template": {"metadata": {"labels": {"app": "web", "tier": "front"}}}}}


def pod(i: int, owner: str | None, labels: dict, ready: bool, phase: str, terminating: bool) -> dict:
    md: dict = {"name": f"p{i}", "namespace": "default", "labels": labels, "uid": f"u{i}"}
    if owner:
        md["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": owner,
                                  "controller": True}]
    if terminating:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


pods_st = st.builds(
    pod,
    st.integers(0, 15),
    st.sampled_from(["rs-1", "rs-1", "rs-2", None]),
    st.sampled_from([{"app": "web"}, {"app": "web", "tier": "front"}, {"app": "web", "tier": "front", "x": "1"}]),
    st.booleans(),
    st.sampled_from(["Pending", "Running", "Running", "Succeeded", "Failed"]),
    st.booleans(),
)
ops = st.lists(st.tuples(st.sampled_from(["put", "put", "delete"]), pods_st), max_size=60)


@settings(max_examples=200, deadline=None)
@given(ops)
def test_the_tally_agrees_with_calculate_status(events: list[tuple[str, dict]]) -> None:
    tally = PodTally()
    cache: dict[str, dict] = {}
    for op, p in events:
        name = p["metadata"]["name"]
        if op == "put":
            cache[name] = p
            tally.observe(p)
        elif name in cache:
            tally.forget(cache.pop(name))
    # what the sync claims: active pods this ReplicaSet controls (all of these match its selector)
    claimed = [p for p in cache.values()
               if (p["metadata"].get("ownerReferences") or [{}])[0].get("uid") == "rs-1"
               and p["status"]["phase"] not in ("Succeeded", "Failed") and "deletionTimestamp" not in p["metadata"]]
    want = calculate_status(RS, claimed)
    got = tallied_status(RS, tally.groups("rs-1"))
    assert got == want
    assert sum(tally.groups("rs-1").values()) == len(claimed)
