"""The plain-language verdict a judge reads first, in both languages."""

from __future__ import annotations

from datetime import UTC, datetime

from fieldproof.core import texts
from fieldproof.core.verdict import Facts, place_text, verdict

FUTIAN = {"name": "Futian", "name_zh": "福田", "admin1": "Guangdong", "admin1_zh": "广东省",
          "country": "CN", "distance_km": 1.2}
T0 = datetime(2026, 12, 2, 5, 49, tzinfo=UTC)
T1 = datetime(2026, 12, 2, 5, 51, tzinfo=UTC)


def _say(f: Facts) -> tuple[str, str]:
    parts = verdict(f)
    return texts.render_verdict(parts, "en"), texts.render_verdict(parts, "zh-CN")


def test_a_photo_leads_with_what_when_and_where_in_local_time() -> None:
    en, zh = _say(Facts(kind="photo", received_at=T1, anchored=True, tz="Asia/Shanghai",
                        captured_at=T0, place=FUTIAN))
    assert en.startswith("Photo, made on 2 Dec 2026, 13:49:00 (UTC+08:00) near Futian, "
                         "Guangdong"), en
    assert "13:51:00" in en and "unchanged" in en.lower()
    assert zh.startswith("照片"), zh
    assert "2026年12月2日 13:49:00（UTC+08:00）" in zh and "广东省福田" in zh
    assert "。由" in zh and "。 " not in zh, zh  # Chinese sentences join without spaces


def test_pending_interrupted_flagged_and_revoked_are_said() -> None:
    f = Facts(kind="audio", received_at=T1, anchored=False, captured_at=T0, partial=True,
              end_at=T1, flagged=2, device_revoked_at=T1)
    codes = [p["code"] for p in verdict(f)]
    assert codes == ["made_at", "signed_revoked_later", "interrupted", "received_pending",
                     "flagged"]
    en, zh = _say(f)
    assert "2" in en and "2" in zh
    assert "{" not in en + zh  # every parameter was filled


def test_an_import_says_what_it_does_not_prove() -> None:
    f = Facts(kind="import", received_at=T1, anchored=True, imported_name="lease.pdf",
              made_at=T0)
    codes = [p["code"] for p in verdict(f)]
    assert codes[:3] == ["imported", "imported_made_at", "import_limits"]
    en, zh = _say(f)
    assert "lease.pdf" in en and "lease.pdf" in zh
    assert "made_near" not in codes and "made_at" not in codes


def test_places_read_naturally_in_each_language() -> None:
    assert place_text(FUTIAN) == {"en": "Futian, Guangdong", "zh-CN": "广东省福田"}
    paris = {"name": "Paris", "name_zh": None, "admin1": None, "admin1_zh": None,
             "country": "FR", "distance_km": 0.4}
    assert place_text(paris) == {"en": "Paris, FR", "zh-CN": "Paris（FR）"}
    beijing = {"name": "Beijing", "name_zh": "北京", "admin1": "Beijing", "admin1_zh": "北京市",
               "country": "CN", "distance_km": 3.0}
    assert place_text(beijing) == {"en": "Beijing", "zh-CN": "北京市"}
