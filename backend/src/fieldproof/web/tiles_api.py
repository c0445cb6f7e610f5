"""The log as C2SP tlog-tiles at ``/tiles``: the files the sequencer wrote to the store.

Served as they are stored, so a static host or the bucket itself can serve the
same names (shared/PROTOCOL.md, "Tiles"). Full tiles and bundles never change
and are cached for a year; the checkpoint and partial tiles only briefly.
Public and not rate-limited: an auditor fetches every tile, and caches in
front of the server absorb repeated reads.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from fieldproof.core.tiles import parse_path
from fieldproof.errors import NotFound
from fieldproof.log.tiles import CHECKPOINT
from fieldproof.services import Services

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=5"


def make_tiles_blueprint(services: Services) -> Blueprint:
    bp = Blueprint("tiles", __name__)
    tiles = services.tiles

    @bp.after_request
    def _cors(resp: Response) -> Response:
        resp.headers["Access-Control-Allow-Origin"] = "*"
        return resp

    @bp.get("/checkpoint")
    def checkpoint() -> Any:
        return Response(tiles.read(CHECKPOINT), content_type="text/plain; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    @bp.get("/tile/<path:rest>")
    def tile(rest: str) -> Any:
        path = f"tile/{rest}"
        try:
            partial = parse_path(path).partial
        except ValueError as exc:
            raise NotFound(f"not a tile path: {path}") from exc
        return Response(tiles.read(path), content_type="application/octet-stream",
                        headers={"Cache-Control": SHORT if partial else IMMUTABLE})

    @bp.get("/<path:rest>")
    def other(rest: str) -> Any:
        # Without this the app's catch-all would answer a wrong tile name with index.html.
        raise NotFound(f"no such resource in the tiled log: {rest}")

    return bp
