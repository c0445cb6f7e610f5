"""Lay out a certificate's facts as an A4 PDF, every label in zh-CN and English."""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import segno
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from fieldproof.bundle.layout import certificate_keywords
from fieldproof.core import texts
from fieldproof.core.verdict import place_text
from fieldproof.errors import (
    CertificateError,
)
from fieldproof.evidence.certificate.facts import CertificateFacts, CheckFact, WebFacts
from fieldproof.evidence.certificate.fonts import (
    MONO,
    SANS,
    SANS_BOLD,
    bi,
    cjk_font,
    fit,
    markup,
    runs,
)

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- facts


GEO_ABSENT: Final = {  # the manifest's geo.absent reasons
    "permission_denied": ("用户拒绝了定位权限", "location permission was denied"),
    "position_unavailable": ("无法获得位置", "position unavailable"),
    "timeout": ("定位超时", "location request timed out"),
    "unsupported": ("设备不支持定位", "the device does not support location"),
    "not_provided": ("未提供位置", "not provided"),
}



PAGE: Final = A4
MARGIN: Final = 16 * mm
CONTENT_W: Final = PAGE[0] - 2 * MARGIN
LABEL_W: Final = 44 * mm
PAD: Final = 4  # points of cell padding, each side
VALUE_W: Final = CONTENT_W - LABEL_W
QR_SIZE: Final = 34 * mm  # the modules, without the quiet zone
QR_QUIET: Final = 4  # modules of quiet zone, as ISO/IEC 18004 asks
SECTION_MIN: Final = 30 * mm  # room a section needs to start on this page

_INK = colors.HexColor("#1a1a1a")
_MUTED = colors.HexColor("#555555")
_RULE = colors.HexColor("#b8b8b8")
_BAND = colors.HexColor("#eef1f5")
_OK = colors.HexColor("#1b7f3b")
_BAD = colors.HexColor("#b3261e")
_WARN = colors.HexColor("#8a5a00")


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    subtitle: ParagraphStyle
    section: ParagraphStyle
    label: ParagraphStyle
    value: ParagraphStyle
    mono: ParagraphStyle
    note: ParagraphStyle
    verdict: ParagraphStyle
    verdict_en: ParagraphStyle


def _styles() -> _Styles:
    base = ParagraphStyle("base", fontName=SANS, fontSize=8.5, leading=11, textColor=_INK)
    return _Styles(
        title=ParagraphStyle("title", parent=base, fontName=SANS_BOLD, fontSize=19,
                             leading=24),
        subtitle=ParagraphStyle("subtitle", parent=base, fontSize=9.5, leading=13,
                                textColor=_MUTED),
        section=ParagraphStyle("section", parent=base, fontName=SANS_BOLD, fontSize=10.5,
                               leading=14, spaceBefore=7, spaceAfter=3),
        label=ParagraphStyle("label", parent=base, textColor=_MUTED),
        value=base,
        mono=ParagraphStyle("mono", parent=base, fontName=MONO, fontSize=8.2, leading=10.5),
        note=ParagraphStyle("note", parent=base, fontSize=7.8, leading=10, textColor=_MUTED),
        verdict=ParagraphStyle("verdict", parent=base, fontSize=11, leading=15),
        verdict_en=ParagraphStyle("verdict_en", parent=base, fontSize=9.5, leading=13,
                                  spaceBefore=2),
    )


