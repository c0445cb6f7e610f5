"""A bare Flask-SocketIO echo server: the baseline for `python -m bench.streams`.

    python -m bench.echo_server --port 8765 [--threads 32]

Same transport stack as `fieldproof serve` (Flask-SocketIO in threading mode,
one gunicorn gthread worker with the same settings, namespace ``/streams``)
but no application logic: ``chunk`` acks ``{"ok": true, "seq": …}`` with the
seq read from the chunk header, ``start`` acks with the stream id. Nothing
is verified, stored or committed. Binds 127.0.0.1 only.

With ``--chunks-inline`` it dispatches events as `fieldproof serve` does
(chunks on the connection's reader thread, fieldproof.web.streams_ns.
run_chunks_inline) instead of Flask-SocketIO's default of a thread per event:
the bench reports FieldProof against both.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from typing import Any

from flask import Flask
from flask_socketio import Namespace, SocketIO

from ._gunicorn import serve

NAMESPACE = "/streams"
# FIELDPROOF_STREAM_MAX_CHUNK's default plus room for the header, as the real app.
MAX_HTTP_BUFFER = 4 * 1024 * 1024 + 64 * 1024


class EchoNamespace(Namespace):  # type: ignore[misc]
    def on_connect(self, auth: Any = None) -> None:
        return None

    def on_start(self, data: Any) -> dict[str, Any]:
        header = str(data.get("header", "")) if isinstance(data, dict) else ""
        stream_id = hashlib.sha256(header.encode()).hexdigest()
        return {"ok": True, "stream_id": stream_id, "status": "open", "next_seq": 0}

    def on_chunk(self, data: Any) -> dict[str, Any]:
        try:
            seq = json.loads(data["header"])["seq"]
        except (KeyError, TypeError, ValueError):
            seq = None
        return {"ok": True, "seq": seq}


def create_app(*, chunks_inline: bool = False) -> Flask:
    app = Flask(__name__)

    @app.get("/api/v1/health")
    def health() -> dict[str, Any]:
        return {"ok": True}

    # As fieldproof.web.app.create_app: threading mode, same buffer and pings.
    socketio = SocketIO(app, async_mode="threading", max_http_buffer_size=MAX_HTTP_BUFFER,
                        ping_interval=10, ping_timeout=20)
    socketio.on_namespace(EchoNamespace(NAMESPACE))
    if chunks_inline:
        from fieldproof.web.streams_ns import run_chunks_inline

        run_chunks_inline(socketio.server)
    return app


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.echo_server", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--threads", type=int, default=32)
    p.add_argument("--chunks-inline", action="store_true",
                   help="handle chunks on the connection's reader thread, as fieldproof serve")
    args = p.parse_args(argv)

    serve(create_app(chunks_inline=args.chunks_inline), args.port, args.threads)


if __name__ == "__main__":
    main()
