"""Issue 6 end to end: a photo taken in the PWA (real Chromium, fake camera,
emulated geolocation) becomes evidence that verifies everywhere: the capture
detail shows its custody timeline; the CLI exports the bundle; `fieldproof
verify`, `sha256sum -c`, `openssl ts -verify` and poppler's `pdfsig` accept it;
and the public /verify page, signed out, passes every check."""

from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

from tests.support.browser import GEO, Account, camera_ready, newest_item
from tests.support.live import LiveServer, run_cli


def test_pwa_photo_to_verified_bundle(page: Page, account: Account, server: LiveServer,
                                      browser: Browser, playwright: Playwright,
                                      tmp_path: Path) -> None:
    page.click('[data-testid="nav-capture"]')
    page.click('[data-testid="mode-photo"]')
    camera_ready(page)
    page.click('[data-testid="shutter"]')
    item = newest_item(page, "anchored")
    cid = item.get_attribute("data-id")
    assert cid

    # The detail view reads the capture (a "view" custody event) and shows the timeline.
    item.click()
    page.click('[data-testid="custody-section"] > summary')  # for experts: collapsed
    page.wait_for_selector('[data-testid="custody"] li[data-event="view"]')
    page.wait_for_selector('[data-testid="custody"] li[data-event="anchored"]')

    # Export with the CLI, verify with ours and with standard tools.
    bundle = tmp_path / "evidence.zip"
    env = {"FIELDPROOF_SERVER": server.url, "FIELDPROOF_TOKEN": account.token}
    out = run_cli("client", "export", cid, "-o", str(bundle), env=env)
    assert out.returncode == 0, out.stderr
    ok = run_cli("verify", str(bundle))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    for check in ("signature", "media", "inclusion", "timestamp", "custody", "certificate",
                  "credentials"):
        assert f"PASS    {check}" in ok.stdout, (check, ok.stdout)
    assert "RESULT  all checks passed" in ok.stdout

    out_dir = tmp_path / "bundle"
    with zipfile.ZipFile(bundle) as zf:
        zf.extractall(out_dir)
        names = zf.namelist()
    manifest = (out_dir / "manifest.json").read_text()
    assert f'"lat":{GEO["latitude"]}' in manifest  # the PWA's signed fix
    sums = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=out_dir,
                          capture_output=True, text=True)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    tokens = [n for n in names if n.startswith("timestamps/")]
    assert tokens
    for name in tokens:
        stem = Path(name).stem
        pems = (out_dir / "keys" / "tsa" / f"{stem}.pem").read_text()
        blocks = [b for b in pems.split("-----END CERTIFICATE-----") if b.strip()]
        (out_dir / "root.pem").write_text(blocks[-1].strip() + "\n-----END CERTIFICATE-----\n")
        (out_dir / "chain.pem").write_text(
            "".join(b.strip() + "\n-----END CERTIFICATE-----\n" for b in blocks[:-1]))
        ts = subprocess.run(["openssl", "ts", "-verify", "-data", "checkpoint.txt", "-in", name,
                             "-CAfile", "root.pem", "-untrusted", "chain.pem"], cwd=out_dir,
                            capture_output=True, text=True)
        assert ts.returncode == 0 and "Verification: OK" in ts.stdout, ts.stdout + ts.stderr
    sig = subprocess.run(["pdfsig", "-no-ocsp", "certificate.pdf"], cwd=out_dir,
                         capture_output=True, text=True)
    assert "Signature is Valid" in sig.stdout and "Total document signed" in sig.stdout, \
        sig.stdout + sig.stderr
    text = subprocess.run(["pdftotext", "certificate.pdf", "-"], cwd=out_dir,
                          capture_output=True, text=True).stdout
    assert cid in text.replace("\n", "") or cid[:18] in text

    # The public /verify page, signed out, in a fresh phone-sized context.
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    public = browser.new_context(**device, locale="en-US")
    try:
        p = public.new_page()
        p.set_default_timeout(30_000)
        p.goto(server.url + "/verify")
        p.set_input_files('[data-testid="bundle-input"]', str(bundle))
        result = p.wait_for_selector('[data-testid="verify-result"]')
        checks = {li.get_attribute("data-name"): li.get_attribute("data-status")
                  for li in p.query_selector_all('[data-testid="check"]')}
        assert result.get_attribute("data-ok") == "true", checks  # type: ignore[union-attr]
        assert {"signature", "media", "inclusion", "checkpoint", "timestamp"} <= set(checks)

        # Scanning the certificate's QR code, signed out: the media hash is looked up.
        sha = next(line.split()[0] for line in (out_dir / "SHA256SUMS").read_text().splitlines()
                   if line.split()[1].startswith("media/"))
        qr = f"{server.url}/verify?capture={cid}&sha256={sha}"
        assert qr.encode() in (out_dir / "certificate.pdf").read_bytes()  # its link annotation
        p.goto(qr)
        # the answer first, in a sentence; the server's record under it, folded
        verdict = p.wait_for_selector('[data-testid="verify-lead"] [data-testid="verdict"]')
        p.wait_for_function("document.querySelector('[data-testid=\"verify-lead\"] "
                            "[data-testid=\"verdict\"]')?.textContent")
        assert "time-stamped" in verdict.inner_text()  # type: ignore[union-attr]
        found = p.wait_for_selector('[data-testid="lookup-result"]', state="attached")
        assert found.get_attribute("data-found") == "true"  # type: ignore[union-attr]
        assert p.query_selector('[data-testid="lookup-match"][data-anchored="true"]')
    finally:
        public.close()


def test_pwa_audio_recording_bundle_has_c2pa_copy(page: Page, account: Account,
                                                   server: LiveServer, tmp_path: Path) -> None:
    """A real MediaRecorder WebM/Opus recording, streamed by the PWA: its bundle
    holds a C2PA copy (Opus repackaged into MP4, packets unchanged) that verifies."""
    page.click('[data-testid="nav-capture"]')
    page.click('[data-testid="mode-audio"]')
    page.click('[data-testid="record"]')
    page.wait_for_timeout(3000)
    page.click('[data-testid="stop"]')
    cid = newest_item(page, "anchored").get_attribute("data-id")
    assert cid
    bundle = tmp_path / "audio.zip"
    env = {"FIELDPROOF_SERVER": server.url, "FIELDPROOF_TOKEN": account.token}
    out = run_cli("client", "export", cid, "-o", str(bundle), env=env)
    assert out.returncode == 0, out.stderr
    with zipfile.ZipFile(bundle) as zf:
        assert "derived/c2pa.m4a" in zf.namelist(), zf.namelist()
    ok = run_cli("verify", str(bundle))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "PASS    credentials: derived/c2pa.m4a: C2PA manifest Trusted" in ok.stdout
    assert "PASS    chunks" in ok.stdout
