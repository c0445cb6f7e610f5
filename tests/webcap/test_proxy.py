"""The recording browser's guard proxy, driven by a real HTTP client: private
addresses refused for plain requests and CONNECT tunnels, after a redirect too;
every DNS answer noted; the size limit."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import httpx
import pytest

from fieldproof.webcap.proxy import GUARD_HEADER, GuardProxy


class _Site(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/redirect?to="):
            self.send_response(302)
            self.send_header("Location", self.path.split("=", 1)[1])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"x" * 100_000 if self.path == "/big" else b"hello from the site"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def sites() -> Iterator[tuple[int, int]]:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Site) for _ in range(2)]
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield servers[0].server_address[1], servers[1].server_address[1]
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _client(proxy: GuardProxy) -> httpx.Client:
    return httpx.Client(proxy=f"http://127.0.0.1:{proxy.port}", timeout=10)


def test_private_addresses_are_refused_by_default(sites: tuple[int, int]) -> None:
    port = sites[0]
    with GuardProxy() as proxy, _client(proxy) as http:
        for url in (f"http://127.0.0.1:{port}/", f"http://localhost:{port}/"):
            r = http.get(url)
            assert r.status_code == 403 and r.headers[GUARD_HEADER] == "address_refused"
        with pytest.raises(httpx.ProxyError):  # a CONNECT tunnel is refused the same way
            http.get(f"https://127.0.0.1:{port}/")
    refused = {r["host"] for r in proxy.record.refused}
    assert refused == {"127.0.0.1", "localhost"}
    assert proxy.record.dns["localhost"][0] in ("127.0.0.1", "::1")
    assert proxy.record.connected == {}


def test_allowed_with_the_flag_and_every_answer_noted(sites: tuple[int, int]) -> None:
    with GuardProxy(allow_private=True) as proxy, _client(proxy) as http:
        r = http.get(f"http://localhost:{sites[0]}/")
        assert r.status_code == 200 and r.text == "hello from the site"
        assert GUARD_HEADER not in r.headers
    assert proxy.record.connected[f"localhost:{sites[0]}"] in ("127.0.0.1", "::1")
    assert proxy.record.bytes_in > len("hello from the site")


def test_a_redirect_to_a_refused_address_is_refused(sites: tuple[int, int]) -> None:
    """The first site is allowed (as a public one would be); it redirects to one that
    is not. Every connection is checked, so the second hop never happens."""
    first, second = sites
    with GuardProxy(allowed=lambda address, port: port == first) as proxy, \
            _client(proxy) as http:
        hop = http.get(f"http://127.0.0.1:{first}/redirect?to=http://127.0.0.1:{second}/")
        assert hop.status_code == 302
        r = http.get(f"http://127.0.0.1:{first}/redirect?to=http://127.0.0.1:{second}/",
                     follow_redirects=True)
        assert r.status_code == 403 and r.headers[GUARD_HEADER] == "address_refused"
        assert str(r.url) == f"http://127.0.0.1:{second}/"
    assert list(proxy.record.connected) == [f"127.0.0.1:{first}"]


def test_the_size_limit_stops_the_traffic(sites: tuple[int, int]) -> None:
    with GuardProxy(allow_private=True, max_bytes=50_000) as proxy, _client(proxy) as http:
        with pytest.raises(httpx.HTTPError):
            http.get(f"http://127.0.0.1:{sites[0]}/big").raise_for_status()
        r = http.get(f"http://127.0.0.1:{sites[0]}/")
        assert r.status_code == 507 and r.headers[GUARD_HEADER] == "size_limit"
    assert proxy.record.over_limit