class QrCode(Flowable):  # type: ignore[misc]  # untyped base
    """A QR code drawn as vector squares, linked to the URL it encodes.

    The link rectangle is exactly the module area (quiet zone outside it), so
    a reader can find the code from the annotation alone, which the tests do.
    """

    def __init__(self, url: str, size: float = QR_SIZE) -> None:
        super().__init__()
        self.url = url
        self.matrix = qr_matrix(url)
        self.size = size
        self.module = size / len(self.matrix)
        self.quiet = QR_QUIET * self.module
        self.width = self.height = size + 2 * self.quiet

    def wrap(self, avail_w: float, avail_h: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        c: Canvas = self.canv
        n, m, q = len(self.matrix), self.module, self.quiet
        c.saveState()
        c.setFillColor(colors.white)
        c.rect(0, 0, self.width, self.height, stroke=0, fill=1)
        c.setFillColor(colors.black)
        for row, bits in enumerate(self.matrix):
            y = q + (n - 1 - row) * m
            col = 0
            while col < n:  # one rectangle per horizontal run: fewer, seamless shapes
                if not bits[col]:
                    col += 1
                    continue
                start = col
                while col < n and bits[col]:
                    col += 1
                c.rect(q + start * m, y, (col - start) * m, m, stroke=0, fill=1)
        c.restoreState()
        c.linkURL(self.url, (q, q, q + self.size, q + self.size), relative=1, thickness=0)


def qr_matrix(url: str) -> tuple[tuple[bool, ...], ...]:
    """The QR modules for ``url`` (dark = True), no quiet zone, row 0 at the top."""
    qr = segno.make(url, error="m", micro=False)
    return tuple(tuple(bool(b) for b in row) for row in qr.matrix)


def _size_text(n: int) -> str:
    units = ("KiB", "MiB", "GiB", "TiB")
    if n < 1024:
        return f"{n:,} 字节 / bytes"
    exp = min(int(math.log(n, 1024)), len(units))
    return f"{n:,} 字节 / bytes ({n / 1024 ** exp:.1f} {units[exp - 1]})"


def _local_time(t: str | None, tz: object) -> str | None:
    """``t`` in the device's own time zone, when both parse: what its clock showed."""
    if not t or not isinstance(tz, str) or not tz:
        return None
    try:
        return datetime.fromisoformat(t.replace("Z", "+00:00")).astimezone(ZoneInfo(tz)) \
            .isoformat(timespec="seconds")
    except (ValueError, ZoneInfoNotFoundError, OSError):
        return None


def _geo_rows(geo: Mapping[str, Any] | None,
              place: Mapping[str, Any] | None = None) -> list[tuple[str, str]]:
    if geo is None:
        return [(bi("坐标", "Coordinates"),
                 bi("无位置信息：签名清单未记录位置", "no location: the signed manifest "
                     "records none"))]
    if "absent" in geo:
        why = str(geo["absent"])
        zh, en = GEO_ABSENT.get(why, (why, why))
        return [(bi("坐标", "Coordinates"),
                 f"无位置信息 / no location — {zh} / {en} ({why})")]
    rows = []
    if place:
        names = place_text(place)
        rows.append((bi("附近地点", "Near"),
                     f"{names['zh-CN']} / {names['en']} (≈ {place.get('distance_km')} km; "
                     + bi("离线 GeoNames 地名，非签名内容", "offline GeoNames name, not signed")
                     + ")"))
    rows += [(bi("坐标", "Coordinates") + " (WGS 84)",
             f"{float(geo['lat']):.6f}, {float(geo['lon']):.6f}"),
            (bi("精度", "Accuracy"), f"± {float(geo['accuracy']):g} m")]
    if geo.get("altitude") is not None:
        alt = f"{float(geo['altitude']):g} m"
        if geo.get("altitude_accuracy") is not None:
            alt += f" ± {float(geo['altitude_accuracy']):g} m"
        rows.append((bi("海拔", "Altitude"), alt))
    if geo.get("fixed_at"):
        rows.append((bi("定位时间 (设备时钟)", "Fix time (device clock)"), str(geo["fixed_at"])))
    rows.append((bi("来源", "Source"),
                 bi("设备签名清单中的定位结果，由设备报告", "the fix in the device-signed "
                     "manifest, as the device reported it")))
    return rows


def _device_rows(facts: CertificateFacts) -> list[tuple[str, str, bool]]:
    d = facts.device
    rows: list[tuple[str, str, bool]] = [
        (bi("设备密钥 ID", "Device key ID") + " (RFC 7638)", facts.key_id, True)]
    if d.get("key_id") and d.get("key_id") != facts.key_id:
        rows.append((bi("清单中的密钥 ID", "Key ID in manifest"), str(d["key_id"]), True))
    for key, zh, en in (("platform", "平台", "Platform"),
                        ("app_version", "应用版本", "App version"),
                        ("timezone", "时区", "Time zone"), ("language", "语言", "Language"),
                        ("user_agent", "用户代理", "User agent")):
        if d.get(key):
            rows.append((bi(zh, en), str(d[key]), False))
    screen = d.get("screen")
    if isinstance(screen, Mapping) and screen.get("width"):
        text = f"{screen.get('width')} × {screen.get('height')}"
        if screen.get("pixel_ratio"):
            text += f" @ {screen['pixel_ratio']}x"
        rows.append((bi("屏幕", "Screen"), text, False))
    hints = d.get("ua_hints")
    if isinstance(hints, Mapping) and hints:
        text = "; ".join(f"{k}: {_hint(v)}" for k, v in sorted(hints.items())
                         if v not in (None, "", []))
        if text:
            rows.append((bi("客户端提示", "UA client hints"), text, False))
    if facts.device_revoked_at:
        rows.append((bi("密钥状态", "Key status"),
                     bi(f"采集之后于 {_when(facts.device_revoked_at, facts, 'zh-CN')} 被吊销",
                        f"revoked later, on {_when(facts.device_revoked_at, facts, 'en')}"),
                     False))
    return rows


_METHODS = {"speakerphone": ("免提，由本机录音", "on speaker, recorded by this phone"),
            "second_device": ("免提，由另一台设备录音", "on speaker, recorded by a second device"),
            "dialer_import": ("导入手机拨号程序的通话录音",
                              "the phone dialer's own call recording, imported")}
_DIRECTIONS = {"incoming": ("来电", "incoming"), "outgoing": ("去电", "outgoing")}
_SOURCES = {"display": ("共享的标签页或屏幕的声音", "the shared tab's or screen's sound"),
            "microphone": ("麦克风", "the microphone")}


def _context_rows(facts: CertificateFacts) -> list[tuple[str, str, bool]]:
    """A call or a meeting, as the person said it in the signed manifest."""
    c = facts.context or {}
    rows: list[tuple[str, str, bool]] = []
    call, meeting, notice = c.get("call") or {}, c.get("meeting") or {}, c.get("notice") or {}
    if c.get("type") == "call":
        zh, en = _METHODS.get(str(call.get("method")), (str(call.get("method")),) * 2)
        rows.append((bi("通话录音方式", "How the call was recorded"), bi(zh, en), False))
        if call.get("party"):
            rows.append((bi("对方号码（本人声称）", "Other party (as claimed)"),
                         str(call["party"]), True))
        if call.get("direction"):
            zh, en = _DIRECTIONS.get(str(call["direction"]), (str(call["direction"]),) * 2)
            rows.append((bi("呼叫方向（本人声称）", "Direction (as claimed)"), bi(zh, en), False))
        for key, zh, en in (("started_at", "通话开始（本人声称）", "Call start (as claimed)"),
                            ("ended_at", "通话结束（本人声称）", "Call end (as claimed)")):
            if call.get(key):
                rows.append((bi(zh, en), _both(str(call[key]), facts), False))
    elif c.get("type") == "meeting":
        for t in meeting.get("tracks") or ():
            zh, en = _SOURCES.get(str(t.get("source")), (str(t.get("source")),) * 2)
            rows.append((bi(f"音轨 {t.get('index')}", f"Audio track {t.get('index')}"),
                         bi(zh, en), False))
        rows.append((bi("画面", "Picture"), bi("有", "yes") if meeting.get("video")
                     else bi("无（仅声音）", "none (sound only)"), False))
    if notice.get("acknowledged_at"):
        rows.append((bi("合法录音提示", "Lawful-recording notice"),
                     bi(f"第 {notice.get('version')} 版，本人于 "
                        f"{_when(str(notice['acknowledged_at']), facts, 'zh-CN')} 确认已阅",
                        f"version {notice.get('version')}, acknowledged on "
                        f"{_when(str(notice['acknowledged_at']), facts, 'en')}"), False))
    return rows


def _hint(value: Any) -> str:
    """A client hint for people: brands as "Chromium 156", lists joined, no dict text."""
    if isinstance(value, list):
        return ", ".join(_hint(v) for v in value)
    if isinstance(value, Mapping):
        if "brand" in value:
            return f"{value['brand']} {value.get('version', '')}".strip()
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def _when(t: str, facts: CertificateFacts, lang: str) -> str:
    """A time in the capture device's zone with its offset (core/texts.py)."""
    return texts.format_time(t, str(facts.device.get("timezone") or "UTC"), lang)


def _both(t: str, facts: CertificateFacts) -> str:
    """Local (zh-CN, English) and UTC, one under the other."""
    return f"{_when(t, facts, 'zh-CN')}\n{_when(t, facts, 'en')}\nUTC {t}"


def _time_rows(facts: CertificateFacts) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if facts.imported_name is not None:
        # An import's "capture" times are when the device signed it, not when the
        # file was made: say so, and give the file's own time where it has one.
        if facts.device_time_start:
            rows.append((bi("设备签名导入文件的时间", "Device signed the import"),
                         _both(facts.device_time_start, facts)))
        for c in facts.checks:
            if c.name == "exif_time" and c.params.get("exif_at"):
                rows.append((bi("文件自带的时间 (EXIF)", "The file's own time (EXIF)"),
                             _both(str(c.params["exif_at"]), facts)))
    else:
        for t, zh, en in ((facts.device_time_start, "采集开始 (设备时钟)",
                           "Capture start (device clock)"),
                          (facts.device_time_end, "采集结束 (设备时钟)",
                           "Capture end (device clock)")):
            if t:
                rows.append((bi(zh, en), _both(t, facts)))
        if not facts.device_time_start:
            rows.append((bi("采集时间 (设备时钟)", "Capture time (device clock)"),
                         bi("签名清单未记录", "not recorded in the signed header")))
    rows.append((bi("服务器接收时间", "Server receipt time"), _both(facts.received_at, facts)))
    for ts in facts.timestamps:
        if ts.embedded:
            label = bi("时间戳 — 内置 TSA", "Timestamp — embedded TSA")
            who = bi("本服务器自有的 TSA，不是独立见证",
                      "this server's own TSA, not an independent witness")
        elif ts.independent:
            label = bi("时间戳 — 外部 TSA", "Timestamp — external TSA")
            who = bi("独立的第三方时间戳机构（其证书链不属于本服务器）",
                      "an independent time-stamp authority (its certificate chain is not "
                      "this server's)")
        else:
            label = bi("时间戳 — 外部 TSA", "Timestamp — external TSA")
            who = bi("其证书由本服务器自己的 CA 签发，不是独立见证",
                      "its certificate is issued by this server's own CA: not an independent "
                      "witness")
        when = _both(ts.gen_time, facts) if ts.gen_time else "?"
        root = bi("TSA 根证书 SHA-256", "TSA root SHA-256") + \
            f": {ts.root_sha256 or bi('未配置', 'not configured')}"
        rows.append((label, f"{when}\nTSA: {ts.tsa}\n{who}\n{root}"))
    if not facts.timestamps:
        rows.append((bi("时间戳", "Timestamps"), bi("无", "none")))
    rows.append((bi("证书生成时间", "Certificate issued"), _both(facts.exported_at, facts)))
    return rows


def _kv_table(rows: Sequence[tuple[str, str, bool]], st: _Styles) -> Table:
    """Two columns, label | value; ``mono`` values (hashes, ids) in Courier, cut to fit."""
    inner = VALUE_W - 2 * PAD
    data = []
    for label, value, mono in rows:
        style = st.mono if mono else st.value
        font = MONO if mono else SANS
        data.append([Paragraph(markup(label), st.label),
                     Paragraph(fit(value, inner, font, style.fontSize), style)])
    table = Table(data, colWidths=[LABEL_W, VALUE_W], hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD), ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, _RULE),
        ("BACKGROUND", (0, 0), (0, -1), _BAND),
    ]))
    return table


