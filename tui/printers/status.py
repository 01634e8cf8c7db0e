"""The cells `get` and `describe` share: timestamps and ages, pod READY/STATUS/RESTARTS, node STATUS and ROLES."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# --- time -----------------------------------------------------------------------------------------


def parse_time(value: Any) -> float | None:
    """A Kubernetes timestamp (RFC 3339 string, or epoch seconds) as epoch seconds; None when unset."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Python < 3.11 parsers choke on >6 fractional digits; RFC 3339 allows nanoseconds.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration: `5s`, `3m20s`, `2d4h`, ..."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 60 * 2:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        sec = s % 60
        return f"{minutes}m" if sec == 0 else f"{minutes}m{sec}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        dy = (hours // 24) % 365
        return f"{hours // 24 // 365}y" if dy == 0 else f"{hours // 24 // 365}y{dy}d"
    return f"{hours // 24 // 365}y"


def since(value: Any, now: float | None = None) -> str:
    """translateTimestampSince: the age of a timestamp, `<unknown>` when unset."""
    t = parse_time(value)
    if t is None:
        return "<unknown>"
    return human_duration((time.time() if now is None else now) - t)


def rfc1123z(value: Any) -> str:
    """Go's time.RFC1123Z in local time, as kubectl describe prints timestamps."""
    t = parse_time(value)
    if t is None:
        return "<unset>"
    return datetime.fromtimestamp(t).astimezone().strftime("%a, %d %b %Y %H:%M:%S %z")


def event_interval(ev: Mapping[str, Any], now: float | None, *, describe: bool = False) -> str:
    first = since(ev.get("firstTimestamp"), now) if ev.get("firstTimestamp") else since(ev.get("eventTime"), now)
    series = ev.get("series")
    if describe:
        if ev.get("eventTime"):
            first = since(ev.get("eventTime"), now)
        last = since(ev.get("lastTimestamp"), now)
    else:
        last = since(ev.get("lastTimestamp"), now) if ev.get("lastTimestamp") else first
    count = ev.get("count") or 0
    if series:
        last = since(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif count == 0:
        count = 1
    if count > 1:
        return f"{last} (x{count} over {first})"
    return first if describe else last


# --- small accessors -----------------------------------------------------------------------------


def get_path(obj: Any, *path: str, default: Any = None) -> Any:
    cur = obj
    for p in path:
        if not isinstance(cur, Mapping):
            return default
        cur = cur.get(p)
        if cur is None:
            return default
    return cur


def meta_of(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def age(obj: Mapping[str, Any], now: float | None) -> str:
    return since(meta_of(obj).get("creationTimestamp"), now)


def or_none(s: str) -> str:
    return s if s else "<none>"


# --- pods and nodes ------------------------------------------------------------------------------


def _restartable_init(c: Mapping[str, Any] | None) -> bool:
    return bool(c) and c.get("restartPolicy") == "Always"


def pod_status(pod: Mapping[str, Any], now: float | None = None) -> tuple[str, str, str]:
    """kubectl's READY, STATUS and RESTARTS cells for a pod (printPod)."""
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    phase = status.get("phase") or ""
    reason = status.get("reason") or phase
    for cond in status.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"
    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    total = len(spec.get("containers") or []) + sum(1 for c in init_specs.values() if _restartable_init(c))
    ready = restarts = sidecar_restarts = 0
    last_restart: float | None = None
    sidecar_last_restart: float | None = None
    initializing = False
    init_statuses = status.get("initContainerStatuses") or []
    for i, cs in enumerate(init_statuses):
        restarts += int(cs.get("restartCount") or 0)
        finished = parse_time(get_path(cs, "lastState", "terminated", "finishedAt"))
        if finished is not None and (last_restart is None or finished > last_restart):
            last_restart = finished
        sidecar = _restartable_init(init_specs.get(cs.get("name")))
        if sidecar:
            sidecar_restarts += int(cs.get("restartCount") or 0)
            if finished is not None and (sidecar_last_restart is None or finished > sidecar_last_restart):
                sidecar_last_restart = finished
        state = cs.get("state") or {}
        term, waiting = state.get("terminated"), state.get("waiting")
        if term is not None and int(term.get("exitCode") or 0) == 0:
            continue
        if sidecar and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            if term.get("reason"):
                reason = "Init:" + term["reason"]
            elif term.get("signal"):
                reason = f"Init:Signal:{term['signal']}"
            else:
                reason = f"Init:ExitCode:{term.get('exitCode', 0)}"
        elif waiting is not None and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = "Init:" + waiting["reason"]
        else:
            reason = f"Init:{i}/{len(spec.get('initContainers') or [])}"
        initializing = True
        break
    initialized = any(c.get("type") == "Initialized" and c.get("status") == "True"
                      for c in status.get("conditions") or [])
    if not initializing or initialized:
        restarts, last_restart = sidecar_restarts, sidecar_last_restart
        has_running = False
        for cs in reversed(status.get("containerStatuses") or []):
            restarts += int(cs.get("restartCount") or 0)
            finished = parse_time(get_path(cs, "lastState", "terminated", "finishedAt"))
            if finished is not None and (last_restart is None or finished > last_restart):
                last_restart = finished
            state = cs.get("state") or {}
            waiting, term = state.get("waiting"), state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None and term.get("reason"):
                reason = term["reason"]
            elif term is not None:
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode', 0)}"
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            pod_ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                            for c in status.get("conditions") or [])
            reason = "Running" if pod_ready else "NotReady"
    deleting = meta_of(pod).get("deletionTimestamp") is not None
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    restarts_cell = str(restarts)
    if restarts and last_restart is not None:
        restarts_cell = f"{restarts} ({human_duration((time.time() if now is None else now) - last_restart)} ago)"
    return f"{ready}/{total}", reason, restarts_cell


def node_status(node: Mapping[str, Any]) -> str:
    """kubectl's STATUS for a node: Ready / NotReady / Unknown, plus SchedulingDisabled."""
    states = []
    for cond in get_path(node, "status", "conditions") or []:
        if cond.get("type") == "Ready":
            states = ["Ready" if cond.get("status") == "True" else "NotReady"]
    if not states:
        states = ["Unknown"]
    if get_path(node, "spec", "unschedulable"):
        states.append("SchedulingDisabled")
    return ",".join(states)


def node_roles(node: Mapping[str, Any]) -> str:
    roles = set()
    for key, value in (meta_of(node).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/") and key[len("node-role.kubernetes.io/"):]:
            roles.add(key[len("node-role.kubernetes.io/"):])
        elif key == "kubernetes.io/role" and value:
            roles.add(value)
    return ",".join(sorted(roles)) if roles else "<none>"
