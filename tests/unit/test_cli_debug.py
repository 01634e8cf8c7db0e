"""kube-tui debug's pure parts: which pod it names, kubectl debug's forms it lacks, and its wait for the container."""

from __future__ import annotations

import pytest

from tui.cli import parse_args
from tui.commands.debug import (
    NotStarted,
    flag_errors,
    node_debug_pod,
    pod_copy,
    target,
    target_pod,
    wait_started,
)


def test_the_pod_is_named_plainly_or_as_pod_slash_name_and_other_kinds_are_refused_in_kubectls_words() -> None:
    assert [target_pod(a) for a in ("web", "pod/web", "pods/web", "po/web")] == ["web"] * 4
    with pytest.raises(ValueError) as e:
        target_pod("deploy/web")
    assert str(e.value) == 'error: "apps/v1, Kind=Deployment" not supported by debug'
    with pytest.raises(ValueError) as e:
        target_pod("svc/web")
    assert str(e.value) == 'error: "/v1, Kind=Service" not supported by debug'
    with pytest.raises(ValueError) as e:
        target_pod("widgets/w")
    assert str(e.value) == 'error: the server doesn\'t have a resource type "widgets"'
    assert [target(a) for a in ("node/n1", "nodes/n1", "no/n1")] == [("Node", "n1")] * 3


