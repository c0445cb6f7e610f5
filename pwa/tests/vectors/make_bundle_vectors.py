"""Evidence-bundle vectors for the PWA's in-browser verifier, made by the backend itself.

Run from the repository root:  .venv/bin/python pwa/tests/vectors/make_bundle_vectors.py
It makes a throwaway server state (SQLite, a temporary directory), captures a
photo, a streamed recording and an interrupted one through the API, anchors
them, downloads their bundles (GET /captures/{id}/bundle) and writes them to
pwa/tests/vectors/bundles/, with bundles.json describing them. The streamed one
is exported with zipfile's ZIP64 threshold lowered to 256 bytes, so its central
directory carries ZIP64 extra fields and a ZIP64 end record, as a bundle over
4 GiB would. Each bundle is checked with core/bundle.py (the reference) first.
"""

from __future__ import annotations

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

from sqlalchemy import select  # noqa: E402

from fieldproof.config import Settings  # noqa: E402
from fieldproof.core.bundle import ZipBundle, verify_bundle  # noqa: E402
from fieldproof.db import Capture  # noqa: E402
from fieldproof.db.models import utcnow  # noqa: E402
from fieldproof.services.container import Services  # noqa: E402
from fieldproof.web import create_app  # noqa: E402
from tests.conftest import DeviceKey  # noqa: E402
from tests.photos import jpeg  # noqa: E402
from tests.streams import NS, HandStream  # noqa: E402

OUT = Path(__file__).parent / "bundles"


def main() -> None:
    OUT.mkdir(exist_ok=True)
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
        from fieldproof.core.canonical import canonicalize
        from fieldproof.core.manifest import new_manifest
        from tests.streams import DEVICE

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

        # an interrupted stream: 3 chunks, then silence until the reaper closes it
        hp = HandStream(device, nonce(), prev=prev)
        emit("start", hp.start_msg())
        for seq in range(3):
            emit("chunk", hp.chunk_msg(seq, os.urandom(500 + 100 * seq)))
        assert services.streams.reap(now=utcnow() + timedelta(minutes=5)) == 1
        with services.db.reading() as s:
            partial_id = s.scalar(select(Capture.id).where(Capture.stream_id == hp.id))

        services.sequencer.integrate()
        # Custody: a view of each capture, then a second batch puts it and the
        # "anchored" events in the log, so the bundles prove custody events
        # (the export itself stays pending: too recent for the log).
        for cid in (photo_id, stream_id, partial_id):
            assert client.get(f"/api/v1/captures/{cid}", headers=auth).status_code == 200
        services.sequencer.integrate()
        info = client.get("/api/v1/log").json
        made: dict[str, Any] = {}
        for name, cid, zip64 in (("photo", photo_id, False), ("stream-zip64", stream_id, True),
                                 ("partial", partial_id, False)):
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
                assert report.ok, report.lines()
                media = next(i for i in zf.infolist() if i.filename.startswith("media/"))
                names = sorted(zf.namelist())
            if zip64:
                assert b"PK\x06\x06" in data and b"PK\x06\x07" in data, "no ZIP64 end record"
            (OUT / f"{name}.zip").write_bytes(data)
            made[name] = {
                "file": f"bundles/{name}.zip", "zip64_end_record": zip64,
                "media": media.filename, "media_sha256": report.capture["media_sha256"],
                "media_size": report.capture["media_size"],
                "manifest_sha256": report.capture["manifest_sha256"],
                "key_id": report.capture["key_id"], "partial": report.capture["partial"],
                "names": names,
                "checks": sorted({r.name for r in report.results})}
        services.close()
    doc = {"_comment": ("Made by the backend: cd /work/main && .venv/bin/python "
                        "pwa/tests/vectors/make_bundle_vectors.py; each bundle passes "
                        "fieldproof.core.bundle.verify_bundle."),
           "log_vkey": info["vkey"], "bundles": made}
    (OUT / "bundles.json").write_text(json.dumps(doc, indent=2) + "\n")
    print("\n".join(f"{k}: {v['file']} ({(OUT.parent / v['file']).stat().st_size} bytes)"
                    for k, v in made.items()))


if __name__ == "__main__":
    main()
