"""Log checkpoints: C2SP tlog-checkpoint bodies in C2SP signed notes (Ed25519).

Formats (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note):

    <origin>\\n<tree size>\\n<base64 root hash>\\n        <- the checkpoint body
    \\n
    — <key name> <base64(4-byte key hash || 64-byte signature)>\\n

key hash = SHA-256(name || 0x0A || 0x01 || public key)[:4]; the verifier key
("vkey") is ``<name>+<hex key hash>+<base64(0x01 || public key)>``. Signing
uses `cryptography` (never python-ecdsa, which is not constant-time).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fieldproof.core.encoding import b64_strict
from fieldproof.errors import CheckpointError, VkeyInvalid

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # em dash + space
MAX_NOTE = 16 * 1024
_NAME = re.compile(r"^[^\s+]{1,256}$")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def body(self) -> bytes:
        if "\n" in self.origin or not self.origin:
            raise CheckpointError("origin must be one non-empty line")
        return (f"{self.origin}\n{self.size}\n"
                f"{base64.b64encode(self.root).decode()}\n").encode()

    @classmethod
    def parse(cls, body: bytes) -> Checkpoint:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CheckpointError("checkpoint is not UTF-8") from exc
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise CheckpointError("a checkpoint has origin, size and root lines")
        origin, size_text, root_text = lines[0], lines[1], lines[2]
        if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size_text):
            raise CheckpointError(f"bad tree size {size_text!r}")
        try:
            root = b64_strict(root_text)
        except (binascii.Error, ValueError) as exc:
            raise CheckpointError("root is not base64") from exc
        if len(root) != 32 or not origin:
            raise CheckpointError("root must be 32 bytes and origin non-empty")
        return cls(origin=origin, size=int(size_text), root=root)


def key_hash(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    name: str
    key_hash: bytes
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        try:
            name, hash_hex, key_b64 = vkey.strip().split("+", 2)
            raw = b64_strict(key_b64)
            kh = bytes.fromhex(hash_hex)
        except (ValueError, binascii.Error) as exc:
            raise VkeyInvalid("not a signed-note verifier key") from exc
        if not _NAME.match(name) or len(raw) != 33 or raw[0] != ALG_ED25519 or len(kh) != 4:
            raise VkeyInvalid("only Ed25519 verifier keys are supported")
        if key_hash(name, raw[1:]) != kh:
            raise VkeyInvalid("verifier key hash does not match")
        return cls(name=name, key_hash=kh, public_key=raw[1:])

    def vkey(self) -> str:
        return (f"{self.name}+{self.key_hash.hex()}+"
                f"{base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode()}")

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.public_key).hexdigest()

    def open(self, note: bytes) -> bytes:
        """Verify a signed note; return its body (the signed text). Raises CheckpointError."""
        body, signatures = split_note(note)
        pub = Ed25519PublicKey.from_public_bytes(self.public_key)
        for name, blob in signatures:
            if name != self.name or blob[:4] != self.key_hash:
                continue  # another witness's signature; not ours to judge
            try:
                pub.verify(blob[4:], body)
            except InvalidSignature as exc:
                raise CheckpointError(f"signature by {name} does not verify") from exc
            return body
        raise CheckpointError(f"no signature by {self.name} on this note")


def split_note(note: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A signed note's body and its signature lines as (key name, decoded blob)."""
    if len(note) > MAX_NOTE:
        raise CheckpointError("note too large")
    try:
        text = note.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError("note is not UTF-8") from exc
    split = text.rfind("\n\n")
    if split < 0 or not text.endswith("\n"):
        raise CheckpointError("note has no signature block")
    body, sigs = text[: split + 1], text[split + 2:]
    out = []
    for line in sigs.split("\n")[:-1]:
        if not line.startswith(SIG_PREFIX):
            raise CheckpointError("malformed signature line")
        try:
            name, sig_b64 = line[len(SIG_PREFIX):].split(" ")
            blob = b64_strict(sig_b64)
        except (ValueError, binascii.Error) as exc:
            raise CheckpointError("malformed signature line") from exc
        if len(blob) < 4:
            raise CheckpointError("malformed signature line")
        out.append((name, blob))
    return body.encode("utf-8"), out


class Signer:
    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not _NAME.match(name):
            raise VkeyInvalid("a key name has no spaces or '+'")
        self.name = name
        self._key = private_key
        raw = private_key.public_key().public_bytes_raw()
        self.verifier = Verifier(name=name, key_hash=key_hash(name, raw), public_key=raw)

    def sign_statement(self, message: bytes) -> bytes:
        """A raw Ed25519 signature, for statements that are not notes (stream acks).

        Statements carry their own "type" member, so they can never be
        mistaken for a note body (which starts with the origin line).
        """
        if message.startswith(self.name.encode()):
            raise CheckpointError("a statement must not look like a note")
        return self._key.sign(message)

    def sign(self, body: bytes) -> bytes:
        """The signed note: body, a blank line, one signature line."""
        if not body.endswith(b"\n"):
            raise CheckpointError("a note body ends with a newline")
        sig = self._key.sign(body)
        blob = base64.b64encode(self.verifier.key_hash + sig).decode()
        return body + f"\n{SIG_PREFIX}{self.name} {blob}\n".encode()
