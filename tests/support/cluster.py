"""The deployment of docker/compose.yml, as processes on this machine.

There is no Docker engine here, so the cluster tests run what the compose file
says, service by service: the commands and environment of ``init``, ``app1``,
``app2`` and ``worker`` are read from docker/compose.yml, and only host names,
ports and paths are rewritten to local ones. nginx runs docker/nginx.conf in
front, rewritten the same way. Redis (for Valkey) is a ``redis-server`` of the
test's own, PostgreSQL a database of its own on the running server, S3 the
session's rclone server.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import yaml

from tests.support.accounts import wait_for_port
from tests.support.live import FIELDPROOF, Service, free_port, run_cli
from tests.support.paths import ROOT
from tests.support.s3server import S3Server

COMPOSE = ROOT / "docker" / "compose.yml"
NGINX_CONF = ROOT / "docker" / "nginx.conf"
FIELDPROOF_SERVICES = ("init", "app1", "app2", "worker")
NODES = ("app1", "app2")


def compose() -> dict[str, Any]:
    return dict(yaml.safe_load(COMPOSE.read_text()))


def interpolate(value: str, env_file: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}``."""
    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2) or "", m.group(3) or ""
        got = env_file.get(name, "")
        if op == ":?" and not got:
            raise KeyError(f"{name} is required: {arg}")
        return got if got or op != ":-" else arg
    return re.sub(r"\$\{([A-Z0-9_]+)(:[-?])?([^}]*)\}", one, value)


