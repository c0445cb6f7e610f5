"""The certificate PDF: bilingual facts, a QR code to the verify page, a PAdES B-T signature.

Checked from the outside: poppler's pdftotext reads the text, pdftoppm rasterises
the QR code, pdfsig (NSS) and pyHanko's validator judge the signature, and an
OpenSSL TSA over HTTP stands in for an external time-stamp authority.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import tsp
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.generic import NameObject, StreamObject
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.timestamps import TimestampRequestError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from fieldproof.errors import CertificateError, CertificateTimestampUnavailable
from fieldproof.evidence.certificate import (
    CertificateFacts,
    CheckFact,
    TimestampFact,
    cjk_font,
    cut_word,
    facts_from_records,
    make_certificate,
    qr_matrix,
    render_certificate,
    sign_pdf,
    verify_url,
)
from fieldproof.evidence.identity import ServerIdentity, SigningIdentity
from fieldproof.evidence.pdf_timestamp import (
    ResponderTimeStamper,
    timestamper_for,
    timestampers_for,
)
from fieldproof.tsa import EmbeddedTSA, HttpTSA
from tests.support.tsa_server import OpensslTSA, openssl_tsa

MEDIA_SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
MANIFEST_SHA = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"
KEY_ID = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
ROOT_B64 = "q7mSg0Hk3cmR0iAfq6dcnkGG0IhzN8g3LSsnQJjBXzU="
CAPTURE = "01JDX3Q5W8Z6K2M4N7P9R1T3V5"
URL = f"https://evidence.example.org/verify?capture={CAPTURE}"
LONG_NAME = "现场照片-" + "没有空格的很长文件名" * 6 + "-" + "x" * 120 + ".jpg"


def sample_facts(**changes: Any) -> CertificateFacts:
    facts = CertificateFacts(
        capture_id=CAPTURE, kind="photo", mime="image/jpeg", size=2_345_678,
        media_name=LONG_NAME, media_sha256=MEDIA_SHA, manifest_sha256=MANIFEST_SHA,
        key_id=KEY_ID,
        device={"key_id": KEY_ID, "platform": "Linux armv8l", "app_version": "0.1.0",
                "timezone": "Asia/Shanghai", "language": "zh-CN",
                "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 "
                              "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "screen": {"width": 412, "height": 915, "pixel_ratio": 2.625}},
        geo={"lat": 31.2304, "lon": 121.4737, "accuracy": 12.5, "altitude": None,
             "fixed_at": "2026-11-25T09:03:14.500Z"},
        device_time_start="2026-11-25T09:03:15.120Z", device_time_end="2026-11-25T09:03:15.120Z",
        received_at="2026-11-25T09:03:16.881Z",
        timestamps=(TimestampFact("FieldProof embedded TSA", "2026-11-25T09:03:17.402Z", True),
                    TimestampFact("tsa.example.net/tsr", "2026-11-25T09:03:18Z", False)),
        leaf_index=41, tree_size=42, checkpoint_origin="fieldproof.example/log",
        checkpoint_size=42, checkpoint_root=ROOT_B64,
        checks=(CheckFact("schema", True, "protocol v1 manifest"),
                CheckFact("signature", True, f"ECDSA P-256 by device {KEY_ID}"),
                CheckFact("exif_gps", False, "EXIF GPS 2.3 km from the signed fix")),
        verify_url=URL, exported_at="2026-11-25T10:00:00.000Z")
    return replace(facts, **changes)


def pdftotext(pdf: bytes, tmp: Path, *args: str) -> str:
    path = tmp / f"t{len(list(tmp.iterdir()))}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def pdfsig(pdf: bytes, tmp: Path) -> str:
    path = tmp / "sig.pdf"
    path.write_bytes(pdf)
    # -no-ocsp: our certificates name no responder; keep the test off the network.
    proc = subprocess.run(["pdfsig", "-no-ocsp", str(path)], capture_output=True, text=True)
    return proc.stdout + proc.stderr


def validate(pdf: bytes, *roots_pem: bytes, ts_roots: list[bytes]) -> PdfSignatureStatus:
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    load = [load_cert_from_pemder_data(p) for p in roots_pem]
    ts = [load_cert_from_pemder_data(p) for p in ts_roots]
    # The pdf leaf asserts digitalSignature; pyHanko's default asks for
    # nonRepudiation only, Adobe accepts either, and so do we.
    usage = KeyUsageConstraints(key_usage={"digital_signature", "non_repudiation"},
                                match_all_key_usages=False)
    return validate_pdf_signature(sig, ValidationContext(trust_roots=load),
                                  ts_validation_context=ValidationContext(trust_roots=ts),
                                  key_usage_settings=usage)


def load_cert_from_pemder_data(pem: bytes) -> Any:
    return next(iter(load_certs_from_pemder_data(pem)))


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cert-state")


@pytest.fixture(scope="module")
def identity(state: Path) -> SigningIdentity:
    return ServerIdentity(state / "server-ca").get("pdf")


@pytest.fixture(scope="module")
def tsa(state: Path) -> EmbeddedTSA:
    return EmbeddedTSA.load_or_create(state / "tsa")


@pytest.fixture(scope="module")
def signed(identity: SigningIdentity, tsa: EmbeddedTSA) -> bytes:
    return make_certificate(sample_facts(), identity, [tsa])


@pytest.fixture(scope="module")
def external() -> Iterator[OpensslTSA]:
    with openssl_tsa() as srv:
        yield srv


# --------------------------------------------------------------------------- content
def test_states_the_facts_in_chinese_and_english(signed: bytes, tmp_path: Path,
                                                 identity: SigningIdentity) -> None:
    text = squash(pdftotext(signed, tmp_path))
    for label in ("存证证书 / Evidence Certificate", "采集内容 / What was captured",
                  "设备与密钥 / Device and key", "地点 / Where", "时间 / When",
                  "完整性与日志 / Integrity and log", "服务器检查 / Server checks",
                  "媒体 SHA-256 / Media SHA-256", "清单 SHA-256 / Manifest SHA-256",
                  "服务器接收时间 / Server receipt time", "照片 / photo",
                  "扫码验证 / Scan to verify"):
        assert label in text, label
    for value in (MEDIA_SHA, MANIFEST_SHA, KEY_ID, ROOT_B64, CAPTURE, URL, "image/jpeg",
                  "2,345,678", "fieldproof.example/log", "31.230400, 121.473700", "± 12.5 m",
                  "2026-11-25T09:03:15.120Z", "2026年11月25日 17:03:15（UTC+08:00）",
                  "25 Nov 2026, 17:03:15 (UTC+08:00)",
                  "2026-11-25T09:03:16.881Z", "2026-11-25T09:03:17.402Z",
                  "2026-11-25T09:03:18Z", "FieldProof embedded TSA", "tsa.example.net/tsr",
                  "Mozilla/5.0 (Linux; Android 14; Pixel 7)", "412 × 915 @ 2.625x",
                  identity.root_fingerprint()):
        assert value in text, value
    # the checks, with their verdicts; the failed one is called out at the top too
    assert "清单格式 / Protocol format 通过 / pass" in text
    assert "EXIF 位置 / EXIF location 提示异常 / flagged EXIF GPS 2.3 km" in text
    assert "1 项检查提示异常 / 1 of 3 checks flagged: EXIF 位置 / EXIF location" in text
    # leaf index and tree size, each by its label
    assert re.search(r"Log index \(leaf_index\) 41\b", text)
    assert re.search(r"Tree size 42\b", text)
    # a long unbroken file name is cut at the column edge, every character kept in order
    assert LONG_NAME in "".join(pdftotext(signed, tmp_path).split())


REDATE_EN = "so its operator could re-date it"
REDATE_ZH = "因此服务器运营者可以更改其日期"


def test_embedded_and_external_tsas_are_labelled_apart(tmp_path: Path) -> None:
    own = TimestampFact("FieldProof embedded TSA", "2026-11-25T09:03:17Z", True,
                        root_sha256="sha256:" + "ab" * 32)
    other = TimestampFact("tsa.example.net/tsr", "2026-11-25T09:03:18Z", False,
                          independent=True, root_sha256="sha256:" + "cd" * 32)
    only_own = squash(pdftotext(render_certificate(sample_facts(
        timestamps=(own,), log_key_sha256="sha256:" + "ef" * 32)), tmp_path))
    assert "时间戳 — 内置 TSA / Timestamp — embedded TSA" in only_own
    assert "本服务器自有的 TSA，不是独立见证 / this server's own TSA, not an independent " \
           "witness" in only_own
    assert "Timestamp — external TSA" not in only_own
    # with the embedded TSA only, the certificate says the operator could re-date it
    assert REDATE_EN in only_own and REDATE_ZH in only_own
    # the fingerprints: of the log key and of each TSA root
    assert "ab" * 32 in only_own.replace(" ", "") and "ef" * 32 in only_own.replace(" ", "")
    assert "日志公钥 SHA-256 / Log key SHA-256" in only_own
    only_other = squash(pdftotext(render_certificate(sample_facts(timestamps=(other,))),
                                  tmp_path))
    assert "时间戳 — 外部 TSA / Timestamp — external TSA" in only_other
    assert "an independent time-stamp authority (its certificate chain is not this " \
           "server's)" in only_other
    assert "cd" * 32 in only_other.replace(" ", "")
    assert "Timestamp — embedded TSA" not in only_other and REDATE_EN not in only_other
    # configured as an external URL, but the server's own: not independent, and said so
    posing = replace(other, independent=False)
    text = squash(pdftotext(render_certificate(sample_facts(timestamps=(posing,))), tmp_path))
    assert "Timestamp — external TSA" in text and "an independent time-stamp authority" \
        not in text
    assert "issued by this server's own CA: not an independent witness" in text
    assert REDATE_EN in text


def test_independence_follows_the_token_chain_not_the_configuration(
        external: OpensslTSA, tsa: EmbeddedTSA, identity: SigningIdentity) -> None:
    """A token is independent only if its signer is not issued by the server's own CAs."""
    note = f"fieldproof.example/log\n42\n{ROOT_B64}\n\n— fieldproof.example/log AAAA\n"
    theirs = HttpTSA(external.url, roots_pem=[external.root_pem]).stamp(note.encode())
    ours = tsa.stamp(note.encode())
    capture = {"id": "c1", "kind": "photo", "media": {"sha256": MEDIA_SHA, "size": 7,
                                                      "mime": "image/jpeg"},
               "manifest": {"kind": "photo", "device": {}}, "manifest_hash": MANIFEST_SHA,
               "device": {"key_id": KEY_ID}, "checks": [], "received_at": "2026-11-25T09:03:16Z"}
    stamps = [{"tsa": "real.example/tsr", "embedded": False, "token": theirs,
               "gen_time": "2026-11-25T09:03:17Z"},
              {"tsa": "own-in-disguise.example/tsr", "embedded": False, "token": ours,
               "gen_time": "2026-11-25T09:03:17Z"},
              {"tsa": "FieldProof embedded TSA", "embedded": True, "token": ours,
               "gen_time": "2026-11-25T09:03:17Z"}]
    facts = facts_from_records(
        _record(capture), _receipt({"leaf_index": 41, "tree_size": 42, "checkpoint": note,
                                    "timestamps": stamps}),
        media_name="a.jpg", public_base_url="https://e.example/", exported_at="T",
        own_roots_pem=[tsa.root_pem, identity.root_pem],
        tsa_roots_pem={"real.example/tsr": external.root_pem})
    assert [t.independent for t in facts.timestamps] == [True, False, False]
    assert facts.timestamps[0].root_sha256 is not None and not facts.embedded_only
    assert facts.timestamps[1].root_sha256 is None
    alone = replace(facts, timestamps=facts.timestamps[1:])
    assert alone.embedded_only


