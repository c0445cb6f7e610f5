"""Fonts for the certificate: Latin in the standard 14, Chinese in an embedded TrueType subset.

The font is chosen once at start (``configure``, from Settings.cjk_font).
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Final
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- facts


CJK_EMBEDDED: Final = "FieldProofCJK"
CJK_FALLBACK: Final = "STSong-Light"
CJK_FONT_FILES: Final = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                         "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
SANS: Final = "Helvetica"
SANS_BOLD: Final = "Helvetica-Bold"
MONO: Final = "Courier"


_configured: Path | None = None


def configure(path: Path | None) -> None:
    """Choose the Chinese font (Settings.cjk_font) before the first certificate."""
    global _configured
    if path != _configured:
        _configured = path
        cjk_font.cache_clear()


@functools.cache
def cjk_font() -> str:
    """Register the font for Chinese text once; returns its reportlab name."""
    from reportlab.pdfbase.ttfonts import TTFont

    for path in ([str(_configured)] if _configured else []) + list(CJK_FONT_FILES):
        if path and Path(path).is_file():
            try:
                pdfmetrics.registerFont(TTFont(CJK_EMBEDDED, path, subfontIndex=0))
            except Exception as exc:  # reportlab's TTF parser raises its own types
                log.warning("cannot use %s for Chinese text: %s", path, exc)
                continue
            return CJK_EMBEDDED
    log.warning("no Chinese TrueType font found (install fonts-wqy-microhei or set "
                "FIELDPROOF_CJK_FONT); certificates use the non-embedded %s", CJK_FALLBACK)
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FALLBACK))
    return CJK_FALLBACK


def _needs_cjk_font(ch: str) -> bool:
    # The standard-14 fonts are WinAnsi (cp1252); anything else goes to STSong.
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return True
    return False


def runs(text: str) -> list[tuple[bool, str]]:
    """Split text into (needs CJK font, run) pieces."""
    out: list[tuple[bool, str]] = []
    for ch in text:
        cjk = _needs_cjk_font(ch)
        if out and out[-1][0] == cjk:
            out[-1] = (cjk, out[-1][1] + ch)
        else:
            out.append((cjk, ch))
    return out


def _char_width(ch: str, font: str, size: float) -> float:
    return float(pdfmetrics.stringWidth(ch, cjk_font() if _needs_cjk_font(ch) else font, size))


def cut_word(word: str, width: float, font: str, size: float) -> list[str]:
    """``word`` cut into pieces no wider than ``width`` points (one piece if it fits).

    Paragraph breaks lines only at spaces, so a 64-digit hash or a long file
    name in a narrow column would run over the edge. Cutting at the column
    edge keeps every character, in order, and adds none: a hash reads back
    exactly, one line after the other.
    """
    pieces: list[str] = []
    line, w = "", 0.0
    for ch in word:
        cw = _char_width(ch, font, size)
        if line and w + cw > width:
            pieces.append(line)
            line, w = "", 0.0
        line += ch
        w += cw
    pieces.append(line)
    return pieces


def markup(text: str, font: str = SANS) -> str:
    """Paragraph markup for plain text: escaped, with CJK runs in the CJK font."""
    return "".join(f'<font name="{cjk_font()}">{escape(run)}</font>' if cjk
                   else f'<font name="{font}">{escape(run)}</font>'
                   for cjk, run in runs(text))


def fit(text: str, width: float, font: str, size: float) -> str:
    """Markup that wraps at spaces, breaks at newlines, and cuts over-long words."""
    return "<br/>".join(
        " ".join("<br/>".join(markup(p, font) for p in cut_word(word, width, font, size))
                 for word in line.split(" "))
        for line in text.split("\n"))


def bi(zh: str, en: str) -> str:
    return f"{zh} / {en}"


# --------------------------------------------------------------------------- layout

