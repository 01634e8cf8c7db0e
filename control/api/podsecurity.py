"""Pod Security Standards, as kube-apiserver's PodSecurity admission plugin (k8s.io/pod-security-admission)
checks them: a namespace's pod-security.kubernetes.io labels, the baseline and restricted checks with their
words, and how their results become one message.

The checks are those of Kubernetes v1.30 (the version kube-tui serves), each with the policy versions it
applies from; `latest`, and any version newer than the newest check, evaluate as the newest. They run in
PSA's order: the baseline checks by ID, then the restricted ones by ID; at restricted, a restricted check
replaces the baseline check it overrides (capabilities, seccomp, hostPath volumes)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

PRIVILEGED, BASELINE, RESTRICTED = "privileged", "baseline", "restricted"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)
MODES = ("enforce", "audit", "warn")
PREFIX = "pod-security.kubernetes.io/"
LATEST = (1, 1 << 30)  # newer than any v1.N, as api.Version's latest

_VERSION = re.compile(r"^v1\.([0-9]|[1-9][0-9]*)$")

Version = tuple[int, int]


@dataclass(frozen=True)
class LevelVersion:
    level: str = PRIVILEGED
    version: Version = LATEST

    def __str__(self) -> str:
        return f"{self.level}:{version_str(self.version)}"


@dataclass(frozen=True)
class Policy:
    enforce: LevelVersion = LevelVersion()
    audit: LevelVersion = LevelVersion()
    warn: LevelVersion = LevelVersion()

    def fully_privileged(self) -> bool:
        return all(lv.level == PRIVILEGED for lv in (self.enforce, self.audit, self.warn))


@dataclass(frozen=True)
class LabelError:
    """field.Invalid on metadata.labels[<label>]: what the namespace's label validation reports."""

    label: str
    value: str
    detail: str


def version_str(v: Version) -> str:
    return "latest" if v == LATEST else f"v{v[0]}.{v[1]}"


def policy_for(labels: Mapping[str, str] | None) -> tuple[Policy, list[LabelError]]:
    """api.PolicyToEvaluate with the default configuration (privileged:latest for every mode): an invalid
    enforce level reads as restricted, an invalid audit or warn level as privileged (they fail open), an
    invalid version as latest; each invalid label is reported."""
    labels = labels or {}
    errs: list[LabelError] = []
    out: dict[str, LevelVersion] = {}
    for mode in MODES:
        level, version = PRIVILEGED, LATEST
        if (key := PREFIX + mode) in labels:
            value = labels[key]
            if value in LEVELS:
                level = value
            else:
                errs.append(LabelError(key, value, "must be one of " + ", ".join(LEVELS)))
                level = RESTRICTED if mode == "enforce" else PRIVILEGED
        if (key := f"{PREFIX}{mode}-version") in labels:
            value = labels[key]
            m = _VERSION.match(value)
            if value == "latest":
                version = LATEST
            elif m:
                version = (1, int(m.group(1)))
            else:
                errs.append(LabelError(key, value, 'must be "latest" or "v1.x"'))
        out[mode] = LevelVersion(level, version)
    return Policy(**out), errs


def stricter(a: str, b: str) -> int:
    """api.CompareLevels: 1 if a is stricter than b, -1 if less strict, 0 if the same."""
    return (LEVELS.index(a) > LEVELS.index(b)) - (LEVELS.index(a) < LEVELS.index(b))


# -- the checks ------------------------------------------------------------------------------------------------

Result = tuple[str, str] | None  # (forbidden reason, detail) of a failed check; None when it allows the pod
CheckFn = Callable[[Mapping[str, Any], Mapping[str, Any]], Result]


@dataclass(frozen=True)
class Check:
    id: str
    level: str
    versions: tuple[tuple[Version, CheckFn], ...]  # (minimum version, check), oldest first
    overrides: tuple[str, ...] = ()  # baseline checks this restricted check replaces


