"""Pod Security admission: each check's words (PSA's own test cases, k8s.io/pod-security-admission/policy),
the order and format of the aggregated message, the namespace labels' parsing and validation, and the
warnings about existing pods when a namespace's enforce level is tightened."""

from __future__ import annotations

from typing import Any

import pytest

from control.api import podsecurity as psa
from control.api.podsecurity import LevelVersion

AA = "container.apparmor.security.beta.kubernetes.io/"


def c(name: str, **sc: Any) -> dict[str, Any]:
    """A container named `name` with securityContext `sc` (none when empty)."""
    return {"name": name, **({"securityContext": sc} if sc else {})}


def spec(*containers: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"containers": list(containers), **fields}


def fails(check: psa.CheckFn, spec: dict, md: dict | None = None) -> tuple[str, str]:
    result = check(md or {}, spec)
    assert result is not None, "expected disallowed"
    return result


def restricted_pod(name: str = "c") -> dict[str, Any]:
    """A pod the restricted profile admits."""
    return spec(c(name, allowPrivilegeEscalation=False, capabilities={"drop": ["ALL"]}, runAsNonRoot=True,
                  seccompProfile={"type": "RuntimeDefault"}))


# -- each check, with PSA's test cases ---------------------------------------------------------------------------


def test_allow_privilege_escalation() -> None:
    s = spec(c("a"), c("b", allowPrivilegeEscalation=True), c("c", allowPrivilegeEscalation=False))
    assert fails(psa.allow_privilege_escalation, s) == (
        "allowPrivilegeEscalation != false",
        'containers "a", "b" must set securityContext.allowPrivilegeEscalation=false')


def test_app_armor_profile_fields_and_annotations() -> None:
    unconfined = {"type": "Unconfined"}
    assert fails(psa.app_armor_profile, spec(securityContext={"appArmorProfile": unconfined})) == (
        "forbidden AppArmor profile", 'pod must not set AppArmor profile type to "Unconfined"')
    s = {"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}, "containers": [c("foo")],
         "initContainers": [c("bar", appArmorProfile=unconfined)]}
    assert fails(psa.app_armor_profile, s) == (
        "forbidden AppArmor profile", 'container "bar" must not set AppArmor profile type to "Unconfined"')
    md = {"annotations": {AA: "bogus", AA + "a": "", AA + "b": "runtime/default", AA + "c": "localhost/",
                          AA + "d": "localhost/foo", AA + "e": "unconfined", AA + "f": "unknown", "env": "prod"}}
    assert fails(psa.app_armor_profile, spec(), md) == (
        "forbidden AppArmor profiles",
        "annotations must not set AppArmor profile type to " + ", ".join(
            [f'"{AA}="bogus""', f'"{AA}e="unconfined""', f'"{AA}f="unknown""']))
    assert psa.app_armor_profile({"annotations": {AA + "x": "localhost/p"}}, spec()) is None


def test_capabilities_baseline() -> None:
    s = spec(c("a", capabilities={"add": ["FOO", "BAR"]}), c("b", capabilities={"add": ["BAR", "BAZ"]}),
             c("c", capabilities={"add": ["CHOWN"]}))
    assert fails(psa.capabilities_baseline, s) == (
        "non-default capabilities",
        'containers "a", "b" must not include "BAR", "BAZ", "FOO" in securityContext.capabilities.add')


def test_capabilities_restricted() -> None:
    s = spec(c("a", capabilities={"add": ["FOO", "BAR"]}), c("b", capabilities={"add": ["BAR", "BAZ"]}),
             c("c", capabilities={"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL", "FOO"]}))
    assert fails(psa.capabilities_restricted, s) == (
        "unrestricted capabilities",
        'containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; containers "a", "b", "c" must not '
        'include "BAR", "BAZ", "CHOWN", "FOO" in securityContext.capabilities.add')


