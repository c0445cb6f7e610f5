"""Witness cosignatures (C2SP tlog-cosignature) and the witness's decision (tlog-witness)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldproof.core import merkle
from fieldproof.core.checkpoint import Checkpoint, Signer
from fieldproof.core.cosignature import (
    AddCheckpoint,
    Cosigner,
    CosignerKey,
    Seen,
    check_add,
    signed_message,
)
from fieldproof.errors import (
    CheckpointError,
    ProofError,
    VkeyInvalid,
    WitnessConflict,
    WitnessRequestInvalid,
    WitnessSignatureInvalid,
    WitnessUnknownLog,
)

ORIGIN = "example.org/log"


def _tree(n: int, tag: bytes = b"") -> tuple[dict[merkle.NodeId, bytes], merkle.Appender]:
    app = merkle.Appender(0, {})
    nodes: dict[merkle.NodeId, bytes] = {}
    for i in range(n):
        nodes.update(app.append(merkle.leaf_hash(tag + b"leaf %d" % i)))
    return nodes, app


def _get(nodes: dict[merkle.NodeId, bytes]) -> merkle.GetNodes:
    return lambda ids: {i: nodes[i] for i in ids}


@pytest.fixture
def log_signer() -> Signer:
    return Signer(ORIGIN, Ed25519PrivateKey.generate())


def test_cosignature_format_follows_the_spec_by_hand() -> None:
    """Key ID, timestamp and signed message rebuilt here from the spec's words."""
    seed = bytes(range(32))
    cosigner = Cosigner("witness.example/w1", Ed25519PrivateKey.from_private_bytes(seed))
    pub = cosigner.key.public_key
    body = b"example.org/log\n5\n" + base64.b64encode(b"\x01" * 32) + b"\n"
    line = cosigner.cosign(body, 1679315147)
    assert line.startswith("\u2014 witness.example/w1 ") and line.endswith("\n")
    blob = base64.b64decode(line.split(" ")[2])
    assert blob[:4] == hashlib.sha256(b"witness.example/w1\n\x04" + pub).digest()[:4]
    assert int.from_bytes(blob[4:12], "big") == 1679315147
    message = b"cosignature/v1\ntime 1679315147\n" + body
    assert signed_message(body, 1679315147) == message
    Ed25519PrivateKey.from_private_bytes(seed).public_key().verify(blob[12:], message)
    # the vkey carries type 0x04; a log key (0x01) is not a witness key
    vkey = cosigner.key.vkey()
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == 0x04
    assert CosignerKey.parse(vkey) == cosigner.key
    with pytest.raises(VkeyInvalid):
        CosignerKey.parse(Signer("w", Ed25519PrivateKey.generate()).verifier.vkey())


def test_a_cosigned_note_verifies_and_a_changed_one_does_not(log_signer: Signer) -> None:
    w = Cosigner.generate("witness.example/w1")
    other = Cosigner.generate("witness.example/w2")
    note = log_signer.sign(Checkpoint(ORIGIN, 3, b"\x02" * 32).body())
    cosigned = note + w.cosign(Checkpoint(ORIGIN, 3, b"\x02" * 32).body(), 100).encode()
    assert w.key.timestamp(cosigned) == 100
    assert other.key.timestamp(cosigned) is None  # not there
    # the log's own signature still opens the note with the cosignature on it
    assert log_signer.verifier.open(cosigned) == Checkpoint(ORIGIN, 3, b"\x02" * 32).body()
    # the same line on another checkpoint fails loudly
    line = cosigned[len(note):]
    moved = log_signer.sign(Checkpoint(ORIGIN, 4, b"\x02" * 32).body()) + line
    with pytest.raises(CheckpointError, match="does not verify"):
        w.key.timestamp(moved)
    # so does a changed timestamp
    blob = bytearray(base64.b64decode(line.split(b" ")[2]))
    blob[11] ^= 1
    forged = note + line.split(b" ")[0] + b" " + line.split(b" ")[1] + b" " + \
        base64.b64encode(bytes(blob)) + b"\n"
    with pytest.raises(CheckpointError):
        w.key.timestamp(forged)


