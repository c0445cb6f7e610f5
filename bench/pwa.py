"""The capture PWA: bytes shipped for the capture screen, and shutter-to-queued time.

    .venv/bin/python -m bench.pwa            # ~30 s
    .venv/bin/python -m bench.pwa --shots 20 --keep

1. Bundle. `pwa/dist/index.html` is parsed for what it loads up front: module
   scripts, modulepreload links and stylesheets. Each file is gzipped at level 9
   (Python's gzip module) and the sizes are summed. Nothing else is counted: the
   service worker, the manifest and the icons are listed as information only.
   Goal: <= 120 kB (1 kB = 1000 bytes) gzipped JS + CSS.

2. Shutter. A real `fieldproof serve` (tests.live.LiveServer, SQLite and the
   filesystem store in a scratch dir under bench/out/, the built PWA served via
   FIELDPROOF_PWA_DIR) and Debian's Chromium driven by Playwright, headless, with
   the Pixel 7 device profile, a fake camera and emulated geolocation (the flags
   and context of tests/e2e/conftest.py). With `fieldproof.debug` = '1' the app
   sets `window.fieldproofDebug.lastShutterMs` to the time from the shutter's
   click handler to the photo being encoded, hashed, its manifest signed and the
   item saved in the IndexedDB outbox (PhotoPanel.take -> queued()). The page
   moves to the list after every shot, so each shot goes back to the capture tab
   and the photo mode and waits until the camera shows frames again (camera
   start-up is not part of a shot). Uploads of earlier shots run in the
   background meanwhile, as they would on a phone.

   Two figures per shot:
   - in-app: lastShutterMs, as the app measures it. Goal: p90 <= 300 ms.
   - outside-in: from just before Playwright's click to the new capture row
     (a [data-testid=capture-item] with data-status and a data-local-id not seen
     before) being in the list, as a test sees it: it adds Playwright's click
     round trip, the navigation to the list, the list's IndexedDB read and
     render, and requestAnimationFrame polling. Information, no goal.

Reports, never asserts: exit status 1 only when it could not run at all.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import signal
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ._util import OUT_DIR, header, log, met, percentile, shown, table, write_json

REPO = Path(__file__).resolve().parent.parent
DIST = REPO / "pwa" / "dist"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
GEO = {"latitude": 31.2304, "longitude": 121.4737, "accuracy": 12}
PASSWORD = "correct horse battery"
GOAL_BUNDLE_KB = 120.0
GOAL_SHUTTER_P90_MS = 300.0
SHOT_TIMEOUT_MS = 15_000

CAMERA_READY = """() => {
  const v = document.querySelector('video.preview');
  const b = document.querySelector('[data-testid="shutter"]');
  return !!(v && v.isConnected && v.videoWidth > 0 && b && !b.disabled);
}"""

FRAME = """() => {
  const v = document.querySelector('video.preview');
  return v ? [v.videoWidth, v.videoHeight] : null;
}"""

# Counts clicks on the shutter in the page's own clock (capture phase, before the app's handler).
MARK_CLICKS = """() => {
  if (window.__benchClicks) return;
  window.__benchClicks = [];
  document.addEventListener('click', (e) => {
    if (e.target instanceof Element && e.target.closest('[data-testid="shutter"]'))
      window.__benchClicks.push(performance.now());
  }, true);
}"""

# Truthy (the page's clock at that moment) once the app has reported the shot and
# a capture row that was not there before is in the list.
SHOT_DONE = """(known) => {
  const d = window.fieldproofDebug;
  if (!d || d.lastShutterMs === -1) return false;
  const rows = document.querySelectorAll('[data-testid="capture-item"][data-status]');
  for (const r of rows) {
    const id = r.getAttribute('data-local-id');
    if (id && !known.includes(id))
      return {at: performance.now(), id, status: r.getAttribute('data-status')};
  }
  return false;
}"""


# -- 1. bundle --------------------------------------------------------------------

class _Assets(HTMLParser):
    """The JS and CSS a page loads up front: module scripts, modulepreloads, stylesheets."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []  # (what, url)
        self.other: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        rel = a.get("rel", "").lower().split()
        if tag == "script" and a.get("src"):
            what = "module script" if a.get("type", "").lower() == "module" else "script"
            self.found.append((what, a["src"]))
        elif tag == "link" and "modulepreload" in rel and a.get("href"):
            self.found.append(("modulepreload", a["href"]))
        elif tag == "link" and "stylesheet" in rel and a.get("href"):
            self.found.append(("stylesheet", a["href"]))
        elif tag == "link" and a.get("href"):
            self.other.append((" ".join(rel) or "link", a["href"]))


