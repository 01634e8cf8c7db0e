"""`kube-tui explain` (tui/printers/explain.py) over the schemas kube-tui ships (control/api/openapi): kubectl
explain's layout, types and errors. tests/integration/test_rest.py compares it with the real kubectl."""

from __future__ import annotations

import pytest

from control.api import kinds, openapi
from tui.cli import main
from tui.printers.explain import ExplainError, explain


def test_every_kind_kube_tui_serves_has_its_schema() -> None:
    for info in kinds.KINDS.values():
        assert openapi.schema_of(info.api_version, info.kind), info.kind


def test_a_kind_its_fields_and_their_types() -> None:
    out = explain("v1", "Pod", [])
    assert out.startswith("KIND:       Pod\nVERSION:    v1\n\nDESCRIPTION:\n    Pod is a collection of containers")
    assert "\n  spec\t<PodSpec>\n    Specification of the desired behavior of the pod." in out
    spec = explain("v1", "Pod", ["spec"])
    assert spec.startswith("KIND:       Pod\nVERSION:    v1\n\nFIELD: spec <PodSpec>\n\n\nDESCRIPTION:\n")
    assert "  containers\t<[]Container> -required-\n" in spec  # a list of objects, and required
    assert "  nodeSelector\t<map[string]string>\n" in spec
    res = explain("v1", "Pod", ["spec", "containers", "resources"])
    assert "  limits\t<map[string]Quantity>\n" in res  # a ref to a non-object type keeps its name
    meta = explain("v1", "Pod", ["metadata", "creationTimestamp"])
    assert "FIELD: creationTimestamp <string>" in meta  # a ref to a string type is a string


def test_a_group_kind_and_recursive_fields() -> None:
    out = explain("apps/v1", "Deployment", ["spec", "strategy"], recursive=True)
    assert out.startswith("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\nFIELD: strategy <DeploymentStrategy>")
    assert "  rollingUpdate\t<RollingUpdateDeployment>\n    maxSurge\t<IntOrString>\n" in out


def test_descriptions_are_wrapped_at_kubectl_widths() -> None:
    out = explain("v1", "Pod", ["spec"])
    for line in out.splitlines():
        if " " in line.strip() and not line.startswith("    https://"):
            assert len(line) <= 80, line


def test_a_field_that_does_not_exist() -> None:
    with pytest.raises(ExplainError, match='error: field "nope" does not exist'):
        explain("v1", "Pod", ["spec", "nope"])
    with pytest.raises(ExplainError, match="not found in OpenAPI schema"):
        explain("v9", "Pod", [])


def test_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "po.spec.restartPolicy"]) == 0
    assert "FIELD: restartPolicy <string>" in capsys.readouterr().out
    assert main(["explain", "pods.spec.nope"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "KIND:       Pod\nVERSION:    v1\n\n" and 'error: field "nope" does not exist' in captured.err
    assert main(["explain", "widgets"]) == 1
    assert 'the server doesn\'t have a resource type "widgets"' in capsys.readouterr().err
