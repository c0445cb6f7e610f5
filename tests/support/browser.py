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


# -- what a person sees ------------------------------------------------------------------------

def set_lang(page: Page, lang: str) -> None:
    """Switch the app's language with its own selector (it relabels in place)."""
    page.select_option('[data-testid="lang"]', lang)
    page.wait_for_function("l => document.documentElement.lang === l", arg=lang)


def reachable(page: Page, selector: str) -> dict[str, Any]:
    """Where a control is, and whether a tap at its centre reaches it.

    The control must be inside the viewport (with the page scrolled to the top,
    as a screen opens), above the bottom navigation, and the element at its
    centre must be the control itself (or inside it): nothing covers it.
    """
    return page.evaluate(
        """sel => {
            const el = document.querySelector(sel);
            if (!el) return {found: false};
            const r = el.getBoundingClientRect();
            const nav = document.querySelector('.bottom-nav');
            const inNav = !!nav && nav.contains(el);
            const navTop = nav && !nav.hidden && !inNav
                ? nav.getBoundingClientRect().top : innerHeight;
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            const hit = document.elementFromPoint(x, y);
            const label = el.id ? document.querySelector(`label[for="${el.id}"]`) : null;
            return {found: true, top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                    width: r.width, height: r.height, vw: innerWidth, vh: innerHeight, navTop,
                    hitSelf: !!hit && (hit === el || el.contains(hit)
                                       || (!!label && label.contains(hit))),
                    hit: hit ? hit.outerHTML.slice(0, 120) : null};
        }""", selector)


def assert_reachable(page: Page, selector: str) -> None:
    r = reachable(page, selector)
    assert r["found"], f"{selector} is not on the page"
    assert r["width"] > 0 and r["height"] > 0, (selector, r)
    assert r["top"] >= 0 and r["left"] >= 0 and r["right"] <= r["vw"], (selector, r)
    assert r["bottom"] <= r["navTop"] + 0.5, f"{selector} runs under the bottom bar: {r}"
    assert r["hitSelf"], f"{selector} is covered by {r['hit']}: {r}"


# Latin words a Chinese screen may show: the product, language names in their own
# language, names of standards and formats, units. Everything else in Latin letters
# is a string someone forgot to translate. Data (hashes, ids, file names, emails,
# user agents, certificate subjects, what a person typed) is marked translate="no".
ALLOWED_WORDS = {
    "FieldProof", "English",
    "SHA", "SHA256SUMS", "ECDSA", "P", "RFC", "C2PA", "PAdES", "EXIF", "GPS", "JSON", "PDF",
    "WebM", "ZIP", "JWK", "PEM", "CMS", "Ed25519", "TSA", "UTC", "v",
    "B", "kB", "KB", "MB", "GB", "m", "km", "s",
}
ALLOWED_PATTERNS = [
    r"https?://\S+",                       # URLs
    r"\b[0-9a-f]{16,}\b",                  # hashes
    r"\b(?:image|audio|video|application|text)/[\w.+-]+(?:;[\w=.+-]+)?",  # MIME types
    r"(?:/api/v1)?/[\w./-]+",              # paths
    r"(?:\b[\w-]+)?\.(?:json|jsonl|txt|tsr|pem|vkey|zip|pdf|jpg|webm|m4a|mp4|sig)\b",  # files
    r"`[^`]+`",                            # commands, e.g. `fieldproof verify`
    r"\b0x[0-9a-f]+\b", r"\bv\d+\b",        # bytes and protocol versions
]


def visible_texts(page: Page) -> list[str]:
    """Every text a person sees or hears on the page, but data marked translate="no"."""
    return page.evaluate(
        """() => {
            const out = [];
            const skip = el => el.closest('[translate="no"], script, style, noscript, option');
            const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
            for (let n = walker.nextNode(); n; n = walker.nextNode()) {
                const el = n.parentElement;
                const text = n.textContent.trim();
                if (!el || !text || skip(el)) continue;
                const vh = el.closest('.vh');  // visually hidden: read aloud, so counted
                if (!vh && !el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true}))
                    continue;
                out.push(text);
            }
            const labelled = '[aria-label], [placeholder], [title], img[alt]';
            for (const el of document.querySelectorAll(labelled)) {
                if (skip(el) || !el.checkVisibility()) continue;
                for (const a of ['aria-label', 'placeholder', 'title', 'alt']) {
                    const v = el.getAttribute(a);
                    if (v && v.trim()) out.push(v.trim());
                }
            }
            const sel = document.querySelector('[data-testid="lang"]');
            if (sel) out.push(sel.selectedOptions[0]?.textContent ?? '');
            return out;
        }""")


def english_words(page: Page) -> list[tuple[str, str]]:
    """(word, text) for each Latin word on screen that the allow-list does not cover."""
    import re

    found: list[tuple[str, str]] = []
    for text in visible_texts(page):
        rest = text
        for pattern in ALLOWED_PATTERNS:
            rest = re.sub(pattern, " ", rest)
        for word in re.findall(r"[A-Za-z][A-Za-z0-9]*", rest):
            if word not in ALLOWED_WORDS:
                found.append((word, text[:160]))
    return found
