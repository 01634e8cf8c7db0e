"""`kube-tui exec`'s command line, in kubectl's forms: options before or after POD, the command after --."""

from __future__ import annotations

import pytest

from tui.cli import parse_args


@pytest.mark.parametrize("argv, container, command", [
    (["exec", "web", "--", "sh", "-c", "echo hi"], None, ["sh", "-c", "echo hi"]),
    (["exec", "web", "-c", "main", "--", "ls", "-l"], "main", ["ls", "-l"]),
    (["exec", "-c", "main", "web", "--", "echo", "first"], "main", ["echo", "first"]),
    (["exec", "web", "-c", "main", "--timeout", "5", "--", "true"], "main", ["true"]),
    (["exec", "web", "--", "grep", "--", "-x", "f"], None, ["grep", "--", "-x", "f"]),  # a -- of the command's own
    (["exec", "web", "--server", "tcp://127.0.0.1:7070", "--", "ls"], None, ["ls"]),
    (["-v", "exec", "web", "--", "grep", "--", "-x"], None, ["grep", "--", "-x"]),  # after a global option too
])
def test_exec_takes_kubectls_forms(argv: list[str], container: str | None, command: list[str]) -> None:
    args = parse_args(argv)
    assert args.argv == command
    assert args.pod == "web" and args.container == container and args.command == "exec"


@pytest.mark.parametrize("argv, args", [
    (["run", "web", "--image=busybox", "--", "sh", "-c", "sleep 5"], ["sh", "-c", "sleep 5"]),
    (["run", "web", "--image=busybox", "sleep", "5"], ["sleep", "5"]),  # kubectl takes them without -- too
    (["run", "web", "sleep", "--image=busybox", "--", "--", "x"], ["sleep", "--", "x"]),
])
def test_run_takes_every_word_after_name_as_args(argv: list[str], args: list[str]) -> None:
    assert parse_args(argv).args == args
