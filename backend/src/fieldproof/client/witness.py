"""Every client is a witness: remember the newest checkpoint seen, refuse a fork.

A log that rewrites its history and re-signs every checkpoint with its own
key passes any check made from its answers alone. What it cannot do is stay
consistent with a checkpoint somebody kept from before. This keeps, per log
(origin and key), the newest signed note seen in a state directory (mode
0700, files 0600); every other checkpoint seen later is proven consistent
with it by an RFC 9162 consistency proof fetched from the log, newer or older.
Two validly signed checkpoints that are not consistent are a fork: both notes
(and the proof) are saved in ``fork-<time>/`` as evidence.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fieldproof.core import merkle, texts
from fieldproof.core.checkpoint import Checkpoint, Verifier
from fieldproof.core.report import Report
from fieldproof.errors import FieldProofError, ProofError

# (first, second) -> the log's consistency proof between those sizes
ProofFetcher = Callable[[int, int], list[bytes]]


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class Witness:
    def __init__(self, state_dir: Path, verifier: Verifier, proof: ProofFetcher) -> None:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(state_dir, 0o700)
        self.dir = state_dir
        self.verifier = verifier
        self.proof = proof
        tag = hashlib.sha256(verifier.vkey().encode()).hexdigest()[:16]
        safe = "".join(c if c.isalnum() or c in "-." else "_" for c in verifier.name)
        self.path = state_dir / f"{safe}-{tag}.note"

    def _saved(self) -> tuple[bytes, Checkpoint] | None:
        try:
            note = self.path.read_bytes()
        except FileNotFoundError:
            return None
        return note, Checkpoint.parse(self.verifier.open(note))

    def observe(self, note: bytes, report: Report) -> bool:
        """Check one signed checkpoint against the saved one; keep the newer. False on a fork."""
        try:
            cp = Checkpoint.parse(self.verifier.open(note))
        except FieldProofError:
            return True  # not this log's signature: the checkpoint check already failed
        saved = self._saved()
        if saved is None:
            _write_private(self.path, note)
            report.check("witness", True, f"first checkpoint of {cp.origin} seen here "
                                          f"(size {cp.size}), kept in {self.path}")
            return True
        old_note, old = saved
        proof: list[bytes] = []
        if cp.size != old.size:
            proof = self.proof(min(old.size, cp.size), max(old.size, cp.size))
        try:
            if cp.size > old.size:
                merkle.verify_consistency(old.size, cp.size, old.root, cp.root, proof)
            elif cp.size < old.size:
                merkle.verify_consistency(cp.size, old.size, cp.root, old.root, proof)
            elif cp.root != old.root:
                raise ProofError("equal sizes but different roots")
        except ProofError as exc:
            where = self._save_fork(old_note, note, proof, old, cp)
            params = {"new_size": cp.size, "old_size": old.size, "why": exc.detail,
                      "log": self.verifier.name, "where": str(where)}
            report.fail("fork", texts.say("trust", "log_fork", params) + " / "
                        + texts.say("trust", "log_fork", params, "zh-CN"))
            return False
        if cp.size > old.size:
            _write_private(self.path, note)
        report.check("witness", True, f"checkpoint {cp.size} is consistent with checkpoint "
                                      f"{old.size} seen before")
        return True

    def _save_fork(self, old_note: bytes, new_note: bytes, proof: list[bytes],
                   old: Checkpoint, new: Checkpoint) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        where = self.dir / f"fork-{stamp}"
        where.mkdir(mode=0o700)
        _write_private(where / "old.note", old_note)
        _write_private(where / "new.note", new_note)
        _write_private(where / "proof.json", json.dumps({
            "first": min(old.size, new.size), "second": max(old.size, new.size),
            "consistency_proof": [base64.b64encode(p).decode() for p in proof]},
            indent=1).encode())
        return where


def witness_notes(state_dir: Path, vkey: str, proof: ProofFetcher, notes: list[bytes],
                  report: Report) -> bool:
    """Observe each note in turn; False at the first fork (one fork, one evidence dir)."""
    witness = Witness(state_dir, Verifier.parse(vkey), proof)
    return all(witness.observe(n, report) for n in notes)


def consistency_fetcher(get_json: Callable[..., object]) -> ProofFetcher:
    """GET /log/proof/consistency through ``get_json(path, **params)``."""
    def fetch(first: int, second: int) -> list[bytes]:
        body = get_json("/log/proof/consistency", first=first, second=second)
        assert isinstance(body, dict)
        return [base64.b64decode(p, validate=True) for p in body["consistency_proof"]]
    return fetch
