"""The cluster's certificate authority and the API server's serving certificate, as kubeadm makes them.

kubectl sends its bearer token only over TLS (client-go leaves credentials off a plain http:// server),
so the REST API (rest.py) serves HTTPS: a CA made on the first start (pki/ca.crt, ca.key) signs a
serving certificate for the addresses the API server answers on (pki/apiserver.crt, apiserver.key);
the kubeconfig carries the CA, so kubectl verifies the server as it would a real cluster's.
"""

from __future__ import annotations

import _ssl
import ctypes
import datetime
import ipaddress
import os
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650  # kubeadm: 10 years for the CA
SIGNING_DURATION = 365 * 24 * 3600  # kube-controller-manager's --cluster-signing-duration: 1 year
BACKDATE = 300  # the CSR signer's backdate: 5 minutes of clock skew
SHORT = datetime.timedelta(hours=8)  # its policy's short certificates (not backdated at their end)
SERVING_DAYS = 365  # kubeadm: 1 year for the serving certificate


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _san(hosts: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for h in dict.fromkeys(["127.0.0.1", "localhost", *hosts]):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            names.append(x509.DNSName(h))
    return x509.SubjectAlternativeName(names)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def make_ca() -> tuple[bytes, bytes]:
    """A new CA: (certificate PEM, key PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(_name("kube-tui-ca")).issuer_name(_name("kube-tui-ca"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=CA_DAYS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def make_serving(ca_pem: bytes, ca_key_pem: bytes, hosts: list[str]) -> tuple[bytes, bytes]:
    """A serving certificate for `hosts` (and 127.0.0.1, localhost), signed by the CA: (cert PEM, key PEM)."""
    ca = x509.load_pem_x509_certificate(ca_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (x509.CertificateBuilder().subject_name(_name("kube-apiserver")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=SERVING_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(_san(hosts), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def _covers(cert_pem: bytes, hosts: list[str]) -> bool:
    """Whether a serving certificate is still good for these hosts for at least a day."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    if cert.not_valid_after_utc - _now() < datetime.timedelta(days=1):
        return False
    have = set(map(str, cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.IPAddress))) | set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName))
    return all(h in have for h in hosts)


def _stored_ca(pki: Path) -> tuple[bytes, bytes]:
    """DATA_DIR/pki's CA (certificate PEM, key PEM), made on the first start."""
    pki.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not (pki / "ca.crt").exists() or not (pki / "ca.key").exists():
        ca_pem, ca_key = make_ca()
        _write(pki / "ca.key", ca_key, 0o600)
        _write(pki / "ca.crt", ca_pem, 0o644)
    return (pki / "ca.crt").read_bytes(), (pki / "ca.key").read_bytes()


def root_ca(data_dir: Path | None) -> bytes:
    """The cluster's CA certificate (PEM) when the REST API is not served: the data dir's (the one the REST
    API would be served with), or one for this run only."""
    return _stored_ca(data_dir / "pki")[0] if data_dir is not None else make_ca()[0]


