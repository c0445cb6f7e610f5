"""`fieldproof serve --https`: a self-signed certificate, a phone-ready URL as QR."""

from __future__ import annotations

import os
import ssl
import subprocess
import time
from pathlib import Path

import httpx
from cryptography import x509

from fieldproof.cli.lan import lan_addresses, load_or_create_cert, qr_text
from tests.support.live import FIELDPROOF, free_port, run_cli


def test_https_serve_with_generated_certificate(tmp_path: Path) -> None:
    data = tmp_path / "var"
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    # Bound to loopback only: tests never listen on a LAN address.
    proc = subprocess.Popen([FIELDPROOF, "serve", "--https", "--port", str(port),
                             "--data-dir", str(data)], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        cert = data / "keys" / "tls" / "cert.pem"
        deadline = time.monotonic() + 30
        while True:
            try:
                ctx = ssl.create_default_context(cafile=str(cert))
                r = httpx.get(f"https://127.0.0.1:{port}/api/v1/health", verify=ctx, timeout=1)
                break
            except (httpx.HTTPError, OSError, ssl.SSLError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert r.status_code == 200
        assert oct((data / "keys" / "tls" / "key.pem").stat().st_mode & 0o777) == "0o600"
        assert "https://127.0.0.1" in (tmp_path / "serve.log").read_text()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(15)


def test_certificate_names_and_renewal(tmp_path: Path) -> None:
    cert_path, _ = load_or_create_cert(tmp_path, ["192.0.2.10"])
    first = cert_path.read_bytes()
    san = x509.load_pem_x509_certificate(first).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert {str(i) for i in san.get_values_for_type(x509.IPAddress)} == {"127.0.0.1",
                                                                          "192.0.2.10"}
    assert load_or_create_cert(tmp_path, ["192.0.2.10"])[0].read_bytes() == first
    assert load_or_create_cert(tmp_path, ["192.0.2.11"])[0].read_bytes() != first


def test_qr_and_lan_addresses() -> None:
    art = qr_text("https://192.0.2.10:8000/")
    rows = art.strip("\n").splitlines()
    assert len(rows) > 10 and all(len(r) == len(rows[0]) for r in rows)
    assert all(not a.startswith("127.") for a in lan_addresses())


def test_cert_and_key_go_together(tmp_path: Path) -> None:
    (tmp_path / "c.pem").write_text("x")
    out = run_cli("serve", "--https", "--cert", str(tmp_path / "c.pem"), "--data-dir",
                  str(tmp_path / "var"))
    assert out.returncode != 0 and "--cert and --key go together" in out.stderr
