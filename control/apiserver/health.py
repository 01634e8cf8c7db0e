"""/livez, /readyz and /healthz: kube-apiserver's health endpoints, each check a real look at what it names.

As k8s.io/apiserver's healthz package: `ok` when every check passes; with `?verbose` one `[+]name ok` line per
check and `livez check passed`; on a failure 500 with every line (`[-]name failed: reason withheld`) and
`livez check failed`; `?exclude=name` skips a check (`[+]name excluded: ok`); `/livez/NAME` runs one check
(`ok`, or 500 `internal server error: REASON`). Checks:

- ping: the server answers at all.
- log: the log handlers flush.
- etcd (and readyz's etcd-readiness): the store is open for reads and writes.
- poststarthook/...: a bootstrap step of the API server has finished (the Api object records each).
- shutdown (readyz only): fails once the server has begun to stop, so a load balancer stops sending to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from control.apiserver.handlers import Api

ENDPOINTS = ("livez", "readyz", "healthz")
Check = tuple[str, Callable[[], str | None]]  # a name, and a look that gives the reason it fails (None: ok)


def checks(endpoint: str, api: Api, stopping: Callable[[], bool]) -> list[Check]:
    """The checks of one endpoint, in kube-apiserver's order."""
    out: list[Check] = [("ping", lambda: None), ("log", _log), ("etcd", api.store.health)]
    if endpoint == "readyz":
        out.append(("etcd-readiness", api.store.health))
    for hook in api.post_start_hooks:
        out.append((f"poststarthook/{hook}", lambda hook=hook: None if api.post_start_hooks[hook] else "not finished"))
    if endpoint == "readyz":
        out.append(("shutdown", lambda: "process is shutting down" if stopping() else None))
    return out


def _log() -> str | None:
    try:
        for handler in logging.getLogger().handlers:
            handler.flush()
    except Exception as e:  # a log that cannot be written: a disk full, a closed terminal
        return f"logging blocked: {e}"
    return None


def answer(parts: list[str], query: dict[str, list[str]], api: Api, stopping: Callable[[], bool]) -> tuple[int, str]:
    """The status and text/plain body of GET /ENDPOINT[/CHECK] (parts: the path's segments)."""
    endpoint, name = parts[0], "/".join(parts[1:])
    known = checks(endpoint, api, stopping)
    if name:
        for check_name, look in known:
            if check_name == name:
                reason = look()
                return (500, f"internal server error: {reason}\n") if reason else (200, "ok")
        return 404, "404 page not found\n"
    excluded = {x for v in query.get("exclude", []) for x in v.split(",") if x}
    lines, failed = [], False
    for check_name, look in known:
        if check_name in excluded:
            excluded.discard(check_name)
            lines.append(f"[+]{check_name} excluded: ok\n")
            continue
        reason = look()
        if reason:
            logging.getLogger(__name__).warning("%s check %s failed: %s", endpoint, check_name, reason)
            lines.append(f"[-]{check_name} failed: reason withheld\n")
            failed = True
        else:
            lines.append(f"[+]{check_name} ok\n")
    if excluded:
        quoted = ",".join(f'"{x}"' for x in sorted(excluded))
        lines.append(f"warn: some health checks cannot be excluded: no matches for {quoted}\n")
    if failed:
        return 500, "".join(lines) + f"{endpoint} check failed\n"
    if "verbose" not in query:
        return 200, "ok"
    return 200, "".join(lines) + f"{endpoint} check passed\n"
