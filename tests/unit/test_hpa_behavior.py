"""The HPA's normalization (horizontal.go): stabilization windows, scaling policies, min/max clamps and the
conditions they set, with an injected clock (no waiting)."""

from __future__ import annotations

from control.api import horizontalpodautoscaler as hpas
from control.controllers.horizontal import Normalizer, convert_with_rules

KEY = ("default", "web")


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def cond(status: dict, type_: str) -> tuple[str, str]:
    c = next(c for c in status["conditions"] if c["type"] == type_)
    return c["status"], c["reason"]


def test_without_behavior_a_scale_up_is_at_most_double_or_four() -> None:
    assert convert_with_rules(1, 10, 1, 20)[:2] == (4, "ScaleUpLimit")
    assert convert_with_rules(3, 10, 1, 20)[:2] == (6, "ScaleUpLimit")
    assert convert_with_rules(3, 10, 1, 5)[:2] == (5, "TooManyReplicas")
    assert convert_with_rules(3, 0, 2, 5)[:2] == (2, "TooFewReplicas")
    assert convert_with_rules(3, 4, 1, 5)[:2] == (4, "DesiredWithinRange")


def test_without_behavior_a_scale_down_waits_for_the_window() -> None:
    clock = Clock()
    n = Normalizer(downscale_window=300, clock=clock)
    n.record_initial(KEY, 5)
    status: dict = {}
    assert n.normalize(status, KEY, 5, 5, 1, 10) == 5
    clock.t += 60
    assert n.normalize(status, KEY, 5, 1, 1, 10) == 5  # a higher recommendation within 300 s
    assert cond(status, hpas.ABLE_TO_SCALE) == ("True", "ScaleDownStabilized")
    clock.t += 250  # the 5s are older than 300 s now; the 1 of 60 s later is not
    assert n.normalize(status, KEY, 5, 1, 1, 10) == 1
    assert cond(status, hpas.ABLE_TO_SCALE) == ("True", "ReadyForNewScale")
    assert cond(status, hpas.SCALING_LIMITED) == ("False", "DesiredWithinRange")


def behavior(**scale_down: object) -> dict:
    b = {"scaleUp": hpas.scale_up_rules(None), "scaleDown": hpas.scale_down_rules(scale_down or None)}
    return b


def test_default_behavior_scales_up_by_four_pods_or_double_per_15_seconds() -> None:
    clock = Clock()
    n = Normalizer(downscale_window=300, clock=clock)
    b = behavior()
    n.record_initial(KEY, 1)
    status: dict = {}
    assert n.normalize_with_behaviors(status, b, KEY, 1, 10, 1, 20) == 5  # max(1 + 4, 1 * 2)
    assert cond(status, hpas.SCALING_LIMITED) == ("True", "ScaleUpLimit")
    n.store_scale_event(b, KEY, 1, 5)
    clock.t += 5
    # within the same 15 s: the period started at 1 replica, so still at most 5
    assert n.normalize_with_behaviors(status, b, KEY, 5, 10, 1, 20) == 5
    clock.t += 11
    assert n.normalize_with_behaviors(status, b, KEY, 5, 30, 1, 20) == 10  # max(5 + 4, 5 * 2)
    assert n.normalize_with_behaviors(status, b, KEY, 5, 30, 1, 8) == 8
    assert cond(status, hpas.SCALING_LIMITED) == ("True", "TooManyReplicas")


def test_behavior_scale_down_window_and_percent_policy() -> None:
    clock = Clock()
    n = Normalizer(downscale_window=300, clock=clock)
    b = behavior(stabilizationWindowSeconds=30, policies=[{"type": "Percent", "value": 50, "periodSeconds": 60}])
    n.record_initial(KEY, 8)
    status: dict = {}
    assert n.normalize_with_behaviors(status, b, KEY, 8, 8, 1, 10) == 8
    clock.t += 10
    assert n.normalize_with_behaviors(status, b, KEY, 8, 1, 1, 10) == 8  # the 8 of 10 s ago is in the window
    assert cond(status, hpas.ABLE_TO_SCALE) == ("True", "ScaleDownStabilized")
    clock.t += 31
    assert n.normalize_with_behaviors(status, b, KEY, 8, 1, 1, 10) == 4  # -50 % per 60 s
    assert cond(status, hpas.SCALING_LIMITED) == ("True", "ScaleDownLimit")
    n.store_scale_event(b, KEY, 8, 4)
    clock.t += 30
    assert n.normalize_with_behaviors(status, b, KEY, 4, 1, 1, 10) == 4  # the period began at 8: 4 is its limit
    clock.t += 31
    assert n.normalize_with_behaviors(status, b, KEY, 4, 1, 1, 10) == 2


def test_select_policy_min_and_disabled() -> None:
    clock = Clock()
    n = Normalizer(clock=clock)
    up = hpas.scale_up_rules({"selectPolicy": "Min"})
    b = {"scaleUp": up, "scaleDown": hpas.scale_down_rules({"selectPolicy": "Disabled"})}
    n.record_initial(KEY, 2)
    status: dict = {}
    assert n.normalize_with_behaviors(status, b, KEY, 2, 20, 1, 50) == 4  # min(2 + 4, 2 * 2)
    assert n.normalize_with_behaviors(status, b, KEY, 6, 1, 1, 50) == 6  # scale down disabled


def test_scale_up_stabilization_window_takes_the_lowest_recent_recommendation() -> None:
    clock = Clock()
    n = Normalizer(clock=clock)
    b = {"scaleUp": hpas.scale_up_rules({"stabilizationWindowSeconds": 60}), "scaleDown": hpas.scale_down_rules(None)}
    n.record_initial(KEY, 2)
    status: dict = {}
    clock.t += 1
    assert n.normalize_with_behaviors(status, b, KEY, 2, 6, 1, 10) == 2
    assert cond(status, hpas.ABLE_TO_SCALE) == ("True", "ScaleUpStabilized")
    clock.t += 61
    assert n.normalize_with_behaviors(status, b, KEY, 2, 6, 1, 10) == 6


def test_forget_drops_what_was_remembered() -> None:
    n = Normalizer()
    n.record_initial(KEY, 3)
    n.store_scale_event(behavior(), KEY, 3, 5)
    n.forget(KEY)
    assert KEY not in n.recommendations and KEY not in n.scale_up_events