def service(name: str, env_file: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """A compose service's command and environment, interpolated."""
    svc = compose()["services"][name]
    env = {k: interpolate(str(v), env_file) for k, v in svc["environment"].items()}
    return [str(a) for a in svc["command"]], env


def render_nginx(upstreams: dict[str, int], listen: int, tmp: Path, *,
                 tls_listen: int | None = None, tls_dir: Path | None = None) -> Path:
    """docker/nginx.conf with local ports: ``app1:8000`` -> 127.0.0.1:<port>, ...

    Port 80 (the redirect to TLS) becomes ``listen``'s plain HTTP front, so the
    tests' clients can use it; TLS listens on ``tls_listen`` with the test's own
    certificate, when given.
    """
    conf = NGINX_CONF.read_text()
    for host, port in upstreams.items():
        conf = conf.replace(f"server {host}:8000", f"server 127.0.0.1:{port}")
    unknown = re.findall(r"server (app\d+):8000", conf)
    if unknown:
        raise AssertionError(f"nginx.conf names nodes the test does not run: {unknown}")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    front = f"listen 127.0.0.1:{listen};"
    if tls_listen is not None:
        front += f"\n        listen 127.0.0.1:{tls_listen} ssl;"
    conf = conf.replace("listen 443 ssl;", front)
    conf = conf.replace("/etc/fieldproof/tls", str(tls_dir or tmp / "tls"))
    conf = conf.replace("/tmp/nginx-", f"{tmp}/nginx-")
    if os.geteuid() == 0:
        # Started as root, nginx's workers would run as nobody, who may not
        # enter the test's private directories to buffer a request body there
        # (a body over client_body_buffer_size then got a 500). In the image,
        # nginx's own user owns /tmp/nginx-*.
        conf = "user root;\n" + conf
    out = tmp / "nginx.conf"
    out.write_text(conf)
    return out


def self_signed(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
                   check=True, capture_output=True)
    return directory


@dataclass
class RedisServer:
    """A redis-server of the test's own (standing in for Valkey): nothing on disk."""

    base: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.port = self.port or free_port()
        log = (self.base / f"redis-{self.port}.log").open("ab")
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port)
        return self

    def stop(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(15)

    def subscribers(self) -> dict[str, int]:
        """Subscribers of the nodes' channels (PUBSUB NUMSUB); none while it is down."""
        import redis

        channels = ("fieldproof-socketio", "fieldproof:revoked")
        try:
            with redis.Redis(port=self.port, socket_timeout=5) as r:
                counts = r.pubsub_numsub(*channels)
        except redis.RedisError:
            return {}
        return {(c.decode() if isinstance(c, bytes) else c): int(n) for c, n in counts}


@dataclass
class Process(Service):
    """One FieldProof service of the compose file, as a process."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_file: Path
    port: int | None = None
    proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return self.argv

    @property
    def log_path(self) -> Path:
        return self.log_file


@dataclass
class Cluster:
    """init, two app nodes, workers and nginx: compose.yml's topology."""

    base: Path
    pg_admin: str
    s3: S3Server
    extra_env: dict[str, str] = field(default_factory=dict)
    worker_env: dict[str, str] = field(default_factory=dict)  # the first worker's only
    redis: RedisServer | None = None
    nodes: dict[str, Process] = field(default_factory=dict)
    workers: list[Process] = field(default_factory=list)
    database: str = ""
    front_port: int = 0
    nginx: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The load balancer: what phones and lawyers use."""
        return f"http://127.0.0.1:{self.front_port}"

    def env_file(self) -> dict[str, str]:
        """What an operator writes into docker/.env (the S3 keys are rclone's)."""
        return {"POSTGRES_PASSWORD": "not-used-with-trust-auth",
                "S3_ACCESS_KEY": self.s3.access_key, "S3_SECRET_KEY": self.s3.secret_key,
                "FIELDPROOF_PUBLIC_URL": self.url,
                # rclone ignores object lock: the init service would rightly refuse
                # a retention it cannot enforce.
                "FIELDPROOF_S3_RETENTION_DAYS": "0"}

    def localise(self, name: str, argv: list[str], env: dict[str, str]
                 ) -> tuple[list[str], dict[str, str]]:
        """compose's host names and paths -> this machine's."""
        out = dict(env)
        pg = dict(p.split("=", 1) for p in self.pg_admin.split())
        out["DATABASE_URL"] = env["DATABASE_URL"].replace(
            "@postgres:5432/fieldproof", f"@{pg['host']}:{pg['port']}/{self.database}")
        assert self.redis is not None
        out["FIELDPROOF_MESSAGE_QUEUE"] = env["FIELDPROOF_MESSAGE_QUEUE"].replace(
            "redis://valkey:6379", f"redis://127.0.0.1:{self.redis.port}")
        out["FIELDPROOF_S3_ENDPOINT"] = env["FIELDPROOF_S3_ENDPOINT"].replace(
            "s3:8333", self.s3.endpoint)
        out["FIELDPROOF_S3_BUCKET"] = self.bucket
        out["FIELDPROOF_KEYS_DIR"] = str(self.base / "keys")
        out["FIELDPROOF_DATA_DIR"] = str(self.base / name)
        out.update(self.extra_env)
        argv = [FIELDPROOF if a == "fieldproof" else a for a in argv]
        return argv, out

    def start(self) -> Cluster:
        self.base.mkdir(parents=True, exist_ok=True)
        self.bucket = f"c-{secrets.token_hex(6)}"
        self.redis = RedisServer(self.base).start()
        self.database = f"fieldproof_cluster_{secrets.token_hex(4)}"
        with psycopg.connect(self.pg_admin + " dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'fieldproof'").fetchone() \
                    is None:
                conn.execute("CREATE ROLE fieldproof LOGIN")
            conn.execute(f'ALTER DATABASE "{self.database}" OWNER TO fieldproof')
        self.front_port = free_port()
        # init: migrate, the shared keys, the bucket; it must succeed before any node.
        argv, env = self.localise("init", *service("init", self.env_file()))
        done = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        for name in NODES:
            self.nodes[name] = self._node(name).start()
        self.start_worker("worker", **self.worker_env)
        self._start_nginx()
        return self

    def _node(self, name: str) -> Process:
        argv, env = self.localise(name, *service(name, self.env_file()))
        port = free_port()
        i = argv.index("--port")
        argv[i + 1] = str(port)
        argv[argv.index("--host") + 1] = "127.0.0.1"  # binds loopback only, here
        return Process(name, argv, env, self.base / f"{name}.log", port=port)

    def restart_node(self, name: str) -> Process:
        old = self.nodes[name]
        node = Process(name, old.argv, old.env, old.log_path, port=old.port).start()
        self.nodes[name] = node
        return node

    def start_worker(self, name: str, **env: str) -> Process:
        argv, base_env = self.localise(name, *service("worker", self.env_file()))
        base_env["FIELDPROOF_NODE_NAME"] = name
        worker = Process(name, argv, {**base_env, **env}, self.base / f"{name}.log").start()
        self.workers.append(worker)
        return worker

    def _start_nginx(self) -> None:
        conf = render_nginx({n: p.port or 0 for n, p in self.nodes.items()}, self.front_port,
                            self.base, tls_dir=self_signed(self.base / "tls"))
        self.nginx = subprocess.Popen(
            [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-g", "daemon off;"],
            stderr=(self.base / "nginx.log").open("ab"))
        wait_for_port(self.front_port)

    def node_behind_front(self) -> str:
        """Which node the load balancer sends this machine's address to (ip_hash)."""
        return str(httpx.get(self.url + "/api/v1/health", timeout=10).json()["node"])

    def create_user(self, email: str, password: str = "correct horse battery") -> str:
        node = next(iter(self.nodes.values()))
        out = run_cli("admin", "create-user", email, "--password-stdin", "--print-token",
                      env=node.env, stdin=password + "\n")
        assert out.returncode == 0, out.stderr
        return out.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(15)
        for p in [*self.nodes.values(), *self.workers]:
            p.kill(signal.SIGTERM)
        if self.redis is not None:
            self.redis.stop()
        if self.database:
            with psycopg.connect(self.pg_admin + " dbname=postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


def main(argv: list[str] | None = None) -> int:
    """``make cluster``: the same topology for development, until Ctrl-C."""
    import argparse
    import tempfile
    import threading

    from tests.support.postgres import admin_dsn
    from tests.support.s3server import rclone_s3

    p = argparse.ArgumentParser(
        prog="make cluster",
        description="Run docker/compose.yml's cluster as processes on this machine: init, "
                    "two app nodes behind nginx, the worker, a Redis, a database of its own "
                    "on the PostgreSQL server, and an rclone S3 server. Ctrl-C stops it "
                    "and drops the database.")
    p.add_argument("--dir", type=Path, help="where logs and data go (default: a new "
                   "temporary directory)")
    p.add_argument("--pg", default=admin_dsn(),
        help="libpq parameters of a PostgreSQL role that may create databases")
    p.add_argument("--email", default="dev@example.org", help="the first user's email")
    args = p.parse_args(argv)
    base = args.dir or Path(tempfile.mkdtemp(prefix="fieldproof-cluster-"))
    base.mkdir(parents=True, exist_ok=True)
    base.chmod(0o700)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with rclone_s3(base / "s3") as s3:
        cluster = Cluster(base / "cluster", args.pg, s3)
        try:
            cluster.start()
            password = secrets.token_urlsafe(12)
            token = cluster.create_user(args.email, password)
            nodes = ", ".join(f"{n} {p.url}" for n, p in cluster.nodes.items())
            print(f"cluster up: {cluster.url} (nginx; nodes {nodes}; "
                  f"database {cluster.database}; logs in {base / 'cluster'})\n"
                  f"first user: {args.email}, password {password}\n"
                  f"token (for fieldproof client --server {cluster.url} --token ...):\n"
                  f"{token}\nCtrl-C stops the cluster.", flush=True)
            stop.wait()
        finally:
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
