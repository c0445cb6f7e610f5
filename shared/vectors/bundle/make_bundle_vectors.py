"""Evidence-bundle vectors for both verifiers, made by the backend itself.

Run from the repository root:

    .venv/bin/python shared/vectors/bundle/make_bundle_vectors.py             # export, describe
    .venv/bin/python shared/vectors/bundle/make_bundle_vectors.py --describe  # the JSON only

Exporting makes a throwaway server state (SQLite, a temporary directory),
captures a photo, a streamed recording, a streamed audio recording with a
transcript (two versions typed and signed by a person on the test device:
POST /captures/{id}/transcript/versions, so no speech model is needed), an
interrupted stream, a stream with a pause (the device signed no chunk for 37 s:
continuous no longer, every check still passes; it continues the interrupted
one) and a stream whose signed chunk
times go back (the device signed them so: only the continuity check fails)
through the API, anchors them and downloads their bundles
(GET /captures/{id}/bundle) into bundles/. The first streamed one
(stream-zip64) is exported with zipfile's ZIP64 threshold lowered to 256
bytes, so its central directory carries ZIP64 extra fields and a ZIP64 end
record, as a bundle over 4 GiB would. Each bundle must pass
fieldproof.bundle.verify (the reference) first, but for the checks its
``FAILS`` names (the clock going back fails ``continuity`` and nothing else).

Describing writes, from bundle/layout.py and the zips in bundles/:

- layout.json: the bundle layout (member names, limits, custody events), which
  the browser verifier (pwa/src/verify/bundle.ts) imports, so the two cannot
  drift; tests/bundle/test_cases.py checks it still equals the Python
  definitions.
- cases.json: the bundles, and mutations of them. pytest
  (tests/bundle/test_cases.py) runs every case against the Python verifier,
  Vitest (pwa/tests/bundle-cases.test.ts) against the browser's, both with the
  log key pinned (``log_vkey``).

A case: ``{id, bundle, mutation, sums, expect, fails, browser, why?, note?}``.
``expect`` is ``pass`` (every check passes), ``fail`` (the check ``fails``
fails) or ``unusable`` (refused as not a bundle: BundleUnusable).
``browser: false`` marks a check the browser cannot run (``why`` says so): its
report must say "not checked in this browser" for it, never pass it.

A mutation is applied to the bundle's files in zip order; then, with ``sums:
update``, SHA256SUMS is recomputed (``sha256sum`` format, sorted) so that the
deeper check is reached; then the files are written as a new zip (media/ and
empty files STORED, the rest DEFLATED, in order). Ops, each on ``member``:

- ``flip`` {at}: XOR 0x01 into the byte at ``at`` (negative: from the end)
- ``remove``; ``duplicate`` (a second zip entry of the same name)
- ``add`` {content, count?}: ``member`` may hold ``{i}``, numbered from 0
- ``replace`` {content}; ``append`` {text}; ``rename`` {to}
- content is one of ``text`` (UTF-8), ``zeros`` (that many zero bytes),
  ``copy_of`` (another member), ``from_bundle`` {bundle, member}
- ``json_set`` {path, value | delete: true}: parse, change, write as JCS; a
  path step ``"$json"`` descends into a string holding JSON text (kept as JCS)
- ``text_replace`` {find, with}: the first occurrence
- ``line_set`` {line, text}, ``line_remove`` {line}, ``line_move`` {line, to},
  ``line_json_set`` {line, path, value | delete}: lines split on "\n", from 0
- ``zip_flip`` {at}: after writing the zip, XOR 0x01 into the member's stored
  (compressed) bytes at ``at``: a damaged zip entry
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import sys
import tempfile
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from fieldproof.bundle import layout as L  # noqa: E402
from fieldproof.bundle.read import ZipBundle  # noqa: E402
from fieldproof.bundle.verify import verify_bundle  # noqa: E402
from fieldproof.core.canonical import canonicalize  # noqa: E402
from fieldproof.core.checkpoint import Signer  # noqa: E402
from fieldproof.core.encoding import b64url_encode, split_pem_certificates  # noqa: E402
from fieldproof.core.formats import C2PA_COPY_TYPES  # noqa: E402
from fieldproof.core.logentry import CUSTODY_EVENTS, CUSTODY_RECORD  # noqa: E402

HERE = Path(__file__).parent
OUT = HERE / "bundles"
BUNDLES = ("photo", "stream-zip64", "partial", "audio-transcript", "stream-paused",
           "stream-backwards")
# The bundles that are genuine exports yet fail a check: made so by the device (what it signed).
FAILS = {"stream-backwards": "continuity"}
# stream-paused: the device's signed chunk times, seconds after its signed start (a
# 37 s pause between chunks 2 and 3: the app was in the background), and its end.
PAUSED_AT = (1.0, 2.0, 3.0, 40.0, 41.0)
PAUSED_END = 41.5
# stream-backwards: chunk 2 is signed 0.6 s before chunk 1 (a device clock set back).
BACKWARDS_AT = (1.0, 2.0, 1.4, 3.0)
BACKWARDS_END = 3.5


def _failed(report: Any) -> set[str]:
    return {r.name for r in report.failed()}


def export_bundles(out: Path) -> None:
    """Capture, anchor and export the four bundles into ``out``."""
    from sqlalchemy import select

    from fieldproof.config import Settings
    from fieldproof.core.manifest import new_manifest, utc_text
    from fieldproof.db import Capture
    from fieldproof.db.models import utcnow
    from fieldproof.services import Services
    from fieldproof.web import create_app
    from tests.support.accounts import DeviceKey
    from tests.support.photos import jpeg
    from tests.support.streams import DEVICE, NS, HandStream

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "var",
                            database_url=f"sqlite:///{tmp}/db.sqlite3", testing=True)
        services = Services.build(settings)
        app = create_app(services=services)
        client = app.test_client()
        uid = services.accounts.create_user("vectors@example.org", "correct horse battery")
        auth = {"Authorization": f"Bearer {services.accounts.issue_token(uid)}"}
        device = DeviceKey()
        assert client.post("/api/v1/devices", json={"jwk": device.jwk},
                           headers=auth).status_code == 201

        def nonce() -> str:
            return str(client.post("/api/v1/nonces", headers=auth).json["nonce"])

        # a photo (single upload)
        photo = jpeg(make="vector", lat=31.2304, lon=121.4737)
        now = utcnow()
        m = new_manifest(kind="photo", sha256=hashlib.sha256(photo).hexdigest(),
                         size=len(photo), mime="image/jpeg", start=now, end=now,
                         nonce=nonce(), key_id=device.key_id, prev=None, device=DEVICE,
                         geo_absent="not_provided")
        raw = canonicalize(m)
        r = client.post("/api/v1/captures", headers=auth, content_type="multipart/form-data",
                        data={"manifest": raw.decode(), "signature": device.sign(raw),
                              "media": (io.BytesIO(photo), "photo.jpg")})
        assert r.status_code == 201, r.json
        photo_id = r.json["id"]
        prev = r.json["manifest_hash"]

        sio = app.extensions["socketio"].test_client(app, namespace=NS,
                                                     auth={"token": auth["Authorization"][7:]})

        def emit(event: str, msg: dict[str, Any]) -> dict[str, Any]:
            reply: dict[str, Any] = sio.emit(event, msg, namespace=NS, callback=True)
            assert reply["ok"], reply
            return reply

        # a complete stream: 4 chunks of different sizes
        hs = HandStream(device, nonce(), prev=prev)
        emit("start", hs.start_msg())
        for seq in range(4):
            emit("chunk", hs.chunk_msg(seq, os.urandom(700 + 300 * seq)))
        stream_id = emit("stop", hs.stop_msg())["capture"]["id"]
        prev = hashlib.sha256(canonicalize(json.loads(hs.stop_msg()["manifest"]))).hexdigest()

        # a streamed audio recording with a transcript: two versions a person typed and
        # signed on the device (human versions only: no speech model needed)
        ha = HandStream(device, nonce(), prev=prev)
        emit("start", ha.start_msg())
        for seq in range(3):
            emit("chunk", ha.chunk_msg(seq, os.urandom(900 + 200 * seq)))
        audio_id = emit("stop", ha.stop_msg())["capture"]["id"]
        prev = hashlib.sha256(canonicalize(json.loads(ha.stop_msg()["manifest"]))).hexdigest()
        audio = client.get(f"/api/v1/captures/{audio_id}", headers=auth).json
        latest: str | None = None
        for version, segments, key_points in TRANSCRIPT_VERSIONS:
            doc = {"v": 1, "type": "fieldproof.transcript", "capture_id": audio_id,
                   "manifest_sha256": audio["manifest_hash"],
                   "media_sha256": audio["media"]["sha256"], "version": version,
                   "prev": latest, "origin": "human", "based_on": None, "language": "zh",
                   "created_at": utc_text(utcnow()), "signer": {"key_id": device.key_id},
                   "engine": None, "segments": segments, "key_points": key_points}
            body = canonicalize(doc)
            r = client.post(f"/api/v1/captures/{audio_id}/transcript/versions", headers=auth,
                            json={"document": body.decode(), "signature": device.sign(body)})
            assert r.status_code == 201, r.json
            latest = hashlib.sha256(body).hexdigest()

        # an interrupted stream: 3 chunks, then silence until the reaper closes it
        hp = HandStream(device, nonce(), prev=prev)
        emit("start", hp.start_msg())
        for seq in range(3):
            emit("chunk", hp.chunk_msg(seq, os.urandom(500 + 100 * seq)))
        assert services.streams.reap(now=utcnow() + timedelta(minutes=5)) == 1
        with services.db.reading() as s:
            partial_id = s.scalar(select(Capture.id).where(Capture.stream_id == hp.id))

        # streams whose device-signed chunk times were chosen: a pause, a clock set back
        timed: dict[str, str] = {}
        # (the paused one continues the interrupted stream: a join, said by both verifiers)
        for name, ats, end_s, continues in (
                ("stream-paused", PAUSED_AT, PAUSED_END, hp.id),
                ("stream-backwards", BACKWARDS_AT, BACKWARDS_END, None)):
            started = utcnow() - timedelta(seconds=end_s + 5)
            ht = HandStream(device, nonce(), prev=prev, started=started, continues=continues)
            emit("start", ht.start_msg())
            for seq, at in enumerate(ats):
                emit("chunk", ht.chunk_msg(seq, os.urandom(400 + 100 * seq),
                                           at=started + timedelta(seconds=at)))
            stop = ht.stop_msg(end=started + timedelta(seconds=end_s))
            timed[name] = emit("stop", stop)["capture"]["id"]
            prev = hashlib.sha256(canonicalize(json.loads(stop["manifest"]))).hexdigest()

        services.sequencer.integrate()
        # Custody: a view of each capture, then a second batch puts it and the
        # "anchored" events in the log, so the bundles prove custody events
        # (the export itself stays pending: too recent for the log).
        for cid in (photo_id, stream_id, partial_id, audio_id, *timed.values()):
            assert client.get(f"/api/v1/captures/{cid}", headers=auth).status_code == 200
        services.sequencer.integrate()
        info = client.get("/api/v1/log").json
        for name, cid, zip64 in (("photo", photo_id, False), ("stream-zip64", stream_id, True),
                                 ("partial", partial_id, False),
                                 ("audio-transcript", audio_id, False),
                                 *((n, c, False) for n, c in timed.items())):
            limit = zipfile.ZIP64_LIMIT
            if zip64:
                zipfile.ZIP64_LIMIT = 256  # type: ignore[misc]
            try:
                r = client.get(f"/api/v1/captures/{cid}/bundle", headers=auth)
            finally:
                zipfile.ZIP64_LIMIT = limit  # type: ignore[misc]
            assert r.status_code == 200, r.data[:300]
            data = bytes(r.data)
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                report = verify_bundle(ZipBundle(zf))
                assert _failed(report) == ({FAILS[name]} if name in FAILS else set()), \
                    report.lines()
            if zip64:
                assert b"PK\x06\x06" in data and b"PK\x06\x07" in data, "no ZIP64 end record"
            (out / f"{name}.zip").write_bytes(data)
            assert report.anchors[0].description == info["vkey"]
        services.close()


# --------------------------------------------------------------------------- describing
def _zip_files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist()}


def _capture(data: bytes, fails: str | None = None) -> tuple[dict[str, Any], list[str]]:
    """What the reference verifier says of an exported bundle: its capture, its checks in order
    (every one passes, but ``fails``)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        report = verify_bundle(ZipBundle(zf))
    assert _failed(report) == ({fails} if fails else set()), report.lines()
    order: list[str] = []
    for r in report.results:
        if not order or order[-1] != r.name:
            order.append(r.name)
    return report.capture, order


