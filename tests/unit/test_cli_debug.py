"""kube-tui debug's pure parts: which pod it names, kubectl debug's forms it lacks, and its wait for the container."""

from __future__ import annotations

import pytest

from tui.cli import parse_args
from tui.commands.debug import NotStarted, target_pod, unsupported_flag, wait_started


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
    with pytest.raises(ValueError, match="only adds an ephemeral container to a pod; for node/n1, run the real kubectl"):
        target_pod("node/n1")


def test_kubectl_debugs_copy_flags_are_said_to_be_missing_not_unknown() -> None:
    assert unsupported_flag(parse_args(["debug", "web", "--image=busybox"])) is None
    for argv in (["--copy-to=web-debug"], ["--copy-to", "web-debug", "--same-node"], ["--replace"],
                 ["--set-image=*=busybox"], ["--share-processes"]):
        args = parse_args(["debug", "web", "--image=busybox", *argv])
        flag = argv[0].partition("=")[0]
        assert unsupported_flag(args) == (
            f"error: {flag} is not supported by kube-tui debug, which only adds an ephemeral container to the pod "
            "itself; for a copy of the pod, run the real kubectl debug against this cluster (the KUBECONFIG "
            "`kube-tui control` prints)")
    assert parse_args(["debug", "--replace", "web", "--image=busybox"]).pod == "web"  # a flag without a value


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
                            "(kubectl debug job-x --copy-to=job-x-debug ...)")
    with pytest.raises(NotStarted) as e:
        await wait_started(Pods(("Running", {})), "default", "web", "dbg", poll=0, timeout=0)  # type: ignore[arg-type]
    assert str(e.value) == ("error: timed out waiting for the condition (ephemeral container dbg of pod default/web is "
                            "not reported by node n1: is its kubelet running?)")
    with pytest.raises(NotStarted, match=r"dbg of pod default/web is waiting\)"):
        await wait_started(Pods(("Running", waiting)), "default", "web", "dbg", poll=0, timeout=0)  # type: ignore[arg-type]