def test_host_namespaces_host_path_and_host_ports() -> None:
    assert fails(psa.host_namespaces, spec(hostPID=True, hostNetwork=True, hostIPC=True)) == (
        "host namespaces", "hostIPC, hostNetwork, hostPID")
    volumes = [{"name": "a", "hostPath": {"path": "/"}}, {"name": "b", "emptyDir": {}}, {"name": "c", "hostPath": {}}]
    assert fails(psa.host_path_volumes, spec(volumes=volumes)) == ("hostPath volumes", 'volumes "a", "c"')
    one = spec({"name": "a", "ports": [{"hostPort": 0}]}, {"name": "b", "ports": [{"hostPort": 0}, {"hostPort": 20}]})
    assert fails(psa.host_ports, one) == ("hostPort", 'container "b" uses hostPort 20')
    many = spec({"name": "a", "ports": [{"hostPort": 0}]},
                {"name": "b", "ports": [{"hostPort": 0}, {"hostPort": 10}, {"hostPort": 20}]},
                {"name": "c", "ports": [{"hostPort": 0}, {"hostPort": 10}, {"hostPort": 30}]})
    assert fails(psa.host_ports, many) == ("hostPort", 'containers "b", "c" use hostPorts 10, 20, 30')


def test_privileged_proc_mount_and_host_process() -> None:
    s = spec(c("a", privileged=False), c("b", privileged=True), c("c", privileged=True))
    assert fails(psa.privileged, s) == ("privileged", 'containers "b", "c" must not set securityContext.privileged=true')
    s = spec(c("a", procMount="Default"), c("b", procMount="Unmasked"), c("c", procMount="other"))
    assert fails(psa.proc_mount, s) == (
        "procMount", 'containers "b", "c" must not set securityContext.procMount to "Unmasked", "other"')
    s = spec(c("a", windowsOptions={"hostProcess": True}), securityContext={"windowsOptions": {"hostProcess": True}})
    assert fails(psa.windows_host_process, s) == (
        "hostProcess", 'pod and container "a" must not set securityContext.windowsOptions.hostProcess=true')


def test_restricted_volumes() -> None:
    allowed = [{"name": f"a{i}", t: {}} for i, t in enumerate(psa.ALLOWED_VOLUME_TYPES)]
    restricted = [{"name": f"b{i + 1}", key: {}} for i, (key, _) in enumerate(psa.RESTRICTED_VOLUME_TYPES)]
    names = ", ".join(f'"b{i + 1}"' for i in range(len(restricted)))
    result = fails(psa.restricted_volumes, spec(volumes=[*allowed, *restricted, {"name": "c1"}]))
    assert result == (
        "restricted volume types",
        f'volumes {names}, "c1" use restricted volume types "awsElasticBlockStore", "azureDisk", "azureFile", '
        '"cephfs", "cinder", "fc", "flexVolume", "flocker", "gcePersistentDisk", "gitRepo", "glusterfs", "hostPath", '
        '"iscsi", "nfs", "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", '
        '"unknown", "vsphereVolume"')
    assert fails(psa.restricted_volumes, spec(volumes=[{"name": "h", "hostPath": {}}])) == (
        "restricted volume types", 'volume "h" uses restricted volume type "hostPath"')


def test_run_as_non_root_and_run_as_user() -> None:
    assert fails(psa.run_as_non_root, spec(c("a"))) == (
        "runAsNonRoot != true", 'pod or container "a" must set securityContext.runAsNonRoot=true')
    s = spec(c("a", runAsNonRoot=False), c("b", runAsNonRoot=False), c("c"), securityContext={"runAsNonRoot": False})
    assert fails(psa.run_as_non_root, s) == (
        "runAsNonRoot != true", 'pod and containers "a", "b" must not set securityContext.runAsNonRoot=false')
    assert psa.run_as_non_root({}, spec(c("a"), c("b", runAsNonRoot=True), securityContext={"runAsNonRoot": True})) is None
    s = spec(c("a", runAsUser=0), c("b", runAsUser=1000), securityContext={"runAsUser": 0})
    assert fails(psa.run_as_user, s) == ("runAsUser=0", 'pod and container "a" must not set runAsUser=0')
    assert psa.run_as_user({}, spec(c("a", runAsUser=False))) is None  # not a uid


