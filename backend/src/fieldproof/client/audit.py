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
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from fieldproof.client.api import ClientError
from fieldproof.core import merkle
from fieldproof.core import tiles as layout
from fieldproof.core.checkpoint import Checkpoint, Verifier
from fieldproof.core.logentry import parse_entry
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
        label = " (embedded TSA, self-hosted)" if stamp.get("embedded") else ""
        return f"{stamp['tsa']}{label} genTime {info.gen_time.isoformat()}"


def check_receipt(receipt: dict[str, Any], info: dict[str, Any], *, vkey: str | None = None,
                  tsa_roots: list[bytes] | None = None) -> Report:
    """Verify one capture's receipt offline against the log's public keys."""
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
    return report


def audit_log(server: str, *, vkey: str | None = None, tsa_roots: list[bytes] | None = None,
              inclusion_sample: int = 1000, timeout: float = 60.0,
              tiles_url: str | None = None) -> Report:
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
                      get_tile if base is not None else None)


def _audit(get: Any, vkey: str | None, tsa_roots: list[bytes] | None,
           inclusion_sample: int, get_tile: TileGetter | None = None) -> Report:
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
    latest = get("/log/checkpoint")
    report.check("latest", latest == checkpoints[-1]["checkpoint"],
                 "GET /log/checkpoint serves the newest checkpoint")
    return report


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
