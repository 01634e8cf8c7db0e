"""Ingress: path and host matching (the Ingress documentation's examples), routing precedence, kube-apiserver's
validation messages, DefaultIngressClass admission, kubectl create ingress's rules, and kubectl's columns."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from control.api import ingress
from control.api.validation import validate
from tui.commands.imperative import ingress_for
from tui.printers.describers import describe
from tui.printers.table import COLUMNS, ingress_hosts

# The documentation's table (concepts/services-networking/ingress, "Examples"): the Ingress's paths (all of one
# type, or a mix), the request's path, and whether one matches (and which, when several could).
DOC_EXAMPLES: list[tuple[list[tuple[str, str]], str, str | None]] = [
    ([("Prefix", "/")], "/anything/at/all", "/"),
    ([("Exact", "/foo")], "/foo", "/foo"),
    ([("Exact", "/foo")], "/bar", None),
    ([("Exact", "/foo")], "/foo/", None),
    ([("Exact", "/foo/")], "/foo", None),
    ([("Prefix", "/foo")], "/foo", "/foo"),
    ([("Prefix", "/foo")], "/foo/", "/foo"),
    ([("Prefix", "/foo/")], "/foo", "/foo/"),
    ([("Prefix", "/foo/")], "/foo/", "/foo/"),
    ([("Prefix", "/aaa/bb")], "/aaa/bbb", None),
    ([("Prefix", "/aaa/bbb")], "/aaa/bbb", "/aaa/bbb"),
    ([("Prefix", "/aaa/bbb/")], "/aaa/bbb", "/aaa/bbb/"),  # ignores the trailing slash
    ([("Prefix", "/aaa/bbb")], "/aaa/bbb/", "/aaa/bbb"),  # matches a trailing slash
    ([("Prefix", "/aaa/bbb")], "/aaa/bbb/ccc", "/aaa/bbb"),  # matches a subpath
    ([("Prefix", "/aaa/bbb")], "/aaa/bbbxyz", None),  # not a string prefix match
    ([("Prefix", "/"), ("Prefix", "/aaa")], "/aaa/ccc", "/aaa"),
    ([("Prefix", "/"), ("Prefix", "/aaa"), ("Prefix", "/aaa/bbb")], "/aaa/bbb", "/aaa/bbb"),
    ([("Prefix", "/"), ("Prefix", "/aaa"), ("Prefix", "/aaa/bbb")], "/ccc", "/"),
    ([("Prefix", "/aaa")], "/ccc", None),  # the default backend
    ([("Prefix", "/foo"), ("Exact", "/foo")], "/foo", "/foo Exact"),  # Exact is preferred
]


def ing(paths: list[tuple[str, str]], *, host: str = "", name: str = "i", created: str = "2024-01-01T00:00:00Z",
        default: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"rules": [{**({"host": host} if host else {}), "http": {"paths": [
        {"path": p, "pathType": t, "backend": {"service": {"name": f"{p} {t}", "port": {"number": 80}}}}
        for t, p in paths]}}]}
    if default is not None:
        spec["defaultBackend"] = default
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": "default", "creationTimestamp": created}, "spec": spec}


@pytest.mark.parametrize(("paths", "request_path", "expected"), DOC_EXAMPLES)
def test_the_documentations_examples(paths: list[tuple[str, str]], request_path: str, expected: str | None) -> None:
    found = ingress.route([ing(paths)], "foo.example", request_path)
    if expected is None:
        assert found is None
        return
    assert found is not None
    name = found.backend["service"]["name"]
    assert name == expected if " " in expected else name.split(" ")[0] == expected


@pytest.mark.parametrize(("rule", "host", "matches"), [
    ("foo.bar.com", "foo.bar.com", True),
    ("foo.bar.com", "bar.com", False),
    ("*.foo.com", "bar.foo.com", True),
    ("*.foo.com", "baz.bar.foo.com", False),  # one label only
    ("*.foo.com", "foo.com", False),
    ("", "anything.example", True),
])
def test_hosts_as_the_documentation_says(rule: str, host: str, matches: bool) -> None:
    assert ingress.host_matches(rule, host) is matches


def test_the_host_header_loses_its_port_and_case() -> None:
    assert ingress.request_host("Foo.Example:7090") == "foo.example"
    assert ingress.request_host("[::1]:80") == "[::1]"


def test_an_exact_host_wins_over_a_wildcard_and_a_wildcard_over_none() -> None:
    rules = [ing([("Prefix", "/")], name="any"), ing([("Prefix", "/")], host="*.example", name="wild"),
             ing([("Prefix", "/")], host="foo.example", name="exact")]
    assert ingress.route(rules, "foo.example", "/").ingress == "exact"  # type: ignore[union-attr]
    assert ingress.route(rules, "bar.example", "/").ingress == "wild"  # type: ignore[union-attr]
    assert ingress.route(rules, "other.test", "/").ingress == "any"  # type: ignore[union-attr]


def test_the_oldest_ingress_wins_a_tie_and_gives_the_default_backend() -> None:
    old = ing([("Prefix", "/a")], name="old", created="2024-01-01T00:00:00Z",
              default={"service": {"name": "old-default", "port": {"number": 80}}})
    new = ing([("Prefix", "/a")], name="new", created="2024-02-01T00:00:00Z",
              default={"service": {"name": "new-default", "port": {"number": 80}}})
    assert ingress.route([new, old], "h", "/a/b").ingress == "old"  # type: ignore[union-attr]
    fallback = ingress.route([new, old], "h", "/zzz")
    assert fallback is not None and fallback.backend["service"]["name"] == "old-default" and fallback.path == ""


def test_the_backend_port_by_number_or_name_and_the_ready_addresses() -> None:
    svc = {"spec": {"ports": [{"name": "http", "port": 80}, {"name": "admin", "port": 81}]}}
    assert ingress.service_port_name(svc, {"number": 81}) == "admin"
    assert ingress.service_port_name(svc, {"name": "http"}) == "http"
    assert ingress.service_port_name(svc, {"number": 82}) is None
    ep = {"subsets": [{"addresses": [{"ip": "127.0.0.2"}], "notReadyAddresses": [{"ip": "127.0.0.3"}],
                       "ports": [{"name": "http", "port": 8080}, {"name": "admin", "port": 9090}]}]}
    assert ingress.ready_addresses(ep, "http") == [("127.0.0.2", 8080)]
    assert ingress.ready_addresses(None, "http") == []


# -- admission and validation -----------------------------------------------------------------------------


def test_default_ingress_class_admission() -> None:
    classes = [{"metadata": {"name": "old", "creationTimestamp": "2024-01-01T00:00:00Z",
                             "annotations": {ingress.DEFAULT_CLASS_ANNOTATION: "true"}}},
               {"metadata": {"name": "new", "creationTimestamp": "2024-02-01T00:00:00Z",
                             "annotations": {ingress.DEFAULT_CLASS_ANNOTATION: "true"}}},
               {"metadata": {"name": "plain", "creationTimestamp": "2024-03-01T00:00:00Z"}}]
    obj = ing([("Prefix", "/")])
    ingress.admit(obj, classes)
    assert obj["spec"]["ingressClassName"] == "new"  # of two defaults, the newest
    named = ing([("Prefix", "/")])
    named["metadata"]["annotations"] = {ingress.CLASS_ANNOTATION: "other"}
    ingress.admit(named, classes)
    assert "ingressClassName" not in named["spec"]  # the annotation names a class already
    none = ing([("Prefix", "/")])
    ingress.admit(none, classes[2:])
    assert "ingressClassName" not in none["spec"]


def messages(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    errs, _ = validate(obj, old)
    return [str(e) for e in errs]


def with_paths(*paths: dict[str, Any], host: str = "foo.example") -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "x", "namespace": "default"},
            "spec": {"rules": [{"host": host, "http": {"paths": list(paths)}}]}}


WEB = {"service": {"name": "web", "port": {"number": 80}}}


def test_a_good_ingress_is_valid() -> None:
    assert messages(with_paths({"path": "/", "pathType": "Prefix", "backend": WEB})) == []
    assert messages(with_paths({"path": "/", "pathType": "Exact", "backend": WEB}, host="*.example.com")) == []


def test_path_type_is_required_and_one_of_three() -> None:
    assert messages(with_paths({"path": "/", "backend": WEB})) == [
        "spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified"]
    assert messages(with_paths({"path": "/", "pathType": "Regex", "backend": WEB})) == [
        'spec.rules[0].http.paths[0].pathType: Unsupported value: "Regex": supported values: "Exact", '
        '"ImplementationSpecific", "Prefix"']


def test_paths_must_be_absolute_and_clean() -> None:
    assert messages(with_paths({"path": "foo", "pathType": "Prefix", "backend": WEB})) == [
        'spec.rules[0].http.paths[0].path: Invalid value: "foo": must be an absolute path']
    assert messages(with_paths({"path": "/a//b/..", "pathType": "Exact", "backend": WEB})) == [
        "spec.rules[0].http.paths[0].path: Invalid value: \"/a//b/..\": must not contain '//'",
        "spec.rules[0].http.paths[0].path: Invalid value: \"/a//b/..\": cannot end with '/..'"]
    assert messages(with_paths({"path": "", "pathType": "ImplementationSpecific", "backend": WEB})) == []


def test_hosts_are_dns_names_with_one_leading_wildcard() -> None:
    assert messages(with_paths({"path": "/", "pathType": "Prefix", "backend": WEB}, host="10.0.0.1")) == [
        'spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address']
    assert messages(with_paths({"path": "/", "pathType": "Prefix", "backend": WEB}, host="*.*.example")) == [
        "spec.rules[0].host: Invalid value: \"*.*.example\": a wildcard DNS-1123 subdomain must start with '*.', "
        "followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and "
        "end with an alphanumeric character (e.g. '*.example.com', regex used for validation is "
        "'\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"]


def test_backends_name_a_service_and_a_port_or_a_resource() -> None:
    def backend(b: dict[str, Any]) -> list[str]:
        return messages(with_paths({"path": "/", "pathType": "Prefix", "backend": b}))

    assert backend({}) == ['spec.rules[0].http.paths[0].backend: Invalid value: "": resource or service backend is required']
    assert backend({"service": {"name": "web"}}) == [
        "spec.rules[0].http.paths[0].backend: Required value: port name or number is required"]
    assert backend({"service": {"name": "web", "port": {"name": "http", "number": 80}}}) == [
        'spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both port name & port number']
    assert backend({"service": {"name": "web", "port": {"number": 70000}}}) == [
        "spec.rules[0].http.paths[0].backend.service.port.number: Invalid value: 70000: must be between 1 and 65535, inclusive"]
    assert backend({"resource": {"kind": "Bucket", "name": "b"}, **WEB}) == [
        'spec.rules[0].http.paths[0].backend: Invalid value: "": cannot set both resource and service backends']
    assert backend({"service": {"port": {"number": 80}}}) == [
        "spec.rules[0].http.paths[0].backend.service.name: Required value"]
    assert backend({"resource": {"kind": "Bucket", "name": "b"}}) == []


def test_rules_or_a_default_backend() -> None:
    obj = with_paths()
    obj["spec"] = {}
    assert messages(obj) == ["spec: Invalid value: []networking.IngressRule(nil): either `defaultBackend` or `rules` "
                             "must be specified"]
    obj["spec"] = {"rules": [{"host": "a.example", "http": {"paths": []}}]}
    assert messages(obj) == ["spec.rules[0].http.paths: Required value"]
    obj["spec"] = {"defaultBackend": WEB, "tls": [{"hosts": ["A_b"], "secretName": "s"}]}
    assert messages(obj)[0].startswith('spec.tls[0].hosts[0]: Invalid value: "A_b": a lowercase RFC 1123 subdomain')


def test_the_class_annotation_must_agree_with_the_class_on_create_only() -> None:
    obj = with_paths({"path": "/", "pathType": "Prefix", "backend": WEB})
    obj["metadata"]["annotations"] = {ingress.CLASS_ANNOTATION: "nginx"}
    obj["spec"]["ingressClassName"] = "kube-tui"
    assert messages(obj) == ['annotations.kubernetes.io/ingress.class: Invalid value: "nginx": must match '
                             "`ingressClassName` when both are specified"]
    assert messages(obj, obj) == []


def test_ingress_class_controller_and_parameters() -> None:
    def ic(spec: dict[str, Any]) -> list[str]:
        return messages({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "c"},
                         "spec": spec})

    assert ic({"controller": ingress.CONTROLLER}) == []
    assert ic({}) == ["spec.controller: Required value"]
    assert ic({"controller": "nodomain"}) == [
        'spec.controller: Invalid value: "nodomain": must be a domain-prefixed path (such as "acme.io/foo")']
    assert ic({"controller": "a.io/c", "parameters": {"kind": "K", "name": "n"}}) == ["spec.parameters.scope: Required value"]
    assert ic({"controller": "a.io/c", "parameters": {"kind": "K", "name": "n", "scope": "Cluster", "namespace": "x"}}) == [
        "spec.parameters.namespace: Forbidden: `parameters.scope` is set to 'Cluster'"]
    old = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "c"},
           "spec": {"controller": "a.io/c"}}
    new = {**old, "spec": {"controller": "b.io/c"}}
    assert messages(new, old) == ['spec.controller: Invalid value: "b.io/c": field is immutable']


# -- kubectl create ingress ------------------------------------------------------------------------------------


def create(*rules: str, default_backend: str = "", ingress_class: str = "", annotation: tuple[str, ...] = ()) -> dict:
    return ingress_for(argparse.Namespace(name="x", rule=list(rules), default_backend=default_backend,
                                          ingress_class=ingress_class, annotation=list(annotation)))


def test_create_ingress_rules_as_kubectl_builds_them() -> None:
    obj = create("foo.com/=svc:https,tls", "foo.com/path/subpath*=othersvc:8080", "/x=s:http",
                 ingress_class="default", default_backend="defaultsvc:http", annotation=("a=b=c",))
    assert obj["metadata"] == {"name": "x", "annotations": {"a": "b=c"}}
    assert obj["spec"] == {
        "defaultBackend": {"service": {"name": "defaultsvc", "port": {"name": "http"}}},
        "ingressClassName": "default",
        "rules": [
            {"host": "foo.com", "http": {"paths": [
                {"path": "/", "pathType": "Exact", "backend": {"service": {"name": "svc", "port": {"name": "https"}}}},
                {"path": "/path/subpath", "pathType": "Prefix",
                 "backend": {"service": {"name": "othersvc", "port": {"number": 8080}}}}]}},
            {"http": {"paths": [{"path": "/x", "pathType": "Exact",
                                 "backend": {"service": {"name": "s", "port": {"name": "http"}}}}]}}],
        "tls": [{"hosts": ["foo.com"]}],
    }


def test_create_ingress_groups_tls_hosts_by_secret() -> None:
    obj = create("a.com/=s:1,tls=s1", "b.com/=s:1,tls=s1", "a.com/x=s:1,tls=s2", "c.com/=s:1,tls")
    assert obj["spec"]["tls"] == [{"hosts": ["a.com", "b.com"], "secretName": "s1"}, {"hosts": ["c.com"]}]


@pytest.mark.parametrize(("kwargs", "error"), [
    ({}, "error: not enough information provided: every ingress has to either specify a default-backend (which catches "
         "all traffic) or a list of rules (which catch specific paths)"),
    ({"rules": ("foo.com=svc:80",)},
     "error: rule foo.com=svc:80 is invalid and should be in format host/path=svcname:svcport[,tls[=secret]]"),
    ({"rules": ("/=s:1",), "annotation": ("novalue",)},
     "error: annotation novalue is invalid and should be in format key=[value]"),
    ({"default_backend": "a:b:c"}, "error: default-backend should be in format servicename:serviceport"),
])
def test_create_ingress_refusals_in_kubectls_words(kwargs: dict[str, Any], error: str) -> None:
    with pytest.raises(ValueError) as e:
        create(*kwargs.pop("rules", ()), **kwargs)
    assert str(e.value) == error


# -- kubectl's columns and describe -------------------------------------------------------------------------


def test_get_ingress_columns() -> None:
    headers, wide, row = COLUMNS["Ingress"]
    assert headers == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"] and wide == []
    obj = ing([("Prefix", "/")], host="foo.example")
    obj["spec"]["tls"] = [{"hosts": ["foo.example"]}]
    obj["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}, {"hostname": "a-long-host-name.example"}]}}
    assert row(obj, False, None)[:5] == ["i", "<none>", "foo.example", "127.0.0.1,a-l...", "80, 443"]
    assert row(obj, True, None)[3] == "127.0.0.1,a-long-host-name.example"
    many = {"spec": {"rules": [{"host": "a"}, {}, {"host": "b"}, {"host": "c"}, {"host": "d"}]}}
    assert ingress_hosts(many) == "a,b,c + 2 more..."
    assert ingress_hosts({"spec": {"rules": [{}]}}) == "*"
    ic = {"metadata": {"name": "c"}, "spec": {"controller": "a.io/c",
                                              "parameters": {"apiGroup": "k8s.example.com", "kind": "P", "name": "p"}}}
    assert COLUMNS["IngressClass"][2](ic, False, None)[:3] == ["c", "a.io/c", "P.k8s.example.com/p"]


def test_describe_ingress_shows_each_paths_endpoints() -> None:
    obj = ing([("Prefix", "/")], host="foo.example")
    obj["spec"]["rules"][0]["http"]["paths"][0]["backend"] = {"service": {"name": "web", "port": {"number": 80}}}
    obj["spec"]["rules"].append({"http": {"paths": [{"path": "/x", "pathType": "Exact",
                                                      "backend": {"service": {"name": "gone", "port": {"name": "http"}}}}]}})
    svc = {"metadata": {"name": "web"}, "spec": {"ports": [{"name": "http", "port": 80}]}}
    eps = {"metadata": {"name": "web-x1y2z", "labels": {"kubernetes.io/service-name": "web"}},
           "ports": [{"name": "http", "port": 8080}, {"name": "metrics", "port": 9090}],
           "endpoints": [{"addresses": ["127.0.0.2"], "conditions": {"ready": True}}]}
    text = describe(obj, [], services=[svc], endpointslices=[eps])
    assert "Address:          \nIngress Class:    <none>\nDefault backend:  <default>\n" in text
    assert "  foo.example  \n               /   web:80 (127.0.0.2:8080)\n" in text
    assert '               /x   gone:http (<error: services "gone" not found>)\n' in text


def test_the_dashboard_lists_ingresses_as_kubectl_does() -> None:
    from tui.app import MORE_VIEWS
    from tui.model import WATCHED_KINDS, ClusterModel
    from tui.views.rows import spec_for

    assert "Ingress" in WATCHED_KINDS and ("ing", "Ingress") in [v[:2] for v in MORE_VIEWS]
    obj = ing([("Prefix", "/")], host="foo.example")
    obj["spec"]["ingressClassName"] = "kube-tui"
    obj["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.1"}]}}
    spec = spec_for("Ingress")
    assert [c.label for c in spec.columns] == ["NAMESPACE", "NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert spec.row(obj, ClusterModel(None, watch=False))[:6] == ("default", "i", "kube-tui", "foo.example", "127.0.0.1", "80")
