"""Record one web capture in a clean browser: the child process's whole job.

``python -m fieldproof.webcap.record SPEC.json OUT_DIR`` reads the task, records
into OUT_DIR and writes ``result.json`` last. The parent (runner.py) hashes,
signs and stores the files; this process touches neither the database nor
the store, so a crash here leaves nothing half-stored.

Files (names fixed; PROTOCOL.md "Web captures"):
    recording.mp4          what the window showed, with the page's sound
    screenshot-start.png   full page once loaded
    screenshot-end.png     full page at the end
    page.mhtml             the final DOM with its resources (Chromium's snapshot)
    traffic.warc.gz        every request and response the browser made (WARC 1.1)
    stream.ts              live mode: the HLS/DASH stream itself, when there is one
    environment.json       versions, window, DNS answers, TLS chains, main document
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fieldproof.errors import WebRecorderUnavailable
from fieldproof.webcap.browser import FRAME_RATE, HEIGHT, WIDTH, Desktop
from fieldproof.webcap.proxy import GUARD_HEADER, GuardProxy
from fieldproof.webcap.warc import har_to_warc

CHROMIUM = "/usr/bin/chromium"
FRAME_S = 2.0
SETTLE_S = 2.0  # after load, before the first screenshot: fonts, lazy images
# Chromium's own calls home (sign-in, updates, hints): off, so that the hosts
# contacted are the page's
QUIET_FEATURES = ("Translate", "MediaRouter", "DialMediaRouteProvider",
                  "OptimizationHints", "OptimizationGuideModelDownloading",
                  "OptimizationHintsFetching", "AutofillServerCommunication",
                  "CertificateTransparencyComponentUpdater", "InterestFeedContentSuggestions",
                  "SafeBrowsingEnhancedProtection", "PrivacySandboxSettings4",
                  "AccountConsistency", "ChromeWhatsNewUI", "DiceWebSigninInterception")
STREAM_TYPES = ("application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl",
                "application/dash+xml")


class _Stopped(Exception):
    """The recording cannot go on: the reason is the task's failure reason."""


@dataclass(frozen=True)
class Spec:
    url: str
    mode: str  # page | video | live
    duration_s: float
    start_at: float | None = None  # epoch seconds (live)
    end_at: float | None = None
    allow_private: bool = False
    max_bytes: int = 2 * 1024**3
    trusted_spki: tuple[str, ...] = ()  # test and intranet CAs (FIELDPROOF_WEB_TRUSTED_SPKI)
    version: str = ""
    sandbox: bool = False  # Chromium's sandbox (never as root: see config.py web_sandbox)

    @classmethod
    def load(cls, path: Path) -> Spec:
        data = json.loads(path.read_text("utf-8"))
        data["trusted_spki"] = tuple(data.get("trusted_spki") or ())
        return cls(**data)


