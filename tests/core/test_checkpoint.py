"""Signed notes and checkpoints, against golang.org/x/mod/sumdb/note's known answer."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldproof.core.checkpoint import Checkpoint, Signer, Verifier
from fieldproof.errors import CheckpointError

# From golang.org/x/mod/sumdb/note (note_test.go): Ed25519 is deterministic, so
# our signature over the same text must be byte-identical to Go's.
GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (b"If you think cryptography is the answer to your problem,\n"
           b"then you don't know what your problem is.\n")
GO_SIG = ("\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2p"
          "ZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")


def go_signer() -> Signer:
    seed = base64.b64decode(GO_SKEY.split("+", 4)[-1])[1:]
    return Signer("PeterNeumann", Ed25519PrivateKey.from_private_bytes(seed))


def test_matches_go_sumdb_note() -> None:
    s = go_signer()
    assert s.verifier.vkey() == GO_VKEY
    note = s.sign(GO_TEXT)
    assert note == GO_TEXT + b"\n" + GO_SIG.encode()
    assert Verifier.parse(GO_VKEY).open(note) == GO_TEXT


def test_checkpoint_roundtrip_and_tamper() -> None:
    s = Signer("log.example/fieldproof", Ed25519PrivateKey.generate())
    cp = Checkpoint("log.example/fieldproof", 42, bytes(range(32)))
    note = s.sign(cp.body())
    assert Checkpoint.parse(s.verifier.open(note)) == cp
    for i in range(len(note)):
        bad = bytearray(note)
        bad[i] ^= 0x01
        with pytest.raises(CheckpointError):
            Checkpoint.parse(s.verifier.open(bytes(bad)))


def test_other_key_rejected() -> None:
    note = go_signer().sign(GO_TEXT)
    other = Signer("PeterNeumann", Ed25519PrivateKey.generate()).verifier
    with pytest.raises(CheckpointError):
        other.open(note)


@pytest.mark.parametrize("vkey", ["", "a+b+c", GO_VKEY.replace("c74f20a3", "c74f20a4"),
                                  "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq"])
def test_bad_vkeys(vkey: str) -> None:
    with pytest.raises(CheckpointError):
        Verifier.parse(vkey)


@pytest.mark.parametrize("body", [b"o\n1\n", b"o\n01\n" + base64.b64encode(bytes(32)) + b"\n",
                                  b"o\n1\n" + base64.b64encode(bytes(31)) + b"\n",
                                  b"\n1\n" + base64.b64encode(bytes(32)) + b"\n"])
def test_bad_bodies(body: bytes) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.parse(body)
