"""录音完整性 / "Is the recording complete" in the capture's detail (shared/PROTOCOL.md,
"Completeness"), on a phone (412×915), in zh-CN and again in English: record audio
in the PWA, open it, and the section says in plain words that it is continuous,
with the expert facts collapsed under it. Then the same section for the other
answers the server can give (a pause, a network cut, an interrupted ending, the
joins, a file uploaded whole), each from a stubbed GET /captures/{id}/continuity,
so their layout is seen too; a 409 shows no section at all.

Screenshots: screenshots/continuity/<lang>-NN-step.png."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Playwright, Route

from tests.support.browser import GEO, Account, english_words, sign_in
from tests.support.live import LiveServer
from tests.support.paths import ROOT

pytestmark = pytest.mark.e2e
PHONE = {"width": 412, "height": 915}
SHOTS = ROOT / "screenshots" / "continuity"
SECTION = '[data-testid="continuity"]'

WORDS = {
    "zh-CN": {"title": "录音完整性", "continuous": "连续录音", "no_pause": "中间没有暂停",
              "facts": "详情", "start": "开始（手机时钟）", "paused": "暂停了 35 秒",
              "network": "没有缺失", "interrupted": "不是由录音人停止的",
              "continues": "接续自另一段中断的录音", "continued_by": "由另一段录音接续",
              "open": "打开那段录音", "whole": "整体上传", "minute": "相隔 1 分钟"},
    "en": {"title": "Is the recording complete", "continuous": "Recorded continuously",
           "no_pause": "with no pause", "facts": "Details", "start": "Started (phone clock)",
           "paused": "for 35 seconds", "network": "nothing is missing",
           "interrupted": "not stopped by the person recording",
           "continues": "continues another one that was interrupted",
           "continued_by": "was continued by another one", "open": "Open that recording",
           "whole": "Uploaded whole", "minute": "1 min apart"},
}


def _shot(page: Page, lang: str, n: int, name: str, at: str = SECTION) -> None:
    """The phone's screen scrolled to ``at``'s top (the app scrolls in <main>)."""
    page.evaluate("""sel => {
        const el = document.querySelector(sel);
        const main = document.querySelector('main');
        if (!el || !main) return;
        const top = el.getBoundingClientRect().top - main.getBoundingClientRect().top;
        main.scrollTo(0, top + main.scrollTop - 8);
    }""", at)
    page.screenshot(path=str(SHOTS / f"{lang}-{n:02d}-{name}.png"))


def _open_detail(page: Page, cid: str) -> None:
    page.click('[data-testid="nav-list"]')
    page.click(f'[data-testid="capture-item"][data-id="{cid}"]')
    page.wait_for_selector('[data-testid="custody"]', state="attached")  # the server's part


def _section_fits(page: Page) -> None:
    """Nothing in the section is wider than the phone's screen."""
    wide = page.evaluate("""sel => {
        const box = document.querySelector(sel).getBoundingClientRect();
        return [...document.querySelectorAll(sel + ' *')]
            .filter(e => e.getBoundingClientRect().right > box.right + 1)
            .map(e => e.tagName + ' ' + (e.textContent || '').slice(0, 40));
    }""", SECTION)
    assert not wide, wide
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def _statement(cid: str, start: str) -> dict[str, Any]:
    """What the server says of a recording with every kind of event (PROTOCOL "Completeness")."""
    return {"streamed": True, "device_start": start, "device_end": "2026-05-12T06:04:01.000Z",
            "wall_ms": 121000, "recorded_ms": 85900, "chunks": 86, "interval_ms": 1000,
            "gaps": [{"after_seq": 20, "from": "2026-05-12T06:02:21.000Z",
                      "to": "2026-05-12T06:02:56.000Z", "ms": 35000, "cause": "paused"},
                     {"after_seq": 50, "from": "2026-05-12T06:03:27.500Z",
                      "to": "2026-05-12T06:03:57.500Z", "ms": 30000, "cause": "network"}],
            "paused_ms": 35000, "clock_backwards": 0, "ended": "interrupted",
            "continues": cid, "continued_by": [cid], "continuous": False}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_detail_says_whether_the_recording_is_complete(
        browser: Browser, playwright: Playwright, server: LiveServer, account: Account,
        lang: str) -> None:
    words = WORDS[lang]
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob(f"{lang}-*.png"):
        old.unlink()
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    device["viewport"] = PHONE
    ctx = browser.new_context(**device, geolocation=GEO, locale=lang, timezone_id="Asia/Shanghai",
                              permissions=["geolocation", "camera", "microphone"],
                              bypass_csp=True)  # Playwright's wait predicates use eval()
    try:
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        sign_in(page, server, account)
        assert page.evaluate("document.documentElement.lang") == lang

        # 1. record a few seconds of audio, as a person would
        page.click('[data-testid="nav-capture"]')
        page.click('[data-testid="mode-audio"]')
        page.click('[data-testid="record"]')
        page.wait_for_function(
            "(document.querySelector('.recorder .timer, [role=timer]')?.textContent ?? '')"
            " >= '00:04'")
        page.click('[data-testid="stop"]')
        page.click('[data-testid="nav-list"]')
        row = '[data-testid="capture-item"][data-status="anchored"]'
        page.wait_for_selector(row, timeout=60_000)
        cid = page.get_attribute(row, "data-id")
        assert cid

        # 2. its detail: continuous, in plain words, the facts collapsed
        _open_detail(page, cid)
        section = page.wait_for_selector(SECTION)
        assert section.get_attribute("data-continuous") == "true"
        lead = page.inner_text('[data-testid="continuity-lead"]').replace("\xa0", " ")
        assert words["continuous"] in lead and words["no_pause"] in lead, lead
        assert words["title"] in page.inner_text(f"{SECTION} h2")
        facts = page.locator('[data-testid="continuity-facts"]')
        assert facts.evaluate("d => d.open") is False
        assert not page.is_visible(f'{SECTION} dl')
        _section_fits(page)
        _shot(page, lang, 1, "continuous")
        facts.locator("summary").click()
        facts_text = facts.inner_text()
        assert words["start"] in facts_text, facts_text
        _section_fits(page)
        _shot(page, lang, 2, "continuous-facts", '[data-testid="continuity-facts"]')
        if lang == "zh-CN":
            left = [w for w in english_words(page) if w[1] in page.inner_text(SECTION)]
            assert not left, f"English in the Chinese section: {left}"

        # 3. what it would say of a recording with a pause, a network cut, an interrupted
        #    ending and joins (the server's answer stubbed, the page as it is)
        start = "2026-05-12T06:02:00.000Z"
        answers: dict[str, tuple[int, dict[str, Any]]] = {}

        served: list[int] = []

        def stub(route: Route) -> None:
            status, body = answers["now"]
            route.fulfill(status=status, content_type="application/json", body=json.dumps(body))
            served.append(status)

        page.route("**/api/v1/captures/*/continuity", stub)
        answers["now"] = (200, _statement(cid, start))
        _open_detail(page, cid)
        page.wait_for_selector(f'{SECTION}[data-continuous="false"]')
        lead = page.inner_text('[data-testid="continuity-lead"]').replace("\xa0", " ")
        for k in ("paused", "network", "interrupted", "continues", "continued_by", "open"):
            assert words[k] in lead, (k, lead)
        # the phone's own clock (Asia/Shanghai): 06:02:21Z is 14:02:21 there
        assert "14:02:21" in lead and "14:02:56" in lead, lead
        href = page.get_attribute('[data-testid="continuity-link"]', "href")
        assert href == f"#/list/s%3A{cid}", href
        _section_fits(page)
        _shot(page, lang, 3, "paused-network-interrupted")
        page.locator('[data-testid="continuity-facts"] summary').click()
        assert page.locator(f'{SECTION} dd[data-cause="paused"]').count() == 1
        _section_fits(page)
        _shot(page, lang, 4, "paused-facts", '[data-testid="continuity-facts"]')

        # 4. several pauses: counted, then listed
        many = _statement(cid, start)
        many.update(gaps=[many["gaps"][0], {**many["gaps"][0], "after_seq": 60,
                                            "from": "2026-05-12T06:03:40.000Z",
                                            "to": "2026-05-12T06:03:50.000Z", "ms": 10000}],
                    paused_ms=45000, ended="stopped", continues=None, continued_by=[])
        answers["now"] = (200, many)
        _open_detail(page, cid)
        page.wait_for_selector(f'{SECTION} .continuity-pauses li >> nth=1')
        _section_fits(page)
        _shot(page, lang, 5, "two-pauses")

        # 5. a file uploaded whole: no timeline, said so
        answers["now"] = (200, {"streamed": False, "device_start": start,
                                "device_end": "2026-05-12T06:03:00.000Z", "wall_ms": 60000,
                                "recorded_ms": None, "chunks": 0, "interval_ms": 0, "gaps": [],
                                "paused_ms": 0, "clock_backwards": 0, "ended": "stopped",
                                "continues": None, "continued_by": [], "continuous": None})
        _open_detail(page, cid)
        page.wait_for_selector(f'{SECTION}[data-continuous="null"]')
        lead = page.inner_text('[data-testid="continuity-lead"]').replace("\xa0", " ")
        assert words["whole"] in lead and words["minute"] in lead, lead
        _shot(page, lang, 6, "uploaded-whole")

        # 6. not a recording (409): no section, nothing said
        answers["now"] = (409, {"type": "about:blank", "title": "not_a_recording",
                                "status": 409, "code": "not_a_recording"})
        served.clear()
        _open_detail(page, cid)
        page.wait_for_selector('[data-testid="custody"]', state="attached")
        deadline = time.monotonic() + 30
        while not served:  # the 409 was answered; then let the page handle it
            assert time.monotonic() < deadline, "the page never asked for the statement"
            page.wait_for_timeout(50)
        page.evaluate("new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)))")
        assert page.locator(SECTION).count() == 0
        page.unroute("**/api/v1/captures/*/continuity")
    finally:
        ctx.close()



