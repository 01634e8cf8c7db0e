"""CertificateSigningRequests without a server: kube-apiserver's validation messages, the strategies of the
approval and status subresources, the signers' rules, the certificate the signer issues, and the x509
authenticator's verdict on a client certificate."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from control.api import certificates as csrs
from control.api.protobuf import MAGIC, decode
from control.api.validation import validate
from control.apiserver import pki
from control.controllers.certificates import client_usages_problem, kubelet_client_problem


def make_request(cn: str = "myuser", orgs: tuple[str, ...] = ("devs",), dns: tuple[str, ...] = ()) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.COMMON_NAME, cn), *(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs)]
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names))
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
    return builder.sign(key, hashes.SHA256()).public_bytes(Encoding.PEM)


def manifest(request: bytes | None = None, **spec: object) -> dict:
    pem = make_request() if request is None else request
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": "myuser"},
            "spec": {"request": base64.b64encode(pem).decode(), "signerName": csrs.KUBE_APISERVER_CLIENT,
                     "usages": ["client auth"], **spec}}


def messages(obj: dict, old: dict | None = None) -> list[str]:
    return [str(e) for e in validate(obj, old)[0]]


def test_a_good_request_is_valid() -> None:
    assert messages(manifest(expirationSeconds=86400)) == []


def test_validation_messages_in_kube_apiservers_words() -> None:
    errs = messages(manifest(b"hello\n", signerName="example", expirationSeconds=100,
                             usages=["client auth", "bogus", "client auth"]))
    assert errs[0] == ("spec.request: Invalid value: []byte{0x68, 0x65, 0x6c, 0x6c, 0x6f, 0xa}: "
                       "PEM block type must be CERTIFICATE REQUEST")
    assert errs[1].startswith('spec.usages[1]: Unsupported value: "bogus": supported values: "any", "cert sign"')
    assert errs[2:] == [
        'spec.usages[2]: Duplicate value: "client auth"',
        "spec.signerName: Invalid value: \"example\": must be a fully qualified domain and path of the form "
        "'example.com/signer-name'",
        "spec.expirationSeconds: Invalid value: 100: may not specify a duration less than 600 seconds (10 minutes)"]


def test_signer_name_rules() -> None:
    assert messages(manifest(signerName="")) == ["spec.signerName: Required value"]
    assert messages(manifest(signerName=csrs.LEGACY_UNKNOWN)) == [
        'spec.signerName: Invalid value: "kubernetes.io/legacy-unknown": the legacy signerName is not allowed via '
        "this API version"]
    assert messages(manifest(signerName="example/x")) == [
        'spec.signerName: Invalid value: "example": should be a domain with at least two segments separated by dots']
    assert messages(manifest(usages=[])) == ["spec.usages: Required value"]


def test_request_must_be_base64_and_signed() -> None:
    bad = manifest()
    bad["spec"]["request"] = "not base64!"
    assert messages(bad)[0].startswith('spec.request: Invalid value: "not base64!": must be base64-encoded PEM')


def test_conditions_rules() -> None:
    obj = manifest()
    obj["status"] = {"conditions": [{"type": "Approved", "status": "True"}, {"type": "Denied", "status": "False"}]}
    assert messages(obj) == [
        'status.conditions[1].status: Unsupported value: "False": supported values: "True"',
        "status.conditions: Invalid value: Approved and Denied conditions are mutually exclusive"]
    old = manifest()
    old["status"] = {"conditions": [{"type": "Approved", "status": "True"}]}
    assert messages(manifest(), old) == ['status.conditions: Forbidden: updates may not remove a condition of type '
                                         '"Approved"']


def csr_with(conditions: list[dict], certificate: str = "") -> dict:
    obj = manifest()
    obj["status"] = {"conditions": conditions, **({"certificate": certificate} if certificate else {})}
    return obj


def test_approval_changes_only_the_approval_conditions() -> None:
    cur = csr_with([{"type": "Failed", "status": "True", "reason": "SignerValidationFailure"}], "Y2VydA==")
    new = csr_with([{"type": "Approved", "status": "True", "reason": "KubectlApprove"},
                    {"type": "Failed", "status": "False"}])
    new["spec"]["signerName"] = "example.com/other"  # the spec never changes through /approval
    csrs.prepare_update(new, cur, "approval")
    assert new["spec"]["signerName"] == csrs.KUBE_APISERVER_CLIENT
    assert [(c["type"], c["status"]) for c in new["status"]["conditions"]] == [("Approved", "True"), ("Failed", "True")]
    assert new["status"]["certificate"] == "Y2VydA=="
    assert new["status"]["conditions"][0]["lastUpdateTime"] and new["status"]["conditions"][0]["lastTransitionTime"]


def test_status_cannot_approve() -> None:
    cur = csr_with([])
    new = csr_with([{"type": "Approved", "status": "True"}, {"type": "Failed", "status": "True"}])
    csrs.prepare_update(new, cur, "status")
    assert [c["type"] for c in new["status"]["conditions"]] == ["Failed"]
    plain = csr_with([{"type": "Approved", "status": "True"}])
    csrs.prepare_update(plain, cur, None)  # an update of the object keeps its status
    assert plain["status"] == {"conditions": []}


def test_state_as_kubectl_prints_it() -> None:
    assert csrs.state(manifest()) == "Pending"
    assert csrs.state(csr_with([{"type": "Approved"}], "Y2VydA==")) == "Approved,Issued"
    assert csrs.state(csr_with([{"type": "Approved"}, {"type": "Failed"}])) == "Approved,Failed"
    assert csrs.state(csr_with([{"type": "Denied"}])) == "Denied"


def test_signers_rules() -> None:
    assert client_usages_problem(["client auth", "digital signature"]) == ""
    assert client_usages_problem(["server auth", "client auth"]) == "invalid usage for client certificate: server auth"
    assert client_usages_problem(["digital signature"]) == "missing required usage for client certificate: client auth"
    kubelet = x509.load_pem_x509_csr(make_request("system:node:n1", ("system:nodes",)))
    assert kubelet_client_problem(kubelet, ["digital signature", "client auth"]) == ""
    assert kubelet_client_problem(kubelet, ["client auth"]).startswith("usages did not match")
    other = x509.load_pem_x509_csr(make_request("n1", ("system:nodes",)))
    assert kubelet_client_problem(other, ["digital signature", "client auth"]) == \
        "subject common name does not begin with system:node:"
    named = x509.load_pem_x509_csr(make_request("system:node:n1", ("system:nodes",), ("n1.example",)))
    assert kubelet_client_problem(named, ["digital signature", "client auth"]) == "DNS subjectAltNames are not allowed"


def test_masters_group_is_restricted() -> None:
    obj = manifest(make_request("mallory", ("system:masters",)))
    assert csrs.restricted_subject(obj) == \
        "use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed"
    assert csrs.restricted_subject(manifest()) == ""


def test_signed_certificate() -> None:
    ca_pem, ca_key = pki.make_ca()
    now = datetime.datetime.now(datetime.UTC)
    req = x509.load_pem_x509_csr(make_request("myuser", ("devs", "ops")))
    cert = x509.load_pem_x509_certificate(pki.sign_request(ca_pem, ca_key, req, ["client auth", "digital signature"],
                                                           3600, now))
    ca = x509.load_pem_x509_certificate(ca_pem)
    cert.verify_directly_issued_by(ca)
    assert cert.issuer == ca.subject and cert.subject == req.subject
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == \
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_before_utc == (now - datetime.timedelta(minutes=5)).replace(microsecond=0)
    assert cert.not_valid_after_utc == (now + datetime.timedelta(hours=1)).replace(microsecond=0)
    long = x509.load_pem_x509_certificate(pki.sign_request(ca_pem, ca_key, req, ["client auth"], None, now))
    assert long.not_valid_after_utc - long.not_valid_before_utc == datetime.timedelta(days=365)
    # never past the CA's own end
    late = now + datetime.timedelta(days=pki.CA_DAYS - 30)
    capped = x509.load_pem_x509_certificate(pki.sign_request(ca_pem, ca_key, req, ["client auth"], None, late))
    assert capped.not_valid_after_utc == ca.not_valid_after_utc
    assert pki.client_identity(cert.public_bytes(Encoding.DER), ca_pem) == \
        ("myuser", ["devs", "ops"])


def test_client_identity_refusals() -> None:
    ca_pem, ca_key = pki.make_ca()
    other_pem, other_key = pki.make_ca()
    req = x509.load_pem_x509_csr(make_request())

    def der(pem: bytes) -> bytes:
        return x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)

    foreign = der(pki.sign_request(other_pem, other_key, req, ["client auth"], 3600))
    assert pki.client_identity(foreign, ca_pem) == "x509: certificate signed by unknown authority"
    serving = der(pki.sign_request(ca_pem, ca_key, req, ["server auth"], 3600))
    assert pki.client_identity(serving, ca_pem) == "x509: certificate specifies an incompatible key usage"
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=2)
    expired = der(pki.sign_request(ca_pem, ca_key, req, ["client auth"], 3600, old))
    assert pki.client_identity(expired, ca_pem) == "x509: certificate has expired or is not yet valid"


def test_protobuf_approval_body() -> None:
    """What kubectl certificate approve sends: the whole request, its status conditions included."""
    def field(num: int, data: bytes) -> bytes:
        return bytes([num << 3 | 2, len(data)]) + data

    condition = field(1, b"Approved") + field(6, b"True") + field(2, b"KubectlApprove")
    raw = field(2, field(1, b"PEM") + field(7, b"example.com/x") + field(5, b"client auth")) + field(3, field(1, condition))
    envelope = field(1, field(1, b"certificates.k8s.io/v1") + field(2, b"CertificateSigningRequest")) + field(2, raw)
    obj = decode(MAGIC + envelope)
    assert obj["spec"] == {"request": base64.b64encode(b"PEM").decode(), "signerName": "example.com/x",
                           "usages": ["client auth"]}
    assert obj["status"] == {"conditions": [{"type": "Approved", "status": "True", "reason": "KubectlApprove"}]}


@pytest.mark.parametrize("pem", [b"", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_parse_request_refuses_other_pem(pem: bytes) -> None:
    with pytest.raises(ValueError, match="PEM block type must be CERTIFICATE REQUEST"):
        csrs.parse_request(pem)


def test_controller_manager_signing_flags(tmp_path: Path) -> None:
    import argparse

    from tui.commands.components import signing_ca

    assert signing_ca(argparse.Namespace(cluster_signing_cert_file=None, cluster_signing_key_file=None)) is None
    with pytest.raises(SystemExit):
        signing_ca(argparse.Namespace(cluster_signing_cert_file="ca.crt", cluster_signing_key_file=None))
    ca_pem, ca_key = pki.make_ca()
    cert, key = tmp_path / "ca.crt", tmp_path / "ca.key"
    cert.write_bytes(ca_pem)
    key.write_bytes(ca_key)
    assert signing_ca(argparse.Namespace(cluster_signing_cert_file=str(cert), cluster_signing_key_file=str(key))) == \
        (ca_pem, ca_key)
