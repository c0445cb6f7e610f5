"""Independent checks of the log, from the outside: receipts and full audits.

Only public data from the server is used, and every claim is re-derived with
the pure core (Merkle proofs, signed notes, RFC 3161 tokens). Trust anchors
(the log key, TSA roots) may be pinned; otherwise the server's are used and the
report says so, with their fingerprints.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from fieldproof.client.api import ClientError
from fieldproof.core import merkle
from fieldproof.core import tiles as layout
from fieldproof.core.checkpoint import Checkpoint, Verifier
from fieldproof.core.cosignature import WitnessPolicy
from fieldproof.core.logentry import CAPTURE_ENTRY, parse_entry
from fieldproof.core.manifest import utc_text
from fieldproof.core.report import Anchor, Report
from fieldproof.core.timestamp import verify_token
from fieldproof.errors import FieldProofError, ProofError

PAGE = 1000
# Fetches a path under the tiled log's prefix ("checkpoint", "tile/0/000", ...);
# None when it is not there.
TileGetter = Callable[[str], bytes | None]


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _pem_fingerprint(pem: bytes) -> tuple[str, str]:
    cert = x509.load_pem_x509_certificate(pem)
    return cert.subject.rfc4514_string(), f"sha256:{cert.fingerprint(hashes.SHA256()).hex()}"


class _Anchors:
    def __init__(self, info: dict[str, Any], report: Report, vkey: str | None,
                 tsa_roots: list[bytes] | None) -> None:
        self.verifier = Verifier.parse(vkey or info["vkey"])
        report.anchors.append(Anchor("log key", self.verifier.vkey(),
                                     f"sha256:{self.verifier.fingerprint}", bool(vkey),
                                     "as served; pin with --log-key"))
        self.chains: dict[str, list[bytes]] = {
            t["name"]: [p.encode() for p in t.get("chain_pem", [])] for t in info.get("tsa", [])}
        self.pinned_roots = tsa_roots
        if tsa_roots:
            for pem in tsa_roots:
                subject, fp = _pem_fingerprint(pem)
                report.anchors.append(Anchor("TSA root", subject, fp, True))
        else:
            for name, chain in self.chains.items():
                if chain:
                    subject, fp = _pem_fingerprint(chain[-1])
                    report.anchors.append(Anchor("TSA root", f"{subject} for {name}", fp, False,
                                                 "as served; pin with --tsa-root"))

    def check_token(self, stamp: dict[str, Any], note: bytes) -> str:
        chain = self.chains.get(stamp["tsa"], [])
        roots = self.pinned_roots or chain[-1:]
        if not roots:
            raise ClientError(f"no trust anchor for TSA {stamp['tsa']}",
                                  code="timestamp_invalid")
        info = verify_token(_b64(stamp["token_b64"]), note, roots_pem=roots,
                            intermediates_pem=chain[:-1])
        # The time the server serves beside the token must be the token's own
        # genTime (in the served form: RFC 3339 UTC, milliseconds), not a claim.
        token_time = utc_text(info.gen_time)
        if "gen_time" in stamp and stamp["gen_time"] != token_time:
            raise ClientError(f"the server says genTime {stamp['gen_time']}, the token says "
                              f"{token_time}", code="timestamp_invalid")
        label = " (embedded TSA, self-hosted)" if stamp.get("embedded") else ""
        return f"{stamp['tsa']}{label} genTime {info.gen_time.isoformat()}"


@dataclass(frozen=True)
class Expected:
    """What the log entry of a receipt must say: the capture it is for.

    ``capture_id``, ``media_sha256`` and ``manifest_sha256`` come from
    GET /captures/{id}; ``sha256`` is the caller's own hash (of the file, or
    of its manifest), which either of the entry's two hashes may match.
    """

    capture_id: str | None = None
    media_sha256: str | None = None
    manifest_sha256: str | None = None
    sha256: str | None = None

    def problems(self, receipt: dict[str, Any], entry: dict[str, Any]) -> list[str]:
        out = []
        if entry.get("type") != CAPTURE_ENTRY:
            out.append(f"the entry is a {entry.get('type')!r} leaf, not a capture")
        if self.capture_id is not None and receipt.get("capture_id") != self.capture_id:
            out.append(f"the receipt is for capture {receipt.get('capture_id')}, "
                       f"not {self.capture_id}")
        media, manifest = entry.get("media_sha256"), entry.get("manifest_sha256")
        if self.media_sha256 is not None and media != self.media_sha256.lower():
            out.append(f"the entry's media SHA-256 is {media}, the capture's is "
                       f"{self.media_sha256.lower()}")
        if self.manifest_sha256 is not None and manifest != self.manifest_sha256.lower():
            out.append(f"the entry's manifest hash is {manifest}, the capture's is "
                       f"{self.manifest_sha256.lower()}")
        if self.sha256 is not None and self.sha256.lower() not in (media, manifest):
            out.append(f"the entry holds neither media nor manifest SHA-256 "
                       f"{self.sha256.lower()}")
        if not any((self.capture_id, self.media_sha256, self.manifest_sha256, self.sha256)):
            out.append("nothing to compare the entry with (no capture, no hash)")
        return out


def check_receipt(receipt: dict[str, Any], info: dict[str, Any], *, expected: Expected,
                  vkey: str | None = None, tsa_roots: list[bytes] | None = None,
                  witnesses: WitnessPolicy | None = None) -> Report:
    """Verify one capture's receipt offline against the log's public keys.

    ``expected`` binds the receipt to its capture: a receipt whose entry is
    another capture's (valid as it may be) fails the ``entry`` check.
    """
    report = Report()
    anchors = _Anchors(info, report, vkey, tsa_roots)
    note = receipt["checkpoint"].encode("utf-8")
    try:
        cp = Checkpoint.parse(anchors.verifier.open(note))
    except FieldProofError as exc:
        report.fail("checkpoint", exc.detail)
        return report
    report.check("checkpoint", cp.origin == info["origin"],
                 f"signed by {anchors.verifier.name}, tree size {cp.size}")
    entry = receipt["entry"].encode("utf-8")
    try:
        problems = expected.problems(receipt, parse_entry(entry))
    except FieldProofError as exc:
        problems = [exc.detail]
    report.check("entry", not problems, "; ".join(problems) or
                 "the entry is this capture's (" + ", ".join(
                     f"{k} {v}" for k, v in (("capture", expected.capture_id),
                                             ("SHA-256", expected.sha256 or
                                              expected.media_sha256)) if v) + ")")
    leaf = merkle.leaf_hash(entry)
    report.check("leaf", leaf == _b64(receipt["leaf_hash"]), "leaf hash = SHA-256(0x00 || entry)")
    try:
        merkle.verify_inclusion(receipt["leaf_index"], cp.size, leaf,
                                [_b64(p) for p in receipt["inclusion_proof"]], cp.root)
        report.check("inclusion", receipt["tree_size"] == cp.size,
                     f"leaf {receipt['leaf_index']} is in the checkpoint's tree")
    except FieldProofError as exc:
        report.fail("inclusion", exc.detail)
    if not receipt["timestamps"]:
        report.fail("timestamps", "no RFC 3161 timestamp on this checkpoint")
    for stamp in receipt["timestamps"]:
        try:
            report.check("timestamp", True, anchors.check_token(stamp, note))
        except FieldProofError as exc:
            report.fail("timestamp", f"{stamp['tsa']}: {exc.detail}")
    _check_witnesses(report, witnesses, note + receipt.get("cosignatures", "").encode())
    return report


def _check_witnesses(report: Report, policy: WitnessPolicy | None, note: bytes) -> None:
    """N of M pinned witnesses cosigned ``note`` (a checkpoint already checked)."""
    if policy is None:
        return
    for key in policy.keys:
        report.anchors.append(Anchor("witness", key.name, key.fingerprint, True))
    try:
        ok, said = policy.check([note])
    except FieldProofError as exc:
        report.fail("witnesses", exc.detail)
        return
    report.check("witnesses", ok, said)


def _check_latest(report: Report, verifier: Verifier, audited: dict[str, Any], latest: bytes,
                  get: Callable[..., Any]) -> None:
    """The served checkpoint is the audited newest one, or a newer one consistent with it.

    The log keeps growing while an audit runs, so a checkpoint that appeared
    after the list was read is no fault, provided it is signed by the log and
    extends the audited tree (proven here, not taken on trust).
    """
    what = "GET /log/checkpoint serves the newest checkpoint"
    if latest.startswith(audited["checkpoint"].encode("utf-8")):
        report.check("latest", True, what)
        return
    try:
        cp = Checkpoint.parse(verifier.open(latest))
        if cp.size <= audited["tree_size"]:
            raise ProofError(f"it serves size {cp.size}, not the audited {audited['tree_size']}")
        proof = get("/log/proof/consistency", first=audited["tree_size"],
                    second=cp.size)["consistency_proof"]
        merkle.verify_consistency(audited["tree_size"], cp.size, _b64(audited["root"]),
                                  cp.root, [_b64(p) for p in proof])
    except FieldProofError as exc:
        report.fail("latest", f"{what}: {exc.detail}")
        return
    report.check("latest", True, f"{what}: size {cp.size}, newer than the audited "
                                 f"{audited['tree_size']} and consistent with it")


def audit_log(server: str, *, vkey: str | None = None, tsa_roots: list[bytes] | None = None,
              inclusion_sample: int = 1000, timeout: float = 60.0,
              state_dir: Path | None = None, tiles_url: str | None = None,
              witnesses: WitnessPolicy | None = None) -> Report:
    """Fetch every entry and checkpoint and re-check all of it, the tiles too.

    The tiled log is found at the ``tiles_url`` of ``GET /api/v1/trust`` unless
    ``tiles_url`` names another copy (a static host, a mirror).
    """
    with httpx.Client(base_url=server.rstrip("/") + "/api/v1", timeout=timeout) as http:
        def fetch(path: str, **params: Any) -> httpx.Response:
            try:
                return http.get(path, params=params)
            except httpx.HTTPError as exc:
                raise ClientError(f"cannot reach {server}: {exc}", code="unreachable",
                                      exit_status=2) from exc

        def get(path: str, **params: Any) -> Any:
            resp = fetch(path, **params)
            if resp.status_code != 200:
                raise ClientError(f"GET {path} answered {resp.status_code}",
                                      code="http_error", exit_status=2)
            return resp.json() if "json" in resp.headers.get("content-type", "") else resp.text

        base = tiles_url
        if base is None:
            trust = fetch("/trust")
            if trust.status_code == 200:
                base = trust.json()["tiles_url"]
            elif trust.status_code != 404:  # 404: a server from before tiles
                raise ClientError(f"GET /trust answered {trust.status_code}",
                                  code="http_error", exit_status=2)

        def get_tile(path: str) -> bytes | None:
            assert base is not None
            resp = fetch(f"{base.rstrip('/')}/{path}")  # absolute: base_url is not applied
            return resp.content if resp.status_code == 200 else None

        return _audit(get, vkey, tsa_roots, inclusion_sample,
                      get_tile if base is not None else None, state_dir=state_dir,
                      witnesses=witnesses)


def _audit(get: Any, vkey: str | None, tsa_roots: list[bytes] | None,
           inclusion_sample: int, get_tile: TileGetter | None = None, *,
           state_dir: Path | None = None, witnesses: WitnessPolicy | None = None) -> Report:
    report = Report()
    info = get("/log")
    anchors = _Anchors(info, report, vkey, tsa_roots)
    # Before the checkpoint list: the tiles' checkpoint is published after the
    # API's, so the list fetched next reaches at least as far.
    tiles_note = get_tile("checkpoint") if get_tile is not None else None
    checkpoints: list[dict[str, Any]] = []
    while True:
        page = get("/log/checkpoints", start=(checkpoints[-1]["tree_size"] + 1
                                               if checkpoints else 0), limit=PAGE)["checkpoints"]
        checkpoints += page
        if len(page) < PAGE:
            break
    if not checkpoints:
        report.check("log", True, "empty log, nothing to audit")
        return report
    size = checkpoints[-1]["tree_size"]

    # 1. entries -> the tree, rebuilt here from scratch
    nodes: dict[merkle.NodeId, bytes] = {}
    app = merkle.Appender(0, {})
    roots: dict[int, bytes] = {}
    wanted = {c["tree_size"] for c in checkpoints}
    bad_entries = 0
    while app.size < size:
        batch = get("/log/entries", start=app.size, end=min(size, app.size + PAGE))["entries"]
        if not batch:
            report.fail("entries", f"the log serves no entry at index {app.size}")
            return report
        for e in batch:
            if e["leaf_index"] != app.size:
                report.fail("entries", f"expected leaf {app.size}, got {e['leaf_index']}")
                return report
            data = e["data"].encode("utf-8")
            try:
                parse_entry(data)
            except FieldProofError as exc:
                bad_entries += 1
                report.fail("entry", f"leaf {app.size}: {exc.detail}")
            nodes.update(app.append(merkle.leaf_hash(data)))
            if app.size in wanted:
                roots[app.size] = app.root()
    report.check("entries", bad_entries == 0, f"{size} leaves fetched and rehashed")
    if get_tile is None:
        report.check("tiles", True, "not offered by this server (no GET /api/v1/trust)")
    elif tiles_note is None:
        report.fail("tiles", "the tiled log serves no checkpoint")
    else:
        _audit_tiles(report, get_tile, tiles_note, anchors, info["origin"], nodes, roots)

    # 2. every checkpoint: signature, origin, root against the rebuilt tree
    good = 0
    for c in checkpoints:
        note = c["checkpoint"].encode("utf-8")
        try:
            cp = Checkpoint.parse(anchors.verifier.open(note))
        except FieldProofError as exc:
            report.fail("checkpoint", f"size {c['tree_size']}: {exc.detail}")
            continue
        if cp.origin != info["origin"] or cp.size != c["tree_size"]:
            report.fail("checkpoint", f"size {c['tree_size']}: origin or size mismatch")
        elif cp.root != roots.get(cp.size):
            report.fail("checkpoint", f"size {cp.size}: signed root does not match the "
                                      "entries (an entry was changed or removed)")
        else:
            good += 1
        if not c["timestamps"]:
            report.fail("timestamp", f"checkpoint {c['tree_size']} has no timestamp")
        for stamp in c["timestamps"]:
            try:
                anchors.check_token(stamp, note)
            except FieldProofError as exc:
                report.fail("timestamp", f"checkpoint {c['tree_size']}, {stamp['tsa']}: "
                                         f"{exc.detail}")
    report.check("checkpoints", good == len(checkpoints),
                 f"{good}/{len(checkpoints)} signed and matching the rebuilt tree")
    stamps = sum(len(c["timestamps"]) for c in checkpoints)
    report.check("timestamps", True, f"{stamps} tokens checked")

    # 3. consistency between consecutive checkpoints, as the server proves it
    consistent = 0
    for a, b in itertools.pairwise(checkpoints):
        proof = get("/log/proof/consistency", first=a["tree_size"],
                    second=b["tree_size"])["consistency_proof"]
        try:
            merkle.verify_consistency(a["tree_size"], b["tree_size"], _b64(a["root"]),
                                      _b64(b["root"]), [_b64(p) for p in proof])
            consistent += 1
        except FieldProofError as exc:
            report.fail("consistency", f"{a['tree_size']} -> {b['tree_size']}: {exc.detail}")
    report.check("consistency", consistent == len(checkpoints) - 1,
                 f"{consistent} consecutive proofs verify")

    # 4. inclusion proofs served for leaves against the latest checkpoint
    latest_root = _b64(checkpoints[-1]["root"])
    indices = list(range(size))
    if size > inclusion_sample:
        rng = random.Random(hashlib.sha256(latest_root).digest())
        indices = sorted({0, size - 1, *rng.sample(indices, inclusion_sample)})
    included = 0
    for i in indices:
        body = get("/log/proof/inclusion", index=i, size=size)
        try:
            merkle.verify_inclusion(i, size, nodes[(0, i)],
                                    [_b64(p) for p in body["inclusion_proof"]], latest_root)
            included += 1
        except FieldProofError as exc:
            report.fail("inclusion", f"leaf {i}: {exc.detail}")
    report.check("inclusion", included == len(indices),
                 f"{included}/{len(indices)} leaves proven in tree {size}")
    latest = get("/log/checkpoint")  # the newest, with its witnesses' cosignatures
    _check_latest(report, anchors.verifier, checkpoints[-1], latest.encode(), get)
    _check_witnesses(report, witnesses, latest.encode())

    # 5. a witness: consistent with what this client saw before (see witness.py)
    if state_dir is not None:
        from fieldproof.client.witness import consistency_fetcher, witness_notes
        witness_notes(state_dir, anchors.verifier.vkey(), consistency_fetcher(get),
                      [checkpoints[0]["checkpoint"].encode(), latest.encode()], report)
    return report


def public_receipts(api: Any, sha256: str) -> list[dict[str, Any]]:
    """Receipts for every anchored capture holding ``sha256``, from public endpoints only.

    ``POST /lookup`` names the leaf and its receipt checkpoint's size; the
    entry, the signed checkpoint with its tokens and the inclusion proof come
    from the public log endpoints. Nothing needs an account, and nothing the
    server says here is trusted: :func:`check_receipt` re-derives all of it.
    """
    found = api.post_json("/lookup", {"sha256": sha256})
    out = []
    for m in found.get("matches", []):
        if not m.get("anchored") or m.get("leaf_index") is None or not m.get("checkpoint"):
            continue
        index, size = m["leaf_index"], m["checkpoint"]["tree_size"]
        entries = api.get_json("/log/entries", start=index, end=index + 1)["entries"]
        cps = api.get_json("/log/checkpoints", start=size, limit=1)["checkpoints"]
        if not entries or not cps or cps[0]["tree_size"] != size:
            raise ClientError(f"the log serves no entry {index} or checkpoint {size}",
                              code="http_error")
        proof = api.get_json("/log/proof/inclusion", index=index, size=size)
        out.append({"capture_id": None, "leaf_index": index, "tree_size": size,
                    "entry": entries[0]["data"], "leaf_hash": proof["leaf_hash"],
                    "inclusion_proof": proof["inclusion_proof"],
                    "checkpoint": cps[0]["checkpoint"],
                    "checkpoint_created_at": cps[0]["created_at"],
                    "cosignatures": cps[0].get("cosignatures", ""),
                    "timestamps": cps[0]["timestamps"]})
    return out


def _audit_tiles(report: Report, get_tile: TileGetter, note: bytes, anchors: _Anchors,
                 origin: str, nodes: dict[merkle.NodeId, bytes],
                 roots: dict[int, bytes]) -> None:
    """The C2SP tlog-tiles copy: its checkpoint, entry bundles and hash tiles.

    The tree is rebuilt from the entry bundles alone and held against the
    tiles' signed checkpoint, every hash tile against that tree, and every
    bundled entry against the same leaf from /log/entries.
    """
    try:
        cp = Checkpoint.parse(anchors.verifier.open(note))
    except FieldProofError as exc:
        report.fail("tiles checkpoint", exc.detail)
        return
    if cp.origin != origin:
        report.fail("tiles checkpoint", f"origin {cp.origin!r} is not the log's")
        return
    report.check("tiles checkpoint", cp.size in roots,
                 f"tree size {cp.size}, one of the log's checkpoints" if cp.size in roots else
                 f"tree size {cp.size} is not one of the log's checkpoints")
    app = merkle.Appender(0, {})
    tree: dict[merkle.NodeId, bytes] = {}
    differ: list[int] = []
    all_tiles = layout.tiles_for(cp.size)
    for tile in (t for t in all_tiles if t.entries):
        data = get_tile(tile.path)
        if data is None:
            report.fail("tiles entries", f"{tile.path} is not served")
            return
        try:
            entries = layout.decode_bundle(data, tile)
        except FieldProofError as exc:
            report.fail("tiles entries", exc.detail)
            return
        for entry in entries:
            leaf = merkle.leaf_hash(entry)
            if nodes.get((0, app.size)) != leaf:
                differ.append(app.size)
            tree.update(app.append(leaf))
    report.check("tiles entries", app.root() == cp.root,
                 f"{cp.size} leaves from the entry bundles rebuild the signed root"
                 if app.root() == cp.root else
                 "the entry bundles do not rebuild the tiles checkpoint's root")
    report.check("tiles entries", not differ,
                 "every bundled entry is the one /log/entries serves" if not differ else
                 f"{len(differ)} bundled entries differ from /log/entries, first leaf "
                 f"{differ[0]}")
    hash_tiles = [t for t in all_tiles if not t.entries]
    bad: list[str] = []
    for tile in hash_tiles:
        data = get_tile(tile.path)
        try:
            if data is None:
                raise ProofError("not served")
            if layout.decode_hashes(data, tile) != [tree[n] for n in tile.node_ids()]:
                raise ProofError("hashes differ from the tree of the entry bundles")
        except FieldProofError as exc:
            bad.append(f"{tile.path}: {exc.detail}")
    report.check("tiles hashes", not bad,
                 f"{len(hash_tiles)} hash tiles match the tree of the entry bundles"
                 if not bad else f"{len(bad)} hash tiles wrong, first {bad[0]}")
