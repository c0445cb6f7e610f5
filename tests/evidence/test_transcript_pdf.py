"""The 文字稿 (transcript PDF): what it says (pdftotext), that it is signed (pdfsig), and
that the offline checker binds it to one transcript version of one recording."""

from __future__ import annotations

import io
import re
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader

from fieldproof.bundle.checkers import check_transcript_pdf, default_checkers
from fieldproof.bundle.common import CheckFailed
from fieldproof.errors import CertificateTimestampUnavailable
from fieldproof.evidence.identity import ServerIdentity, SigningIdentity
from fieldproof.evidence.transcript_pdf import (
    TranscriptFacts,
    clock,
    key_point_text,
    make_transcript_pdf,
    render_transcript,
    time_range,
    wrap_lines,
)
from fieldproof.tsa import EmbeddedTSA

CAPTURE = "01JDTRANSCRIPT0000000000AA"
MEDIA_SHA = "ab" * 32
MANIFEST_SHA = "cd" * 32
V1_SHA = "11" * 32
V2_SHA = "22" * 32
LONG_ZH = ("房东说押金会在星期五之前全部退还，如果有任何问题可以直接打电话给他，"
           "他还说屋里的家具损坏不需要我们赔偿。" * 20)[:600]
PROMISE = "房东答应星期五退还押金"


def segments() -> list[dict[str, Any]]:
    segs: list[dict[str, Any]] = [
        {"start_ms": 0, "end_ms": 1800, "text": "Hello, is this the landlord?", "speaker": "我"},
        {"start_ms": 2000, "end_ms": 5400, "text": PROMISE, "speaker": "对方"},
        {"start_ms": 5400, "end_ms": 9000, "text": LONG_ZH, "speaker": "对方"},
    ]
    for i in range(70):
        t = 10_000 + i * 4000
        text = (f"第 {i} 段：我们再确认一下合同的细节" if i % 2
                else f"Segment {i}: let us go over the lease once more")
        segs.append({"start_ms": t, "end_ms": t + 3500, "text": text,
                     "speaker": None if i % 3 == 0 else "Zhang San"})
    return segs


def facts(**changes: Any) -> TranscriptFacts:
    base = TranscriptFacts(
        capture_id=CAPTURE, kind="audio", title="押金谈话 / deposit call",
        media_name="recording.webm", manifest_sha256=MANIFEST_SHA, media_sha256=MEDIA_SHA,
        duration_ms=300_000, recorded_start="2026-12-03T01:02:03.000Z",
        timezone="Asia/Shanghai", version=1, transcript_sha256=V1_SHA, origin="machine",
        created_at="2026-12-03T08:00:00.000Z", signer_key_id="transcriber-key-id-0123",
        engine={"name": "faster-whisper", "version": "1.1.0", "model": "small",
                "model_sha256": "ef" * 32, "vad": True, "beam_size": 5},
        based_on=None, language="zh", history=[],
        segments=segments(),
        key_points=[{"start_ms": 2000, "end_ms": 5400, "label": "退押金承诺"},
                    {"start_ms": 3_600_000, "end_ms": 3_601_000, "label": "after the end"}],
        exported_at="2026-12-04T09:00:00.000Z", operator="FieldProof 测试运营者")
    return replace(base, **changes)


HUMAN = {"version": 2, "transcript_sha256": V2_SHA, "origin": "human",
         "signer_key_id": "device-key-id-4567", "engine": None, "based_on": V1_SHA,
         "history": [{"version": 1, "origin": "machine", "sha256": V1_SHA,
                      "created_at": "2026-12-03T08:00:00.000Z"},
                     {"version": 2, "origin": "human", "sha256": V2_SHA,
                      "created_at": "2026-12-05T08:00:00.000Z"}]}


def pdftotext(pdf: bytes, tmp: Path, *args: str) -> str:
    path = tmp / f"t{len(list(tmp.iterdir()))}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdfsig(pdf: bytes, tmp: Path) -> str:
    path = tmp / "sig.pdf"
    path.write_bytes(pdf)
    # -no-ocsp: our certificates name no responder; keep the test off the network.
    proc = subprocess.run(["pdfsig", "-no-ocsp", str(path)], capture_output=True, text=True)
    return proc.stdout + proc.stderr


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("transcript-state")


@pytest.fixture(scope="module")
def identity(state: Path) -> SigningIdentity:
    return ServerIdentity(state / "server-ca").get("pdf")


