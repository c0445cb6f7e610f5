"""The Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask_socketio import SocketIO
from socketio import RedisManager

from fieldproof.config import Settings
from fieldproof.services import Services
from fieldproof.web import problems
from fieldproof.web.accounts_api import make_accounts_blueprint
from fieldproof.web.api import make_blueprint
from fieldproof.web.cases_api import make_cases_blueprint
from fieldproof.web.log_api import make_log_blueprint
from fieldproof.web.pwa import default_pwa_dir, make_pwa_blueprint
from fieldproof.web.shares_api import make_shares_blueprint
from fieldproof.web.streams_ns import install as install_streams
from fieldproof.web.tiles_api import make_tiles_blueprint
from fieldproof.web.transcripts_api import make_transcripts_blueprint
from fieldproof.web.trust_api import make_trust_blueprint
from fieldproof.web.upload import SpoolingRequest, discard_spools
from fieldproof.web.verify_api import make_verify_blueprint
from fieldproof.web.webcaptures_api import make_webcaptures_blueprint

CHANNEL = "fieldproof-socketio"  # Socket.IO's channel on the cluster's Redis


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
    if settings.trusted_proxies:
        # Behind N reverse proxies, the client's address (custody records, the
        # public endpoints' rate limit) and the public host come from their
        # X-Forwarded-* headers; without this, every client would be the proxy.
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    app.extensions["fieldproof"] = services
    app.teardown_request(discard_spools)
    problems.install(app)
    app.register_blueprint(make_blueprint(services), url_prefix="/api/v1")
    app.register_blueprint(make_accounts_blueprint(services), url_prefix="/api/v1")
    app.register_blueprint(make_log_blueprint(services), url_prefix="/api/v1")
    app.register_blueprint(make_cases_blueprint(services), url_prefix="/api/v1")
    app.register_blueprint(make_webcaptures_blueprint(services), url_prefix="/api/v1")
    app.register_blueprint(make_transcripts_blueprint(services), url_prefix="/api/v1")
    app.register_blueprint(make_shares_blueprint(services), url_prefix="/api/v1")
    app.register_blueprint(make_verify_blueprint(services), url_prefix="/api/v1")
    app.register_blueprint(make_trust_blueprint(services), url_prefix="/api/v1")
    app.register_blueprint(make_tiles_blueprint(services), url_prefix="/tiles")
    app.register_blueprint(make_pwa_blueprint(settings.pwa_dir or default_pwa_dir()))
    # Threading mode: works under gunicorn's gthread worker (simple-websocket)
    # and keeps psycopg and SQLite in ordinary threads.
    # Twice the largest chunk: a chunk somewhat over the limit still reaches the
    # handler, which answers too_large; only a message beyond this is dropped
    # by Engine.IO (clients learn the limit from the start ack).
    # In a cluster (FIELDPROOF_MESSAGE_QUEUE), rooms and events go through the nodes'
    # shared Redis: progress from the node a phone streams to reaches the user's
    # other devices on any node.
    queue: dict[str, Any] = {}
    if settings.message_queue:
        # A Redis host that vanishes is noticed: connecting gives up after 5 s, and
        # the subscriber pings when idle (no read timeout: it waits for messages).
        queue["client_manager"] = RedisManager(
            settings.message_queue, channel=CHANNEL,
            redis_options={"socket_connect_timeout": 5, "socket_keepalive": True,
                           "health_check_interval": 30})
    socketio = SocketIO(app, async_mode="threading",
                        max_http_buffer_size=2 * settings.stream_max_chunk_bytes + 64 * 1024,
                        ping_interval=10, ping_timeout=20, **queue)
    install_streams(socketio, services)
    logging.getLogger("fieldproof").setLevel(logging.INFO)
    return app
