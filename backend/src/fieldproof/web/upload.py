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
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser

from fieldproof.capture.spool import HashingSpool
from fieldproof.errors import FormTooLarge, SizeMismatch, TooManyParts

READ_SIZE = 1 << 20


class LargeReadFormDataParser(FormDataParser):
    """werkzeug's parser, reading the body 1 MiB at a time instead of 64 KiB.

    gunicorn's body reader copies what it still buffers on every small read,
    so 64 KiB reads cost several times the bytes they return (measured in
    bench/: about 1.6x the upload throughput with 1 MiB reads).
    """

    def _parse_multipart(self, stream: IO[bytes], mimetype: str,
                         content_length: int | None,
                         options: dict[str, str]) -> Any:
        parser = MultiPartParser(stream_factory=self.stream_factory,
                                 max_form_memory_size=self.max_form_memory_size,
                                 max_form_parts=self.max_form_parts, cls=self.cls,
                                 buffer_size=READ_SIZE)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        try:
            form, files = parser.parse(stream, boundary, content_length)
        except RequestEntityTooLarge as exc:
            # werkzeug says only "too large" for either of its two form limits.
            # A body smaller than a text part may be can only have too many parts.
            limit = self.max_form_memory_size or 0
            if content_length is not None and content_length <= limit:
                raise TooManyParts(f"the form has more than {self.max_form_parts} parts") from exc
            raise FormTooLarge(f"the form has more than {self.max_form_parts} parts, or a text "
                           f"part over {limit} bytes") from exc
        return stream, form, files


class SpoolingRequest(Request):
    # werkzeug checks this against its read buffer for file parts too, so it
    # must exceed one read plus a boundary; text fields are limited again,
    # much tighter, where they are read (web/api.py).
    max_form_memory_size = 2 * READ_SIZE
    max_form_parts = 8
    form_data_parser_class = LargeReadFormDataParser

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


def spool_body(stream: IO[bytes], length: int) -> HashingSpool:
    """A raw upload's body, spooled and hashed as it arrives, 1 MiB at a time.

    ``length`` is the Content-Length the caller checked against the manifest;
    a body that ends early (the client went away) is refused, not kept."""
    tmp_dir: Path = current_app.extensions["fieldproof"].store.tmp_dir
    spool = HashingSpool(tmp_dir)
    g.setdefault("spools", []).append(spool)
    left = length
    try:
        while left > 0:
            block = stream.read(min(READ_SIZE, left))
            if not block:
                break
            spool.write(block)
            left -= len(block)
    except ClientDisconnected:  # werkzeug's word for a body shorter than its length
        pass
    if left:
        raise SizeMismatch(f"the body ended after {length - left} of {length} bytes")
    return spool
