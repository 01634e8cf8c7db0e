"""Normal users with client certificates, as the Kubernetes docs teach it, against a real control plane over
the REST API: a CertificateSigningRequest created (the requester recorded), approved through its approval
subresource (refused without `approve` on the signer), signed by the csrsigning controller with the cluster CA,
then the certificate used as the user (RBAC decides); a certificate from another CA is 401."""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import os
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from control import config
from control.apiserver import pki
from control.plane import ControlPlane
from tests.conftest import running_plane
from tests.helpers import KUBECTL_132, run_cli, wait_for
from tests.integration.test_rest import admin_session, call

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


@pytest.fixture
async def plane(tmp_path: Path) -> AsyncIterator[ControlPlane]:
    async with running_plane(tmp_path / "data", rest_listen="127.0.0.1:0", controllers=True) as p:
        yield p


@pytest.fixture
async def http(plane: ControlPlane) -> AsyncIterator[aiohttp.ClientSession]:
    async with admin_session(plane) as s:
        yield s


def key_and_request(tmp_path: Path, cn: str, orgs: tuple[str, ...] = ()) -> tuple[Path, bytes]:
    """What the docs make with openssl: a key (written out) and a CSR for CN/O (PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / f"{cn}.key"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                         *(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs)])
    req = x509.CertificateSigningRequestBuilder().subject_name(subject).sign(key, hashes.SHA256())
    return path, req.public_bytes(serialization.Encoding.PEM)


def manifest(name: str, pem: bytes, usages: tuple[str, ...] = ("client auth",)) -> dict:
    return {"apiVersion": "certificates.k8s.io/v1", "kind": "CertificateSigningRequest", "metadata": {"name": name},
            "spec": {"request": base64.b64encode(pem).decode(), "signerName": "kubernetes.io/kube-apiserver-client",
                     "expirationSeconds": 86400, "usages": list(usages)}}


async def approve(http: aiohttp.ClientSession, name: str, **headers: str) -> tuple[int, dict]:
    """kubectl certificate approve: the Approved condition added, PUT to the approval subresource."""
    _, csr = await call(http, "GET", f"{CSRS}/{name}")
    csr.setdefault("status", {}).setdefault("conditions", []).append(
        {"type": "Approved", "status": "True", "reason": "KubectlApprove",
         "message": "This CSR was approved by kubectl certificate approve."})
    return await call(http, "PUT", f"{CSRS}/{name}/approval", csr, **headers)


async def issued(http: aiohttp.ClientSession, name: str) -> dict:
    async def signed() -> dict | None:
        _, csr = await call(http, "GET", f"{CSRS}/{name}")
        status = csr.get("status") or {}
        return csr if status.get("certificate") or any(c["type"] == "Failed" for c in status.get("conditions", [])) \
            else None
    return await wait_for(signed, what=f"the signer to sign or fail {name}")  # type: ignore[no-any-return]


def as_user(plane: ControlPlane, cert: Path, key: Path) -> aiohttp.ClientSession:
    tls = ssl.create_default_context(cadata=plane.rest.ca_pem.decode())
    tls.load_cert_chain(cert, key)
    return aiohttp.ClientSession(base_url=plane.rest.address, connector=aiohttp.TCPConnector(ssl=tls))


async def test_client_certificate_user_end_to_end(plane: ControlPlane, http: aiohttp.ClientSession,
                                                  tmp_path: Path) -> None:
    key, pem = key_and_request(tmp_path, "myuser", ("devs",))
    code, csr = await call(http, "POST", CSRS, manifest("myuser", pem))
    assert code == 201
    assert csr["spec"]["username"] == "admin" and "system:masters" in csr["spec"]["groups"]  # the requester's
    assert "certificate" not in csr["status"]
    code, _ = await approve(http, "myuser")
    assert code == 200
    csr = await issued(http, "myuser")
    assert [c["type"] for c in csr["status"]["conditions"]] == ["Approved"]
    cert = x509.load_pem_x509_certificate(base64.b64decode(csr["status"]["certificate"]))
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(plane.rest.ca_pem))
    assert cert.subject.rfc4514_string() == "O=devs,CN=myuser"
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == datetime.timedelta(days=1)
    cert_path = tmp_path / "myuser.crt"
    cert_path.write_bytes(base64.b64decode(csr["status"]["certificate"]))

    async with as_user(plane, cert_path, key) as user:
        code, review = await call(user, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                                  {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
        assert code == 201
        assert review["status"]["userInfo"] == {"username": "myuser", "groups": ["devs", "system:authenticated"]}
        pods = "/api/v1/namespaces/default/pods"
        code, status = await call(user, "GET", pods)
        assert code == 403 and status["message"] == ('pods is forbidden: User "myuser" cannot list resource "pods" '
                                                     'in API group "" in the namespace "default"')
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "developer"},
                "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "developer-binding-myuser"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "developer"},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "myuser"}]}
        assert (await call(http, "POST", f"{RBAC}/namespaces/default/roles", role))[0] == 201
        assert (await call(http, "POST", f"{RBAC}/namespaces/default/rolebindings", binding))[0] == 201
        code, listed = await call(user, "GET", pods)
        assert code == 200 and listed["kind"] == "PodList"

    # a bearer token still works, and a certificate from another CA is refused as kube-apiserver refuses it
    assert (await call(http, "GET", "/api/v1/namespaces"))[0] == 200
    other_ca, other_key = pki.make_ca()
    foreign = tmp_path / "foreign.crt"
    foreign.write_bytes(pki.sign_request(other_ca, other_key, x509.load_pem_x509_csr(pem), ["client auth"], 3600))
    async with as_user(plane, foreign, key) as stranger:
        code, status = await call(stranger, "GET", "/api/v1/namespaces/default/pods")
        assert code == 401
        assert status["message"] == "Unauthorized: the client certificate was refused: x509: certificate signed by " \
                                    "unknown authority"


async def test_approval_needs_approve_on_the_signer(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    _, pem = key_and_request(tmp_path, "pat")
    assert (await call(http, "POST", CSRS, manifest("pat", pem)))[0] == 201
    approver = {"Impersonate-User": "approver"}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "csr-approval"},
            "rules": [{"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests"],
                       "verbs": ["get"]},
                      {"apiGroups": ["certificates.k8s.io"], "resources": ["certificatesigningrequests/approval"],
                       "verbs": ["update"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
               "metadata": {"name": "csr-approval"},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "csr-approval"},
               "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "approver"}]}
    assert (await call(http, "POST", f"{RBAC}/clusterroles", role))[0] == 201
    assert (await call(http, "POST", f"{RBAC}/clusterrolebindings", binding))[0] == 201
    code, status = await approve(http, "pat", **approver)
    assert code == 403
    assert status["message"] == ('certificatesigningrequests.certificates.k8s.io "pat" is forbidden: user not '
                                 'permitted to approve requests with signerName "kubernetes.io/kube-apiserver-client"')
    signer = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "signer"},
              "rules": [{"apiGroups": ["certificates.k8s.io"], "resources": ["signers"],
                         "resourceNames": ["kubernetes.io/*"], "verbs": ["approve"]}]}
    assert (await call(http, "POST", f"{RBAC}/clusterroles", signer))[0] == 201
    binding["metadata"]["name"] = binding["roleRef"]["name"] = "signer"
    assert (await call(http, "POST", f"{RBAC}/clusterrolebindings", binding))[0] == 201
    assert (await approve(http, "pat", **approver))[0] == 200
    # denying an approved request: mutually exclusive conditions
    _, csr = await call(http, "GET", f"{CSRS}/pat")
    csr["status"]["conditions"].append({"type": "Denied", "status": "True", "reason": "KubectlDeny"})
    code, status = await call(http, "PUT", f"{CSRS}/pat/approval", csr)
    assert code == 422 and "Approved and Denied conditions are mutually exclusive" in status["message"]


async def test_signer_refuses_usages_and_masters(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    _, pem = key_and_request(tmp_path, "srv")
    assert (await call(http, "POST", CSRS, manifest("srv", pem, ("server auth", "client auth"))))[0] == 201
    assert (await approve(http, "srv"))[0] == 200
    csr = await issued(http, "srv")
    failed = csr["status"]["conditions"][-1]
    assert (failed["type"], failed["reason"], failed["message"]) == (
        "Failed", "SignerValidationFailure", "invalid usage for client certificate: server auth")
    assert "certificate" not in csr["status"]
    _, masters = key_and_request(tmp_path, "mallory", ("system:masters",))
    code, status = await call(http, "POST", CSRS, manifest("mallory", masters))
    assert code == 403 and status["message"].endswith(
        "use of kubernetes.io/kube-apiserver-client signer with system:masters group is not allowed")


@pytest.mark.slow
@pytest.mark.skipif(not KUBECTL_132.exists(), reason="kubectl v1.32 is not installed")
async def test_real_kubectl_approves_and_acts_as_the_user(plane: ControlPlane, tmp_path: Path) -> None:
    assert plane.credentials is not None
    kubeconfig = config.write_kubeconfig(plane.rest.address, plane.credentials.admin, plane.rest.ca_pem)
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "HOME": str(tmp_path)}

    async def kubectl(*args: str) -> subprocess.CompletedProcess[str]:  # the plane runs in this event loop
        return await asyncio.to_thread(subprocess.run, [str(KUBECTL_132), *args], env=env, capture_output=True, text=True,
                                       timeout=30)

    key, pem = key_and_request(tmp_path, "myuser")
    (tmp_path / "csr.json").write_text(json.dumps(manifest("myuser", pem)))
    assert (await kubectl("create", "-f", str(tmp_path / "csr.json"))).returncode == 0
    done = await kubectl("certificate", "approve", "myuser")
    assert done.stdout == "certificatesigningrequest.certificates.k8s.io/myuser approved\n", done.stderr

    async def certificate() -> str:
        return (await kubectl("get", "csr", "myuser", "-o", "jsonpath={.status.certificate}")).stdout

    data = await wait_for(certificate, what="the certificate to be issued")
    (tmp_path / "myuser.crt").write_bytes(base64.b64decode(data))
    assert (await kubectl("config", "set-credentials", "myuser", f"--client-key={key}",
                          f"--client-certificate={tmp_path / 'myuser.crt'}", "--embed-certs=true")).returncode == 0
    cluster = (await kubectl("config", "view", "-o", "jsonpath={.clusters[0].name}")).stdout
    assert (await kubectl("config", "set-context", "myuser", f"--cluster={cluster}", "--user=myuser")).returncode == 0
    who = await kubectl("--context", "myuser", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
    assert who.stdout == "myuser", who.stderr
    pods = await kubectl("--context", "myuser", "get", "pods")
    assert pods.returncode == 1 and 'User "myuser" cannot list resource "pods"' in pods.stderr


async def test_kube_tui_certificate_approve_and_deny(plane: ControlPlane, http: aiohttp.ClientSession,
                                                     tmp_path: Path) -> None:
    assert plane.server is not None and plane.credentials is not None
    env = {"KUBE_TUI_SERVER": plane.server.address, "KUBE_TUI_TOKEN": plane.credentials.admin}

    async def cli(*args: str) -> tuple[int, str]:
        r = await asyncio.to_thread(run_cli, list(args), tmp_path / "home", **env)
        return r.returncode, r.stdout + r.stderr

    for name in ("one", "two"):
        _, pem = key_and_request(tmp_path, name)
        assert (await call(http, "POST", CSRS, manifest(name, pem)))[0] == 201
    assert await cli("certificate", "approve", "one") == (
        0, "certificatesigningrequest.certificates.k8s.io/one approved\n")
    assert await cli("certificate", "deny", "two") == (0, "certificatesigningrequest.certificates.k8s.io/two denied\n")
    assert await cli("certificate", "approve", "two") == (1, 'error: certificate signing request "two" is already Denied\n')
    assert await cli("certificate", "approve", "nosuch") == (
        1, 'Error from server (NotFound): certificatesigningrequests.certificates.k8s.io "nosuch" not found\n')
    code, out = await cli("certificate", "approve")
    assert code == 1 and out.startswith("error: one or more CSRs must be specified as <name> or -f <filename>")
    assert (await issued(http, "one"))["status"]["certificate"]
    code, out = await cli("get", "csr")
    assert code == 0 and out.splitlines()[0].split() == ["NAME", "AGE", "SIGNERNAME", "REQUESTOR",
                                                         "REQUESTEDDURATION", "CONDITION"]
    assert [line.split()[-1] for line in out.splitlines()[1:]] == ["Approved,Issued", "Denied"]
