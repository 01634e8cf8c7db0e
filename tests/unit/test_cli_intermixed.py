"""Options anywhere on a command's line, as kubectl takes them; an unknown option is the command's error."""

from __future__ import annotations

import pytest

from tui.cli import parse_args


@pytest.mark.parametrize("argv, want", [
    (["get", "pods", "-o", "wide", "crashy"], {"kind": "pods", "names": ["crashy"], "output": "wide"}),
    (["get", "ds", "-n", "kube-system", "kube-proxy", "-o", "yaml"],
     {"kind": "ds", "names": ["kube-proxy"], "namespace": "kube-system", "output": "yaml"}),
    (["get", "-n", "kube-system", "ds", "a", "-o", "yaml", "b"],
     {"kind": "ds", "names": ["a", "b"], "namespace": "kube-system", "output": "yaml"}),
    (["describe", "pod", "-n", "mem-example", "memory-demo-2"],
     {"kind": "pod", "names": ["memory-demo-2"], "namespace": "mem-example"}),
    (["delete", "pod", "--grace-period", "0", "web", "--force", "db"],
     {"kind": "pod", "names": ["web", "db"], "grace_period": 0, "force": True}),
    (["run", "web", "sleep", "--image=busybox", "5"], {"name": "web", "image": "busybox", "args": ["sleep", "5"]}),
])
def test_options_between_the_words(argv: list[str], want: dict[str, object]) -> None:
    args = parse_args(argv)
    assert {k: getattr(args, k) for k in want} == want


def test_a_remainder_is_left_to_its_command() -> None:
    args = parse_args(["bench", "store", "--ops", "5"])  # bench NAME's own options, not bench's
    assert (args.bench, args.rest) == ("store", ["--ops", "5"])


@pytest.mark.parametrize("argv, unknown", [
    (["get", "pods", "--namesapce", "x"], "--namesapce x"),
    (["describe", "pod", "web", "--bogus"], "--bogus"),
    (["run", "web", "--image=busybox", "sleep", "--foo"], "--foo"),
])
def test_an_unknown_option_shows_the_commands_usage(argv: list[str], unknown: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    command = argv[0]
    assert err.startswith(f"usage: kube-tui {command} ")
    assert f"kube-tui {command}: error: unrecognized arguments: {unknown}" in err


def test_a_command_imports_only_its_own_module() -> None:
    """`kube-tui get` must not pay for the dashboard, the control plane and the describers: building every
    command's arguments imported them all and took each command about a second to start."""
    import subprocess
    import sys

    probe = ("import sys; from tui.cli import parse_args; a = parse_args(['get', 'pods', '-o', 'wide']); "
             "import tui.printers; "
             "print(a.command, a._module, sorted(m for m in ('control.plane', 'textual', 'tui.commands.control', "
             "'tui.commands.dashboard', 'tui.printers.describers', 'control.apiserver.handlers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split(None, 2) == ["get", "get", "[]\n"]
