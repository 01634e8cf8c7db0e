"""The CSR signing controller (pkg/controller/certificates/signer): an approved CertificateSigningRequest for
one of its signers, not denied and not failed, gets its certificate signed with the cluster CA in
status.certificate; a request its signer may not issue (usages, subject) is marked Failed with the signer's
reason, as kube-controller-manager's csrsigning controller does.

Signers: kubernetes.io/kube-apiserver-client (a user's client certificate: CN the user, O the groups) and
kubernetes.io/kube-apiserver-client-kubelet (a node's: system:node:NAME in system:nodes). Requests for any
other signer are left for someone else, as kube-controller-manager leaves them; kubernetes.io/legacy-unknown
cannot be asked for through certificates.k8s.io/v1 at all (validation refuses it).

The CA (certificate and key) is given to the controller manager, as kube-controller-manager's
--cluster-signing-cert-file/--cluster-signing-key-file: `kube-tui control` hands over the one the REST API is
served with (DATA_DIR/pki/ca.crt, ca.key); without one this controller does not run.
"""

from __future__ import annotations

import base64

from cryptography import x509
from cryptography.x509.oid import NameOID

from control.api import certificates as csrs
from control.api import meta
from control.apiserver import pki
from control.client import Client
from control.controllers.base import Controller
from control.controllers.events import EventBroadcaster
from control.controllers.informers import SharedInformers
from control.errors import ApiError
from control.informer import Key
from control.timings import Timings

KUBELET_CLIENT_USAGES = ({"digital signature", "key encipherment", "client auth"}, {"digital signature", "client auth"})


def client_usages_problem(usages: list[str]) -> str:
    """validAPIServerClientUsages: client auth required, digital signature and key encipherment allowed."""
    for u in usages:
        if u not in ("digital signature", "key encipherment", "client auth"):
            return f"invalid usage for client certificate: {u}"
    if "client auth" not in usages:
        return "missing required usage for client certificate: client auth"
    return ""


def kubelet_client_problem(req: x509.CertificateSigningRequest, usages: list[str]) -> str:
    """ValidateKubeletClientCSR: O exactly system:nodes, no alternative names, CN system:node:NAME, and the
    kubelet's usages."""
    orgs = [str(a.value) for a in req.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if orgs != ["system:nodes"]:
        return "subject organization is not system:nodes"
    try:
        san = req.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    for kind, what in ((x509.DNSName, "DNS"), (x509.RFC822Name, "Email"), (x509.IPAddress, "IP"),
                       (x509.UniformResourceIdentifier, "URI")):
        if san is not None and san.get_values_for_type(kind):  # type: ignore[type-var]
            return f"{what} subjectAltNames are not allowed"
    cn = [str(a.value) for a in req.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if not cn or not cn[0].startswith("system:node:"):
        return "subject common name does not begin with system:node:"
    if set(usages) not in KUBELET_CLIENT_USAGES:
        return 'usages did not match [client auth digital signature key encipherment]'
    return ""


SIGNERS = {csrs.KUBE_APISERVER_CLIENT: lambda req, usages: client_usages_problem(usages),
           csrs.KUBE_APISERVER_CLIENT_KUBELET: kubelet_client_problem}


class CSRSigningController(Controller):
    name = "csrsigning"
    event_source = "certificate-controller"
    workers = 2

    def __init__(self, client: Client, informers: SharedInformers, events: EventBroadcaster, timings: Timings,
                 ca: tuple[bytes, bytes]) -> None:
        super().__init__(client, informers, events, timings)
        self.ca = ca
        self.csrs = informers.get("CertificateSigningRequest")
        self.csrs.add_handler(self.enqueue, lambda _old, new: self.enqueue(new), None)

    async def sync(self, key: Key) -> None:
        csr = self.csrs.get(None, key[1])
        if csr is None or not csrs.has_condition(csr, csrs.APPROVED) or csrs.has_condition(csr, csrs.FAILED) \
                or csrs.has_condition(csr, csrs.DENIED):
            return
        spec, status = csr.get("spec") or {}, csr.get("status") or {}
        check = SIGNERS.get(str(spec.get("signerName") or ""))
        if check is None or status.get("certificate"):
            return  # another signer's, or issued already
        try:
            req = csrs.parse_request(csrs.request_bytes(csr) or b"")
        except ValueError as e:
            self.log.warning("unable to parse csr %r: %s", key[1], e)
            return
        usages = [str(u) for u in spec.get("usages") or []]
        problem = check(req, usages)
        new = {**csr, "status": dict(status)}
        if problem:
            new["status"]["conditions"] = [*(status.get("conditions") or []), {
                "type": csrs.FAILED, "status": "True", "reason": "SignerValidationFailure", "message": problem,
                "lastUpdateTime": meta.now()}]
        else:
            seconds = spec.get("expirationSeconds")
            pem = pki.sign_request(*self.ca, req, usages, int(seconds) if seconds else None)
            new["status"]["certificate"] = base64.b64encode(pem).decode()
        try:
            await self.client.update_status(new)
        except ApiError as e:
            if e.code not in (404, 409):  # gone, or changed meanwhile: the informer brings it back
                raise