def pluralize(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def join_quote(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def go_quote(s: str) -> str:
    """Go's %q of a plain string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def _containers(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """visitContainers: init containers, then containers, then ephemeral containers."""
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            if isinstance(c, Mapping):
                yield c


def _sc(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    sc = obj.get("securityContext")
    return sc if isinstance(sc, Mapping) else {}


def _sub(obj: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    v = obj.get(key)
    return v if isinstance(v, Mapping) else None


def _name(c: Mapping[str, Any]) -> str:
    return str(c.get("name") or "")


def _setters(pod_bad: bool, containers: list[str]) -> list[str]:
    """'pod' and/or 'container(s) "a", "b"': who set a forbidden value."""
    out = ["pod"] if pod_bad else []
    if containers:
        out.append(f'{pluralize("container", "containers", len(containers))} {join_quote(containers)}')
    return out


def _windows(spec: Mapping[str, Any]) -> bool:
    return (_sub(spec, "os") or {}).get("name") == "windows"


def _skip_windows(check: CheckFn) -> CheckFn:
    """The 1.25 revision of a restricted check: a pod whose spec.os.name is windows is exempt."""
    def check_125(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
        return None if _windows(spec) else check(md, spec)
    return check_125


def allow_privilege_escalation(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    bad = [_name(c) for c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False]
    if bad:
        return ("allowPrivilegeEscalation != false",
                f"{pluralize('container', 'containers', len(bad))} {join_quote(bad)} must set "
                "securityContext.allowPrivilegeEscalation=false")
    return None


APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"


def app_armor_profile(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    def allowed(profile: Mapping[str, Any] | None) -> bool:
        return profile is None or profile.get("type") in ("RuntimeDefault", "Localhost")

    bad_values: set[str] = set()
    pod_profile = _sub(_sc(spec), "appArmorProfile")
    pod_bad = not allowed(pod_profile)
    if pod_bad:
        bad_values.add(str((pod_profile or {}).get("type") or ""))
    bad_containers = []
    for c in _containers(spec):
        profile = _sub(_sc(c), "appArmorProfile")
        if not allowed(profile):
            bad_containers.append(_name(c))
            bad_values.add(str((profile or {}).get("type") or ""))
    setters = _setters(pod_bad, bad_containers)
    annotations = sorted(f"{k}={go_quote(str(v))}" for k, v in (md.get("annotations") or {}).items()
                         if k.startswith(APPARMOR_ANNOTATION)
                         and not (v in ("", "runtime/default") or str(v).startswith("localhost/")))
    values = sorted(bad_values) + annotations
    if annotations:
        setters.append(pluralize("annotation", "annotations", len(annotations)))
    if setters:
        return (pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
                f"{' and '.join(setters)} must not set AppArmor profile type to {join_quote(values)}")
    return None


CAPABILITIES_ALLOWED = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                        "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}


def _capabilities(c: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return _sub(_sc(c), "capabilities")


def capabilities_baseline(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    bad, caps = [], set()
    for c in _containers(spec):
        added = [str(a) for a in (_capabilities(c) or {}).get("add") or []]
        extra = [a for a in added if a not in CAPABILITIES_ALLOWED]
        if extra:
            bad.append(_name(c))
            caps.update(extra)
    if bad:
        return ("non-default capabilities",
                f"{pluralize('container', 'containers', len(bad))} {join_quote(bad)} must not include "
                f"{join_quote(sorted(caps))} in securityContext.capabilities.add")
    return None


def capabilities_restricted(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    no_drop_all, adding, caps = [], [], set()
    for c in _containers(spec):
        capabilities = _capabilities(c)
        if capabilities is None:
            no_drop_all.append(_name(c))
            continue
        if "ALL" not in (capabilities.get("drop") or []):
            no_drop_all.append(_name(c))
        extra = [str(a) for a in capabilities.get("add") or [] if a != "NET_BIND_SERVICE"]
        if extra:
            adding.append(_name(c))
            caps.update(extra)
    details = []
    if no_drop_all:
        details.append(f"{pluralize('container', 'containers', len(no_drop_all))} {join_quote(no_drop_all)} "
                       'must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{pluralize('container', 'containers', len(adding))} {join_quote(adding)} must not "
                       f"include {join_quote(sorted(caps))} in securityContext.capabilities.add")
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def host_namespaces(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    used = sorted(k for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k) is True)
    return ("host namespaces", ", ".join(used)) if used else None


def host_path_volumes(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    bad = [str(v.get("name") or "") for v in spec.get("volumes") or [] if isinstance(v, Mapping) and v.get("hostPath")
           is not None]
    return ("hostPath volumes", f"{pluralize('volume', 'volumes', len(bad))} {join_quote(bad)}") if bad else None


def host_ports(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    bad, ports = [], set()
    for c in _containers(spec):
        used = [str(p.get("hostPort")) for p in c.get("ports") or [] if isinstance(p, Mapping) and p.get("hostPort")]
        if used:
            bad.append(_name(c))
            ports.update(used)
    if bad:
        return ("hostPort", f"{pluralize('container', 'containers', len(bad))} {join_quote(bad)} "
                f"{pluralize('uses', 'use', len(bad))} {pluralize('hostPort', 'hostPorts', len(ports))} "
                f"{', '.join(sorted(ports))}")
    return None


def privileged(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    bad = [_name(c) for c in _containers(spec) if _sc(c).get("privileged") is True]
    if bad:
        return ("privileged", f"{pluralize('container', 'containers', len(bad))} {join_quote(bad)} must not set "
                "securityContext.privileged=true")
    return None


def proc_mount(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    bad, types = [], set()
    for c in _containers(spec):
        pm = _sc(c).get("procMount")
        if pm is not None and pm != "Default":
            bad.append(_name(c))
            types.add(str(pm))
    if bad:
        return ("procMount", f"{pluralize('container', 'containers', len(bad))} {join_quote(bad)} must not set "
                f"securityContext.procMount to {join_quote(sorted(types))}")
    return None


ALLOWED_VOLUME_TYPES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                        "projected", "secret")
# the restricted volume types by the name PSA gives each (its order of cases: the first one set names it)
RESTRICTED_VOLUME_TYPES = (("hostPath", "hostPath"), ("gcePersistentDisk", "gcePersistentDisk"),
                           ("awsElasticBlockStore", "awsElasticBlockStore"), ("gitRepo", "gitRepo"),
                           ("nfs", "nfs"), ("iscsi", "iscsi"), ("glusterfs", "glusterfs"), ("rbd", "rbd"),
                           ("flexVolume", "flexVolume"), ("cinder", "cinder"), ("cephfs", "cephfs"),
                           ("flocker", "flocker"), ("fc", "fc"), ("azureFile", "azureFile"),
                           ("vsphereVolume", "vsphereVolume"), ("quobyte", "quobyte"), ("azureDisk", "azureDisk"),
                           ("photonPersistentDisk", "photonPersistentDisk"), ("portworxVolume", "portworxVolume"),
                           ("scaleIO", "scaleIO"), ("storageos", "storageos"))


def restricted_volumes(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    bad, types = [], set()
    for v in spec.get("volumes") or []:
        if not isinstance(v, Mapping) or any(v.get(t) is not None for t in ALLOWED_VOLUME_TYPES):
            continue
        bad.append(str(v.get("name") or ""))
        types.add(next((name for key, name in RESTRICTED_VOLUME_TYPES if v.get(key) is not None), "unknown"))
    if bad:
        return ("restricted volume types",
                f"{pluralize('volume', 'volumes', len(bad))} {join_quote(bad)} {pluralize('uses', 'use', len(bad))} "
                f"{pluralize('restricted volume type', 'restricted volume types', len(types))} "
                f"{join_quote(sorted(types))}")
    return None


def run_as_non_root(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    pod_value = _sc(spec).get("runAsNonRoot")
    pod_bad, pod_non_root = pod_value is False, pod_value is True
    explicit, implicit = [], []
    for c in _containers(spec):
        value = _sc(c).get("runAsNonRoot")
        if value is not None:
            if value is False:
                explicit.append(_name(c))
        elif not pod_non_root:
            implicit.append(_name(c))
    if setters := _setters(pod_bad, explicit):
        return ("runAsNonRoot != true", f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false")
    if implicit:
        return ("runAsNonRoot != true", f"pod or {pluralize('container', 'containers', len(implicit))} "
                f"{join_quote(implicit)} must set securityContext.runAsNonRoot=true")
    return None


def run_as_user(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    def root(obj: Mapping[str, Any]) -> bool:
        uid = _sc(obj).get("runAsUser")
        return uid == 0 and not isinstance(uid, bool)

    bad = [_name(c) for c in _containers(spec) if root(c)]
    pod_bad = root(spec)
    if setters := _setters(pod_bad, bad):
        return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0")
    return None


SELINUX_TYPES = ("", "container_t", "container_init_t", "container_kvm_t")


def se_linux_options(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    bad_types: set[str] = set()
    set_user = set_role = False

    def valid(opts: Mapping[str, Any]) -> bool:
        nonlocal set_user, set_role
        ok = True
        if (t := str(opts.get("type") or "")) not in SELINUX_TYPES:
            ok = False
            bad_types.add(t)
        if opts.get("user"):
            ok, set_user = False, True
        if opts.get("role"):
            ok, set_role = False, True
        return ok

    pod_opts = _sub(_sc(spec), "seLinuxOptions")
    pod_bad = pod_opts is not None and not valid(pod_opts)
    bad = [_name(c) for c in _containers(spec)
           if (opts := _sub(_sc(c), "seLinuxOptions")) is not None and not valid(opts)]
    if setters := _setters(pod_bad, bad):
        data = []
        if bad_types:
            data.append(f"{pluralize('type', 'types', len(bad_types))} {join_quote(sorted(bad_types))}")
        if set_user:
            data.append("user may not be set")
        if set_role:
            data.append("role may not be set")
        return ("seLinuxOptions",
                f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}")
    return None


SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"


def _seccomp_type(obj: Mapping[str, Any]) -> tuple[bool, str]:
    """(whether securityContext.seccompProfile is set, its type)."""
    profile = _sub(_sc(obj), "seccompProfile")
    return profile is not None, str((profile or {}).get("type") or "")


def _valid_seccomp(t: str) -> bool:
    return t in ("Localhost", "RuntimeDefault")


def seccomp_profile_baseline_1_0(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    annotations = md.get("annotations") or {}

    def bad(key: str) -> bool:
        v = str(annotations[key])
        return key in annotations and not (v in ("runtime/default", "docker/default") or v.startswith("localhost/"))

    keys = [SECCOMP_POD_ANNOTATION, *(SECCOMP_CONTAINER_ANNOTATION + _name(c) for c in _containers(spec))]
    forbidden = sorted({f"{k}={go_quote(str(annotations[k]))}" for k in keys if k in annotations and bad(k)})
    if forbidden:
        return ("seccompProfile",
                f"forbidden {pluralize('annotation', 'annotations', len(forbidden))} {', '.join(forbidden)}")
    return None


def _seccomp_explicitly_bad(spec: Mapping[str, Any]) -> tuple[bool, list[str], list[str], set[str]]:
    """(pod sets a bad type, containers that do, containers that set none, the bad types)."""
    values: set[str] = set()
    pod_set, pod_type = _seccomp_type(spec)
    pod_bad = pod_set and not _valid_seccomp(pod_type)
    if pod_bad:
        values.add(pod_type)
    explicit, unset = [], []
    for c in _containers(spec):
        is_set, t = _seccomp_type(c)
        if not is_set:
            unset.append(_name(c))
        elif not _valid_seccomp(t):
            explicit.append(_name(c))
            values.add(t)
    return pod_bad, explicit, unset, values


def seccomp_profile_baseline_1_19(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    pod_bad, explicit, _, values = _seccomp_explicitly_bad(spec)
    if setters := _setters(pod_bad, explicit):
        return ("seccompProfile", f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to "
                f"{join_quote(sorted(values))}")
    return None


def seccomp_profile_restricted(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    if result := seccomp_profile_baseline_1_19(md, spec):
        return result
    pod_set, pod_type = _seccomp_type(spec)
    if pod_set and _valid_seccomp(pod_type):
        return None
    _, _, unset, _ = _seccomp_explicitly_bad(spec)
    if unset:
        return ("seccompProfile", f"pod or {pluralize('container', 'containers', len(unset))} {join_quote(unset)} "
                'must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')
    return None


SYSCTLS_1_0 = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                         "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"})
SYSCTLS_1_27 = SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SYSCTLS_1_29 = SYSCTLS_1_27 | {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                               "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}


def _sysctls(allowed: frozenset[str]) -> CheckFn:
    def check(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
        bad = [str(s.get("name")) for s in _sc(spec).get("sysctls") or []
               if isinstance(s, Mapping) and s.get("name") not in allowed]
        return ("forbidden sysctls", ", ".join(bad)) if bad else None
    return check


def windows_host_process(md: Mapping[str, Any], spec: Mapping[str, Any]) -> Result:
    def host_process(obj: Mapping[str, Any]) -> bool:
        return (_sub(_sc(obj), "windowsOptions") or {}).get("hostProcess") is True

    bad = [_name(c) for c in _containers(spec) if host_process(c)]
    if setters := _setters(host_process(spec), bad):
        return ("hostProcess", f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true")
    return None


CHECKS = (
    Check("allowPrivilegeEscalation", RESTRICTED,
          (((1, 8), allow_privilege_escalation), ((1, 25), _skip_windows(allow_privilege_escalation)))),
    Check("appArmorProfile", BASELINE, (((1, 0), app_armor_profile),)),
    Check("capabilities_baseline", BASELINE, (((1, 0), capabilities_baseline),)),
    Check("capabilities_restricted", RESTRICTED,
          (((1, 22), capabilities_restricted), ((1, 25), _skip_windows(capabilities_restricted))),
          overrides=("capabilities_baseline",)),
    Check("hostNamespaces", BASELINE, (((1, 0), host_namespaces),)),
    Check("hostPathVolumes", BASELINE, (((1, 0), host_path_volumes),)),
    Check("hostPorts", BASELINE, (((1, 0), host_ports),)),
    Check("privileged", BASELINE, (((1, 0), privileged),)),
    Check("procMount", BASELINE, (((1, 0), proc_mount),)),
    Check("restrictedVolumes", RESTRICTED, (((1, 0), restricted_volumes),), overrides=("hostPathVolumes",)),
    Check("runAsNonRoot", RESTRICTED, (((1, 0), run_as_non_root),)),
    Check("runAsUser", RESTRICTED, (((1, 23), run_as_user),)),
    Check("seLinuxOptions", BASELINE, (((1, 0), se_linux_options),)),
    Check("seccompProfile_baseline", BASELINE,
          (((1, 0), seccomp_profile_baseline_1_0), ((1, 19), seccomp_profile_baseline_1_19))),
    Check("seccompProfile_restricted", RESTRICTED,
          (((1, 19), seccomp_profile_restricted), ((1, 25), _skip_windows(seccomp_profile_restricted))),
          overrides=("seccompProfile_baseline",)),
    Check("sysctls", BASELINE, (((1, 0), _sysctls(SYSCTLS_1_0)), ((1, 27), _sysctls(SYSCTLS_1_27)),
                                ((1, 29), _sysctls(SYSCTLS_1_29)))),
    Check("windowsHostProcess", BASELINE, (((1, 0), windows_host_process),)),
)
MAX_VERSION: Version = max(v for c in CHECKS for v, _ in c.versions)


def _at(check: Check, version: Version) -> CheckFn | None:
    """The revision of a check for a policy version: the newest whose minimum version it reaches."""
    found = None
    for minimum, fn in check.versions:
        if minimum <= version:
            found = fn
    return found


def checks_for(lv: LevelVersion) -> list[tuple[str, CheckFn]]:
    """checkRegistry.EvaluatePod's list: the baseline checks sorted by ID, then (at restricted) the restricted
    ones, with the baseline checks a restricted check overrides at that version left out."""
    if lv.level == PRIVILEGED:
        return []
    version = min(lv.version, MAX_VERSION)
    baseline = sorted(((c.id, fn) for c in CHECKS if c.level == BASELINE and (fn := _at(c, version))),
                      key=lambda found: found[0])
    if lv.level == BASELINE:
        return baseline
    restricted = sorted(((c, fn) for c in CHECKS if c.level == RESTRICTED and (fn := _at(c, version))),
                        key=lambda found: found[0].id)
    overridden = {o for c, _ in restricted for o in c.overrides}
    return [(i, fn) for i, fn in baseline if i not in overridden] + [(c.id, fn) for c, fn in restricted]


@dataclass
class Aggregate:
    """AggregateCheckResult: every failed check's reason and detail, in the checks' order."""

    reasons: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.reasons

    def forbidden_reason(self) -> str:
        return ", ".join(self.reasons)

    def forbidden_detail(self) -> str:
        return ", ".join(f"{r} ({d})" if d else r for r, d in zip(self.reasons, self.details, strict=True))


def evaluate(lv: LevelVersion, md: Mapping[str, Any] | None, spec: Mapping[str, Any] | None) -> Aggregate:
    """The pod (its metadata and spec, or a template's) against one level and version."""
    out = Aggregate()
    md = md if isinstance(md, Mapping) else {}
    spec = spec if isinstance(spec, Mapping) else {}
    for _, check in checks_for(lv):
        if (result := check(md, spec)) is not None:
            out.reasons.append(result[0] or "unknown forbidden reason")
            out.details.append(result[1])
    return out


def pod_template(obj: Mapping[str, Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """DefaultPodSpecExtractor: a workload's pod template (metadata, spec); None when it has none."""
    spec = obj.get("spec")
    if obj.get("kind") == "CronJob":
        spec = ((spec or {}).get("jobTemplate") or {}).get("spec") if isinstance(spec, Mapping) else None
    template = spec.get("template") if isinstance(spec, Mapping) else None
    if not isinstance(template, Mapping):
        return None
    return template.get("metadata") or {}, template.get("spec") or {}


# -- admission ---------------------------------------------------------------------------------------------


@dataclass
class Decision:
    """What PodSecurity answers for one pod or template: the refusal (enforce), the warning (warn), and the
    audit annotation (audit) that kube-apiserver would put on the request's audit event."""

    forbidden: str = ""
    warning: str = ""
    audit: str = ""
    errors: list[LabelError] = field(default_factory=list)


def admit(labels: Mapping[str, str] | None, md: Mapping[str, Any] | None, spec: Mapping[str, Any] | None, *,
          enforce: bool) -> Decision:
    """Admission.EvaluatePod for a namespace's labels: enforce only for a pod (a workload's template is
    warned about and audited, never refused); an evaluation shared by modes of the same level and version;
    no warning on a request that is refused."""
    if not labels or not any(k.startswith(PREFIX) for k in labels):
        return Decision(errors=[])  # privileged:latest for every mode, as most namespaces are: nothing to check
    policy, errs = policy_for(labels)
    out = Decision(errors=errs)
    if not errs and (policy.fully_privileged() or (not enforce and policy.warn.level == PRIVILEGED
                                                     and policy.audit.level == PRIVILEGED)):
        return out
    cache: dict[LevelVersion, Aggregate] = {}

    def result(lv: LevelVersion) -> Aggregate:
        if lv not in cache:
            cache[lv] = evaluate(lv, md, spec)
        return cache[lv]

    if enforce and not (r := result(policy.enforce)).allowed:
        out.forbidden = f"violates PodSecurity {go_quote(str(policy.enforce))}: {r.forbidden_detail()}"
    if not (r := result(policy.audit)).allowed:
        out.audit = f"would violate PodSecurity {go_quote(str(policy.audit))}: {r.forbidden_detail()}"
    if not out.forbidden and not (r := result(policy.warn)).allowed:
        out.warning = f"would violate PodSecurity {go_quote(str(policy.warn))}: {r.forbidden_detail()}"
    return out


def label_errors(new: Mapping[str, str] | None, old: Mapping[str, str] | None) -> list[LabelError]:
    """ValidateNamespace's label check: a create needs valid labels; an update, valid labels unless the
    invalid ones are the same as before (a namespace labelled before PSA ran is not locked)."""
    _, errs = policy_for(new)
    if not errs or (old is not None and policy_for(old)[1] == errs):
        return []
    return errs


MAX_PODS_TO_CHECK = 3000  # defaultNamespaceMaxPodsToCheck


def enforce_warnings(namespace: str, new: Mapping[str, str] | None, old: Mapping[str, str] | None,
                     list_pods: Callable[[], list[Mapping[str, Any]]]) -> list[str]:
    """ValidateNamespace on an update: when the enforce level is made stricter (or its version changes), the
    namespace's pods (listed only then) are checked against it and each violation is warned about, pods with
    the same violations on one line (the lexically first name, and how many others)."""
    new_policy, _ = policy_for(new)
    old_policy, _ = policy_for(old)
    lv, was = new_policy.enforce, old_policy.enforce
    if lv == was or lv.level == PRIVILEGED or (lv.version == was.version and stricter(lv.level, was.level) < 1):
        return []
    # prioritizePods: one pod per controller first, the other replicas after
    seen_owners: set[str] = set()
    first, replicas = [], []
    for pod in list_pods():
        owner = next((r.get("uid") for r in (pod.get("metadata") or {}).get("ownerReferences") or []
                      if isinstance(r, Mapping) and r.get("controller")), None)
        if owner is None or owner not in seen_owners:
            first.append(pod)
            if owner is not None:
                seen_owners.add(owner)
        else:
            replicas.append(pod)
    ordered = first + replicas
    total, ordered = len(ordered), ordered[:MAX_PODS_TO_CHECK]
    counts: dict[str, tuple[str, int]] = {}  # violation -> (first pod name, pods with it)
    for pod in ordered:
        r = evaluate(lv, pod.get("metadata"), pod.get("spec"))
        if r.allowed:
            continue
        name = str((pod.get("metadata") or {}).get("name") or "")
        reason = r.forbidden_reason()
        first_name, n = counts.get(reason, (name, 0))
        counts[reason] = (min(first_name, name), n + 1)
    warnings = []
    if len(ordered) < total:
        warnings.append(f"new PodSecurity enforce level only checked against the first {len(ordered)} of {total} "
                        "existing pods")
    if counts:
        warnings.append(f"existing pods in namespace {go_quote(namespace)} violate the new PodSecurity enforce level "
                        f"{go_quote(str(lv))}")
    lines = []
    for reason, (name, n) in counts.items():
        others = "" if n == 1 else " (and 1 other pod)" if n == 2 else f" (and {n - 1} other pods)"
        lines.append(f"{name}{others}: {reason}")
    return warnings + sorted(lines)




def significant_update(new: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    """isSignificantPodUpdate: a pod update is checked again only when what PSA looks at can have changed
    (other pod fields are immutable): a container added or removed, an image, a container's seccomp
    annotation, an ephemeral container added."""
    def spec(p: Mapping[str, Any]) -> Mapping[str, Any]:
        s = p.get("spec")
        return s if isinstance(s, Mapping) else {}

    def annotations(p: Mapping[str, Any]) -> Mapping[str, Any]:
        return (p.get("metadata") or {}).get("annotations") or {}

    def changed(c: Mapping[str, Any], o: Mapping[str, Any]) -> bool:
        key = SECCOMP_CONTAINER_ANNOTATION + _name(c)
        return c.get("image") != o.get("image") or annotations(new).get(key) != annotations(old).get(key)

    for key in ("containers", "initContainers"):
        now, was = spec(new).get(key) or [], spec(old).get(key) or []
        if len(now) != len(was) or any(changed(c, o) for c, o in zip(now, was, strict=True)):
            return True
    before = {_name(c): c for c in spec(old).get("ephemeralContainers") or []}
    return any(_name(c) not in before or changed(c, before[_name(c)]) for c in spec(new).get("ephemeralContainers") or [])
