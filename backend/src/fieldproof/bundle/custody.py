"""The custody check of the offline verifier: records bound to this capture, each
proven into the custody checkpoint, which extends the receipt's checkpoint."""

from __future__ import annotations

import hashlib
from datetime import datetime

# --------------------------------------------------------------------------- verification
from typing import TYPE_CHECKING

from fieldproof.bundle.common import (
    CheckFailed,
    jcs_object,
    strict_b64,
)
from fieldproof.bundle.layout import (
    CHECKPOINT,
    CUSTODY,
    CUSTODY_CHECKPOINT,
    CUSTODY_CONSISTENCY,
    MANIFEST,
)
from fieldproof.core import merkle
from fieldproof.core.checkpoint import Checkpoint
from fieldproof.core.logentry import CUSTODY_EVENTS, CUSTODY_RECORD, chain_hash, custody_entry
from fieldproof.core.manifest import parse_time
from fieldproof.errors import FieldProofError

if TYPE_CHECKING:
    from fieldproof.bundle.verify import _Verify


def check_custody(v: _Verify) -> str:
    """Each custody record: bound to this capture, and its leaf in the log.

    Events already in the log are proven by an inclusion proof into
    custody-checkpoint.txt (signed by the log key, and proven an extension
    of checkpoint.txt); events too recent for the log (the export itself)
    are listed without a proof and reported as such.
    """
    raw = v.need(CUSTODY)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckFailed(f"{CUSTODY} is not UTF-8") from exc
    if not text.endswith("\n"):
        raise CheckFailed(f"{CUSTODY} does not end with a newline")
    lines = text.split("\n")[:-1]
    if not lines:
        raise CheckFailed(f"{CUSTODY} is empty")
    cp = v.custody_checkpoint()
    if cp is None:
        raise CheckFailed(f"{CUSTODY_CHECKPOINT} is missing: nothing proves the events")
    manifest_sha = hashlib.sha256(v.files.get(MANIFEST, b"")).hexdigest()
    events: list[str] = []
    proven, last_index, pending_from = 0, -1, 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    # The hash chain: each record names the one before it (core/logentry.py
    # chain_hash), so a line removed, added or moved breaks it. Records made
    # before the chain existed have no "prev" and can only come first.
    unchained, before = 0, None
    for i, line in enumerate(lines, 1):
        where = f"{CUSTODY} line {i}"
        item = jcs_object(line.encode("utf-8"), where)
        if not {"record", "leaf_index"} <= set(item) <= {"record", "leaf_index",
                                                         "inclusion_proof"}:
            raise CheckFailed(f"{where}: needs record, leaf_index and maybe inclusion_proof")
        if not isinstance(item["record"], str):
            raise CheckFailed(f"{where}: record must be the record's JSON text")
        record_raw = item["record"].encode("utf-8")
        rec = jcs_object(record_raw, f"{where} record")
        if rec.get("type") != CUSTODY_RECORD or rec.get("v") != 1:
            raise CheckFailed(f"{where}: not a {CUSTODY_RECORD} v1 record")
        if rec.get("manifest_sha256") != manifest_sha:
            raise CheckFailed(f"{where}: the record is about manifest "
                       f"{rec.get('manifest_sha256')}, not this bundle's {manifest_sha}")
        if rec.get("event") not in CUSTODY_EVENTS:
            raise CheckFailed(f"{where}: unknown event {rec.get('event')!r}")
        if "prev" not in rec:
            if unchained != i - 1:
                raise CheckFailed(f"{where}: a record without prev after chained records")
            unchained += 1
        elif rec["prev"] != before:
            raise CheckFailed(
                f"{where}: the record's prev is {rec['prev']}, but "
                + ("it is the first line" if before is None else
                   f"line {i - 1} hashes to {before}")
                + ": a line was removed, added or moved")
        before = chain_hash(record_raw)
        try:
            at = parse_time(rec["at"])
        except Exception as exc:  # missing, not a string, not a time
            raise CheckFailed(f"{where}: 'at' is not an RFC 3339 time") from exc
        # Lines are in log order; times of concurrent requests may interleave.
        first_at = min(first_at or at, at)
        last_at = max(last_at or at, at)
        index = item["leaf_index"]
        proof = item.get("inclusion_proof")
        events.append(rec["event"])
        if index is None:
            if proof is not None:
                raise CheckFailed(f"{where}: a proof without a leaf index")
            pending_from = pending_from or i
            continue
        if not isinstance(index, int) or isinstance(index, bool) or index <= last_index:
            raise CheckFailed(f"{where}: leaf_index must be an increasing integer")
        last_index = index
        if proof is None:
            if index < cp.size:
                raise CheckFailed(f"{where}: leaf {index} is in the custody checkpoint's tree "
                           "but has no inclusion proof")
            pending_from = pending_from or i
            continue
        if pending_from:
            # Unproven events are the newest ones, after every proven one.
            raise CheckFailed(f"{where}: a proven event after the unproven line {pending_from}")
        if not isinstance(proof, list):
            raise CheckFailed(f"{where}: inclusion_proof must be a list")
        leaf = merkle.leaf_hash(custody_entry(record_raw))
        try:
            merkle.verify_inclusion(index, cp.size, leaf,
                                    [strict_b64(p) for p in proof], cp.root)
        except FieldProofError as exc:
            raise CheckFailed(f"{where}: the {rec['event']} event is not leaf {index} of tree "
                       f"{cp.size}: {exc.detail}") from exc
        proven += 1
    pending = len(events) - proven
    span = f" from {first_at.isoformat()} to {last_at.isoformat()}" \
        if first_at and last_at else ""
    return (f"{len(events)} events ({', '.join(events)}){span}: {proven} proven in the log "
            f"(tree {cp.size})"
            + (f", the last {pending} not in it yet (the server's statement only)"
               if pending else "")
            + ("; chained: each record names the one before it, so none was removed or "
               "moved before the last" if not unchained else
               f"; the first {unchained} not chained (recorded before the chain existed)"
               + ("" if unchained == len(events) else ", the rest chained"))
            + "; the log proves each event listed")

