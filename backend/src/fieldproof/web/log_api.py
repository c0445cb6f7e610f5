"""Public, unauthenticated reads of the transparency log.

Entries hold hashes and key ids only, so anyone (a court, the other side, a
monitor) may read and audit the log without an account.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from fieldproof.errors import QueryInvalid
from fieldproof.services import Services

MAX_CHECKPOINTS = 1000


def _int_arg(name: str, default: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        if default is None:
            raise QueryInvalid(f"query parameter '{name}' is required")
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise QueryInvalid(f"'{name}' must be an integer") from exc
    if value < 0 or value > 2**62:
        raise QueryInvalid(f"'{name}' is out of range")
    return value


def make_log_blueprint(services: Services) -> Blueprint:
    bp = Blueprint("log_v1", __name__)
    tlog = services.log

    @bp.after_request
    def _cors(resp: Response) -> Response:
        # Verification pages elsewhere may read the public log.
        resp.headers["Access-Control-Allow-Origin"] = "*"
        return resp

    @bp.get("/log")
    def info() -> Any:
        return tlog.info()

    @bp.get("/log/checkpoint")
    def checkpoint() -> Any:
        cp = tlog.latest_checkpoint()
        return Response(tlog.cosigned_note(cp), mimetype="text/plain",
                        headers={"Cache-Control": "no-cache"})

    @bp.get("/log/checkpoints")
    def checkpoints() -> Any:
        limit = _int_arg("limit", 100)
        if not 1 <= limit <= MAX_CHECKPOINTS:
            raise QueryInvalid(f"'limit' must be 1..{MAX_CHECKPOINTS}")
        return {"checkpoints": tlog.checkpoints(_int_arg("start", 0), limit)}

    @bp.get("/log/proof/inclusion")
    def inclusion() -> Any:
        return tlog.inclusion(_int_arg("index"), _int_arg("size"))

    @bp.get("/log/proof/consistency")
    def consistency() -> Any:
        return tlog.consistency(_int_arg("first"), _int_arg("second"))

    @bp.get("/log/entries")
    def entries() -> Any:
        return tlog.entries(_int_arg("start"), _int_arg("end"))

    return bp
