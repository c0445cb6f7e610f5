"""Every code the server can say has words in every language (shared/i18n/server.json)."""

from __future__ import annotations

import ast
import re

from fieldproof.core import texts
from fieldproof.core.logentry import CUSTODY_EVENTS
from fieldproof.core.manifest import KINDS
from tests.support.paths import ROOT

SRC = ROOT / "backend" / "src" / "fieldproof"
_PARAM = re.compile(r"\{(\w+)\}")


def _literal_first_args(func: str, arg: int) -> set[str]:
    """String literals passed as argument ``arg`` of calls to ``*.func`` / ``func``."""
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and len(node.args) > arg and (
                    (isinstance(node.func, ast.Attribute) and node.func.attr == func)
                    or (isinstance(node.func, ast.Name) and node.func.id == func)):
                a = node.args[arg]
                if isinstance(a, ast.Constant) and isinstance(a.value, str):
                    found.add(a.value)
                elif isinstance(a, ast.IfExp):
                    found |= {x.value for x in (a.body, a.orelse)
                              if isinstance(x, ast.Constant) and isinstance(x.value, str)}
    return found


def test_every_entry_speaks_every_language_with_the_same_parameters() -> None:
    for section, entries in texts.catalogue().items():
        for key, langs in entries.items():
            assert set(langs) == set(texts.LANGUAGES), f"{section}.{key}: {sorted(langs)}"
            params = {lang: set(_PARAM.findall(t)) for lang, t in langs.items()}
            assert params["en"] == params["zh-CN"], f"{section}.{key}: {params}"


def test_every_check_and_code_the_server_emits_is_in_the_catalogue() -> None:
    cat = texts.catalogue()
    names = _literal_first_args("of", 0)
    codes = _literal_first_args("of", 2)
    assert {"schema", "signature", "device_chain", "exif_gps"} <= names  # the scan works
    assert names - set(cat["check"]) == set()
    assert codes - set(cat["code"]) == set()
    problems = set()
    for path in SRC.rglob("checks.py"):
        problems |= set(re.findall(r'"(capture_time\.[a-z_]+)"', path.read_text()))
    assert problems and problems - set(cat["code"]) == set()


def test_every_custody_event_kind_and_verdict_is_named() -> None:
    cat = texts.catalogue()
    assert CUSTODY_EVENTS - set(cat["custody"]) == set()
    assert (set(KINDS) | {"web"}) - set(cat["kind"]) == set()
    verdicts = set(re.findall(r'part\("([a-z_]+)"', (SRC / "core" / "verdict.py").read_text()))
    assert len(verdicts) >= 8 and verdicts - set(cat["verdict"]) == set()


def test_times_are_local_with_their_offset() -> None:
    assert texts.format_time("2026-12-02T05:49:00.000Z", "Asia/Shanghai", "zh-CN") == \
        "2026年12月2日 13:49:00（UTC+08:00）"
    assert texts.format_time("2026-12-02T05:49:00.000Z", "America/New_York", "en") == \
        "2 Dec 2026, 00:49:00 (UTC-05:00)"
    assert texts.format_time("2026-12-02T05:49:00Z", "Not/AZone", "en") == \
        "2 Dec 2026, 05:49:00 (UTC+00:00)"
