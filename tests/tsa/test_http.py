"""HttpTSA against a real OpenSSL TSA (tests/tsa_server.py): genuine replies
verify with both verifiers; every way a TSA can fail maps to a stable code."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fieldproof.core.timestamp import parse_token, verify_token
from fieldproof.errors import FieldProofError
from fieldproof.tsa import HttpTSA, TimestampAuthority
from tests.support.tsa_server import POLICY, OpensslTSA, make_ca, openssl_tsa

CHECKPOINT = b"fieldproof.example/log\n17\nq7mSg0Hk3cmR0iAfq6dcnkGG0IhzN8g3LSsnQJjBXzU=\n"


@pytest.fixture(scope="module")
def server() -> Iterator[OpensslTSA]:
    with openssl_tsa() as srv:
        yield srv


@pytest.fixture
def srv(server: OpensslTSA) -> Iterator[OpensslTSA]:
    server.mode = "ok"
    yield server
    server.mode = "ok"


def expect(code: str, tsa: HttpTSA, data: bytes = CHECKPOINT) -> FieldProofError:
    with pytest.raises(FieldProofError) as exc:
        tsa.stamp(data)
    assert exc.value.code == code, exc.value.detail
    return exc.value


def test_token_verifies_with_both_verifiers(srv: OpensslTSA, tmp_path: Path) -> None:
    tsa = HttpTSA(srv.url, roots_pem=[srv.root_pem])
    reply = tsa.stamp(CHECKPOINT)

    info = verify_token(reply, CHECKPOINT, roots_pem=[srv.root_pem])
    assert info.policy == POLICY and info.hash_alg == "sha256"
    assert info.tsa_name == "CN=Test TSA" and info.nonce is not None
    assert info.accuracy is not None and info.accuracy.total_seconds() == 1

    files = {"d": CHECKPOINT, "d.tsr": reply, "root.pem": srv.root_pem, "tsa.pem": srv.tsa_pem}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    proc = subprocess.run(["openssl", "ts", "-verify", "-data", str(tmp_path / "d"),
                           "-in", str(tmp_path / "d.tsr"), "-CAfile", str(tmp_path / "root.pem"),
                           "-untrusted", str(tmp_path / "tsa.pem")],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "Verification: OK" in proc.stdout, proc.stderr


def test_nonces_are_fresh(srv: OpensslTSA) -> None:
    tsa = HttpTSA(srv.url)
    nonces = {parse_token(tsa.stamp(CHECKPOINT)).nonce for _ in range(3)}
    assert len(nonces) == 3


def test_identity_and_protocol(srv: OpensslTSA) -> None:
    tsa: TimestampAuthority = HttpTSA(srv.url)
    assert tsa.name == srv.url.split("://", 1)[1] and tsa.embedded is False


def test_http_500_is_unavailable(srv: OpensslTSA) -> None:
    srv.mode = "http500"
    assert "HTTP 500" in expect("tsa_unavailable", HttpTSA(srv.url)).detail


def test_connection_refused_is_unavailable() -> None:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    expect("tsa_unavailable", HttpTSA(f"http://127.0.0.1:{port}/tsa", timeout=2))


def test_timeout_is_unavailable(srv: OpensslTSA) -> None:
    srv.mode, srv.slow_seconds = "slow", 1.0
    expect("tsa_unavailable", HttpTSA(srv.url, timeout=0.2))


def test_garbage_is_invalid(srv: OpensslTSA) -> None:
    srv.mode = "garbage"
    expect("timestamp_invalid", HttpTSA(srv.url))


def test_wrong_content_type_is_invalid(srv: OpensslTSA) -> None:
    srv.mode = "wrong_type"
    assert "text/html" in expect("timestamp_invalid", HttpTSA(srv.url)).detail


def test_oversized_reply_is_invalid(srv: OpensslTSA) -> None:
    srv.mode = "huge"
    assert "exceeds" in expect("timestamp_invalid", HttpTSA(srv.url)).detail


def test_rejection_is_invalid_with_reason(srv: OpensslTSA) -> None:
    srv.mode = "rejection"
    detail = expect("timestamp_invalid", HttpTSA(srv.url)).detail
    assert "rejection" in detail and "bad_alg" in detail


def test_replayed_reply_is_caught_by_nonce(srv: OpensslTSA) -> None:
    tsa = HttpTSA(srv.url, roots_pem=[srv.root_pem])
    tsa.stamp(CHECKPOINT)  # ensures the server has a first reply to replay
    srv.mode = "replay"
    # Even for the very same data, an old reply must not pass as a fresh one.
    assert "nonce" in expect("timestamp_invalid", tsa, CHECKPOINT).detail
    assert "nonce" in expect("timestamp_invalid", tsa, b"other checkpoint").detail


def test_untrusted_tsa_is_invalid_when_roots_configured(srv: OpensslTSA,
                                                        tmp_path: Path) -> None:
    stranger = make_ca(tmp_path, cn="Stranger")["root"].read_bytes()
    detail = expect("timestamp_invalid", HttpTSA(srv.url, roots_pem=[stranger])).detail
    assert "chain" in detail


def test_credentials_never_leak(srv: OpensslTSA) -> None:
    url = srv.url.replace("http://", "http://alice:s3cret@")
    tsa = HttpTSA(url)
    assert tsa.stamp(CHECKPOINT)  # the server ignores auth; the request still goes out
    assert "s3cret" not in repr(tsa) and "s3cret" not in tsa.name and "alice" not in tsa.name
    srv.mode = "http500"
    assert "s3cret" not in expect("tsa_unavailable", tsa).detail
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = expect("tsa_unavailable", HttpTSA(f"http://bob:hunter2@127.0.0.1:{port}/", timeout=2))
    assert "hunter2" not in err.detail and err.__cause__ is None


@pytest.mark.parametrize("url", ["ftp://tsa.example/", "tsa.example", "http:///nohost"])
def test_bad_url_rejected(url: str) -> None:
    with pytest.raises(ValueError):
        HttpTSA(url)
