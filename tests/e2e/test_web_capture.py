"""The web capture in the app, as a phone user reaches it: a link shared into the
installed PWA (Web Share Target) opens the 网页取证 form filled in; the server
records the page in its own browser while the app shows a live picture; the result
is previewed (video, screenshots, hosts and certificates) and confirmed. Pixel 7
(412×915), in Chinese; the bundle then passes `fieldproof verify`. Each step's
screenshot is saved under screenshots/web-capture/ (NN-step.png)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from tests.support.browser import DIST, GEO, PASSWORD, Account, english_words, set_lang, sign_in
from tests.support.live import LiveServer, run_cli
from tests.support.paths import ROOT
from tests.support.waiting import wait_until
from tests.support.website import LocalSite

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSite]:
    with LocalSite(tmp_path_factory.mktemp("site") / "www") as s:
        yield s


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("e2e-web")
    srv = LiveServer(base / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.3",
                                        "FIELDPROOF_PWA_DIR": str(DIST),
                                        "FIELDPROOF_WEB_ALLOW_PRIVATE": "1"})
    srv.data_dir.mkdir()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def context(browser: Browser, playwright: Playwright) -> Iterator[BrowserContext]:
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    ctx = browser.new_context(**device, geolocation=GEO, permissions=["geolocation"],
                              locale="zh-CN", timezone_id="Asia/Shanghai", bypass_csp=True)
    yield ctx
    ctx.close()


def _status(page: Page) -> str:
    el = page.query_selector('[data-testid="web-status"]')
    return el.get_attribute("data-status") or "" if el else ""


def _in_view(page: Page, selector: str) -> None:
    page.locator(selector).scroll_into_view_if_needed()
    box = page.locator(selector).bounding_box()
    assert box is not None and box["width"] > 0
    assert box["x"] >= 0 and box["x"] + box["width"] <= 412 + 0.5, box


def test_a_shared_link_recorded_confirmed_and_verified(
        context: BrowserContext, server: LiveServer, site: LocalSite, tmp_path: Path) -> None:
    assert context.pages == []
    account = Account("web-e2e@example.org",
                      server.create_user("web-e2e@example.org", PASSWORD), server)
    page = context.new_page()
    page.set_default_timeout(30_000)
    shots = ROOT / "screenshots" / "web-capture"
    shots.mkdir(parents=True, exist_ok=True)
    sign_in(page, server, account)
    set_lang(page, "zh-CN")

    # Douyin-style share: text around the link, as the share sheet sends it
    link = f"{site.http}/page.html"
    shared = quote(f"【房东的帖子】复制打开 {link} 看看")
    page.goto(f"{server.url}/?share_title={quote('帖子')}&share_text={shared}")
    page.wait_for_function("window.fieldproofReady === true")
    page.wait_for_function("document.querySelector('[data-testid=web-url]')?.value !== ''")
    assert page.input_value('[data-testid="web-url"]') == link
    assert page.evaluate("location.search") == ""  # the shared text is not kept in the URL
    assert page.get_attribute('[data-testid="mode-web"]', "aria-pressed") == "true"
    assert page.inner_text(".panel.web h2") == "网页取证"
    page.screenshot(path=str(shots / "01-shared-link.png"))

    page.fill('[data-testid="web-duration"]', "10")
    page.fill('[data-testid="web-title"]', "房东的帖子")
    _in_view(page, '[data-testid="web-start-button"]')
    page.click('[data-testid="web-start-button"]')

    # while it records, the app shows what the server's browser shows
    page.wait_for_selector('[data-testid="web-status"][data-status="recording"]', timeout=60_000)
    assert page.inner_text('[data-testid="web-status"]') == "取证中"
    page.wait_for_function("(() => { const i = document.querySelector('[data-testid=web-frame]');"
                           " return i && !i.hidden && i.naturalWidth === 1280; })()",
                           timeout=30_000)
    page.locator('[data-testid="web-frame"]').scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "02-recording.png"))

    # the result, previewed
    page.wait_for_selector('[data-testid="web-status"][data-status="awaiting_confirmation"]',
                           timeout=90_000)
    assert page.inner_text('[data-testid="web-status"]') == "待确认"
    page.wait_for_function("document.querySelector('[data-testid=web-video]')?.readyState >= 1",
                           timeout=30_000)
    page.wait_for_function("document.querySelectorAll('[data-testid=web-shot]').length === 2 &&"
                           " [...document.querySelectorAll('[data-testid=web-shot]')]"
                           ".every(i => i.naturalWidth === 1280)")
    # the hosts list is the last part of the preview to load (after the screenshots)
    page.wait_for_function("document.querySelectorAll('[data-testid=web-hosts] li').length > 0")
    hosts = page.inner_text('[data-testid="web-hosts"]')
    assert "127.0.0.1" in hosts and "200" in hosts
    assert english_words(page) == [], english_words(page)
    page.screenshot(path=str(shots / "03-preview.png"), full_page=True)
    _in_view(page, '[data-testid="web-confirm"]')
    _in_view(page, '[data-testid="web-abandon"]')
    page.click('[data-testid="web-confirm"]')
    page.wait_for_selector('[data-testid="web-status"][data-status="confirmed"]')
    assert page.inner_text('[data-testid="web-status"]') == "已确认"
    page.screenshot(path=str(shots / "04-confirmed.png"))

    # what the server holds: a confirmed, anchored web capture whose bundle verifies
    tasks = account.api("/web-captures")["items"]
    assert [(t["status"], t["title"], t["url"], t["timezone"]) for t in tasks] == [
        ("confirmed", "房东的帖子", link, "Asia/Shanghai")]
    capture_id = tasks[0]["capture_id"]
    wait_until("anchored", lambda: account.api(f"/captures/{capture_id}")["status"]
               == "anchored", timeout=60)
    r = httpx.get(f"{server.url}/api/v1/captures/{capture_id}/bundle",
                  headers={"Authorization": f"Bearer {account.token}"}, timeout=60)
    assert r.status_code == 200
    bundle = tmp_path / "web.zip"
    bundle.write_bytes(r.content)
    assert "web/traffic.warc.gz" in zipfile.ZipFile(bundle).namelist()
    out = run_cli("verify", str(bundle))
    assert out.returncode == 0, out.stdout

    # in English too, the statuses are words a person reads
    set_lang(page, "en")
    assert page.inner_text('[data-testid="web-status"]') == "Confirmed"

    # the browser's own verifier (/verify) checks the web files too
    page.goto(server.url + "/verify")
    page.wait_for_selector('[data-testid="dropzone"]')
    page.set_input_files('[data-testid="bundle-input"]', str(bundle))
    result = page.wait_for_selector('[data-testid="verify-result"]', timeout=60_000)
    assert result.get_attribute("data-ok") == "true", page.inner_text('[data-testid="verify-out"]')
    for name, status in (("web_files", "pass"), ("web_recorder", "info")):
        line = page.wait_for_selector(f'[data-testid="check"][data-name="{name}"]')
        assert line.get_attribute("data-status") == status, line.inner_text()
