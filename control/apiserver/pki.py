"""The cluster's certificate authority and the API server's serving certificate, as kubeadm makes them.

kubectl sends its bearer token only over TLS (client-go leaves credentials off a plain http:// server),
so the REST API (rest.py) serves HTTPS: a CA made on the first start (pki/ca.crt, ca.key) signs a
serving certificate for the addresses the API server answers on (pki/apiserver.crt, apiserver.key);
the kubeconfig carries the CA, so kubectl verifies the server as it would a real cluster's.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650  # kubeadm: 10 years for the CA
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


def server_context(data_dir: Path | None, hosts: list[str]) -> tuple[ssl.SSLContext, bytes]:
    """The TLS context the REST API serves with, and the CA certificate (PEM) clients trust.

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
    # load_cert_chain reads files: the pair goes through an owner-only temporary file, gone at once
    with tempfile.NamedTemporaryFile(prefix="kube-tui-serving-", suffix=".pem") as f:
        f.write(cert_pem + key_pem)
        f.flush()
        ctx.load_cert_chain(f.name)
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx, ca_pem
