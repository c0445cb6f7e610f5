"""The backend serves the built PWA with caching headers that suit each file."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fieldproof.services import Services
from fieldproof.web import create_app


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    d = tmp_path / "dist"
    (d / "assets").mkdir(parents=True)
    (d / "index.html").write_text("<!doctype html><title>app</title>")
    (d / "sw.js").write_text("self.addEventListener('fetch', () => {})")
    (d / "manifest.webmanifest").write_text("{}")
    (d / "assets" / "index-3f2a9c.js").write_text("console.log(1)")
    (d / "icon-192.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "secret.txt").write_text("outside")
    return d


@pytest.fixture
def web(services: Services, dist: Path) -> Any:
    services.settings = replace(services.settings, pwa_dir=dist)
    return create_app(services=services).test_client()


def test_cache_headers(web: Any) -> None:
    index = web.get("/")
    assert index.status_code == 200 and b"<title>app" in index.data
    assert index.headers["Cache-Control"] == "no-cache"
    assert "default-src 'self'" in index.headers["Content-Security-Policy"]
    assert web.get("/sw.js").headers["Cache-Control"] == "no-cache"
    assert web.get("/sw.js").headers["Service-Worker-Allowed"] == "/"
    assert web.get("/manifest.webmanifest").headers["Cache-Control"] == "no-cache"
    asset = web.get("/assets/index-3f2a9c.js")
    assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert web.get("/icon-192.png").headers["Cache-Control"] == "public, max-age=3600"


def test_app_routes_fall_back_to_the_shell_but_never_escape(web: Any) -> None:
    deep = web.get("/captures/123")
    assert deep.status_code == 200 and b"<title>app" in deep.data
    escape = web.get("/../secret.txt")
    assert b"outside" not in escape.data
    assert web.get("/api/v1/nope").json["code"] == "not_found"


def test_unbuilt_app_explains_itself(services: Services, tmp_path: Path) -> None:
    services.settings = replace(services.settings, pwa_dir=tmp_path / "nothing")
    page = create_app(services=services).test_client().get("/")
    assert page.status_code == 200 and b"make install" in page.data
