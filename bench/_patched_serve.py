"""`fieldproof` with server-side upload patches, for `python -m bench --patch LEVEL`.

The default bench run measures the server exactly as it is. These patches,
applied only inside this benchmark process, show what two fixes would buy.
They are applied in order; each level includes the ones before it.

``form-limit``
    SpoolingRequest.max_form_memory_size is 64 KiB, the same as werkzeug's
    multipart read size. werkzeug's MultipartDecoder.receive_data checks
    ``len(buffer) + len(chunk) > max_form_memory_size`` for *every* chunk, file
    parts included, and keeps up to len(b"\\r\\n--" + boundary) bytes buffered
    whenever a chunk ends near a CR or LF. The next 64 KiB chunk is then "too
    large" and the upload fails with 413 (reported as "larger than the
    4294967296-byte limit"). Patch: 1 MiB, above one read plus a boundary.

``read-1mib``
    werkzeug's MultiPartParser reads wsgi.input 64 KiB at a time. gunicorn's
    body reader receives up to 1 MiB per recv() and, on every smaller read,
    copies what it still holds (Unreader.read: getvalue, slice, write), so
    64 KiB reads cost many times the bytes they return. Patch: the multipart
    parser reads 1 MiB at a time (max_form_memory_size 2 MiB to match).
"""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from werkzeug.formparser import FormDataParser, MultiPartParser

from fieldproof.web.upload import SpoolingRequest

LEVELS = ("form-limit", "read-1mib")
ENV = "BENCH_SERVER_PATCH"
PROFILE_ENV = "BENCH_SERVER_PROFILE"  # a directory: one cProfile dump per POST /captures
READ_SIZE = 1 << 20


class _LargeReadFormDataParser(FormDataParser):
    def _parse_multipart(self, stream: IO[bytes], mimetype: str, content_length: int | None,
                         options: dict[str, str]) -> Any:
        parser = MultiPartParser(stream_factory=self.stream_factory,
                                 max_form_memory_size=self.max_form_memory_size,
                                 max_form_parts=self.max_form_parts, cls=self.cls,
                                 buffer_size=READ_SIZE)
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


def apply(level: str) -> None:
    if level not in LEVELS:
        raise SystemExit(f"unknown {ENV}={level!r}; one of {', '.join(LEVELS)}")
    SpoolingRequest.max_form_memory_size = 1 << 20  # type: ignore[assignment]
    if LEVELS.index(level) >= LEVELS.index("read-1mib"):
        SpoolingRequest.max_form_memory_size = 2 * READ_SIZE  # type: ignore[assignment]
        SpoolingRequest.form_data_parser_class = _LargeReadFormDataParser


def profile_uploads(out_dir: str) -> None:
    """Wrap create_app so each POST /captures runs under cProfile (diagnosis only)."""
    import cProfile
    import itertools

    import fieldproof.web as web

    real_create_app = web.create_app
    counter = itertools.count(1)

    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = real_create_app(*args, **kwargs)
        inner = app.wsgi_app

        def wsgi_app(environ: dict[str, Any], start_response: Any) -> Any:
            if environ.get("REQUEST_METHOD") != "POST" or not environ.get(
                    "PATH_INFO", "").endswith("/captures"):
                return inner(environ, start_response)
            prof = cProfile.Profile()
            try:
                return prof.runcall(inner, environ, start_response)
            finally:
                prof.dump_stats(os.path.join(out_dir, f"upload-{next(counter)}.prof"))

        app.wsgi_app = wsgi_app  # type: ignore[method-assign]
        return app

    web.create_app = create_app  # type: ignore[assignment]


if __name__ == "__main__":
    if os.environ.get(ENV):
        apply(os.environ[ENV])
    if os.environ.get(PROFILE_ENV):
        profile_uploads(os.environ[PROFILE_ENV])
    from fieldproof.cli import main

    sys.argv[0] = "fieldproof"
    main()
