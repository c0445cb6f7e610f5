"""Calls and meetings (issue items 5-7) in real Chromium against a real backend.

- A call recorded on speaker: the lawful-recording notice before the first
  one only; the signed manifest carries context.type 'call', the method and
  the acknowledgement.
- A call recording imported from the phone's dialer, with a call time two
  days from the file's own container time: the server's call_time check is
  flagged and the app says so in plain words.
- A meeting on a desktop: the shared tab's sound and the microphone end up on
  the two channels of one stereo Opus stream (left: the tab, right: the
  microphone), as context.meeting.tracks says; on a phone (no
  getDisplayMedia) the microphone alone.
- Files shared into the installed app (Web Share Target, POST, taken by the
  service worker): the import screen with the file chosen, and an audio file
  goes on to the call import form; a shared link still opens the web form.

Screenshots at 412×915 in zh-CN go to screenshots/calls/.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from tests.support.browser import (
    CHROMIUM,
    FLAGS,
    GEO,
    Account,
    english_words,
    service_worker_ready,
    sign_in,
)
from tests.support.live import LiveServer
from tests.support.paths import ROOT

SHOTS = ROOT / "screenshots" / "calls"
PHONE = {"width": 412, "height": 915}
TONE_HZ = 1000  # the "meeting" tab plays this; the fake microphone beeps lower


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def no_english(page: Page) -> None:
    words = english_words(page)
    assert not words, f"untranslated on a Chinese screen: {words}"


def _phone_context(browser: Browser, playwright: Playwright, *, no_display: bool = False
                   ) -> BrowserContext:
    """A Chinese Pixel 7 in Shanghai; without getDisplayMedia when asked (as a real phone)."""
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    ctx = browser.new_context(**device, geolocation=GEO, timezone_id="Asia/Shanghai",
                              permissions=["geolocation", "camera", "microphone"],
                              locale="zh-CN", bypass_csp=True)
    if no_display:
        ctx.add_init_script("delete MediaDevices.prototype.getDisplayMedia;")
    return ctx


@pytest.fixture
def zh_context(browser: Browser, playwright: Playwright) -> Iterator[BrowserContext]:
    ctx = _phone_context(browser, playwright)
    yield ctx
    ctx.close()


@pytest.fixture
def zh_page(zh_context: BrowserContext, server: LiveServer, account: Account) -> Page:
    p = zh_context.new_page()
    p.set_default_timeout(30_000)
    sign_in(p, server, account)
    p.set_viewport_size(PHONE)
    assert p.evaluate("document.documentElement.lang") == "zh-CN"
    return p


def _mode(page: Page, mode: str) -> None:
    page.click('[data-testid="nav-capture"]')
    page.click(f'[data-testid="mode-{mode}"]')
    page.wait_for_selector(f'[data-testid="mode-{mode}"][aria-pressed="true"]')


def _choose(page: Page, testid: str) -> None:
    """A radio drawn as a segment or chip: tap its label."""
    page.click(f'[data-testid="{testid}"] + label')


def _recorded(page: Page, seconds: int) -> None:
    """Wait until the recorder's own clock shows ``seconds`` recorded (not a fixed sleep:
    a loaded machine starts recording later)."""
    page.wait_for_function(
        "(document.querySelector('.recorder .timer, [role=timer]')?.textContent ?? '') >= "
        f"'00:{seconds:02d}'", timeout=60_000)


def _captures(account: Account, n: int, timeout: float = 60) -> list[dict[str, Any]]:
    """The account's captures once there are n of them (newest first), each read in full."""
    deadline = time.monotonic() + timeout
    while True:
        items = account.api("/captures?limit=50")["items"]
        if len(items) >= n:
            return [account.api(f"/captures/{c['id']}") for c in items]
        assert time.monotonic() < deadline, f"{len(items)} captures, expected {n}"
        time.sleep(0.5)


def _m4a(path: Path, creation_time: str) -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi",
                    "-i", "sine=frequency=440:duration=2", "-c:a", "aac",
                    "-metadata", f"creation_time={creation_time}", str(path)],
                   check=True, timeout=60)
    return path