def test_a_nodes_debugging_pod_is_what_kubectl_debug_makes(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse_args(["debug", "node/n1", "--image=busybox", "-it", "--", "sh"])
    args.profile = "legacy"
    pod = node_debug_pod("n1", args)
    name = pod["metadata"]["name"]
    assert name.startswith("node-debugger-n1-") and len(name) == len("node-debugger-n1-") + 5
    assert capsys.readouterr().out == f"Creating debugging pod {name} with container debugger on node n1.\n"
    assert pod["spec"] == {
        "containers": [{"name": "debugger", "image": "busybox", "terminationMessagePolicy": "File", "stdin": True,
                        "tty": True, "command": ["sh"], "volumeMounts": [{"name": "host-root", "mountPath": "/host"}]}],
        "nodeName": "n1", "restartPolicy": "Never", "tolerations": [{"operator": "Exists"}],
        "volumes": [{"name": "host-root", "hostPath": {"path": "/"}}],
        "hostNetwork": True, "hostPID": True, "hostIPC": True}
    # baseline: none of the host; sysadmin: all of it, privileged
    args.profile, args.quiet = "baseline", True
    spec = node_debug_pod("n1", args)["spec"]
    assert "volumes" not in spec and "hostPID" not in spec and "securityContext" not in spec["containers"][0]
    args.profile = "sysadmin"
    spec = node_debug_pod("n1", args)["spec"]
    assert spec["hostPID"] and spec["volumes"] and spec["containers"][0]["securityContext"] == {"privileged": True}
    assert capsys.readouterr().out == ""  # -q


def test_kubectl_debugs_flag_rules_in_its_words() -> None:
    def refused(*argv: str) -> str | None:
        return flag_errors(parse_args(["debug", "web", *argv]))

    assert refused("--image=busybox") is None and refused("--copy-to=c") is None
    assert refused("--replace", "--image=b") == "error: --replace may only be used with --copy-to."
    assert refused("--same-node", "--image=b") == "error: --same-node may only be used with --copy-to."
    assert refused("--set-image=*=b", "--image=b") == "error: --set-image may only be used with --copy-to."
    assert refused() == "error: you must specify --image when not using --copy-to."
    assert refused("--copy-to=c", "--target=app", "--image=b") == \
        "error: --target is incompatible with --copy-to. Use --share-processes instead."
    assert refused("--keep-labels", "--image=b") is None  # accepted, and of no use, without --copy-to (as kubectl)
    assert parse_args(["debug", "--replace", "web", "--image=busybox"]).pod == "web"  # a flag without a value
    assert refused("--image=b", "--profile=bogus") == "error: unknown profile: bogus"
    # --attach as kubectl's: a Go bool, attaching (to the output only) without -i
    assert parse_args(["debug", "web", "--copy-to=c", "--attach=false", "-i"]).attach is False
    assert parse_args(["debug", "web", "--image=b", "--attach"]).attach is True


POD = {"metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}, "annotations": {"note": "x"}},
       "spec": {"nodeName": "n1", "initContainers": [{"name": "init", "image": "busybox"}],
                "containers": [{"name": "app", "image": "nginx", "args": ["-v"], "readinessProbe": {"exec": {}}}],
                "ephemeralContainers": [{"name": "old", "image": "busybox"}]},
       "status": {"phase": "Running"}}


def copy_of(*argv: str) -> tuple[dict, str]:
    args = parse_args(["debug", "web", *argv])
    args.profile = args.profile or "legacy"
    return pod_copy(POD, args)


def test_a_copy_of_the_pod_is_what_kubectl_debug_makes() -> None:
    # legacy (the default): the labels go (the copy joins no Service), the rest stays; a new debug container
    pod, name = copy_of("--copy-to=web-debug", "--image=busybox", "-c", "dbg", "-i", "--", "sh")
    assert name == "dbg" and pod["metadata"] == {"name": "web-debug", "namespace": "default",
                                                 "annotations": {"note": "x"}}
    spec = pod["spec"]
    assert "nodeName" not in spec and "ephemeralContainers" not in spec and spec["initContainers"]
    assert spec["containers"][1] == {"name": "dbg", "terminationMessagePolicy": "File", "command": ["sh"],
                                     "image": "busybox", "stdin": True}
    assert POD["spec"]["nodeName"] == "n1" and POD["metadata"]["labels"]  # the original is untouched
    # -c naming one of its containers: that container's command is replaced; --set-image; --same-node
    pod, name = copy_of("--copy-to=c", "-c", "app", "--set-image=*=busybox", "--same-node", "--", "sh", "-c", "x")
    app = pod["spec"]["containers"][0]
    assert name == "app" and (app["image"], app["command"], "args" in app) == ("busybox", ["sh", "-c", "x"], False)
    assert pod["spec"]["nodeName"] == "n1"
    # general: annotations, probes and init containers go too unless kept; processes shared; SYS_PTRACE
    pod, _ = copy_of("--copy-to=c", "--image=busybox", "-c", "dbg", "--profile=general", "--keep-annotations")
    assert pod["metadata"].get("annotations") == {"note": "x"} and "labels" not in pod["metadata"]
    assert "readinessProbe" not in pod["spec"]["containers"][0] and pod["spec"]["initContainers"]
    assert pod["spec"]["shareProcessNamespace"] is True
    assert pod["spec"]["containers"][1]["securityContext"] == {"capabilities": {"add": ["SYS_PTRACE"]}}
    pod, _ = copy_of("--copy-to=c", "--image=b", "-c", "d", "--profile=general", "--keep-init-containers=false",
                     "--share-processes=false", "--keep-labels")
    assert "initContainers" not in pod["spec"] and pod["spec"]["shareProcessNamespace"] is False
    assert pod["metadata"]["labels"] == {"app": "web"}
    # --set-image alone: a copy without a debug container; nothing to make one of: kubectl's refusal
    assert copy_of("--copy-to=c", "--set-image=app=busybox")[1] == ""
    with pytest.raises(ValueError, match="^error: you must specify image when creating new container$"):
        copy_of("--copy-to=c", "-c", "new")
    with pytest.raises(ValueError, match='invalid argument "busybox" for "--set-image" flag'):
        copy_of("--copy-to=c", "--set-image=busybox")


class Pods:
    """A client whose pod goes through the given states of its ephemeral container "dbg", one per get."""

    def __init__(self, *states: tuple[str | None, dict]) -> None:
        self.states = list(states)

    async def get(self, kind: str, name: str, ns: str) -> dict:
        phase, state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        return {"metadata": {"name": name, "namespace": ns}, "spec": {"nodeName": "n1"},
                "status": {"phase": phase, "ephemeralContainerStatuses": [{"name": "dbg", "state": state}]}}


PULL = {"waiting": {"reason": "ErrImagePull", "message": 'Failed to pull image "nope": not found'}}
BACKOFF = {"waiting": {"reason": "ImagePullBackOff", "message": 'Back-off pulling image "nope"'}}


async def test_the_wait_says_each_new_waiting_message_as_kubectl_debug_does(capsys: pytest.CaptureFixture[str]) -> None:
    client = Pods(("Running", {}), ("Running", PULL), ("Running", PULL), ("Running", BACKOFF),
                  ("Running", {"running": {}}))
    pod = await wait_started(client, "default", "web", "dbg", poll=0)  # type: ignore[arg-type]
    assert pod["status"]["ephemeralContainerStatuses"][0]["state"] == {"running": {}}
    assert capsys.readouterr().err == ('Warning: container dbg: Failed to pull image "nope": not found\n'
                                       'Warning: container dbg: Back-off pulling image "nope"\n')
    await wait_started(Pods(("Running", PULL), ("Running", {"running": {}})), "default", "web", "dbg",  # type: ignore[arg-type]
                       poll=0, quiet=True)
    assert capsys.readouterr().err == ""


async def test_the_wait_ends_at_once_for_a_completed_pod_and_says_why_it_timed_out() -> None:
    waiting = {"waiting": {"reason": "ContainerCreating"}}
    with pytest.raises(NotStarted) as e:
        await wait_started(Pods(("Running", waiting), ("Succeeded", waiting)), "default", "job-x", "dbg",  # type: ignore[arg-type]
                           poll=0, timeout=30)
    assert str(e.value) == ("error: pod default/job-x has completed (phase Succeeded): its kubelet starts no container "
                            "in it again, so ephemeral container dbg will not run; debug a copy of the pod instead "
                            "(kube-tui debug job-x --copy-to=job-x-debug ...)")
    with pytest.raises(NotStarted) as e:
        await wait_started(Pods(("Running", {})), "default", "web", "dbg", poll=0, timeout=0)  # type: ignore[arg-type]
    assert str(e.value) == ("error: timed out waiting for the condition (container dbg of pod default/web is "
                            "not reported by node n1: is its kubelet running?)")
    with pytest.raises(NotStarted, match=r"dbg of pod default/web is waiting\)"):
        await wait_started(Pods(("Running", waiting)), "default", "web", "dbg", poll=0, timeout=0)  # type: ignore[arg-type]
