"""Reaching the server from a phone: LAN addresses, a TLS certificate, a QR code.

Camera and geolocation need a secure context, which a LAN address over plain
http is not. `fieldproof serve --https` makes a self-signed certificate on
first start (or takes the operator's), and prints the LAN URL as a QR code.
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fieldproof.storage.keyfiles import write_atomic
from fieldproof.storage.private import private_dir

SIOCGIFADDR = 0x8915


def lan_addresses() -> list[str]:
    """IPv4 addresses of this machine's interfaces, loopback excluded.

    Read from the interfaces themselves (no packet is sent anywhere).
    """
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            try:
                packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR,
                                     struct.pack("256s", name[:15].encode()))
            except OSError:
                continue
            addr = socket.inet_ntoa(packed[20:24])
            if not ipaddress.ip_address(addr).is_loopback and addr not in found:
                found.append(addr)
    return found


def load_or_create_cert(directory: Path, hosts: list[str]) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and ``hosts``; remade if a host is new."""
    private_dir(directory)
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    names = ["localhost", "127.0.0.1", *hosts]
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        have = {str(v) for v in san.get_values_for_type(x509.IPAddress)} | set(
            san.get_values_for_type(x509.DNSName))
        if set(names) <= have and cert.not_valid_after_utc > datetime.now(UTC):
            return cert_path, key_path
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "FieldProof (self-signed)")])
    alt: list[x509.GeneralName] = [x509.DNSName("localhost")]
    for h in names[1:]:
        try:
            alt.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            alt.append(x509.DNSName(h))
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=825))
            .add_extension(x509.SubjectAlternativeName(alt), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    write_atomic(key_path, key.private_bytes(serialization.Encoding.PEM,
                                             serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()))
    write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def qr_text(url: str) -> str:
    """The URL as a QR code drawn with terminal characters (segno)."""
    import io

    import segno

    buf = io.StringIO()
    segno.make(url, error="m").terminal(out=buf, compact=True)
    return buf.getvalue()
