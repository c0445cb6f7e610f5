"""A local website for web capture tests, on 127.0.0.1: plain HTTP and HTTPS with a
test certificate, a long page with known text, a video with a tone, an HLS "live"
stream that ffmpeg makes while the test runs, and redirects."""

from __future__ import annotations

import base64
import hashlib
import http.server
import ipaddress
import shutil
import ssl
import subprocess
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.waiting import wait_until

KNOWN_TEXT = "KNOWN-TEXT-7f3a 房东承诺退还押金"
# a full-width block of this colour heads the page: the screenshots must show it
BANNER_RGB = (0, 150, 136)


def _page() -> str:
    paras = "".join(f"<p>Paragraph {i}: the landlord promised to return the deposit. "
                    f"房东承诺退还押金。</p>" for i in range(120))
    r, g, b = BANNER_RGB
    return ("<!doctype html><meta charset=utf-8><title>Evidence page</title>"
            f"<div style='height:200px;background:rgb({r},{g},{b})'></div>"
            f"<h1>{KNOWN_TEXT}</h1>{paras}<p id=end>END-OF-PAGE</p>")


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(url.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        super().do_GET()


class LocalSite:
    """``with LocalSite(dir) as site:`` gives ``site.http`` and ``site.https`` base URLs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.servers: list[http.server.ThreadingHTTPServer] = []
        self.hls: subprocess.Popen[bytes] | None = None
        self.cert_der = b""
        self.spki_sha256_b64 = ""

    def __enter__(self) -> LocalSite:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "page.html").write_text(_page(), "utf-8")
        (self.root / "video.html").write_text(
            "<!doctype html><meta charset=utf-8><title>Video</title><h1>A video</h1>"
            "<video src=clip.mp4 controls width=640></video>", "utf-8")
        (self.root / "live.html").write_text(
            "<!doctype html><meta charset=utf-8><title>Live</title><h1>LIVE-SALE</h1>"
            "<video src=hls/live.m3u8 autoplay controls width=640></video>", "utf-8")
        subprocess.run(
            ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
             "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i",
             "sine=frequency=440:sample_rate=48000", "-t", "6", "-c:v", "libx264",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(self.root / "clip.mp4")],
            check=True, timeout=120)
        self.http = self._serve(None)
        self.https = self._serve(self._tls())
        return self

    def _serve(self, ctx: ssl.SSLContext | None) -> str:
        root = str(self.root)

        class Handler(_Handler):
            def __init__(self, *a: object, **kw: object) -> None:
                super().__init__(*a, directory=root, **kw)  # type: ignore[arg-type]

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if ctx is not None:
            srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.servers.append(srv)
        scheme = "https" if ctx else "http"
        return f"{scheme}://127.0.0.1:{srv.server_address[1]}"

    def _tls(self) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fieldproof-test-site")])
        now = datetime.now(UTC)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - timedelta(hours=1))
                .not_valid_after(now + timedelta(days=2))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                     x509.DNSName("localhost")]), critical=False)
                .sign(key, hashes.SHA256()))
        self.cert_der = cert.public_bytes(serialization.Encoding.DER)
        spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
        self.spki_sha256_b64 = base64.b64encode(hashlib.sha256(spki).digest()).decode()
        (self.root.parent / "site-cert.pem").write_bytes(
            cert.public_bytes(serialization.Encoding.PEM))
        (self.root.parent / "site-key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.root.parent / "site-cert.pem", self.root.parent / "site-key.pem")
        return ctx

    @property
    def cert_sha256(self) -> str:
        return hashlib.sha256(self.cert_der).hexdigest()

    def start_live(self, seconds: int = 120) -> None:
        """ffmpeg makes an HLS stream (1 s segments, a 660 Hz tone) in real time."""
        hls = self.root / "hls"
        shutil.rmtree(hls, ignore_errors=True)
        hls.mkdir()
        self.hls = subprocess.Popen(
            ["ffmpeg", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
             "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i",
             "sine=frequency=660:sample_rate=48000", "-t", str(seconds), "-c:v", "libx264",
             "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-f", "hls", "-hls_time", "1",
             "-hls_list_size", "6", "-hls_flags", "delete_segments", str(hls / "live.m3u8")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until("the HLS playlist has 2 segments", lambda: (hls / "live.m3u8").exists()
                   and (hls / "live.m3u8").read_text().count(".ts") >= 2, timeout=30)

    def __exit__(self, *exc: object) -> None:
        if self.hls is not None and self.hls.poll() is None:
            self.hls.kill()
            self.hls.wait()
        for srv in self.servers:
            srv.shutdown()
            srv.server_close()


def media_seconds(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                          "-of", "default=nw=1:nk=1", str(path)], capture_output=True,
                         text=True, check=True, timeout=60)
    return float(out.stdout.strip())


def mean_volume_db(path: Path) -> float:
    out = subprocess.run(["ffmpeg", "-hide_banner", "-i", str(path), "-af", "volumedetect",
                          "-vn", "-f", "null", "-"], capture_output=True, text=True,
                         timeout=120)
    for line in out.stderr.splitlines():
        if "mean_volume:" in line:
            return float(line.split("mean_volume:")[1].split("dB")[0])
    raise AssertionError(f"no audio in {path}: {out.stderr[-500:]}")


__all__ = ["BANNER_RGB", "KNOWN_TEXT", "LocalSite", "mean_volume_db", "media_seconds"]
