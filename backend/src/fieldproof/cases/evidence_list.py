"""The evidence list (证据目录) of a case: the page a lawyer files with the evidence.

One row per item, as Chinese courts expect the list: its number, its name, what
kind of evidence it is, when it was made (the capturing device's local time,
with the UTC offset), its SHA-256, what it proves (证明目的), where it sits in
the case export, and its form (原件: the export holds the original bytes).
Every label is in zh-CN and English. The PDF is signed like the certificate
(PAdES B-T by the server's ``pdf`` identity, time-stamped, external TSA
first), and its signed Keywords bind it to the case and to its items' hashes
in order (bundle/case.py), which ``fieldproof verify CASE.zip`` checks.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from fieldproof.bundle.case import case_keywords, item_file_name, items_digest
from fieldproof.cases.cases import CaseRecord
from fieldproof.core.manifest import iso
from fieldproof.core.texts import text
from fieldproof.errors import CertificateError
from fieldproof.evidence.certificate.fonts import MONO, SANS, SANS_BOLD, bi, cjk_font, fit
from fieldproof.evidence.certificate.render import page_footer
from fieldproof.evidence.certificate.sign import sign_with_first_tsa
from fieldproof.evidence.identity import SigningIdentity
from fieldproof.tsa import TimestampAuthority

log = logging.getLogger(__name__)

SIGNATURE_FIELD: Final = "FieldProofEvidenceList"
REASON: Final = "FieldProof 证据目录 / evidence list"
PAGE: Final = landscape(A4)
MARGIN: Final = 14 * mm
CONTENT_W: Final = PAGE[0] - 2 * MARGIN
PAD: Final = 3
SHORT_HASH: Final = 16  # hex digits printed; the full hash is in case.json and the bundle
# number, title, kind, captured, SHA-256, purpose, place in the export, form
COLUMNS: Final = (11 * mm, 42 * mm, 22 * mm, 38 * mm, 32 * mm, 0.0, 40 * mm, 20 * mm)

_INK = colors.HexColor("#1a1a1a")
_MUTED = colors.HexColor("#555555")
_RULE = colors.HexColor("#b8b8b8")
_BAND = colors.HexColor("#eef1f5")


@dataclass(frozen=True)
class ListRow:
    number: int
    title: str
    kind: str  # photo | audio | video | screen | import | web
    captured: str  # device local time with its UTC offset (and zone), or a reason
    media_sha256: str
    manifest_sha256: str
    purpose: str
    file: str  # items/NN-<slug>.zip
    imported: bool


@dataclass(frozen=True)
class EvidenceListFacts:
    case_id: str
    title: str
    parties: tuple[tuple[str, str], ...]  # (role, name)
    note: str
    generated_at: str  # RFC 3339 UTC
    rows: tuple[ListRow, ...]

    @property
    def items_sha256(self) -> str:
        return items_digest([{"position": r.number, "manifest_sha256": r.manifest_sha256,
                              "media_sha256": r.media_sha256} for r in self.rows])


def device_local_time(utc_text: str | None, tz_name: object) -> str | None:
    """``utc_text`` as the capturing device's clock showed it, e.g.
    ``2025-03-04 09:02:03 UTC+08:00 (Asia/Shanghai)``; UTC when the zone is unknown."""
    if not utc_text:
        return None
    try:
        at = datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    except ValueError:
        return None
    zone = None
    if isinstance(tz_name, str) and tz_name:
        try:
            zone = ZoneInfo(tz_name)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            zone = None
    local = at.astimezone(zone or UTC)
    offset = local.utcoffset()
    seconds = int(offset.total_seconds()) if offset is not None else 0
    sign, seconds = ("+" if seconds >= 0 else "-"), abs(seconds)
    stamp = f"{local:%Y-%m-%d %H:%M:%S} UTC{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
    return f"{stamp} ({tz_name})" if zone is not None else f"{stamp} (UTC)"


def facts_for_case(case: CaseRecord, *, generated_at: datetime) -> EvidenceListFacts:
    rows = []
    for item in case.items:
        c = item.capture
        m = c.manifest_data
        start = (m.get("captured") or {}).get("start") or m.get("started_at")
        captured = device_local_time(start if isinstance(start, str) else None,
                                     (m.get("device") or {}).get("timezone"))
        if captured is None or c.kind == "import":
            # An import proves existence from its upload only: the receipt time.
            captured = (bi("上传", "uploaded") + " "
                        + (device_local_time(iso(c.received_at),
                                             (m.get("device") or {}).get("timezone")) or "?"))
        rows.append(ListRow(number=item.position, title=item.shown_title, kind=c.kind,
                            captured=captured, media_sha256=c.media_sha256,
                            manifest_sha256=c.manifest_hash, purpose=item.purpose,
                            file=item_file_name(item.position, len(case.items),
                                                item.shown_title, c.kind),
                            imported=c.kind == "import"))
    return EvidenceListFacts(case_id=case.id, title=case.title,
                             parties=tuple((p.role, p.name) for p in case.parties),
                             note=case.note, generated_at=iso(generated_at) or "",
                             rows=tuple(rows))


# --------------------------------------------------------------------------- layout
def _kind(kind: str) -> str:
    try:
        return bi(text("kind", kind, "zh-CN"), text("kind", kind, "en"))
    except KeyError:
        return kind


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=SANS, fontSize=8, leading=10.5, textColor=_INK)
    return {
        "title": ParagraphStyle("title", parent=base, fontName=SANS_BOLD, fontSize=18,
                                leading=23),
        "sub": ParagraphStyle("sub", parent=base, fontSize=9.5, leading=13),
        "cell": base,
        "head": ParagraphStyle("head", parent=base, fontName=SANS_BOLD, textColor=_MUTED),
        "mono": ParagraphStyle("mono", parent=base, fontName=MONO, fontSize=7.6, leading=10),
        "note": ParagraphStyle("note", parent=base, fontSize=7.4, leading=9.5,
                               textColor=_MUTED),
    }


def _widths() -> list[float]:
    fixed = sum(COLUMNS)
    return [w or CONTENT_W - fixed for w in COLUMNS]


def _table(facts: EvidenceListFacts, st: dict[str, ParagraphStyle]) -> Table:
    widths = _widths()

    def cell(value: str, col: int, style: str = "cell", font: str = SANS) -> Paragraph:
        s = st[style]
        return Paragraph(fit(value, widths[col] - 2 * PAD, font, s.fontSize), s)

    heads = [bi("序号", "No."), bi("证据名称", "Title"), bi("类别", "Kind"),
             bi("采集时间 (设备当地时间)", "Captured (device local time)"), "SHA-256",
             bi("证明目的", "What it proves"), bi("在导出包中的位置", "In the export"),
             bi("形式", "Form")]
    data = [[cell(h, i, "head") for i, h in enumerate(heads)]]
    for r in facts.rows:
        form = (bi("原件 (导入的文件)", "original (imported file)") if r.imported
                else bi("原件", "original"))
        data.append([cell(str(r.number), 0), cell(r.title or "—", 1), cell(_kind(r.kind), 2),
                     cell(r.captured, 3), cell(r.media_sha256[:SHORT_HASH] + "…", 4, "mono",
                                               MONO),
                     cell(r.purpose or "—", 5), cell(r.file, 6, "mono", MONO), cell(form, 7)])
    if not facts.rows:
        data.append([cell("—", 0), cell(bi("本案尚无证据", "no evidence in this case yet"), 1),
                     *[cell("", i) for i in range(2, 8)]])
    table = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT", splitInRow=1)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD), ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("BACKGROUND", (0, 0), (-1, 0), _BAND),
        ("GRID", (0, 0), (-1, -1), 0.3, _RULE),
    ]))
    return table


def render_evidence_list(facts: EvidenceListFacts) -> bytes:
    """The unsigned evidence list PDF (A4 landscape) for ``facts``."""
    cjk_font()  # registered before layout measures text
    st = _styles()
    story = [
        Paragraph(fit(bi("证据目录", "Evidence List"), CONTENT_W, SANS_BOLD, 18), st["title"]),
        Paragraph(fit(bi("案件", "Case") + ": " + facts.title, CONTENT_W, SANS, 9.5),
                  st["sub"]),
    ]
    if facts.parties:
        parties = "; ".join(f"{role}: {name}" if role else name for role, name in facts.parties)
        story.append(Paragraph(fit(bi("当事人", "Parties") + ": " + parties, CONTENT_W, SANS,
                                   9.5), st["sub"]))
    if facts.note.strip():
        story.append(Paragraph(fit(bi("说明", "Note") + ": " + facts.note.strip(), CONTENT_W,
                                   SANS, 8), st["cell"]))
    story.append(Paragraph(fit(
        bi("案件编号", "Case ID") + f": {facts.case_id} · "
        + bi("生成时间", "Generated") + f": {facts.generated_at} · "
        + bi("证据数", "Items") + f": {len(facts.rows)}", CONTENT_W, SANS, 8), st["cell"]))
    story += [Spacer(1, 5), _table(facts, st), Spacer(1, 6)]
    notes = [
        bi("每项证据是导出包 items/ 目录中的一个证据包，内含设备签名的原始文件 (原件，逐字节保存)、"
           "透明日志收据、时间戳与存证证书；可用 fieldproof verify 离线核验整个导出包。",
           "Each item is an evidence bundle in the export's items/ folder holding the original "
           "file byte for byte as the device signed it (the original), its transparency-log "
           "receipt, time-stamps and evidence certificate; fieldproof verify checks the whole "
           "export offline."),
        bi("表中 SHA-256 只显示前 16 位；完整值见 case.json 及各证据包。",
           "SHA-256 is shown to its first 16 hex digits; the full value is in case.json and "
           "in each bundle."),
        bi("采集时间为设备签名的时钟时间，按设备所在时区显示并注明与 UTC 的偏移；"
           "导入的文件只证明上传时间。",
           "Capture times are the device's signed clock, shown in its time zone with the UTC "
           "offset; an imported file proves only when it was uploaded."),
        bi("本目录由 FieldProof 服务器签名 (PAdES，附 RFC 3161 签名时间戳)；PDF 阅读器或 pdfsig "
           "可检查其未被修改。", "This list is signed by the FieldProof server (PAdES, with an "
           "RFC 3161 signature timestamp); a PDF reader or pdfsig shows whether it was modified."),
    ]
    story += [Paragraph(fit(n, CONTENT_W, SANS, 7.4), st["note"]) for n in notes]
    footer = bi("FieldProof 证据目录", "evidence list") + f" · {facts.case_id}"

    on_page = page_footer(footer)

    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=MARGIN, title=f"FieldProof 证据目录 / Evidence list: {facts.title}",
        author="FieldProof", subject=f"case {facts.case_id}", creator="FieldProof",
        lang="zh-CN", keywords=case_keywords(facts.case_id, facts.items_sha256))
    try:
        doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    except (ValueError, KeyError, TypeError) as exc:
        raise CertificateError(f"cannot lay out the evidence list: {exc}") from exc
    return buf.getvalue()


def make_evidence_list(facts: EvidenceListFacts, identity: SigningIdentity,
                       tsas: Sequence[TimestampAuthority], *,
                       on_fallback: Callable[[str, str], None] | None = None) -> bytes:
    """Render and sign, the signature timestamp from the first TSA that answers
    (external first, the embedded one last); 503 when none does."""
    return sign_with_first_tsa(render_evidence_list(facts), identity, tsas, what="evidence list",
                               on_fallback=on_fallback, reason=REASON,
                               field_name=SIGNATURE_FIELD)


def signed_evidence_list(case: CaseRecord, identity: SigningIdentity,
                         tsas: Sequence[TimestampAuthority], *,
                         now: datetime | None = None) -> tuple[EvidenceListFacts, bytes]:
    facts = facts_for_case(case, generated_at=now or datetime.now(UTC))
    pdf = make_evidence_list(facts, identity, tsas, on_fallback=lambda name, why: log.warning(
        "TSA %s did not stamp an evidence list: %s", name, why))
    return facts, pdf
