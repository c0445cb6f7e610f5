"""The Flask application factory."""

from __future__ import annotations

import logging

from flask import Flask

from ..config import Settings
from ..services.container import Services
from . import problems
from .api import make_blueprint
from .log_api import make_log_blueprint
from .upload import SpoolingRequest, discard_spools


def create_app(settings: Settings | None = None, services: Services | None = None) -> Flask:
    settings = settings or (services.settings if services else Settings.from_env())
    services = services or Services.build(settings)
    app = Flask(__name__)
    app.request_class = SpoolingRequest
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_upload_bytes,
        JSON_SORT_KEYS=False,
        TESTING=settings.testing,
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["fieldproof"] = services
    app.teardown_request(discard_spools)
    problems.install(app)
    app.register_blueprint(make_blueprint(services), url_prefix="/api/v1")
    app.register_blueprint(make_log_blueprint(services), url_prefix="/api/v1")
    logging.getLogger("fieldproof").setLevel(logging.INFO)
    return app