def custody_checkpoint(v: _Verify) -> Checkpoint | None:
    """custody-checkpoint.txt, signed by the log key and consistent with checkpoint.txt."""
    if CUSTODY_CHECKPOINT not in v.names:
        return None
    if v.checkpoint is None or v.log_verifier is None:
        raise CheckFailed("no verified checkpoint to extend")
    try:
        cp = Checkpoint.parse(v.log_verifier.open(v.need(CUSTODY_CHECKPOINT)))
    except FieldProofError as exc:
        raise CheckFailed(f"{CUSTODY_CHECKPOINT}: {exc.detail}") from exc
    if cp.origin != v.checkpoint.origin:
        raise CheckFailed(f"{CUSTODY_CHECKPOINT} is from log {cp.origin}")
    body = jcs_object(v.need(CUSTODY_CONSISTENCY), CUSTODY_CONSISTENCY)
    if set(body) != {"first", "second", "consistency_proof"} or \
            body["first"] != v.checkpoint.size or body["second"] != cp.size or \
            not isinstance(body["consistency_proof"], list):
        raise CheckFailed(f"{CUSTODY_CONSISTENCY} must prove tree {v.checkpoint.size} -> "
                   f"{cp.size}")
    try:
        merkle.verify_consistency(v.checkpoint.size, cp.size, v.checkpoint.root,
                                  cp.root, [strict_b64(p)
                                            for p in body["consistency_proof"]])
    except FieldProofError as exc:
        raise CheckFailed(f"{CUSTODY_CHECKPOINT} does not extend {CHECKPOINT}: "
                   f"{exc.detail}") from exc
    return cp

