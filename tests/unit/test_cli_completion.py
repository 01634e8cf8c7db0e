"""kube-tui completion: what TAB offers without a cluster (commands, flags, kinds, fixed words)."""

from __future__ import annotations

import subprocess
import sys

from tui.commands.completion import SCRIPTS, candidates


def test_commands_flags_kinds_and_words() -> None:
    assert candidates(1, ["kube-tui", "ge"]) == ["get"]
    assert "--sort-by" in candidates(2, ["kube-tui", "get", "--so"]) and "--show-kind" in candidates(
        2, ["kube-tui", "get", "--show"])
    assert candidates(2, ["kube-tui", "get", "dep"]) == ["deployments"]
    assert "persistentvolumeclaims" in candidates(2, ["kube-tui", "describe", ""])
    assert candidates(2, ["kube-tui", "rollout", "re"]) == ["restart", "resume"]
    assert candidates(3, ["kube-tui", "rollout", "status", "deploy"]) == ["deployments"]
    assert candidates(2, ["kube-tui", "completion", ""]) == ["bash", "zsh"]
    assert candidates(3, ["kube-tui", "get", "-o", ""]) == []  # a flag's value: the shell's own
    assert candidates(2, ["kube-tui", "nope", ""]) == []


def test_the_bash_script_asks_kube_tui_at_each_tab() -> None:
    out = subprocess.run([sys.executable, "-m", "tui.cli", "completion", "bash"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0 and out.stdout == SCRIPTS["bash"]
    assert 'kube-tui __complete "${COMP_CWORD}" "${COMP_WORDS[@]}"' in out.stdout
    assert "complete -o default -F _kube_tui_complete kube-tui" in out.stdout