def server_context(data_dir: Path | None, hosts: list[str]) -> tuple[ssl.SSLContext, bytes, bytes]:
    """The TLS context the REST API serves with, the CA certificate (PEM) clients trust, and the CA's key
    (the CSR signer's: control/controllers/certificates.py).

    The context asks for a client certificate (kube-apiserver's tls.RequestClientCert) and takes any; rest.py
    checks it against the CA (--client-ca-file) and maps it to a user as the x509 authenticator does, so a
    certificate from another CA is 401 Unauthorized, not a broken handshake. A client without one (a bearer
    token) is served as before.

    With a data dir, the CA and serving certificate are kept in DATA_DIR/pki (keys owner-only) and
    reused; the serving certificate is made again when it nears its end or lacks a host. Without one
    (a test's in-memory store) both are made for this run only.
    """
    if data_dir is None:
        ca_pem, ca_key = make_ca()
        cert_pem, key_pem = make_serving(ca_pem, ca_key, hosts)
    else:
        pki = data_dir / "pki"
        ca_pem, ca_key = _stored_ca(pki)
        try:
            cert_pem, key_pem = (pki / "apiserver.crt").read_bytes(), (pki / "apiserver.key").read_bytes()
            fresh = _covers(cert_pem, hosts)
        except (OSError, ValueError, x509.ExtensionNotFound):
            fresh = False
        if not fresh:
            cert_pem, key_pem = make_serving(ca_pem, ca_key, hosts)
            _write(pki / "apiserver.key", key_pem, 0o600)
            _write(pki / "apiserver.crt", cert_pem, 0o644)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if data_dir is not None:  # load_cert_chain reads files: the data dir's own, owner-only
        ctx.load_cert_chain(data_dir / "pki" / "apiserver.crt", data_dir / "pki" / "apiserver.key")
    else:  # a run-only pair goes through an owner-only temporary file, gone at once
        with tempfile.NamedTemporaryFile(prefix="kube-tui-serving-", suffix=".pem") as f:
            f.write(cert_pem + key_pem)
            f.flush()
            ctx.load_cert_chain(f.name)
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.verify_mode = ssl.CERT_OPTIONAL
    ctx.load_verify_locations(cadata=ca_pem.decode())
    _request_any_client_certificate(ctx)
    return ctx, ca_pem, ca_key


_LIBSSL: ctypes.CDLL | None = None


def _accept(ok: int, store: int | None) -> int:
    """OpenSSL's verify callback: every peer certificate is accepted (the TLS layer only collects it). A
    refusal it overrides leaves its reason on OpenSSL's error queue, which the connection's next read would
    report as its own failure ("[ASN1] EVP lib"): cleared."""
    if not ok and _LIBSSL is not None:
        _LIBSSL.ERR_clear_error()
    return 1


_ACCEPT = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)(_accept)


def _request_any_client_certificate(ctx: ssl.SSLContext) -> None:
    """Ask for a client certificate without refusing the handshake over it, as Go's tls.RequestClientCert.

    Python's ssl module has no such mode (CERT_OPTIONAL refuses a certificate the CA did not sign), so the
    context's SSL_CTX is given a verify callback that accepts every certificate, through libssl itself; the
    certificate is then checked per request (client_identity). If the SSL_CTX cannot be found as expected
    (another Python), the context stays CERT_OPTIONAL: a foreign certificate then fails the handshake.
    """
    global _LIBSSL
    try:
        lib = ctypes.CDLL(_ssl.__file__)
        lib.ERR_clear_error.restype, lib.ERR_clear_error.argtypes = None, []
        _LIBSSL = lib
        lib.SSL_CTX_get_verify_mode.restype, lib.SSL_CTX_get_verify_mode.argtypes = ctypes.c_int, [ctypes.c_void_p]
        lib.SSL_CTX_set_verify.restype = None
        lib.SSL_CTX_set_verify.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
        # CPython's PySSLContext: PyObject_HEAD, then the SSL_CTX pointer
        ssl_ctx = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
        if not ssl_ctx or lib.SSL_CTX_get_verify_mode(ssl_ctx) != 1:  # SSL_VERIFY_PEER alone: CERT_OPTIONAL
            return
        lib.SSL_CTX_set_verify(ssl_ctx, 1, ctypes.cast(_ACCEPT, ctypes.c_void_p))
    except (OSError, AttributeError, ValueError):
        return


def stored_signing_ca(data_dir: Path | None) -> tuple[bytes, bytes] | None:
    """DATA_DIR/pki's CA (certificate, key), as the CSR signer signs with it; None without a data dir or CA."""
    if data_dir is None or not (data_dir / "pki" / "ca.key").exists():
        return None
    return (data_dir / "pki" / "ca.crt").read_bytes(), (data_dir / "pki" / "ca.key").read_bytes()


# keyUsagesFromStrings (pkg/controller/certificates/authority/policies.go)
_KEY_USAGES = {"signing": "digital_signature", "digital signature": "digital_signature",
               "content commitment": "content_commitment", "key encipherment": "key_encipherment",
               "key agreement": "key_agreement", "data encipherment": "data_encipherment", "cert sign": "key_cert_sign",
               "crl sign": "crl_sign", "encipher only": "encipher_only", "decipher only": "decipher_only"}