@pytest.fixture(scope="module")
def tsa(state: Path) -> EmbeddedTSA:
    return EmbeddedTSA.load_or_create(state / "tsa")


@pytest.fixture(scope="module")
def machine_pdf(identity: SigningIdentity, tsa: EmbeddedTSA) -> bytes:
    return make_transcript_pdf(facts(), identity, [tsa])


@pytest.fixture(scope="module")
def human_pdf(identity: SigningIdentity, tsa: EmbeddedTSA) -> bytes:
    return make_transcript_pdf(facts(**HUMAN), identity, [tsa])


def check(pdf: bytes, identity: SigningIdentity, tsa: EmbeddedTSA, **changes: str) -> str:
    want = {"capture_id": CAPTURE, "transcript_sha256": V1_SHA, "media_sha256": MEDIA_SHA,
            **changes}
    return check_transcript_pdf(pdf, server_ca=identity.root_pem, ca_source="server CA",
                                tsa_roots=[tsa.root_pem], **want)


# --------------------------------------------------------------------------- pure helpers
def test_clock_counts_from_the_start() -> None:
    assert clock(0) == "0:00"
    assert clock(2000) == "0:02"
    assert clock(5400) == "0:05"  # whole seconds, rounded down
    assert clock(59_999) == "0:59"
    assert clock(600_000) == "10:00"
    assert clock(3_600_000) == "1:00:00"
    assert clock(3_723_000) == "1:02:03"
    assert time_range(2000, 5400) == "0:02–0:05"


def test_key_point_text_takes_the_overlapping_segments_in_order() -> None:
    segs = [{"start_ms": 0, "end_ms": 2000, "text": "a"},
            {"start_ms": 2000, "end_ms": 5000, "text": " 房东答应 "},
            {"start_ms": 4000, "end_ms": 8000, "text": "b"},
            {"start_ms": 9000, "end_ms": 9000, "text": "c"},
            {"start_ms": 9500, "end_ms": 9900, "text": ""}]
    assert key_point_text(segs, 2000, 5000) == "房东答应 b"  # touching at 2000: not "a"
    assert key_point_text(segs, 0, 10_000) == "a 房东答应 b c"  # empty text left out
    assert key_point_text(segs, 3000, 3000) == "房东答应"  # an instant inside one segment
    assert key_point_text(segs, 8500, 9200) == "c"  # a segment of no length
    assert key_point_text(segs, 20_000, 30_000) == ""
    assert key_point_text([], 0, 1) == ""


def test_wrap_lines_keeps_every_character_inside_the_width() -> None:
    from reportlab.pdfbase import pdfmetrics

    from fieldproof.evidence.certificate import cjk_font

    def width(line: str) -> float:
        return sum(pdfmetrics.stringWidth(c, cjk_font() if ord(c) > 255 else "Helvetica", 8.5)
                   for c in line)

    text = LONG_ZH + " mixed with English words and a " + "verylongtoken" * 20
    lines = wrap_lines(text, 150, "Helvetica", 8.5)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    assert all(width(line) <= 150 for line in lines)
    assert not any(line[:1] in "，。、" for line in lines)  # no line opens with punctuation
    assert wrap_lines("a\n\nb", 150, "Helvetica", 8.5) == ["a", "", "b"]  # newlines kept
    assert wrap_lines("", 150, "Helvetica", 8.5) == [""]


