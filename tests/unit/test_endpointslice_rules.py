"""EndpointSlices without a cluster: kube-apiserver's validation messages, defaults, kubectl's get columns and
describers, kube-proxy's choice of endpoints, and the controller's plan (endpoints kept in place, split at 100)."""

from __future__ import annotations

from typing import Any

from control.api.defaults import apply_defaults
from control.api.endpointslice import port_endpoints
from control.api.validation import validate
from control.controllers.endpointslice import desired, plan
from tui.printers import describe
from tui.printers.table import COLUMNS, format_endpoint_slices


def eps(**fields: Any) -> dict[str, Any]:
    obj = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": "web-abcde", "namespace": "default", "labels": {"kubernetes.io/service-name": "web"}},
           "addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}], "ports": [{"name": "http", "port": 80}],
           **fields}
    apply_defaults(obj)
    return obj


def messages(obj: dict[str, Any], old: dict[str, Any] | None = None) -> list[str]:
    errs, _ = validate(obj, old)
    return [str(e) for e in errs]


def test_defaults_name_the_unnamed_port_and_give_tcp() -> None:
    obj = eps(ports=[{"port": 80}])
    assert obj["ports"] == [{"port": 80, "name": "", "protocol": "TCP"}]
    assert messages(obj) == []


def test_address_type_is_required_supported_and_immutable() -> None:
    assert messages(eps(addressType="")) == ["addressType: Required value"]
    assert messages(eps(addressType="IP")) == [
        'addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"']
    old = eps()
    old["metadata"]["resourceVersion"] = "5"
    new = eps(addressType="FQDN", endpoints=[{"addresses": ["db.example.com"]}])
    new["metadata"]["resourceVersion"] = "5"
    assert messages(new, old) == ['addressType: Invalid value: "FQDN": field is immutable']


def test_addresses_follow_the_address_type() -> None:
    assert messages(eps(endpoints=[{"addresses": []}])) == [
        "endpoints[0].addresses: Required value: must contain at least 1 address"]
    assert messages(eps(endpoints=[{"addresses": ["fd00::1"]}])) == [
        'endpoints[0].addresses[0]: Invalid value: "fd00::1": must be a valid IPv4 address']
    assert messages(eps(endpoints=[{"addresses": ["0.0.0.0", "169.254.1.1"]}])) == [
        'endpoints[0].addresses[0]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)',
        'endpoints[0].addresses[1]: Invalid value: "169.254.1.1": may not be in the link-local range '
        "(169.254.0.0/16, fe80::/10)"]
    assert messages(eps(addressType="IPv6", endpoints=[{"addresses": ["fd00::1"]}])) == []
    assert messages(eps(addressType="FQDN", endpoints=[{"addresses": ["localhost"]}])) == [
        'endpoints[0].addresses[0]: Invalid value: "localhost": should be a domain with at least two segments '
        "separated by dots"]
    assert messages(eps(endpoints=[{"addresses": ["10.0.0.1"], "nodeName": "Node_1", "hostname": "a.b"}])) == [
        'endpoints[0].nodeName: Invalid value: "Node_1": a lowercase RFC 1123 subdomain must consist of lower case '
        "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. "
        "'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
        'endpoints[0].hostname: Invalid value: "a.b": a lowercase RFC 1123 label must consist of lower case '
        "alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
        "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"]


def test_at_most_1000_endpoints_and_100_ports() -> None:
    many = [{"addresses": [f"10.0.{i // 250}.{i % 250 + 1}"]} for i in range(1001)]
    assert messages(eps(endpoints=many)) == ["endpoints: Too many: 1001: must have at most 1000 items"]
    assert messages(eps(endpoints=many[:1000])) == []
    ports = [{"name": f"p{i}", "port": 1000 + i} for i in range(101)]
    assert messages(eps(ports=ports)) == ["ports: Too many: 101: must have at most 100 items"]