def _checks_table(checks: Sequence[CheckFact], st: _Styles) -> Table:
    name_w, result_w = 52 * mm, 24 * mm
    detail_w = CONTENT_W - name_w - result_w
    head = [Paragraph(markup(bi("检查项", "Check")), st.label),
            Paragraph(markup(bi("结果", "Result")), st.label),
            Paragraph(markup(bi("详情", "Detail")), st.label)]
    data: list[list[Paragraph]] = [head]
    for i, c in enumerate(checks, start=1):
        name = _check_name(c.name)
        result = "通过 / pass" if c.ok else "提示异常 / flagged"
        # Paragraph text takes its colour from the style, not from the table.
        result_style = ParagraphStyle(f"result{i}", parent=st.value,
                                      textColor=_OK if c.ok else _BAD)
        data.append([Paragraph(fit(name, name_w - 2 * PAD, SANS, 8.5), st.value),
                     Paragraph(markup(result, SANS_BOLD), result_style),
                     Paragraph(fit(_check_detail(c), detail_w - 2 * PAD, SANS, 8.5),
                               st.value)])
    if not checks:
        data.append([Paragraph(markup(bi("无记录", "none recorded")), st.value),
                     Paragraph("", st.value), Paragraph("", st.value)])
    table = Table(data, colWidths=[name_w, result_w, detail_w], hAlign="LEFT", repeatRows=1)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), PAD), ("RIGHTPADDING", (0, 0), (-1, -1), PAD),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("BACKGROUND", (0, 0), (-1, 0), _BAND),
        ("LINEBELOW", (0, 0), (-1, -1), 0.3, _RULE),
    ]))
    return table