def test_se_linux_options() -> None:
    s = spec(*(c(n, seLinuxOptions={"type": t}) for n, t in
               (("a", "container_t"), ("b", "container_init_t"), ("c", "container_kvm_t"), ("e", "bar"))),
             c("f", seLinuxOptions={"user": "bar"}), c("g", seLinuxOptions={"role": "baz"}),
             securityContext={"seLinuxOptions": {"type": "foo", "user": "bar", "role": "baz"}})
    assert fails(psa.se_linux_options, s) == (
        "seLinuxOptions", 'pod and containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: '
        'types "bar", "foo"; user may not be set; role may not be set')
    assert fails(psa.se_linux_options, spec(securityContext={"seLinuxOptions": {"user": "bad"}})) == (
        "seLinuxOptions", "pod set forbidden securityContext.seLinuxOptions: user may not be set")


def test_seccomp_profile_restricted_and_baseline() -> None:
    assert fails(psa.seccomp_profile_restricted, spec(c("a"))) == (
        "seccompProfile", 'pod or container "a" must set securityContext.seccompProfile.type to "RuntimeDefault" or '
        '"Localhost"')
    unconfined = {"type": "Unconfined"}
    assert fails(psa.seccomp_profile_restricted, spec(c("a"), securityContext={"seccompProfile": unconfined})) == (
        "seccompProfile", 'pod must not set securityContext.seccompProfile.type to "Unconfined"')
    rd = {"type": "RuntimeDefault"}
    s = spec(c("a"), c("b"), c("c", seccompProfile=unconfined), c("d", seccompProfile=unconfined),
             c("e", seccompProfile=rd), securityContext={"seccompProfile": rd})
    assert fails(psa.seccomp_profile_restricted, s) == (
        "seccompProfile", 'containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"')
    s = spec(c("a"), {"name": "b", "securityContext": {}}, c("d", seccompProfile=rd))
    assert fails(psa.seccomp_profile_restricted, s) == (
        "seccompProfile", 'pod or containers "a", "b" must set securityContext.seccompProfile.type to '
        '"RuntimeDefault" or "Localhost"')
    assert psa.seccomp_profile_baseline_1_19({}, spec(c("a"))) is None  # baseline: unset is fine
    md = {"annotations": {psa.SECCOMP_POD_ANNOTATION: "unconfined",
                          psa.SECCOMP_CONTAINER_ANNOTATION + "a": "localhost/x"}}
    assert fails(psa.seccomp_profile_baseline_1_0, spec(c("a")), md) == (
        "seccompProfile", 'forbidden annotation seccomp.security.alpha.kubernetes.io/pod="unconfined"')


def test_sysctls_by_version() -> None:
    s = spec(securityContext={"sysctls": [{"name": "a"}, {"name": "kernel.shm_rmid_forced"},
                                          {"name": "net.ipv4.tcp_keepalive_time"}, {"name": "b"}]})
    assert psa.evaluate(LevelVersion("baseline", (1, 28)), {}, s).forbidden_detail() == (
        "forbidden sysctls (a, net.ipv4.tcp_keepalive_time, b)")
    assert psa.evaluate(LevelVersion("baseline", psa.LATEST), {}, s).forbidden_detail() == "forbidden sysctls (a, b)"


# -- levels, versions and the aggregated message -------------------------------------------------------------


def test_the_docs_pod_against_restricted_latest() -> None:
    r = psa.evaluate(LevelVersion("restricted"), {}, spec({"name": "nginx", "image": "nginx"}))
    assert r.forbidden_detail() == (
        'allowPrivilegeEscalation != false (container "nginx" must set securityContext.allowPrivilegeEscalation=false), '
        'unrestricted capabilities (container "nginx" must set securityContext.capabilities.drop=["ALL"]), '
        'runAsNonRoot != true (pod or container "nginx" must set securityContext.runAsNonRoot=true), '
        'seccompProfile (pod or container "nginx" must set securityContext.seccompProfile.type to "RuntimeDefault" '
        'or "Localhost")')
    assert r.forbidden_reason() == "allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, "\
        "seccompProfile"
    assert psa.evaluate(LevelVersion("baseline"), {}, spec(c("nginx"))).allowed
    assert psa.evaluate(LevelVersion("privileged"), {}, spec(c("x", privileged=True))).allowed