def layout_doc() -> dict[str, Any]:
    return {
        "_comment": ("The evidence bundle's layout, written from fieldproof.bundle.layout "
                     "(and the custody events of fieldproof.core.logentry) by "
                     "make_bundle_vectors.py. The browser verifier imports it; tests/bundle "
                     "checks it equals the Python definitions."),
        "files": {"manifest": L.MANIFEST, "signature": L.SIGNATURE, "device_key": L.DEVICE_KEY,
                  "chunks": L.CHUNKS, "log_entry": L.LOG_ENTRY, "receipt": L.RECEIPT,
                  "checkpoint": L.CHECKPOINT, "log_vkey": L.LOG_VKEY, "custody": L.CUSTODY,
                  "custody_checkpoint": L.CUSTODY_CHECKPOINT,
                  "custody_consistency": L.CUSTODY_CONSISTENCY, "certificate": L.CERTIFICATE,
                  "server_ca": L.SERVER_CA, "sums": L.SUMS, "readme": L.README,
                  "sums_signature": L.SUMS_SIGNATURE,
                  "cosigned_checkpoint": L.COSIGNED_CHECKPOINT,
                  "cosigned_custody_checkpoint": L.COSIGNED_CUSTODY_CHECKPOINT,
                  "witness_vkeys": L.WITNESS_VKEYS},
        "dirs": {"media": L.MEDIA_DIR, "derived": L.DERIVED_DIR, "timestamps": L.TIMESTAMP_DIR,
                 "tsa_keys": L.TSA_KEY_DIR},
        "required": list(L.REQUIRED),
        "fixed": sorted(L.FIXED),
        "conveniences": list(L.CONVENIENCES),
        "c2pa_copy": {"prefix": L.DERIVED_DIR + "c2pa.",
                      "extensions": sorted(C2PA_COPY_TYPES)},
        "receipt_members": sorted(L.RECEIPT_MEMBERS),
        "limits": {"max_files": L.MAX_FILES, "max_small_file": L.MAX_SMALL_FILE,
                   "max_small_total": L.MAX_SMALL_TOTAL},
        "custody": {"record_type": CUSTODY_RECORD, "events": sorted(CUSTODY_EVENTS)},
        "web": {"dir": L.WEB_DIR, "files": list(L.WEB_FILES),
                "recorder_cert": L.WEB_RECORDER_CERT, "streamed": sorted(L.STREAMED)},
        "transcript": {"dir": L.TRANSCRIPT_DIR, "log": L.TRANSCRIPT_LOG,
                       "pdf": L.TRANSCRIPT_PDF, "transcriber_cert": L.TRANSCRIBER_CERT,
                       "file_pattern": L.TRANSCRIPT_FILE.pattern},
    }


