"""`kube-tui port-forward`'s port specs, in kubectl's forms and with its refusals."""

from __future__ import annotations

import pytest

from tui.cli import parse_args
from tui.commands.portforward import SAME, parse_ports


def test_port_specs() -> None:
    assert parse_ports(["8080:80", "80", ":443", "0:443", "9000:http", "http"]) == [
        (8080, "80"), (SAME, "80"), (0, "443"), (0, "443"), (9000, "http"), (SAME, "http")]
    args = parse_args(["port-forward", "svc/web", "8080:80", "-n", "prod", "--address", "0.0.0.0"])
    assert (args.target, args.ports, args.namespace, args.address) == ("svc/web", ["8080:80"], "prod", "0.0.0.0")


@pytest.mark.parametrize("spec, words", [
    ("8080:", "remote port must be > 0"),
    ("70000", "remote port must be > 0 and < 65536"),
    ("x:80", 'invalid local port "x"'),
    ("-1:80", 'invalid local port "-1"'),
    ("80:0", "remote port must be > 0"),
])
def test_bad_port_specs_are_refused_in_kubectls_words(spec: str, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        parse_ports([spec])
