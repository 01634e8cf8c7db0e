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


def test_the_remote_terminal_gets_the_size_of_ours_not_of_stale_columns_and_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """kubectl asks the terminal (term.GetSize); $COLUMNS and $LINES, exported once by a shell or a test runner,
    would give `stty size` in the pod a size the window does not have."""
    import fcntl
    import io
    import os
    import struct
    import sys
    import termios

    from tui.commands import exec as exec_cmd

    master, slave = os.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
        monkeypatch.setenv("COLUMNS", "80")
        monkeypatch.setenv("LINES", "24")
        with open(slave, "w", closefd=False) as tty_out:
            monkeypatch.setattr(sys, "stdout", tty_out)
            assert exec_cmd._terminal_size() == (33, 111)
        monkeypatch.setattr(sys, "stdout", io.StringIO())  # no terminal anywhere: the variables, as shutil's
        monkeypatch.setattr(sys, "stdin", io.StringIO())
        monkeypatch.setattr(sys, "stderr", io.StringIO())
        assert exec_cmd._terminal_size() == (24, 80)
    finally:
        os.close(master)
        os.close(slave)
