"""An original's exact bytes over HTTP, with one byte range: for the owner
(GET /captures/{id}/original) and for a share link's preview."""

from __future__ import annotations

import base64
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, request, stream_with_context

from fieldproof.capture.records import CaptureRecord
from fieldproof.storage.base import ObjectStore
from fieldproof.web.problems import problem_response


def b64_digest(hex_digest: str) -> str:
    """A hex SHA-256 as the base64 that Repr-Digest carries."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


def opened(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Fetch the first block now, so that a failing store fails before the answer starts."""
    it = iter(blocks)
    try:
        first = next(it)
    except StopIteration:
        return iter(())
    return itertools.chain((first,), it)


def original_response(store: ObjectStore, capture: CaptureRecord, headers: dict[str, str],
                      record: Callable[[dict[str, Any]], None]) -> Response:
    """200 with every byte, 206 with the one range asked for, or 416. The object is
    opened first: a read the store cannot serve is refused (problem+json) and, never
    having happened, is not recorded; then ``record`` gets the custody detail."""
    size = capture.media_size
    start, length, status = 0, size, 200
    headers = {"Accept-Ranges": "bytes", "ETag": f'"{capture.media_sha256}"',
               "Repr-Digest": f"sha-256=:{b64_digest(capture.media_sha256)}:", **headers}
    rng = request.range
    if rng is not None and request.headers.get("Range"):
        bounds = rng.range_for_length(size) if rng.units == "bytes" else None
        if bounds is None or len(rng.ranges) != 1:
            return problem_response(
                {"type": "https://fieldproof.org/problems/range_not_satisfiable",
                 "title": "Range not satisfiable", "status": 416,
                 "code": "range_not_satisfiable",
                 "detail": f"the object has {size} bytes; one byte range is supported"},
                {"Content-Range": f"bytes */{size}"})
        start, stop = bounds
        length, status = stop - start, 206
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    body = opened(store.iter_range(capture.object_key, start, length))
    record({"range": [start, start + length], "of": size})
    resp = Response(stream_with_context(body), status=status,
                    mimetype=capture.media_mime.split(";")[0], headers=headers)
    resp.content_length = length
    return resp
