"""Witness cosignatures and the witness's add-checkpoint request.

Formats (https://c2sp.org/tlog-cosignature, https://c2sp.org/tlog-witness):

- A cosignature is a note signature line on a checkpoint:
  ``— <witness name> base64(key ID || u64 timestamp || Ed25519 signature)``,
  key ID = SHA-256(name || 0x0A || 0x04 || public key)[:4], signed message =
  ``cosignature/v1\\ntime <timestamp>\\n`` followed by the checkpoint body.
- A witness vkey is ``<name>+<hex key ID>+<base64(0x04 || public key)>``; its
  private key file is ``PRIVATE+KEY+<name>+<hex key ID>+<base64(0x04 || seed)>``
  (the layout of Go's golang.org/x/mod/sumdb/note skeys, with the cosignature
  type byte).
- ``add-checkpoint`` body: ``old <size>\\n``, up to 63 base64 consistency-proof
  lines, an empty line, then the signed checkpoint.

Written here: there is no maintained Python package for these formats (the
reference code is Go's sumdb/note and filippo.io/torchwood); each is a few
lines over `cryptography`'s Ed25519. The witness's decision is pure
(:func:`check_add`), so the server, the tests and an auditor share it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from fieldproof.core import merkle
from fieldproof.core.checkpoint import MAX_NOTE, SIG_PREFIX, Checkpoint, Verifier, split_note
from fieldproof.core.encoding import b64_strict
from fieldproof.errors import (
    CheckpointError,
    ProofError,
    VkeyInvalid,
    WitnessConflict,
    WitnessRequestInvalid,
    WitnessSignatureInvalid,
    WitnessUnknownLog,
)

ALG_COSIGNATURE_V1 = 0x04
MAX_PROOF_LINES = 63
MAX_REQUEST = MAX_NOTE + 64 * (MAX_PROOF_LINES + 1)
_NAME = re.compile(r"^[^\s+]{1,256}$")
_OLD = re.compile(r"old (0|[1-9][0-9]{0,19})")


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_COSIGNATURE_V1])
                          + public_key).digest()[:4]


def signed_message(body: bytes, timestamp: int) -> bytes:
    return b"cosignature/v1\ntime %d\n" % timestamp + body


@dataclass(frozen=True)
class CosignerKey:
    """A witness's public key, parsed from its vkey."""

    name: str
    key_id: bytes
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> CosignerKey:
        try:
            name, id_hex, key_b64 = vkey.strip().split("+", 2)
            raw = b64_strict(key_b64)
            kid = bytes.fromhex(id_hex)
        except (ValueError, binascii.Error) as exc:
            raise VkeyInvalid("not a signed-note verifier key") from exc
        if not _NAME.match(name) or len(raw) != 33 or raw[0] != ALG_COSIGNATURE_V1:
            raise VkeyInvalid("a witness key is an Ed25519 cosignature/v1 key (type 0x04)")
        if len(kid) != 4 or key_id(name, raw[1:]) != kid:
            raise VkeyInvalid("verifier key hash does not match")
        return cls(name=name, key_id=kid, public_key=raw[1:])

    def vkey(self) -> str:
        return (f"{self.name}+{self.key_id.hex()}+"
                f"{base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + self.public_key).decode()}")

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.public_key).hexdigest()

    def timestamp(self, note: bytes) -> int | None:
        """The time this witness cosigned ``note``, or None if it did not.

        A line with this witness's name and key ID whose signature fails is an
        error, not an absence: someone forged or damaged it.
        """
        body, signatures = split_note(note)
        pub = Ed25519PublicKey.from_public_bytes(self.public_key)
        for name, blob in signatures:
            if name != self.name or blob[:4] != self.key_id:
                continue
            if len(blob) != 4 + 8 + 64:
                raise CheckpointError(f"cosignature by {name} has the wrong length")
            ts = int.from_bytes(blob[4:12], "big")
            try:
                pub.verify(blob[12:], signed_message(body, ts))
            except InvalidSignature as exc:
                raise CheckpointError(f"cosignature by {name} does not verify") from exc
            return ts
        return None


class Cosigner:
    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        if not _NAME.match(name):
            raise VkeyInvalid("a witness name has no spaces or '+'")
        raw = private_key.public_key().public_bytes_raw()
        self.key = CosignerKey(name=name, key_id=key_id(name, raw), public_key=raw)
        self._private = private_key

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> Cosigner:
        try:
            tag1, tag2, name, id_hex, key_b64 = skey.strip().split("+", 4)
            raw = b64_strict(key_b64)
        except (ValueError, binascii.Error) as exc:
            raise VkeyInvalid("not a witness private key file") from exc
        if (tag1, tag2) != ("PRIVATE", "KEY") or len(raw) != 33 \
                or raw[0] != ALG_COSIGNATURE_V1:
            raise VkeyInvalid("not a witness private key file")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.key.key_id.hex() != id_hex:
            raise VkeyInvalid("the key file's key ID does not match its key")
        return signer

    def skey(self) -> str:
        seed = self._private.private_bytes_raw()
        return (f"PRIVATE+KEY+{self.key.name}+{self.key.key_id.hex()}+"
                f"{base64.b64encode(bytes([ALG_COSIGNATURE_V1]) + seed).decode()}")

    def cosign(self, body: bytes, timestamp: int) -> str:
        """One cosignature line (with its newline) over a checkpoint body."""
        if not 0 <= timestamp < 2 ** 63:
            raise ValueError("timestamp out of range")
        sig = self._private.sign(signed_message(body, timestamp))
        blob = self.key.key_id + timestamp.to_bytes(8, "big") + sig
        return f"{SIG_PREFIX}{self.key.name} {base64.b64encode(blob).decode()}\n"


