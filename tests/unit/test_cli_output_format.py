"""-o of create, apply and run as kubectl's printer flags take it (tui/commands/common.py output_format)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.commands.common import output_format


def test_kubectl_formats_pass_and_a_template_file_is_read(tmp_path: Path) -> None:
    assert [output_format(o) for o in (None, "", "yaml", "json", "name", "jsonpath={.a}")] == \
        [None, "", "yaml", "json", "name", "jsonpath={.a}"]
    (tmp_path / "t").write_text("{.metadata.name}")
    assert output_format(f"jsonpath-file={tmp_path}/t") == "jsonpath={.metadata.name}"


@pytest.mark.parametrize(("output", "message"), [
    ("wide", 'unable to match a printer suitable for the output format "wide", allowed formats are: '
             "json,jsonpath,jsonpath-file,name,yaml"),
    ("custom-columns=A:.a", 'unable to match a printer suitable for the output format "custom-columns=A:.a", '
                            "allowed formats are: json,jsonpath,jsonpath-file,name,yaml"),
    ("jsonpath={.a", "error parsing jsonpath {.a, unclosed action in template '{.a'"),
    ("jsonpath-file=/nonexistent/t", "error reading --template /nonexistent/t, open /nonexistent/t: "
                                     "no such file or directory"),
])
def test_what_kubectl_refuses_is_refused_in_its_words(output: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        output_format(output)
    assert str(e.value) == message
