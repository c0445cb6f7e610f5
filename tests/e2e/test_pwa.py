"""The capture PWA, end to end (issue 5's list, one test each)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from playwright.sync_api import BrowserContext, Page

from tests.support.browser import (
    GEO,
    Account,
    camera_ready,
    newest_item,
    service_worker_ready,
    sign_in,
)
from tests.support.live import LiveServer


def _open_mode(page: Page, mode: str) -> None:
    page.click('[data-testid="nav-capture"]')
    page.click(f'[data-testid="mode-{mode}"]')


def _server_capture(account: Account, item: object) -> dict:
    cid = item.get_attribute("data-id")  # type: ignore[attr-defined]
    assert cid, "an anchored row must know its server id"
    return account.api(f"/captures/{cid}")  # type: ignore[no-any-return]


def test_photo_reaches_anchored(page: Page, account: Account) -> None:
    _open_mode(page, "photo")
    camera_ready(page)
    page.click('[data-testid="shutter"]')
    item = newest_item(page, "anchored")
    capture = _server_capture(account, item)
    assert capture["kind"] == "photo" and capture["status"] == "anchored"
    assert capture["media"]["sha256"] == item.get_attribute("data-sha256")
    assert capture["manifest"]["geo"]["lat"] == GEO["latitude"]
    assert {c["name"]: c["ok"] for c in capture["checks"]}["signature"] is True


def test_audio_streamed_byte_identical(page: Page, account: Account) -> None:
    _open_mode(page, "audio")
    page.click('[data-testid="record"]')
    page.wait_for_timeout(5000)
    page.click('[data-testid="stop"]')
    item = newest_item(page, "anchored")
    capture = _server_capture(account, item)
    assert capture["kind"] == "audio" and capture["stream"]["partial"] is False
    assert capture["manifest"]["stream"]["chunks"] >= 4
    original = account.original(capture["id"])
    # what MediaRecorder produced, hashed in the page, is what the server keeps
    assert hashlib.sha256(original).hexdigest() == item.get_attribute("data-sha256")
    assert capture["media"]["sha256"] == item.get_attribute("data-sha256")
    assert capture["manifest"]["geo"]["lat"] == GEO["latitude"]
    assert capture["manifest"]["geo"]["lon"] == GEO["longitude"]


def test_screen_recording(page: Page, account: Account) -> None:
    _open_mode(page, "screen")
    page.click('[data-testid="record"]')
    page.wait_for_timeout(2500)
    page.click('[data-testid="stop"]')
    capture = _server_capture(account, newest_item(page, "anchored"))
    assert capture["kind"] == "screen" and capture["media"]["size"] > 0


def test_import_a_file(page: Page, account: Account, tmp_path: Path) -> None:
    f = tmp_path / "lease-contract.pdf"
    f.write_bytes(b"%PDF-1.4\n% FieldProof e2e\n" + bytes(range(256)) * 40)
    _open_mode(page, "import")
    page.set_input_files('[data-testid="import-input"]', str(f))
    capture = _server_capture(account, newest_item(page, "anchored"))
    assert capture["kind"] == "import"
    assert capture["manifest"]["media"]["name"] == "lease-contract.pdf"
    assert account.original(capture["id"]) == f.read_bytes()


def test_offline_capture_reload_then_sent(page: Page, context: BrowserContext,
                                          account: Account) -> None:
    service_worker_ready(page)
    context.set_offline(True)
    _open_mode(page, "photo")
    camera_ready(page)
    page.click('[data-testid="shutter"]')
    newest_item(page, "queued")
    response = page.reload()
    assert response is not None and response.from_service_worker
    page.wait_for_function("window.fieldproofReady === true")
    newest_item(page, "queued")
    context.set_offline(False)
    capture = _server_capture(account, newest_item(page, "anchored", timeout=60_000))
    assert capture["kind"] == "photo"


def test_killed_page_mid_recording_resumes(context: BrowserContext, server: LiveServer,
                                           account: Account) -> None:
    page = context.new_page()
    sign_in(page, server, account)
    _open_mode(page, "audio")
    page.click('[data-testid="record"]')
    page.wait_for_timeout(3500)
    page.close()  # the tab dies mid-recording
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(server.url + "/")
    page.wait_for_function("window.fieldproofReady === true")
    item = newest_item(page, "anchored", timeout=60_000)
    capture = _server_capture(account, item)
    assert capture["kind"] == "audio" and capture["manifest"]["stream"]["chunks"] >= 2
    assert hashlib.sha256(account.original(capture["id"])).hexdigest() == \
        item.get_attribute("data-sha256")


def test_forged_capture_is_rejected(context: BrowserContext, server: LiveServer,
                                    account: Account) -> None:
    page = context.new_page()
    sign_in(page, server, account, debug=True)
    page.evaluate("window.fieldproofDebug.forgeNextSignature()")
    _open_mode(page, "photo")
    camera_ready(page)
    page.click('[data-testid="shutter"]')
    item = newest_item(page, "rejected")
    reason = item.query_selector('[data-testid="reject-reason"]')
    assert reason is not None and "signature_invalid" in reason.inner_text()
    assert account.api("/captures")["items"] == []


def test_token_renewed_without_losing_queued_captures(page: Page, context: BrowserContext,
                                                      server: LiveServer,
                                                      account: Account) -> None:
    """A token past half its life is renewed when the phone is back online; the
    photo queued offline is sent with the new one."""
    import sqlite3

    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller")
    context.set_offline(True)
    _open_mode(page, "photo")
    page.wait_for_function("document.querySelector('video')?.readyState >= 2")
    page.click('[data-testid="shutter"]')
    newest_item(page, "queued")
    db = sqlite3.connect(server.data_dir / "fieldproof.sqlite3", timeout=30)
    with db:  # the app's token was issued 20 days ago, for 30
        aged = db.execute(
            "UPDATE api_tokens SET created_at = datetime('now', '-20 days'), "
            "expires_at = datetime('now', '+10 days') WHERE label = 'fieldproof-pwa' AND "
            "user_id = (SELECT id FROM users WHERE email = ?)", (account.email,)).rowcount
    assert aged == 1
    context.set_offline(False)
    capture = _server_capture(account, newest_item(page, "anchored", timeout=60_000))
    assert capture["kind"] == "photo"
    rows = db.execute(
        "SELECT label, (julianday(expires_at) - julianday('now')) * 86400 FROM api_tokens "
        "WHERE user_id = (SELECT id FROM users WHERE email = ?) AND label != 'cli' "
        "ORDER BY id", (account.email,)).fetchall()
    db.close()
    assert [label for label, _ in rows] == ["fieldproof-pwa", "renewed"]
    assert rows[0][1] <= 5 * 60  # the old one ends within the overlap
    assert rows[1][1] > 29 * 86400  # the new one has a whole lifetime
