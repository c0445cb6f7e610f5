"""``GET /api/v1/trust``: every trust anchor a verifier pins, in one public document.

Public, no account, rate-limited per address like the verification endpoints
(ratelimit.public_limit, a bucket of its own).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from fieldproof.public.trust import trust
from fieldproof.ratelimit import public_limit
from fieldproof.services import Services


def make_trust_blueprint(services: Services) -> Blueprint:
    bp = Blueprint("trust_v1", __name__)
    limiter = public_limit(services.settings.public_burst, services.settings.public_per_second,
                           services.settings.message_queue, scope="trust",
                           message="too many requests from this address")

    @bp.after_request
    def _headers(resp: Response) -> Response:
        resp.headers["Access-Control-Allow-Origin"] = "*"
        resp.headers["Cache-Control"] = "no-store"  # tiles_url may follow the Host asked for
        return resp

    @bp.get("/trust")
    def get_trust() -> Any:
        limiter.take(request.remote_addr or "unknown")
        t = trust(services.log, services.identity)
        base = services.settings.public_url or request.host_url.rstrip("/")
        return {
            "log": {"origin": t.origin, "vkey": t.vkey, "key_sha256": t.key_sha256},
            "tiles_url": f"{base}/tiles",
            "server_ca": t.server_ca_pem,
            "tsas": [{"name": a.name, "url": a.url, "embedded": a.embedded,
                      "chain": list(a.chain_pem)} for a in t.tsas],
            "witnesses": [{"name": w.name, "vkey": w.vkey, "key_sha256": w.key_sha256,
                           "url": w.url} for w in t.witnesses],
        }

    return bp
