"""Serve the built PWA (pwa/dist) at `/` with caching headers that fit it.

- Hashed build assets (/assets/*) never change: cached for a year, immutable.
- index.html, the service worker and the web app manifest must always be
  revalidated, or a phone would keep an old app shell forever.
- Any other GET path that is not the API falls back to index.html, so deep
  links into the app work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, Response, redirect, send_from_directory
from flask.blueprints import BlueprintSetupState
from werkzeug.routing import PathConverter

NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=3600"
ALWAYS_FRESH = {"index.html", "sw.js", "manifest.webmanifest", "registerSW.js",
                "workbox-window.js"}

# Same-origin everything; blob:/data: for captured media previews; the camera,
# microphone, geolocation and screen capture for this origin only.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws: wss:; "
        "worker-src 'self'; manifest-src 'self'; object-src 'none'; base-uri 'self'; "
        "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": ("camera=(self), microphone=(self), geolocation=(self), "
                           "display-capture=(self)"),
}

_NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>FieldProof</title>
</head><body><main><h1>FieldProof</h1><p>The capture app is not built yet: run
<code>make install</code> (it builds <code>pwa/dist</code>). The API is at
<a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></main></body></html>"""


class AppPathConverter(PathConverter):
    """Any path but the API's and Socket.IO's.

    Those never match this GET-only rule, so an unknown API path answers 404
    for every method (not 405, which a catch-all GET rule would cause).
    """

    regex = r"(?!api/|socket\.io)[^/].*?"


def default_pwa_dir() -> Path:
    # backend/src/fieldproof/web/pwa.py -> the repository's pwa/dist
    return Path(__file__).resolve().parents[4] / "pwa" / "dist"


def make_pwa_blueprint(dist: Path) -> Blueprint:
    bp = Blueprint("pwa", __name__)

    def serve(name: str) -> Response:
        if not (dist / "index.html").is_file():
            return Response(_NOT_BUILT, mimetype="text/html", headers={"Cache-Control": NO_CACHE})
        target = (dist / name).resolve()
        if not target.is_relative_to(dist.resolve()) or not target.is_file():
            name = "index.html"  # app routes are handled by the app itself
        resp = send_from_directory(dist, name, max_age=None)
        if name in ALWAYS_FRESH or name.endswith(".html"):
            resp.headers["Cache-Control"] = NO_CACHE
        elif name.startswith("assets/"):
            resp.headers["Cache-Control"] = IMMUTABLE
        else:
            resp.headers["Cache-Control"] = SHORT
        if name == "sw.js":
            resp.headers["Service-Worker-Allowed"] = "/"
        return resp

    @bp.get("/")
    def index() -> Any:
        return serve("index.html")

    @bp.post("/share-target")
    def share_target() -> Any:
        # The app's service worker takes files shared into it (Web Share Target);
        # before it is installed the POST lands here: open the import screen, where
        # the file can be chosen by hand. Nothing shared is kept by the server.
        return redirect("/#/capture/import", code=303)

    @bp.record_once
    def _converter(state: BlueprintSetupState) -> None:
        state.app.url_map.converters["app_path"] = AppPathConverter

    @bp.get("/<app_path:name>")
    def static_file(name: str) -> Any:
        return serve(name)

    @bp.after_app_request
    def security(resp: Response) -> Response:
        for key, value in SECURITY_HEADERS.items():
            resp.headers.setdefault(key, value)
        return resp

    return bp
