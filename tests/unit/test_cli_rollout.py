"""kube-tui rollout's command line, as kubectl rollout takes it: TYPE NAME or TYPE/NAME, a --timeout duration."""

from __future__ import annotations

import pytest

from tui.cli import parse_args
from tui.commands import rollout


def test_type_name_and_a_duration_timeout_as_kubectl() -> None:
    """`kubectl rollout status deploy web --timeout=20s` works; kube-tui refused both the second word and '20s'."""
    args = parse_args(["rollout", "status", "deploy", "web", "--timeout=20s"])
    assert (args.op, args.target, args.name, args.timeout) == ("status", "deploy", "web", 20.0)
    assert parse_args(["rollout", "status", "deploy/web"]).timeout == 0  # kubectl's default: no end


def test_type_given_twice_is_kubectls_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert rollout.run(parse_args(["rollout", "status", "deploy/web", "web"])) == 1
    assert capsys.readouterr().err == (
        "error: there is no need to specify a resource type as a separate argument when passing arguments in "
        "resource/name form (e.g. 'kube-tui get resource/<resource_name>' instead of "
        "'kube-tui get resource resource/<resource_name>'\n")


def test_history_ends_with_a_blank_line_as_kubectl(capsys: pytest.CaptureFixture[str]) -> None:
    rollout._print_history("deployment.apps/web", [(1, {"metadata": {}})])
    assert capsys.readouterr().out == "deployment.apps/web\nREVISION  CHANGE-CAUSE\n1         <none>\n\n"
