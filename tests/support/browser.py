"""Driving the PWA in Debian's Chromium: flags, accounts, signing in, the capture list."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from typing import Any

import httpx
from playwright.sync_api import Page

from tests.support.live import LiveServer
from tests.support.paths import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
         "--auto-select-desktop-capture-source=Entire screen"]
DIST = ROOT / "pwa" / "dist"
GEO = {"latitude": 31.2304, "longitude": 121.4737, "accuracy": 12}
PASSWORD = "correct horse battery"


@dataclass
class Account:
    email: str
    token: str
    server: LiveServer

    def api(self, path: str) -> Any:
        r = httpx.get(f"{self.server.url}/api/v1{path}",
                      headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        r.raise_for_status()
        return r.json() if "json" in r.headers.get("content-type", "") else r.content

    def original(self, capture_id: str) -> bytes:
        r = httpx.get(f"{self.server.url}/api/v1/captures/{capture_id}/original",
                      headers={"Authorization": f"Bearer {self.token}"}, timeout=60)
        r.raise_for_status()
        return r.content


def sign_in(page: Page, server: LiveServer, account: Account, *, debug: bool = False) -> None:
    page.goto(server.url + "/")
    if debug:
        page.evaluate("localStorage.setItem('fieldproof.debug', '1')")
        page.reload()
    page.wait_for_function("window.fieldproofReady === true")
    page.fill("#email", account.email)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector('[data-testid="nav-capture"]')


def newest_item(page: Page, status: str, timeout: float = 45_000) -> Any:
    sel = f'[data-testid="capture-item"][data-status="{status}"]'
    page.click('[data-testid="nav-list"]')
    return page.wait_for_selector(sel, timeout=timeout)


def camera_ready(page: Page) -> None:
    """The capture screen's camera preview has a frame (the fake camera takes a moment)."""
    page.wait_for_function("document.querySelector('video')?.readyState >= 2")


def service_worker_ready(page: Page) -> None:
    """The service worker controls the page and the nonce pool has been filled."""
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller")
    page.wait_for_function(
        "new Promise(r => { const q = indexedDB.open('fieldproof'); q.onsuccess = () => {"
        " const db = q.result; if (!db.objectStoreNames.contains('nonces')) return r(false);"
        " const c = db.transaction('nonces').objectStore('nonces').count();"
        " c.onsuccess = () => r(c.result >= 1); c.onerror = () => r(false); };"
        " q.onerror = () => r(false); })")