def test_baseline_checks_come_first_and_restricted_ones_replace_theirs() -> None:
    s = spec(c("x", privileged=True, capabilities={"add": ["SYS_ADMIN"]}), hostNetwork=True,
             volumes=[{"name": "h", "hostPath": {"path": "/"}}])
    base = psa.evaluate(LevelVersion("baseline"), {}, s)
    assert base.reasons == ["non-default capabilities", "host namespaces", "hostPath volumes", "privileged"]
    strict = psa.evaluate(LevelVersion("restricted"), {}, s)
    assert strict.reasons == ["host namespaces", "privileged", "allowPrivilegeEscalation != false",
                              "unrestricted capabilities", "restricted volume types", "runAsNonRoot != true",
                              "seccompProfile"]
    # before v1.22 restricted had no capabilities check of its own: the baseline one runs
    old = psa.evaluate(LevelVersion("restricted", (1, 21)), {}, s)
    assert "non-default capabilities" in old.reasons and "unrestricted capabilities" not in old.reasons
    # versions newer than the newest check evaluate as it
    assert psa.evaluate(LevelVersion("restricted", (1, 99)), {}, s).reasons == strict.reasons


def test_windows_pods_are_exempt_from_the_linux_only_restricted_checks_from_v1_25() -> None:
    s = spec(c("w", runAsNonRoot=True), os={"name": "windows"})
    assert psa.evaluate(LevelVersion("restricted"), {}, s).allowed
    assert psa.evaluate(LevelVersion("restricted", (1, 24)), {}, s).reasons == [
        "allowPrivilegeEscalation != false", "unrestricted capabilities", "seccompProfile"]


def test_restricted_pod_passes() -> None:
    assert psa.evaluate(LevelVersion("restricted"), {}, restricted_pod()).allowed


# -- namespace labels ------------------------------------------------------------------------------------------------


def test_labels_parse_with_defaults_and_fallbacks() -> None:
    policy, errs = psa.policy_for({})
    assert policy.fully_privileged() and not errs
    policy, errs = psa.policy_for({"pod-security.kubernetes.io/enforce": "baseline",
                                   "pod-security.kubernetes.io/enforce-version": "v1.25",
                                   "pod-security.kubernetes.io/warn": "restricted"})
    assert (str(policy.enforce), str(policy.warn), str(policy.audit)) == (
        "baseline:v1.25", "restricted:latest", "privileged:latest")
    policy, errs = psa.policy_for({"pod-security.kubernetes.io/enforce": "bogus",
                                   "pod-security.kubernetes.io/warn": "bogus",
                                   "pod-security.kubernetes.io/audit-version": "1.25"})
    # an invalid enforce level fails closed, an invalid warn or audit level fails open
    assert (str(policy.enforce), str(policy.warn)) == ("restricted:latest", "privileged:latest")
    assert [(e.label, e.value, e.detail) for e in errs] == [
        ("pod-security.kubernetes.io/enforce", "bogus", "must be one of privileged, baseline, restricted"),
        ("pod-security.kubernetes.io/audit-version", "1.25", 'must be "latest" or "v1.x"'),
        ("pod-security.kubernetes.io/warn", "bogus", "must be one of privileged, baseline, restricted")]
    for bad in ("v2.0", "v1.01", "latest2", ""):
        assert psa.policy_for({"pod-security.kubernetes.io/enforce-version": bad})[1], bad


def test_invalid_labels_are_refused_unless_unchanged() -> None:
    bad = {"pod-security.kubernetes.io/enforce": "bogus"}
    assert psa.label_errors(bad, None)
    assert psa.label_errors(bad, {})
    assert psa.label_errors(bad, bad) == []  # a namespace labelled before is not locked
    assert psa.label_errors({**bad, "other": "x"}, bad) == []


# -- admission decisions ---------------------------------------------------------------------------------------