_EXT_KEY_USAGES = {"any": x509.ObjectIdentifier("2.5.29.37.0"), "server auth": ExtendedKeyUsageOID.SERVER_AUTH,
                   "client auth": ExtendedKeyUsageOID.CLIENT_AUTH, "code signing": ExtendedKeyUsageOID.CODE_SIGNING,
                   "email protection": ExtendedKeyUsageOID.EMAIL_PROTECTION,
                   "s/mime": ExtendedKeyUsageOID.EMAIL_PROTECTION,
                   "ipsec end system": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.5"),
                   "ipsec tunnel": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.6"),
                   "ipsec user": x509.ObjectIdentifier("1.3.6.1.5.5.7.3.7"),
                   "timestamping": ExtendedKeyUsageOID.TIME_STAMPING, "ocsp signing": ExtendedKeyUsageOID.OCSP_SIGNING,
                   "microsoft sgc": x509.ObjectIdentifier("1.3.6.1.4.1.311.10.3.3"),
                   "netscape sgc": x509.ObjectIdentifier("2.16.840.1.113730.4.1")}


def sign_request(ca_pem: bytes, ca_key_pem: bytes, req: x509.CertificateSigningRequest, usages: list[str],
                 seconds: int | None, now: datetime.datetime | None = None) -> bytes:
    """The CSR signer's certificate (PEM) for a request: the request's subject, key and alternative names, the
    usages asked for, valid from BACKDATE before now for expirationSeconds (else SIGNING_DURATION, and never
    longer) but never past the CA's own end (authority.go's PermissiveSigningPolicy)."""
    ca = x509.load_pem_x509_certificate(ca_pem)
    ca_key = serialization.load_pem_private_key(ca_key_pem, None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    now = now or _now()
    ttl = datetime.timedelta(seconds=min(seconds, SIGNING_DURATION) if seconds else SIGNING_DURATION)
    backdate = datetime.timedelta(seconds=BACKDATE)
    # a short certificate is good for its whole duration from now, a longer one from its backdated start
    not_after = min(now + ttl if ttl <= SHORT else now - backdate + ttl, ca.not_valid_after_utc)
    flags = dict.fromkeys(("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
                           "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only"), False)
    for u in usages:
        if u in _KEY_USAGES:
            flags[_KEY_USAGES[u]] = True
    builder = (x509.CertificateBuilder().subject_name(req.subject).issuer_name(ca.subject)
               .public_key(req.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - backdate).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if any(flags.values()):
        builder = builder.add_extension(x509.KeyUsage(**flags), critical=True)
    ext = list(dict.fromkeys(_EXT_KEY_USAGES[u] for u in usages if u in _EXT_KEY_USAGES))
    if ext:
        builder = builder.add_extension(x509.ExtendedKeyUsage(ext), critical=False)
    try:
        san = req.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        builder = builder.add_extension(san, critical=False)
    except x509.ExtensionNotFound:
        pass
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    return builder.sign(ca_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def client_identity(der: bytes, ca_pem: bytes) -> tuple[str, list[str]] | str:
    """The x509 authenticator's user for a client certificate: (CN, the Os) when the CA signed it, it is
    within its validity, may authenticate clients (ExtKeyUsageClientAuth, or no extended usages) and has a
    CN; else why not (401)."""
    try:
        cert = x509.load_der_x509_certificate(der)
        ca = x509.load_pem_x509_certificate(ca_pem)
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return "x509: certificate signed by unknown authority"
    now = _now()
    if now < cert.not_valid_before_utc or now > cert.not_valid_after_utc:
        return "x509: certificate has expired or is not yet valid"
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        if ExtendedKeyUsageOID.CLIENT_AUTH not in ext and x509.ObjectIdentifier("2.5.29.37.0") not in ext:
            return "x509: certificate specifies an incompatible key usage"
    except x509.ExtensionNotFound:
        pass
    cn = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if not cn or not cn[0]:
        return "the client certificate has no common name (CN): it names no user"
    return cn[0], [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
