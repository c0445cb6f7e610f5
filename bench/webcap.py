"""Web captures: what one recorded minute costs, in time and disk.

    .venv/bin/python -m bench.webcap                  # page and video, 60 s each
    .venv/bin/python -m bench.webcap --seconds 30

A real `fieldproof serve` (SQLite, file store) records a local site
(tests/support/website.py: a long text page, and a page whose <video> plays a
clip with a tone) through its whole path: the recorder process (Xvfb,
PulseAudio, Chromium, ffmpeg), the WARC, hashing, signing and storing.

Baseline, in the same run: the duration asked for. Reported per mode:
  wall / asked      creation of the task to awaiting_confirmation, over the duration
  MiB per minute    everything kept (video, WARC, screenshots, MHTML, environment)
  video per minute  the recording alone
Benchmarks report; nothing here asserts a goal.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._util import header, log, table, write_json
from tests.support.live import LiveServer
from tests.support.website import LocalSite


def _one(api: str, headers: dict[str, str], url: str, mode: str, seconds: int) -> dict[str, Any]:
    t0 = time.monotonic()
    task = httpx.post(f"{api}/web-captures", json={"url": url, "mode": mode,
                                                  "duration_s": seconds}, headers=headers,
                      timeout=30).json()
    while task["status"] in ("scheduled", "recording"):
        time.sleep(0.25)
        task = httpx.get(f"{api}/web-captures/{task['id']}", headers=headers, timeout=30).json()
    wall = time.monotonic() - t0
    if task["status"] != "awaiting_confirmation":
        raise RuntimeError(f"{mode}: {task['status']} {task.get('reason')}")
    capture = httpx.get(f"{api}/captures/{task['capture_id']}", headers=headers,
                        timeout=30).json()
    video = capture["media"]["size"]
    total = video + sum(f["size"] for f in task["files"])
    per_min = 60.0 / seconds
    return {"mode": mode, "asked_s": seconds, "wall_s": round(wall, 1),
            "wall_over_asked": round(wall / seconds, 3),
            "mib_per_min": round(total / 2**20 * per_min, 2),
            "video_mib_per_min": round(video / 2**20 * per_min, 2),
            "files": {f["name"]: f["size"] for f in task["files"]}}


def run(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.webcap", description=__doc__)
    p.add_argument("--seconds", type=int, default=60)
    args = p.parse_args(argv)
    base = Path(tempfile.mkdtemp(prefix="bench-webcap-"))
    results: dict[str, Any] = {**header("webcap"), "runs": []}
    try:
        with LocalSite(base / "www") as site:
            subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                            "testsrc=size=640x360:rate=25", "-f", "lavfi", "-i",
                            "sine=frequency=440:sample_rate=48000", "-t",
                            str(args.seconds + 10), "-c:v", "libx264", "-pix_fmt", "yuv420p",
                            "-c:a", "aac", "-shortest", str(site.root / "long.mp4")],
                           check=True, timeout=300)
            (site.root / "long.html").write_text(
                "<!doctype html><title>clip</title><video src=long.mp4 width=960></video>")
            srv = LiveServer(base / "var", env={"FIELDPROOF_WEB_ALLOW_PRIVATE": "1"})
            srv.data_dir.mkdir()
            srv.start()
            try:
                token = srv.create_user("bench@example.org")
                headers = {"Authorization": f"Bearer {token}"}
                api = srv.url + "/api/v1"
                for url, mode in ((f"{site.http}/page.html", "page"),
                                  (f"{site.http}/long.html", "video")):
                    log(f"webcap: {mode}, {args.seconds} s")
                    results["runs"].append(_one(api, headers, url, mode, args.seconds))
            finally:
                srv.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(table([("mode", "asked s", "wall s", "wall/asked", "MiB/min", "video MiB/min"),
                 *[(r["mode"], str(r["asked_s"]), str(r["wall_s"]), str(r["wall_over_asked"]),
                    str(r["mib_per_min"]), str(r["video_mib_per_min"])) for r in results["runs"]]]))
    write_json("webcap", results)
    return 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
