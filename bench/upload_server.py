"""A minimal upload server: the baseline for `python -m bench.ingest`.

    python -m bench.upload_server --port 8766 --dir /path/on/the/same/disk

Same transport stack as `fieldproof serve` (one gunicorn gthread worker, the
same timeout) but no application: ``POST /upload`` writes the request body,
1 MiB at a time, into a new file in ``--dir``, fsyncs it and answers 201 with
the byte count and the file's path (the bench removes it, untimed, as the
API's spool is renamed into the store, not removed). Nothing is hashed,
checked or recorded.
Binds 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from ._gunicorn import serve

READ_SIZE = 1 << 20


def make_app(directory: str) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/api/v1/health":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"ok": true}']
        if path != "/upload" or environ["REQUEST_METHOD"] != "POST":
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        left = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"]
        fd, name = tempfile.mkstemp(dir=directory, prefix="plain-", suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            while left > 0:
                block = body.read(min(READ_SIZE, left))
                if not block:
                    break
                fh.write(block)
                left -= len(block)
            fh.flush()
            os.fsync(fh.fileno())
            size = fh.tell()
        out = json.dumps({"size": size, "path": name}).encode()
        start_response("201 Created", [("Content-Type", "application/json"),
                                       ("Content-Length", str(len(out)))])
        return [out]

    return app


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.upload_server", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    args = p.parse_args(argv)

    serve(make_app(args.dir), args.port, threads=8, accesslog=False)


if __name__ == "__main__":
    main()
