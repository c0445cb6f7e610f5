"""The plain-language verdict on a capture: a few sentences a judge can read.

What it is, when and where it was made (or, for an import, what an import
proves and what it does not), who signed it, and whether it is unchanged since
the server received it. Each sentence is a code with parameters from
shared/i18n/server.json ("verdict"); the PWA and the certificate render it in
the reader's language (core/texts.py ``render_part`` is the server's renderer).

Parameter conventions, shared with the PWA:
- ``kind``: a capture kind, translated from the catalogue's "kind" section;
- names ending in ``_at``: RFC 3339 times, shown in the time zone ``tz`` (the
  capture device's) with its UTC offset;
- a value that is an object with language keys ("en", "zh-CN"): that language's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fieldproof.core.manifest import utc_text

Part = dict[str, Any]  # {"code": ..., "params": {...}}


@dataclass(frozen=True)
class Facts:
    kind: str
    received_at: datetime
    anchored: bool
    tz: str = "UTC"
    captured_at: datetime | None = None
    end_at: datetime | None = None
    place: dict[str, Any] | None = None  # capture/places.py
    imported_name: str | None = None  # set for imports
    made_at: datetime | None = None  # an import's own (embedded) time
    device_revoked_at: datetime | None = None
    partial: bool = False
    flagged: int = 0  # checks that did not pass
    web_url: str | None = None  # a web capture: the address the server's browser recorded


def place_text(place: Mapping[str, Any]) -> dict[str, str]:
    """A place in both languages: "Shenzhen, Guangdong" / "广东省深圳"; a
    municipality once: "Beijing" / "北京市"."""
    name = str(place.get("name") or "")
    admin = str(place.get("admin1") or "")
    country = str(place.get("country") or "")
    en = ", ".join(x for x in (name, admin if admin != name else "", "" if admin else country)
                   if x)
    zh_name = str(place.get("name_zh") or name)
    admin_zh = str(place.get("admin1_zh") or "")
    if country == "CN":
        zh = admin_zh if admin_zh.startswith(zh_name) else f"{admin_zh}{zh_name}"
    else:
        zh = f"{zh_name}（{country}）" if country else zh_name
    return {"en": en, "zh-CN": zh}


def verdict(f: Facts) -> list[Part]:
    def part(code: str, **params: Any) -> Part:
        return {"code": code, "params": {"tz": f.tz, **params}}

    parts: list[Part] = []
    if f.imported_name is not None:
        parts.append(part("imported", name=f.imported_name))
        if f.made_at is not None:
            parts.append(part("imported_made_at", made_at=utc_text(f.made_at)))
        parts.append(part("import_limits"))
    elif f.web_url is not None and f.captured_at is not None:
        parts.append(part("web_recorded", url=f.web_url, captured_at=utc_text(f.captured_at),
                          end_at=utc_text(f.end_at or f.captured_at)))
    elif f.captured_at is not None:
        when = utc_text(f.captured_at)
        parts.append(part("made_near", kind=f.kind, captured_at=when,
                          place=place_text(f.place)) if f.place
                     else part("made_at", kind=f.kind, captured_at=when))
    if f.web_url is not None:
        parts.append(part("signed_web_recorder"))
    elif f.device_revoked_at is not None:
        parts.append(part("signed_revoked_later", revoked_at=utc_text(f.device_revoked_at)))
    else:
        parts.append(part("signed"))
    if f.partial and f.end_at is not None:
        parts.append(part("interrupted", end_at=utc_text(f.end_at)))
    received = utc_text(f.received_at)
    parts.append(part("unchanged_anchored", received_at=received) if f.anchored
                 else part("received_pending", received_at=received))
    if f.flagged:
        parts.append(part("flagged", count=f.flagged))
    return parts