def _local(url: str) -> Path | None:
    if "://" in url or url.startswith("//") or url.startswith("data:"):
        return None
    return DIST / url.split("?", 1)[0].split("#", 1)[0].lstrip("/")


def _gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def bundle() -> dict[str, Any]:
    parser = _Assets()
    parser.feed((DIST / "index.html").read_text(encoding="utf-8"))
    files: list[dict[str, Any]] = []
    seen: set[Path] = set()
    for what, url in parser.found:
        path = _local(url)
        if path is None or path in seen:
            files.append({"what": what, "url": url, "error": "not a local file"}
                         if path is None else {"what": what, "url": url, "duplicate": True})
            continue
        seen.add(path)
        if not path.exists():
            files.append({"what": what, "url": url, "error": "missing from pwa/dist"})
            continue
        files.append({"what": what, "url": url, "bytes": path.stat().st_size, "gzip9": _gz(path)})
    counted = [f for f in files if "gzip9" in f]
    js = sum(f["gzip9"] for f in counted if f["what"] != "stylesheet")
    css = sum(f["gzip9"] for f in counted if f["what"] == "stylesheet")
    total = js + css
    # Information: what else is in dist/assets (lazy chunks) and the service worker.
    extra = []
    assets = DIST / "assets"
    for p in sorted(assets.iterdir()) if assets.is_dir() else []:
        if p.suffix in (".js", ".css") and p not in seen:
            extra.append({"file": str(p.relative_to(DIST)), "bytes": p.stat().st_size,
                          "gzip9": _gz(p)})
    for name in ("sw.js", "index.html"):
        p = DIST / name
        if p.exists():
            extra.append({"file": name, "bytes": p.stat().st_size, "gzip9": _gz(p)})
    return {"files": files, "js_gzip9": js, "css_gzip9": css, "total_gzip9": total,
            "total_raw": sum(f["bytes"] for f in counted),
            "goal_kb": GOAL_BUNDLE_KB, "met": total <= GOAL_BUNDLE_KB * 1000,
            "errors": [f for f in files if "error" in f],
            "not_counted": extra}


# -- 2. shutter --------------------------------------------------------------------

def _server_env(scratch: Path) -> dict[str, str]:
    """SQLite and the filesystem store whatever this shell exports; the built PWA."""
    env = {k: "" for k in os.environ if k.startswith("FIELDPROOF_") or k == "DATABASE_URL"}
    runtime = scratch / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env.update({"FIELDPROOF_PWA_DIR": str(DIST), "XDG_RUNTIME_DIR": str(runtime),
                "PYTHONUNBUFFERED": "1"})
    return env


def _ms(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50_ms": round(percentile(values, 50), 1),
            "p90_ms": round(percentile(values, 90), 1), "max_ms": round(max(values), 1),
            "min_ms": round(min(values), 1)}