# --------------------------------------------------------------------------- content
def test_machine_draft_says_what_it_is(machine_pdf: bytes, tmp_path: Path) -> None:
    layout = pdftotext(machine_pdf, tmp_path, "-layout")
    # the key points table, row by row as a reader sees it: time, label, what was said
    assert re.search(r"0:02–0:05\s+退押金承诺\s+" + PROMISE, layout), layout[:3000]
    assert re.search(r"1:00:00–1:00:01\s+after the end\s+\(该时段无文字\) / "
                     r"\(no words in this range\)", layout)
    for said in ("重点 / Key points", "全文 / Full transcript", "机器初稿，未经人工核对",
                 "Machine draft, not checked by a person", "[0:02–0:05]", "[4:46–4:49]"):
        assert said in layout, said
    assert "人工核对版本" not in layout
    # the facts: labels wrap in their column, so compare without white space
    text = squash(pdftotext(machine_pdf, tmp_path))
    for said in ("录音文字稿 / Transcript of a recording", "采集编号 / Capture ID", CAPTURE,
                 "清单 SHA-256 / Manifest SHA-256", MANIFEST_SHA,
                 "媒体 SHA-256 / Media SHA-256", MEDIA_SHA, "时长 / Duration 5:00 (300.0 s)",
                 "本版本 SHA-256 / This version's SHA-256", V1_SHA,
                 "来源 / Made by 机器初稿，未经人工核对 / Machine draft, not checked by a person",
                 "transcriber-key-id-0123", "服务器的转写器密钥 / the server's transcriber key",
                 "识别引擎 / Speech engine faster-whisper 1.1.0", "模型 / Model small", "ef" * 32,
                 "vad: True; beam_size: 5", "语言 / Language zh",
                 "2026年12月3日 09:02:03（UTC+08:00）", "3 Dec 2026, 09:02:03 (UTC+08:00)",
                 "UTC 2026-12-03T01:02:03.000Z", "创建时间 (UTC) / Created (UTC) 2026-12-03T08:00",
                 "此前版本 / Earlier versions 无：这是第一版 / none: this is the first version",
                 "文字稿是录音的辅助，不能取代录音", "an aid to the recording, not a replacement",
                 "Times count from the start of the recording", "签发 / Issued by: FieldProof "
                 "测试运营者", "第 1 版 / version 1", "Zhang San", "对方",
                 "Hello, is this the landlord?", "第 69 段：我们再确认一下合同的细节"):
        assert squash(said) in text, said
    assert squash("基于机器初稿") not in text  # a machine version is based on nothing
    # the 600-character segment wraps inside its cell, every character kept in order
    assert squash(LONG_ZH) in text


def test_human_version_names_the_draft_it_started_from(human_pdf: bytes,
                                                       tmp_path: Path) -> None:
    layout = pdftotext(human_pdf, tmp_path, "-layout")
    for said in ("人工核对版本 / Checked by a person · 第 2 版 / version 2", "重点 / Key points",
                 "退押金承诺", "0:02–0:05"):
        assert said in layout, said
    text = squash(pdftotext(human_pdf, tmp_path))
    for said in ("来源 / Made by 人工核对版本 / Checked by a person", V2_SHA,
                 "device-key-id-4567", "所有者的设备密钥 / the owner's device key",
                 "基于机器初稿 / Based on machine draft " + V1_SHA,
                 "此前版本 / Earlier version v1 机器初稿，未经人工核对 / Machine draft, not "
                 "checked by a person · 2026-12-03T08:00:00.000Z SHA-256 " + V1_SHA,
                 "人工核对版本由录音的所有者在其设备上核对并签名"):
        assert squash(said) in text, said
    assert squash("Earlier version v2") not in text  # earlier versions only
    # only the earlier version is called a machine draft; the engine was its, not this one's
    assert text.count(squash("机器初稿，未经人工核对")) == 1
    assert "faster-whisper" not in text


def test_no_key_points_says_so(tmp_path: Path) -> None:
    text = squash(pdftotext(render_transcript(facts(key_points=[])), tmp_path))
    assert squash("本版本没有标记重点 / no key points are marked in this version") in text


def test_spans_pages_inside_the_margins_with_the_header_repeated(machine_pdf: bytes,
                                                                 tmp_path: Path) -> None:
    html = pdftotext(machine_pdf, tmp_path, "-bbox")
    pages = html.count("<page ")
    assert pages >= 3, pages
    page_w = float(re.search(r'<page width="([\d.]+)"', html).group(1))  # type: ignore[union-attr]
    right = [float(x) for x in re.findall(r'xMax="([\d.]+)"', html)]
    assert right and max(right) <= page_w - 40, max(right)  # the 16 mm margin, less slack
    per_page = pdftotext(machine_pdf, tmp_path, "-layout").split("\f")
    last = [p for p in per_page if p.strip()][-1]
    assert "Speaker" in last and "说话人" in last  # the full transcript's header repeats
    assert f"第 {pages} 页 / page {pages}" in last and CAPTURE in last


