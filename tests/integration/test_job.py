"""Jobs end to end on a real `kube-tui node` process: an Indexed Job's pods see their index, a
podFailurePolicy fails or ignores by exit code, backoffLimitPerIndex retries and fails indexes on their own,
a successPolicy ends a Job early, and ttlSecondsAfterFinished deletes a finished Job with its pods."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from control.client import Client
from tests.conftest import plane_with_real_node
from tests.helpers import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


@contextlib.asynccontextmanager
async def cluster(tmp_path: Path) -> AsyncIterator[Client]:
    """A control plane with every controller, one real node, and a client; all stopped on the way out."""
    async with plane_with_real_node(tmp_path) as (client, _):
        yield client


def job(name: str, script: str, **spec: Any) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {**spec, "template": {"spec": {"restartPolicy": "Never", "containers": [{
                "name": "main", "image": "busybox", "command": ["sh", "-c", script]}]}}}}


async def finished(client: Client, name: str) -> dict | None:
    j = await client.get("Job", name)
    conds = (j.get("status") or {}).get("conditions") or []
    return j if any(c["type"] in ("Complete", "Failed") and c["status"] == "True" for c in conds) else None


async def job_pods(client: Client, name: str) -> list[dict]:
    return (await client.list("pods", "default", label_selector=f"batch.kubernetes.io/job-name={name}"))["items"]


async def reasons(client: Client, name: str) -> list[str]:
    items = (await client.list("events", "default", field_selector=f"involvedObject.name={name}"))["items"]
    return [e["reason"] for e in items]


async def has_event(client: Client, name: str, reason: str) -> bool:
    """Events are written in the background, after the status that they go with may be: wait for them."""
    return reason in await reasons(client, name)


async def test_an_indexed_job_gives_each_pod_its_index(tmp_path: Path) -> None:
    async with cluster(tmp_path) as client:
        await client.create(job("sample", "echo index $JOB_COMPLETION_INDEX", completionMode="Indexed",
                                completions=5, parallelism=2))
        j = await wait_for(lambda: finished(client, "sample"), 40, what="the Indexed Job to complete")
        st = j["status"]
        assert (st["succeeded"], st["completedIndexes"], st["active"], st["failed"]) == (5, "0-4", 0, 0)
        assert [c["type"] for c in st["conditions"]] == ["SuccessCriteriaMet", "Complete"]
        assert st["conditions"][1]["reason"] == "CompletionsReached"
        pods = await job_pods(client, "sample")
        assert len(pods) == 5
        by_index = {}
        for p in pods:
            ix = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
            assert p["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"] == ix
            assert p["metadata"]["name"].startswith(f"sample-{ix}-") and len(p["metadata"]["name"]) == len(f"sample-{ix}-") + 5
            assert p["spec"]["hostname"] == f"sample-{ix}"
            assert p["status"]["phase"] == "Succeeded"
            logs = await client.request("logs", {"namespace": "default", "name": p["metadata"]["name"]})
            by_index[ix] = logs["text"].strip()
        assert by_index == {str(i): f"index {i}" for i in range(5)}
        await wait_for(lambda: has_event(client, "sample", "Completed"), 10, what="the Completed event")


async def test_a_fail_job_rule_fails_the_job_at_once(tmp_path: Path) -> None:
    async with cluster(tmp_path) as client:
        policy = {"rules": [{"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In", "values": [42]}}]}
        await client.create(job("fail", "exit 42", backoffLimit=6, podFailurePolicy=policy))
        j = await wait_for(lambda: finished(client, "fail"), 30, what="the Job to fail")
        pod = (await job_pods(client, "fail"))[0]
        message = f"Container main for pod default/{pod['metadata']['name']} failed with exit code 42 matching FailJob rule at index 0"
        conds = j["status"]["conditions"]
        assert [(c["type"], c["reason"], c["message"]) for c in conds] == [
            ("FailureTarget", "PodFailurePolicy", message), ("Failed", "PodFailurePolicy", message)]
        assert j["status"]["failed"] == 1  # at once: not after six retries
        await wait_for(lambda: has_event(client, "fail", "PodFailurePolicy"), 10, what="the PodFailurePolicy event")


async def test_an_ignore_rule_does_not_count_the_failure(tmp_path: Path) -> None:
    marker = tmp_path / "failed-once"
    async with cluster(tmp_path) as client:
        policy = {"rules": [{"action": "Ignore", "onExitCodes": {"operator": "In", "values": [42]}}]}
        # the first pod exits 42 (ignored), its replacement succeeds; with backoffLimit 0 a counted failure would fail the Job
        script = f"if [ -e {marker} ]; then echo done; else touch {marker}; exit 42; fi"
        flaky = job("flaky", script, backoffLimit=0, podFailurePolicy=policy)
        # the marker outlives the first pod on the node's filesystem (a hostPath: its own layer would go with it)
        template = flaky["spec"]["template"]["spec"]
        template["volumes"] = [{"name": "marker", "hostPath": {"path": str(tmp_path)}}]
        template["containers"][0]["volumeMounts"] = [{"name": "marker", "mountPath": str(tmp_path)}]
        await client.create(flaky)
        j = await wait_for(lambda: finished(client, "flaky"), 30, what="the Job to complete")
        assert [c["type"] for c in j["status"]["conditions"]] == ["SuccessCriteriaMet", "Complete"]
        assert (j["status"]["succeeded"], j["status"]["failed"]) == (1, 0)
        phases = sorted(p["status"]["phase"] for p in await job_pods(client, "flaky"))
        assert phases == ["Failed", "Succeeded"]


def conditions(j: dict) -> list[tuple[str, str, str]]:
    return [(c["type"], c.get("reason", ""), c.get("message", "")) for c in j["status"]["conditions"]]


async def test_backoff_limit_per_index_retries_each_index_and_fails_the_job_with_failed_indexes(tmp_path: Path) -> None:
    async with cluster(tmp_path) as client:
        # Kubernetes' docs example (job-backoff-limit-per-index-example.yaml), smaller: even indexes always fail
        script = 'echo "Hello world"; [ $((JOB_COMPLETION_INDEX % 2)) -eq 1 ]'
        await client.create(job("per-index", script, completionMode="Indexed", completions=6, parallelism=3,
                                backoffLimitPerIndex=1, maxFailedIndexes=5))
        j = await wait_for(lambda: finished(client, "per-index"), 40, what="the Job to fail")
        message = "Job has failed indexes"
        assert conditions(j) == [("FailureTarget", "FailedIndexes", message), ("Failed", "FailedIndexes", message)]
        st = j["status"]
        assert (st["failedIndexes"], st["completedIndexes"], st["failed"], st["succeeded"]) == ("0,2,4", "1,3,5", 6, 3)
        assert j["spec"]["backoffLimit"] == 2147483647  # the default with a per-index limit: it never ends the Job
        counts: dict[str, list[str]] = {}
        for p in await job_pods(client, "per-index"):
            annotations = p["metadata"]["annotations"]
            counts.setdefault(annotations["batch.kubernetes.io/job-completion-index"], []).append(
                annotations["batch.kubernetes.io/job-index-failure-count"])
        # one retry for each failing index, the retry knowing the failure before it; none for the others
        assert {ix: sorted(c) for ix, c in counts.items()} == {
            "0": ["0", "1"], "2": ["0", "1"], "4": ["0", "1"], "1": ["0"], "3": ["0"], "5": ["0"]}
        await wait_for(lambda: has_event(client, "per-index", "FailedIndexes"), 10, what="the FailedIndexes event")


async def test_fail_index_rules_and_max_failed_indexes(tmp_path: Path) -> None:
    async with cluster(tmp_path) as client:
        # indexes 0 and 1 exit 42, which fails their index without a retry; two failed indexes are one too many
        policy = {"rules": [{"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [42]}}]}
        script = "if [ $JOB_COMPLETION_INDEX -lt 2 ]; then exit 42; fi; sleep 60"
        await client.create(job("max-failed", script, completionMode="Indexed", completions=4, parallelism=4,
                                backoffLimitPerIndex=3, maxFailedIndexes=1, podFailurePolicy=policy))
        j = await wait_for(lambda: finished(client, "max-failed"), 40, what="the Job to fail")
        message = "Job has exceeded the specified maximal number of failed indexes"
        assert conditions(j) == [("FailureTarget", "MaxFailedIndexesExceeded", message),
                                 ("Failed", "MaxFailedIndexesExceeded", message)]
        assert (j["status"]["failedIndexes"], j["status"]["active"]) == ("0,1", 0)
        pods = await job_pods(client, "max-failed")

        def index(p: dict) -> str:
            return str(p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"])
        # no retries, and the sleeping pods of indexes 2 and 3 were deleted before the Job was Failed: one may still
        # be listed, Failed, while its node removes it (the Job's terminating count leaves out a pod in a terminal
        # phase, as Kubernetes' does)
        assert sorted(index(p) for p in pods if not p["metadata"].get("deletionTimestamp")) == ["0", "1"]
        assert all(p["status"]["phase"] == "Failed" for p in pods), [(index(p), p["status"]["phase"]) for p in pods]


async def test_a_success_policy_completes_the_job_early(tmp_path: Path) -> None:
    async with cluster(tmp_path) as client:
        # Kubernetes' docs example (job-success-policy.yaml): index 2 succeeding is enough; the others would
        # run for a minute, and are stopped
        policy = {"rules": [{"succeededIndexes": "0,2-3", "succeededCount": 1}]}
        script = 'if [ "$JOB_COMPLETION_INDEX" = 2 ]; then exit 0; fi; sleep 60'
        await client.create(job("early", script, completionMode="Indexed", completions=4, parallelism=4,
                                successPolicy=policy))
        j = await wait_for(lambda: finished(client, "early"), 40, what="the Job to complete")
        message = "Matched rules at index 0"
        assert conditions(j) == [("SuccessCriteriaMet", "SuccessPolicy", message), ("Complete", "SuccessPolicy", message)]
        st = j["status"]
        assert (st["completedIndexes"], st["succeeded"], st["active"], st.get("terminating", 0)) == ("2", 1, 0, 0)
        assert st["completionTime"]
        running = [p for p in await job_pods(client, "early")
                   if p["status"]["phase"] not in ("Succeeded", "Failed") and not p["metadata"].get("deletionTimestamp")]
        assert running == []
        await wait_for(lambda: has_event(client, "early", "Completed"), 10, what="the Completed event")


async def test_ttl_after_finished_deletes_the_job_and_its_pods(tmp_path: Path) -> None:
    async with cluster(tmp_path) as client:
        await client.create(job("short", "echo hi", ttlSecondsAfterFinished=2))
        await wait_for(lambda: finished(client, "short"), 30, what="the Job to complete")
        assert len(await job_pods(client, "short")) == 1

        async def gone() -> bool:
            return not (await client.list("jobs", "default"))["items"] and not await job_pods(client, "short")
        await wait_for(gone, 15, what="the Job and its pod to be deleted after the TTL")
