"""Offline bundle verification speed against `sha256sum` on the same media.

    .venv/bin/python -m bench.verify                 # 1 GiB media, best of 3
    .venv/bin/python -m bench.verify --size-mib 256 --reps 2

Goal (issue): `fieldproof verify BUNDLE.zip` within 0.9x of `sha256sum` on
the media for a 1 GB recording, i.e. sha256sum_time / verify_time >= 0.9.

A genuine bundle is built end to end: a real `fieldproof serve` (SQLite, file
store, embedded TSA), an enrolled device key, a signed 1 GiB import capture
uploaded from disk with `Client.capture_file`, polled until anchored, then
downloaded with `Client.export`. The media member is ZIP_STORED.

Timed, best of N, warm page cache (each file is read once before timing):
  sha256sum      `sha256sum` on the media extracted once from the zip
  verify-cli     `fieldproof verify BUNDLE.zip` (Python start-up included)
  verify-inproc  verify_bundle(ZipBundle(zipfile.ZipFile(...)))
Diagnostics (one run each): hashlib alone over the extracted file; the zip
member read with and without zipfile's CRC-32 check; the media hash with the
per-chunk slicing a streamed recording's bundle needs (4 MiB chunks); and a
cProfile of the in-process verify.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fieldproof.bundle.layout import BLOCK
from fieldproof.bundle.read import ZipBundle
from fieldproof.bundle.verify import hash_stream, verify_bundle
from fieldproof.client.api import Client, DeviceKeyFile

from ._proc import clean_env, fieldproof_bin
from ._util import header, log, met, shown, table, write_json

GOAL = 0.9
MIB = 1 << 20


def _make_media(path: Path, size: int) -> None:
    """``size`` bytes: a 16 MiB random block repeated (SHA-256 cost does not depend on content)."""
    block = os.urandom(16 * MIB)
    with path.open("wb") as out:
        left = size
        while left:
            n = min(left, len(block))
            out.write(block[:n])
            left -= n


def _warm(path: Path) -> None:
    with path.open("rb") as fh:
        while fh.read(8 * MIB):
            pass


def _best(fn: Callable[[], Any], reps: int) -> tuple[float, list[float], Any]:
    times: list[float] = []
    value: Any = None
    for _ in range(reps):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return min(times), times, value


def _build_bundle(work: Path, media: Path, timeout: float) -> tuple[Path, str]:
    from tests.support.live import LiveServer

    data_dir = work / "data"
    data_dir.mkdir()
    env = clean_env()
    env["FIELDPROOF_SEQUENCER_INTERVAL"] = "0.2"
    server = LiveServer(data_dir, env=env).start()
    try:
        token = server.create_user("bench-verify@example.org")
        client = Client(server.url, token, timeout=600)
        try:
            key = DeviceKeyFile.load_or_create(work / "device.key", create=True)
            client.enroll(key, "bench-verify")
            t0 = time.perf_counter()
            cap = client.capture_file(key, media, kind="import", mime="video/mp4")
            log(f"uploaded {media.stat().st_size // MIB} MiB in {time.perf_counter() - t0:.1f} s"
                f" (capture {cap['id']}, {cap['status']})")
            deadline = time.monotonic() + timeout
            while cap["status"] != "anchored":
                if time.monotonic() > deadline:
                    raise TimeoutError(f"capture {cap['id']} not anchored: {cap['status']}")
                time.sleep(0.2)
                cap = client.capture(cap["id"])
            bundle = work / f"fieldproof-{cap['id']}.zip"
            t0 = time.perf_counter()
            client.export(cap["id"], bundle)
            log(f"exported bundle ({bundle.stat().st_size // MIB} MiB) in "
                f"{time.perf_counter() - t0:.1f} s")
            return bundle, str(cap["id"])
        finally:
            client.close()
    finally:
        server.stop()


def _sha256sum(path: Path) -> str:
    out = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True)
    return out.stdout.split()[0]


def _verify_cli(bundle: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(fieldproof_bin()), "verify", str(bundle)], capture_output=True,
                          text=True, env=clean_env())


def _verify_inproc(bundle: Path) -> Any:
    with zipfile.ZipFile(bundle) as zf:
        return verify_bundle(ZipBundle(zf))


def _hashlib_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(BLOCK):
            h.update(block)
    return h.hexdigest()


def _read_member(bundle: Path, name: str, *, crc: bool) -> int:
    n = 0
    with zipfile.ZipFile(bundle) as zf, zf.open(name) as fh:
        if not crc:
            fh._expected_crc = None  # type: ignore[attr-defined]  # zipfile skips the CRC then
        while block := fh.read(BLOCK):
            n += len(block)
    return n


def _hash_member_sliced(bundle: Path, name: str, chunk: int) -> str:
    with zipfile.ZipFile(bundle) as zf, zf.open(name) as fh:
        size = zf.getinfo(name).file_size
        sizes = [chunk] * (size // chunk) + ([size % chunk] if size % chunk else [])
        return hash_stream(fh, sizes).sha256


def _profile(bundle: Path, top: int = 12) -> tuple[str, list[dict[str, Any]]]:
    prof = cProfile.Profile()
    prof.enable()
    _verify_inproc(bundle)
    prof.disable()
    buf = io.StringIO()
    st = pstats.Stats(prof, stream=buf).sort_stats("tottime")
    st.print_stats(top)
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in sorted(
            st.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]:  # type: ignore[attr-defined]
        rows.append({"func": f"{Path(file).name}:{line}({func})", "calls": nc,
                     "tottime_s": round(tt, 3), "cumtime_s": round(ct, 3)})
    return buf.getvalue(), rows


def run(args: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.verify", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size-mib", type=int, default=1024, help="media size (default 1024)")
    p.add_argument("--reps", type=int, default=3, help="timed runs per contender (best taken)")
    p.add_argument("--tmp-dir", type=Path, default=None, help="scratch parent (default /tmp)")
    p.add_argument("--anchor-timeout", type=float, default=60.0)
    p.add_argument("--no-profile", action="store_true")
    opts = p.parse_args(args)
    if opts.size_mib < 1 or opts.reps < 1:
        p.error("--size-mib and --reps must be positive")
    size = opts.size_mib * MIB
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="fp-bench-verify-", dir=opts.tmp_dir))
    try:
        media = work / "recording.mp4"
        log(f"writing {opts.size_mib} MiB media to {work}")
        _make_media(media, size)
        bundle, cid = _build_bundle(work, media, opts.anchor_timeout)
        media.unlink()  # the upload's source; the bundle holds its own copy
        extracted = work / "extracted.mp4"
        with zipfile.ZipFile(bundle) as zf:
            names = [i for i in zf.infolist() if i.filename.startswith("media/")]
            assert len(names) == 1, [i.filename for i in zf.infolist()]
            info = names[0]
            stored = info.compress_type == zipfile.ZIP_STORED
            with zf.open(info) as src, extracted.open("wb") as dst:
                shutil.copyfileobj(src, dst, 8 * MIB)
        assert extracted.stat().st_size == size
        _warm(bundle)
        _warm(extracted)

        log(f"timing sha256sum x{opts.reps}")
        t_sum, all_sum, digest = _best(lambda: _sha256sum(extracted), opts.reps)
        log(f"timing fieldproof verify (CLI) x{opts.reps}")
        t_cli, all_cli, proc = _best(lambda: _verify_cli(bundle), opts.reps)
        cli_ok = proc.returncode == 0
        if not cli_ok:
            log(f"CLI verify FAILED rc={proc.returncode}: "
                f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        log(f"timing verify_bundle in-process x{opts.reps}")
        t_in, all_in, report = _best(lambda: _verify_inproc(bundle), opts.reps)
        in_ok = bool(report.ok)
        media_check = next((r for r in report.results if r.name == "media"), None)
        t_start, _, _ = _best(lambda: subprocess.run(
            [str(fieldproof_bin()), "--version"], check=True, capture_output=True,
            env=clean_env()), 3)

        log("diagnostics")
        t_hashlib, _, hl_digest = _best(lambda: _hashlib_file(extracted), 1)
        t_crc, _, _ = _best(lambda: _read_member(bundle, info.filename, crc=True), 1)
        t_nocrc, _, _ = _best(lambda: _read_member(bundle, info.filename, crc=False), 1)
        t_sliced, _, sl_digest = _best(
            lambda: _hash_member_sliced(bundle, info.filename, 4 * MIB), 1)
        assert hl_digest == digest == sl_digest, (hl_digest, digest, sl_digest)

        def mibs(t: float) -> float:
            return round(size / MIB / t, 1)

        ratio_cli = t_sum / t_cli
        ratio_in = t_sum / t_in
        prof_text, prof_rows = ("", []) if opts.no_profile else _profile(bundle)
        results: dict[str, Any] = {
            **header("verify"),
            "goal": f"sha256sum_time / verify_time >= {GOAL} (verify CLI, {opts.size_mib} MiB)",
            "size_mib": opts.size_mib, "reps": opts.reps, "capture": cid,
            "bundle_mib": round(bundle.stat().st_size / MIB, 1), "media_stored": stored,
            "sha256sum": {"best_s": round(t_sum, 3), "runs_s": [round(t, 3) for t in all_sum],
                          "mib_s": mibs(t_sum)},
            "verify_cli": {"best_s": round(t_cli, 3), "runs_s": [round(t, 3) for t in all_cli],
                           "mib_s": mibs(t_cli), "ok": cli_ok, "returncode": proc.returncode,
                           "ratio": round(ratio_cli, 3), "met": ratio_cli >= GOAL},
            "verify_inproc": {"best_s": round(t_in, 3), "runs_s": [round(t, 3) for t in all_in],
                              "mib_s": mibs(t_in), "ok": in_ok,
                              "ratio": round(ratio_in, 3), "met": ratio_in >= GOAL,
                              "media_check": media_check.detail if media_check else None},
            "diagnostics": {
                "cli_version_s": round(t_start, 3),
                "cli_minus_inproc_s": round(t_cli - t_in, 3),
                "hashlib_file": {"s": round(t_hashlib, 3), "mib_s": mibs(t_hashlib)},
                "zip_read_with_crc": {"s": round(t_crc, 3), "mib_s": mibs(t_crc)},
                "zip_read_without_crc": {"s": round(t_nocrc, 3), "mib_s": mibs(t_nocrc)},
                "crc_cost_s": round(t_crc - t_nocrc, 3),
                "stream_sliced_hash_4mib": {"s": round(t_sliced, 3), "mib_s": mibs(t_sliced)},
                "profile_top_tottime": prof_rows,
            },
            "ok": cli_ok and in_ok,
        }
        path = write_json("verify", results)
        d = results["diagnostics"]
        print(f"\nbundle verify vs sha256sum, {opts.size_mib} MiB media "
              f"({'ZIP_STORED' if stored else 'compressed'}), best of {opts.reps}, warm cache")
        print(table([
            ["contender", "best s", "MiB/s", "sha256sum/verify", "verify", f"goal >= {GOAL}"],
            ["sha256sum (extracted)", f"{t_sum:.2f}", f"{mibs(t_sum)}", "", "", ""],
            ["fieldproof verify (CLI)", f"{t_cli:.2f}", f"{mibs(t_cli)}", f"{ratio_cli:.2f}",
             "pass" if cli_ok else "FAIL", met(ratio_cli >= GOAL)],
            ["verify_bundle in-process", f"{t_in:.2f}", f"{mibs(t_in)}", f"{ratio_in:.2f}",
             "pass" if in_ok else "FAIL", met(ratio_in >= GOAL)],
        ]))
        print("\ndiagnostics (one run each)")
        print(table([
            ["what", "s", "MiB/s"],
            ["CLI start-up (`fieldproof --version`)", f"{t_start:.2f}", ""],
            ["CLI verify minus in-process verify", f"{t_cli - t_in:.2f}", ""],
            ["hashlib sha256, extracted file", f"{t_hashlib:.2f}", f"{mibs(t_hashlib)}"],
            ["zip member read, CRC-32 checked", f"{t_crc:.2f}", f"{mibs(t_crc)}"],
            ["zip member read, CRC-32 skipped", f"{t_nocrc:.2f}", f"{mibs(t_nocrc)}"],
            ["media hash + 4 MiB chunk slices (stream)", f"{t_sliced:.2f}", f"{mibs(t_sliced)}"],
        ]))
        print(f"CRC-32 cost on read: {d['crc_cost_s']:.2f} s")
        if prof_text:
            print("\ncProfile of verify_bundle in-process (top by tottime):")
            print("\n".join(prof_text.strip().splitlines()[-16:]))
        print(f"\nwrote {shown(path)}; total {time.perf_counter() - started:.0f} s")
        return 0 if results["ok"] else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(run())