VERIFY_WORDS = {
    "zh-CN": {"label": "录音完整性", "paused": "不连续：设备时钟", "pause": "没有录音（37.0 秒）",
              "joined": "接续自中断的录音流", "back": "倒退了 1 次"},
    "en": {"label": "Continuity", "paused": "NOT continuous: device clock",
           "pause": "nothing recorded from", "joined": "it continues the interrupted stream",
           "back": "go back 1 time"},
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_verify_page_says_the_continuity_of_a_bundle(
        browser: Browser, playwright: Playwright, server: LiveServer, lang: str) -> None:
    """/verify, signed out: the shared vector with a 37 s pause passes and says where it
    paused; the one whose signed chunk times go back fails the continuity line only."""
    words = VERIFY_WORDS[lang]
    vectors = ROOT / "shared" / "vectors" / "bundle" / "bundles"
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    device["viewport"] = PHONE
    ctx = browser.new_context(**device, locale=lang, timezone_id="Asia/Shanghai")
    try:
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        page.goto(server.url + "/verify")
        page.wait_for_selector('[data-testid="dropzone"]')
        line = '[data-testid="check"][data-name="continuity"]'

        page.set_input_files('[data-testid="bundle-input"]', str(vectors / "stream-paused.zip"))
        page.wait_for_selector('[data-testid="verify-result"]')
        page.wait_for_selector(f'{line}[data-status="pass"]')
        said = page.inner_text(line).replace("\xa0", " ")
        for k in ("label", "paused", "pause", "joined"):
            assert words[k] in said, (k, said)
        # after the chunks line, as the reference orders them
        names = page.eval_on_selector_all('[data-testid="check"]',
                                          "els => els.map(e => e.dataset.name)")
        assert names.index("continuity") == names.index("chunks") + 1, names
        _shot(page, lang, 7, "verify-paused", line)

        page.set_input_files('[data-testid="bundle-input"]',
                             str(vectors / "stream-backwards.zip"))
        page.wait_for_selector(f'{line}[data-status="fail"]')
        assert words["back"] in page.inner_text(line).replace("\xa0", " ")
        assert page.get_attribute('[data-testid="check"][data-name="chunks"]',
                                  "data-status") == "pass"
        _shot(page, lang, 8, "verify-backwards", line)
    finally:
        ctx.close()