@pytest.mark.parametrize(("geo", "expected"), [
    ({"absent": "permission_denied"},
     "无位置信息 / no location — 用户拒绝了定位权限 / location permission was denied "
     "(permission_denied)"),
    ({"absent": "timeout"}, "定位超时 / location request timed out (timeout)"),
    (None, "无位置信息：签名清单未记录位置 / no location: the signed manifest records none"),
])
def test_no_location_says_why(geo: dict[str, str] | None, expected: str,
                              tmp_path: Path) -> None:
    text = squash(pdftotext(render_certificate(sample_facts(geo=geo)), tmp_path))
    assert expected in text
    assert "31.230400" not in text and "Accuracy" not in text


def test_long_values_stay_inside_the_page(tmp_path: Path) -> None:
    facts = sample_facts(media_name="名" * 90 + "A" * 300,
                         device={"user_agent": "U" * 400, "platform": "<b>A&B</b>"},
                         checks=(CheckFact("x" * 120, True, "d" * 500),))
    pdf = render_certificate(facts)
    assert "Platform <b>A&B</b>" in squash(pdftotext(pdf, tmp_path))  # text, not markup
    html = pdftotext(pdf, tmp_path, "-bbox")
    page_w = float(re.search(r'<page width="([\d.]+)"', html).group(1))  # type: ignore[union-attr]
    right = [float(x) for x in re.findall(r'xMax="([\d.]+)"', html)]
    assert right and max(right) <= page_w - 40, max(right)  # the 16 mm margin, less slack


