"""A Request whose uploaded files are spooled to disk and hashed on the way in.

Werkzeug's default keeps small files in memory and large ones in anonymous
temp files, and the service would then read them again to hash them. Here
every file part is written once, into the object store's tmp dir, with its
SHA-256 computed as the bytes arrive (compare SecureDrop's
request_that_secures_file_uploads.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from flask import Request, current_app, g

from ..services.spool import HashingSpool


class SpoolingRequest(Request):
    max_form_memory_size = 64 * 1024  # manifest and signature fields; media never
    max_form_parts = 8

    def _get_file_stream(self, total_content_length: int | None, content_type: str | None,
                         filename: str | None = None,
                         content_length: int | None = None) -> IO[bytes]:
        tmp_dir: Path = current_app.extensions["fieldproof"].store.tmp_dir
        spool = HashingSpool(tmp_dir)
        g.setdefault("spools", []).append(spool)
        return spool  # type: ignore[return-value]


def discard_spools(_exc: Any = None) -> None:
    """Teardown: no spool file outlives its request unless a store took it."""
    for spool in g.pop("spools", []):
        spool.discard()