_WEB_MODES = {"page": ("网页（滚动整页）", "page (scrolled through)"),
              "video": ("网页中的视频（播放）", "video on the page (played)"),
              "live": ("直播（按时段录制）", "live stream (recorded for its window)")}


def _web_rows(web: WebFacts | None) -> list[tuple[str, str, bool]]:
    if web is None:
        return []
    zh, en = _WEB_MODES.get(web.mode, (web.mode, web.mode))
    rows: list[tuple[str, str, bool]] = [
        (bi("网址", "URL"), web.url, True),
        (bi("方式", "Mode"), bi(zh, en), False),
        (bi("录制时段 (UTC)", "Recording window (UTC)"),
         f"{web.started_at or '?'} – {web.ended_at or '?'}", True),
    ]
    if web.main_status is not None:
        rows.append((bi("主文档", "Main document"),
                     f"HTTP {web.main_status} {web.final_url or ''}".strip(), True))
    rows += [
        (bi("浏览器", "Browser"), f"{web.browser}, {bi('窗口', 'window')} {web.window}", False),
        (bi("用户代理", "User agent"), web.user_agent, True),
        (bi("操作系统", "Operating system"), web.os, False),
        (bi("服务器时钟与 TSA 之差", "Server clock minus TSA time"), web.clock, True),
    ]
    for host, address in web.hosts:
        rows.append((bi("访问的主机", "Host contacted"), f"{host} → {address}", True))
    for origin, subject, issuer, sha in web.certificates:
        rows.append((bi("TLS 证书", "TLS certificate"), f"{origin}: {subject} / {issuer}", True))
        rows.append((bi("证书 SHA-256", "Certificate SHA-256"), sha, True))
    for name, sha in web.files:
        rows.append((bi("文件", "File") + f" web/{name}", sha, True))
    return rows


