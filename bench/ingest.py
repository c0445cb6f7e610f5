"""Ingest benchmarks: throughput against a plain store copy, and server RSS growth.

Both run against a real `fieldproof serve` subprocess on 127.0.0.1 with
SQLite and the filesystem store. Figures are reported, never asserted: the
goals are printed next to them for the reader.

1. throughput: a random file (256 MiB by default) is
   - plain upload, the goal's baseline: POSTed as the body, streamed from disk
     as Client.upload streams media, to bench/upload_server.py, a minimal
     server under the same gunicorn settings that writes it with fsync into
     the server's store tmp dir and does nothing else;
   - store copy: copied with put_file (copy + fsync) into the server's own
     FilesystemStore directory, so both sides write where the other freed space;
   - store copy + read-back: the same copy, then the stored object read back
     through the store and hashed with SHA-256;
   - end to end: sent with Client.capture_file (nonce, client-side SHA-256,
     manifest, signature, upload, server-side hash/spool/store/commit);
   - upload only: the manifest is signed beforehand, only Client.upload is
     timed: the media as the body, the manifest in a header, hashed by the
     server while it spools, the spool renamed into the store, not read
     back. Goal: >= 0.8 of the plain upload.
   One SHA-256 pass over the file is timed too, to explain the ratios.
   Each repetition changes a few bytes of the file first, so every upload is new
   content (the store is content-addressed and would otherwise skip the write).
2. rss: a fresh server's RSS (gunicorn arbiter + worker, from /proc) is sampled
   every 50 ms while a 1 GiB file is uploaded; peak minus before is reported.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from fieldproof.client.api import (
    Client,
    DeviceKeyFile,
    device_metadata,
    file_sha256,
)
from fieldproof.core.canonical import canonicalize
from fieldproof.core.manifest import new_manifest
from fieldproof.storage.base import media_key
from fieldproof.storage.filesystem import FilesystemStore

from ._proc import RssSampler, Server
from ._util import OUT_DIR, header, log, met, shown, table, write_json

MiB = 1 << 20
BLOCK = 8 * MiB
THROUGHPUT_GOAL = 0.8  # API upload MiB/s over a plain fsync'd upload's, filesystem store
RSS_GOAL_MIB = 64.0  # server RSS growth while ingesting 1 GiB
KIND, MIME = "video", "video/mp4"
# Timed rows of the throughput benchmark, in table order.
ROWS = ("plain_upload", "baseline", "baseline_sha256", "sha256_pass", "end_to_end",
        "upload_only", "baseline_fresh")
CLIENT_TIMEOUT = 300.0


# -- files ----------------------------------------------------------------------

def write_random_file(path: Path, size: int) -> None:
    """``size`` bytes of os.urandom, written in 8 MiB blocks (never all in memory)."""
    with path.open("wb") as fh:
        left = size
        while left:
            n = min(BLOCK, left)
            fh.write(os.urandom(n))
            left -= n
        fh.flush()
        os.fsync(fh.fileno())


def make_unique(path: Path) -> None:
    """Overwrite the first 16 bytes: new SHA-256, same size, file stays in page cache."""
    with path.open("r+b") as fh:
        fh.write(os.urandom(16))


# -- client side ----------------------------------------------------------------

@dataclass
class Signed:
    manifest: bytes
    signature: bytes
    sha256: str
    size: int


def sign_for_upload(client: Client, key: DeviceKeyFile, path: Path) -> Signed:
    """Everything Client.capture_file does before Client.upload (same order)."""
    nonce = client.nonce()
    start = datetime.now(UTC)
    sha, size = file_sha256(path)
    if key.has_state():
        prev = key.chain_head()
    else:
        dev = client.device(key.key_id)
        assert dev is not None, "device not enrolled"
        prev = dev["head_manifest"]
    manifest = new_manifest(kind=KIND, sha256=sha, size=size, mime=MIME, start=start,
                            end=datetime.now(UTC), nonce=nonce["nonce"], key_id=key.key_id,
                            prev=prev, device=device_metadata())
    canonical = canonicalize(manifest)
    return Signed(canonical, key.sign(canonical), sha, size)


def upload_signed(client: Client, key: DeviceKeyFile, path: Path, signed: Signed) -> dict[str, Any]:
    result: dict[str, Any] = client.upload(signed.manifest, signed.signature, path, MIME)
    key.set_chain_head(result["manifest_hash"])
    return result


def check_stored(result: dict[str, Any], size: int, sha256: str | None = None) -> None:
    """Sanity, not a benchmark assertion: a failed ingest would make the figure a lie."""
    media = result.get("media", {})
    if result.get("status") != "stored" or media.get("size") != size or (
            sha256 is not None and media.get("sha256") != sha256):
        raise RuntimeError(f"unexpected ingest result: status={result.get('status')} "
                           f"media={media}")


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    os.sync()  # earlier dirty pages must not be flushed on this clock
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def enrolled_client(server: Server, keydir: Path) -> tuple[Client, DeviceKeyFile]:
    token = server.create_user("bench@example.org", "bench password, long enough")
    client = Client(server.url, token, timeout=CLIENT_TIMEOUT)
    key = DeviceKeyFile.load_or_create(keydir / f"device-{server.port}.pem", create=True)
    client.enroll(key, label="bench")
    return client, key


def warm_up(client: Client, key: DeviceKeyFile, tmp: Path) -> None:
    """One small capture, untimed: first-request imports and DB caches are not the subject."""
    small = tmp / "warmup.bin"
    write_random_file(small, MiB)
    check_stored(client.capture_file(key, small, kind=KIND, mime=MIME), MiB)
    small.unlink()


# -- figures --------------------------------------------------------------------

def summary(seconds: list[float], size: int) -> dict[str, Any]:
    best, med = min(seconds), statistics.median(seconds)
    return {"seconds": [round(s, 4) for s in seconds],
            "best_s": round(best, 4), "median_s": round(med, 4),
            "best_mib_s": round(size / MiB / best, 1),
            "median_mib_s": round(size / MiB / med, 1)}


def ratio(subject: dict[str, Any], baseline: dict[str, Any]) -> dict[str, float]:
    return {"best": round(subject["best_mib_s"] / baseline["best_mib_s"], 3),
            "median": round(subject["median_mib_s"] / baseline["median_mib_s"], 3)}


# -- benchmark 1 ----------------------------------------------------------------

def describe(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    where = f"HTTP {status} {code}: " if isinstance(status, int) and status > 2 else ""
    return f"{type(exc).__name__}: {where}{exc}"


class UploadServer(Server):
    """bench/upload_server.py: a plain HTTP upload written with fsync, nothing else."""

    def __init__(self, data_dir: Path, *, into: Path, cpus: str | None = None) -> None:
        super().__init__(data_dir, cpus=cpus)
        self.into = into

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "bench.upload_server", "--port", str(self.port),
                "--dir", str(self.into)]

    def upload(self, path: Path) -> dict[str, Any]:
        """POST the file as the body, streamed from disk, as Client.upload sends media."""
        with path.open("rb") as fh, httpx.Client(timeout=CLIENT_TIMEOUT) as http:
            resp = http.post(f"{self.url}/upload", content=fh,
                             headers={"Content-Type": MIME})
        resp.raise_for_status()
        return resp.json()  # type: ignore[no-any-return]


def read_back_sha256(store: FilesystemStore, key: str) -> str:
    """What the server does after storing: read the object back and hash it."""
    digest = hashlib.sha256()
    for block in store.iter_range(key):
        digest.update(block)
    return digest.hexdigest()


def split_cpus() -> tuple[str | None, set[int] | None]:
    """The servers' CPU and the client's: on 2 cores the scheduler sometimes kept
    the sending client and the receiving server on one core for a whole run,
    which halved the server's upload (355 against 700-850 MiB/s, runs of the same
    code) and made the goal's ratio bimodal (0.49 or 0.89). A phone is not on
    the server's core: the servers (FieldProof's and the plain one, alike) get
    the first CPU, this process the others. None where that is not possible."""
    mine = sorted(os.sched_getaffinity(0))
    if len(mine) < 2 or shutil.which("taskset") is None:
        return None, None
    return str(mine[0]), set(mine[1:])


@contextmanager
def on_cpus(cpus: set[int] | None) -> Iterator[None]:
    if cpus is None:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def bench_throughput(tmp: Path, size: int, reps: int) -> dict[str, Any]:
    src = tmp / "throughput.bin"
    server_cpus, client_cpus = split_cpus()
    log(f"throughput: writing {size // MiB} MiB of random data")
    write_random_file(src, size)
    times: dict[str, list[float]] = {name: [] for name in ROWS}
    error: str | None = None
    base_store: FilesystemStore | None = None

    def use_store(store: FilesystemStore) -> FilesystemStore:
        # Untimed: the first large write lands on blocks this disk never wrote,
        # several times slower on this kind of VM; afterwards every timed write
        # reuses the space the previous one freed (see "Disk" in bench/README.md).
        store.put_file("bench/warm-up", src)
        store.delete("bench/warm-up")
        os.sync()
        return store

    def baseline_rep(store: FilesystemStore, rep: int) -> None:
        make_unique(src)
        object_key = f"bench/baseline-{rep}"
        t, info = timed(lambda: store.put_file(object_key, src))
        assert info.size == size
        store.delete(object_key)
        times["baseline"].append(t)

        make_unique(src)
        object_key = f"bench/readback-{rep}"

        def copy_and_hash() -> str:
            store.put_file(object_key, src)
            return read_back_sha256(store, object_key)

        t, digest = timed(copy_and_hash)
        store.delete(object_key)
        times["baseline_sha256"].append(t)

        t, (digest2, _) = timed(lambda: file_sha256(src))
        assert digest == digest2
        times["sha256_pass"].append(t)

    try:
        try:
            with Server(tmp / "server-throughput", cpus=server_cpus) as server, \
                    UploadServer(tmp / "server-plain", cpus=server_cpus,
                                 into=server.data_dir / "store" / "tmp") as plain, \
                    on_cpus(client_cpus):
                # The baselines write into the server's own store directory, so
                # both sides spool in the same tmp dir and reuse the same space.
                base_store = use_store(FilesystemStore(server.data_dir / "store"))
                client, key = enrolled_client(server, tmp)
                try:
                    warm_up(client, key, tmp)
                    def plain_upload() -> None:
                        make_unique(src)
                        t, answer = timed(lambda: plain.upload(src))
                        assert answer["size"] == size
                        Path(answer["path"]).unlink()  # untimed
                        times["plain_upload"].append(t)

                    def upload_only() -> None:
                        make_unique(src)
                        signed = sign_for_upload(client, key, src)
                        t, result = timed(partial(upload_signed, client, key, src, signed))
                        check_stored(client.capture(result["id"]), size, signed.sha256)
                        times["upload_only"].append(t)
                        base_store.delete(media_key(signed.sha256))

                    # Interleaved, so drift (page cache, neighbours) hits all rows alike.
                    # The goal's pair runs back to back, in turns first (this disk's
                    # speed wanders over minutes): each rep gives one paired ratio.
                    for rep in range(reps):
                        for step in ((plain_upload, upload_only) if rep % 2 == 0
                                     else (upload_only, plain_upload)):
                            step()

                        baseline_rep(base_store, rep)

                        make_unique(src)
                        t, result = timed(lambda: client.capture_file(key, src, kind=KIND,
                                                                      mime=MIME))
                        check_stored(result, size)
                        times["end_to_end"].append(t)
                        base_store.delete(media_key(result["media"]["sha256"]))
                        log(f"throughput rep {rep + 1}/{reps}: "
                            f"plain upload {times['plain_upload'][-1]:.2f}s"
                            f", copy {times['baseline'][-1]:.2f}s"
                            f", copy+read-back {times['baseline_sha256'][-1]:.2f}s"
                            f", end to end {times['end_to_end'][-1]:.2f}s"
                            f", upload only {times['upload_only'][-1]:.2f}s")
                finally:
                    client.close()
        except Exception as exc:  # report it with whatever was measured
            error = describe(exc)
            log(f"throughput: API path failed: {error}")
        if base_store is None:  # the server never came up: a store of our own
            base_store = use_store(FilesystemStore(tmp / "baseline-store"))
        while len(times["baseline"]) < reps:  # the baselines are worth having regardless
            baseline_rep(base_store, len(times["baseline"]))
        # Info only: the same copy with no freed space at hand (a filler takes
        # it first), so it lands on blocks this disk has never written.
        make_unique(src)
        base_store.put_file("bench/filler", src)
        make_unique(src)
        t, _ = timed(lambda: base_store.put_file("bench/fresh", src))
        times["baseline_fresh"].append(t)
        base_store.delete("bench/filler")
        base_store.delete("bench/fresh")
    finally:
        src.unlink(missing_ok=True)
    out: dict[str, Any] = {"size_bytes": size, "reps": reps,
                           "goal": f"median of each rep's plain_upload / upload_only seconds "
                                   f">= {THROUGHPUT_GOAL}",
                           "store": "the server's own FilesystemStore directory",
                           "cpus": {"servers": server_cpus,
                                    "client": sorted(client_cpus) if client_cpus else None}}
    out.update({name: summary(ts, size) for name, ts in times.items() if ts})
    for name in ROWS:
        if name != "baseline" and name in out:
            out[f"ratio_{name}"] = ratio(out[name], out["baseline"])
    if "plain_upload" in out:
        for name in ("end_to_end", "upload_only"):
            if name in out:
                out[f"ratio_{name}_vs_plain"] = ratio(out[name], out["plain_upload"])
    pairs = list(zip(times["plain_upload"], times["upload_only"], strict=False))
    if pairs:
        # plain seconds / upload-only seconds of the same rep, run back to back
        paired = [round(p / u, 3) for p, u in pairs]
        out["paired_upload_only_vs_plain"] = {"each": paired,
                                              "median": round(statistics.median(paired), 3)}
        out["goal_met"] = out["paired_upload_only_vs_plain"]["median"] >= THROUGHPUT_GOAL
    if error:
        out["error"] = error
    return out


# -- benchmark 2 ----------------------------------------------------------------

def bench_rss(tmp: Path, size: int) -> dict[str, Any]:
    src = tmp / "rss.bin"
    sampler: RssSampler | None = None
    out: dict[str, Any] = {"size_bytes": size, "interval_s": 0.05,
                           "goal": f"growth < {RSS_GOAL_MIB:g} MiB"}
    try:
        with Server(tmp / "server-rss") as server:
            client, key = enrolled_client(server, tmp)
            try:
                warm_up(client, key, tmp)
                log(f"rss: writing {size // MiB} MiB of random data")
                write_random_file(src, size)
                signed = sign_for_upload(client, key, src)  # client hash: not sampled
                os.sync()
                sampler = RssSampler(server.pid, interval=out["interval_s"])
                before = sampler.sample()
                log(f"rss: uploading; server pid {server.pid}, "
                    f"workers {before.worker_kib // 1024} MiB before")
                t0 = time.perf_counter()
                with sampler:
                    result = upload_signed(client, key, src, signed)
                elapsed = time.perf_counter() - t0
                check_stored(client.capture(result["id"]), size, signed.sha256)
                after = sampler.sample()
            finally:
                client.close()
    except Exception as exc:
        out["error"] = describe(exc)
        log(f"rss: failed: {out['error']}")
        if sampler is not None and sampler.samples:  # what the server did until it failed
            peak = max(s.total_kib for s in sampler.samples)
            out["growth_total_mib_until_error"] = round((peak - before.total_kib) / 1024, 1)
        return out
    finally:
        src.unlink(missing_ok=True)
    samples = sampler.samples
    peak_worker = max(s.worker_kib for s in samples)
    peak_total = max(s.total_kib for s in samples)
    out.update({
        "upload_s": round(elapsed, 3),
        "upload_mib_s": round(size / MiB / elapsed, 1),
        "samples": len(samples),
        "worker_before_mib": round(before.worker_kib / 1024, 1),
        "worker_peak_mib": round(peak_worker / 1024, 1),
        "worker_after_mib": round(after.worker_kib / 1024, 1),
        "total_before_mib": round(before.total_kib / 1024, 1),
        "total_peak_mib": round(peak_total / 1024, 1),
        "growth_worker_mib": round((peak_worker - before.worker_kib) / 1024, 1),
        "growth_total_mib": round((peak_total - before.total_kib) / 1024, 1),
    })
    return out


# -- report ---------------------------------------------------------------------

LABELS = {
    "plain_upload": "plain HTTP upload + fsync, baseline",
    "baseline": "store copy, baseline",
    "baseline_sha256": "store copy + SHA-256 read-back",
    "sha256_pass": "one SHA-256 pass over the file",
    "end_to_end": "API end to end (client hashes first)",
    "upload_only": "API upload only (signed beforehand)",
    "baseline_fresh": "store copy into never-written blocks",
}
GOAL_ROW = "upload_only"


def _ratio_text(r: dict[str, float] | None) -> str:
    return f"{r['best']:.2f} / {r['median']:.2f}" if r else ""


def report(results: dict[str, Any]) -> str:
    rows: list[tuple[str, ...]] = [("ingest", "best", "median", "/ store copy (best / median)",
                                    "/ plain upload", "goal")]
    notes: list[str] = []
    tp = results.get("throughput")
    if tp:
        mib = tp["size_bytes"] // MiB
        for name in ROWS:
            label = LABELS[name] + (f" ({mib} MiB)" if name == "plain_upload" else "")
            goal = f"/ plain >= {THROUGHPUT_GOAL}" if name == GOAL_ROW else ""
            if name not in tp:
                rows.append((label, "n/a", "n/a", "n/a", "n/a",
                             (goal + " " if goal else "") + "(failed, see below)"))
                continue
            vs_plain = tp.get(f"ratio_{name}_vs_plain")
            paired = tp.get("paired_upload_only_vs_plain")
            if goal and paired:
                goal += (f": paired {paired['median']:.2f} "
                         f"({', '.join(f'{x:.2f}' for x in paired['each'])}) "
                         + met(tp["goal_met"]))
            rows.append((label, f"{tp[name]['best_mib_s']} MiB/s",
                         f"{tp[name]['median_mib_s']} MiB/s",
                         _ratio_text(tp.get(f"ratio_{name}")) or "1", _ratio_text(vs_plain),
                         goal))
        cpus = tp.get("cpus", {})
        if cpus.get("servers") is not None:
            notes.append(f"CPUs: both servers on {cpus['servers']}, the client on "
                         f"{','.join(map(str, cpus['client']))} (a phone is not on the "
                         "server's core)")
        for name in ROWS:
            secs = tp.get(name, {}).get("seconds", [])
            if len(secs) > 1 and max(secs) > 1.5 * min(secs):
                notes.append(f"note: {name} repetitions differ {max(secs) / min(secs):.1f}x "
                             f"({', '.join(f'{x:.2f}s' for x in secs)}); read the best column")
        if tp.get("goal_met") is False:
            plain_s, up_s = tp["plain_upload"]["best_s"], tp[GOAL_ROW]["best_s"]
            sha_s = tp.get("sha256_pass", {}).get("best_s", 0.0)
            notes.append(
                f"GOAL NOT MET: the API upload is "
                f"{tp['paired_upload_only_vs_plain']['median']:.2f} of a plain upload written "
                f"with fsync (the median of each rep's back-to-back pair; best "
                f"{tp['ratio_upload_only_vs_plain']['best']:.2f}), goal {THROUGHPUT_GOAL}. Of its "
                f"best {up_s:.2f} s, the plain upload's {plain_s:.2f} s; one SHA-256 pass alone is "
                f"{sha_s:.2f} s (the server hashes as it spools); `python -m bench.profile_ingest` "
                f"breaks the rest down.")
        if "end_to_end" in tp and "sha256_pass" in tp:
            notes.append(
                "end to end adds the client's own SHA-256 pass before it can sign "
                f"({tp['sha256_pass']['best_s']:.2f} s here): a phone hashes as it records, "
                "so upload only is the ingest a recording waits for.")
    rss = results.get("rss")
    if rss:
        label = f"server RSS growth ({rss['size_bytes'] // MiB} MiB upload)"
        if "growth_total_mib" in rss:
            rows.append((label, f"{rss['growth_total_mib']} MiB", "", "", "",
                         f"< {RSS_GOAL_MIB:g} MiB {met(rss['growth_total_mib'] < RSS_GOAL_MIB)}"))
            rows.append(("  worker only, before -> peak", f"{rss['growth_worker_mib']} MiB",
                         f"{rss['worker_before_mib']} -> {rss['worker_peak_mib']} MiB",
                         f"upload at {rss['upload_mib_s']} MiB/s", "", ""))
        else:
            rows.append((label, "n/a", "", "", "",
                         f"< {RSS_GOAL_MIB:g} MiB (failed, see below)"))
    for name in ("throughput", "rss"):
        if results.get(name, {}).get("error"):
            notes.append(f"{name} error: {results[name]['error']}")
    return "\n".join([table(rows), *notes])


def run(*, size_mib: int = 256, rss_size_mib: int = 1024, reps: int = 2,
        only: str | None = None, tmp_root: Path | None = None, keep: bool = False) -> int:
    """Run the benchmarks; 1 if one could not run at all, never because of a figure."""
    started = time.perf_counter()
    root = tmp_root or OUT_DIR
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="ingest-", dir=root))
    results: dict[str, Any] = header("ingest") | {
        "store": "filesystem", "database": "sqlite", "tmp_dir": str(tmp)}
    try:
        if only in (None, "throughput"):
            results["throughput"] = bench_throughput(tmp, size_mib * MiB, reps)
        if only in (None, "rss"):
            results["rss"] = bench_rss(tmp, rss_size_mib * MiB)
    finally:
        if keep:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    out = write_json("ingest", results)
    print(f"\n== ingest: filesystem store, SQLite, {reps} reps, {os.cpu_count()} CPUs, "
          f"{results['elapsed_s']} s")
    print(report(results))
    print(f"MiB/s of the media file; ratios against the plain copy measured in this run; "
          f"JSON: {shown(out)}", flush=True)
    failed = any(results.get(n, {}).get("error") for n in ("throughput", "rss"))
    return 1 if failed else 0
