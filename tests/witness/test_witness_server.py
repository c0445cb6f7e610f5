"""`fieldproof witness init` and `witness serve`, as a real process speaking C2SP
tlog-witness: cosigns what extends its view, refuses the rest with the spec's
statuses, keeps its state across restarts, privately."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldproof.core import merkle
from fieldproof.core.checkpoint import Checkpoint, Signer
from fieldproof.core.cosignature import AddCheckpoint, CosignerKey
from tests.support.live import run_cli
from tests.support.witness import WitnessServer

ORIGIN = "example.org/test-log"


class Log:
    """A log kept in memory, signed by a key the witness follows."""

    def __init__(self, tag: bytes = b"") -> None:
        self.signer = Signer(ORIGIN, Ed25519PrivateKey.generate())
        self.tag = tag
        self.nodes: dict[merkle.NodeId, bytes] = {}
        self.app = merkle.Appender(0, {})

    def grow(self, n: int) -> None:
        for _ in range(n):
            self.nodes.update(self.app.append(merkle.leaf_hash(self.tag + b"%d" % self.app.size)))

    def note(self) -> bytes:
        return self.signer.sign(Checkpoint(ORIGIN, self.app.size, self.app.root()).body())

    def proof(self, old: int) -> tuple[bytes, ...]:
        if old in (0, self.app.size):
            return ()
        return tuple(merkle.consistency_proof(old, self.app.size,
                                              lambda ids: {i: self.nodes[i] for i in ids}))

    def request(self, old: int) -> bytes:
        return AddCheckpoint(old, self.proof(old), self.note()).encode()


@pytest.fixture
def log() -> Log:
    return Log()


@pytest.fixture
def witness(tmp_path: Path, log: Log) -> Iterator[WitnessServer]:
    w = WitnessServer(tmp_path, "witness.test/w1", (log.signer.verifier.vkey(),))
    w.start()
    try:
        yield w
    finally:
        w.stop()


def _add(w: WitnessServer, body: bytes) -> httpx.Response:
    return httpx.post(w.url + "/add-checkpoint", content=body, timeout=10)


def test_init_prints_the_vkey_last_and_never_overwrites(tmp_path: Path) -> None:
    w = WitnessServer(tmp_path, "witness.test/w9", ())
    vkey = w.init()
    key = CosignerKey.parse(vkey)
    assert key.name == "witness.test/w9"
    assert stat.S_IMODE(w.key_file.stat().st_mode) == 0o600
    again = run_cli("witness", "init", "--key", str(w.key_file), "--name", "x")
    assert again.returncode != 0 and "never overwritten" in again.stderr
    assert CosignerKey.parse(vkey) == key  # the file is unchanged
    bad = run_cli("witness", "init", "--key", str(tmp_path / "k2"), "--name", "has space")
    assert bad.returncode == 1 and "vkey_invalid" in bad.stderr


def test_cosigns_what_extends_its_view_and_refuses_the_rest(witness: WitnessServer,
                                                            log: Log) -> None:
    key = CosignerKey.parse(witness.vkey)
    log.grow(5)
    first = _add(witness, log.request(0))
    assert first.status_code == 200, first.text
    note5 = log.note()
    assert key.timestamp(note5 + first.content) is not None
    # the client that forgot: 409, the size as text/x.tlog.size
    log.grow(4)
    stale = _add(witness, log.request(0))
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "text/x.tlog.size" and stale.text == "5\n"
    ok = _add(witness, log.request(5))
    assert ok.status_code == 200 and key.timestamp(log.note() + ok.content)
    # old > size: 400; garbage: 400 with a code
    assert _add(witness, AddCheckpoint(99, (), log.note()).encode()).status_code == 400
    junk = _add(witness, b"hello")
    assert junk.status_code == 400 and junk.json()["code"] == "witness_request_invalid"
    # an unknown log: 404; the log's origin signed by another key: 403
    other = Signer("other.org/log", Ed25519PrivateKey.generate())
    unknown = _add(witness, AddCheckpoint(0, (), other.sign(
        Checkpoint("other.org/log", 1, b"\0" * 32).body())).encode())
    assert unknown.status_code == 404 and unknown.json()["code"] == "witness_unknown_log"
    impostor = Signer(ORIGIN, Ed25519PrivateKey.generate())
    forged = _add(witness, AddCheckpoint(9, (), impostor.sign(
        Checkpoint(ORIGIN, 9, log.app.root()).body())).encode())
    assert forged.status_code == 403 and forged.json()["code"] == "witness_signature_invalid"


def test_a_rewritten_history_is_refused_and_kept_as_evidence(witness: WitnessServer,
                                                            log: Log) -> None:
    log.grow(5)
    assert _add(witness, log.request(0)).status_code == 200
    rewritten = Log(tag=b"rewritten")
    rewritten.signer = log.signer  # the operator holds the log's key
    rewritten.grow(9)
    refused = _add(witness, rewritten.request(5))
    assert refused.status_code == 422 and refused.json()["code"] == "proof_invalid"
    # same size, other root: 409
    same = Log(tag=b"other")
    same.signer = log.signer
    same.grow(5)
    assert _add(witness, same.request(5)).status_code == 409
    evidence = sorted((witness.data_dir / "refused").iterdir())
    assert len(evidence) == 2 and b"old 5\n" in evidence[0].read_bytes()
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in evidence)
    # the honest log still extends: its view was not moved by the refusals
    log.grow(1)
    assert _add(witness, log.request(5)).status_code == 200


def test_state_survives_a_restart(witness: WitnessServer, log: Log) -> None:
    log.grow(7)
    assert _add(witness, log.request(0)).status_code == 200
    witness.stop()
    witness.start()
    again = _add(witness, log.request(0))
    assert again.status_code == 409 and again.text == "7\n"
    assert stat.S_IMODE(witness.data_dir.stat().st_mode) == 0o700
    [state] = (witness.data_dir / "logs").iterdir()
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    # it names itself for whoever sets up a log
    about = httpx.get(witness.url + "/").text
    assert f"vkey {witness.vkey}" in about and log.signer.verifier.vkey() in about
