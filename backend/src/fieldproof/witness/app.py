"""The witness's HTTP interface (C2SP tlog-witness): ``POST /add-checkpoint``.

Answers as the spec says: 200 with cosignature lines, 409 with the latest
cosigned size as ``text/x.tlog.size``, and 400/403/404/422 for the rest, each
with a problem+json body and a stable ``code``. ``GET /`` names the witness
(its vkey) for a person setting up a log.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, request

from fieldproof.core.cosignature import MAX_REQUEST, AddCheckpoint
from fieldproof.errors import FieldProofError, TooLarge, WitnessConflict
from fieldproof.web import problems
from fieldproof.witness.state import WitnessState

log = logging.getLogger(__name__)


def create_witness_app(state: WitnessState) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST
    problems.install(app)

    @app.get("/")
    def about() -> Response:
        text = (f"FieldProof witness {state.cosigner.key.name}\n"
                f"vkey {state.cosigner.key.vkey()}\n"
                + "".join(f"log {v.vkey()}\n" for v in state.logs.values()))
        return Response(text, mimetype="text/plain")

    @app.post("/add-checkpoint")
    def add_checkpoint() -> Response:
        try:
            if (request.content_length or 0) > MAX_REQUEST:
                raise TooLarge(f"at most {MAX_REQUEST} bytes")
            req = AddCheckpoint.parse(request.get_data(cache=False))
            lines = state.add(req)
        except WitnessConflict as exc:
            log.info("add-checkpoint: 409 %s", exc.detail)
            return Response(f"{exc.extra['size']}\n", status=409,
                            content_type="text/x.tlog.size")
        except FieldProofError as exc:
            log.info("add-checkpoint: %d %s %s", exc.http_status, exc.code, exc.detail)
            raise
        return Response(lines, mimetype="text/plain; charset=utf-8")

    return app
