"""Evidence bundles: download, verify offline (ours, sha256sum, openssl, the VERIFY.md snippet)."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from fieldproof.bundle.layout import CHUNKS, CUSTODY, README, SUMS, SUMS_SIGNATURE, sums_text
from fieldproof.bundle.read import ZipBundle
from fieldproof.bundle.verify import verify_bundle
from fieldproof.db import Capture
from fieldproof.db.models import utcnow
from fieldproof.services import Services
from tests.support.accounts import User
from tests.support.photos import jpeg
from tests.support.problems import assert_problem
from tests.support.streams import NS, HandStream

FIELDPROOF = Path(sys.executable).parent / "fieldproof"



def _emit(sio: Any, event: str, msg: dict[str, Any]) -> dict[str, Any]:
    reply: dict[str, Any] = sio.emit(event, msg, namespace=NS, callback=True)
    assert reply["ok"], reply
    return reply


def _photo(user: User, services: Services) -> str:
    device = user.enroll()
    r = user.upload(device, jpeg(make="bundle"))
    assert r.status_code == 201, r.json
    services.sequencer.integrate()
    return str(r.json["id"])


def _stream(user: User, services: Services, sio: Any, *, partial: bool = False) -> str:
    hs = HandStream(user.enroll(), user.nonce())
    _emit(sio, "start", hs.start_msg())
    for seq in range(4):
        _emit(sio, "chunk", hs.chunk_msg(seq, os.urandom(700 + 300 * seq)))
    if partial:
        assert services.streams.reap(now=utcnow() + timedelta(minutes=5)) == 1
        with services.db.reading() as s:
            cid = s.scalar(select(Capture.id).where(Capture.stream_id == hs.id))
    else:
        cid = _emit(sio, "stop", hs.stop_msg())["capture"]["id"]
    services.sequencer.integrate()
    return str(cid)


def _make(kind: str, user: User, services: Services, sio: Any) -> str:
    cid = _photo(user, services) if kind == "photo" else \
        _stream(user, services, sio, partial=kind == "partial")
    services.sequencer.integrate()  # the "anchored" custody event's own leaf
    return cid


def _download(client: Any, user: User, cid: str) -> bytes:
    r = client.get(f"/api/v1/captures/{cid}/bundle", headers=user.auth)
    assert r.status_code == 200, r.data[:500]
    assert r.mimetype == "application/zip"
    assert f"fieldproof-{cid}.zip" in r.headers["Content-Disposition"]
    return bytes(r.data)


def _files(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


KINDS = ["photo", "stream", "partial"]


@pytest.mark.parametrize("kind", KINDS)
def test_bundle_verifies_with_every_tool(kind: str, user: User, client: Any,
                                         services: Services, sio: Any,
                                         tmp_path: Path) -> None:
    cid = _make(kind, user, services, sio)
    data = _download(client, user, cid)
    files = _files(data)
    names = set(files)
    media = [n for n in names if n.startswith("media/")]
    assert len(media) == 1
    assert {"manifest.json", "manifest.sig", "device.jwk", "log-entry.json", "receipt.json",
            "checkpoint.txt", "keys/log.vkey", CUSTODY, SUMS, README} <= names
    assert (CHUNKS in names) == (kind != "photo")
    assert any(n.startswith("timestamps/") and n.endswith(".tsr") for n in names)
    assert any(n.startswith("keys/tsa/") and n.endswith(".pem") for n in names)
    assert len(files["manifest.sig"]) == 64
    assert files[media[0]] == client.get(f"/api/v1/captures/{cid}/original",
                                         headers=user.auth).data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.getinfo(media[0]).compress_type == zipfile.ZIP_STORED
        assert zf.getinfo("manifest.json").compress_type == zipfile.ZIP_DEFLATED
        report = verify_bundle(ZipBundle(zf))
    assert report.ok, report.lines()
    names_checked = {r.name for r in report.results}
    assert {"SHA256SUMS", "manifest", "device_key", "signature", "media", "log_entry",
            "checkpoint", "inclusion", "timestamp", "custody"} <= names_checked
    assert ("chunks" in names_checked) == (kind != "photo")
    assert "certificate" in names_checked and {"certificate.pdf", "keys/server-ca.pem"} <= names
    if kind == "photo":  # a JPEG: display, privacy and C2PA-credentialed copies
        assert {"derived/display.jpg", "derived/privacy.jpg", "derived/c2pa.jpg"} <= names
        from fieldproof.evidence.credentials import read_credential

        c2pa = read_credential(files["derived/c2pa.jpg"], "image/jpeg",
                               [files["keys/server-ca.pem"]])
        assert c2pa.state == "Trusted", c2pa.failure
        assert "credentials" in names_checked
        # C2PA leaves padding in its manifest box unsigned (SHA256SUMS still names
        # the file), but a changed picture breaks the credential itself
        c2pa_bytes = bytearray(files["derived/c2pa.jpg"])
        c2pa_bytes[-20] ^= 0x01  # in the scan data (the 732-byte JPEG is at the end)
        changed = {**files, "derived/c2pa.jpg": bytes(c2pa_bytes)}
        changed[SUMS] = sums_text({n: hashlib.sha256(d).hexdigest()
                                   for n, d in changed.items() if n not in (SUMS, SUMS_SIGNATURE)})
        failed = {r.name: r.detail for r in verify_bundle(changed).failed()}
        # (and the server's signature over SHA256SUMS no longer holds)
        assert set(failed) == {"credentials", "sums_signature"}, failed
        assert "Invalid" in failed["credentials"], failed
    else:  # WebM: no C2PA support
        assert not any(n.startswith("derived/") for n in names)
    assert all(not a.pinned for a in report.anchors) and len(report.anchors) >= 2
    readme = files[README].decode()
    assert cid in readme and "fieldproof.local/log" in readme
    assert "self-hosted" in readme and "not a third party" in readme
    assert "chain of custody" in readme and "custody-consistency.json" in readme
    custody = next(r for r in report.results if r.name == "custody")
    # the "anchored" status change is proven in the log; the export is too recent
    assert custody.detail.startswith("2 events (anchored, export) from "), custody.detail
    assert ": 1 proven in the log" in custody.detail, custody.detail
    [stamp] = [r for r in report.results if r.name == "timestamp"]
    assert "[embedded: the server's own TSA, not an independent witness]" in stamp.detail
    # only the embedded TSA: one sentence, in both languages, says what that means
    [redate] = report.warnings
    assert "its operator could re-date it" in redate and "服务器运营者可以更改其日期" in redate
    assert "the last 1 not in it yet (the server's statement only)" in custody.detail

    # extracted, with standard tools only
    out_dir = tmp_path / "bundle"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        zf.extractall(out_dir)
    sums = subprocess.run(["sha256sum", "-c", SUMS], cwd=out_dir, capture_output=True,
                          text=True)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    # the certificate PDF, checked by an independent tool (poppler)
    sig = subprocess.run(["pdfsig", "-no-ocsp", "certificate.pdf"], cwd=out_dir,
                         capture_output=True, text=True)
    assert "Signature is Valid" in sig.stdout and "Total document signed" in sig.stdout, \
        sig.stdout + sig.stderr
    assert sums.stdout.count(": OK") == len(files) - 2  # not itself, not SHA256SUMS.p7s
    for tsr in sorted((out_dir / "timestamps").glob("*.tsr")):
        stem = tsr.stem
        split = next(line for line in readme.splitlines()
                     if line.startswith("awk ") and f"keys/tsa/{stem}.pem" in line)
        subprocess.run(split, shell=True, cwd=out_dir, check=True)
        ts = subprocess.run(["openssl", "ts", "-verify", "-data", "checkpoint.txt",
                             "-in", f"timestamps/{stem}.tsr", "-CAfile", "root.pem",
                             "-untrusted", "tsa.pem"], cwd=out_dir, capture_output=True,
                            text=True)
        assert ts.returncode == 0 and "Verification: OK" in ts.stdout, ts.stderr
    snippet = re.search(r"```python\n(.*?)```", readme, re.DOTALL)
    assert snippet is not None
    (tmp_path / "snippet.py").write_text(snippet.group(1))
    run = subprocess.run([sys.executable, str(tmp_path / "snippet.py")], cwd=out_dir,
                         capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "OK", run.stderr
    # the snippet really checks: a forged signature makes it fail
    sig = bytearray((out_dir / "manifest.sig").read_bytes())
    sig[10] ^= 1
    (out_dir / "manifest.sig").write_bytes(bytes(sig))
    run = subprocess.run([sys.executable, str(tmp_path / "snippet.py")], cwd=out_dir,
                         capture_output=True, text=True)
    assert run.returncode != 0 and "OK" not in run.stdout


# Which check must fail (besides SHA256SUMS) when a byte of this file changes.
def _expected(name: str) -> str | None:
    if name.startswith("media/"):
        return "media"
    if name.startswith("timestamps/"):
        return "timestamp"
    if name.startswith("keys/tsa/"):
        return "tsa_chain|timestamp"
    return {"manifest.json": "signature", "manifest.sig": "signature",
            "device.jwk": "device_key", CHUNKS: "chunks", "log-entry.json": "inclusion",
            "receipt.json": "inclusion", "checkpoint.txt": "checkpoint",
            "keys/log.vkey": "log_key", CUSTODY: "custody", "certificate.pdf": "certificate",
            "keys/server-ca.pem": "certificate",
            "custody-checkpoint.txt": "custody", "custody-consistency.json": "custody"}.get(name)


@pytest.mark.parametrize("kind", KINDS)
def test_one_flipped_byte_in_any_file_is_caught(kind: str, user: User, client: Any,
                                                services: Services, sio: Any) -> None:
    files = _files(_download(client, user, _make(kind, user, services, sio)))
    assert verify_bundle(files).ok
    for name, content in sorted(files.items()):
        positions = sorted({0, len(content) // 3, len(content) // 2, len(content) - 1})
        for pos in positions:
            flipped = bytearray(content)
            flipped[pos] ^= 0x01
            report = verify_bundle({**files, name: bytes(flipped)})
            failed = report.failed()
            where = f"{name}@{pos}: {[(r.name, r.detail) for r in failed]}"
            assert not report.ok, where
            # SHA256SUMS always names the file (or is the file), and the signature
            # over it (which SHA256SUMS does not list) fails on its own
            assert name == SUMS_SIGNATURE or any(
                r.name == "SHA256SUMS" and (name == SUMS or r.detail.startswith(name + ":"))
                for r in failed), where
            if name in (SUMS, SUMS_SIGNATURE):
                assert "sums_signature" in {r.name for r in failed}, where
            want = _expected(name)
            if want is not None:
                assert {r.name for r in failed} & set(want.split("|")), where
            if kind != "photo" and name.startswith("media/"):
                assert "chunks" in {r.name for r in failed}, where


def test_media_from_another_capture_is_refused(user: User, client: Any,
                                               services: Services) -> None:
    """Everything regenerated consistently (SHA256SUMS too) except the signed claims."""
    import hashlib

    from fieldproof.bundle.layout import sums_text
    files = _files(_download(client, user, _photo(user, services)))
    media = next(n for n in files if n.startswith("media/"))
    files[media] = jpeg(make="forged")
    files[SUMS] = sums_text({n: hashlib.sha256(d).hexdigest() for n, d in files.items()
                             if n not in (SUMS, SUMS_SIGNATURE)})
    report = verify_bundle(files)
    # the media, and the certificate and C2PA copy, both bound to the real original
    assert {r.name for r in report.failed()} == {"media", "certificate", "credentials",
                                                 "sums_signature"}, \
        report.lines()
    assert "its parent ingredient is not" in next(
        r.detail for r in report.failed() if r.name == "credentials")


def test_a_certificate_about_another_capture_is_refused(user: User, client: Any,
                                                        services: Services) -> None:
    """Genuine, signed and whole, but about another capture of the same server."""
    files = _files(_download(client, user, _photo(user, services)))
    other = _files(_download(client, user, _photo(user, services)))
    files["certificate.pdf"] = other["certificate.pdf"]
    files[SUMS] = sums_text({n: hashlib.sha256(d).hexdigest() for n, d in files.items()
                             if n not in (SUMS, SUMS_SIGNATURE)})
    report = verify_bundle(files)
    failed = {r.name: r.detail for r in report.failed()}
    assert set(failed) == {"certificate", "sums_signature"}, report.lines()
    assert "not this bundle's" in failed["certificate"]


def test_a_certificate_restamped_by_another_tsa_fails_when_tsas_are_pinned(
        user: User, client: Any, services: Services, tmp_path: Path) -> None:
    """The PDF's signature timestamp is outside its signed bytes: a pinned TSA root
    must be the only trust for it, not a root the bundle brings along."""
    from fieldproof.core.encoding import split_pem_certificates as split_pem_chain
    from fieldproof.tsa import EmbeddedTSA

    cid = _photo(user, services)
    files = _files(_download(client, user, cid))
    real_root = split_pem_chain(next(d for n, d in files.items()
                                     if n.startswith("keys/tsa/")))[-1]
    other = EmbeddedTSA.load_or_create(tmp_path / "other", name="Some Other TSA")
    saved, services.log.tsas = services.log.tsas, [other]
    try:
        restamped = _files(_download(client, user, cid))["certificate.pdf"]
    finally:
        services.log.tsas = saved
    forged = {**files, "certificate.pdf": restamped,
              "keys/tsa/zz-other.pem": b"".join(other.chain_pem())}
    forged[SUMS] = sums_text({n: hashlib.sha256(d).hexdigest() for n, d in forged.items()
                              if n not in (SUMS, SUMS_SIGNATURE)})
    pinned = verify_bundle(forged, tsa_roots=[real_root],
                           server_ca=files["keys/server-ca.pem"])
    failed = {r.name: r.detail for r in pinned.failed()}
    assert "certificate" in failed and "timestamp" in failed["certificate"], pinned.lines()
    # unpinned, the other TSA's root is an anchor the report names as unpinned
    loose = verify_bundle(forged)
    assert any(a.kind == "TSA root" and "Some Other TSA" in a.description and not a.pinned
               for a in loose.anchors), loose.lines()


def test_a_file_outside_the_layout_is_refused(user: User, client: Any,
                                              services: Services) -> None:
    files = _files(_download(client, user, _photo(user, services)))
    report = verify_bundle(files)
    layout = next(r for r in report.results if r.name == "layout")
    assert layout.ok and "not evidence, and are not checked" in layout.detail
    files["derived/evil.txt"] = b"trust me"
    files[SUMS] = sums_text({n: hashlib.sha256(d).hexdigest() for n, d in files.items()
                             if n not in (SUMS, SUMS_SIGNATURE)})
    failed = {r.name: r.detail for r in verify_bundle(files).failed()}
    assert failed.pop("sums_signature").endswith("(digest mismatch)"), failed
    assert failed == {"layout": "files no bundle holds: derived/evil.txt"}, failed


def test_the_qr_link_is_not_the_callers_to_choose(user: User, client: Any,
                                                  services: Services) -> None:
    cid = _photo(user, services)
    r = client.get(f"/api/v1/captures/{cid}/bundle",
                   headers={**user.auth, "Host": "evidence.evil.example"})
    assert_problem(r, 500, "public_url_required")
    ok = client.get(f"/api/v1/captures/{cid}/bundle",
                    headers={**user.auth, "Host": "192.168.1.20:8443"})
    assert ok.status_code == 200
    assert b"http://192.168.1.20:8443/verify?capture=" in _files(ok.data)["certificate.pdf"]
    services.exporter.public_url = "https://proof.example.org"
    try:
        r = client.get(f"/api/v1/captures/{cid}/bundle",
                       headers={**user.auth, "Host": "evidence.evil.example"})
    finally:
        services.exporter.public_url = None
    assert r.status_code == 200
    pdf = _files(r.data)["certificate.pdf"]
    assert b"https://proof.example.org/verify?capture=" in pdf and b"evil" not in pdf


def test_not_anchored_and_private(user: User, make_user: Any, client: Any,
                                  services: Services) -> None:
    device = user.enroll()
    cid = user.upload(device, jpeg()).json["id"]
    assert_problem(client.get(f"/api/v1/captures/{cid}/bundle", headers=user.auth),
                   409, "not_anchored")
    services.sequencer.integrate()
    other = make_user()
    assert_problem(client.get(f"/api/v1/captures/{cid}/bundle", headers=other.auth),
                   404, "capture_not_found")
    assert client.get(f"/api/v1/captures/{cid}/bundle").status_code == 401
    assert client.get(f"/api/v1/captures/{cid}/bundle", headers=user.auth).status_code == 200
    # the temporary zips are gone
    tmp = services.settings.data_dir / "tmp"
    assert not tmp.exists() or [p for p in tmp.iterdir() if p.is_file()] == []


def test_cli_verify_exit_codes(user: User, client: Any, services: Services,
                               tmp_path: Path) -> None:
    data = _download(client, user, _photo(user, services))
    good = tmp_path / "good.zip"
    good.write_bytes(data)

    def verify(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(FIELDPROOF), "verify", *args], capture_output=True,
                              text=True, env={**os.environ, "FIELDPROOF_DATA_DIR":
                                              str(tmp_path / "nodata")})

    ok = verify(str(good))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASS    signature" in ok.stdout and "anchor  log key" in ok.stdout
    assert "RESULT  all checks passed" in ok.stdout
    assert not (tmp_path / "nodata").exists()  # no database, no data dir

    files = _files(data)
    vkey = files["keys/log.vkey"].decode().strip()
    tsa_pem = next(d for n, d in files.items() if n.startswith("keys/tsa/"))
    root = tmp_path / "root.pem"
    root.write_bytes(b"-----BEGIN CERTIFICATE-----" + tsa_pem.split(
        b"-----BEGIN CERTIFICATE-----")[-1])
    ca = tmp_path / "server-ca.pem"
    ca.write_bytes(files["keys/server-ca.pem"])
    pinned = verify(str(good), "--log-key", vkey, "--tsa-root", str(root), "--server-ca",
                    str(ca), "--json")
    assert pinned.returncode == 0, pinned.stdout + pinned.stderr
    import json

    body = json.loads(pinned.stdout)
    assert body["ok"] and all(a["pinned"] for a in body["anchors"])
    # the bundle's copy is the pinned CA: nothing to warn about it (only the re-dating)
    assert not any("server-ca" in w for w in body["warnings"])
    assert any("could re-date" in w for w in body["warnings"])
    assert {a["kind"] for a in body["anchors"]} >= {"log key", "TSA root", "server CA"}

    # another deployment's server CA pinned: the certificate PDF is not trusted
    from fieldproof.evidence.identity import ServerIdentity

    other = tmp_path / "other-ca.pem"
    other.write_bytes(ServerIdentity(tmp_path / "other").get("pdf").root_pem)
    foreign = verify(str(good), "--server-ca", str(other))
    assert foreign.returncode == 1
    assert "FAIL    certificate" in foreign.stdout and "does not chain to the pinned server CA" \
        in foreign.stdout, foreign.stdout
    assert "WARN    keys/server-ca.pem in the bundle" in foreign.stdout
    assert "is not the pinned server CA" in foreign.stdout

    # a foreign log key pinned: the checkpoint fails
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from fieldproof.core.checkpoint import Signer

    foreign = Signer("fieldproof.local/log", Ed25519PrivateKey.generate()).verifier.vkey()
    assert verify(str(good), "--log-key", foreign).returncode == 1

    assert verify(str(good), "--log-key", "not a key").returncode == 2
    assert verify(str(good), "--tsa-root", str(good)).returncode == 2

    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d.replace(b'"v":1', b'"v":2') if n == "log-entry.json" else d)
    failed = verify(str(bad))
    assert failed.returncode == 1 and "FAIL    inclusion" in failed.stdout, failed.stdout

    notzip = tmp_path / "not.zip"
    notzip.write_bytes(b"hello")
    assert verify(str(notzip)).returncode == 2
    assert verify(str(tmp_path / "missing.zip")).returncode == 2
    partial = tmp_path / "partial.zip"
    with zipfile.ZipFile(partial, "w") as zf:
        zf.writestr("manifest.json", files["manifest.json"])
    out = verify(str(partial))
    assert out.returncode == 2 and "missing" in out.stderr


def test_cli_export_from_a_live_server(tmp_path: Path) -> None:
    """`fieldproof client export` over HTTP, a multi-megabyte original, then `verify`."""
    import json
    import time

    import httpx

    from tests.support.live import LiveServer, run_cli

    srv = LiveServer(tmp_path / "var")
    srv.data_dir.mkdir()
    token = srv.create_user("export@example.org")
    srv.start()
    try:
        env = {"FIELDPROOF_SERVER": srv.url, "FIELDPROOF_TOKEN": token,
               "FIELDPROOF_KEY": str(tmp_path / "device.pem")}
        assert run_cli("client", "enroll", env=env).returncode == 0
        big = tmp_path / "scan.bin"
        big.write_bytes(os.urandom(3 * 1024 * 1024 + 17))
        out = run_cli("client", "capture", str(big), "--kind", "import", "--json", env=env)
        assert out.returncode == 0, out.stderr
        cid = json.loads(out.stdout)["id"]
        deadline = time.monotonic() + 30
        while httpx.get(f"{srv.url}/api/v1/captures/{cid}", headers={
                "Authorization": f"Bearer {token}"}).json()["status"] != "anchored":
            assert time.monotonic() < deadline, "never anchored"
            time.sleep(0.2)
        dest = tmp_path / "evidence.zip"
        out = run_cli("client", "export", cid, "-o", str(dest), env=env)
        assert out.returncode == 0, out.stderr
        with zipfile.ZipFile(dest) as zf:
            assert zf.read("media/scan.bin") == big.read_bytes()
        out = run_cli("verify", str(dest))
        assert out.returncode == 0, out.stdout + out.stderr
        missing = run_cli("client", "export", "00000000-0000-0000-0000-000000000000",
                          "-o", str(tmp_path / "nope.zip"), env=env)
        assert missing.returncode != 0 and "capture_not_found" in missing.stderr
        assert not (tmp_path / "nope.zip").exists()
        assert not (tmp_path / "nope.zip.part").exists()
    finally:
        srv.stop()


def test_the_certificate_alone_leads_with_the_picture_place_and_verdict(
        client: Any, user: User, make_user: Any, services: Services, tmp_path: Path) -> None:
    """出证: the signed certificate by itself, what a person hands over first."""
    device = user.enroll()
    media = jpeg(make="cert", size=(640, 480))
    r = user.upload(device, media, geo={"lat": 22.5410, "lon": 114.0550, "accuracy": 8.0,
                                        "altitude": None,
                                        "fixed_at": datetime.now(UTC).isoformat()[:23] + "Z"})
    assert r.status_code == 201, r.json
    cid = r.json["id"]
    services.sequencer.integrate()
    assert r.json["place"]["name"] == "Shenzhen"

    got = client.get(f"/api/v1/captures/{cid}/certificate.pdf", headers=user.auth)
    assert got.status_code == 200 and got.mimetype == "application/pdf"
    assert "private" in got.headers["Cache-Control"]
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(got.data)
    sig = subprocess.run(["pdfsig", "-no-ocsp", str(pdf)], capture_output=True, text=True)
    assert "Signature is Valid" in sig.stdout and "Total document signed" in sig.stdout, \
        sig.stdout + sig.stderr
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert "照片" in flat and "广东省深圳" in flat, text[:1500]
    assert "Shenzhen,Guangdong" in flat and "(UTC+08:00)" in flat
    # the place, then the proof
    assert text.index("深圳") < text.index(r.json["media"]["sha256"][:16])
    images = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                            check=True).stdout.splitlines()[2:]
    assert any(line.split()[3] == "480" for line in images), images  # the thumbnail

    events = [e["event"] for e in client.get(f"/api/v1/captures/{cid}/custody",
                                             headers=user.auth).json["events"]]
    assert "certificate" in events
    other = make_user("other@example.org")
    assert_problem(client.get(f"/api/v1/captures/{cid}/certificate.pdf", headers=other.auth),
                   404, "capture_not_found")
