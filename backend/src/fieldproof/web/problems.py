"""The one place where errors become RFC 9457 problem+json responses."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from fieldproof.errors import FieldProofError, map_storage_error

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 411: "length_required", 413: "too_large",
               415: "unsupported_media_type", 416: "range_not_satisfiable",
               429: "rate_limited"}


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    resp = Response(json.dumps(body), status=body["status"], mimetype=PROBLEM_JSON)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


class HttpProblem(FieldProofError):
    """What werkzeug refused before a handler ran (404, 405, 413, ...): its status,
    under the stable code _HTTP_CODES gives it."""

    def __init__(self, detail: str, code: str, http_status: int) -> None:
        super().__init__(detail)
        self.code = code  # type: ignore[misc]  # per instance: one class for werkzeug's set
        self.http_status = http_status  # type: ignore[misc]


def install(app: Flask) -> None:
    @app.errorhandler(FieldProofError)
    def _domain(err: FieldProofError) -> Response:
        return domain_problem(err)

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException) -> Response:
        status = err.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        detail = err.description or err.name
        if status == 413:
            limit = request.max_content_length
            detail = (f"the request, or one of its fields, exceeds a size limit (the body "
                      f"may be at most {limit} bytes here)")
        # e.g. Allow on 405; the body is ours, so its Content-Type is too.
        headers = {k: v for k, v in err.get_headers() if k.lower() != "content-type"}
        return problem_response(HttpProblem(detail, code, status).problem()
                                | {"title": err.name}, headers)

    @app.errorhandler(Exception)
    def _unexpected(err: Exception) -> Response:
        mapped = map_storage_error(err)
        if mapped is not None:
            return domain_problem(mapped)
        log.exception("unhandled error")
        return problem_response(FieldProofError("an internal error occurred").problem())


def domain_problem(err: FieldProofError) -> Response:
    if err.http_status >= 500:
        log.error("%s: %s", err.code, err.detail)
    headers: dict[str, str] = {}
    if err.http_status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if "retry_after" in err.extra:
        headers["Retry-After"] = str(max(1, int(err.extra["retry_after"] + 0.999)))
    return problem_response(err.problem(), headers)