def test_enforce_refuses_pods_warn_warns_audit_is_recorded() -> None:
    labels = {"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted",
              "pod-security.kubernetes.io/audit": "restricted"}
    pod = spec(c("nginx"))
    d = psa.admit(labels, {}, pod, enforce=True)
    assert not d.forbidden
    assert d.warning.startswith('would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false')
    assert d.audit == d.warning
    d = psa.admit(labels, {}, spec(c("nginx", privileged=True)), enforce=True)
    assert d.forbidden == ('violates PodSecurity "baseline:latest": privileged (container "nginx" must not set '
                           "securityContext.privileged=true)")
    assert not d.warning  # no warning on a request that is refused
    # a workload's template is never refused, only warned about
    d = psa.admit(labels, {}, spec(c("nginx", privileged=True)), enforce=False)
    assert not d.forbidden and d.warning.startswith('would violate PodSecurity "restricted:latest": privileged')
    assert psa.admit({}, {}, spec(c("x", privileged=True)), enforce=True) == psa.Decision()


def test_pod_template_of_each_workload() -> None:
    template = {"metadata": {"labels": {"a": "b"}}, "spec": spec(c("x"))}
    for kind in ("Deployment", "ReplicaSet", "DaemonSet", "StatefulSet", "Job"):
        assert psa.pod_template({"kind": kind, "spec": {"template": template}}) == ({"labels": {"a": "b"}},
                                                                                    spec(c("x")))
    cj = {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": template}}}}
    assert psa.pod_template(cj) == ({"labels": {"a": "b"}}, spec(c("x")))
    assert psa.pod_template({"kind": "Deployment", "spec": {}}) is None


def pod_named(name: str, owner: str | None = None, **sc: Any) -> dict[str, Any]:
    md: dict[str, Any] = {"name": name}
    if owner:
        md["ownerReferences"] = [{"uid": owner, "controller": True}]
    return {"metadata": md, "spec": spec(c("c", **sc))}


def test_existing_pods_warnings_when_enforce_is_tightened() -> None:
    pods = [pod_named("web-2", "rs1"), pod_named("web-1", "rs1"), pod_named("solo", privileged=True),
            {"metadata": {"name": "ok"}, "spec": restricted_pod()}, pod_named("web-3", "rs1")]
    new = {"pod-security.kubernetes.io/enforce": "restricted"}
    assert psa.enforce_warnings("example", new, {}, lambda: pods) == [
        'existing pods in namespace "example" violate the new PodSecurity enforce level "restricted:latest"',
        "solo: privileged, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, "
        "seccompProfile",
        "web-1 (and 2 other pods): allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, "
        "seccompProfile"]
    assert psa.enforce_warnings("example", new, new, lambda: pods) == []  # unchanged
    assert psa.enforce_warnings("example", {"pod-security.kubernetes.io/enforce": "baseline"}, new, lambda: pods) == []
    assert psa.enforce_warnings("example", {"pod-security.kubernetes.io/enforce": "privileged"}, {}, lambda: pods) == []
    assert psa.enforce_warnings("example", new, {}, lambda: pods[3:4]) == []  # nothing violates it
    two = psa.enforce_warnings("example", {"pod-security.kubernetes.io/enforce": "baseline"}, {},
                               lambda: [pod_named("b", privileged=True), pod_named("a", privileged=True)])
    assert two[1] == "a (and 1 other pod): privileged"
    # a version change alone is checked again, even at a level no stricter
    looser = {"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "v1.0"}
    assert psa.enforce_warnings("example", looser, new, lambda: pods)


def test_significant_pod_updates() -> None:
    old = {"metadata": {}, "spec": spec({"name": "a", "image": "nginx"})}
    same = {"metadata": {"labels": {"x": "y"}}, "spec": spec({"name": "a", "image": "nginx"})}
    assert not psa.significant_update(same, old)
    assert psa.significant_update({"metadata": {}, "spec": spec({"name": "a", "image": "busybox"})}, old)
    debugged = {"metadata": {}, "spec": {**spec({"name": "a", "image": "nginx"}),
                                         "ephemeralContainers": [{"name": "debugger", "image": "busybox"}]}}
    assert psa.significant_update(debugged, old)
    assert not psa.significant_update(debugged, debugged)


@pytest.mark.parametrize("level", ["baseline", "restricted"])
def test_a_pod_spec_without_containers_passes(level: str) -> None:
    r = psa.evaluate(LevelVersion(level), {}, {})
    assert r.allowed  # no containers: nothing to refuse
