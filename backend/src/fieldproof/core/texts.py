"""What the server says to people, by stable code, in English and Chinese.

The catalogue is shared/i18n/server.json (the package reaches it through
fieldproof/i18n/): the PWA imports the same file, the certificate renders both
languages from it, and the English becomes each check's ``detail``. Codes
travel with their parameters; a reader formats them in its own language.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any

LANGUAGES = ("en", "zh-CN")
_PARAM = re.compile(r"\{(\w+)\}")


@cache
def catalogue() -> dict[str, dict[str, dict[str, str]]]:
    text = resources.files("fieldproof").joinpath("i18n/server.json").read_text("utf-8")
    data = json.loads(text)
    return {k: v for k, v in data.items() if not k.startswith("_")}


def text(section: str, key: str, lang: str = "en") -> str:
    """The template for ``key``; KeyError if the catalogue lacks it (a test keeps it whole)."""
    return catalogue()[section][key][lang]


def render(template: str, params: dict[str, Any]) -> str:
    """``{name}`` replaced by its parameter (left as is when missing)."""
    return _PARAM.sub(lambda m: str(params[m.group(1)]) if m.group(1) in params
                      else m.group(0), template)


def say(section: str, key: str, params: dict[str, Any] | None = None,
        lang: str = "en") -> str:
    return render(text(section, key, lang), params or {})


# --------------------------------------------------------------------------- rendering
def format_time(text: str, tz: str, lang: str) -> str:
    """An RFC 3339 time in zone ``tz``, with its UTC offset: what people read."""
    from datetime import datetime
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(zone)
    except ValueError:
        return text  # not a time after all: show what was given
    off = t.utcoffset()
    minutes = int(off.total_seconds() // 60) if off else 0
    sign = "+" if minutes >= 0 else "-"
    offset = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    if lang == "zh-CN":
        return f"{t.year}年{t.month}月{t.day}日 {t:%H:%M:%S}（{offset}）"
    return f"{t.day} {t:%b} {t.year}, {t:%H:%M:%S} ({offset})"


def render_param(name: str, value: Any, params: dict[str, Any], lang: str) -> str:
    """One parameter as a reader sees it (conventions in core/verdict.py)."""
    if isinstance(value, dict) and lang in value:
        return str(value[lang])
    if name == "kind" and isinstance(value, str) and value in catalogue()["kind"]:
        return text("kind", value, lang)
    if name.endswith("_at") and isinstance(value, str):
        return format_time(value, str(params.get("tz") or "UTC"), lang)
    return str(value)


def render_part(section: str, part: Mapping[str, Any], lang: str) -> str:
    """A code with parameters, in ``lang``."""
    params = dict(part.get("params") or {})
    template = text(section, str(part["code"]), lang)
    return _PARAM.sub(lambda m: render_param(m.group(1), params[m.group(1)], params, lang)
                      if m.group(1) in params else m.group(0), template)


def render_verdict(parts: Sequence[Mapping[str, Any]], lang: str) -> str:
    joiner = "" if lang == "zh-CN" else " "
    out = joiner.join(render_part("verdict", p, lang) for p in parts)
    if lang != "zh-CN" and out:
        out = out[0].upper() + out[1:]
    return out
