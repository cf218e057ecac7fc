"""TLS for the federated run's gRPC links: the certificates, made by one documented command
(``python -m dxcore federate certificates --out DIR --host SERVER_NAME``), and their reading.

:func:`make_certificates` writes three files: ``ca.crt``, a certificate authority made for
this federation alone; ``server.crt``, the server's certificate signed by it and valid for the
server's names and addresses; and ``server.key``, the server's private key (readable by its
owner only). The server uses all three; every site gets ``ca.crt`` alone, with which its
client checks that it talks to this server and no other. The authority's own private key is
never written: it signs the one server certificate and is gone, so nobody can sign another
server with it; to renew or add a name, make new certificates and give the sites the new
``ca.crt``.

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> sorted(p.name for p in make_certificates(folder, ["fl.example.org"]).values())
    ['ca.crt', 'server.crt', 'server.key']
    >>> len(server_certificates(folder))
    3
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from dxcore.errors import DxError

CA_FILE, CERTIFICATE_FILE, KEY_FILE = "ca.crt", "server.crt", "server.key"
VALID_DAYS = 365
# Names every server certificate holds: the sites of a run on one machine reach the server
# at these.
LOCAL_NAMES = ("localhost", "127.0.0.1")
MAKE_COMMAND = "python -m dxcore federate certificates --out DIR --host SERVER_NAME"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Dx federated training"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _subject_names(hosts: list[str]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys([*hosts, *LOCAL_NAMES]):  # once each, in the order given
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def make_certificates(out_dir: Path, hosts: list[str] | None = None,
                      days: int = VALID_DAYS) -> dict[str, Path]:
    """A new authority and a server certificate valid for ``hosts`` (the server's names and
    addresses as the sites will dial them; by default this machine's name) and for
    ``localhost`` / ``127.0.0.1``; existing files are never overwritten."""
    hosts = [h.strip() for h in (hosts or [socket.gethostname()]) if h.strip()]
    paths = {"ca": out_dir / CA_FILE, "certificate": out_dir / CERTIFICATE_FILE,
             "key": out_dir / KEY_FILE}
    if existing := [p.name for p in paths.values() if p.exists()]:
        raise DxError(f"{out_dir} already holds {', '.join(existing)}; choose an empty folder "
                      "(certificates are never overwritten).")
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)  # clock skew
    end = start + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Dx federation authority")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                       key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, key_cert_sign=True, crl_sign=True,
                                       encipher_only=False, decipher_only=False),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(_name(hosts[0] if hosts else "localhost"))
              .issuer_name(ca_name).public_key(server_key.public_key())
              .serial_number(x509.random_serial_number())
              .not_valid_before(start).not_valid_after(end)
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(x509.SubjectAlternativeName(_subject_names(hosts)), critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    out_dir.mkdir(parents=True, exist_ok=True)
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["certificate"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    # the key is created readable by its owner only, never briefly readable by others
    descriptor = os.open(paths["key"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as key_file:
        key_file.write(server_key.private_bytes(serialization.Encoding.PEM,
                                                serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return paths


def fingerprint(certificate: bytes) -> str:
    """The certificate's SHA-256 fingerprint as ``openssl x509 -noout -fingerprint -sha256``
    prints it: what a site reads back to the coordinator to know its ca.crt is the real one."""
    digest = x509.load_pem_x509_certificate(certificate).fingerprint(hashes.SHA256())
    return ":".join(f"{byte:02X}" for byte in digest)


def server_names(certificate: bytes) -> list[str]:
    """The names and addresses a server certificate is valid for."""
    names = x509.load_pem_x509_certificate(certificate).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    return [str(n.value) for n in names]


def _read(path: Path, what: str) -> bytes:
    if not path.is_file():
        raise DxError(f"The {what} {path} is not there; make the certificates with "
                      f"`{MAKE_COMMAND}`.")
    return path.read_bytes()


def root_certificate(path: str | Path, what: str = "root certificate") -> bytes:
    """A site's copy of the federation's ``ca.crt`` (or another of the certificates),
    checked to be a PEM certificate."""
    data = _read(Path(path), what)
    try:
        x509.load_pem_x509_certificate(data)
    except ValueError:
        raise DxError(f"The {what} {path} is not a PEM certificate; use the files made by "
                      f"`{MAKE_COMMAND}`.") from None
    return data


def server_certificates(folder: str | Path) -> tuple[bytes, bytes, bytes]:
    """(authority, server certificate, server key) from a folder :func:`make_certificates`
    wrote, as Flower's server takes them; a missing or unreadable file is named."""
    folder = Path(folder)
    ca = root_certificate(folder / CA_FILE, "authority's certificate")
    certificate = root_certificate(folder / CERTIFICATE_FILE, "server certificate")
    key = _read(folder / KEY_FILE, "server key")
    try:
        serialization.load_pem_private_key(key, password=None)
    except (ValueError, TypeError):
        raise DxError(f"{folder / KEY_FILE} is not an unencrypted PEM private key.") from None
    return ca, certificate, key
