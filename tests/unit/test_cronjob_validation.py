"""CronJob defaults and validation (SetDefaults_CronJob, ValidateCronJobCreate/Update) with bad input."""

from __future__ import annotations

import copy

import pytest

from control.api.defaults import apply_defaults
from control.api.validation import validate
from control.errors import invalid


def cronjob(name: str = "hello", **spec: object) -> dict:
    cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name, "namespace": "default"},
          "spec": {"schedule": "*/5 * * * *", **spec, "jobTemplate": {"spec": {"template": {"spec": {
              "restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}}
    apply_defaults(cj)
    return cj


def message(obj: dict, old: dict | None = None) -> str:
    errs, _ = validate(obj, old)
    return invalid("CronJob", obj["metadata"]["name"], errs).message if errs else ""


def test_defaults() -> None:
    spec = cronjob()["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"]) == ("Allow", False)
    assert (spec["successfulJobsHistoryLimit"], spec["failedJobsHistoryLimit"]) == (3, 1)
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["dnsPolicy"] == "ClusterFirst" and pod["containers"][0]["imagePullPolicy"] == "Always"
    assert "backoffLimit" not in spec["jobTemplate"]["spec"]  # SetDefaults_Job is not applied to a template
    kept = cronjob(concurrencyPolicy="Forbid", suspend=True, successfulJobsHistoryLimit=0)["spec"]
    assert (kept["concurrencyPolicy"], kept["suspend"], kept["successfulJobsHistoryLimit"]) == ("Forbid", True, 0)
    assert message(cronjob()) == ""


@pytest.mark.parametrize(("schedule", "error"), [
    ("* * * *", 'spec.schedule: Invalid value: "* * * *": expected exactly 5 fields, found 4: [* * * *]'),
    ("60 * * * *", 'spec.schedule: Invalid value: "60 * * * *": end of range (60) above maximum (59): 60'),
    ("@fortnightly", 'spec.schedule: Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly'),
    ("", "spec.schedule: Required value"),
])
def test_bad_schedules(schedule: str, error: str) -> None:
    assert message(cronjob(schedule=schedule)) == f'CronJob.batch "hello" is invalid: {error}'


def test_names_over_52_characters_are_refused_on_create_only() -> None:
    long = cronjob("a" * 53)
    assert message(long) == (f'CronJob.batch "{"a" * 53}" is invalid: metadata.name: Invalid value: "{"a" * 53}": '
                             "must be no more than 52 characters")
    assert message(cronjob("a" * 52)) == ""
    changed = copy.deepcopy(long)
    changed["spec"]["suspend"] = True
    assert message(changed, long) == ""  # an old CronJob with a long name can still be updated


def test_time_zones() -> None:
    assert message(cronjob(timeZone="Europe/Paris")) == ""
    assert message(cronjob(timeZone="Mars/Olympus")).endswith(
        'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus')
    assert message(cronjob(timeZone="")).endswith(
        'spec.timeZone: Invalid value: "": timeZone must be nil or non-empty string')
    assert message(cronjob(timeZone="../etc/passwd")).endswith(
        'spec.timeZone: Invalid value: "../etc/passwd": unknown time zone ../etc/passwd')
    assert "timeZone must be an explicit time zone" in message(cronjob(timeZone="Local"))
    tz = cronjob(schedule="CRON_TZ=UTC 0 * * * *")
    assert message(tz) == ('CronJob.batch "hello" is invalid: spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": '
                           "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
    # an object that already had TZ= in its schedule may keep it, but not with timeZone too
    assert message(copy.deepcopy(tz), tz) == ""
    both = copy.deepcopy(tz)
    both["spec"]["timeZone"] = "UTC"
    assert "cannot use both timeZone field and TZ or CRON_TZ in schedule" in message(both, tz)


def test_the_rest_of_the_spec() -> None:
    assert message(cronjob(startingDeadlineSeconds=-1, successfulJobsHistoryLimit=-1, failedJobsHistoryLimit=-2)) == (
        'CronJob.batch "hello" is invalid: ['
        "spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0, "
        "spec.successfulJobsHistoryLimit: Invalid value: -1: must be greater than or equal to 0, "
        "spec.failedJobsHistoryLimit: Invalid value: -2: must be greater than or equal to 0]")
    assert 'spec.concurrencyPolicy: Unsupported value: "Never": supported values: "Allow", "Forbid", "Replace"' \
        in message(cronjob(concurrencyPolicy="Never"))
    cj = cronjob()
    job_spec = cj["spec"]["jobTemplate"]["spec"]
    job_spec.update(selector={"matchLabels": {"a": "b"}}, manualSelector=True, parallelism=-1)
    job_spec["template"]["spec"]["restartPolicy"] = "Always"
    del job_spec["template"]["spec"]["containers"][0]["image"]
    msg = message(cj)
    for part in ("spec.jobTemplate.spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
                 "spec.jobTemplate.spec.template.spec.containers[0].image: Required value",
                 'spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
                 '"OnFailure", "Never"',
                 "spec.jobTemplate.spec.selector: Invalid value: `selector` will be auto-generated",
                 'spec.jobTemplate.spec.manualSelector: Unsupported value: true: supported values: "nil", "false"'):
        assert part in msg
    del cj["spec"]["jobTemplate"]
    assert message(cj).endswith("spec.jobTemplate.spec.template: Required value")
