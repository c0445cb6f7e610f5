"""C2PA Content Credentials: real signing with c2pa-python, real reading, no mocks.

Most tests call services/credentials.py directly with a throw-away server CA
and embedded TSA; the last ones go through GET /captures/{id}/derived/c2pa on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import struct
import wave
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from fieldproof.errors import CredentialError, UnsupportedFormat
from fieldproof.evidence.credentials import (
    CAPTURE_ASSERTION,
    DIGITAL_CAPTURE,
    SCREEN_CAPTURE,
    credential_copy,
    credential_filename,
    read_credential,
    supported,
    write_credential_copy,
)
from fieldproof.evidence.identity import ServerIdentity, SigningIdentity
from fieldproof.services import Services
from fieldproof.tsa import EmbeddedTSA
from fieldproof.tsa.loopback import loopback_tsa
from tests.support.accounts import User
from tests.support.c2pa import facts_for
from tests.support.photos import jpeg
from tests.support.problems import assert_problem
from tests.support.tsa_server import openssl_tsa
from tests.support.uploads import upload_capture as _upload

GEO = {"lat": 31.2304567, "lon": -121.4737891, "accuracy": 7.5, "altitude": -12.34,
       "fixed_at": "2025-03-04T01:02:01.250Z"}


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[SigningIdentity, EmbeddedTSA,
                                                            SigningIdentity]:
    base = tmp_path_factory.mktemp("c2pa-keys")
    ours = ServerIdentity(base / "server-ca").get("c2pa")
    tsa = EmbeddedTSA.load_or_create(base / "tsa")
    stranger = ServerIdentity(base / "other-ca").get("c2pa")  # another deployment's CA
    return ours, tsa, stranger





def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------- sample media
def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def _bmff(brand: bytes) -> bytes:
    """A minimal ISO BMFF file: ftyp, moov/mvhd, mdat."""
    mvhd = (b"\0\0\0\0" + struct.pack(">IIII", 0, 0, 1000, 0) + struct.pack(">iH", 0x10000, 0x100)
            + b"\0" * 10 + struct.pack(">9i", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
            + b"\0" * 24 + struct.pack(">I", 2))
    return (_box(b"ftyp", brand + struct.pack(">I", 512) + brand + b"mp41")
            + _box(b"moov", _box(b"mvhd", mvhd)) + _box(b"mdat", bytes(range(256))))


def _wav() -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x01" * 800)
    return buf.getvalue()


def _mp3() -> bytes:
    # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding: 417-byte frames
    return (bytes([0xFF, 0xFB, 0x90, 0x64]) + b"\0" * 413) * 5


def _image(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buf, fmt)
    return buf.getvalue()


WEBM = bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d"
                     "4287810442858102") + b"\0" * 64


# --------------------------------------------------------------------------- JPEG, in full
def test_jpeg_copy_is_trusted_and_carries_the_capture(keys: Any) -> None:
    ours, tsa, _ = keys
    photo = jpeg(lat=39.9, lon=116.4, size=(96, 64))
    facts = facts_for(photo, "image/jpeg", geo=GEO)
    copy = credential_copy(photo, "image/jpeg", facts, ours, [tsa])

    report = read_credential(copy, "image/jpeg", [ours.root_pem])
    assert report.state == "Trusted"
    assert report.failure == []
    for code in ("signingCredential.trusted", "claimSignature.validated",
                 "assertion.dataHash.match", "timeStamp.validated"):
        assert code in report.success, report.success
    assert tsa.name in report.explanations["timeStamp.validated"]
    # the TSA's own root makes the timestamp trusted too
    both = read_credential(copy, "image/jpeg", [ours.root_pem, tsa.root_pem])
    assert both.state == "Trusted" and "timeStamp.trusted" in both.success
    assert "timeStamp.trusted" not in report.success
    assert report.manifest["signature_info"]["common_name"] == "FieldProof content credentials"

    # the ingredient is the original: parentOf, named by its SHA-256
    sha = hashlib.sha256(photo).hexdigest()
    [ingredient] = report.ingredients
    assert ingredient["relationship"] == "parentOf"
    assert ingredient["instance_id"] == f"fieldproof:sha256:{sha}"
    assert ingredient["metadata"]["org.fieldproof.sha256"] == sha
    assert ingredient["metadata"]["org.fieldproof.capture_id"] == facts.capture_id
    # ... and the copy's hard binding (every byte outside the manifest) IS the original
    assert report.hard_binding is not None
    label, binding = report.hard_binding
    assert label == "c2pa.hash.data"
    assert base64.b64decode(binding["hash"]) == hashlib.sha256(photo).digest()
    [exclusion] = binding["exclusions"]
    start, length = exclusion["start"], exclusion["length"]
    assert copy[:start] + copy[start + length:] == photo
    with Image.open(io.BytesIO(copy)) as a, Image.open(io.BytesIO(photo)) as b:
        assert a.tobytes() == b.tobytes()

    # assertions carry the capture's values
    [action] = report.assertion("c2pa.actions.v2")["actions"]
    assert action["action"] == "c2pa.created"
    assert action["digitalSourceType"] == DIGITAL_CAPTURE
    assert action["when"] == "2025-03-04T01:02:03.456Z"
    assert action["softwareAgent"]["name"] == "fieldproof-pwa/0.1.0"

    meta = report.assertion("c2pa.metadata")

    def coord(text: str) -> float:
        deg, minutes = text[:-1].split(",")
        value = int(deg) + float(minutes) / 60
        return -value if text[-1] in "SW" else value

    assert coord(meta["exif:GPSLatitude"]) == pytest.approx(GEO["lat"], abs=1e-7)
    assert coord(meta["exif:GPSLongitude"]) == pytest.approx(GEO["lon"], abs=1e-7)
    assert meta["exif:GPSLongitude"].endswith("W")
    assert (meta["exif:GPSAltitude"], meta["exif:GPSAltitudeRef"]) == ("1234/100", "1")
    assert meta["exif:GPSHPositioningError"] == "750/100"
    assert meta["exif:GPSTimeStamp"] == GEO["fixed_at"]
    assert meta["exif:DateTimeOriginal"] == "2025-03-04T09:02:03.456+08:00"

    capture = report.assertion(CAPTURE_ASSERTION)
    assert capture["capture_id"] == facts.capture_id
    assert capture["manifest_sha256"] == facts.manifest_sha256
    assert hashlib.sha256(capture["manifest"].encode()).hexdigest() == facts.manifest_sha256
    assert capture["device_signature"] == facts.signature_b64url
    assert capture["original"] == {"sha256": sha, "size": len(photo), "mime": "image/jpeg"}
    assert capture["device"]["key_id"] == "devkey-thumbprint"
    assert capture["device"]["platform"] == "test"
    assert capture["time"] == {"device_start": "2025-03-04T01:02:03.456Z",
                               "device_end": "2025-03-04T01:02:04.000Z",
                               "server_received": "2025-03-04T01:02:09.123Z"}
    assert capture["geo"] == GEO
    assert capture["log"] == {"origin": "fieldproof.local/log", "leaf_index": 41}
    assert capture["imported"] is False


def test_not_trusted_without_our_root(keys: Any) -> None:
    ours, tsa, stranger = keys
    photo = jpeg()
    copy = credential_copy(photo, "image/jpeg", facts_for(photo, "image/jpeg"), ours, [tsa])
    for anchors in ([], [stranger.root_pem], [tsa.root_pem]):
        report = read_credential(copy, "image/jpeg", anchors)
        assert report.state == "Valid", anchors  # signature fine, signer not trusted
        assert "signingCredential.untrusted" in report.failure
    # signed by another deployment's CA: not trusted under our root
    theirs = credential_copy(photo, "image/jpeg", facts_for(photo, "image/jpeg"), stranger,
                             [tsa])
    assert read_credential(theirs, "image/jpeg", [ours.root_pem]).state != "Trusted"


def test_a_changed_pixel_byte_is_invalid(keys: Any) -> None:
    ours, tsa, _ = keys
    photo = jpeg(size=(64, 64))
    copy = bytearray(credential_copy(photo, "image/jpeg", facts_for(photo, "image/jpeg"),
                                     ours, [tsa]))
    copy[-20] ^= 0x01  # entropy-coded data, outside the manifest
    report = read_credential(bytes(copy), "image/jpeg", [ours.root_pem])
    assert report.state == "Invalid"
    assert "assertion.dataHash.mismatch" in report.failure


def test_import_is_opened_and_screen_is_a_screen_capture(keys: Any) -> None:
    ours, tsa, _ = keys
    photo = jpeg()
    facts = facts_for(photo, "image/jpeg", kind="import", name="../holiday photo.jpg")
    report = read_credential(credential_copy(photo, "image/jpeg", facts, ours, [tsa]),
                             "image/jpeg", [ours.root_pem])
    assert report.state == "Trusted" and report.failure == []
    [action] = report.assertion("c2pa.actions.v2")["actions"]
    assert action["action"] == "c2pa.opened"
    assert "digitalSourceType" not in action
    [ref] = action["parameters"]["ingredients"]  # the SDK turned our id into a hashed URI
    assert ref["url"].endswith("c2pa.ingredient.v3")
    assert report.ingredients[0]["title"] == "holiday_photo.jpg"
    assert report.assertion(CAPTURE_ASSERTION)["imported"] is True
    assert report.assertion("c2pa.metadata") is None  # no fix, and an import has no capture time

    mp4 = _bmff(b"isom")
    screen = facts_for(mp4, "video/mp4", kind="screen", leaf_index=None)
    report = read_credential(credential_copy(mp4, "video/mp4", screen, ours, [tsa]),
                             "video/mp4", [ours.root_pem])
    [action] = report.assertion("c2pa.actions.v2")["actions"]
    assert (action["action"], action["digitalSourceType"]) == ("c2pa.created", SCREEN_CAPTURE)
    assert report.assertion(CAPTURE_ASSERTION)["log"] is None


# --------------------------------------------------------------------------- other formats
FORMATS: dict[str, Callable[[], bytes]] = {
    "image/png": lambda: _image("PNG"), "image/webp": lambda: _image("WEBP"),
    "audio/wav": _wav, "audio/mpeg": _mp3, "video/mp4": lambda: _bmff(b"isom"),
    "audio/mp4": lambda: _bmff(b"M4A "), "video/quicktime": lambda: _bmff(b"qt  "),
}


@pytest.mark.parametrize("mime", sorted(FORMATS))
def test_other_containers(keys: Any, mime: str) -> None:
    ours, tsa, _ = keys
    media = FORMATS[mime]()
    kind = mime.split("/")[0].replace("image", "photo")
    out = io.BytesIO()
    signed = write_credential_copy(io.BytesIO(media), out, mime, facts_for(media, mime, kind=kind),
                                   ours, [tsa])
    assert signed.format == mime and "embedded" in signed.tsa
    report = read_credential(out.getvalue(), mime, [ours.root_pem])
    assert report.state == "Trusted", report.failure
    assert report.failure == [] and "timeStamp.validated" in report.success
    assert report.assertion(CAPTURE_ASSERTION)["original"]["sha256"] == \
        hashlib.sha256(media).hexdigest()
    assert report.hard_binding is not None
    label, binding = report.hard_binding
    if mime == "image/png":  # the SDK only inserted a chunk: the binding is the original's hash
        assert base64.b64decode(binding["hash"]) == hashlib.sha256(media).digest()
    if mime in ("video/mp4", "audio/mp4", "video/quicktime"):
        assert label.startswith("c2pa.hash.bmff")
    assert credential_filename(mime).startswith("c2pa.")


def test_supported_types() -> None:
    for mime in ("image/jpeg", "image/jpg", "image/png", "image/webp", "image/heic",
                 "video/mp4", "video/quicktime", "audio/mp4", "audio/mp4;codecs=mp4a.40.2",
                 "audio/x-m4a", "audio/wav", "audio/x-wav", "audio/mpeg", "audio/mp3"):
        assert supported(mime), mime
    # what browsers record: converted to MP4 first (tests/api/test_credentials_av.py)
    for mime in ("video/webm", "audio/webm;codecs=opus", "audio/ogg", "video/x-matroska"):
        assert supported(mime), mime
    for mime in ("application/pdf", "image/svg+xml", "text/plain", "video/x-flv", ""):
        assert not supported(mime), mime
    assert credential_filename("image/jpeg") == "c2pa.jpg"
    assert credential_filename("audio/x-m4a") == "c2pa.m4a"
    assert credential_filename("audio/webm;codecs=opus") == "c2pa.m4a"
    assert credential_filename("video/webm") == "c2pa.mp4"


def test_unsupported_and_broken_originals(keys: Any) -> None:
    ours, tsa, _ = keys
    # a WebM header and nothing else: no MP4 copy can be made of it
    with pytest.raises(UnsupportedFormat, match="MP4 copy of this audio/webm") as info:
        credential_copy(WEBM, "audio/webm;codecs=opus", facts_for(WEBM, "audio/webm"), ours,
                        [tsa])
    assert info.value.code == "unsupported_format" and info.value.http_status == 409
    assert "/tmp" not in info.value.detail and "original.webm" not in info.value.detail
    # claimed MP4, but the bytes are WebM (the sniffer saw it): the bytes win
    with pytest.raises(UnsupportedFormat, match="video/webm"):
        credential_copy(WEBM, "video/mp4", facts_for(WEBM, "video/mp4"), ours, [tsa],
                        sniffed="video/webm")
    with pytest.raises(UnsupportedFormat, match="cannot be embedded in application/pdf"):
        credential_copy(b"%PDF-1.7", "application/pdf", facts_for(b"%PDF", "application/pdf"),
                        ours, [tsa])
    # a supported type whose bytes do not parse
    junk = b"not a jpeg at all" * 10
    with pytest.raises(UnsupportedFormat, match="cannot embed"):
        credential_copy(junk, "image/jpeg", facts_for(junk, "image/jpeg"), ours, [tsa])


# --------------------------------------------------------------------------- timestamping
def test_external_tsa_url_and_failover(keys: Any, tmp_path: Path) -> None:
    ours, tsa, _ = keys
    photo = jpeg()
    facts = facts_for(photo, "image/jpeg")

    # a URL is handed to c2pa as is: here another CA's TSA, served over HTTP
    independent = EmbeddedTSA.load_or_create(tmp_path / "independent", name="Independent TSA")
    with loopback_tsa(independent) as url:
        out = io.BytesIO()
        signed = write_credential_copy(io.BytesIO(photo), out, "image/jpeg", facts, ours,
                                       [url, tsa])
    assert signed.tsa == url.removeprefix("http://")
    report = read_credential(out.getvalue(), "image/jpeg", [ours.root_pem,
                                                            independent.root_pem])
    assert report.state == "Trusted" and "timeStamp.trusted" in report.success
    assert "Independent TSA" in report.explanations["timeStamp.validated"]
    assert "timeStamp.trusted" not in read_credential(out.getvalue(), "image/jpeg",
                                                      [ours.root_pem, tsa.root_pem]).success

    (tmp_path / "openssl").mkdir()
    with openssl_tsa(tmp_path / "openssl") as external:
        # OpenSSL's TSA answers, but its test certificate has no authority key
        # identifier, which c2pa's certificate profile requires: the embedded
        # TSA stamps instead.
        signed = write_credential_copy(io.BytesIO(photo), out, "image/jpeg", facts, ours,
                                       [external.url, tsa])
        assert external.requests == 1
        assert signed.tsa == f"{tsa.name} (embedded)"
        # a TSA that answers HTTP 500: the same fallback
        external.mode = "http500"
        signed = write_credential_copy(io.BytesIO(photo), out, "image/jpeg", facts, ours,
                                       [external.url, tsa])
        assert external.requests == 2
        assert signed.tsa == f"{tsa.name} (embedded)"
        report = read_credential(out.getvalue(), "image/jpeg", [ours.root_pem, tsa.root_pem])
        assert report.state == "Trusted" and "timeStamp.trusted" in report.success

    # nobody answers: refused, and the URL's credentials stay out of the message
    dead = f"http://user:s3cret@127.0.0.1:{_free_port()}/tsr"
    with pytest.raises(CredentialError) as info:
        credential_copy(photo, "image/jpeg", facts, ours, [dead])
    assert info.value.code == "c2pa_signing_failed" and info.value.http_status == 503
    assert "s3cret" not in info.value.detail and "127.0.0.1" in info.value.detail

    # no TSA given: signed, but without a timestamp
    report = read_credential(credential_copy(photo, "image/jpeg", facts, ours, []),
                             "image/jpeg", [ours.root_pem])
    assert report.state == "Trusted"
    assert not any(code.startswith("timeStamp.") for code in report.success)


def test_local_tsa_is_not_sent_to_a_proxy(keys: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """c2pa's HTTP client honours HTTP_PROXY even for 127.0.0.1 (measured)."""
    ours, tsa, _ = keys
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_free_port()}")  # nothing listens
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{_free_port()}")
    photo = jpeg()
    copy = credential_copy(photo, "image/jpeg", facts_for(photo, "image/jpeg"), ours, [tsa])
    assert "timeStamp.validated" in read_credential(copy, "image/jpeg", [ours.root_pem]).success


