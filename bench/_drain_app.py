"""A WSGI app that only drains the request body: the HTTP transport's own ceiling.

Run by bench/profile_ingest.py under gunicorn (gthread, as `fieldproof serve`).
BENCH_DRAIN_READ is the size of each wsgi.input.read(), like werkzeug's
multipart parser (64 KiB) or a parser reading 1 MiB at a time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from typing import Any

READ = int(os.environ.get("BENCH_DRAIN_READ", str(64 * 1024)))


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    stream = environ["wsgi.input"]
    size = 0
    t0 = time.perf_counter()
    while block := stream.read(READ):
        size += len(block)
    seconds = time.perf_counter() - t0
    start_response("200 OK", [("Content-Type", "application/json")])
    return [f'{{"bytes": {size}, "seconds": {seconds:.4f}}}'.encode()]
