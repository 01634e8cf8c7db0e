"""CronJobs end to end: the control plane (scheduler, controllers) and a real `kube-tui node` process whose
busybox container prints the date. `@every 2s` is a schedule Kubernetes accepts (robfig/cron's descriptor),
so the first Job is due two seconds after the CronJob is made: no fake clock and no minute to wait."""

from __future__ import annotations

from pathlib import Path

import pytest

from control.api import meta
from control.client import Client
from control.controllers.cronjob import SCHEDULED_TIMESTAMP_ANNOTATION
from control.errors import ApiError
from tests.conftest import plane_with_real_node
from tests.helpers import wait_for

pytestmark = pytest.mark.timeout(60)


def hello(schedule: str, **spec: object) -> dict:
    return {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "hello"},
            "spec": {"schedule": schedule, **spec, "jobTemplate": {
                "metadata": {"labels": {"app": "hello"}},
                "spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{
                    "name": "hello", "image": "busybox",
                    "command": ["/bin/sh", "-c", "date; echo Hello from the Kubernetes cluster"]}]}}}}}}


async def reasons(client: Client, name: str) -> list[str]:
    items = (await client.list("events", "default", field_selector=f"involvedObject.name={name}"))["items"]
    return [e["reason"] for e in items]


async def test_a_schedule_creates_a_job_that_runs_on_a_real_node(tmp_path: Path) -> None:
    async with plane_with_real_node(tmp_path) as (client, node):
        cj = await client.create(hello("@every 2s"))
        created = meta.parse_time(cj["metadata"]["creationTimestamp"])
        assert created is not None

        async def done() -> dict | None:
            c = await client.get("CronJob", "hello")
            return c if c.get("status", {}).get("lastSuccessfulTime") else None
        cj = await wait_for(done, 25, what=f"a Job to run and complete:\n{node.output()}")
        # no second run while we look at this one
        await client.patch("CronJob", "hello", {"spec": {"suspend": True}})

        scheduled = meta.parse_time(cj["status"]["lastScheduleTime"])
        assert scheduled == created + 2 or scheduled == created + 4
        jobs = (await client.list("jobs", "default"))["items"]
        job = next(j for j in jobs if j["metadata"]["name"] == f"hello-{int(created + 2) // 60}")
        assert job["metadata"]["labels"]["app"] == "hello"
        assert job["metadata"]["annotations"][SCHEDULED_TIMESTAMP_ANNOTATION] == meta.to_rfc3339(created + 2)
        assert meta.controller_of(job) == {"apiVersion": "batch/v1", "kind": "CronJob", "name": "hello",
                                           "uid": cj["metadata"]["uid"], "controller": True,
                                           "blockOwnerDeletion": True}
        assert any(c["type"] == "Complete" and c["status"] == "True" for c in job["status"]["conditions"])
        pods = (await client.list("pods", "default", label_selector=f"batch.kubernetes.io/job-name={job['metadata']['name']}"))["items"]
        assert pods and pods[0]["status"]["phase"] == "Succeeded"
        logs = await client.request("logs", {"namespace": "default", "name": pods[0]["metadata"]["name"]})
        assert "Hello from the Kubernetes cluster" in logs["text"]
        got = await wait_for(lambda: reasons(client, "hello"), what="the cronjob's events")
        assert "SuccessfulCreate" in got and "SawCompletedJob" in got

        # the CronJob is the Jobs' owner: deleting it takes them (the garbage collector)
        await client.delete("CronJob", "hello")

        async def jobs_gone() -> bool:
            return not (await client.list("jobs", "default"))["items"]
        await wait_for(jobs_gone, 15, what="the CronJob's Jobs to be collected")


async def test_validation_speaks_kube_apiservers_words(client: Client) -> None:
    bad = hello("61 * * * *", startingDeadlineSeconds=-5, timeZone="Mars/Olympus")
    bad["metadata"]["name"] = "a" * 53
    with pytest.raises(ApiError) as e:
        await client.create(bad)
    assert e.value.code == 422
    assert e.value.message == (
        f'CronJob.batch "{"a" * 53}" is invalid: ['
        'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61, '
        "spec.startingDeadlineSeconds: Invalid value: -5: must be greater than or equal to 0, "
        'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus, '
        f'metadata.name: Invalid value: "{"a" * 53}": must be no more than 52 characters]')
    with pytest.raises(ApiError) as e:
        await client.create(hello("TZ=UTC * * * *"))
    assert e.value.message == (
        'CronJob.batch "hello" is invalid: [spec.schedule: Invalid value: "TZ=UTC * * * *": expected exactly 5 '
        'fields, found 4: [* * * *], spec.schedule: Invalid value: "TZ=UTC * * * *": cannot use TZ or CRON_TZ in '
        "schedule, use timeZone field instead]")
    cj = await client.create(hello("@hourly", timeZone="Europe/Paris"))
    assert cj["spec"]["concurrencyPolicy"] == "Allow" and cj["spec"]["suspend"] is False
    assert (cj["spec"]["successfulJobsHistoryLimit"], cj["spec"]["failedJobsHistoryLimit"]) == (3, 1)
    assert cj["status"] == {}
    # an update may keep a name over 52 characters; a bad policy is refused
    cj["spec"]["concurrencyPolicy"] = "Sometimes"
    with pytest.raises(ApiError) as e:
        await client.update(cj)
    assert 'spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"' \
        in e.value.message