def shutter(scratch: Path, shots: int) -> dict[str, Any]:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    from tests.support.live import LiveServer

    out: dict[str, Any] = {"shots_asked": shots, "phases_s": {}}
    phases = out["phases_s"]
    srv = LiveServer(scratch / "var", env=_server_env(scratch))
    srv.data_dir.mkdir(parents=True)
    t = time.perf_counter()
    try:
        srv.start()
        email = f"bench-pwa-{time.monotonic_ns() % 10**8}@example.org"
        srv.create_user(email, PASSWORD)
        phases["server_and_user"] = round(time.perf_counter() - t, 2)
        log(f"server on {srv.url}, user {email}")
        with sync_playwright() as pw:
            t = time.perf_counter()
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            try:
                device = dict(pw.devices["Pixel 7"])
                device.pop("default_browser_type", None)
                out["device"] = {k: device.get(k) for k in
                                 ("user_agent", "viewport", "device_scale_factor", "is_mobile",
                                  "has_touch")}
                ctx = browser.new_context(**device, geolocation=GEO, locale="en-US",
                                          permissions=["geolocation", "camera", "microphone"],
                                          bypass_csp=True)
                page = ctx.new_page()
                page.set_default_timeout(30_000)
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                phases["browser"] = round(time.perf_counter() - t, 2)

                t = time.perf_counter()
                page.goto(srv.url + "/")
                page.evaluate("localStorage.setItem('fieldproof.debug', '1')")
                page.reload()
                page.wait_for_function("window.fieldproofReady === true")
                phases["load"] = round(time.perf_counter() - t, 2)
                t = time.perf_counter()
                page.fill("#email", email)
                page.fill("#password", PASSWORD)
                page.click("#login")
                page.wait_for_selector('[data-testid="nav-capture"]')
                phases["sign_in"] = round(time.perf_counter() - t, 2)
                if not page.evaluate("!!window.fieldproofDebug"):
                    raise RuntimeError("window.fieldproofDebug is missing with fieldproof.debug=1")
                page.evaluate(MARK_CLICKS)

                t_shots = time.perf_counter()
                shots_out: list[dict[str, Any]] = []
                known: list[str] = []
                for i in range(shots):
                    shot: dict[str, Any] = {"i": i + 1}
                    shots_out.append(shot)
                    t_open = time.perf_counter()
                    page.click('[data-testid="nav-capture"]')
                    page.click('[data-testid="mode-photo"]')
                    try:
                        page.wait_for_function(CAMERA_READY, timeout=10_000)
                    except PlaywrightError:
                        hint = page.evaluate(
                            "() => document.querySelector('.photo .hint')?.textContent ?? ''")
                        raise RuntimeError(f"the camera did not start: {hint!r}") from None
                    shot["camera_ready_ms"] = round((time.perf_counter() - t_open) * 1e3, 1)
                    shot["frame"] = page.evaluate(FRAME)
                    if i == 0:
                        # ~1 s for the fake camera, the nonce pool and the key to settle
                        page.wait_for_timeout(max(0.0, 1000 - shot["camera_ready_ms"]))
                    else:
                        page.wait_for_timeout(200)
                    page.evaluate("window.fieldproofDebug.lastShutterMs = -1")
                    t0 = time.perf_counter()
                    page.click('[data-testid="shutter"]')
                    try:
                        done = page.wait_for_function(SHOT_DONE, arg=known,
                                                      timeout=SHOT_TIMEOUT_MS).json_value()
                    except PlaywrightError:
                        shot["error"] = f"no new capture row within {SHOT_TIMEOUT_MS} ms"
                        shot["lastShutterMs"] = page.evaluate(
                            "window.fieldproofDebug.lastShutterMs")
                        log(f"shot {i + 1}: {shot['error']}")
                        continue
                    shot["outside_in_ms"] = round((time.perf_counter() - t0) * 1e3, 1)
                    shot["in_app_ms"] = round(float(page.evaluate(
                        "window.fieldproofDebug.lastShutterMs")), 1)
                    click_at = page.evaluate("window.__benchClicks.at(-1) ?? null")
                    if click_at is not None:
                        shot["click_to_row_in_page_ms"] = round(done["at"] - click_at, 1)
                    shot["row_status"] = done["status"]
                    known.append(done["id"])
                    log(f"shot {i + 1}: in-app {shot['in_app_ms']} ms, "
                        f"outside-in {shot['outside_in_ms']} ms")
                phases["shots"] = round(time.perf_counter() - t_shots, 2)

                frame = shots_out[-1].get("frame")
                items = page.evaluate(
                    "async () => (await window.fieldproofDebug.outbox())"
                    ".map(i => ({size: i.size, kind: i.kind, signed: !!i.signature,"
                    " state: JSON.stringify(i.state).slice(0, 120)}))")
                ctx.close()
            finally:
                browser.close()
        out["shots"] = shots_out
        out["frame"] = frame
        out["outbox"] = {"items": len(items), "signed": sum(1 for x in items if x["signed"]),
                         "photo_bytes": [x["size"] for x in items if x["kind"] == "photo"]}
        out["page_errors"] = errors[:20]
        ok = [s for s in shots_out if "in_app_ms" in s]
        out["in_app"] = _ms([s["in_app_ms"] for s in ok])
        out["outside_in"] = _ms([s["outside_in_ms"] for s in ok])
        out["click_to_row_in_page"] = _ms([s["click_to_row_in_page_ms"] for s in ok
                                          if "click_to_row_in_page_ms" in s])
        out["camera_ready"] = _ms([s["camera_ready_ms"] for s in shots_out])
        out["goal_p90_ms"] = GOAL_SHUTTER_P90_MS
        out["met"] = bool(ok) and len(ok) == shots and \
            out["in_app"]["p90_ms"] <= GOAL_SHUTTER_P90_MS
        return out
    finally:
        srv.stop()


# -- report ------------------------------------------------------------------------

def _kb(n: int) -> str:
    return f"{n / 1000:.1f} kB ({n / 1024:.1f} KiB)"