def test_chinese_font_is_embedded(signed: bytes, tmp_path: Path) -> None:
    """Every font is embedded, so any reader (poppler without Chinese fonts too)
    draws the Chinese text; .ci/run installs fonts-wqy-microhei for this."""
    assert cjk_font() == "FieldProofCJK", "install fonts-wqy-microhei (see .ci/run)"
    (tmp_path / "c.pdf").write_bytes(signed)
    out = subprocess.run(["pdffonts", str(tmp_path / "c.pdf")], capture_output=True,
                         text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    standard14 = {"Helvetica", "Helvetica-Bold", "Courier"}  # every reader has these
    cjk = [r for r in rows if r[0] not in standard14]
    assert cjk and all(r[-5] == "yes" and r[-4] == "yes" for r in cjk), out  # emb, sub
    assert "证据" in pdftotext(signed, tmp_path) or "存证" in pdftotext(signed, tmp_path)


def test_cut_word_keeps_every_character_and_the_width() -> None:
    from reportlab.pdfbase import pdfmetrics

    for word, font in ((MEDIA_SHA * 3, "Courier"), ("证据" * 40 + "abc" * 30, "Helvetica")):
        pieces = cut_word(word, 100, font, 9)
        assert "".join(pieces) == word and len(pieces) > 1
        for p in pieces:
            width = sum(pdfmetrics.stringWidth(c, cjk_font() if ord(c) > 255 else font, 9)
                        for c in p)
            assert width <= 100
    assert cut_word("short", 100, "Courier", 9) == ["short"]


# --------------------------------------------------------------------------- QR code
def _link_rect(pdf: bytes, url: str) -> list[float]:
    page = PdfFileReader(io.BytesIO(pdf)).root["/Pages"]["/Kids"][0]
    rects = [[float(v) for v in a.get_object()["/Rect"]] for a in page.get("/Annots", [])
             if a.get_object().get("/Subtype") == "/Link"
             and a.get_object()["/A"].get("/URI") == url]
    assert len(rects) == 1, "one link to the verification page on page 1"
    return rects[0]


def _gray_page(pdf: bytes, tmp: Path, dpi: int) -> tuple[int, int, bytes]:
    (tmp / "qr.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-gray", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile",
                    str(tmp / "qr.pdf"), str(tmp / "qr")], check=True)
    data = (tmp / "qr.pgm").read_bytes()
    magic, w, h, maxval = data.split(maxsplit=4)[:4]
    assert magic == b"P5" and maxval == b"255"
    return int(w), int(h), data[len(data) - int(w) * int(h):]