# -- add-checkpoint ----------------------------------------------------------
@dataclass(frozen=True)
class AddCheckpoint:
    old_size: int
    proof: tuple[bytes, ...]
    note: bytes

    def encode(self) -> bytes:
        lines = [f"old {self.old_size}"] + [base64.b64encode(h).decode() for h in self.proof]
        return ("\n".join(lines) + "\n\n").encode() + self.note

    @classmethod
    def parse(cls, body: bytes) -> AddCheckpoint:
        if len(body) > MAX_REQUEST:
            raise WitnessRequestInvalid("request too large")
        head, sep, note = body.partition(b"\n\n")
        if not sep:
            raise WitnessRequestInvalid("no empty line before the checkpoint")
        try:
            lines = head.decode("ascii").split("\n")
        except UnicodeDecodeError as exc:
            raise WitnessRequestInvalid("the proof lines are not ASCII") from exc
        match = _OLD.fullmatch(lines[0])
        if match is None:
            raise WitnessRequestInvalid("the first line is not 'old <size>'")
        if len(lines) - 1 > MAX_PROOF_LINES:
            raise WitnessRequestInvalid(f"more than {MAX_PROOF_LINES} proof lines")
        try:
            proof = tuple(b64_strict(line) for line in lines[1:])
        except (ValueError, binascii.Error) as exc:
            raise WitnessRequestInvalid("a proof line is not base64") from exc
        if any(len(h) != 32 for h in proof):
            raise WitnessRequestInvalid("a proof hash is not 32 bytes")
        return cls(old_size=int(match.group(1)), proof=proof, note=note)


@dataclass(frozen=True)
class Seen:
    """What a witness last cosigned for one log."""

    size: int
    root: bytes


def check_add(logs: dict[str, Verifier], seen: Seen | None,
              request: AddCheckpoint) -> Checkpoint:
    """The witness's decision (C2SP tlog-witness, add-checkpoint), in its order.

    ``logs`` maps each known origin to its key; ``seen`` is what the witness
    last cosigned for this origin (None: never). Returns the checkpoint to
    cosign, or raises the error whose status the spec names.
    """
    try:
        origin = request.note.split(b"\n", 1)[0].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WitnessRequestInvalid("the checkpoint is not UTF-8") from exc
    verifier = logs.get(origin)
    if verifier is None:
        raise WitnessUnknownLog(f"this witness does not follow the log {origin!r}")
    try:
        cp = Checkpoint.parse(verifier.open(request.note))
    except CheckpointError as exc:
        raise WitnessSignatureInvalid(exc.detail) from exc
    if cp.origin != origin:
        raise WitnessRequestInvalid("the checkpoint's origin line is malformed")
    if request.old_size > cp.size:
        raise WitnessRequestInvalid(f"old size {request.old_size} > checkpoint size {cp.size}")
    latest = seen.size if seen is not None else 0
    if request.old_size != latest:
        raise WitnessConflict(f"this witness last cosigned size {latest}", size=latest)
    if seen is None or seen.size == 0:
        if request.proof:
            raise ProofError("the proof must be empty when the old size is 0")
        return cp
    if seen.size == cp.size:
        if seen.root != cp.root or request.proof:
            raise WitnessConflict(f"a different root for size {cp.size}", size=latest)
        return cp
    merkle.verify_consistency(seen.size, cp.size, seen.root, cp.root, request.proof)
    return cp


# -- a verifier's policy -------------------------------------------------------
@dataclass(frozen=True)
class WitnessPolicy:
    """N of M pinned witnesses must have cosigned (a verifier's --witness options)."""

    keys: tuple[CosignerKey, ...]
    required: int

    @classmethod
    def of(cls, vkeys: list[str], required: int | None = None) -> WitnessPolicy:
        keys = tuple(CosignerKey.parse(v) for v in vkeys)
        if len({k.name for k in keys}) != len(keys):
            raise VkeyInvalid("two pinned witnesses share a name")
        need = len(keys) if required is None else required
        if not 0 <= need <= len(keys):
            raise VkeyInvalid(f"cannot require {need} of {len(keys)} pinned witnesses")
        return cls(keys=keys, required=need)

    def check(self, notes: list[bytes]) -> tuple[bool, str]:
        """Whether enough pinned witnesses cosigned any of ``notes`` (each a cosigned
        checkpoint already known to be the log's), and a sentence saying who did.
        A pinned witness's line that does not verify raises CheckpointError."""
        cosigned: dict[str, int] = {}
        for key in self.keys:
            for note in notes:
                ts = key.timestamp(note)
                if ts is not None:
                    cosigned[key.name] = max(ts, cosigned.get(key.name, 0))
        names = ", ".join(sorted(cosigned)) or "none"
        ok = len(cosigned) >= self.required
        return ok, (f"{len(cosigned)} of {len(self.keys)} pinned witnesses cosigned "
                    f"({names}); {self.required} required")


def cosignature_names(note: bytes, log_name: str) -> list[str]:
    """The key names of the signature lines other than the log's (unverified)."""
    _, signatures = split_note(note)
    return sorted({name for name, _ in signatures if name != log_name})