def _report(res: dict[str, Any]) -> None:
    b = res.get("bundle")
    if b:
        rows = [["capture screen, gzip -9", "bytes raw", "gzip -9"]]
        for f in b["files"]:
            if "gzip9" in f:
                rows.append([f"{f['what']} {f['url']}", str(f["bytes"]), _kb(f["gzip9"])])
            else:
                rows.append([f"{f['what']} {f['url']}", "-", f.get("error", "duplicate")])
        rows.append(["JS", "", _kb(b["js_gzip9"])])
        rows.append(["CSS", "", _kb(b["css_gzip9"])])
        rows.append([f"total (goal <= {GOAL_BUNDLE_KB:.0f} kB)", str(b["total_raw"]),
                     f"{_kb(b['total_gzip9'])}  {met(b['met'])}"])
        for f in b["not_counted"]:
            rows.append([f"  not counted: {f['file']}", str(f["bytes"]), _kb(f["gzip9"])])
        print(table(rows))
        if not b["met"]:
            print(f"The JS and CSS loaded by index.html come to {_kb(b['total_gzip9'])} "
                  f"gzipped, over the {GOAL_BUNDLE_KB:.0f} kB budget.")
        print()
    s = res.get("shutter")
    if not s:
        return
    if "in_app" in s:
        rows = [["shutter -> signed and queued", "n", "p50", "p90", "max", "goal"]]

        def row(name: str, st: dict[str, Any], goal: str) -> list[str]:
            if not st.get("n"):
                return [name, "0", "-", "-", "-", goal]
            return [name, str(st["n"]), f"{st['p50_ms']:.0f} ms", f"{st['p90_ms']:.0f} ms",
                    f"{st['max_ms']:.0f} ms", goal]

        rows.append(row("in-app (lastShutterMs)", s["in_app"],
                        f"p90 <= {GOAL_SHUTTER_P90_MS:.0f} ms  {met(s['met'])}"))
        rows.append(row("outside-in (click -> new row)", s["outside_in"], "info"))
        rows.append(row("  same, page clock", s["click_to_row_in_page"], "info"))
        rows.append(row("camera back after each shot", s["camera_ready"], "info, not timed"))
        print(table(rows))
        photo = s["outbox"]["photo_bytes"]
        frame = s.get("frame")
        print(f"Pixel 7 profile, fake camera frame {frame[0]}x{frame[1]}, "
              f"JPEG {min(photo) // 1000}-{max(photo) // 1000} kB; "
              f"{s['outbox']['signed']}/{s['outbox']['items']} outbox items signed."
              if frame and photo else "no photo in the outbox")
        failed = [x for x in s["shots"] if "error" in x]
        if failed:
            print(f"{len(failed)} of {s['shots_asked']} shots failed: {failed[0]['error']}")
        elif not s["met"]:
            print(f"p90 {s['in_app']['p90_ms']:.0f} ms is over the {GOAL_SHUTTER_P90_MS:.0f} ms "
                  "goal: see the per-shot figures in the JSON.")
        if s.get("page_errors"):
            print(f"page errors ({len(s['page_errors'])}): {s['page_errors'][0][:160]}")
    elif s.get("error"):
        print(f"shutter: could not run: {s['error']}")


def _parse(args: Any) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.pwa", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shots", type=int, default=10, help="photos taken (default 10)")
    p.add_argument("--tmp-dir", type=Path, default=None,
                   help="where the scratch dir goes (default bench/out/)")
    p.add_argument("--keep", action="store_true", help="keep the scratch dir (server log, DB)")
    if isinstance(args, argparse.Namespace):
        ns = p.parse_args([])
        for k in ("shots", "tmp_dir", "keep"):
            if getattr(args, k, None) is not None:
                setattr(ns, k, getattr(args, k))
        return ns
    ns = p.parse_args(args)
    if ns.shots < 1:
        p.error("--shots must be positive")
    return ns


def run(args: Any = None) -> int:
    """Print the figures and write bench/out/pwa.json; 1 only if it could not run."""
    ns = _parse(args)
    started = time.perf_counter()
    results: dict[str, Any] = header("pwa")
    if not (DIST / "index.html").exists():
        print("pwa/dist/index.html is missing: the PWA is not built; run make install")
        return 1
    results["bundle"] = bundle()
    status = 0
    if not Path(CHROMIUM).exists():
        results["shutter"] = {"error": f"{CHROMIUM} is missing (apt-get install chromium)"}
        status = 1
    else:
        root = ns.tmp_dir or OUT_DIR
        root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="pwa-", dir=root))
        try:
            results["shutter"] = shutter(scratch, ns.shots)
        except Exception as exc:  # reported, not raised: this is a benchmark
            results["shutter"] = {"error": f"{type(exc).__name__}: {exc}"[:2000]}
            status = 1
        finally:
            if ns.keep:
                log(f"scratch kept in {scratch}")
            else:
                shutil.rmtree(scratch, ignore_errors=True)
    results["runtime_s"] = round(time.perf_counter() - started, 1)
    _report(results)
    path = write_json("pwa", results)
    print(f"\npwa: {results['runtime_s']:.0f} s; figures in {shown(path)}", flush=True)
    return status


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # so every `finally` (server, scratch dir) runs


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    sys.exit(run(sys.argv[1:]))