def test_a_segment_longer_than_a_page_runs_on(tmp_path: Path) -> None:
    long = {"start_ms": 5400, "end_ms": 9000, "speaker": "对方",
            "text": "\n".join(f"第{i}行" for i in range(300))}
    pdf = render_transcript(facts(segments=[*segments()[:2], long, *segments()[3:10]]))
    pages = [p for p in pdftotext(pdf, tmp_path, "-layout").split("\f") if p.strip()]
    assert len(pages) >= 4, len(pages)
    assert all(p.count("说话人") <= 1 for p in pages)  # never a second header on a page
    # each page opening inside the segment gives its time code again and says it goes on
    assert sum("[0:05–0:09]" in p and "续 / cont." in p for p in pages) >= 2
    said = [int(n) for n in re.findall(r"第(\d+)行", "".join(pages))]
    assert said == list(range(300))  # every line, once, in order
    # nothing runs into the bottom margin: below the 16 mm frame there is only the footer,
    # drawn 8 mm up
    html = pdftotext(pdf, tmp_path, "-bbox")
    page_h = float(re.search(r'<page width="[\d.]+" height="([\d.]+)"', html).group(1))  # type: ignore[union-attr]
    bottoms = [float(y) for y in re.findall(r'yMax="([\d.]+)"', html)]
    assert not [y for y in bottoms if page_h - 45 < y < page_h - 30]
    assert any(y >= page_h - 30 for y in bottoms)  # the footer is there, for comparison


def test_chinese_is_embedded(machine_pdf: bytes, tmp_path: Path) -> None:
    (tmp_path / "f.pdf").write_bytes(machine_pdf)
    out = subprocess.run(["pdffonts", str(tmp_path / "f.pdf")], capture_output=True,
                         text=True, check=True).stdout
    rows = [line.split() for line in out.splitlines()[2:] if line.strip()]
    cjk = [r for r in rows if r[0] not in {"Helvetica", "Helvetica-Bold", "Courier"}]
    assert cjk and all(r[-5] == "yes" for r in cjk), out


# --------------------------------------------------------------------------- signature
def test_signed_whole_and_time_stamped(machine_pdf: bytes, tmp_path: Path) -> None:
    out = pdfsig(machine_pdf, tmp_path)
    assert "Signature Validation: Signature is Valid." in out, out
    assert "Total document signed" in out, out
    assert "Signature Type: ETSI.CAdES.detached" in out, out
    reader = PdfFileReader(io.BytesIO(machine_pdf))
    assert [s.field_name for s in reader.embedded_signatures] == ["FieldProofTranscript"]
    assert str(reader.trailer["/Info"]["/Keywords"]) == (
        f"fieldproof-transcript:{CAPTURE} transcript-sha256:{V1_SHA} media-sha256:{MEDIA_SHA}")


def test_the_checker_binds_the_version(machine_pdf: bytes, human_pdf: bytes,
                                       identity: SigningIdentity, tsa: EmbeddedTSA) -> None:
    said = check(machine_pdf, identity, tsa)
    assert "PAdES signature" in said and V1_SHA in said
    assert "PAdES signature" in check(human_pdf, identity, tsa, transcript_sha256=V2_SHA)
    assert default_checkers().transcript_pdf is check_transcript_pdf
    for wrong in ({"transcript_sha256": V2_SHA}, {"media_sha256": "ee" * 32},
                  {"capture_id": "01JDOTHER"}):
        with pytest.raises(CheckFailed, match="not this bundle's"):
            check(machine_pdf, identity, tsa, **wrong)


def test_one_flipped_byte_fails(machine_pdf: bytes, identity: SigningIdentity,
                                tsa: EmbeddedTSA, tmp_path: Path) -> None:
    at = machine_pdf.index(b"ReportLab Generated")  # inside the signed bytes
    forged = machine_pdf[:at] + bytes([machine_pdf[at] ^ 0x01]) + machine_pdf[at + 1:]
    assert len(forged) == len(machine_pdf) and forged != machine_pdf
    with pytest.raises(CheckFailed, match="changed after it was signed"):
        check(forged, identity, tsa)
    assert "Signature is Valid" not in pdfsig(forged, tmp_path)


def test_another_ca_is_not_trusted(machine_pdf: bytes, tsa: EmbeddedTSA,
                                   tmp_path: Path) -> None:
    other = ServerIdentity(tmp_path / "other-ca").get("pdf")
    with pytest.raises(CheckFailed, match="does not chain"):
        check(machine_pdf, other, tsa)


def test_no_tsa_no_pdf(identity: SigningIdentity) -> None:
    with pytest.raises(CertificateTimestampUnavailable):
        make_transcript_pdf(facts(), identity, [])
