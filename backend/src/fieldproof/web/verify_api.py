"""Public verification endpoints for the /verify page (no account needed).

- ``GET /lookup/{sha256}`` and ``POST /lookup {"sha256"}``: was a file with this
  hash anchored, and when (services/lookup.py says what is and is not told).
  The page uses POST, so the hash stays out of access logs and histories.
- ``POST /verify/timestamp {"token_b64", "checkpoint"}``: explain an RFC 3161
  token over a checkpoint, step by step, against this server's TSAs.

Both are rate-limited per client address (a token bucket: 30 requests at
once, then one every 2 seconds; one for all nodes: ratelimit.public_limit),
answering ``429 rate_limited`` with ``retry_after`` and a ``Retry-After`` header.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from flask import Blueprint, Response, request
from flask.blueprints import BlueprintSetupState

from fieldproof.errors import BadRequest, JsonInvalid, RateLimited, TooLarge
from fieldproof.public.lookup import Lookup
from fieldproof.public.timestamps import explain_timestamp
from fieldproof.ratelimit import public_limit
from fieldproof.services import Services
from fieldproof.web.problems import problem_response

MAX_BODY = 64 * 1024  # a JSON body of either endpoint
MAX_TOKEN = 32 * 1024  # a decoded TimeStampResp (ours are ~1.3 KB)
MAX_CHECKPOINT = 8 * 1024  # a signed note (ours are ~200 bytes)
LIMITER_KEY = "fieldproof.verify_limiter"


def _json_body() -> dict[str, Any]:
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise TooLarge(f"the body may be at most {MAX_BODY} bytes")
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise TooLarge(f"the body may be at most {MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise JsonInvalid("expected a JSON object body") from exc
    if not isinstance(body, dict):
        raise JsonInvalid("expected a JSON object body")
    return body


def _field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise BadRequest(f"'{name}' must be a non-empty string")
    return value


def make_verify_blueprint(services: Services) -> Blueprint:
    bp = Blueprint("verify_v1", __name__)
    lookup = Lookup(services.db)
    limiter = public_limit(services.settings.public_burst, services.settings.public_per_second,
                           services.settings.message_queue, scope="verify",
                           message="too many verification requests from this address")

    @bp.record_once
    def _expose(state: BlueprintSetupState) -> None:
        state.app.extensions[LIMITER_KEY] = limiter  # tests tune or inspect it

    def throttle() -> None:
        limiter.take(request.remote_addr or "unknown")

    @bp.errorhandler(RateLimited)
    def _limited(err: RateLimited) -> Response:
        return problem_response(err.problem(),
                                {"Retry-After": str(err.extra.get("retry_after", 1))})

    @bp.after_request
    def _headers(resp: Response) -> Response:
        # Public and credential-free: verification pages elsewhere may call it.
        resp.headers["Access-Control-Allow-Origin"] = "*"
        resp.headers["Access-Control-Allow-Headers"] = "Content-Type"
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @bp.get("/lookup/<sha256>")
    def lookup_get(sha256: str) -> Any:
        throttle()
        return lookup.find(sha256)

    @bp.post("/lookup")
    def lookup_post() -> Any:
        throttle()
        body = _json_body()
        return lookup.find(body.get("sha256"))

    @bp.post("/verify/timestamp")
    def verify_timestamp() -> Any:
        throttle()
        body = _json_body()
        token_b64 = _field(body, "token_b64")
        checkpoint = _field(body, "checkpoint")
        try:
            token = base64.b64decode(token_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadRequest("'token_b64' is not standard base64") from exc
        if len(token) > MAX_TOKEN:
            raise TooLarge(f"the token may be at most {MAX_TOKEN} bytes")
        note = checkpoint.encode("utf-8")
        if len(note) > MAX_CHECKPOINT:
            raise TooLarge(f"the checkpoint may be at most {MAX_CHECKPOINT} bytes")
        return explain_timestamp(token, note, services.log.tsas)

    return bp
