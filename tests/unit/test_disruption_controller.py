"""The disruption controller: a budget it cannot count fails safe (no disruption allowed) and is tried again."""

from __future__ import annotations

from types import SimpleNamespace


def test_a_failed_sync_is_retried_after_failing_safe() -> None:
    """disruption.go sync: failSafe(ctx, pdb, err) returns err, so the key is rate-limited and retried;
    a budget whose controller is not in the informer yet recovers by itself."""
    import asyncio

    from control.controllers.disruption import DisruptionController
    from control.controllers.informers import SharedInformers
    from control.workqueue import WorkQueue, run_workers

    infs = SharedInformers(client=SimpleNamespace())
    dc = DisruptionController.__new__(DisruptionController)
    dc.pdb_informer, dc.pod_informer = infs.get("PodDisruptionBudget"), infs.get("Pod")
    dc.rs_informer, dc.deploy_informer = infs.get("ReplicaSet"), infs.get("Deployment")
    dc.recorder = SimpleNamespace(event=lambda *a, **k: None)
    dc.log = SimpleNamespace(warning=lambda *a, **k: None)
    writes: list[dict] = []

    async def write(pdb: dict) -> None:
        writes.append(pdb)

    dc._write_status = write
    pdb = {"metadata": {"name": "b", "namespace": "default", "generation": 1, "resourceVersion": "1"},
           "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "w"}}}, "status": {}}
    p = {"metadata": {"name": "w-1", "namespace": "default", "labels": {"app": "w"},
                      "ownerReferences": [{"kind": "ReplicaSet", "name": "w", "uid": "rs-uid", "controller": True}]},
         "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    from control.controllers.informers import BY_NAMESPACE
    from control.informer import key_of

    for inf, obj in ((dc.pdb_informer, pdb), (dc.pod_informer, p)):
        inf.cache[key_of(obj)] = obj
    dc.pod_informer._indexes[BY_NAMESPACE].setdefault("default", set()).add(("default", "w-1"))

    async def main() -> int:
        q: WorkQueue = WorkQueue("t", base_delay=0.01)
        dc.queue = q
        q.add(("default", "b"))
        task = asyncio.create_task(run_workers(q, dc.sync, 1))
        await asyncio.sleep(0.1)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass
        return q.failures(("default", "b"))

    failures = asyncio.run(main())
    assert writes and writes[-1]["status"]["conditions"][0]["reason"] == "SyncFailed"
    assert failures > 0, "SyncFailed was swallowed: the budget is never retried until some pod changes"


def test_a_budget_that_cannot_be_counted_is_one_warning_line_not_a_traceback(caplog) -> None:  # type: ignore[no-untyped-def]
    """Deleting a Deployment a budget covers leaves its pods without a controller for a moment: the control
    plane's terminal (on screen in a talk) says so in one line, as kube-controller-manager does, and keeps the
    traceback for real failures."""
    import logging

    from control.controllers.disruption import DisruptionController, SyncFailed

    dc = DisruptionController.__new__(DisruptionController)
    dc.log = logging.getLogger("kube_tui.controllers.disruption-controller")
    with caplog.at_level(logging.DEBUG, logger=dc.log.name):
        dc._on_error(("default", "b"), SyncFailed('found no controllers for pod "w-1"'))
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]
        assert any('found no controllers for pod "w-1"' in r.getMessage() for r in caplog.records)
        dc._on_error(("default", "b"), RuntimeError("a bug"))  # anything else still gets its traceback
        assert [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