def _iso(t: float | None = None) -> str:
    return datetime.fromtimestamp(time.time() if t is None else t, UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _version(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True,  # noqa: S603 - fixed
                             timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def user_agent(browser_version: str) -> str:
    """The fixed user agent: Chromium's reduced form, no "Headless"."""
    major = browser_version.split(".")[0] or "0"
    return (f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            f"Chrome/{major}.0.0.0 Safari/537.36")


class Recorder:
    def __init__(self, spec: Spec, out: Path) -> None:
        self.spec = spec
        self.out = out
        self.tls: dict[str, dict[str, Any]] = {}
        self.streams: list[str] = []
        self.notes: list[str] = []
        self.proxy_url = ""
        self.frame_at = 0.0

    # ---------------------------------------------------------------- the run
    def run(self) -> dict[str, Any]:
        from playwright.sync_api import sync_playwright

        spec = self.spec
        work = self.out / "work"
        work.mkdir(mode=0o700, exist_ok=True)
        with GuardProxy(allow_private=spec.allow_private, max_bytes=spec.max_bytes) as proxy, \
                Desktop(work) as desktop, sync_playwright() as pw:
            self.proxy_url = f"http://127.0.0.1:{proxy.port}"
            args = [f"--proxy-server={self.proxy_url}",
                    "--proxy-bypass-list=<-loopback>",  # loopback too goes through the guard
                    "--disable-quic", "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
                    "--no-first-run", "--no-default-browser-check", "--disable-sync",
                    "--disable-background-networking", "--disable-component-update",
                    "--autoplay-policy=no-user-gesture-required", "--kiosk",
                    f"--window-size={WIDTH},{HEIGHT}", "--window-position=0,0",
                    "--hide-scrollbars", "--disable-domain-reliability", "--no-pings",
                    "--disable-client-side-phishing-detection", "--disable-default-apps",
                    "--safebrowsing-disable-auto-update", "--disable-extensions",
                    "--disable-component-extensions-with-background-pages",
                    "--disable-features=" + ",".join(QUIET_FEATURES)]
            if spec.trusted_spki:
                args.append("--ignore-certificate-errors-spki-list=" + ",".join(spec.trusted_spki))
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=False,
                                         env=dict(desktop.env), args=args,
                                         chromium_sandbox=spec.sandbox)
            ua = user_agent(browser.version)
            context = browser.new_context(
                viewport={"width": WIDTH, "height": HEIGHT}, user_agent=ua,
                record_har_path=str(work / "traffic.har"), record_har_content="embed",
                service_workers="block", accept_downloads=False)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.on("Network.responseReceived", self._on_response)
            if spec.mode == "live" and spec.start_at:
                # booked ahead: desktop and browser are ready; start on the second
                while time.time() < spec.start_at:
                    time.sleep(min(0.5, max(0.0, spec.start_at - time.time())))
            started = time.time()
            video = desktop.record(self.out / "recording.mp4",
                                   max_seconds=self._max_seconds() + 30)
            main: dict[str, Any] = {}
            failure = None
            seconds: float | None = None
            ended = started
            try:
                response = page.goto(spec.url, wait_until="load",
                                     timeout=max(30_000, spec.duration_s * 1000))
                guard = response.headers.get(GUARD_HEADER.lower()) if response else None
                if guard is not None:  # the proxy answered, not the site
                    host = response.url.split("/")[2] if response else ""
                    raise _Stopped(f"{guard}: {host}")
                if response is not None:
                    main = {"url": response.url, "status": response.status,
                            "headers": response.headers_array(),
                            "redirects": self._redirects(response)}
                (self.out / "loaded").touch()  # the page answered (runner.py: retry before)
                page.wait_for_timeout(SETTLE_S * 1000)
                page.screenshot(path=str(self.out / "screenshot-start.png"), full_page=True)
                getattr(self, f"_{spec.mode}")(page, started)
                # the recording ends with the mode: what follows is the end screenshot,
                # the DOM and the certificates, taken after it
                seconds, ended = video.stop(), time.time()
                page.screenshot(path=str(self.out / "screenshot-end.png"), full_page=True)
                snapshot = cdp.send("Page.captureSnapshot", {"format": "mhtml"})
                (self.out / "page.mhtml").write_text(snapshot["data"], "utf-8")
                self._certificates(cdp)
            except _Stopped as stop:
                failure = str(stop)
            except Exception as exc:  # the page failed: still keep what the browser saw
                failure = f"browser: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
            finally:
                if seconds is None:
                    seconds, ended = video.stop(), time.time()
                context.close()  # writes the HAR
                browser_version = browser.version
                browser.close()
            counts = har_to_warc(work / "traffic.har", self.out / "traffic.warc.gz",
                                 software=f"FieldProof {spec.version} (warcio)",
                                 info={"isPartOf": spec.url})
            environment = self._environment(browser_version, ua, proxy, main, started, ended,
                                            seconds, counts)
        (self.out / "environment.json").write_text(
            json.dumps(environment, ensure_ascii=False, indent=2, sort_keys=True), "utf-8")
        if proxy.record.over_limit:
            failure = failure or "size_limit: the page sent more than the size limit"
        if failure is None and not main:
            failure = "no_response: the page did not answer"
        return {"ok": failure is None, "reason": failure,
            "started_at": _iso(started), "ended_at": _iso(ended),
            "refused": proxy.record.refused[:20]}

    def _max_seconds(self) -> float:
        s = self.spec
        if s.mode == "live" and s.end_at:
            return max(1.0, s.end_at - max(time.time(), s.start_at or 0))
        return s.duration_s

    # ---------------------------------------------------------------- the modes
    def _page(self, page: Any, started: float) -> None:
        """Scroll slowly through the whole page, ending at the bottom, for duration_s."""
        end = started + self.spec.duration_s
        height = page.evaluate("() => document.documentElement.scrollHeight")
        steps = max(1, int((self.spec.duration_s - SETTLE_S - 2) * 2))
        stride = max(1, (height - HEIGHT) / steps)
        y = 0.0
        while time.time() < end:
            y = min(y + stride, max(0, height - HEIGHT))
            page.evaluate("y => window.scrollTo({top: y, behavior: 'smooth'})", y)
            self._frame(page)
            page.wait_for_timeout(min(500, max(0, (end - time.time()) * 1000)))
            height = page.evaluate("() => document.documentElement.scrollHeight")

    def _video(self, page: Any, started: float) -> None:
        """Play the page's first media element to its end, or for duration_s."""
        end = started + self.spec.duration_s
        played = page.evaluate("""() => {
            const m = document.querySelector('video, audio');
            if (!m) return false;
            m.scrollIntoView({block: 'center'});
            m.muted = false; m.volume = 1; m.loop = false;
            if (m.currentTime > 0) m.currentTime = 0;
            m.play().catch(() => {});
            return true;
        }""")
        if not played:
            self.notes.append("no_media_element")
        while time.time() < end:
            self._frame(page)
            page.wait_for_timeout(min(250, max(0, (end - time.time()) * 1000)))
            if played and page.evaluate(
                    "() => { const m = document.querySelector('video, audio');"
                    " return !m || m.ended; }"):
                self.notes.append("media_ended")
                break

    def _live(self, page: Any, started: float) -> None:
        """Record until end_at (or duration_s), and keep the HLS/DASH stream itself."""
        end = self.spec.end_at or started + self.spec.duration_s
        self._video_start(page)
        stream = None
        while time.time() < end:
            if stream is None and self.streams:
                stream = self._stream_copy(self.streams[0], end)
            self._frame(page)
            page.wait_for_timeout(min(250, max(0, (end - time.time()) * 1000)))
        if stream is not None:
            stream.wait(timeout=30)

    def _video_start(self, page: Any) -> None:
        page.evaluate("""() => { const m = document.querySelector('video, audio');
            if (m) { m.muted = false; m.volume = 1; m.play().catch(() => {}); } }""")

    def _stream_copy(self, url: str, end: float) -> subprocess.Popen[bytes]:
        """ffmpeg copies the stream as the server receives it, through the same guard."""
        cmd = [shutil.which("ffmpeg") or "ffmpeg", "-hide_banner", "-loglevel", "warning",
               "-y", "-http_proxy", self.proxy_url]
        cmd += ["-i", url, "-t", f"{max(1.0, end - time.time()):.1f}", "-c", "copy",
                "-f", "mpegts", str(self.out / "stream.ts")]
        # the URL is one the browser fetched through the guard; ffmpeg goes through it too
        return subprocess.Popen(cmd, stdin=subprocess.DEVNULL,  # noqa: S603
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _frame(self, page: Any) -> None:
        """A small JPEG of the window every FRAME_S seconds: the app's live thumbnail."""
        now = time.monotonic()
        if now - self.frame_at < FRAME_S:
            return
        self.frame_at = now
        try:
            data = page.screenshot(type="jpeg", quality=35, scale="css", timeout=2000)
        except Exception:  # a busy page: the next one
            return
        tmp = self.out / "frame.jpg.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, self.out / "frame.jpg")

    # ---------------------------------------------------------------- observations
    def _on_response(self, event: dict[str, Any]) -> None:
        resp = event.get("response") or {}
        url = resp.get("url", "")
        mime = (resp.get("mimeType") or "").lower()
        if (mime in STREAM_TYPES or url.split("?")[0].endswith((".m3u8", ".mpd"))) \
                and url not in self.streams and event.get("type") != "Document":
            self.streams.append(url)
        details = resp.get("securityDetails")
        if url.startswith("https://") and details:
            origin = "/".join(url.split("/")[:3])
            if origin not in self.tls:
                self.tls[origin] = {
                    "protocol": details.get("protocol"), "cipher": details.get("cipher"),
                    "key_exchange": details.get("keyExchangeGroup") or details.get("keyExchange"),
                    "subject": details.get("subjectName"), "issuer": details.get("issuer"),
                    "san": details.get("sanList"),
                    "valid_from": _iso(details["validFrom"]) if details.get("validFrom") else None,
                    "valid_to": _iso(details["validTo"]) if details.get("validTo") else None,
                    "ct_compliance": details.get("certificateTransparencyCompliance"),
                    "remote_address": resp.get("remoteIPAddress")}

    def _certificates(self, cdp: Any) -> None:
        """Each HTTPS origin's chain as the browser holds it (DER, leaf first)."""
        for origin, info in self.tls.items():
            try:
                chain = cdp.send("Network.getCertificate", {"origin": origin})["tableNames"]
            except Exception as exc:  # the browser no longer holds it
                info["chain_error"] = str(exc)[:200]
                continue
            ders = [base64.b64decode(c) for c in chain]
            info["chain_pem"] = [
                "-----BEGIN CERTIFICATE-----\n" + "\n".join(
                    base64.b64encode(d).decode()[i:i + 64]
                    for i in range(0, len(base64.b64encode(d)), 64))
                + "\n-----END CERTIFICATE-----\n" for d in ders]
            info["chain_sha256"] = [hashlib.sha256(d).hexdigest() for d in ders]

    @staticmethod
    def _redirects(response: Any) -> list[dict[str, Any]]:
        hops = []
        req = response.request.redirected_from
        while req is not None:
            r = req.response()
            hops.append({"url": req.url, "status": r.status if r else None})
            req = req.redirected_from
        return list(reversed(hops))

    def _environment(self, browser_version: str, ua: str, proxy: GuardProxy,
                     main: dict[str, Any], started: float, ended: float, seconds: float,
                     counts: dict[str, int]) -> dict[str, Any]:
        import playwright
        import warcio

        spec = self.spec
        return {
            "type": "fieldproof.web-environment", "v": 1,
            "request": {"url": spec.url, "mode": spec.mode, "duration_s": spec.duration_s,
                        "start_at": _iso(spec.start_at) if spec.start_at else None,
                        "end_at": _iso(spec.end_at) if spec.end_at else None},
            "recorded": {"started_at": _iso(started), "ended_at": _iso(ended),
                         "video_seconds": round(seconds, 3), "notes": self.notes},
            "browser": {"name": "Chromium", "version": browser_version,
                        "executable": CHROMIUM, "user_agent": ua, "profile": "fresh",
                        "extensions": [], "window": {"width": WIDTH, "height": HEIGHT},
                        "service_workers": "blocked", "sandbox": spec.sandbox,
                        "trusted_extra_spki": list(spec.trusted_spki)},
            "tools": {"fieldproof": spec.version, "playwright": _pkg_version("playwright"),
                      "warcio": getattr(warcio, "__version__", _pkg_version("warcio")),
                      "ffmpeg": _version(["ffmpeg", "-version"]),
                      "xvfb": "Xvfb " + _pkg_version_cmd(["Xvfb", "-version"]),
                      "pulseaudio": _version(["pulseaudio", "--version"]),
                      "python": platform.python_version(),
                      "playwright_driver": getattr(playwright, "__version__", "")},
            "os": {"system": platform.system(), "release": platform.release(),
                   "machine": platform.machine(), "distribution": _os_release()},
            "video": {"codec": "H.264 + AAC (MP4)", "frame_rate": FRAME_RATE,
                      "size": f"{WIDTH}x{HEIGHT}"},
            "network": {"proxy": None, "guard": {
                "private_addresses": "allowed" if spec.allow_private else "refused",
                "size_limit_bytes": spec.max_bytes}, **proxy.record.as_dict(),
                "warc": counts, "streams": self.streams},
            "main_document": main,
            "tls": dict(sorted(self.tls.items())),
        }


def _pkg_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _pkg_version_cmd(cmd: list[str]) -> str:
    text = _version(cmd)
    return text.split("Version", 1)[-1].strip() if "Version" in text else text


def _os_release() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return ""


def _die_with_parent() -> None:
    """Ask Linux for SIGTERM when the server that started us dies, and turn SIGTERM
    into a normal exit, so the desktop, browser and ffmpeg are closed, not orphaned."""
    import ctypes
    import signal

    def stop(*_: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG


def main(argv: list[str]) -> int:
    spec_path, out = Path(argv[0]).resolve(), Path(argv[1]).resolve()
    os.umask(0o077)
    _die_with_parent()
    spec = Spec.load(spec_path)
    try:
        result = Recorder(spec, out).run()
    except WebRecorderUnavailable as exc:
        result = {"ok": False, "reason": f"recorder_unavailable: {exc.detail}"}
    except Exception as exc:  # reported to the parent as the task's failure reason
        result = {"ok": False, "reason": f"browser: {type(exc).__name__}: "
                                         f"{str(exc).splitlines()[0][:300] if str(exc) else ''}"}
    tmp = out / "result.json.tmp"
    tmp.write_text(json.dumps(result), "utf-8")
    os.replace(tmp, out / "result.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
