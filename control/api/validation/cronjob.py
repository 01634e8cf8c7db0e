"""CronJob (batch/v1), as pkg/apis/batch/validation checks it: ValidateCronJobCreate and ValidateCronJobUpdate.

The schedule is parsed by the same parser the controller uses (control/api/cron.py, robfig/cron's
ParseStandard), so its error is the one kube-apiserver prints.
"""

from __future__ import annotations

import re
from typing import Any

from control.api import cron
from control.api.validation.field import Errors, as_dict, int_field, invalid, not_supported, required, shown
from control.api.validation.workloads import validate_job_spec

CONCURRENCY_POLICIES = ("Allow", "Forbid", "Replace")
# DNS1035LabelMaxLength - 11: the controller appends "-<minutes since epoch>" (11 characters) to make a Job name
MAX_NAME_LENGTH = 52
_TZ_PART = re.compile(r"^[A-Za-z.\-_0-9+]{1,14}$")  # validTimeZoneCharacters


def validate_cronjob(obj: dict[str, Any], old: dict[str, Any] | None, errs: Errors) -> None:
    """Create (old None) or update: the 52-character name limit is checked on create only, and TZ= in the
    schedule is allowed on update only when the old schedule had it (as Kubernetes, for old objects)."""
    name = (obj.get("metadata") or {}).get("name")
    spec = as_dict(errs, obj.get("spec"), "spec")
    old_spec = (old or {}).get("spec") if old is not None else None
    if spec is None:
        required(errs, "spec.schedule")
        required(errs, "spec.concurrencyPolicy")
        required(errs, "spec.jobTemplate.spec.template")
    else:
        validate_cronjob_spec(errs, spec, old_spec if isinstance(old_spec, dict) else None, old is not None)
    if old is None and isinstance(name, str) and len(name) > MAX_NAME_LENGTH:
        invalid(errs, "metadata.name", name, f"must be no more than {MAX_NAME_LENGTH} characters")


def validate_cronjob_spec(errs: Errors, spec: dict[str, Any], old_spec: dict[str, Any] | None, update: bool) -> None:
    schedule = spec.get("schedule")
    time_zone = spec.get("timeZone")
    if not schedule:
        required(errs, "spec.schedule")
    elif not isinstance(schedule, str):
        invalid(errs, "spec.schedule", shown(schedule), "must be a string")
    else:
        allow_tz = update and "TZ" in str((old_spec or {}).get("schedule") or "")
        validate_schedule_format(errs, schedule, allow_tz, time_zone, "spec.schedule")
    int_field(errs, spec, "startingDeadlineSeconds", "spec.startingDeadlineSeconds")
    if old_spec is None or old_spec.get("timeZone") != time_zone:
        validate_time_zone(errs, time_zone, "spec.timeZone")
    policy = spec.get("concurrencyPolicy")
    if not policy:
        required(errs, "spec.concurrencyPolicy")
    elif policy not in CONCURRENCY_POLICIES:
        not_supported(errs, "spec.concurrencyPolicy", shown(policy), CONCURRENCY_POLICIES)
    suspend = spec.get("suspend")
    if suspend is not None and not isinstance(suspend, bool):
        invalid(errs, "spec.suspend", shown(suspend), "must be a boolean")
    validate_job_template_spec(errs, spec.get("jobTemplate"), "spec.jobTemplate")
    int_field(errs, spec, "successfulJobsHistoryLimit", "spec.successfulJobsHistoryLimit")
    int_field(errs, spec, "failedJobsHistoryLimit", "spec.failedJobsHistoryLimit")


def validate_schedule_format(errs: Errors, schedule: str, allow_tz: bool, time_zone: Any, path: str) -> None:
    try:
        cron.parse_standard(schedule)
    except cron.CronError as e:
        invalid(errs, path, schedule, str(e))
    if allow_tz and "TZ" in schedule and time_zone is not None:
        invalid(errs, path, schedule, "cannot use both timeZone field and TZ or CRON_TZ in schedule")
    elif not allow_tz and "TZ" in schedule:
        invalid(errs, path, schedule, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")


def validate_time_zone(errs: Errors, tz: Any, path: str) -> None:
    if tz is None:
        return
    if not isinstance(tz, str):
        invalid(errs, path, shown(tz), "must be a string")
        return
    if not tz:
        invalid(errs, path, tz, "timeZone must be nil or non-empty string")
        return
    for part in tz.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TZ_PART.match(part):
            invalid(errs, path, tz, f"unknown time zone {tz}")
            return
    if tz.lower() == "local":
        invalid(errs, path, tz, "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones")
    try:
        cron.load_location(tz)
    except cron.CronError as e:
        invalid(errs, path, tz, str(e))


def validate_job_template_spec(errs: Errors, template: Any, path: str) -> None:
    """ValidateJobTemplateSpec: the job spec, whose selector is always generated (so none may be given)."""
    if template is None:
        required(errs, f"{path}.spec.template")
        return
    template = as_dict(errs, template, path)
    if template is None:
        return
    spec = as_dict(errs, template.get("spec"), f"{path}.spec")
    if spec is None:
        if template.get("spec") is None:
            required(errs, f"{path}.spec.template")
        return
    validate_job_spec(errs, spec, f"{path}.spec", None)
    if spec.get("selector") is not None:
        invalid(errs, f"{path}.spec.selector", None, "`selector` will be auto-generated")
    if spec.get("manualSelector") is True:
        not_supported(errs, f"{path}.spec.manualSelector", True, ("nil", "false"))
