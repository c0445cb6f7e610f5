"""Issue 14's done-when, as a worker with a recorded wage promise would walk it, on a
phone (412×915), in zh-CN and again in English: record speech in the PWA (Chromium's fake microphone
plays espeak-ng's voice), get a machine transcript, correct it in the editor
with one key point, save it signed on the phone; then the exported bundle's
transcript.pdf shows the key point at its time, and `fieldproof verify` passes
with a transcript check that names both versions.

Screenshots: screenshots/transcript-<lang>/NN-step.png."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Playwright

from tests.support.browser import CHROMIUM, FLAGS, GEO, Account, sign_in
from tests.support.live import FIELDPROOF, LiveServer
from tests.support.paths import ROOT
from tests.support.speech import ENGLISH, speech

pytestmark = pytest.mark.e2e
PHONE = {"width": 412, "height": 915}
LABEL = "退押金承诺"


@pytest.fixture(scope="module")
def spoken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Chromium's fake microphone reads a WAV file; %noloop plays it once.
    path, _ = speech(tmp_path_factory.mktemp("speech"), ENGLISH, lead=1.0, tail=6.0,
                     codec="wav")
    return path


@pytest.fixture(scope="module")
def speaking_browser(playwright: Playwright, spoken: Path) -> Iterator[Browser]:
    b = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*FLAGS, f"--use-file-for-fake-audio-capture={spoken}%noloop"])
    yield b
    b.close()


def _shot(page: Page, shots: Path, n: int, name: str) -> None:
    page.screenshot(path=str(shots / f"{n:02d}-{name}.png"))


WORDS = {"zh-CN": {"draft": "机器初稿", "checked": "人工核对", "speaker": "对方"},
         "en": {"draft": "Machine draft", "checked": "Checked version", "speaker": "Other party"}}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_record_transcribe_correct_export_verify(
        speaking_browser: Browser, playwright: Playwright, server: LiveServer,
        account: Account, tmp_path: Path, lang: str) -> None:
    words = WORDS[lang]
    shots = ROOT / "screenshots" / f"transcript-{lang}"
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    device["viewport"] = PHONE
    ctx = speaking_browser.new_context(**device, geolocation=GEO, locale=lang,
                                       timezone_id="Asia/Shanghai",
                                       permissions=["geolocation", "camera", "microphone"],
                                       bypass_csp=True)
    try:
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        assert page.viewport_size == PHONE
        sign_in(page, server, account)

        # 1. record the spoken promise (the file is ~6 s of speech, then silence)
        page.click('[data-testid="nav-capture"]')
        page.click('[data-testid="mode-audio"]')
        page.click('[data-testid="record"]')
        page.wait_for_function(
            "(document.querySelector('.recorder .timer, [role=timer]')?.textContent ?? '')"
            " >= '00:09'", timeout=60_000)
        page.click('[data-testid="stop"]')
        page.click('[data-testid="nav-list"]')
        row = '[data-testid="capture-item"][data-status="anchored"]'
        page.wait_for_selector(row, timeout=60_000)
        cid = page.get_attribute(row, "data-id")
        assert cid
        page.click(row)
        page.wait_for_selector('[data-testid="transcript-panel"]')

        # 2. the machine transcript (a draft, said so)
        page.select_option('[data-testid="transcript-language"]', "en")
        _shot(page, shots, 1, "no-transcript")
        page.click('[data-testid="transcript-start"]')
        page.wait_for_selector('[data-testid="transcript-segment"]', timeout=180_000)
        banner = page.inner_text('[data-testid="transcript-banner"]')
        assert words["draft"] in banner, banner
        texts = page.eval_on_selector_all('[data-testid="transcript-text"]',
                                          "els => els.map(e => e.value)")
        heard = " ".join(texts).lower()
        assert "landlord" in heard and "deposit" in heard, texts
        _shot(page, shots, 2, "machine-draft")

        # 3. corrected by the person: a speaker, a word, one key point
        first = page.locator('[data-testid="transcript-segment"]').first
        first.locator('[data-testid="transcript-speaker"]').fill(words["speaker"])
        box = first.locator('[data-testid="transcript-text"]')
        box.fill(box.input_value().replace("3,000", "3000") + " ")
        first.locator('[data-testid="transcript-keypoint"]').click()
        first.locator('[data-testid="transcript-keypoint-label"]').fill(LABEL)
        _shot(page, shots, 3, "edited")
        page.click('[data-testid="transcript-save"]')
        page.wait_for_selector('[data-testid="transcript-version"][data-version="2"]')
        assert words["checked"] in page.inner_text('[data-testid="transcript-banner"]')
        _shot(page, shots, 4, "saved")
    finally:
        ctx.close()

    # 4. the bundle: transcript.pdf shows the key point at its time; verify names both
    api = httpx.Client(base_url=server.url + "/api/v1",
                       headers={"Authorization": f"Bearer {account.token}"}, timeout=60)
    state = api.get(f"/captures/{cid}/transcript").json()
    assert [v["origin"] for v in state["versions"]] == ["machine", "human"]
    deadline = time.monotonic() + 30
    while api.get(f"/captures/{cid}/transcript").json()["versions"][-1]["leaf_index"] is None:
        assert time.monotonic() < deadline, "the human version never reached the log"
        time.sleep(0.2)
    r = api.get(f"/captures/{cid}/bundle")
    assert r.status_code == 200, r.text[:300]
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(r.content)
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        (tmp_path / "transcript.pdf").write_bytes(zf.read("transcript.pdf"))
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "transcript.pdf"), "-"],
                          check=True, capture_output=True, text=True).stdout
    assert LABEL in text
    doc = json.loads(state["latest"]["document"])
    (point,) = doc["key_points"]
    start = f"{point['start_ms'] // 60000}:{point['start_ms'] // 1000 % 60:02d}"
    assert re.search(rf"{re.escape(start)}\s*[–-]", text), text[:2000]
    sig = subprocess.run(["pdfsig", str(tmp_path / "transcript.pdf")], capture_output=True,
                         text=True)
    assert "Signature is Valid" in sig.stdout, sig.stdout

    out = subprocess.run([FIELDPROOF, "verify", str(bundle)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    line = next(ln for ln in out.stdout.splitlines() if "transcript" in ln.lower()
                and "v1" in ln)
    assert "v1 machine draft" in line and "v2 checked by a person" in line, line
    (shots / "verify.txt").write_text(out.stdout)
