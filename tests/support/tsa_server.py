"""A real RFC 3161 TSA over HTTP for tests: ``openssl ts -reply`` behind http.server.

Each request runs one ``openssl ts -reply`` subprocess, so what HttpTSA talks
to is OpenSSL's TSA, not our own encoder. The CA and the TSA certificate are
made with ``cryptography`` into a temporary directory.

The config deliberately has no ``certs =`` line: OpenSSL would then embed the
signer AND the CA in an order that is not DER SET order, and rfc3161-client
rejects such a reply (see shared/notes/FEASIBILITY.md).

``server.mode`` switches behaviour between requests, to test failure handling:

    ok          a genuine reply
    http500     HTTP 500
    garbage     HTTP 200, application/timestamp-reply, random bytes
    wrong_type  a genuine reply labelled text/html
    replay      the first genuine reply this server ever produced, whatever was asked
    huge        a genuine content type with 100 KiB of body
    rejection   a well-formed TimeStampResp with status rejection (badAlg)
    slow        sleeps ``slow_seconds``, then answers 503
"""

from __future__ import annotations

import secrets
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fieldproof.core.timestamp import make_rejection

POLICY = "1.3.6.1.4.1.4146.2.3"  # any OID will do; openssl just echoes it
MODES = ("ok", "http500", "garbage", "wrong_type", "replay", "huge", "rejection", "slow")


def make_ca(directory: Path, *, cn: str = "Test TSA") -> dict[str, Path]:
    """A root CA and a TSA certificate (critical EKU timeStamping), as PEM files."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{cn} Root")])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                           critical=False)
            .sign(root_key, hashes.SHA256()))
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (x509.CertificateBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
           .issuer_name(root_name).public_key(tsa_key.public_key())
           .serial_number(x509.random_serial_number())
           .not_valid_before(now).not_valid_after(now + timedelta(days=30))
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                        False, False), critical=True)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                          critical=True)
           .sign(root_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    paths = {"root": directory / "root.pem", "tsa": directory / "tsa.pem",
             "key": directory / "tsa.key"}
    paths["root"].write_bytes(root.public_bytes(pem))
    paths["tsa"].write_bytes(tsa.public_bytes(pem))
    paths["key"].write_bytes(tsa_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return paths


class OpensslTSA:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        paths = make_ca(directory)
        self.root_pem = paths["root"].read_bytes()
        self.tsa_pem = paths["tsa"].read_bytes()
        self.chain = [self.tsa_pem, self.root_pem]
        (directory / "serial").write_text("01\n")
        self.config = directory / "tsa.cnf"
        self.config.write_text(f"""
[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
serial = {directory}/serial
signer_cert = {paths['tsa']}
signer_key = {paths['key']}
signer_digest = sha256
default_policy = {POLICY}
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
""")
        self.mode = "ok"
        self.slow_seconds = 2.0
        self.requests = 0
        self._first_reply: bytes | None = None
        self._lock = threading.Lock()  # openssl rewrites the serial file per reply
        self._server: ThreadingHTTPServer | None = None
        self.url = ""

    def reply(self, query: bytes) -> bytes:
        with self._lock:
            qfile = self.dir / f"q-{secrets.token_hex(4)}.tsq"
            rfile = qfile.with_suffix(".tsr")
            qfile.write_bytes(query)
            subprocess.run(["openssl", "ts", "-reply", "-config", str(self.config),
                            "-queryfile", str(qfile), "-out", str(rfile)],
                           check=True, capture_output=True)
            out = rfile.read_bytes()
            qfile.unlink()
            rfile.unlink()
            if self._first_reply is None:
                self._first_reply = out
            return out

    def _respond(self, query: bytes) -> tuple[int, str, bytes]:
        mode = self.mode
        reply_type = "application/timestamp-reply"
        if mode == "http500":
            return 500, "text/plain", b"TSA on fire"
        if mode == "garbage":
            return 200, reply_type, secrets.token_bytes(300)
        if mode == "huge":
            return 200, reply_type, b"\0" * (100 * 1024)
        if mode == "rejection":
            return 200, reply_type, make_rejection(text="unsupported algorithm",
                                                   fail_info={"bad_alg"})
        if mode == "slow":
            # The client has given up by now; answering without openssl keeps a
            # late request from touching a temp dir the fixture already removed.
            time.sleep(self.slow_seconds)
            return 503, "text/plain", b"too late"
        if mode == "replay" and self._first_reply is not None:
            return 200, reply_type, self._first_reply
        body = self.reply(query)
        return 200, "text/html" if mode == "wrong_type" else reply_type, body

    def start(self) -> None:
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                query = self.rfile.read(length)
                tsa.requests += 1
                try:
                    code, ctype, body = tsa._respond(query)
                except subprocess.CalledProcessError as exc:
                    code, ctype, body = 500, "text/plain", exc.stderr
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left, as the slow mode intends

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep pytest output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}/tsa"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextmanager
def openssl_tsa(directory: Path | None = None) -> Iterator[OpensslTSA]:
    """Run an openssl-backed TSA on 127.0.0.1:<free port> for the block's duration."""
    with tempfile.TemporaryDirectory(prefix="tsa-") as tmp:
        tsa = OpensslTSA(Path(directory or tmp))
        tsa.start()
        try:
            yield tsa
        finally:
            tsa.stop()
