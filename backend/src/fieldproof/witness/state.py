"""The witness's memory: per log, the latest checkpoint it cosigned, on disk.

One JSON file per origin under ``<data dir>/logs/`` (directory 0700, files
0600), replaced atomically with fsync (storage/keyfiles.write_atomic) before
the cosignature is returned, as the spec requires. Checking the old size and
recording the new checkpoint happen under one lock, a thread lock plus an
flock on ``<data dir>/lock`` across processes, so two requests can never roll
the recorded size back (the race tlog-witness describes).

Checkpoints this witness refused for not being consistent are kept as
evidence under ``<data dir>/refused/`` (the spec allows it: they may prove the
log misbehaved).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from fieldproof.core.checkpoint import Verifier
from fieldproof.core.cosignature import AddCheckpoint, Cosigner, Seen, check_add
from fieldproof.errors import ProofError, WitnessConflict
from fieldproof.storage.keyfiles import write_atomic
from fieldproof.storage.private import private_dir

MAX_REFUSED = 1000  # evidence kept per witness; beyond it only the log line remains


class WitnessState:
    def __init__(self, data_dir: Path, cosigner: Cosigner, logs: list[Verifier]) -> None:
        self.dir = private_dir(data_dir)
        self.logs_dir = private_dir(data_dir / "logs")
        self.refused_dir = private_dir(data_dir / "refused")
        self.cosigner = cosigner
        self.logs = {v.name: v for v in logs}
        self._lock = threading.Lock()

    def _path(self, origin: str) -> Path:
        return self.logs_dir / (hashlib.sha256(origin.encode()).hexdigest() + ".json")

    def seen(self, origin: str) -> Seen | None:
        try:
            data = json.loads(self._path(origin).read_bytes())
        except FileNotFoundError:
            return None
        return Seen(size=int(data["size"]), root=base64.b64decode(data["root"]))

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock, open(self.dir / "lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def add(self, request: AddCheckpoint) -> str:
        """Check, record, cosign: the cosignature lines to answer with."""
        with self._locked():
            origin = request.note.split(b"\n", 1)[0].decode("utf-8", "replace")
            seen = self.seen(origin)
            try:
                cp = check_add(self.logs, seen, request)
            except (ProofError, WitnessConflict) as exc:
                if not isinstance(exc, WitnessConflict) or request.old_size == (
                        seen.size if seen else 0):
                    self._keep_refused(request, exc.detail)
                raise
            body = cp.body()
            if seen is None or cp.size > seen.size:
                write_atomic(self._path(origin), json.dumps({
                    "origin": origin, "size": cp.size,
                    "root": base64.b64encode(cp.root).decode(),
                    "note": request.note.decode("utf-8"),
                    "cosigned_at": datetime.now(UTC).isoformat()}).encode())
            return self.cosigner.cosign(body, int(time.time()))

    def _keep_refused(self, request: AddCheckpoint, why: str) -> None:
        if sum(1 for _ in self.refused_dir.iterdir()) >= MAX_REFUSED:
            return
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        write_atomic(self.refused_dir / f"{stamp}.txt",
                     f"# refused: {why}\n".encode() + request.encode())