def test_qr_code_encodes_the_verify_url_and_links_to_it(signed: bytes, tmp_path: Path) -> None:
    x0, y0, x1, y1 = _link_rect(signed, URL)
    matrix = qr_matrix(URL)
    n = len(matrix)
    assert matrix != qr_matrix(URL + "x")  # the comparison below can tell URLs apart
    dpi = 200
    w, _, px = _gray_page(signed, tmp_path, dpi)
    page_h = float(PdfFileReader(io.BytesIO(signed)).root["/Pages"]["/Kids"][0]["/MediaBox"][3])
    module = (x1 - x0) / n
    assert abs((y1 - y0) - (x1 - x0)) < 0.01 and module * dpi / 72 > 4  # square, sharp

    def dark(x: float, y: float) -> bool:
        col, row = int(x * dpi / 72), int((page_h - y) * dpi / 72)
        return px[row * w + col] < 128

    drawn = tuple(tuple(dark(x0 + (c + 0.5) * module, y1 - (r + 0.5) * module)
                        for c in range(n)) for r in range(n))
    assert drawn == matrix
    # a quiet zone: light all round, half a module outside the code
    for i in range(n):
        t = x0 + (i + 0.5) * module
        assert not dark(t, y1 + module / 2) and not dark(t, y0 - module / 2)
        assert not dark(x0 - module / 2, y0 + (i + 0.5) * module)
        assert not dark(x1 + module / 2, y0 + (i + 0.5) * module)