LAYOUT_EXAMPLES = (
    "manifest.json", "manifest.sig", "device.jwk", "chunks.json", "log-entry.json",
    "receipt.json", "checkpoint.txt", "keys/log.vkey", "custody.jsonl",
    "custody-checkpoint.txt", "custody-consistency.json", "certificate.pdf",
    "keys/server-ca.pem", "SHA256SUMS", "SHA256SUMS.p7s", "SHA256SUMS.sig", "VERIFY.md",
    "media/original.jpg", "web/traffic.warc.gz", "web/environment.json", "web/other.txt",
    "keys/web-recorder.pem", "transcript/v1.json", "transcript/v12.sig", "transcript/v3.jwk",
    "transcript/v0.json", "transcript/v1.txt", "transcript/a/v1.json", "transcript/log.jsonl",
    "transcript.pdf", "keys/transcriber.pem",
    "media/other.jpg", "timestamps/FieldProof_embedded_TSA.tsr", "timestamps/x.der",
    "timestamps/a/b.tsr", "keys/tsa/FieldProof_embedded_TSA.pem", "keys/tsa/x.crt",
    "keys/tsa/a/b.pem", "keys/other.pem", "keys/log.vkey.bak", "derived/display.jpg",
    "derived/privacy.jpg", "derived/other.jpg", "derived/c2pa.jpg", "derived/c2pa.gif",
    "derived/c2pa.x/y.jpg", "derived/evil.txt", "extra.txt", "verify.md", "./manifest.json",
    "/manifest.json", "Manifest.json", "SHA256SUMS.asc",
)

