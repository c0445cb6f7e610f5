"""The shared bundle cases (shared/vectors/bundle/cases.json) against the Python verifier.

Every case: a real exported bundle, maybe mutated, written as a zip and
verified offline with the log key pinned (as `fieldproof verify --log-key`).
The browser verifier runs the same file (pwa/tests/bundle-cases.test.ts).
"""

from __future__ import annotations

import importlib.util
import io
import json
import zipfile
from types import ModuleType
from typing import Any

import pytest

from fieldproof.bundle import layout as L
from fieldproof.bundle.read import ZipBundle
from fieldproof.bundle.verify import verify_bundle
from fieldproof.core.logentry import CUSTODY_EVENTS, CUSTODY_RECORD
from fieldproof.core.report import Report
from fieldproof.errors import BundleUnusable
from tests.support.bundle_cases import VECTORS, apply, bundle_zip, load_doc, write_zip

DOC = load_doc()
CASES = DOC["cases"]


def _verify(data: bytes) -> Report:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return verify_bundle(ZipBundle(zf), log_vkey=DOC["log_vkey"])


def _zip(case: dict[str, Any]) -> bytes:
    if case["mutation"] is None:
        return bundle_zip(DOC, case["bundle"])  # the export itself, ZIP64 and all
    entries, damage = apply(case, DOC)
    return write_zip(entries, damage)


def _order(report: Report) -> list[str]:
    out: list[str] = []
    for r in report.results:
        if not out or out[-1] != r.name:
            out.append(r.name)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    data = _zip(case)
    if case["expect"] == "unusable":
        with pytest.raises(BundleUnusable):
            _verify(data)
        return
    report = _verify(data)
    failed = {r.name for r in report.failed()}
    if case["expect"] == "pass":
        assert report.ok, report.lines()
        if case["mutation"] is None:  # the names and order the browser must show too
            assert _order(report) == DOC["bundles"][case["bundle"]]["checks"]
    else:
        assert case["fails"] in failed, report.lines()


def test_every_check_has_a_failing_case() -> None:
    names = {"read"} | {n for b in DOC["bundles"].values() for n in b["checks"]}
    failing = {c["fails"] for c in CASES if c["expect"] == "fail"}
    assert names <= failing, names - failing
    assert {c["bundle"] for c in CASES if c["mutation"] is None} == set(DOC["bundles"])
    assert any(c["expect"] == "unusable" for c in CASES)
    for c in CASES:
        assert c["sums"] in ("keep", "update") and c["expect"] in ("pass", "fail", "unusable")
        assert bool(c.get("why")) == (not c["browser"]), c["id"]


def test_caps_are_the_layout_limits() -> None:
    by_id = {c["id"]: c for c in CASES}
    photo = len(DOC["bundles"]["photo"]["names"])
    assert photo + by_id["cap-too-many-members"]["mutation"]["count"] == L.MAX_FILES + 1
    assert photo + by_id["cap-members-at-limit"]["mutation"]["count"] == L.MAX_FILES
    assert by_id["cap-member-too-large"]["mutation"]["zeros"] == L.MAX_SMALL_FILE + 1
    total = by_id["cap-inflated-total"]["mutation"]
    assert total["zeros"] <= L.MAX_SMALL_FILE < L.MAX_SMALL_TOTAL < total["zeros"] * (
        total["count"] + 1)


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_bundle_vectors",
                                                  VECTORS / "make_bundle_vectors.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_layout_json_is_the_python_layout() -> None:
    """What the browser imports (layout.json) is what bundle/layout.py and
    core/logentry.py say, and the case file is what the generator makes."""
    layout = json.loads((VECTORS / "layout.json").read_text())
    gen = _generator()
    assert layout == gen.layout_doc(), "run make_bundle_vectors.py --describe"
    assert set(layout["custody"]["events"]) == set(CUSTODY_EVENTS)
    assert layout["custody"]["record_type"] == CUSTODY_RECORD
    assert tuple(layout["required"]) == L.REQUIRED and set(layout["fixed"]) == L.FIXED
    examples = DOC["layout_examples"]
    for name, member in examples["names"].items():
        assert L.is_member(name, examples["media"]) is member, name
    assert gen.cases_doc(DOC["log_vkey"]) == DOC, "run make_bundle_vectors.py --describe"


def _result(report: Report, name: str) -> Any:
    found = [r for r in report.results if r.name == name]
    assert len(found) == 1, report.lines()
    return found[0]


def test_continuity_says_a_pause_and_the_join() -> None:
    """stream-paused: every check passes; continuity says it is not continuous, where, and
    which interrupted stream it continues (the device signed no chunk for 37 s)."""
    report = _verify(bundle_zip(DOC, "stream-paused"))
    assert report.ok, report.lines()
    said = _result(report, "continuity").detail
    assert "5 chunks about every 1000 ms; NOT continuous: nothing recorded from " in said
    assert "(41.5 s)" in said and "(37.0 s)" in said
    assert "; continues the interrupted stream " in said


def test_continuity_fails_alone_when_the_signed_times_go_back() -> None:
    report = _verify(bundle_zip(DOC, "stream-backwards"))
    assert {r.name for r in report.failed()} == {"continuity"}, report.lines()
    assert _result(report, "chunks").ok
    assert "go back 1 time(s)" in _result(report, "continuity").detail
    assert DOC["bundles"]["stream-backwards"]["fails"] == "continuity"