def test_ports_are_unique_by_name_with_a_known_protocol() -> None:
    assert messages(eps(ports=[{"name": "http", "port": 80}, {"name": "http", "port": 81, "protocol": "ICMP"}])) == [
        'ports[1].name: Duplicate value: "http"',
        'ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"']


def test_get_columns_as_kubectl() -> None:
    headers, _, row = COLUMNS["EndpointSlice"]
    assert headers == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    five = eps(endpoints=[{"addresses": [f"10.0.0.{i}"]} for i in range(1, 6)],
               ports=[{"name": n, "port": p} for n, p in (("a", 1), ("b", 2), ("c", 3), ("d", 4))])
    assert row(five, False, None)[:4] == ["web-abcde", "IPv4", "1,2,3 + 1 more...", "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more..."]
    empty = {"metadata": {"name": "e"}, "addressType": "IPv4", "endpoints": None}
    assert row(empty, False, None)[:4] == ["e", "IPv4", "<unset>", "<unset>"]


def test_describe_endpointslice_as_kubectl() -> None:
    obj = eps(endpoints=[{"addresses": ["10.0.0.1"], "conditions": {"ready": True, "serving": True, "terminating": False},
                          "targetRef": {"kind": "Pod", "name": "web-1", "namespace": "default"}, "nodeName": "n1",
                          "zone": "z1"},
                         {"addresses": ["10.0.0.2"], "hostname": "h"}],
              ports=[{"port": 80}])
    assert describe(obj, []) == """\
Name:         web-abcde
Namespace:    default
Labels:       kubernetes.io/service-name=web
Annotations:  <none>
AddressType:  IPv4
Ports:
  Name     Port  Protocol
  ----     ----  --------
  <unset>  80    TCP
Endpoints:
  - Addresses:  10.0.0.1
    Conditions:
      Ready:    true
    Hostname:   <unset>
    TargetRef:  Pod/web-1
    NodeName:   n1
    Zone:       z1
  - Addresses:  10.0.0.2
    Conditions:
      Ready:   <unset>
    Hostname:  h
    NodeName:  <unset>
    Zone:      <unset>
Events:        <none>"""
    assert describe({**obj, "ports": None, "endpoints": None}, []).split("AddressType:  IPv4\n")[1] == (
        "Ports: <unset>\nEndpoints: <none>\nEvents:  <none>")


def test_describe_service_endpoints_are_the_ready_ones_of_its_slices() -> None:
    ready = [{"addresses": [f"10.0.0.{i}"], "conditions": {"ready": True}} for i in range(1, 5)]
    slices = [{"ports": [{"name": "http", "port": 80}, {"name": "admin", "port": 9000}],
               "endpoints": [*ready[:2], {"addresses": ["10.0.0.9"], "conditions": {"ready": False}}, *ready[2:]]}]
    assert format_endpoint_slices(None, {"http"}) == "<none>"
    assert format_endpoint_slices([{"endpoints": None, "ports": None}], {""}) == ""
    assert format_endpoint_slices(slices, {"admin"}) == "10.0.0.1:9000,10.0.0.2:9000,10.0.0.3:9000 + 1 more..."
    # kubectl's quirk: a not ready endpoint past the third marks "more" though it is not counted
    assert format_endpoint_slices([{"ports": [{"name": "", "port": 80}], "endpoints": [*ready[:3], slices[0]["endpoints"][2]]}],
                                  {""}) == "10.0.0.1:80,10.0.0.2:80,10.0.0.3:80 + 0 more..."
    assert format_endpoint_slices([{"ports": [{"name": "", "port": 80}], "endpoints": [{"addresses": ["fd00::1"]}]}],
                                  {""}) == "[fd00::1]:80"