# --------------------------------------------------------------------------- signature
def test_pdfsig_says_valid_and_whole_document(signed: bytes, tmp_path: Path) -> None:
    out = pdfsig(signed, tmp_path)
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Total document signed" in out, out
    assert "Signature Type: ETSI.CAdES.detached" in out, out  # PAdES
    assert "Signer Certificate Common Name: FieldProof certificate signer" in out, out


def test_pyhanko_validates_signature_chain_and_timestamp(
        signed: bytes, identity: SigningIdentity, tsa: EmbeddedTSA, tmp_path: Path) -> None:
    status = validate(signed, identity.root_pem, ts_roots=[tsa.root_pem])
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.modification_level == ModificationLevel.NONE and status.docmdp_ok
    # a certification signature that allows no change at all
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    assert sig.docmdp_level == MDPPerm.NO_CHANGES
    ts = status.timestamp_validity
    assert ts is not None and ts.intact and ts.valid and ts.trusted  # B-T: a signature timestamp
    assert ts.signing_cert.subject.native["common_name"] == tsa.name
    assert abs(ts.timestamp - datetime.now(UTC)) < timedelta(minutes=5)
    # trust comes from the root we pin, not from what the PDF carries
    stranger = ServerIdentity(tmp_path / "other-ca").get("pdf")
    assert not validate(signed, stranger.root_pem, ts_roots=[tsa.root_pem]).trusted
    # and the rendered bytes are still there, unchanged, under the signature
    assert signed.startswith(render_certificate(sample_facts(
        signer_root_sha256=identity.root_fingerprint()))[:64])


def test_a_flipped_byte_is_detected(signed: bytes, identity: SigningIdentity, tsa: EmbeddedTSA,
                                    tmp_path: Path) -> None:
    at = signed.index(b"/Author (FieldProof)") + len(b"/Author (Field")
    start, length = _byte_range(signed)[:2]
    assert start <= at < start + length  # inside the first signed range
    forged = signed[:at] + b"X" + signed[at + 1:]
    out = pdfsig(forged, tmp_path)
    assert "Signature is Valid" not in out and "Digest Mismatch" in out, out
    status = validate(forged, identity.root_pem, ts_roots=[tsa.root_pem])
    assert not status.intact and not status.bottom_line