def _seconds(ms: int | None) -> str:
    return "?" if ms is None else f"{ms / 1000:.1f} s"


_ENDED = {"stopped": ("由用户停止", "stopped by the person"),
          "interrupted": ("中断：录音流在停止前断开，服务器保存了已收到的全部分段",
                          "interrupted: the stream fell silent before it was stopped; the "
                          "server kept every chunk it received")}
_GAP = {"paused": ("暂停：设备在此期间未产生录音（应用被关闭、转入后台或手机休眠）",
                   "pause: the device recorded nothing then (the app was closed or in the "
                   "background, or the phone slept)"),
        "network": ("网络中断：设备继续录音并保留分段，恢复后补发，无缺失",
                    "network cut: the device kept recording and kept the chunks, sent them "
                    "once back; nothing is missing")}


MAX_GAP_ROWS = 20  # a certificate stays a few pages, whatever the recording


def _continuity_rows(facts: CertificateFacts) -> list[tuple[str, str, bool]]:
    """Is the recording continuous: its start and end, timeline, gaps and joins."""
    c = facts.continuity
    if not c:
        return []
    if c.get("continuous") is True:
        verdict = bi("连续：从开始到结束没有暂停或中断", "Continuous: no pause or interruption "
                     "from start to end")
    elif c.get("continuous") is False:
        verdict = bi("不连续，见下列各项", "Not continuous: see the rows below")
    else:
        verdict = bi("整体上传的文件，没有分段时间线可查", "Uploaded whole: there is no chunk "
                     "timeline to check")
    rows: list[tuple[str, str, bool]] = [
        (bi("结论", "Verdict"), verdict, False),
        (bi("设备开始", "Device start"), _both(str(c["device_start"]), facts), False),
        (bi("设备结束", "Device end"), _both(str(c["device_end"]), facts), False),
        (bi("经过时间 / 录得时长", "Wall-clock span / recorded duration"),
         f"{_seconds(c.get('wall_ms'))} / {_seconds(c.get('recorded_ms'))}", True)]
    if c.get("streamed"):
        zh, en = _ENDED.get(str(c.get("ended")), (str(c.get("ended")), str(c.get("ended"))))
        rows += [(bi("分段", "Chunks"), bi(f"{c['chunks']} 段，约每 {c['interval_ms']} 毫秒一段",
                                         f"{c['chunks']}, about one every "
                                         f"{c['interval_ms']} ms"), False),
                 (bi("结束方式", "How it ended"), bi(zh, en), False)]
    gaps = list(c.get("gaps") or ())
    for g in gaps[:MAX_GAP_ROWS]:
        zh, en = _GAP.get(str(g.get("cause")), (str(g.get("cause")), str(g.get("cause"))))
        rows.append((bi("间断", "Gap"), f"{_when(str(g['from']), facts, 'zh-CN')} – "
                     f"{_when(str(g['to']), facts, 'zh-CN')} ({_seconds(g.get('ms'))})\n"
                     + bi(zh, en), False))
    if len(gaps) > MAX_GAP_ROWS:
        more = len(gaps) - MAX_GAP_ROWS
        rows.append((bi("间断", "Gap"), bi(f"另有 {more} 处，见 /continuity 或证据包",
                                          f"and {more} more: see /continuity or the bundle"),
                     False))
    if c.get("clock_backwards"):
        rows.append((bi("时钟倒退", "Clock went back"),
                     bi(f"设备时钟在 {c['clock_backwards']} 处倒退",
                        f"the device clock went back {c['clock_backwards']} time(s)"), False))
    if c.get("continues"):
        rows.append((bi("接续自", "Continues"), str(c["continues"]), True))
    for later in c.get("continued_by") or ():
        rows.append((bi("由以下录音接续", "Continued by"), str(later), True))
    return rows


