"""The phone as a witness (issue 12): an operator who holds every key of the server
rewrites the log's history, and the phone that saw the old history says so, loudly,
in the reader's language, and keeps both signed checkpoints as evidence.

The rewrite is what an operator can do: stop the server, start one with the same
keys (log key, server CA, embedded TSA) on the same address but another history.
Every checkpoint it serves is validly signed; only a witness that remembers can
tell."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
from playwright.sync_api import Browser, Playwright

from fieldproof.client.api import Client, DeviceKeyFile
from tests.support.browser import (
    DIST,
    GEO,
    PASSWORD,
    Account,
    camera_ready,
    newest_item,
    set_lang,
    sign_in,
)
from tests.support.live import LiveServer, free_port
from tests.support.paths import ROOT

SEEN = """() => new Promise(r => { const q = indexedDB.open('fieldproof');
  q.onsuccess = () => { const g = q.result.transaction('kv').objectStore('kv').get(KEY);
    g.onsuccess = () => r(g.result ?? null); g.onerror = () => r(null); };
  q.onerror = () => r(null); })"""


def _kv(page, key: str):  # type: ignore[no-untyped-def]
    return page.evaluate(SEEN.replace("KEY", repr(key)))


def _server(base: Path, port: int) -> LiveServer:
    srv = LiveServer(base / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.3",
                                        "FIELDPROOF_PWA_DIR": str(DIST)}, port=port)
    srv.data_dir.mkdir(parents=True, exist_ok=True)
    return srv


def _size(srv: LiveServer) -> int:
    r = httpx.get(f"{srv.url}/api/v1/log/checkpoint", timeout=10)
    return int(r.text.split("\n")[1]) if r.status_code == 200 else 0  # none yet


def test_a_rewritten_log_raises_the_alarm_on_the_phone(browser: Browser, playwright: Playwright,
                                                       tmp_path: Path) -> None:
    port = free_port()
    honest = _server(tmp_path / "honest", port).start()
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    ctx = browser.new_context(**device, locale="en-US", geolocation=GEO,
                              permissions=["geolocation", "camera", "microphone"],
                              bypass_csp=True)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    try:
        email = "witness@example.org"
        sign_in(page, honest, Account(email, honest.create_user(email, PASSWORD), honest))
        page.click('[data-testid="mode-photo"]')
        camera_ready(page)
        page.click('[data-testid="shutter"]')
        newest_item(page, "anchored")
        # the phone has witnessed a checkpoint with the photo in it
        seen_js = SEEN.replace("KEY", repr("log-witness-seen"))
        page.wait_for_function(f"({seen_js})().then(s => !!s)")
        seen = _kv(page, "log-witness-seen")
        assert seen["size"] >= 1 and not page.is_visible('[data-testid="fork-alarm"]')
        honest.stop()

        # the same keys, the same address, another history (longer, so that only a
        # consistency proof can tell it from the old one)
        rewritten = _server(tmp_path / "rewritten", port)
        shutil.copytree(honest.data_dir / "keys", rewritten.data_dir / "keys")
        rewritten.start()
        try:
            api = Client(rewritten.url, rewritten.create_user("operator@example.org"))
            key = DeviceKeyFile.load_or_create(tmp_path / "forger.pem", create=True)
            api.enroll(key)
            n = 0
            while _size(rewritten) <= seen["size"] + 1:
                f = tmp_path / f"other-{n}.txt"
                f.write_bytes(f"another history {n} {time.monotonic_ns()}".encode())
                api.capture_file(key, f, kind="import")
                n += 1
                deadline = time.monotonic() + 30
                while _size(rewritten) < n and time.monotonic() < deadline:
                    time.sleep(0.1)
            assert rewritten.url == honest.url
            served = httpx.get(f"{rewritten.url}/api/v1/log", timeout=10).json()["vkey"]
            assert served == seen["vkey"], "the rewrite is signed with the honest log's own key"

            page.reload()
            alarm = page.wait_for_selector('[data-testid="fork-alarm"]', state="visible")
            shots = ROOT / "screenshots" / "witness"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "fork-alarm-en.png"))
            text = alarm.inner_text()
            assert "changed its history" in text and "rewritten" in text, text
            assert f"with {seen['size']} entries" in text, text
            forks = _kv(page, "log-witness-forks")
            assert len(forks) == 1 and forks[0]["reason"] == "inconsistent"
            assert forks[0]["old"] == seen["note"]  # the evidence: both signed notes
            # ... the served one: same log, same key, a bigger tree (the log goes on growing)
            new = forks[0]["new"].split("\n")
            assert new[0] == seen["note"].split("\n")[0] and int(new[1]) > seen["size"]
            assert forks[0]["newVkey"] == seen["vkey"]
            assert _kv(page, "log-witness-seen")["note"] == seen["note"]  # not adopted
            # on every screen (here: signed out, the rewritten server knows no such
            # account), in the reader's language, and after another reload
            set_lang(page, "zh-CN")
            assert "改写了历史" in page.inner_text('[data-testid="fork-alarm"]')
            page.screenshot(path=str(shots / "fork-alarm-zh-CN.png"))
            page.reload()
            page.wait_for_selector('[data-testid="fork-alarm"]', state="visible")
        finally:
            rewritten.stop()
    finally:
        ctx.close()
        honest.stop()
