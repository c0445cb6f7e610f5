"""The PWA as a person on a phone sees it (issue 11's walk-through on a Pixel 7, in
zh-CN and English): every control reachable, icons told apart, what happens
offline said plainly, the list kept offline, and no English left in Chinese.

Screenshots of each screen (412×915, both languages) go under the pytest tmp dir;
the path is printed (run with -s to see it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from fieldproof.client.api import Client, DeviceKeyFile
from tests.support.browser import (
    GEO,
    Account,
    assert_reachable,
    camera_ready,
    english_words,
    newest_item,
    service_worker_ready,
    set_lang,
    sign_in,
)
from tests.support.live import LiveServer

MODES = ["photo", "audio", "video", "screen", "call", "meeting", "import", "web"]
# The main control of each capture mode, and what else must be reachable there.
CONTROLS = {
    "photo": ['[data-testid="shutter"]', 'label[for="photo-fallback"]', ".capture .geo"],
    "audio": ['[data-testid="record"]', ".capture .geo"],
    "video": ['[data-testid="record"]', ".capture .geo"],
    "screen": ['[data-testid="record"]', ".capture .geo"],
    "call": ['[data-testid="record"]', '[data-testid="notice-again"]', ".capture .geo"],
    "meeting": ['[data-testid="record"]', '[data-testid="notice-again"]', ".capture .geo"],
    "import": ['label[for="import-input"]', ".capture .geo"],
    # the server records a web page: no place of the phone's to show
    "web": ['[data-testid="web-url"]', 'label[for="web-mode-live"]',
            '[data-testid="web-start-button"]'],
}
PHONE = {"width": 412, "height": 915}  # a Pixel 7's screen; its browser viewport is 412×839


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("screens")
    print(f"\nscreenshots: {d}")
    return d


def shot(page: Page, screens: Path, name: str) -> None:
    page.screenshot(path=str(screens / f"{name}.png"))


def _mode(page: Page, mode: str) -> None:
    page.click('[data-testid="nav-capture"]')
    page.click(f'[data-testid="mode-{mode}"]')
    page.wait_for_selector(f'[data-testid="mode-{mode}"][aria-pressed="true"]')


def _api_capture(account: Account, tmp: Path, name: str) -> dict:
    """A capture made by another device of the same account (the Python client)."""
    api = Client(account.server.url, account.token)
    key = DeviceKeyFile.load_or_create(tmp / "other-device.pem", create=True)
    api.enroll(key)
    f = tmp / name
    f.write_bytes(f"{name} {time.monotonic_ns()}".encode() * 64)
    capture = api.capture_file(key, f, kind="import", geo={
        "lat": GEO["latitude"], "lon": GEO["longitude"], "accuracy": 10,
        "fixed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    api.close()
    return capture


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_every_capture_control_is_reachable(page: Page, lang: str, screens: Path) -> None:
    """At the phone's viewport and at its full screen: each mode's main control is in the
    viewport, above the bottom bar, and a tap at its centre reaches it."""
    set_lang(page, lang)
    for size in (page.viewport_size, PHONE):
        assert size is not None
        page.set_viewport_size(size)
        for mode in MODES:
            _mode(page, mode)
            if mode in ("photo", "video"):
                camera_ready(page)
            for sel in CONTROLS[mode]:
                assert_reachable(page, sel)
            for m in MODES:
                assert_reachable(page, f'[data-testid="mode-{m}"]')
            for nav in ("capture", "list", "device"):
                assert_reachable(page, f'[data-testid="nav-{nav}"]')
            if size == PHONE:
                shot(page, screens, f"capture-{mode}-{lang}")


def test_mode_icons_are_distinct_and_labelled(page: Page) -> None:
    icons = page.evaluate("""() => [...document.querySelectorAll('.modes .mode')].map(b => ({
        mode: b.dataset.testid, svg: b.querySelector('svg')?.innerHTML ?? '',
        hidden: b.querySelector('svg')?.getAttribute('aria-hidden'),
        name: b.innerText.trim()}))""")
    assert [i["mode"] for i in icons] == [f"mode-{m}" for m in MODES]
    assert all(i["svg"] for i in icons), icons
    assert len({i["svg"] for i in icons}) == len(icons), "two modes share an icon"
    # decorative icons; the button's visible text is its accessible name
    assert all(i["hidden"] == "true" and i["name"] for i in icons), icons
    for m in MODES:
        name = page.get_by_role("button", name=icons[MODES.index(m)]["name"], exact=True)
        assert name.count() == 1, m
    nav = page.evaluate(
        "() => [...document.querySelectorAll('.bottom-nav svg')].map(s => s.innerHTML)")
    assert len(set(nav)) == len(nav) >= 3


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_recording_offline_says_it_is_kept_on_the_phone(page: Page, context: BrowserContext,
                                                        account: Account, lang: str,
                                                        screens: Path) -> None:
    set_lang(page, lang)
    service_worker_ready(page)
    _mode(page, "audio")
    status = '[data-testid="rec-status"]'
    page.wait_for_selector(f'{status}[data-i18n="rec.ready"]')
    context.set_offline(True)
    page.wait_for_selector(f'{status}[data-i18n="rec.readyOffline"]')
    page.click('[data-testid="record"]')
    page.wait_for_selector(f'{status}[data-i18n="rec.recordingOffline"]')
    text = page.inner_text(status)
    assert ("kept on this phone" in text) if lang == "en" else ("保存在本机" in text), text
    assert "sent as it is made" not in text and "生成时签名并发送" not in text
    page.wait_for_function("document.querySelector('.chunks')?.textContent.match(/[1-9]/)")
    shot(page, screens, f"recording-offline-{lang}")
    context.set_offline(False)
    page.wait_for_selector(f'{status}[data-i18n="rec.recording"]')
    page.click('[data-testid="stop"]')
    item = newest_item(page, "anchored", timeout=60_000)
    assert item.get_attribute("data-kind") == "audio"


def test_offline_reload_keeps_the_servers_captures(page: Page, context: BrowserContext,
                                                   account: Account, tmp_path: Path) -> None:
    first = _api_capture(account, tmp_path, "made-elsewhere.txt")
    page.click('[data-testid="nav-list"]')
    row = f'[data-testid="capture-item"][data-id="{first["id"]}"]'
    page.wait_for_selector(row)
    service_worker_ready(page)
    context.set_offline(True)
    response = page.reload()
    assert response is not None and response.from_service_worker
    page.wait_for_function("window.fieldproofReady === true")
    page.click('[data-testid="nav-list"]')
    page.wait_for_selector(row)  # kept on the device, shown offline
    page.wait_for_selector('[data-testid="list-cached"]:not([hidden])')
    # meanwhile another device adds one; back online, the list refreshes by itself
    second = _api_capture(account, tmp_path, "made-later.txt")
    context.set_offline(False)
    page.wait_for_selector(f'[data-testid="capture-item"][data-id="{second["id"]}"]')
    page.wait_for_selector(row)
    page.wait_for_selector('[data-testid="list-cached"]', state="hidden")
    assert page.evaluate("location.hash") == "#/list"


def test_language_switch_keeps_every_text(page: Page) -> None:
    page.click('[data-testid="nav-list"]')
    warning = page.wait_for_selector('[data-testid="storage-warning"]')
    assert warning is not None
    set_lang(page, "zh-CN")
    text = page.inner_text('[data-testid="storage"]')
    assert "存储" in text and ("浏览器" in text or "受保护" in text), text
    assert page.is_visible('[data-testid="storage-warning"]')
    # a view that was not on screen during the switch is relabelled when shown
    page.click('[data-testid="nav-capture"]')
    set_lang(page, "en")
    page.click('[data-testid="nav-list"]')
    assert page.inner_text("#list-title") == "Captures"
    assert "Storage used" in page.inner_text('[data-testid="storage"]')
    assert page.is_visible('[data-testid="storage-warning"]')


@pytest.fixture
def zh_context(browser: Browser, playwright: Playwright) -> Iterator[BrowserContext]:
    """A Chinese phone in Shanghai (times shown with UTC+08:00)."""
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    ctx = browser.new_context(**device, geolocation=GEO, timezone_id="Asia/Shanghai",
                              permissions=["geolocation", "camera", "microphone"],
                              locale="zh-CN", bypass_csp=True)
    yield ctx
    ctx.close()


def test_no_english_in_the_chinese_ui(zh_context: BrowserContext, server: LiveServer,
                                      account: Account, screens: Path, tmp_path: Path) -> None:
    page = zh_context.new_page()
    page.set_default_timeout(30_000)
    sign_in(page, server, account)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    seen: dict[str, list[tuple[str, str]]] = {}

    def scan(name: str) -> None:
        seen[name] = english_words(page)
        shot(page, screens, f"{name}-zh-CN")

    for mode in MODES:
        _mode(page, mode)
        if mode in ("photo", "video"):
            camera_ready(page)
        scan(f"capture-{mode}")
    # a photo with its checks, anchored, read (custody)
    _mode(page, "photo")
    camera_ready(page)
    page.click('[data-testid="shutter"]')
    item = newest_item(page, "anchored")
    # sent: "saved, queued for sending" is no longer true, so it is gone (it used to stay
    # its 4 s, over the list and the detail view; an anchored photo is sent well within
    # them here, though on a very slow machine the 4 s alone would hide it too)
    assert page.is_hidden('[data-testid="toast"]'), page.inner_text('[data-testid="toast"]')
    cid = item.get_attribute("data-id")
    assert cid
    scan("list")
    item.click()
    page.wait_for_selector('[data-testid="verdict"]')
    for section in ("checks-section", "technical", "custody-section"):
        page.click(f'[data-testid="{section}"] > summary')
    page.wait_for_selector('[data-testid="custody"] li[data-event="view"]')
    page.wait_for_selector(".checks li")
    checks = page.inner_text(".checks")
    assert "设备签名" in checks and "服务器一次性随机数" in checks, checks
    assert "UTC+08:00" in page.inner_text('[data-testid="capture-detail"]')
    scan("detail")
    # what the person opened stays open when the view renders again (here: relabelled)
    set_lang(page, "en")
    assert page.is_visible(".checks li") and page.is_visible('[data-testid="custody"] li')
    set_lang(page, "zh-CN")
    assert page.is_visible(".checks li")
    page.click('[data-testid="nav-device"]')
    page.wait_for_selector('[data-testid="key-id"]')
    scan("device")
    # the verification page with a result: this photo's bundle
    bundle = tmp_path / "evidence.zip"
    api = Client(server.url, account.token)
    api.export(cid, bundle)
    api.close()
    page.goto(server.url + "/verify")
    page.set_input_files('[data-testid="bundle-input"]', str(bundle))
    page.wait_for_selector('[data-testid="verify-result"]')
    assert "项检查" in page.inner_text('[data-testid="verify-result"]')
    scan("verify")
    bad = {name: words for name, words in seen.items() if words}
    assert not bad, "English in the Chinese UI:\n" + "\n".join(
        f"{name}: {w!r} in {text!r}" for name, words in bad.items() for w, text in words)