def _kind(kind: str) -> str:
    try:
        return bi(texts.text("kind", kind, "zh-CN"), texts.text("kind", kind, "en"))
    except KeyError:
        return kind


def _check_name(name: str) -> str:
    try:
        return bi(texts.text("check", name, "zh-CN"), texts.text("check", name, "en"))
    except KeyError:
        return name


def _check_detail(c: CheckFact) -> str:
    """The reason in Chinese, then the English the server recorded."""
    if not c.code:
        return c.detail
    try:
        zh = texts.render_part("code", {"code": c.code, "params": dict(c.params)}, "zh-CN")
    except KeyError:
        return c.detail
    return f"{zh}\n{c.detail}"


def _section(title_zh: str, title_en: str, body: Flowable, st: _Styles) -> list[Flowable]:
    # A heading never ends a page (CondPageBreak), but a long section may run
    # on to the next one, row by row, rather than leave half a page empty.
    return [CondPageBreak(SECTION_MIN),
            Paragraph(markup(bi(title_zh, title_en), SANS_BOLD), st.section), body]


def _summary(facts: CertificateFacts) -> str:
    """One line a reader takes in at a glance: what, when (device clock), where."""
    what = _kind(facts.kind)
    when = facts.device_time_start or facts.received_at
    geo = facts.geo
    if geo is not None and "lat" in geo and "lon" in geo:
        where = f"{float(geo['lat']):.5f}, {float(geo['lon']):.5f}"
    else:
        where = bi("无位置", "no location")
    return f"{what} · {when} · {where}"


def _header(facts: CertificateFacts, st: _Styles) -> Table:
    failed = [c for c in facts.checks if not c.ok]
    if failed:
        names = ", ".join(_check_name(c.name) for c in failed)
        result = (f"{len(failed)} 项检查提示异常 / {len(failed)} of "
                  f"{len(facts.checks)} checks flagged: {names}")
        result_color = _WARN
    else:
        result = bi(f"全部 {len(facts.checks)} 项检查通过",
                     f"all {len(facts.checks)} checks passed")
        result_color = _OK
    issuer = bi("签发", "Issued by") + ": " + (facts.operator or bi("未署名的运营者",
                                                                      "an unnamed operator"))
    left: list[Flowable] = [
        Paragraph(markup(bi("存证证书", "Evidence Certificate"), SANS_BOLD), st.title),
        Paragraph(markup(issuer + " · FieldProof"), st.subtitle),
        Spacer(1, 4),
    ]
    if facts.verdict:
        left += [Paragraph(markup(texts.render_verdict(facts.verdict, "zh-CN")),
                           st.verdict),
                 Paragraph(markup(texts.render_verdict(facts.verdict, "en")),
                           st.verdict_en)]
    left += [
        Spacer(1, 3),
        Paragraph(markup(bi("采集编号", "Capture ID") + ": ") + f'<font name="{MONO}">'
                  + escape(facts.capture_id) + "</font>", st.value),
        Paragraph(markup(_summary(facts)), st.value),
        Paragraph(markup(bi("日志索引", "Log index") + f": {facts.leaf_index} · "
                          + bi("检查点", "checkpoint") + f": {facts.checkpoint_origin} "
                          + f"@ {facts.checkpoint_size}"), st.value),
        Spacer(1, 3),
        Paragraph(markup(result, SANS_BOLD),
                  ParagraphStyle("result", parent=st.value, textColor=result_color)),
    ]
    if facts.partial:
        left.append(Paragraph(markup(bi(
            "中断的录制：只包含服务器实际收到的部分，由设备签名的录制头约束",
            "interrupted recording: only what the server received, bound by the "
            "device-signed stream header")),
            ParagraphStyle("partial", parent=st.value, textColor=_WARN)))
    qr = QrCode(facts.verify_url)
    right: list[Flowable] = []
    picture = _picture(facts.thumbnail, qr.width)
    if picture is not None:
        right += [picture, Spacer(1, 4)]
    right += [qr, Paragraph(markup(bi("扫码验证", "Scan to verify")),
                            ParagraphStyle("cap", parent=st.note, alignment=1))]
    table = Table([[left, right]], colWidths=[CONTENT_W - qr.width - 4, qr.width + 4],
                  hAlign="LEFT")
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 0), ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ("LINEBELOW", (0, 0), (-1, -1), 1.2, _INK),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
    ]))
    return table


