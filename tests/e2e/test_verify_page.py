"""The public verification page (/verify), end to end, signed out, under the real CSP.

A capture is made with the Python client against a live server, anchored and
exported. The page, opened in headless Chromium without an account, checks the
bundle (every check passes, the timestamp explained by the server), a copy with
one flipped media byte (the precise failure), and the original file (the
lookup finds it). Every request the browser makes is recorded: no file bytes
leave it, only a hash, a timestamp token and the checkpoint text.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Request

from fieldproof.client.api import Client, DeviceKeyFile
from tests.support.browser import PASSWORD, Account, set_lang, sign_in
from tests.support.live import LiveServer

MEDIA_BYTES = 24 * 1024 * 1024  # several 4 MiB slices; large enough to time the hashing
SAMPLE = 48  # bytes of the files looked for in request bodies
BUNDLE_CHECKS = {"SHA256SUMS", "manifest", "device_key", "signature", "log_entry", "media",
                 "log_key", "checkpoint", "inclusion", "timestamp", "custody"}


@dataclass
class Evidence:
    account: Account
    original: Path
    bundle: Path
    capture: dict[str, Any]
    receipt: dict[str, Any]
    media_name: str


@pytest.fixture(scope="module")
def evidence(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Evidence:
    tmp = tmp_path_factory.mktemp("verify-page")
    email = f"verify-page-{time.monotonic_ns() % 10**8}@example.org"
    token = server.create_user(email, PASSWORD)
    api = Client(server.url, token)
    key = DeviceKeyFile.load_or_create(tmp / "device.pem", create=True)
    api.enroll(key)
    original = tmp / "site-survey.bin"
    original.write_bytes(os.urandom(MEDIA_BYTES))
    capture = api.capture_file(key, original, kind="import")
    deadline = time.monotonic() + 20
    while api.capture(capture["id"])["status"] != "anchored":
        assert time.monotonic() < deadline, "the capture was not anchored in 20 s"
        time.sleep(0.2)
    receipt = api.receipt(capture["id"])
    bundle = tmp / "evidence.zip"
    api.export(capture["id"], bundle)
    with zipfile.ZipFile(bundle) as zf:
        [media_name] = [n for n in zf.namelist() if n.startswith("media/")]
    api.close()
    return Evidence(Account(email, token, server), original, bundle, capture, receipt,
                    media_name)


@pytest.fixture
def public(browser: Browser, playwright: Playwright) -> Iterator[BrowserContext]:
    """A phone-sized context with no session and the server's CSP in force."""
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    ctx = browser.new_context(**device, locale="en-US")
    yield ctx
    ctx.close()