MiB = 1 << 20

# The audio-transcript bundle's transcript: (version, segments, key points), typed by a person.
TRANSCRIPT_VERSIONS: tuple[tuple[int, list[dict[str, Any]], list[dict[str, Any]]], ...] = (
    (1, [{"start_ms": 0, "end_ms": 900, "text": "房东答应星期五退还押金",
          "speaker": "对方"},
         {"start_ms": 1000, "end_ms": 1800, "text": "[听不清 / inaudible]", "speaker": "我"}],
     []),
    (2, [{"start_ms": 0, "end_ms": 900, "text": "房东答应星期五退还全部押金",
          "speaker": "对方"},
         {"start_ms": 1000, "end_ms": 1800, "text": "好的，星期五见", "speaker": "我"}],
     [{"start_ms": 0, "end_ms": 900, "label": "退押金承诺"}]),
)


def _other_vkey(name: str) -> str:
    """A valid verifier key with the log's name but another (fixed) Ed25519 key."""
    signer = Signer(name, Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))))
    return signer.verifier.vkey()


def _other_jwk() -> str:
    """A valid P-256 device key (a fixed one) that is not the bundle's, canonical."""
    n = ec.derive_private_key(0xF1E1D, ec.SECP256R1()).public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64url_encode(n.x.to_bytes(32, "big")),
           "y": b64url_encode(n.y.to_bytes(32, "big"))}
    return canonicalize(jwk).decode()


def _rewrap(pem: bytes, width: int) -> str:
    """The same certificates with base64 lines of another width (not canonical PEM)."""
    out = []
    for block in split_pem_certificates(pem):
        lines = block.decode().strip().split("\n")
        b64 = "".join(lines[1:-1])
        out += [lines[0], *(b64[i:i + width] for i in range(0, len(b64), width)), lines[-1]]
    return "\n".join(out) + "\n"


