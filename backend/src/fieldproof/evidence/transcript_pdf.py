"""The 文字稿 (transcript PDF) of a recording: one transcript version, readable and signed.

A person reads it beside the recording: who made this version and how (a
machine draft nobody has checked, or a version a person checked and signed),
which recording it belongs to (the manifest and media SHA-256), the key points
the owner marked with the words spoken there, then every segment with its time
code. Every label is in zh-CN and English, like the certificate, whose fonts
and table helpers it reuses (evidence/certificate/).

It is signed like the certificate (PAdES B-T by the server's ``pdf``
identity, time-stamped, external TSA first), and its signed Keywords name the
capture, the transcript version's SHA-256 and the media's, which
``fieldproof verify`` checks (bundle/checkers.py, ``check_transcript_pdf``).

Pure: facts in, bytes out; the web layer gathers the facts.
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from fieldproof.core import texts
from fieldproof.errors import CertificateError
from fieldproof.evidence.certificate.fonts import SANS, SANS_BOLD, bi, cjk_font, fit, markup
from fieldproof.evidence.certificate.render import (
    CONTENT_W,
    MARGIN,
    PAD,
    PAGE,
    SECTION_MIN,
    _kv_table,
    _section,
    _Styles,
    _styles,
    page_footer,
)
from fieldproof.evidence.certificate.sign import sign_with_first_tsa
from fieldproof.evidence.identity import SigningIdentity

if TYPE_CHECKING:
    from fieldproof.tsa import TimestampAuthority

SIGNATURE_FIELD: Final = "FieldProofTranscript"
REASON: Final = "FieldProof 录音文字稿 / transcript"
# key points: time range | label | text; full transcript: time code | speaker | text
KEY_COLUMNS: Final = (26 * mm, 48 * mm)
FULL_COLUMNS: Final = (30 * mm, 27 * mm)
# Closing punctuation a line must not start with (Chinese typesetting's 避头点 rule, and
# the Latin ones): the character before it moves down with it.
NO_LINE_START: Final = frozenset("，。、；：？！）》」』】〉”’,.;:?!)]}")
CELL_PAD: Final = 2.5  # points above and below an entry in its cells
CHUNK_LINES: Final = 12  # lines of text per table row: the most a page break leaves blank

_BAND = colors.HexColor("#eef1f5")
_RULE = colors.HexColor("#b8b8b8")
_OK = colors.HexColor("#1b7f3b")
_WARN = colors.HexColor("#8a5a00")

MACHINE: Final = ("机器初稿，未经人工核对", "Machine draft, not checked by a person")
HUMAN: Final = ("人工核对版本", "Checked by a person")


@dataclass(frozen=True)
class TranscriptFacts:
    """Everything the 文字稿 prints, as plain values (the web layer fills it)."""

    capture_id: str
    kind: str  # audio | video | web ...
    title: str | None
    media_name: str
    manifest_sha256: str
    media_sha256: str
    duration_ms: int | None
    recorded_start: str  # RFC 3339 UTC, the device clock at the start
    timezone: str | None  # IANA zone of the device, to print local time beside UTC
    version: int
    transcript_sha256: str  # of this version's document bytes
    origin: str  # machine | human
    created_at: str  # RFC 3339 UTC
    signer_key_id: str
    engine: Mapping[str, Any] | None  # machine: name, version, model, model_sha256, ...
    based_on: str | None
    language: str | None
    history: Sequence[Mapping[str, Any]]  # {version, origin, sha256, created_at}
    segments: Sequence[Mapping[str, Any]]  # {start_ms, end_ms, text, speaker}
    key_points: Sequence[Mapping[str, Any]]  # {start_ms, end_ms, label}
    exported_at: str  # RFC 3339 UTC, when this PDF was made
    operator: str | None


def transcript_keywords(capture_id: str, transcript_sha256: str, media_sha256: str) -> str:
    """The signed /Keywords (parsed like a certificate's, bundle/layout.py)."""
    return (f"fieldproof-transcript:{capture_id} transcript-sha256:{transcript_sha256} "
            f"media-sha256:{media_sha256}")


# --------------------------------------------------------------------------- pure helpers
def clock(ms: int) -> str:
    """Milliseconds from the recording's start as a reader counts them on a player:
    ``M:SS`` under an hour, ``H:MM:SS`` from then on, whole seconds (rounded down,
    so a time code never points past the words)."""
    total = max(int(ms), 0) // 1000
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


def time_range(start_ms: int, end_ms: int) -> str:
    return f"{clock(start_ms)}–{clock(end_ms)}"


# A key point's excerpt in the table stops here: one key point spanning the whole
# recording would otherwise print the whole transcript again (500 of them, 500 times).
MAX_EXCERPT = 500


def key_point_text(segments: Sequence[Mapping[str, Any]], start_ms: int, end_ms: int) -> str:
    """The words of every segment that overlaps ``[start_ms, end_ms]``, in order.

    Ranges that only touch at an end do not overlap (a segment ending as the key
    point starts belongs to what came before), except for an instant (a range of
    no length), which takes the segments that contain it.
    """
    parts: list[str] = []
    length = 0
    for seg in segments:
        s, e = int(seg["start_ms"]), int(seg["end_ms"])
        lo, hi = max(s, start_ms), min(e, end_ms)
        instant = s == e or start_ms == end_ms
        if lo < hi or (instant and lo <= hi):
            words = str(seg.get("text") or "").strip()
            if words:
                parts.append(words)
                length += len(words) + 1
                if length > MAX_EXCERPT:  # the full text follows in the transcript itself
                    break
    text = " ".join(parts)
    return text if len(text) <= MAX_EXCERPT else text[:MAX_EXCERPT].rstrip() + " …"


# --------------------------------------------------------------------------- layout
def _origin(origin: str) -> str:
    zh, en = MACHINE if origin == "machine" else HUMAN
    return bi(zh, en)


def _kind(kind: str) -> str:
    try:
        return bi(texts.text("kind", kind, "zh-CN"), texts.text("kind", kind, "en"))
    except KeyError:
        return kind


def _start(facts: TranscriptFacts) -> str:
    """The device clock at the start: local (zh-CN, English) when the zone is known, and UTC."""
    utc = f"UTC {facts.recorded_start}"
    if not facts.timezone:
        return utc + "\n" + bi("设备时区未知", "device time zone unknown")
    return (f"{texts.format_time(facts.recorded_start, facts.timezone, 'zh-CN')}\n"
            f"{texts.format_time(facts.recorded_start, facts.timezone, 'en')} "
            f"{facts.timezone}\n{utc}")


def _engine_rows(engine: Mapping[str, Any] | None) -> list[tuple[str, str, bool]]:
    if not engine:
        return []
    name = " ".join(str(engine[k]) for k in ("name", "version") if engine.get(k))
    rows = [(bi("识别引擎", "Speech engine"), name or "?", False)]
    if engine.get("model"):
        rows.append((bi("模型", "Model"), str(engine["model"]), False))
    if engine.get("model_sha256"):
        rows.append((bi("模型 SHA-256", "Model SHA-256"), str(engine["model_sha256"]), True))
    settings = "; ".join(f"{k}: {v}" for k, v in engine.items()
                         if k not in ("name", "version", "model", "model_sha256")
                         and v is not None)
    if settings:
        rows.append((bi("识别参数", "Engine settings"), settings, False))
    return rows


def _history_rows(facts: TranscriptFacts) -> list[tuple[str, str, bool]]:
    earlier = sorted((h for h in facts.history if int(h["version"]) < facts.version),
                     key=lambda h: int(h["version"]))
    if not earlier:
        return [(bi("此前版本", "Earlier versions"),
                 bi("无：这是第一版", "none: this is the first version"), False)]
    return [(bi("此前版本", "Earlier version") + f" v{h['version']}",
             f"{_origin(str(h['origin']))} · {h['created_at']}\nSHA-256 {h['sha256']}", False)
            for h in earlier]


def _facts_rows(facts: TranscriptFacts) -> list[tuple[str, str, bool]]:
    machine = facts.origin == "machine"
    duration = (bi("未知", "unknown") if facts.duration_ms is None
                else f"{clock(facts.duration_ms)} ({facts.duration_ms / 1000:,.1f} s)")
    signer = (bi("服务器的转写器密钥", "the server's transcriber key") if machine
              else bi("所有者的设备密钥", "the owner's device key"))
    rows: list[tuple[str, str, bool]] = [
        (bi("采集编号", "Capture ID"), facts.capture_id, True),
        *([(bi("标题", "Title"), facts.title, False)] if facts.title else []),
        (bi("类别", "Kind"), _kind(facts.kind), False),
        (bi("媒体文件", "Media file"), facts.media_name, False),
        (bi("清单 SHA-256", "Manifest SHA-256"), facts.manifest_sha256, True),
        (bi("媒体 SHA-256", "Media SHA-256"), facts.media_sha256, True),
        (bi("时长", "Duration"), duration, False),
        (bi("录音开始 (设备时钟)", "Recording start (device clock)"), _start(facts), False),
        (bi("本文字稿版本", "Version shown"), bi(f"第 {facts.version} 版",
                                              f"version {facts.version}"), False),
        (bi("本版本 SHA-256", "This version's SHA-256"), facts.transcript_sha256, True),
        (bi("来源", "Made by"), _origin(facts.origin), False),
        (bi("签名密钥 ID", "Signing key ID") + " (RFC 7638)",
         f"{facts.signer_key_id}\n{signer}", False),
        (bi("创建时间 (UTC)", "Created (UTC)"), facts.created_at, False),
        (bi("语言", "Language"), facts.language or bi("未指定", "not set"), False),
        *_engine_rows(facts.engine if machine else None),
    ]
    if not machine:
        rows.append((bi("基于机器初稿", "Based on machine draft"),
                     facts.based_on or bi("无：从头录入", "none: typed from scratch"),
                     bool(facts.based_on)))
    rows += _history_rows(facts)
    rows.append((bi("本 PDF 生成时间 (UTC)", "This PDF made (UTC)"), facts.exported_at, False))
    return rows


# The characters the standard-14 fonts can draw (cp1252, as fonts.runs decides), as a
# pattern: runs() asks the codec once a character, which dominated drawing long texts.
_LATIN: Final = re.escape(bytes(range(256)).decode("cp1252", errors="ignore"))
_RUNS: Final = re.compile(f"([{_LATIN}]+)|([^{_LATIN}]+)")


def fast_runs(text: str) -> list[tuple[bool, str]]:
    """``fonts.runs(text)``: (needs the CJK font, run) pieces, by one regular expression."""
    return [(bool(m.group(2)), m.group(0)) for m in _RUNS.finditer(text)]


@functools.lru_cache(maxsize=65_536)
def _advance(ch: str, font: str, cjk: str, size: float) -> float:
    """One character's width, in the CJK font ``cjk`` where the certificate's fonts put it.

    Cached: a transcript measures up to 2 MiB of text a character at a time, and
    asking the TrueType font each time cost most of the layout. The CJK font's
    name is part of the key, as ``fonts.configure`` may change it."""
    return float(pdfmetrics.stringWidth(ch, cjk if fast_runs(ch)[0][0] else font, size))


def wrap_lines(text: str, width: float, font: str, size: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` points: every character kept,
    in order, but runs of white space, which become one space or a line break.

    Paragraph wraps only at spaces, and a paragraph it splits across pages
    starts its second part with a blank line; so the transcript lays out its
    own lines, as a reader expects: at spaces between words, anywhere inside a
    run of Chinese (but not before closing punctuation), newlines kept.
    """
    cjk = cjk_font()

    def w(s: str) -> float:
        return sum(_advance(ch, font, cjk, size) for ch in s)

    space = w(" ")
    lines: list[str] = []
    for para in text.split("\n"):
        line, used = "", 0.0
        for word in para.split():
            ww = w(word)
            gap = space if line else 0.0
            if used + gap + ww <= width:
                line, used = line + (" " if line else "") + word, used + gap + ww
            elif ww <= width:
                lines.append(line)
                line, used = word, ww
            else:  # longer than a line (Chinese has no spaces): fill this line, then more
                if line:
                    line, used = line + " ", used + space
                for ch in word:
                    cw = _advance(ch, font, cjk, size)
                    if used + cw > width and line.strip():
                        carry = ""
                        if ch in NO_LINE_START and len(line.rstrip()) > 1 and line[-1] != " ":
                            line, carry = line[:-1], line[-1]  # "，" never starts a line
                        lines.append(line.rstrip())
                        line, used = carry, w(carry)
                    line, used = line + ch, used + cw
        lines.append(line.rstrip())
    return lines


class Lines(Flowable):  # type: ignore[misc]  # untyped base
    """Lines already broken to fit (``wrap_lines``), drawn as they are, CJK runs in the
    CJK font: no markup to parse and no second line breaking, so thousands of
    segments lay out in seconds (Paragraph took ~10 ms a segment)."""

    def __init__(self, lines: Sequence[str], style: ParagraphStyle) -> None:
        super().__init__()
        self.lines = list(lines)
        self.style = style

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        self.width, self.height = avail_w, len(self.lines) * self.style.leading
        return self.width, self.height

    def draw(self) -> None:
        st = self.style
        text = self.canv.beginText()
        text.setFillColor(st.textColor)
        y = self.height - st.fontSize  # the first baseline where Paragraph puts it
        for line in self.lines:
            text.setTextOrigin(0, y)
            for cjk, run in fast_runs(line):
                text.setFont(cjk_font() if cjk else st.fontName, st.fontSize)
                text.textOut(run)
            y -= st.leading
        self.canv.drawText(text)


@dataclass(frozen=True)
class _Row:
    """One table row: a chunk of one entry (a segment, a key point)."""

    cells: list[Lines]
    start: bool  # the entry's first row: a rule and padding above it
    end: bool  # the entry's last row: padding below it
    # A row that continues an entry but opens a page shows these instead: the
    # entry's time code again, so no page starts with words and no time.
    opening: list[Lines] | None = None

    def shown(self, first: bool) -> list[Lines]:
        return self.opening if first and self.opening is not None else self.cells

    def height(self, first: bool) -> float:
        cells = self.shown(first)
        lines = max(len(c.lines) for c in cells)
        return (lines * float(cells[0].style.leading) + (CELL_PAD if self.start or first else 0)
                + (CELL_PAD if self.end else 0))


def _entry(cells: list[str], widths: list[float], st: _Styles) -> list[_Row]:
    """One entry's rows: each cell's lines, CHUNK_LINES to a row, so pages break
    between rows and a long entry (a 2,000-character segment, a key point over
    half the recording) runs on to the next page instead of overflowing it."""
    size = st.value.fontSize
    columns = [wrap_lines(c, w - 2 * PAD - 0.5, st.value.fontName, size)
               for c, w in zip(cells, widths, strict=True)]
    n = max(-(-len(lines) // CHUNK_LINES) for lines in columns)
    cont = [Lines([*columns[0], bi("续", "cont.")], st.value),
            *[Lines([], st.value) for _ in columns[1:-1]]]
    return [_Row([Lines(lines[i * CHUNK_LINES:(i + 1) * CHUNK_LINES], st.value)
                  for lines in columns], start=i == 0, end=i == n - 1,
                 opening=None if i == 0 else [*cont, Lines(
                     columns[-1][i * CHUNK_LINES:(i + 1) * CHUNK_LINES], st.value)])
            for i in range(n)]


class PagedTable(Flowable):  # type: ignore[misc]  # untyped base
    """A table of any length with its header on every page, split a page at a time.

    reportlab's Table, split at a page end, rebuilds itself from all the rows
    left, so a 5,000-segment transcript took minutes (rows × pages). Every row's
    height is known here from its line count, so a split takes the rows that fit
    and makes a Table of just those, with the header, and keeps the rest.
    """

    def __init__(self, head: list[Paragraph], rows: list[_Row], widths: list[float],
                 heights: list[float] | None = None) -> None:
        super().__init__()
        self.head, self.rows, self.widths = head, rows, widths
        # each row's height when it does not open the table: reportlab asks the rest of
        # the table its height at every page, so the sum must not walk the rows in Python
        self.heights = heights if heights is not None else [r.height(False) for r in rows]
        self.head_h = 2 * CELL_PAD + max(
            p.wrap(w - 2 * PAD, 10_000)[1] for p, w in zip(head, widths, strict=True))

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        self.width = sum(self.widths)
        self.height = (self.head_h + self.rows[0].height(True) + sum(self.heights[1:])
                       if self.rows else self.head_h)
        return self.width, self.height

    def split(self, avail_w: float, avail_h: float) -> list[Flowable]:
        room, n = avail_h - self.head_h, 0
        for i, row in enumerate(self.rows):
            room -= row.height(i == 0)
            if room < 0:
                break
            n += 1
        if n == 0:
            return []  # not a row fits: the whole table goes to the next page
        rest = self.rows[n:]
        return [self._table(self.rows[:n]),
                *([PagedTable(self.head, rest, self.widths, self.heights[n:])] if rest else [])]

    def draw(self) -> None:
        table = self._table(self.rows)
        table.wrapOn(self.canv, self.width, self.height)
        table.drawOn(self.canv, 0, 0)

    def _table(self, rows: list[_Row]) -> Table:
        data: list[list[Flowable]] = [list(self.head)]
        data += [r.shown(i == 0) for i, r in enumerate(rows)]
        style: list[tuple[Any, ...]] = [
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), PAD), ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
            ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ("TOPPADDING", (0, 0), (-1, 0), CELL_PAD), ("BOTTOMPADDING", (0, 0), (-1, 0), CELL_PAD),
            ("BACKGROUND", (0, 0), (-1, 0), _BAND),
            ("LINEBELOW", (0, -1), (-1, -1), 0.3, _RULE),
        ]
        for i, r in enumerate(rows, start=1):
            if r.start or i == 1:
                style += [("LINEABOVE", (0, i), (-1, i), 0.3, _RULE),
                          ("TOPPADDING", (0, i), (-1, i), CELL_PAD)]
            if r.end:
                style.append(("BOTTOMPADDING", (0, i), (-1, i), CELL_PAD))
        table = Table(data, colWidths=self.widths, hAlign="LEFT",
                      rowHeights=[self.head_h, *(r.height(i == 0) for i, r in enumerate(rows))])
        table.setStyle(TableStyle(style))
        return table


def _table(heads: list[str], entries: list[list[str]], widths: list[float],
           st: _Styles) -> PagedTable:
    """``heads``, then a row (or a run of rows) per entry, its cells in order."""
    head = [Paragraph(fit(h, w - 2 * PAD, SANS, st.label.fontSize), st.label)
            for h, w in zip(heads, widths, strict=True)]
    return PagedTable(head, [row for cells in entries for row in _entry(cells, widths, st)],
                      widths)


def _key_points_table(facts: TranscriptFacts, st: _Styles) -> Flowable:
    if not facts.key_points:
        return Paragraph(markup(bi("本版本没有标记重点", "no key points are marked in this "
                                   "version")), st.value)
    entries = []
    for kp in facts.key_points:
        start, end = int(kp["start_ms"]), int(kp["end_ms"])
        said = key_point_text(facts.segments, start, end) or bi("(该时段无文字)",
                                                                 "(no words in this range)")
        entries.append([time_range(start, end), str(kp["label"]), said])
    return _table([bi("时间", "Time"), bi("重点", "Key point"),
                   bi("该时段的文字", "What was said")],
                  entries, [*KEY_COLUMNS, CONTENT_W - sum(KEY_COLUMNS)], st)


def _full_table(facts: TranscriptFacts, st: _Styles) -> Flowable:
    if not facts.segments:
        return Paragraph(markup(bi("本版本没有文字", "this version has no text")), st.value)
    entries = [[f"[{time_range(int(seg['start_ms']), int(seg['end_ms']))}]",
                str(seg.get("speaker") or ""), str(seg.get("text") or "")]
               for seg in facts.segments]
    return _table([bi("时间", "Time"), bi("说话人", "Speaker"), bi("文字", "Text")],
                  entries, [*FULL_COLUMNS, CONTENT_W - sum(FULL_COLUMNS)], st)


def _table_section(title_zh: str, title_en: str, body: Flowable, st: _Styles) -> list[Flowable]:
    """A heading and its table, the heading never alone at the foot of a page: the page
    must hold it, the table's header and its first row (up to CHUNK_LINES lines)."""
    need = SECTION_MIN
    if isinstance(body, PagedTable) and body.rows:
        need = max(need, 2 * st.section.leading + body.head_h + body.rows[0].height(True))
    return [CondPageBreak(need),
            Paragraph(markup(bi(title_zh, title_en), SANS_BOLD), st.section), body]


def _notes(facts: TranscriptFacts) -> list[str]:
    made = (bi("机器初稿由语音识别自动生成，可能有错漏，尚未经人核对。",
               "A machine draft is made by speech recognition on its own; it may have "
               "mistakes and nobody has checked it yet.")
            if facts.origin == "machine" else
            bi("人工核对版本由录音的所有者在其设备上核对并签名。",
               "A checked version was checked and signed by the recording's owner on "
               "their own device."))
    return [
        bi("文字稿是录音的辅助，不能取代录音：原始录音从未被修改，两者不一致时以录音为准。",
           "A transcript is an aid to the recording, not a replacement: the original "
           "recording is never changed, and where the two differ, the recording counts."),
        made,
        bi("时间从录音开始起算 (时:分:秒)，不是钟表时间；听不清的部分写作 [听不清 / inaudible]。",
           "Times count from the start of the recording (h:mm:ss), not the time of day; "
           "parts nobody could make out are written [听不清 / inaudible]."),
    ]


def _closing_notes() -> list[str]:
    return [
        bi("每个版本 (transcript/v<N>.json) 都有签名并记入透明日志，与录音的 SHA-256 绑定；"
           "证据包可用 fieldproof verify 离线核验。",
           "Each version (transcript/v<N>.json) is signed, entered in the transparency log "
           "and bound to the recording's SHA-256; fieldproof verify checks the evidence "
           "bundle offline."),
        bi("本 PDF 由 FieldProof 服务器签名 (PAdES，附 RFC 3161 签名时间戳)；PDF 阅读器或 "
           "pdfsig 可检查其未被修改。",
           "This PDF is signed by the FieldProof server (PAdES, with an RFC 3161 signature "
           "timestamp); a PDF reader or pdfsig shows whether it was modified."),
    ]


def _story(facts: TranscriptFacts, st: _Styles) -> list[Flowable]:
    issuer = bi("签发", "Issued by") + ": " + (facts.operator or bi("未署名的运营者",
                                                                 "an unnamed operator"))
    banner = ParagraphStyle("origin", parent=st.verdict, fontName=SANS_BOLD,
                            textColor=_WARN if facts.origin == "machine" else _OK)
    story: list[Flowable] = [
        Paragraph(markup(bi("录音文字稿", "Transcript of a recording"), SANS_BOLD), st.title),
        Paragraph(fit(issuer + " · FieldProof", CONTENT_W, SANS, st.subtitle.fontSize),
                  st.subtitle),
        Spacer(1, 4),
        Paragraph(markup(_origin(facts.origin) + " · " + bi(f"第 {facts.version} 版",
                                                            f"version {facts.version}"),
                         SANS_BOLD), banner),
        Spacer(1, 2),
        *[Paragraph(fit(n, CONTENT_W, SANS, st.value.fontSize), st.value)
          for n in _notes(facts)],
        *_section("录音与版本", "Recording and version", _kv_table(_facts_rows(facts), st), st),
        *_table_section("重点", "Key points", _key_points_table(facts, st), st),
        *_table_section("全文", "Full transcript", _full_table(facts, st), st),
        Spacer(1, 6),
        *[Paragraph(fit(n, CONTENT_W, SANS, st.note.fontSize), st.note)
          for n in _closing_notes()],
    ]
    return story


def render_transcript(facts: TranscriptFacts) -> bytes:
    """The unsigned 文字稿 (A4) of one transcript version."""
    cjk_font()  # registered before layout measures text
    st = _styles()
    footer = (bi("FieldProof 录音文字稿", "transcript") + f" · {facts.capture_id} · "
              + bi(f"第 {facts.version} 版", f"version {facts.version}"))
    on_page = page_footer(footer)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=MARGIN,
        title=f"FieldProof 录音文字稿 / Transcript {facts.capture_id} v{facts.version}",
        author="FieldProof", subject=f"capture {facts.capture_id}, transcript version "
        f"{facts.version}", creator="FieldProof", lang="zh-CN",
        # Inside the signed bytes: the verifier refuses a 文字稿 of another version.
        keywords=transcript_keywords(facts.capture_id, facts.transcript_sha256,
                                     facts.media_sha256))
    try:
        doc.build(_story(facts, st), onFirstPage=on_page, onLaterPages=on_page)
    except (ValueError, KeyError, TypeError) as exc:
        raise CertificateError(f"cannot lay out the transcript: {exc}") from exc
    return buf.getvalue()


def make_transcript_pdf(facts: TranscriptFacts, identity: SigningIdentity,
                        tsas: Sequence[TimestampAuthority], *,
                        on_fallback: Callable[[str, str], None] | None = None) -> bytes:
    """Render and sign, the signature timestamp from the first TSA that answers
    (external first, the embedded one last); ``on_fallback(tsa_name, reason)``
    hears of each that failed. CertificateTimestampUnavailable (503) when none did."""
    return sign_with_first_tsa(render_transcript(facts), identity, tsas, what="transcript",
                               on_fallback=on_fallback, reason=REASON,
                               field_name=SIGNATURE_FIELD)