def _probe(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=index,codec_type,codec_name,channels", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return json.loads(out)["streams"]  # type: ignore[no-any-return]


def _channels(path: Path) -> np.ndarray:
    """The first audio stream decoded as float samples, shape (n, 2), 48 kHz."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:a:0", "-f", "f32le",
                          "-ac", "2", "-ar", "48000", "-"], check=True, capture_output=True,
                         timeout=60).stdout
    return np.frombuffer(raw, dtype="<f4").reshape(-1, 2)


def _dominant_hz(x: np.ndarray, rate: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum[1:])) + 1])


# -- calls ----------------------------------------------------------------------------------------

def test_call_on_speaker_notice_once(zh_page: Page, account: Account) -> None:
    page = zh_page
    _mode(page, "call")
    page.wait_for_selector('[data-testid="calls-panel"]')
    no_english(page)
    shot(page, "01-call-speaker")
    page.fill('[data-testid="calls-party"]', "+8613800000000")
    page.select_option('[data-testid="calls-direction"]', "incoming")

    # the first call recording: the notice first
    page.click('[data-testid="record"]')
    page.wait_for_selector('[data-testid="notice"][open]')
    text = page.inner_text('[data-testid="notice"]')
    assert "第106条" in text and "私密空间" in text and "我已了解" in text, text
    no_english(page)
    shot(page, "02-notice")
    page.click('[data-testid="notice-ok"]')
    page.wait_for_selector('[data-testid="stop"]:visible')
    assert not page.is_visible('[data-testid="notice"]')
    _recorded(page, 1)
    shot(page, "03-call-recording")
    _recorded(page, 3)
    page.click('[data-testid="stop"]')
    (first,) = _captures(account, 1)
    ctx = first["manifest"]["context"]
    assert first["kind"] == "audio"
    assert ctx["type"] == "call"
    assert ctx["call"] == {"method": "speakerphone", "party": "+8613800000000",
                           "direction": "incoming"}
    assert ctx["notice"]["version"] == 1 and ctx["notice"]["acknowledged_at"].endswith("Z")
    assert first["manifest"]["stream"]["chunks"] >= 2

    # the second: no notice; another phone on the call this time
    _mode(page, "call")
    _choose(page, "calls-device-other")
    page.click('[data-testid="record"]')
    page.wait_for_selector('[data-testid="stop"]:visible')
    assert not page.is_visible('[data-testid="notice"]')
    _recorded(page, 3)
    page.click('[data-testid="stop"]')
    second = _captures(account, 2)[0]
    assert second["id"] != first["id"]
    assert second["manifest"]["context"]["call"] == {"method": "second_device"}
    assert second["manifest"]["context"]["notice"] == ctx["notice"]  # acknowledged once

    # the detail view says what the signed manifest says of the call
    page.click('[data-testid="nav-list"]')
    page.click(f'[data-testid="capture-item"][data-id="{first["id"]}"]')
    card = page.wait_for_selector('[data-testid="context"]')
    said = card.inner_text()
    for words in ("电话通话", "免提，由本机录音", "+8613800000000", "已于"):
        assert words in said, said

    # the notice can be read again, with when it was acknowledged
    _mode(page, "call")
    page.click('[data-testid="notice-again"]')
    page.wait_for_selector('[data-testid="notice"][open]')
    assert "你已于" in page.inner_text('[data-testid="notice"]')
    assert not page.is_visible('[data-testid="notice-ok"]')
    page.click('[data-testid="notice-cancel"]')
    page.wait_for_selector('[data-testid="notice"]', state="hidden")


def test_call_import_time_flagged(zh_page: Page, account: Account, tmp_path: Path) -> None:
    page = zh_page
    m4a = _m4a(tmp_path / "通话录音 13800000000.m4a", "2026-01-01T10:00:00.000000Z")
    _mode(page, "call")
    _choose(page, "calls-way-import")
    for brand in ("xiaomi", "oppo", "vivo", "iphone", "other"):  # where each keeps its files
        _choose(page, f"calls-brand-{brand}")
        assert page.inner_text('[data-testid="calls-where"]').strip()
        no_english(page)
    _choose(page, "calls-brand-huawei")
    assert "Sounds/CallRecord" in page.inner_text('[data-testid="calls-where"]')
    no_english(page)
    shot(page, "04-call-import-form")
    page.set_input_files('[data-testid="calls-file"]', str(m4a))
    page.fill('[data-testid="calls-party"]', "13800000000")
    page.select_option('[data-testid="calls-direction"]', "outgoing")
    # two days after the file's own time, in the phone's zone (UTC+08:00)
    page.fill('[data-testid="calls-time"]', "2026-01-03T18:00")
    page.locator('[data-testid="calls-import-submit"]').scroll_into_view_if_needed()
    shot(page, "04b-call-import-filled")
    page.click('[data-testid="calls-import-submit"]')
    page.wait_for_selector('[data-testid="notice"][open]')  # the first call of this phone
    page.click('[data-testid="notice-ok"]')
    check = page.wait_for_selector('[data-testid="calls-time-check"]', timeout=60_000)
    assert check is not None
    assert check.get_attribute("data-ok") == "false"
    assert check.get_attribute("data-code") == "call_time.mismatch"
    said = check.inner_text()
    assert "时间对不上" in said and "2 天" in said, said
    no_english(page)
    shot(page, "05-call-import-flagged")

    (capture,) = _captures(account, 1)
    assert capture["kind"] == "import"
    call = capture["manifest"]["context"]["call"]
    assert call == {"method": "dialer_import", "party": "13800000000", "direction": "outgoing",
                    "started_at": "2026-01-03T10:00:00.000Z", "brand": "huawei"}
    checks = {c["name"]: c for c in capture["checks"]}
    assert checks["call_time"]["ok"] is False
    assert checks["call_time"]["code"] == "call_time.mismatch"
    assert checks["call_time"]["params"]["diff_s"] == -2 * 86400
    # the detail opens from the result
    page.click('[data-testid="calls-open"]')
    page.wait_for_function(f"location.hash.includes({json.dumps(capture['id'])})")


# -- meetings -------------------------------------------------------------------------------------

@pytest.fixture
def desktop(playwright: Playwright) -> Iterator[Browser]:
    """Chromium as on a desktop, sharing a real tab: the tab titled "Meeting tone" is
    picked by the flag, its sound is captured (Playwright's default --mute-audio would
    silence it), and the microphone is Chromium's fake device. No fake picker
    (--use-fake-ui-for-media-stream would share a fake screen with a fake sound)."""
    flags = [f for f in FLAGS if f != "--use-fake-ui-for-media-stream"
             and not f.startswith("--auto-select-desktop-capture-source")]
    b = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, ignore_default_args=["--mute-audio"],
        args=[*flags, "--auto-select-tab-capture-source-by-title=Meeting tone",
              "--autoplay-policy=no-user-gesture-required"])
    yield b
    b.close()


TONE_PAGE = f"""<!doctype html><title>Meeting tone</title><body>a meeting<script>
const ac = new AudioContext(); const o = ac.createOscillator(); o.frequency.value = {TONE_HZ};
const g = ac.createGain(); g.gain.value = 0.5; o.connect(g).connect(ac.destination); o.start();
</script></body>"""


def test_meeting_two_channels(desktop: Browser, server: LiveServer, account: Account,
                              tmp_path: Path) -> None:
    ctx = desktop.new_context(viewport={"width": 1280, "height": 800}, geolocation=GEO,
                              permissions=["geolocation", "microphone"], locale="en-US",
                              bypass_csp=True)
    try:
        meeting = ctx.new_page()
        meeting.set_content(TONE_PAGE)
        meeting.wait_for_function("ac.state === 'running'")
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        sign_in(page, server, account)
        _mode(page, "meeting")
        assert page.get_attribute('[data-testid="meeting-panel"]', "data-display") == "true"
        page.click('[data-testid="record"]')
        page.click('[data-testid="notice-ok"]')
        page.wait_for_selector('[data-testid="stop"]:visible')
        _recorded(page, 4)
        page.click('[data-testid="stop"]')
        (audio,) = _captures(account, 1)
        assert audio["kind"] == "audio"
        assert audio["manifest"]["context"]["meeting"] == {
            "tracks": [{"index": 0, "source": "display"}, {"index": 1, "source": "microphone"}],
            "video": False}
        f = tmp_path / "meeting.webm"
        f.write_bytes(account.original(audio["id"]))
        streams = _probe(f)
        assert [(s["codec_type"], s["codec_name"], s["channels"]) for s in streams] == \
            [("audio", "opus", 2)], streams
        pcm = _channels(f)[48000 // 2:]  # past the first half second
        rms = np.sqrt((pcm ** 2).mean(axis=0))
        assert rms[0] > 0.05 and rms[1] > 0.01, rms  # both channels carry sound
        assert abs(_dominant_hz(pcm[:, 0]) - TONE_HZ) < 15  # left: the shared tab
        assert abs(_dominant_hz(pcm[:, 1]) - TONE_HZ) > 100  # right: the microphone's beep

        # with the picture: a 'screen' recording, the stereo sound alongside the video
        _mode(page, "meeting")
        page.check('[data-testid="meeting-video"]')
        page.click('[data-testid="record"]')
        page.wait_for_selector('[data-testid="stop"]:visible')
        _recorded(page, 3)
        page.click('[data-testid="stop"]')
        video = _captures(account, 2)[0]
        assert video["kind"] == "screen"
        assert video["manifest"]["context"]["meeting"]["video"] is True
        g = tmp_path / "meeting-video.webm"
        g.write_bytes(account.original(video["id"]))
        kinds = sorted((s["codec_type"], s.get("channels")) for s in _probe(g))
        assert kinds == [("audio", 2), ("video", None)], kinds
    finally:
        ctx.close()


def test_meeting_on_a_phone_records_the_microphone(browser: Browser, playwright: Playwright,
                                                   server: LiveServer, account: Account) -> None:
    ctx = _phone_context(browser, playwright, no_display=True)
    try:
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        sign_in(page, server, account)
        page.set_viewport_size(PHONE)
        assert page.evaluate("!('getDisplayMedia' in navigator.mediaDevices)")
        _mode(page, "meeting")
        assert page.get_attribute('[data-testid="meeting-panel"]', "data-display") == "false"
        assert "外放" in page.inner_text('[data-testid="meeting-panel"]')
        no_english(page)
        shot(page, "06-meeting-phone")
        page.click('[data-testid="record"]')
        page.click('[data-testid="notice-ok"]')
        page.wait_for_selector('[data-testid="stop"]:visible')
        _recorded(page, 3)
        page.click('[data-testid="stop"]')
        (capture,) = _captures(account, 1)
        assert capture["kind"] == "audio"
        assert capture["manifest"]["context"]["type"] == "meeting"
        assert capture["manifest"]["context"]["meeting"] == {
            "tracks": [{"index": 0, "source": "microphone"}], "video": False}
    finally:
        ctx.close()


# -- sharing into the app -------------------------------------------------------------------------

SHARE = """(fields) => {
    const f = document.createElement('form');
    f.method = 'post'; f.action = '/share-target'; f.enctype = 'multipart/form-data';
    for (const [name, value] of Object.entries(fields)) {
        const i = document.createElement('input'); i.name = name; i.value = value; f.append(i);
    }
    const file = document.createElement('input'); file.type = 'file'; file.name = 'media';
    file.id = 'share-file'; f.append(file);
    document.body.append(f); return true;
}"""


def _share(page: Page, fields: dict[str, str], file: Path | None) -> None:
    """What Android does for a Web Share Target: a POST navigation to the action URL."""
    page.evaluate(SHARE, fields)
    if file:
        page.set_input_files("#share-file", str(file))
    with page.expect_navigation():
        page.evaluate("document.querySelector('form[action=\"/share-target\"]').submit()")
    page.wait_for_function("window.fieldproofReady === true")


def test_shared_files_and_links(zh_page: Page, account: Account, tmp_path: Path) -> None:
    page = zh_page
    service_worker_ready(page)
    m4a = _m4a(tmp_path / "call_rec_20260101.m4a", "2026-01-01T10:00:00.000000Z")
    _share(page, {}, m4a)
    assert page.evaluate("location.hash") == "#/capture/import"
    box = page.wait_for_selector('[data-testid="shared-files"]:visible')
    assert box is not None and "call_rec_20260101.m4a" in box.inner_text()
    assert "这是通话录音吗" in box.inner_text()
    no_english(page)
    shot(page, "07-shared-file")
    page.click('[data-testid="shared-call"]')
    page.wait_for_selector('[data-testid="mode-call"][aria-pressed="true"]')
    assert "call_rec_20260101.m4a" in page.inner_text('[data-testid="calls-file-line"]')
    page.fill('[data-testid="calls-time"]', "2026-01-01T18:05")  # 5 min after the file's time
    page.click('[data-testid="calls-import-submit"]')
    page.click('[data-testid="notice-ok"]')
    check = page.wait_for_selector('[data-testid="calls-time-check"]', timeout=60_000)
    assert check is not None and check.get_attribute("data-ok") == "true", check
    assert check.get_attribute("data-code") == "call_time.match"
    shot(page, "08-shared-call-matched")
    (capture,) = _captures(account, 1)
    assert capture["media"]["size"] == m4a.stat().st_size
    assert capture["manifest"]["context"]["call"]["started_at"] == "2026-01-01T10:05:00.000Z"

    # an image shared: imported as it is, the call question not asked
    png = tmp_path / "photo.png"
    png.write_bytes(Path(ROOT / "pwa" / "public" / "icons" / "icon-192.png").read_bytes())
    _share(page, {}, png)
    page.wait_for_selector('[data-testid="shared-files"]:visible')
    assert not page.is_visible('[data-testid="shared-call"]')
    page.click('[data-testid="shared-import"]')
    page.wait_for_function("location.hash === '#/list'")
    second = _captures(account, 2)[0]
    assert second["kind"] == "import" and "context" not in second["manifest"]

    # a shared link still opens the web capture form, filled in
    _share(page, {"share_text": "看看这个 https://example.org/post/1 来自某应用"}, None)
    page.wait_for_function("location.hash === '#/capture/web'")
    assert page.input_value('[data-testid="web-url"]') == "https://example.org/post/1"
