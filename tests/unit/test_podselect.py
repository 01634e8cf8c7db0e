"""The container kubectl logs/exec/attach use when -c is not given, and how kubectl names the others."""

from __future__ import annotations

import pytest

from tui.commands.attach import reattach_message
from tui.commands.podselect import all_container_names, default_container


def multi(**annotations: str) -> dict:
    return {"metadata": {"name": "multi", "annotations": annotations},
            "spec": {"initContainers": [{"name": "setup"}], "containers": [{"name": "main"}, {"name": "side"}],
                     "ephemeralContainers": [{"name": "dbg"}]}}


def test_the_first_container_unless_the_annotation_names_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert all_container_names(multi()) == "main, side, dbg (ephem), setup (init)"  # kubectl 1.32's order
    assert default_container(multi()) == "main"
    assert capsys.readouterr().err == 'Defaulted container "main" out of: main, side, dbg (ephem), setup (init)\n'
    assert default_container(multi(), quiet=True) == "main" and capsys.readouterr().err == ""
    assert default_container(multi(**{"kubectl.kubernetes.io/default-container": "side"})) == "side"
    assert default_container(multi(**{"kubectl.kubernetes.io/default-container": "nope"})) == "main"
    capsys.readouterr()
    one = {"metadata": {"name": "one"}, "spec": {"containers": [{"name": "c"}]}}
    assert default_container(one) == "c" and capsys.readouterr().err == ""  # nothing to say of a lone container


def test_a_terminal_session_says_how_to_come_back_when_the_pod_restarts_it() -> None:
    pod = multi()
    assert reattach_message(pod, "main", stdin=True, tty=True, quiet=False) == (
        "Session ended, resume using 'kube-tui attach multi -c main -i -t' command when the pod is running")
    assert reattach_message(pod, "dbg", stdin=True, tty=True, quiet=False).startswith(
        "Session ended, the ephemeral container will not be restarted but may be reattached")
    assert reattach_message(pod, "main", stdin=True, tty=False, quiet=False) == ""
    pod["spec"]["restartPolicy"] = "Never"
    assert reattach_message(pod, "main", stdin=True, tty=True, quiet=False) == ""
