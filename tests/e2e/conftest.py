"""End-to-end: the real PWA in real headless Chromium against a real backend.

Chromium comes from Debian (`apt-get install chromium`, done by .ci/run);
Playwright drives it through executable_path and never downloads a browser.
Fake camera/microphone and emulated geolocation stand in for a phone's
sensors (flags from shared/notes/FEASIBILITY.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.support.browser import CHROMIUM, DIST, FLAGS, GEO, PASSWORD, Account, sign_in
from tests.support.live import LiveServer


# Module scope, not session: Playwright's sync API keeps an event loop running in
# the main thread while it is open, which would break asyncio.run() (pyHanko's
# sync validator) in every test collected after the browser tests.
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: apt-get install -y chromium (.ci/run does this)")
    if not (DIST / "index.html").exists():
        pytest.fail("the PWA is not built: run `make install` (it runs npm run build)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
    yield b
    b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    base = tmp_path_factory.mktemp("e2e")
    srv = LiveServer(base / "var", env={"FIELDPROOF_SEQUENCER_INTERVAL": "0.3",
                                        "FIELDPROOF_PWA_DIR": str(DIST)})
    srv.data_dir.mkdir()
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def account(server: LiveServer, request: pytest.FixtureRequest) -> Account:
    email = f"{request.node.name[:40].lower().replace('[', '-').replace(']', '')}" \
            f"-{time.monotonic_ns() % 10**8}@example.org"
    return Account(email, server.create_user(email, PASSWORD), server)


@pytest.fixture
def context(browser: Browser, playwright: Playwright) -> Iterator[BrowserContext]:
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    ctx = browser.new_context(**device, geolocation=GEO,
                              permissions=["geolocation", "camera", "microphone"],
                              locale="en-US",
                              # Playwright evaluates wait predicates with eval(), which
                              # the app's CSP (script-src 'self') forbids.
                              bypass_csp=True)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, server: LiveServer, account: Account) -> Page:
    p = context.new_page()
    p.set_default_timeout(30_000)
    sign_in(p, server, account)
    return p
