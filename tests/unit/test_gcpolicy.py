"""control.gcpolicy: long-lived objects leave the collector's walks; cycles are still freed, frozen ones at reclaim."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from control import gcpolicy


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


@pytest.fixture
def policy() -> Iterator[None]:
    gcpolicy.install(reclaim_every=3600)
    try:
        yield
    finally:
        gcpolicy.uninstall()


def _in_generations(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_what_survives_a_generation_1_collection_is_frozen(policy: None) -> None:
    cached = {"spec": {"containers": [{"name": "c"}]}}
    assert _in_generations(cached)
    before = gcpolicy.stats().freezes  # type: ignore[union-attr]
    gc.collect(1)
    assert not _in_generations(cached) and gc.get_freeze_count() > 0
    assert gcpolicy.stats().freezes == before + 1  # type: ignore[union-attr]
    # A young collection does not freeze: the young generation is where garbage is found.
    young = {"a": [1]}
    gc.collect(0)
    assert _in_generations(young)


def test_young_cycles_are_collected_as_usual(policy: None) -> None:
    dead = weakref.ref(Node())
    gc.collect(0)
    assert dead() is None


def test_a_cycle_that_dies_frozen_is_freed_by_the_next_reclaim(policy: None) -> None:
    node = Node()
    ref = weakref.ref(node)
    gc.collect(1)  # it lives through a generation-1 collection: frozen
    del node
    gc.collect()
    assert ref() is not None  # the trade-off: frozen, it is not looked at...
    gcpolicy.install(reclaim_every=1e-9)  # (a second install only changes the interval)
    gc.collect(1)  # ...until a reclaim is due: the policy unfreezes after this collection,
    assert gc.get_freeze_count() == 0
    gc.collect()  # and the next full collection walks everything
    assert ref() is None
    s = gcpolicy.stats()
    assert s is not None and s.reclaims == 1 and s.reclaimed >= 1 and gc.get_freeze_count() > 0


def test_pauses_are_counted(policy: None) -> None:
    gc.collect(0)
    s = gcpolicy.stats()
    assert s is not None and s.collections[0] >= 1 and s.max_pause_ms[0] >= 0.0


def test_each_process_draws_its_own_generation_0_threshold() -> None:
    """Informers of the same stream allocate in lockstep: equal thresholds would make them collect at once."""
    drawn = set()
    try:
        for _ in range(20):
            gcpolicy.install(reclaim_every=3600)
            threshold = gc.get_threshold()
            gcpolicy.uninstall()
            low, high = gcpolicy.GEN0_THRESHOLDS
            assert low <= threshold[0] <= high and threshold[1:] == gcpolicy.THRESHOLDS[1:]
            drawn.add(threshold[0])
    finally:
        gcpolicy.uninstall()
    assert len(drawn) > 1, "every install drew the same threshold"
