"""Issue 11's whole journey, as a worker in a wage dispute and a judge would walk it,
on a phone (412×915), in zh-CN and again in English: sign up with an invitation, photograph, record
audio, title both, make a case, add both with what they prove, download the
evidence list, share the case, open the link signed out in a fresh browser and
see the previews and the verdict, download a bundle there and verify it with
`fieldproof verify`, revoke the link, and the link is gone.

Each step's screenshot is saved under screenshots/journey-<lang>/ (NN-step.png)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright

from tests.support.browser import GEO, PASSWORD, camera_ready, english_words
from tests.support.live import LiveServer, run_cli
from tests.support.paths import ROOT

PHONE = {"width": 412, "height": 915}
TITLES = ("王师傅承诺工资的现场照片", "王师傅承诺支付8600元工资的录音")
CASE = "张三诉某建筑公司拖欠工资"
PURPOSES = ("证明双方在工地见面的时间和地点", "证明王师傅承诺支付8600元工资")


def _phone(browser: Browser, playwright: Playwright, lang: str, *, signed_out: bool = False
           ) -> BrowserContext:
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    device["viewport"] = PHONE
    return browser.new_context(
        **device, locale=lang, timezone_id="Asia/Shanghai", accept_downloads=True,
        **({} if signed_out else {
            "geolocation": GEO, "permissions": ["geolocation", "camera", "microphone"]}),
        bypass_csp=True)  # Playwright's wait predicates use eval(), which the CSP forbids


# What each language must say (the sentences come from shared/i18n/server.json).
WORDS = {
    "zh-CN": {"photo": "照片", "place": "上海", "unchanged": "未被改动", "sign_in": "登录"},
    "en": {"photo": "Photo", "place": "Shanghai", "unchanged": "Unchanged", "sign_in": "sign in"},
}


class Steps:
    def __init__(self, shots: Path) -> None:
        self.n = 0
        self.shots = shots

    def shot(self, page: Page, name: str, *, full: bool = False) -> None:
        """The screen as the phone shows it, from the top; ``full``: the whole scrolled
        view (the app scrolls inside <main>, so the viewport is made that tall)."""
        self.n += 1
        page.evaluate("document.querySelector('main')?.scrollTo(0, 0)")
        height = PHONE["height"]
        if full:
            height = max(height, page.evaluate(
                "innerHeight - (document.querySelector('main')?.clientHeight ?? 0)"
                " + (document.querySelector('main')?.scrollHeight ?? 0)"))
            page.set_viewport_size({"width": PHONE["width"], "height": min(height, 8000)})
        page.screenshot(path=str(self.shots / f"{self.n:02d}-{name}.png"))
        if full:
            page.set_viewport_size(PHONE)


def _no_english(page: Page, where: str, lang: str) -> None:
    if lang != "zh-CN":
        return
    left = english_words(page)
    assert not left, f"English in the Chinese {where}: {left}"


def _anchored_rows(page: Page, n: int) -> list[str]:
    page.click('[data-testid="nav-list"]')
    sel = '[data-testid="capture-item"][data-status="anchored"]'
    page.wait_for_function(f"document.querySelectorAll('{sel}').length >= {n}", timeout=60_000)
    return [str(e.get_attribute("data-id")) for e in page.query_selector_all(sel)]


@pytest.fixture
def journey_server(tmp_path: Path) -> Iterator[LiveServer]:
    # the default sign-up mode: invitation only
    from tests.support.browser import DIST

    srv = LiveServer(tmp_path / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.3",
                                            "FIELDPROOF_PWA_DIR": str(DIST),
                                            "FIELDPROOF_OPERATOR_NAME": "某某律师事务所 取证服务",
                                            "FIELDPROOF_OPERATOR_CONTACT": "evidence@example.org"})
    srv.data_dir.mkdir()
    srv.start()
    yield srv
    srv.stop()


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_the_whole_journey(browser: Browser, playwright: Playwright, lang: str,
                           journey_server: LiveServer, tmp_path: Path) -> None:
    server = journey_server
    shots = ROOT / "screenshots" / f"journey-{lang}"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    steps = Steps(shots)
    words = WORDS[lang]
    ctx = _phone(browser, playwright, lang)
    page = ctx.new_page()
    page.set_default_timeout(30_000)

    # 1. sign up, with the operator's invitation
    email = f"worker-{time.monotonic_ns() % 10**8}@example.org"
    out = run_cli("admin", "invite", email, "--data-dir", str(server.data_dir), env=server.env)
    assert out.returncode == 0, out.stderr
    invite = re.search(r"invite=([\w-]+)", out.stdout)
    assert invite, out.stdout
    page.goto(f"{server.url}/#/signup?invite={invite.group(1)}")
    page.wait_for_function("window.fieldproofReady === true")
    assert page.evaluate("document.documentElement.lang") == lang
    page.fill('[data-testid="signup-email"]', email)
    page.fill('[data-testid="signup-password"]', PASSWORD)
    page.fill('[data-testid="signup-again"]', PASSWORD)
    steps.shot(page, "signup")
    _no_english(page, "sign-up page", lang)
    page.click('[data-testid="signup-submit"]')
    page.wait_for_selector('[data-testid="nav-capture"]')

    # 2. photograph
    page.click('[data-testid="mode-photo"]')
    camera_ready(page)
    steps.shot(page, "photo")
    page.click('[data-testid="shutter"]')
    photo_id = _anchored_rows(page, 1)[0]

    # 3. record audio (long enough for several one-second chunks)
    page.click('[data-testid="nav-capture"]')
    page.click('[data-testid="mode-audio"]')
    page.click('[data-testid="record"]')
    page.wait_for_function(  # four seconds recorded, by the screen's own clock
        "(document.querySelector('.recorder .timer, [role=timer]')?.textContent ?? '') >= '00:04'")
    steps.shot(page, "recording")
    page.click('[data-testid="stop"]')
    ids = _anchored_rows(page, 2)
    audio_id = next(i for i in ids if i != photo_id)
    page.wait_for_function(  # thumbnails: the photo and the waveform
        "document.querySelectorAll('[data-testid=\"capture-item\"] img[data-testid=\"thumb\"]')"
        ".length >= 2")
    steps.shot(page, "list")
    _no_english(page, "list", lang)

    # 4. title both, in the capture's own page
    for cid, title in zip((photo_id, audio_id), TITLES, strict=True):
        page.click('[data-testid="nav-list"]')
        page.click(f'[data-testid="capture-item"][data-id="{cid}"]')
        page.wait_for_selector('[data-testid="verdict"]')
        page.wait_for_selector('[data-testid="annot-title"]')
        page.wait_for_selector('[data-testid="custody"]', state="attached")  # loaded
        page.fill('[data-testid="annot-title"]', title)
        # what was typed is still there when saving: no render may have replaced it
        assert page.input_value('[data-testid="annot-title"]') == title
        page.click('[data-testid="annot-save"]')
        page.wait_for_function(
            "t => document.querySelector('[data-testid=\"detail-title\"]')?.textContent === t",
            arg=title)
        if cid == photo_id:
            page.wait_for_selector('[data-testid="media-image"]')
            verdict = page.inner_text('[data-testid="verdict"]')
            assert words["photo"] in verdict and words["place"] in verdict, verdict
            assert "UTC+08:00" in verdict, verdict
            steps.shot(page, "photo-detail")
            _no_english(page, "capture detail", lang)
    steps.shot(page, "audio-detail")

    # 5. make a case
    page.click('[data-testid="nav-cases"]')
    page.click('[data-testid="case-new"] summary')
    page.fill('[data-testid="case-new"] [data-testid="case-title-input"]', CASE)
    page.click('[data-testid="case-new"] [data-testid="party-add"]')
    page.fill('[data-testid="case-new"] [data-testid="party-role"]', "申请人")
    page.fill('[data-testid="case-new"] [data-testid="party-name"]', "张三")
    steps.shot(page, "new-case")
    page.click('[data-testid="case-new"] [data-testid="case-save"]')
    page.wait_for_selector('[data-testid="case-title"]')
    case_id = page.evaluate("location.hash.split('/')[2]")

    # 6. add both, with what each proves
    page.click('[data-testid="case-add"] summary')
    for cid in (photo_id, audio_id):
        page.check(f'[data-testid="pick"][value="{cid}"]')
    page.click('[data-testid="pick-add"]')
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=\"case-entry\"]').length === 2")
    for cid, purpose in zip((photo_id, audio_id), PURPOSES, strict=True):
        box = f'[data-testid="case-entry"][data-capture="{cid}"] [data-testid="item-purpose"]'
        page.fill(box, purpose)
        page.dispatch_event(box, "change")
        page.wait_for_function(
            "([s, p]) => document.querySelector(s)?.value === p", arg=[box, purpose])
    # the arrows reorder the list (and put it back)
    order = "() => [...document.querySelectorAll('[data-testid=\"case-entry\"]')]" \
            ".map(e => e.dataset.capture).join()"
    page.click(f'[data-testid="case-entry"][data-capture="{photo_id}"] [data-testid="item-down"]')
    page.wait_for_function(f"({order})() === '{audio_id},{photo_id}'")
    page.click(f'[data-testid="case-entry"][data-capture="{photo_id}"] [data-testid="item-up"]')
    page.wait_for_function(f"({order})() === '{photo_id},{audio_id}'")
    login = httpx.post(f"{server.url}/api/v1/auth/login", timeout=30,
                       json={"email": email, "password": PASSWORD})
    api = httpx.Client(base_url=f"{server.url}/api/v1", timeout=30,
                       headers={"Authorization": f"Bearer {login.json()['token']}"})
    deadline = time.monotonic() + 30
    while True:  # the purposes reached the server
        items = api.get(f"/cases/{case_id}").json()["items"]
        if [i["purpose"] for i in items] == list(PURPOSES) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [(i["capture_id"], i["purpose"]) for i in items] == list(
        zip((photo_id, audio_id), PURPOSES, strict=True))
    assert [api.get(f"/captures/{c}").json()["title"] for c in (photo_id, audio_id)] == list(
        TITLES)
    steps.shot(page, "case", full=True)
    _no_english(page, "case page", lang)

    # 7. download the evidence list
    with page.expect_download() as dl:
        page.click('[data-testid="evidence-list"]')
    pdf = tmp_path / "evidence-list.pdf"
    dl.value.save_as(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert "证据目录" in flat and all(re.sub(r"\s+", "", p) in flat for p in PURPOSES), text[:2000]
    sig = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True)
    assert "Signature is Valid" in sig.stdout, sig.stdout
    steps.n += 1  # its first page, as the court sees it
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(pdf),
                    str(shots / f"{steps.n:02d}-evidence-list")], check=True)

    # 8. share the case: for the court, downloads allowed
    page.click('[data-testid="case-share"] summary')
    page.fill('[data-testid="case-share"] [data-testid="link-label"]', "某区人民法院 王法官")
    page.check('[data-testid="case-share"] [data-testid="link-download"]')
    page.click('[data-testid="case-share"] [data-testid="link-create"]')
    url = page.input_value('[data-testid="link-url"]')
    assert url.startswith(f"{server.url}/s/"), url
    steps.shot(page, "shared")

    # 9. the link in a fresh, signed-out browser: previews and the verdict first
    judge_ctx = _phone(browser, playwright, lang, signed_out=True)
    judge = judge_ctx.new_page()
    judge.set_default_timeout(30_000)
    judge.goto(url)
    judge.wait_for_selector('[data-testid="share-page"]')
    judge.wait_for_function(
        "document.querySelectorAll('[data-testid=\"shared-item\"]').length === 2")
    judge.wait_for_selector('[data-testid="shared-image"]')
    judge.wait_for_function(  # the picture has loaded
        "document.querySelector('[data-testid=\"shared-image\"]')?.naturalWidth > 0")
    verdicts = judge.locator('[data-testid="verdict"]').all_inner_texts()
    assert len(verdicts) == 2 and all(words["unchanged"] in v for v in verdicts), verdicts
    body = judge.inner_text("body")
    assert words["sign_in"] not in body.lower(), "the share page must not ask anyone to sign in"
    assert all(t in body for t in TITLES) and all(p in body for p in PURPOSES)
    steps.shot(judge, "share-page")
    steps.shot(judge, "share-page-full", full=True)
    _no_english(judge, "share page", lang)

    # 10. download a bundle there and verify it
    with judge.expect_download() as dl:
        judge.locator('[data-testid="shared-bundle"]').first.click()
    bundle = tmp_path / "bundle.zip"
    dl.value.save_as(bundle)
    verified = run_cli("verify", str(bundle))
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "PASS" in verified.stdout

    # 11. revoke the link: it is gone
    page.once("dialog", lambda d: d.accept())  # "revoke this link?"
    page.click('[data-testid="case-share"] [data-testid="link-revoke"]')
    page.wait_for_selector('[data-testid="link"][data-revoked="true"]')
    steps.shot(page, "revoked")
    judge.reload()
    judge.wait_for_selector('[data-testid="share-error"]')
    steps.shot(judge, "share-gone")
    _no_english(judge, "share page after revocation", lang)
    share_token = url.rsplit("/", 1)[1]
    assert httpx.get(f"{server.url}/api/v1/s/{share_token}", timeout=10).status_code == 404
    # what the judge read is in the chain of custody, naming the link, not a person
    events = api.get(f"/captures/{photo_id}/custody").json()["events"]
    assert any(isinstance(e["actor"], dict) and e["actor"].get("share") for e in events), events
    judge_ctx.close()
    ctx.close()
