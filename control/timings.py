"""Cluster timings: Kubernetes' defaults, which a cluster file may shorten so failure shows in seconds."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass
class Timings:
    lease_duration: float = 40.0  # node Lease leaseDurationSeconds; renewed every lease_duration / 4
    node_monitor_period: float = 5.0  # how often the node lifecycle controller looks
    node_monitor_grace_period: float = 40.0  # silent this long -> NotReady / Unknown
    eviction_timeout: float = 300.0  # the tolerationSeconds admission gives pods for not-ready / unreachable
    backoff_base: float = 10.0  # CrashLoopBackOff / ImagePullBackOff base, doubling
    backoff_max: float = 300.0
    volume_resync: float = 10.0  # how often a node rewrites configMap/secret/downwardAPI volumes from their sources
    scheduler_backoff: float = 1.0  # scheduler's pod back-off base (max 10x)
    event_ttl: int = 3600  # seconds an Event is kept
    # kube-controller-manager's --horizontal-pod-autoscaler-* flags
    hpa_sync_period: float = 15.0  # how often each HorizontalPodAutoscaler is reconciled
    hpa_downscale_stabilization: float = 300.0  # the scale-down window when behavior does not set one
    hpa_cpu_initialization_period: float = 300.0  # a new pod's CPU samples are doubted this long
    hpa_initial_readiness_delay: float = 30.0  # unready this soon after start: never ready yet
    resource_quota_sync: float = 300.0  # --resource-quota-sync-period: every quota recounted this often

    @classmethod
    def from_dict(cls, d: dict | None) -> Timings:
        """From a cluster file's `timings:` map; keys in camelCase or snake_case, values in seconds."""
        t = cls()
        if not d:
            return t
        names = {f.name: f for f in fields(cls)}
        for key, value in d.items():
            snake = "".join("_" + c.lower() if c.isupper() else c for c in key)
            snake = snake.removesuffix("_seconds")
            if snake not in names:
                raise ValueError(
                    f"timings.{key}: unknown timing; known: {', '.join(sorted(names))}"
                )
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"timings.{key}: must be a positive number of seconds, got {value!r}")
            setattr(t, snake, type(getattr(t, snake))(value))
        return t

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}
