"""kube-tui replace's pure parts: what it sends for a manifest, kubectl's words for its errors and flags, -R."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from control.api.meta import LAST_APPLIED_ANNOTATION
from control.errors import ApiError, FieldError, conflict, invalid
from tui import manifests
from tui.cli import parse_args
from tui.commands.common import invalid_message, report, with_source
from tui.commands.replace import Printer, check, prepared

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}}


def doc(obj: dict, source: str = "cm.yaml") -> manifests.Manifest:
    return manifests.Manifest(source, 0, json.loads(json.dumps(obj)))


def test_the_object_gets_its_namespace_and_no_annotation_unless_asked() -> None:
    info, obj = prepared(doc(CM), None, False, "replacing")
    assert info.kind == "ConfigMap" and obj["metadata"] == {"name": "cfg", "namespace": "default"}
    _, obj = prepared(doc(CM), "team", False, "replacing")
    assert obj["metadata"]["namespace"] == "team"
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}
    assert prepared(doc(ns), "other", False, "replacing")[1]["metadata"] == {"name": "team"}  # cluster-scoped


def test_the_last_applied_annotation_is_kubectls_with_save_config_or_when_present() -> None:
    # kubectl's JSON: compact, keys sorted, the namespace it filled in, an empty annotations map kept
    _, obj = prepared(doc(CM), None, True, "replacing")
    assert obj["metadata"]["annotations"] == {LAST_APPLIED_ANNOTATION: (
        '{"apiVersion":"v1","data":{"a":"1"},"kind":"ConfigMap","metadata":{"annotations":{},"name":"cfg",'
        '"namespace":"default"}}\n')}
    stale = dict(CM, metadata={"name": "cfg", "annotations": {LAST_APPLIED_ANNOTATION: "old", "team": "x"}})
    _, obj = prepared(doc(stale), None, False, "replacing")
    assert obj["metadata"]["annotations"] == {"team": "x", LAST_APPLIED_ANNOTATION: (
        '{"apiVersion":"v1","data":{"a":"1"},"kind":"ConfigMap","metadata":{"annotations":{"team":"x"},"name":"cfg",'
        '"namespace":"default"}}\n')}


def test_a_manifest_that_cannot_be_sent_is_refused_in_kubectls_words() -> None:
    with pytest.raises(ValueError) as e:
        prepared(doc({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}), None, False, "x")
    assert str(e.value) == ('resource mapping not found for name: "w" namespace: "" from "cm.yaml": no matches for kind '
                            '"Widget" in version "example.com/v1"\nensure CRDs are installed first')
    with pytest.raises(ValueError, match='no matches for kind "Deployment" in version "v1"'):
        prepared(doc({"apiVersion": "v1", "kind": "Deployment", "metadata": {"name": "d"}}), None, False, "x")
    with pytest.raises(ValueError) as e:
        prepared(doc({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}), None, False, "replacing")
    assert str(e.value) == 'error when replacing "cm.yaml": resource name may not be empty'
    elsewhere = dict(CM, metadata={"name": "cfg", "namespace": "default"})
    with pytest.raises(ValueError) as e:
        prepared(doc(elsewhere), "other", False, "replacing")
    assert str(e.value) == ('the namespace from the provided object "default" does not match the namespace "other". '
                            "You must pass '--namespace=default' to perform this operation.")


def test_errors_print_as_kubectls_checkerr(capsys: pytest.CaptureFixture[str]) -> None:
    missing = with_source(ApiError(404, "NotFound", 'pods "web" not found'), "replacing", "pod.yaml")
    assert report([missing]) == 1
    assert capsys.readouterr().err == 'Error from server (NotFound): error when replacing "pod.yaml": pods "web" not found\n'
    stale = with_source(conflict("configmaps", "cfg"), "replacing", "cm.yaml")
    assert report([missing, stale, "resource mapping not found ..."]) == 1
    assert capsys.readouterr().err.splitlines() == [
        'Error from server (NotFound): error when replacing "pod.yaml": pods "web" not found',
        'Error from server (Conflict): error when replacing "cm.yaml": Operation cannot be fulfilled on configmaps '
        '"cfg": the object has been modified; please apply your changes to the latest version and try again',
        "resource mapping not found ...",
    ]
    report(["resource mapping not found ..."])
    assert capsys.readouterr().err == "error: resource mapping not found ...\n"  # alone: after "error: "
    assert report([]) == 0 and capsys.readouterr().err == ""


def test_an_invalid_error_alone_is_the_kind_and_its_causes() -> None:
    one = invalid("Pod", "web", [FieldError("spec", "Forbidden", "pod updates may not change fields")])
    assert invalid_message(with_source(one, "replacing", "pod.yaml")) == (
        'The Pod "web" is invalid: spec: Forbidden: pod updates may not change fields')
    two = invalid("Deployment", "d", [FieldError("spec.replicas", "Invalid value", "must be >= 0", -1),
                                      FieldError("metadata.name", "Required value")])
    assert invalid_message(two) == ('The Deployment "d" is invalid: \n* spec.replicas: Invalid value: -1: must be >= 0\n'
                                    "* metadata.name: Required value")
    assert invalid_message(ApiError(422, "Invalid", "bad")) == "The request is invalid: bad"


def test_yaml_documents_are_set_apart_and_name_is_kind_slash_name(capsys: pytest.CaptureFixture[str]) -> None:
    stored = dict(CM, metadata={"name": "cfg", "namespace": "default", "managedFields": [{}]})
    p = Printer("yaml")
    p.show(stored, "replaced")
    p.show(stored, "replaced")
    out = capsys.readouterr().out
    assert out.count("---\n") == 1 and out.startswith("apiVersion: v1\ndata:\n") and "managedFields" not in out
    Printer(None).show(stored, "replaced (server dry run)")
    Printer("name").show(stored, "replaced")
    assert capsys.readouterr().out == "configmap/cfg replaced (server dry run)\nconfigmap/cfg\n"


def flags(*words: str) -> argparse.Namespace:
    return parse_args(["replace", *words])


def test_flags_are_checked_in_kubectls_order_and_words(capsys: pytest.CaptureFixture[str]) -> None:
    assert check(flags()) == "error: must specify one of -f and -k"
    assert check(flags("--cascade=bogus")) == ('error: invalid cascade value (bogus). Must be "background", '
                                               '"foreground", or "orphan"')
    assert check(flags("-f", "x", "--grace-period=0")) == "error: --grace-period must have --force specified"
    assert check(flags("-f", "x", "--timeout=5s")) == "error: --timeout must have --force specified"
    assert check(flags("-f", "x", "--force", "--dry-run=server")) == "error: --dry-run can not be used when --force is set"
    assert check(flags("-f", "x", "--dry-run=maybe")) == ('error: Invalid dry-run value (maybe). Must be "none", '
                                                          '"server", or "client".')
    assert "Must be one of [status scale]" in check(flags("-f", "x", "--subresource=spec"))
    args = flags("-f", "x", "--dry-run", "--cascade=false", "--force", "--timeout=2m")
    assert check(args) == "error: --dry-run can not be used when --force is set"
    assert args.dry_run == "client" and args.policy == "Orphan" and args.timeout == 120.0
    assert "--cascade=false is deprecated" in capsys.readouterr().err
    assert check(flags("-f", "x", "--force", "--grace-period=0", "--wait")) == ""


def test_recursive_reads_subdirectories_in_kubectls_walk_order(tmp_path: Path) -> None:
    for rel in ("b.yaml", "a/x.json", "a.yaml", "c/deep/z.yml", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("")
    names = [str(p.relative_to(tmp_path)) for p in manifests.files_of([str(tmp_path)], recursive=True) if p]
    assert names == ["a/x.json", "a.yaml", "b.yaml", "c/deep/z.yml"]  # filepath.Walk: "a" before "a.yaml"
    assert [p.name for p in manifests.files_of([str(tmp_path)]) if p] == ["a.yaml", "b.yaml"]