def _samples(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return [data[i:i + SAMPLE] for i in (0, len(data) // 3, len(data) // 2, len(data) - SAMPLE)]


def _flip_media_byte(bundle: Path, media_name: str, out: Path) -> None:
    shutil.copyfile(bundle, out)
    with zipfile.ZipFile(bundle) as zf:
        info = zf.getinfo(media_name)
    with out.open("r+b") as fh:
        fh.seek(info.header_offset)
        head = fh.read(30)
        name_len, extra_len = struct.unpack("<HH", head[26:30])
        at = info.header_offset + 30 + name_len + extra_len + info.file_size // 2
        fh.seek(at)
        byte = fh.read(1)[0]
        fh.seek(at)
        fh.write(bytes([byte ^ 0x01]))


def _checks(page: Page) -> list[tuple[str, str, str]]:
    return [(li.get_attribute("data-name") or "", li.get_attribute("data-status") or "",
             li.query_selector('[data-testid="check-detail"]').inner_text())  # type: ignore[union-attr]
            for li in page.query_selector_all('[data-testid="check"]')]


def test_verify_page_checks_bundles_and_files_without_uploading_them(
        public: BrowserContext, server: LiveServer, evidence: Evidence,
        tmp_path: Path) -> None:
    sent: list[Request] = []
    public.on("request", lambda r: sent.append(r))
    page = public.new_page()
    page.set_default_timeout(30_000)
    page.goto(server.url + "/verify")
    page.wait_for_selector('[data-testid="dropzone"]')
    assert page.is_hidden('[data-testid="nav-capture"]'), "the page must work signed out"
    assert page.is_visible('label[for="bundle-input"]') and page.is_visible(
        'label[for="file-input"]')
    sha = evidence.capture["media"]["sha256"]

    # 1. The bundle: every check passes, the timestamp explained by the server.
    page.set_input_files('[data-testid="bundle-input"]', str(evidence.bundle))
    result = page.wait_for_selector('[data-testid="verify-result"]')
    checks = _checks(page)
    assert result.get_attribute("data-ok") == "true", checks  # type: ignore[union-attr]
    # every check passes; the certificate PDF and SHA256SUMS.p7s get a note (their PAdES
    # and CMS signatures are the CLI's, or openssl's)
    assert all(status == "pass" or (name, status) in (("certificate", "info"),
                                                       ("sums_signature", "info"))
               for name, status, _ in checks), checks
    assert {name for name, _, _ in checks} >= BUNDLE_CHECKS
    media = next(d for n, _, d in checks if n == "media")
    assert f"{evidence.media_name}: {MEDIA_BYTES:,} bytes, SHA-256 {sha}" in media
    stamp = page.query_selector('[data-testid="check"][data-name="timestamp"]')
    assert stamp is not None
    stamp_text = stamp.inner_text()
    assert "time-stamped checkpoint.txt at" in stamp_text
    assert "Embedded TSA: this server's own timestamp authority, not an independent witness" \
        in stamp_text
    steps = [s.get_attribute("data-step") for s in stamp.query_selector_all("[data-step]")]
    assert steps == ["parse", "status", "tsa", "gen_time", "policy", "hash_algorithm",
                     "message_imprint", "signer_certificate", "chain", "signature",
                     "independence"]
    # each step is worded by the page, in the reader's language (the server sends codes)
    independence = '[data-name="timestamp"] [data-step="independence"] .check-detail'
    imprint = '[data-name="timestamp"] [data-step="message_imprint"] .check-detail'
    assert page.text_content(independence) == "this server's own TSA, not an independent witness"
    assert "as the token says" in (page.text_content(imprint) or "")
    assert page.inner_text('[data-testid="media-sha256"]') == sha
    speed = page.query_selector('[data-testid="hash-speed"]')
    assert speed is not None and speed.get_attribute("data-bytes") == str(MEDIA_BYTES)
    ms = int(speed.get_attribute("data-ms") or 0)
    print(f"\nmedia hashed in Chromium: {MEDIA_BYTES / 1e6:.1f} MB in {ms} ms = "
          f"{MEDIA_BYTES / 1e3 / max(ms, 1):.0f} MB/s")
    # the page relabels in Chinese
    set_lang(page, "zh-CN")  # waits for the language to load: the relabel follows it
    page.wait_for_function("document.querySelector('[data-testid=\"verify-result\"]')"
                           "?.innerText.includes('项检查通过')")
    assert page.text_content(independence) == "本服务器自己的时间戳机构，不是独立见证方"
    assert "与令牌一致" in (page.text_content(imprint) or "")
    page.click('[data-name="timestamp"] details.steps summary')
    page.locator(independence).scroll_into_view_if_needed()
    shots = Path(__file__).parents[2] / "screenshots" / "verify"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "timestamp-steps-zh.png"))
    set_lang(page, "en")

    # 2. One flipped byte of the media: the precise failures.
    tampered = tmp_path / "tampered.zip"
    _flip_media_byte(evidence.bundle, evidence.media_name, tampered)
    page.set_input_files('[data-testid="bundle-input"]', str(tampered))
    result = page.wait_for_selector('[data-testid="verify-result"][data-ok="false"]')
    assert result.get_attribute("data-failed") == "2"  # type: ignore[union-attr]
    failed = [(n, d) for n, s, d in _checks(page) if s == "fail"]
    assert failed[0] == ("SHA256SUMS",
                         f"{evidence.media_name}: SHA-256 differs from SHA256SUMS")
    name, detail = failed[1]
    assert name == "media"
    assert detail.startswith(f"{evidence.media_name} hashes to ")
    assert detail.endswith(f", the manifest says {sha}")
    assert hashlib.sha256(b"").hexdigest() not in detail
    assert page.inner_text('[data-testid="verify-result"]') == "2 checks FAILED."

    # 3. The original file: hashed here, only the hash sent; the lookup finds it.
    page.set_input_files('[data-testid="file-input"]', str(evidence.original))
    found = page.wait_for_selector('[data-testid="lookup-result"]')
    assert found.get_attribute("data-found") == "true"  # type: ignore[union-attr]
    assert page.inner_text('[data-testid="lookup-sha256"]') == sha
    [match] = page.query_selector_all('[data-testid="lookup-match"]')
    assert match.get_attribute("data-anchored") == "true"
    assert match.get_attribute("data-leaf") == str(evidence.receipt["leaf_index"])
    stamps = [s.inner_text() for s in page.query_selector_all('[data-testid="lookup-stamp"]')]
    assert stamps and "embedded" in stamps[0]
    assert evidence.capture["id"] not in page.inner_text('[data-testid="verify-out"]')

    # 4. A file the server never saw, dropped on the page: not found.
    page.evaluate("""() => {
        const dt = new DataTransfer();
        dt.items.add(new File([new TextEncoder().encode('never captured ' + Math.random())],
                              'unknown.txt'));
        document.querySelector('[data-testid="dropzone"]')
            .dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true,
                                                  cancelable: true}));
    }""")
    missing = page.wait_for_selector('[data-testid="lookup-result"][data-found="false"]')
    assert missing is not None

    # 5. Nothing of the files left the browser: small JSON bodies to two endpoints only.
    samples = _samples(evidence.original) + _samples(evidence.bundle)
    posts = [r for r in sent if r.method != "GET"]
    total = 0
    for r in sent:
        body = r.post_data_buffer or b""
        total += len(body)
        assert len(body) < 16 * 1024, (r.url, len(body))
        assert not any(s in body for s in samples), r.url
        assert "authorization" not in {k.lower() for k in r.headers}
    assert total < 32 * 1024
    paths = sorted({r.url.removeprefix(server.url) for r in posts})
    assert paths == ["/api/v1/lookup", "/api/v1/verify/timestamp"], paths
    for r in posts:
        body = json.loads(r.post_data_buffer or b"{}")
        keys = set(body)
        assert keys in ({"sha256"}, {"token_b64", "checkpoint"}), keys
    lookups = [json.loads(r.post_data_buffer or b"{}")["sha256"] for r in posts
               if r.url.endswith("/lookup")]
    assert lookups[0] == sha and len(lookups) == 2


def test_receipt_check_signed_in_and_the_hint_signed_out(
        context: BrowserContext, public: BrowserContext, server: LiveServer,
        evidence: Evidence) -> None:
    # what the certificate's QR code holds
    url = (f"{server.url}/verify?capture={evidence.capture['id']}"
           f"&sha256={evidence.capture['media']['sha256']}")
    # signed out (someone scanned the certificate): the answer first, in one sentence,
    # on the first screen; nobody is asked to sign in
    page = public.new_page()
    page.goto(url)
    verdict = page.wait_for_selector('[data-testid="verify-lead"] [data-testid="verdict"]')
    page.wait_for_function(
        "document.querySelector('[data-testid=\"verify-lead\"] .verdict')?.textContent")
    text = verdict.inner_text()
    assert "exact file was received by this server" in text and "time-stamped" in text, text
    box = verdict.bounding_box()
    assert box is not None and box["y"] + box["height"] <= page.viewport_size["height"], box
    assert "sign in" not in page.inner_text("body").lower()
    assert not page.is_visible(".verify-receipt")
    assert page.is_visible('[data-testid="dropzone"]')
    # and in Chinese
    set_lang(page, "zh-CN")
    assert "完全相同" in page.inner_text('[data-testid="verify-lead"] [data-testid="verdict"]')
    # signed in as the owner: leaf hash, inclusion proof and checkpoint signature, in this browser
    owner = context.new_page()
    owner.set_default_timeout(30_000)
    sign_in(owner, server, evidence.account)
    owner.goto(url)
    owner.wait_for_selector(".verify-receipt ul.checks")
    lines = [li.get_attribute("class") for li in
             owner.query_selector_all(".verify-receipt ul.checks li")]
    assert lines == ["ok", "ok", "ok"], owner.inner_text(".verify-receipt")
    assert evidence.capture["media"]["sha256"] in owner.inner_text(".verify-receipt")