def _picture(jpeg: bytes | None, width: float) -> Flowable | None:
    """The thumbnail, scaled to ``width``: what the reader recognises first."""
    if not jpeg:
        return None
    from reportlab.lib.utils import ImageReader
    from reportlab.platypus import Image

    try:
        w, h = ImageReader(io.BytesIO(jpeg)).getSize()
    except Exception:  # reportlab's image readers raise their own types
        return None
    return Image(io.BytesIO(jpeg), width=width, height=width * h / w)


def _story(facts: CertificateFacts, st: _Styles) -> list[Flowable]:
    what: list[tuple[str, str, bool]] = [
        (bi("类别", "Kind"), _kind(facts.kind), False),
        (bi("媒体类型", "MIME type"), facts.mime, False),
        (bi("大小", "Size"), _size_text(facts.size), False),
        (bi("文件名", "File name"), facts.media_name, False),
        *([(bi("导入文件的原名", "The imported file's own name"), facts.imported_name, False)]
          if facts.imported_name else []),
        (bi("采集编号", "Capture ID"), facts.capture_id, True),
    ]
    integrity: list[tuple[str, str, bool]] = [
        (bi("媒体 SHA-256", "Media SHA-256"), facts.media_sha256, True),
        (bi("清单 SHA-256", "Manifest SHA-256"), facts.manifest_sha256, True),
        (bi("日志索引", "Log index (leaf_index)"), str(facts.leaf_index), True),
        (bi("树大小", "Tree size"), str(facts.tree_size), True),
        (bi("检查点来源", "Checkpoint origin"), facts.checkpoint_origin, True),
        (bi("检查点大小", "Checkpoint size"), str(facts.checkpoint_size), True),
        (bi("检查点根哈希 (base64)", "Checkpoint root hash (base64)"),
         facts.checkpoint_root, True),
        *([(bi("日志公钥 SHA-256", "Log key SHA-256"), facts.log_key_sha256, True)]
          if facts.log_key_sha256 else []),
    ]
    how = bi("扫描二维码或打开以下网址，在浏览器中核验本次采集的日志收据：",
              "Scan the QR code or open this address to check this capture's log receipt "
              "in a browser:")
    signer = [
        bi("证据包可离线核验：fieldproof verify 证据包.zip，或按包内 VERIFY.md 使用 sha256sum 与 "
            "openssl。", "The evidence bundle verifies offline: fieldproof verify BUNDLE.zip, "
            "or sha256sum and openssl as its VERIFY.md describes."),
        bi("本 PDF 由 FieldProof 服务器签名 (PAdES，附 RFC 3161 签名时间戳)；PDF 阅读器或 "
            "pdfsig 可检查其未被修改。",
            "This PDF is signed by the FieldProof server (PAdES, with an RFC 3161 signature "
            "timestamp); a PDF reader or pdfsig shows whether it was modified."),
        bi("内置 TSA 是本服务器自己的时间戳机构，只证明本服务器的时钟；证书链不属于本服务器的外部 "
            "TSA 才是独立见证。",
            "The embedded TSA is this server's own time-stamp authority and attests only "
            "this server's clock; only an external TSA whose certificate chain is not this "
            "server's is an independent witness."),
        *([bi(texts.text("trust", "embedded_only", "zh-CN"),
              texts.text("trust", "embedded_only", "en"))] if facts.embedded_only else []),
        bi("设备时钟、设备信息与位置由采集设备报告并签名，服务器未能独立证实。",
            "Device clock, device details and location are reported and signed by the "
            "capturing device; the server cannot independently confirm them."),
    ]
    verify_rows: list[tuple[str, str, bool]] = [
        (bi("核验网址", "Verification URL"), facts.verify_url, True)]
    if facts.signer_root_sha256:
        verify_rows.append((bi("签名根证书 SHA-256", "Signer root CA SHA-256"),
                            facts.signer_root_sha256, True))
    web = ([*_section("网页取证", "Web capture", _kv_table(_web_rows(facts.web), st), st),
            Paragraph(fit(bi("由本服务器的录制器在全新、无扩展的浏览器中打开网址并录制；画面、网络流量、"
                             "DNS 应答与证书均为服务器所见，证据包 web/ 目录内有完整记录。",
                             "Recorded by this server's recorder in a fresh browser without "
                             "extensions; the picture, traffic, DNS answers and certificates "
                             "are what the server saw; the bundle's web/ folder holds all of "
                             "it."), CONTENT_W, SANS, 7.8), st.note)]
           if facts.web is not None else [])
    return [
        _header(facts, st),
        *_section("采集内容", "What was captured", _kv_table(what, st), st),
        *web,
        *(_section("通话" if (facts.context or {}).get("type") == "call" else "会议",
                   "Call" if (facts.context or {}).get("type") == "call" else "Meeting",
                   _kv_table(_context_rows(facts), st), st) if facts.context else []),
        *_section("设备与密钥", "Device and key", _kv_table(_device_rows(facts), st), st),
        *_section("地点", "Where",
                  _kv_table([(k, v, False) for k, v in _geo_rows(facts.geo, facts.place)],
                            st), st),
        *_section("时间", "When",
                  _kv_table([(k, v, False) for k, v in _time_rows(facts)], st), st),
        *(_section("录音完整性", "Is the recording complete",
                   _kv_table(_continuity_rows(facts), st), st) if facts.continuity else []),
        *_section("完整性与日志", "Integrity and log", _kv_table(integrity, st), st),
        *_section("服务器检查", "Server checks", _checks_table(facts.checks, st), st),
        *_section("如何核验", "How to verify",
                  Paragraph(fit(how, CONTENT_W, SANS, 8.5), st.value), st),
        _kv_table(verify_rows, st), Spacer(1, 4),
        *[Paragraph(fit(s, CONTENT_W, SANS, 7.8), st.note) for s in signer],
    ]