def cases_doc(vkey: str, out: Path = OUT) -> dict[str, Any]:
    bundles: dict[str, Any] = {}
    files: dict[str, dict[str, bytes]] = {}
    for name in BUNDLES:
        data = (out / f"{name}.zip").read_bytes()
        files[name] = _zip_files(data)
        capture, checks = _capture(data, FAILS.get(name))
        assert files[name][L.LOG_VKEY].decode().strip() == vkey, "bundles of different logs"
        bundles[name] = {
            "file": f"bundles/{name}.zip",
            "zip64_end_record": b"PK\x06\x06" in data and b"PK\x06\x07" in data,
            "media": capture["media"], "media_sha256": capture["media_sha256"],
            "media_size": capture["media_size"], "manifest_sha256": capture["manifest_sha256"],
            "key_id": capture["key_id"], "partial": capture["partial"],
            "names": sorted(files[name]), "checks": checks, "fails": FAILS.get(name)}
    photo, stream = files["photo"], files["stream-zip64"]
    media = {n: bundles[n]["media"] for n in BUNDLES}
    tsr = next(n for n in photo if n.startswith(L.TIMESTAMP_DIR))
    tsa_pem = next(n for n in photo if n.startswith(L.TSA_KEY_DIR))
    c2pa = next(n for n in photo if n.startswith(L.DERIVED_DIR + "c2pa."))
    custody = photo[L.CUSTODY].decode().split("\n")[:-1]
    events = [json.loads(json.loads(line)["record"])["event"] for line in custody]
    proven = [i for i, line in enumerate(custody) if "inclusion_proof" in json.loads(line)]
    pending = [i for i in range(len(custody)) if i not in proven]
    assert len(proven) >= 2 and pending == [len(custody) - 1], events
    sums_lines = photo[L.SUMS].decode().split("\n")
    readme_line = next(i for i, line in enumerate(sums_lines) if line.endswith("  " + L.README))
    cp_lines = photo[L.CHECKPOINT].decode().split("\n")
    chunk_list = json.loads(stream[L.CHUNKS])["chunks"]
    receipt = json.loads(photo[L.RECEIPT])
    assert len(photo) + 1 <= L.MAX_FILES
    # too many members: exactly one past the limit (and exactly at it: still a bundle)
    over = L.MAX_FILES + 1 - len(photo)
    # inflated too far: files each within the per-file limit, together past the total
    big = L.MAX_SMALL_FILE
    count = L.MAX_SMALL_TOTAL // big
    assert count * big + sum(len(d) for n, d in photo.items() if n != media["photo"]) > \
        L.MAX_SMALL_TOTAL

    cases: list[dict[str, Any]] = []

    def case(id: str, bundle: str, mutation: dict[str, Any] | None, sums: str,
             fails: str | None, *, expect: str = "fail", browser: bool = True,
             why: str | None = None, note: str | None = None) -> None:
        c: dict[str, Any] = {"id": id, "bundle": bundle, "mutation": mutation, "sums": sums,
                             "expect": expect, "fails": fails, "browser": browser}
        if why:
            c["why"] = why
        if note:
            c["note"] = note
        assert (why is not None) == (not browser), id
        assert (fails is None) == (expect != "fail"), id
        cases.append(c)

    NO_CERT = ("the certificate's PAdES signature (CMS, X.509 and the PDF's byte ranges) needs "
               "a PDF and X.509 stack the page does not carry: fieldproof verify or a PDF "
               "reader checks it")
    NO_CMS = ("the signature over SHA256SUMS is CMS with an RFC 3161 token: fieldproof verify "
              "or openssl cms -verify checks it")
    NO_C2PA = ("a C2PA manifest (JUMBF, COSE, X.509) needs a C2PA reader: fieldproof verify "
               "or any C2PA tool checks it")
    NO_TSR = ("an RFC 3161 token is CMS: the page sends it with checkpoint.txt to POST "
              "/api/v1/verify/timestamp (not run here, offline), or fieldproof verify "
              "checks it")

    # -- intact: every check passes (stream-paused too: a pause is said, not failed)
    for name in BUNDLES:
        if name not in FAILS:
            case(name, name, None, "keep", None, expect="pass")

    # -- SHA256SUMS
    case("sums-media-flipped", "photo", {"op": "flip", "member": media["photo"], "at": 100},
         "keep", "SHA256SUMS")
    case("sums-readme-flipped", "photo", {"op": "flip", "member": L.README, "at": 10}, "keep",
         "SHA256SUMS", note="VERIFY.md is listed in SHA256SUMS and nothing else")
    case("sums-line-removed", "photo",
         {"op": "line_remove", "member": L.SUMS, "line": readme_line}, "keep", "SHA256SUMS")
    case("sums-line-malformed", "stream-zip64",
         {"op": "text_replace", "member": L.SUMS, "find": "  ", "with": " x"}, "keep",
         "SHA256SUMS")
    case("custody-line-removed", "photo",
         {"op": "line_remove", "member": L.CUSTODY, "line": proven[0]}, "keep", "SHA256SUMS")

    # -- layout
    case("layout-extra-file", "photo",
         {"op": "add", "member": "derived/evil.txt", "text": "trust me"}, "update", "layout")
    case("layout-nested-tsa-key", "stream-zip64",
         {"op": "add", "member": L.TSA_KEY_DIR + "sub/other.pem", "copy_of": tsa_pem},
         "update", "layout")
    case("layout-top-level-extra", "partial",
         {"op": "add", "member": "notes.txt", "text": "hello"}, "update", "layout")

    # -- manifest
    case("manifest-not-canonical", "photo",
         {"op": "append", "member": L.MANIFEST, "text": " "}, "update", "manifest")
    case("manifest-unknown-type", "stream-zip64",
         {"op": "json_set", "member": L.MANIFEST, "path": ["type"], "value": "fieldproof.other"},
         "update", "manifest")

    # -- device_key
    case("device-key-extra-member", "photo",
         {"op": "json_set", "member": L.DEVICE_KEY, "path": ["kid"], "value": "k1"}, "update",
         "device_key")
    case("device-key-not-a-point", "photo",
         {"op": "json_set", "member": L.DEVICE_KEY, "path": ["x"], "value": "AAAA"}, "update",
         "device_key")
    case("device-key-other-device", "partial",
         {"op": "replace", "member": L.DEVICE_KEY, "text": _other_jwk()}, "update",
         "device_key")

    # -- signature
    case("signature-flipped", "photo", {"op": "flip", "member": L.SIGNATURE, "at": 5},
         "update", "signature")
    case("signature-short", "stream-zip64",
         {"op": "replace", "member": L.SIGNATURE, "zeros": 63}, "update", "signature")

    # -- log_entry
    case("log-entry-key-id", "photo",
         {"op": "json_set", "member": L.LOG_ENTRY, "path": ["key_id"], "value": "someone-else"},
         "update", "log_entry")
    case("log-entry-media", "photo",
         {"op": "json_set", "member": L.LOG_ENTRY, "path": ["media_sha256"], "value": "0" * 64},
         "update", "log_entry")
    case("log-entry-not-partial", "partial",
         {"op": "json_set", "member": L.LOG_ENTRY, "path": ["stream", "partial"],
          "value": False}, "update", "log_entry")
    case("log-entry-stream-head", "stream-zip64",
         {"op": "json_set", "member": L.LOG_ENTRY, "path": ["stream", "chain_head"],
          "value": "0" * 64}, "update", "log_entry")

    # -- media
    case("media-flipped", "photo", {"op": "flip", "member": media["photo"], "at": 100},
         "update", "media")
    case("media-replaced", "photo",
         {"op": "replace", "member": media["photo"], "text": "a forged original"}, "update",
         "media")
    case("partial-media-flipped", "partial",
         {"op": "flip", "member": media["partial"], "at": -1}, "update", "media")

    # -- chunks
    case("chunks-media-flipped", "stream-zip64",
         {"op": "flip", "member": media["stream-zip64"], "at": 1500}, "update", "chunks",
         note="byte 1500 lies in chunk 1 (chunks of 700, 1000, 1300, 1600 bytes)")
    case("chunks-size-unsigned", "stream-zip64",
         {"op": "json_set", "member": L.CHUNKS, "path": ["chunks", 1, "size"],
          "value": chunk_list[1]["size"] + 1}, "update", "chunks")
    case("chunks-signature-swapped", "stream-zip64",
         {"op": "json_set", "member": L.CHUNKS, "path": ["chunks", 2, "signature"],
          "value": chunk_list[1]["signature"]}, "update", "chunks")
    case("chunks-header-other-device", "stream-zip64",
         {"op": "json_set", "member": L.CHUNKS,
          "path": ["stream_header", "$json", "device", "key_id"], "value": "someone-else"},
         "update", "chunks")
    case("partial-last-chunk-signature", "partial",
         {"op": "json_set", "member": L.LOG_ENTRY,
          "path": ["stream", "last_chunk_signature"],
          "value": base64.b64encode(bytes(64)).decode()}, "update", "chunks")
    case("partial-chunks-removed", "partial", {"op": "remove", "member": L.CHUNKS}, "update",
         "chunks")

    # -- continuity (the device's signed chunk times)
    case("continuity-clock-backwards", "stream-backwards", None, "keep", "continuity",
         note=("a genuine export: chunk 2 is signed 0.6 s before chunk 1, so the chunks "
               "check passes (signatures, chain, bytes) and only continuity fails"))

    # -- log_key (the runners pin the log key, as `fieldproof verify --log-key` does)
    case("log-key-other", "photo",
         {"op": "replace", "member": L.LOG_VKEY, "text": _other_vkey(cp_lines[0]) + "\n"},
         "update", "log_key")
    case("log-key-two-lines", "stream-zip64",
         {"op": "append", "member": L.LOG_VKEY, "text": "\n"}, "update", "log_key")
    case("log-key-garbled", "partial",
         {"op": "text_replace", "member": L.LOG_VKEY, "find": "+", "with": "+0"}, "update",
         "log_key")

    # -- checkpoint
    case("checkpoint-size-changed", "photo",
         {"op": "line_set", "member": L.CHECKPOINT, "line": 1,
          "text": str(int(cp_lines[1]) + 1)}, "update", "checkpoint")
    case("checkpoint-unsigned", "stream-zip64",
         {"op": "replace", "member": L.CHECKPOINT, "text": "\n".join(cp_lines[:3]) + "\n"},
         "update", "checkpoint")

    # -- inclusion
    case("receipt-leaf-index", "photo",
         {"op": "json_set", "member": L.RECEIPT, "path": ["leaf_index"],
          "value": receipt["leaf_index"] + 1}, "update", "inclusion")
    case("receipt-proof-truncated", "stream-zip64",
         {"op": "json_set", "member": L.RECEIPT, "path": ["inclusion_proof"], "value": []},
         "update", "inclusion")
    case("receipt-extra-member", "partial",
         {"op": "json_set", "member": L.RECEIPT, "path": ["note"], "value": "x"}, "update",
         "inclusion")

    # -- tsa_chain (the form of keys/tsa/*.pem: the browser parses the DER itself)
    case("tsa-chain-not-pem", "photo",
         {"op": "replace", "member": tsa_pem, "text": "not a certificate\n"}, "update",
         "tsa_chain")
    case("tsa-chain-not-canonical", "stream-zip64",
         {"op": "replace", "member": tsa_pem, "text": _rewrap(photo[tsa_pem], 76)}, "update",
         "tsa_chain")
    case("tsa-chain-bad-der", "partial",
         {"op": "text_replace", "member": tsa_pem, "find": "-----\nMII", "with": "-----\nNII"},
         "update", "tsa_chain", note="the first certificate's outer tag becomes 0x34")

    # -- timestamp
    case("timestamp-none", "photo", {"op": "remove", "member": tsr}, "update", "timestamp")
    case("timestamp-not-tsr", "stream-zip64",
         {"op": "rename", "member": tsr, "to": tsr.removesuffix(".tsr") + ".der"}, "update",
         "timestamp")
    case("timestamp-token-flipped", "photo", {"op": "flip", "member": tsr, "at": -40},
         "update", "timestamp", browser=False, why=NO_TSR)

    # -- certificate
    case("certificate-missing", "photo", {"op": "remove", "member": L.CERTIFICATE}, "update",
         "certificate")
    case("certificate-server-ca-missing", "stream-zip64",
         {"op": "remove", "member": L.SERVER_CA}, "update", "certificate")
    case("certificate-server-ca-twice", "partial",
         {"op": "append", "member": L.SERVER_CA,
          "text": stream[L.SERVER_CA].decode()}, "update", "certificate")
    case("certificate-flipped", "photo",
         {"op": "flip", "member": L.CERTIFICATE, "at": len(photo[L.CERTIFICATE]) // 2},
         "update", "certificate", browser=False, why=NO_CERT)
    case("certificate-of-another-capture", "stream-zip64",
         {"op": "replace", "member": L.CERTIFICATE,
          "from_bundle": {"bundle": "partial", "member": L.CERTIFICATE}}, "update",
         "certificate", browser=False, why=NO_CERT,
         note="genuine and signed, but its signed Keywords name another manifest and media")

    # -- sums_signature (SHA256SUMS.p7s)
    case("sums-signature-missing", "photo", {"op": "remove", "member": L.SUMS_SIGNATURE},
         "update", "sums_signature")
    case("sums-signature-readme-changed-resummed", "photo",
         {"op": "text_replace", "member": L.README, "find": "sha256sum", "with": "sha256sun"},
         "update", "sums_signature", browser=False, why=NO_CMS,
         note="VERIFY.md changed and SHA256SUMS recomputed: only the signature notices")
    case("sums-signature-flipped", "stream-zip64",
         {"op": "flip", "member": L.SUMS_SIGNATURE, "at": -30}, "keep", "sums_signature",
         browser=False, why=NO_CMS, note="inside the signature timestamp token")

    # -- credentials (the photo has a C2PA copy)
    case("credentials-flipped", "photo", {"op": "flip", "member": c2pa, "at": -20}, "update",
         "credentials", browser=False, why=NO_C2PA,
         note="in the JPEG's scan data, which the C2PA hard binding covers")
    case("credentials-not-a-c2pa-format", "photo",
         {"op": "rename", "member": c2pa, "to": L.DERIVED_DIR + "c2pa.gif"}, "update",
         "credentials")

    # -- custody
    case("custody-record-edited", "photo",
         {"op": "line_json_set", "member": L.CUSTODY, "line": proven[0],
          "path": ["record", "$json", "salt"], "value": "0" * 32}, "update", "custody")
    case("custody-event-changed", "photo",
         {"op": "line_json_set", "member": L.CUSTODY, "line": proven[1],
          "path": ["record", "$json", "event"],
          "value": next(e for e in sorted(CUSTODY_EVENTS) if e != events[proven[1]])},
         "update", "custody", note="a known event, but not the one the log holds")
    case("custody-event-unknown", "stream-zip64",
         {"op": "line_json_set", "member": L.CUSTODY, "line": proven[0],
          "path": ["record", "$json", "event"], "value": "tampered"}, "update", "custody",
         note="refused by name: the events are layout.json's custody.events")
    case("custody-other-manifest", "partial",
         {"op": "line_json_set", "member": L.CUSTODY, "line": pending[0],
          "path": ["record", "$json", "manifest_sha256"], "value": "0" * 64}, "update",
         "custody")
    case("custody-proof-removed", "photo",
         {"op": "line_json_set", "member": L.CUSTODY, "line": proven[1],
          "path": ["inclusion_proof"], "delete": True}, "update", "custody")
    case("custody-proven-after-pending", "photo",
         {"op": "line_move", "member": L.CUSTODY, "line": proven[1], "to": len(custody) - 1},
         "update", "custody")
    case("custody-all-lines-removed", "stream-zip64",
         {"op": "replace", "member": L.CUSTODY, "text": ""}, "update", "custody")
    case("custody-consistency-emptied", "photo",
         {"op": "json_set", "member": L.CUSTODY_CONSISTENCY, "path": ["consistency_proof"],
          "value": []}, "update", "custody")
    case("custody-checkpoint-missing", "partial",
         {"op": "remove", "member": L.CUSTODY_CHECKPOINT}, "update", "custody")
    case("custody-missing", "photo", {"op": "remove", "member": L.CUSTODY}, "update",
         "custody")
    case("custody-line-removed-resummed", "photo",
         {"op": "line_remove", "member": L.CUSTODY, "line": proven[0]}, "update", "custody",
         note=("SHA256SUMS recomputed (and so SHA256SUMS.p7s no longer holds): the next "
               "record's prev names the removed one (the custody hash chain)"))
    case("custody-prev-edited", "photo",
         {"op": "line_json_set", "member": L.CUSTODY, "line": pending[0],
          "path": ["record", "$json", "prev"], "value": None}, "update", "custody",
         note="a record not yet in the log claims to be the first")

    # -- transcript (the audio-transcript bundle: v1 and v2 typed and signed by a person)
    audio = files["audio-transcript"]
    assert [n for n in sorted(audio) if L.TRANSCRIPT_FILE.fullmatch(n)] == [
        f"{L.TRANSCRIPT_DIR}v{n}.{ext}" for n in (1, 2) for ext in ("json", "jwk", "sig")
    ] and L.TRANSCRIPT_PDF in audio, sorted(audio)
    t_log = [json.loads(line) for line in audio[L.TRANSCRIPT_LOG].decode().split("\n")[:-1]]
    assert [item["version"] for item in t_log] == [1, 2], t_log
    assert all("inclusion_proof" in item for item in t_log), "the transcript leaves are proven"
    case("transcript-v2-text-changed", "audio-transcript",
         {"op": "json_set", "member": f"{L.TRANSCRIPT_DIR}v2.json",
          "path": ["segments", 0, "text"], "value": "房东没有答应退还押金"}, "update",
         "transcript",
         note=("what was said, changed after signing and kept canonical, SHA256SUMS "
               "recomputed: v2's device signature no longer verifies"))
    case("transcript-v1-removed", "audio-transcript",
         {"op": "remove", "member": f"{L.TRANSCRIPT_DIR}v1.json"}, "update", "transcript",
         note="the versions must be numbered from 1 with none missing")
    case("transcript-v2-signature-swapped", "audio-transcript",
         {"op": "replace", "member": f"{L.TRANSCRIPT_DIR}v2.sig",
          "copy_of": f"{L.TRANSCRIPT_DIR}v1.sig"}, "update", "transcript",
         note="a genuine signature by the same device, but over v1's bytes")
    case("transcript-log-entry-altered", "audio-transcript",
         {"op": "line_json_set", "member": L.TRANSCRIPT_LOG, "line": 1,
          "path": ["entry", "$json", "transcript_sha256"], "value": "0" * 64}, "update",
         "transcript", note="v2's leaf no longer names its document's hash")
    case("transcript-log-proof-removed", "audio-transcript",
         {"op": "line_json_set", "member": L.TRANSCRIPT_LOG, "line": 0,
          "path": ["inclusion_proof"], "delete": True}, "update", "transcript",
         note="v1's leaf lies inside the custody checkpoint's tree: it must be proven")

    # -- read: a damaged zip entry
    case("zip-entry-damaged", "photo", {"op": "zip_flip", "member": L.MANIFEST, "at": 5},
         "keep", "read")
    case("zip-media-damaged", "stream-zip64",
         {"op": "zip_flip", "member": media["stream-zip64"], "at": 10}, "keep", "media")

    # -- caps (bundle/layout.py: MAX_FILES, MAX_SMALL_FILE, MAX_SMALL_TOTAL)
    case("cap-member-too-large", "photo",
         {"op": "replace", "member": L.README, "zeros": L.MAX_SMALL_FILE + 1}, "keep", "read",
         note="one byte past MAX_SMALL_FILE: that file is not read")
    case("cap-members-at-limit", "photo",
         {"op": "add", "member": "extra/{i}", "count": over - 1, "text": ""}, "update",
         "layout", note="exactly MAX_FILES files: still read, the extras fail the layout")
    case("cap-too-many-members", "photo",
         {"op": "add", "member": "extra/{i}", "count": over, "text": ""}, "keep", None,
         expect="unusable", note="MAX_FILES + 1 files")
    case("cap-inflated-total", "stream-zip64",
         {"op": "add", "member": "extra/{i}", "count": count, "zeros": big}, "keep", None,
         expect="unusable",
         note="each file within MAX_SMALL_FILE, together past MAX_SMALL_TOTAL")

    # -- unusable: not a bundle at all
    case("unusable-receipt-missing", "photo", {"op": "remove", "member": L.RECEIPT}, "update",
         None, expect="unusable")
    case("unusable-manifest-missing", "stream-zip64", {"op": "remove", "member": L.MANIFEST},
         "update", None, expect="unusable")
    case("unusable-no-media", "partial", {"op": "remove", "member": media["partial"]},
         "update", None, expect="unusable")
    case("unusable-two-media", "photo",
         {"op": "add", "member": "media/second.jpg", "copy_of": media["photo"]}, "update", None,
         expect="unusable")
    case("unusable-duplicate-name", "photo", {"op": "duplicate", "member": L.MANIFEST}, "keep",
         None, expect="unusable")

    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "case ids must be unique"
    return {
        "_comment": ("Made by the backend: cd /work/main && .venv/bin/python "
                     "shared/vectors/bundle/make_bundle_vectors.py --describe. Every case runs "
                     "against fieldproof.bundle.verify (tests/bundle/test_cases.py) and "
                     "pwa/src/verify/bundle.ts (pwa/tests/bundle-cases.test.ts); the module "
                     "docstring of the generator defines the mutation ops."),
        "log_vkey": vkey,
        "bundles": bundles,
        "layout_examples": {"media": media["photo"],
                            "names": {n: L.is_member(n, media["photo"])
                                      for n in LAYOUT_EXAMPLES}},
        "cases": cases,
    }


def _dump(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--describe", action="store_true",
                        help="keep bundles/*.zip, only rewrite layout.json and cases.json")
    parser.add_argument("--into", type=Path, default=HERE,
                        help="write the vectors into another directory (to try the generator)")
    args = parser.parse_args()
    base: Path = args.into
    out = base / "bundles"
    if not args.describe:
        export_bundles(out)
    first = out / f"{BUNDLES[0]}.zip"
    assert first.exists(), "no bundles: run without --describe first"
    vkey = _zip_files(first.read_bytes())[L.LOG_VKEY].decode().strip()
    _dump(base / "layout.json", layout_doc())
    doc = cases_doc(vkey, out)
    _dump(base / "cases.json", doc)
    for name, b in doc["bundles"].items():
        print(f"{name}: {b['file']} ({(base / b['file']).stat().st_size} bytes)")
    print(f"{len(doc['cases'])} cases")


if __name__ == "__main__":
    main()
