"""kube-tui create service: --tcp and --node-port read as kubectl v1.32 reads them (parsePorts, pflag's CSV and
Go's strconv), each refusal in its words."""

from __future__ import annotations

import argparse

import pytest

from tui.cli import parse_args
from tui.commands.imperative import _go_parse_int, _read_csv, go_quote, service_from_flags, service_port


def test_ports_as_parse_ports_reads_them() -> None:
    assert service_port("80") == (80, 80)
    assert service_port("5678:8080") == (5678, 8080)
    assert service_port("00080:08080") == (80, 8080)
    assert service_port("443:https") == (443, "https")
    assert service_port("80:8080:9") == (80, 8080)  # a third part is not read
    assert service_port("80:+5") == (80, 5)  # strconv.Atoi takes a sign
    assert service_port("0") == (0, 0)  # ParsePort allows 0; the API server refuses it
    for spec, said in (("+80", 'strconv.ParseUint: parsing "+80": invalid syntax'),
                       ("", 'strconv.ParseUint: parsing "": invalid syntax'),
                       ("65536", 'strconv.ParseUint: parsing "65536": value out of range'),
                       ("80:-1", "must be between 1 and 65535, inclusive"),
                       ("80:a--b", "must not contain consecutive hyphens"),
                       ("80:99999999999999999999", "must be no more than 15 characters,"
                                                   "must contain at least one letter (a-z)")):
        with pytest.raises(ValueError) as e:
            service_port(spec)
        assert str(e.value) == f"error: {said}", spec


def test_tcp_is_one_csv_record_and_node_port_is_go_base_0() -> None:
    assert _read_csv("tcp", "80,443:https") == ["80", "443:https"]
    assert _read_csv("tcp", '"8""0",443') == ['8"0', "443"]
    assert _read_csv("tcp", "80,") == ["80", ""] and _read_csv("tcp", "") == []
    for value, column, what in (('"80', 4, 'extraneous or missing " in quoted-field'),
                                ('"80"x', 4, 'extraneous or missing " in quoted-field'),
                                (' "80"', 2, 'bare " in non-quoted-field')):
        with pytest.raises(ValueError) as e:
            _read_csv("tcp", value)
        assert str(e.value) == (f'error: invalid argument {go_quote(value)} for "--tcp" flag: parse error on line 1, '
                                f"column {column}: {what}")
    assert [_go_parse_int("node-port", v) for v in ("30080", "0x7531", "030000", "0b1", "1_000", "-5")] == [
        30080, 30001, 12288, 1, 1000, -5]
    for value, what in (("abc", "invalid syntax"), (" 5", "invalid syntax"), ("08", "invalid syntax"),
                        ("99999999999999999999", "value out of range")):
        with pytest.raises(ValueError, match=what):
            _go_parse_int("node-port", value)


def _args(*argv: str) -> argparse.Namespace:
    return parse_args(["create", "service", *argv])


def test_the_service_built_and_what_comes_first() -> None:
    a = _args("nodeport", "web", "--tcp=80", "--node-port=4294967297")  # int32(4294967297) is 1, as kubectl sends it
    svc = service_from_flags(a, a.name, a.argv)
    assert svc["spec"]["ports"] == [{"name": "80", "protocol": "TCP", "port": 80, "targetPort": 80, "nodePort": 1}]
    assert svc["metadata"] == {"name": "web", "creationTimestamp": None, "labels": {"app": "web"}}
    # the NAMEs are the words before `--`, as cobra's ArgsLenAtDash counts them
    a = _args("clusterip", "--tcp=80", "--", "web")
    with pytest.raises(ValueError, match="exactly one NAME is required, got 0"):
        service_from_flags(a, a.name, a.before_dash)
    # a flag error before the missing --external-name, that before the NAME count
    a = _args("externalname", "--clusterip=None")
    with pytest.raises(ValueError, match="unknown flag: --clusterip"):
        service_from_flags(a, a.name, a.argv)
    a = _args("externalname")
    with pytest.raises(ValueError, match='required flag\\(s\\) "external-name" not set'):
        service_from_flags(a, a.name, a.argv)


def test_run_overrides_patch_the_generated_pod_as_kubectl_does() -> None:
    """kubectl run --overrides/--override-type (compared with kubectl v1.32.5 --dry-run=client -o yaml)."""
    import pytest

    from tui.commands.imperative import override

    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"run": "p"}},
           "spec": {"containers": [{"name": "p", "image": "nginx"}], "restartPolicy": "Always"}}
    merged = override(pod, '{"spec":{"serviceAccountName":"robot","containers":[{"name":"p","image":"nginx","stdin":true}]}}',
                      "merge")
    assert merged["spec"]["serviceAccountName"] == "robot"
    assert merged["spec"]["containers"] == [{"name": "p", "image": "nginx", "stdin": True}]  # a merge patch replaces lists
    strategic = override(pod, '{"spec":{"containers":[{"name":"p","resources":{"limits":{"cpu":"1"}}}]}}', "strategic")
    assert strategic["spec"]["containers"] == [{"name": "p", "image": "nginx", "resources": {"limits": {"cpu": "1"}}}]
    labelled = override(pod, '[{"op":"add","path":"/metadata/labels/x","value":"y"}]', "json")
    assert labelled["metadata"]["labels"] == {"run": "p", "x": "y"}
    assert override(pod, "", "merge") is pod
    for text, kind, message in (("{bad", "merge", "error: Invalid JSON Patch"),
                                ("{bad", "strategic", "error: invalid JSON document"),
                                ("{}", "bogus", "error: invalid override type: bogus")):
        with pytest.raises(ValueError) as e:
            override(pod, text, kind)
        assert str(e.value) == message