def page_footer(footer: str) -> Callable[[Canvas, SimpleDocTemplate], None]:
    """A page callback drawing ``footer`` and the page number at the foot of each page.
    drawString does not switch fonts per character: the CJK runs are drawn in the CJK
    font, the rest in Helvetica, run by run."""
    def on_page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFillColor(_MUTED)
        x, y = MARGIN, MARGIN / 2
        for cjk, run in runs(footer + f" · 第 {doc.page} 页 / page {doc.page}"):
            font = cjk_font() if cjk else SANS
            canvas.setFont(font, 7)
            canvas.drawString(x, y, run)
            x += pdfmetrics.stringWidth(run, font, 7)
        canvas.restoreState()
    return on_page

def render_certificate(facts: CertificateFacts) -> bytes:
    """The unsigned certificate PDF for ``facts``."""
    cjk_font()  # registered once, before layout measures text
    st = _styles()
    buf = io.BytesIO()
    footer = bi("FieldProof 存证证书", "evidence certificate") + f" · {facts.capture_id}"

    on_page = page_footer(footer)

    doc = SimpleDocTemplate(
        buf, pagesize=PAGE, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
        bottomMargin=MARGIN, title=f"FieldProof 存证证书 / Evidence certificate {facts.capture_id}",
        author="FieldProof", subject=f"capture {facts.capture_id}, media sha256 "
        f"{facts.media_sha256}", creator="FieldProof", lang="zh-CN",
        # Machine-readable binding to the capture, inside the signed bytes: the
        # offline verifier (core/bundle.py) refuses a certificate about another one.
        keywords=certificate_keywords(facts.capture_id, facts.manifest_sha256,
                                      facts.media_sha256))
    try:
        doc.build(_story(facts, st), onFirstPage=on_page, onLaterPages=on_page)
    except (ValueError, KeyError, TypeError) as exc:
        raise CertificateError(f"cannot lay out the certificate: {exc}") from exc
    return buf.getvalue()


# --------------------------------------------------------------------------- signing