def test_skey_round_trip_and_refusals() -> None:
    w = Cosigner.generate("witness.example/w1")
    again = Cosigner.from_skey(w.skey())
    assert again.key == w.key
    assert w.skey().startswith("PRIVATE+KEY+witness.example/w1+")
    with pytest.raises(VkeyInvalid):
        Cosigner.from_skey(w.key.vkey())  # a public key is not a key file
    with pytest.raises(VkeyInvalid):
        Cosigner.from_skey(w.skey().replace("+" + w.key.key_id.hex() + "+", "+00000000+"))


def test_add_checkpoint_body_round_trips_and_limits() -> None:
    req = AddCheckpoint(5, (b"\x01" * 32, b"\x02" * 32), "o\n9\nroot\n\n\u2014 x y\n".encode())
    assert AddCheckpoint.parse(req.encode()) == req
    assert req.encode().startswith(b"old 5\nAQEB")
    for bad in (b"old 05\n\nnote", b"old -1\n\nnote", b"new 5\n\nnote", b"old 5\nnote",
                b"old 5\n" + b"AAAA\n" + b"\nnote",  # a 3-byte hash
                b"old 5\n" + b"".join(base64.b64encode(b"\x00" * 32) + b"\n"
                                      for _ in range(64)) + b"\nnote"):
        with pytest.raises(WitnessRequestInvalid):
            AddCheckpoint.parse(bad)


def test_the_witness_decision_in_the_specs_order(log_signer: Signer) -> None:
    logs = {ORIGIN: log_signer.verifier}
    nodes, app = _tree(9)
    root5 = merkle.root(5, _get(nodes))
    note9 = log_signer.sign(Checkpoint(ORIGIN, 9, app.root()).body())
    proof = tuple(merkle.consistency_proof(5, 9, _get(nodes)))

    # first sight: old 0, no proof
    assert check_add(logs, None, AddCheckpoint(0, (), note9)).size == 9
    with pytest.raises(ProofError):
        check_add(logs, None, AddCheckpoint(0, proof, note9))
    # consistent with what it saw
    assert check_add(logs, Seen(5, root5), AddCheckpoint(5, proof, note9)).size == 9
    # the wrong old size: 409 with the size it has
    with pytest.raises(WitnessConflict) as conflict:
        check_add(logs, Seen(5, root5), AddCheckpoint(0, (), note9))
    assert conflict.value.extra["size"] == 5
    # old > size: 400
    with pytest.raises(WitnessRequestInvalid):
        check_add(logs, Seen(5, root5), AddCheckpoint(10, (), note9))
    # a rewritten history: same sizes, other leaves -> the proof does not verify (422)
    fork_nodes, fork = _tree(9, b"x")
    fork_note = log_signer.sign(Checkpoint(ORIGIN, 9, fork.root()).body())
    with pytest.raises(ProofError):
        check_add(logs, Seen(5, root5), AddCheckpoint(
            5, tuple(merkle.consistency_proof(5, 9, _get(fork_nodes))), fork_note))
    # equal size, other root: 409
    with pytest.raises(WitnessConflict):
        check_add(logs, Seen(9, app.root()), AddCheckpoint(9, (), fork_note))
    assert check_add(logs, Seen(9, app.root()), AddCheckpoint(9, (), note9)).size == 9
    # an unknown origin: 404; a known origin signed by another key: 403
    stranger = Signer("other.org/log", Ed25519PrivateKey.generate())
    with pytest.raises(WitnessUnknownLog):
        check_add(logs, None, AddCheckpoint(0, (), stranger.sign(
            Checkpoint("other.org/log", 9, app.root()).body())))
    impostor = Signer(ORIGIN, Ed25519PrivateKey.generate())
    with pytest.raises(WitnessSignatureInvalid):
        check_add(logs, None, AddCheckpoint(0, (), impostor.sign(
            Checkpoint(ORIGIN, 9, app.root()).body())))