# --------------------------------------------------------------------------- over HTTP
def test_c2pa_variant_over_http(user: User, client: Any, services: Services) -> None:
    photo = jpeg(lat=10.0, lon=20.0)
    body = _upload(user, photo, geo=GEO)
    services.sequencer.integrate()
    r = client.get(f"/api/v1/captures/{body['id']}/derived/c2pa", headers=user.auth)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.headers["X-FieldProof-Derivation"] == "c2pa"
    assert r.headers["X-FieldProof-Original-SHA256"] == body["media"]["sha256"]
    assert r.headers["X-FieldProof-Derived-SHA256"] == hashlib.sha256(r.data).hexdigest()
    assert f'{body["id"]}-c2pa.jpg' in r.headers["Content-Disposition"]

    root = services.identity.get("c2pa").root_pem  # the server's published trust anchor
    report = read_credential(r.data, "image/jpeg", [root])
    assert report.state == "Trusted" and report.failure == []
    assert "timeStamp.validated" in report.success  # the embedded TSA, served on loopback
    capture = report.assertion(CAPTURE_ASSERTION)
    assert capture["capture_id"] == body["id"]
    assert capture["manifest_sha256"] == body["manifest_hash"]
    assert capture["device"]["key_id"] == body["device"]["key_id"]
    assert capture["time"]["server_received"] == body["received_at"]
    assert isinstance(capture["log"]["leaf_index"], int)
    assert capture["log"]["origin"] == services.log.origin
    assert report.assertion("c2pa.metadata")["exif:GPSLatitude"].endswith("N")
    assert read_credential(r.data, "image/jpeg").state == "Valid"  # no anchor: not trusted

    orig = client.get(f"/api/v1/captures/{body['id']}/original", headers=user.auth)
    assert orig.data == photo  # the original is untouched

    d = services.deriver.derive(user_principal(services, user), body["id"], "c2pa")
    assert d.mime == "image/jpeg" and d.sha256 != r.headers["X-FieldProof-Derived-SHA256"]


def user_principal(services: Services, user: User) -> Any:
    return services.accounts.principal(user.token)


def test_c2pa_variant_errors(user: User, make_user: Any, client: Any,
                             services: Services) -> None:
    # real WebM recordings get an MP4 copy (test_credentials_av.py); a bare header cannot
    webm = _upload(user, WEBM, kind="audio", mime="audio/webm;codecs=opus")
    r = client.get(f"/api/v1/captures/{webm['id']}/derived/c2pa", headers=user.auth)
    assert_problem(r, 409, "unsupported_format")
    photo = _upload(user, jpeg())
    other = make_user()
    r = client.get(f"/api/v1/captures/{photo['id']}/derived/c2pa", headers=other.auth)
    assert_problem(r, 404, "capture_not_found")
    # a WAV recording works through the same route (mimetype aside, see Derived.mime)
    wav = _wav()
    rec = _upload(user, wav, kind="audio", mime="audio/wav")
    d = services.deriver.derive(user_principal(services, user), rec["id"], "c2pa")
    assert d.mime == "audio/wav" and d.filename.endswith("-c2pa.wav")
    assert read_credential(d.data, d.mime, [services.identity.get("c2pa").root_pem]).state == \
        "Trusted"