def test_an_appended_revision_is_detected(signed: bytes, identity: SigningIdentity,
                                          tsa: EmbeddedTSA, tmp_path: Path) -> None:
    # The classic forgery: leave the signed bytes alone, append a revision
    # that swaps page 1's content for a new text.
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page[NameObject("/Contents")] = writer.add_object(
        StreamObject(stream_data=b"BT /F1 24 Tf 100 700 Td (FORGED) Tj ET"))
    writer.update_container(page)
    buf = io.BytesIO()
    writer.write(buf)
    forged = buf.getvalue()
    assert "FORGED" in pdftotext(forged, tmp_path)
    out = pdfsig(forged, tmp_path)
    # pdfsig still finds the signed range intact; what it flags is the coverage
    assert "Not total document signed" in out and "Total document signed" not in out, out
    status = validate(forged, identity.root_pem, ts_roots=[tsa.root_pem])
    assert status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
    assert status.modification_level == ModificationLevel.OTHER
    assert not status.docmdp_ok and not status.bottom_line


def _byte_range(pdf: bytes) -> list[int]:
    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert m is not None
    return [int(g) for g in m.groups()]


# --------------------------------------------------------------------------- TSAs
def test_external_tsa_is_preferred(external: OpensslTSA, identity: SigningIdentity,
                                   tsa: EmbeddedTSA) -> None:
    external.mode = "ok"
    http = HttpTSA(external.url, roots_pem=[external.root_pem])
    assert [t.name for t in timestampers_for([tsa, http])] == [http.name, tsa.name]
    assert timestamper_for(http) is timestamper_for(http)  # one per TSA: its size probe is kept
    pdf = make_certificate(sample_facts(), identity, [tsa, http])
    status = validate(pdf, identity.root_pem, ts_roots=[external.root_pem])
    ts = status.timestamp_validity
    assert status.bottom_line and ts is not None and ts.valid and ts.trusted
    assert ts.signing_cert.subject.native["common_name"] == "Test TSA"


@pytest.mark.parametrize("mode", ["http500", "garbage", "replay", "rejection"])
def test_a_failing_external_tsa_falls_back_to_the_embedded_one(
        mode: str, external: OpensslTSA, identity: SigningIdentity, tsa: EmbeddedTSA) -> None:
    external.mode = "ok"
    http = HttpTSA(external.url)
    if mode == "replay":
        # prime the replay with a genuine token for another request
        HttpTSA(external.url).stamp(b"something else")
    external.mode = mode
    told: list[tuple[str, str]] = []
    try:
        pdf = make_certificate(sample_facts(), identity, [http, tsa],
                               on_fallback=lambda name, why: told.append((name, why)))
    finally:
        external.mode = "ok"
    assert [name for name, _ in told] == [http.name]
    status = validate(pdf, identity.root_pem, ts_roots=[tsa.root_pem])
    assert status.bottom_line and status.timestamp_validity is not None
    assert status.timestamp_validity.signing_cert.subject.native["common_name"] == tsa.name