def test_kube_proxy_uses_ready_endpoints_then_serving_terminating_ones() -> None:
    def ep(ip: str, ready: bool, serving: bool, terminating: bool) -> dict:
        return {"addresses": [ip], "conditions": {"ready": ready, "serving": serving, "terminating": terminating}}
    s = {"addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
         "endpoints": [ep("10.0.0.2", True, True, False), ep("10.0.0.3", False, True, True), ep("10.0.0.4", False, False, False)]}
    assert port_endpoints([s], "http") == [("10.0.0.2", 8080)]
    assert port_endpoints([s], "other") == []
    s["endpoints"] = s["endpoints"][1:]
    assert port_endpoints([s], "http") == [("10.0.0.3", 8080)]
    assert port_endpoints([{**s, "addressType": "FQDN"}], "http") == []


def pod(i: int, ready: bool = True) -> dict:
    return {"metadata": {"name": f"p{i}", "namespace": "default", "uid": f"u{i}", "labels": {"app": "web"}},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
            "status": {"phase": "Running", "podIP": f"10.1.{i // 250}.{i % 250 + 1}",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


SVC = {"metadata": {"name": "web", "namespace": "default"},
       "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}}


def test_the_plan_splits_at_the_limit_and_keeps_endpoints_in_their_slices() -> None:
    want = desired(SVC, [pod(i) for i in range(250)], {"n1": "zone-a"})
    (ports, endpoints), = want.values()
    assert ports == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    first = endpoints["10.1.0.1"]
    assert first["conditions"] == {"ready": True, "serving": True, "terminating": False}
    assert first["nodeName"] == "n1" and first["zone"] == "zone-a" and first["targetRef"]["name"] == "p0"
    creates, updates, deletes = plan([], want, 100)
    assert [len(c["endpoints"]) for c in creates] == [100, 100, 50] and not updates and not deletes
    existing = [{"metadata": {"name": f"web-{i}"}, **c} for i, c in enumerate(creates)]
    assert plan(existing, want, 100) == ([], [], [])  # nothing changed: nothing written
    # one pod not ready, one gone, two new: the changed slice is updated in place, the new ones fill its room
    pods = [pod(i, ready=i != 5) for i in range(252) if i != 150]
    creates, updates, deletes = plan(existing, desired(SVC, pods, {}), 100)
    assert not creates and not deletes
    assert sorted(u["metadata"]["name"] for u in updates) == ["web-0", "web-1", "web-2"]  # zones gone: all change
    by_name = {u["metadata"]["name"]: u for u in updates}
    assert len(by_name["web-1"]["endpoints"]) == 99 + 1 and len(by_name["web-2"]["endpoints"]) == 51
    assert by_name["web-0"]["endpoints"][5]["conditions"] == {"ready": False, "serving": False, "terminating": False}


def test_no_endpoints_leave_one_placeholder_slice() -> None:
    creates, updates, deletes = plan([], desired(SVC, [], {}), 100)
    assert creates == [{"endpoints": [], "ports": []}] and not updates and not deletes
    placeholder = {"metadata": {"name": "web-x"}, "endpoints": None}
    assert plan([placeholder], {}, 100) == ([], [], [])


def test_the_dashboard_lists_endpointslices_as_kubectl_does() -> None:
    from tui.app import MORE_VIEWS
    from tui.model import WATCHED_KINDS, ClusterModel
    from tui.views.rows import spec_for

    assert "EndpointSlice" in WATCHED_KINDS and ("eps", "EndpointSlice") in [v[:2] for v in MORE_VIEWS]
    spec = spec_for("EndpointSlice")
    assert [c.label for c in spec.columns] == ["NAMESPACE", "NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    obj = eps(endpoints=[{"addresses": [f"10.0.0.{i}"]} for i in range(1, 5)])
    assert spec.row(obj, ClusterModel(None, watch=False))[:5] == (
        "default", "web-abcde", "IPv4", "80", "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...")
    assert spec.row({"metadata": {"name": "e"}, "addressType": "IPv4"}, ClusterModel(None, watch=False))[3:5] == (
        "<unset>", "<unset>")
