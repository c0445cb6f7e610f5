"""The embedded TSA at an http:// URL, for the length of one signing.

c2pa-python takes the timestamp authority only as an http(s) URL: the SDK
builds the TimeStampReq over its COSE signature and POSTs it itself, also
with Signer.from_callback (the callback signs, it cannot supply a token).
So the embedded TSA, which has no HTTP endpoint, gets one for the length of
one signing: a ThreadingHTTPServer on 127.0.0.1, an ephemeral port and a
random path (another local process cannot guess it during that second) that
hands the request to EmbeddedTSA.respond. In-process, nothing to configure,
gone when signing returns.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

from fieldproof.errors import FieldProofError
from fieldproof.tsa.embedded import EmbeddedTSA

log = logging.getLogger(__name__)
_MAX_TSA_REQUEST: Final = 16 * 1024
_PROXY_VARS: Final = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
                      "ALL_PROXY", "all_proxy")
_env_lock = threading.Lock()


def _loopback_unproxied() -> None:
    """Keep c2pa's HTTP client from sending 127.0.0.1 to a configured proxy.

    The Rust client honours HTTP_PROXY and friends even for loopback (measured),
    so with a proxy set the local TSA would be unreachable. Adding 127.0.0.1 to
    NO_PROXY changes nothing else. Done before each local signing (never at
    import), under a lock.
    """
    with _env_lock:
        if not any(os.environ.get(v) for v in _PROXY_VARS):
            return
        for var in ("NO_PROXY", "no_proxy"):
            entries = [e.strip() for e in os.environ.get(var, "").split(",") if e.strip()]
            if "127.0.0.1" not in entries and "*" not in entries:
                os.environ[var] = ",".join([*entries, "127.0.0.1"])



class _TsaServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, tsa: EmbeddedTSA) -> None:
        super().__init__(("127.0.0.1", 0), _TsaHandler)
        self.tsa = tsa
        self.path = "/" + secrets.token_urlsafe(16)


class _TsaHandler(BaseHTTPRequestHandler):
    server: _TsaServer
    timeout = 10

    def do_POST(self) -> None:  # http.server's naming
        if self.path != self.server.path:
            self.send_error(404)
            return
        try:
            length = int(self.headers.get("Content-Length") or "-1")
        except ValueError:
            length = -1
        if not 0 < length <= _MAX_TSA_REQUEST:
            self.send_error(400, "a DER TimeStampReq of at most 16 KiB is expected")
            return
        try:
            reply = self.server.tsa.respond(self.rfile.read(length))
        except FieldProofError as exc:
            self.send_error(400, exc.detail)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("local TSA: " + format, *args)


@contextmanager
def loopback_tsa(tsa: EmbeddedTSA) -> Iterator[str]:
    _loopback_unproxied()
    server = _TsaServer(tsa)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                              name="c2pa-local-tsa", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{server.path}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