def test_a_token_over_something_else_is_refused(identity: SigningIdentity,
                                                tsa: EmbeddedTSA) -> None:
    # A genuine, correctly signed token with our nonce, over another digest:
    # pyHanko would embed it, and the PDF's timestamp would never validate.
    def liar(request_der: bytes) -> bytes:
        req = tsp.TimeStampReq.load(request_der)
        forged = tsp.TimeStampReq({
            "version": 1, "cert_req": True, "nonce": req["nonce"],
            "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                                "hashed_message": hashlib.sha256(b"other").digest()}})
        return tsa.respond(forged.dump())

    stamper = ResponderTimeStamper(liar, name="liar", embedded=False)
    with pytest.raises(TimestampRequestError, match="time-stamps something else"):
        sign_pdf(render_certificate(sample_facts()), identity, stamper)


def test_no_working_tsa_is_an_error(external: OpensslTSA, identity: SigningIdentity) -> None:
    external.mode = "http500"
    try:
        with pytest.raises(CertificateTimestampUnavailable) as err:
            make_certificate(sample_facts(), identity, [HttpTSA(external.url)])
    finally:
        external.mode = "ok"
    assert err.value.code == "certificate_timestamp_unavailable" and err.value.http_status == 503
    assert "tsa_unavailable" in err.value.detail
    with pytest.raises(CertificateTimestampUnavailable):
        make_certificate(sample_facts(), identity, [])


def test_signing_inside_a_running_event_loop(identity: SigningIdentity,
                                             tsa: EmbeddedTSA) -> None:
    async def in_loop() -> bytes:
        return make_certificate(sample_facts(), identity, [tsa])

    pdf = asyncio.run(in_loop())
    assert validate(pdf, identity.root_pem, ts_roots=[tsa.root_pem]).bottom_line


def test_bad_input_is_a_certificate_error(identity: SigningIdentity, tsa: EmbeddedTSA) -> None:
    with pytest.raises(CertificateError) as err:
        sign_pdf(b"not a pdf", identity, timestamper_for(tsa))
    assert err.value.code == "certificate_failed"
    broken = replace(identity, key_pem=b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE "
                                       b"KEY-----\n")
    with pytest.raises(CertificateError) as err:
        sign_pdf(render_certificate(sample_facts()), broken, timestamper_for(tsa))
    assert err.value.code == "signing_identity_invalid"


# --------------------------------------------------------------------------- facts
def _record(c: dict[str, Any]) -> Any:
    """A CaptureRecord with what a test gives as the capture's JSON."""
    from fieldproof.capture.records import CaptureRecord
    from fieldproof.core.canonical import canonicalize
    from fieldproof.core.checks import Check
    from fieldproof.core.manifest import parse_time

    stream = c.get("stream") or {}
    return CaptureRecord(
        id=c["id"], user_id=1, device_id=1, device_key_id=c["device"]["key_id"],
        kind=c["kind"], status=c.get("status", "anchored"),
        manifest=canonicalize(c["manifest"]).decode(), manifest_hash=c["manifest_hash"],
        signature=b"", media_sha256=c["media"]["sha256"], media_size=c["media"]["size"],
        media_mime=c["media"]["mime"], sniffed_mime=None, object_key="k",
        checks=tuple(Check(**d) for d in c["checks"]), exif={},
        received_at=parse_time(c["received_at"]), stream_id=stream.get("id"),
        partial=bool(stream.get("partial")))


def _receipt(r: dict[str, Any]) -> Any:
    from fieldproof.core.checkpoint import Checkpoint
    from fieldproof.core.manifest import parse_time
    from fieldproof.log.log import Receipt, StampRecord

    cp = Checkpoint.parse(r["checkpoint"].split("\n\n", 1)[0].encode() + b"\n")
    return Receipt(capture_id="c", origin=r.get("origin", cp.origin),
                   leaf_index=r["leaf_index"], tree_size=r["tree_size"], entry="{}",
                   leaf_hash=b"", inclusion_proof=(), checkpoint=r["checkpoint"],
                   checkpoint_root=cp.root, checkpoint_created_at=parse_time(
                       "2026-11-25T09:03:17Z"),
                   timestamps=tuple(StampRecord(t["tsa"], t["embedded"], t.get("token", b""),
                                                parse_time(t["gen_time"]))
                                    for t in r.get("timestamps", [])))


def test_facts_from_the_servers_records() -> None:
    manifest = {"kind": "photo", "captured": {"start": "2026-11-25T09:03:15.120Z",
                                              "end": "2026-11-25T09:03:16Z"},
                "geo": {"absent": "unsupported"}, "device": {"key_id": KEY_ID,
                                                             "platform": "iPhone"},
                "media": {"name": "a.jpg"}}
    capture = {"id": "cap/1 x", "kind": "photo", "status": "anchored",
               "media": {"sha256": MEDIA_SHA, "size": 7, "mime": "image/jpeg"},
               "manifest": manifest, "manifest_hash": MANIFEST_SHA,
               "device": {"key_id": KEY_ID},
               "checks": [{"name": "schema", "ok": True, "detail": "v1"}],
               "received_at": "2026-11-25T09:03:16.881Z", "stream": None}
    receipt = {"leaf_index": 41, "tree_size": 42, "origin": "fieldproof.example/log",
               "checkpoint": f"fieldproof.example/log\n42\n{ROOT_B64}\n\n— fieldproof.example/log "
                             "AAAA\n",
               "timestamps": [{"tsa": "FieldProof embedded TSA", "embedded": True,
                               "gen_time": "2026-11-25T09:03:17.402Z", "token_b64": "AA=="}]}
    facts = facts_from_records(_record(capture), _receipt(receipt), media_name="a.jpg",
                               public_base_url="https://e.example/", exported_at="T")
    assert facts.verify_url == f"https://e.example/verify?capture=cap%2F1%20x&sha256={MEDIA_SHA}"
    assert (facts.checkpoint_origin, facts.checkpoint_size, facts.checkpoint_root) == \
        ("fieldproof.example/log", 42, ROOT_B64)
    assert (facts.leaf_index, facts.tree_size, facts.size, facts.key_id) == (41, 42, 7, KEY_ID)
    assert facts.timestamps == (TimestampFact("FieldProof embedded TSA",
                                              "2026-11-25T09:03:17.402Z", True),)
    assert facts.checks == (CheckFact("schema", True, "v1"),)
    assert facts.geo == {"absent": "unsupported"} and facts.device["platform"] == "iPhone"
    assert facts.device_time_start == "2026-11-25T09:03:15.120Z" and not facts.partial
    assert verify_url("https://e.example", "abc") == "https://e.example/verify?capture=abc"


def test_a_partial_stream_says_so(tmp_path: Path) -> None:
    header = {"v": 2, "type": "fieldproof.stream", "kind": "audio", "mime": "audio/webm",
              "started_at": "2026-11-25T05:00:00.000Z", "geo": {"absent": "timeout"},
              "device": {"key_id": KEY_ID}}
    capture = {"id": "s1", "kind": "audio", "manifest": header, "manifest_hash": MANIFEST_SHA,
               "media": {"sha256": MEDIA_SHA, "size": 1 << 20, "mime": "audio/webm"},
               "device": {"key_id": KEY_ID}, "checks": [], "received_at": "2026-11-25T05:09Z",
               "stream": {"id": "ab", "partial": True}}
    receipt = {"leaf_index": 0, "tree_size": 1, "checkpoint": f"o\n1\n{ROOT_B64}\n\n— o x\n"}
    facts = facts_from_records(_record(capture), _receipt(receipt), media_name="original.webm",
                               public_base_url="https://e.example", exported_at="T")
    assert facts.partial and facts.device_time_start == "2026-11-25T05:00:00.000Z"
    assert facts.device_time_end is None and facts.timestamps == ()
    text = squash(pdftotext(render_certificate(facts), tmp_path))
    assert "interrupted recording: only what the server received" in text
    assert "录音 / audio" in text and "1,048,576 字节 / bytes (1.0 MiB)" in text
    assert "Capture start (device clock) 2026年11月25日 05:00:00（UTC+00:00）" in text
    assert "UTC 2026-11-25T05:00:00.000Z" in text
    assert "Capture end" not in text and "时间戳 / Timestamps 无 / none" in text
