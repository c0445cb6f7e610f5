"""The documented production front (docker/nginx.conf), really run in front of the app."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import wait_for_port
from tests.support.cluster import compose, render_nginx, self_signed
from tests.support.live import LiveServer, free_port
from tests.support.slow_clients import SlowClients
from tests.support.waiting import wait_until


def test_the_nginx_front_is_valid(tmp_path: Path) -> None:
    """docker/nginx.conf as compose runs it, with local names for its upstreams."""
    conf = render_nginx({"app1": free_port(), "app2": free_port()}, free_port(), tmp_path,
                        tls_listen=free_port(), tls_dir=self_signed(tmp_path / "tls"))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    out = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


@pytest.fixture
def fronted(tmp_path: Path) -> Iterator[tuple[LiveServer, str, int]]:
    """One node behind the front: (the node, the plain front's URL, the TLS port)."""
    srv = LiveServer(tmp_path / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.2",
                                            "FIELDPROOF_TRUSTED_PROXIES": "1"},
                     args=("--threads", "8"))
    srv.data_dir.mkdir(parents=True)
    srv.start()
    port, tls_port = free_port(), free_port()
    # one node behind both upstream lines
    conf = render_nginx({"app1": srv.port, "app2": srv.port}, port, tmp_path,
                        tls_listen=tls_port, tls_dir=self_signed(tmp_path / "tls"))
    nginx = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf),
                              "-g", "daemon off;"], stderr=subprocess.PIPE)
    try:
        wait_for_port(port)
        wait_for_port(tls_port)
        yield srv, f"http://127.0.0.1:{port}", tls_port
    finally:
        nginx.terminate()
        nginx.wait(15)
        srv.stop()


def test_slow_clients_through_the_front(fronted: tuple[LiveServer, str, int]) -> None:
    srv, url, _ = fronted
    front_port = int(url.rsplit(":", 1)[1])
    with SlowClients(front_port, 40, mode="body") as slow:
        wait_until("the slow clients sent two more bytes", lambda: slow.rounds >= 2)
        assert httpx.get(url + "/api/v1/health", timeout=15).status_code == 200
    # and it proxies what the app needs: the client address for rate limits
    # and custody, an upload, the PWA shell
    token = srv.create_user("front@example.org")
    me = httpx.get(url + "/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert httpx.get(url + "/", timeout=15).status_code == 200


def test_the_fronts_healthcheck_sees_the_nodes(fronted: tuple[LiveServer, str, int]) -> None:
    """compose's nginx healthcheck, as written, against the TLS front: healthy
    while a node answers through it, unhealthy once none does."""
    srv, _, tls_port = fronted
    test = compose()["services"]["nginx"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    argv = [a.replace("https://127.0.0.1/", f"https://127.0.0.1:{tls_port}/") for a in test[1:]]
    assert argv != test[1:], "the healthcheck no longer asks the front over TLS"
    assert subprocess.run(argv, capture_output=True, timeout=30).returncode == 0
    srv.stop()
    assert subprocess.run(argv, capture_output=True, timeout=30).returncode != 0
