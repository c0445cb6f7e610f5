"""`python -m bench.profile_ingest`: where the server's ingest time goes (diagnosis).

Not part of `make bench`. Three parts, 10 to 60 seconds in all:

1. transport: gunicorn (gthread, like `fieldproof serve`) running an app that
   only drains the body, read 64 KiB at a time (werkzeug's default multipart
   read size) and 1 MiB at a time (what the server's parser now reads,
   web/upload.py); MiB/s as httpx sees it.
2. steps in this process: SHA-256, werkzeug's multipart parser into a null
   sink and into a HashingSpool, the spool's fsync, the store's read-back.
3. profile: one upload-only request against a real server, as shipped, whose
   POST /captures runs under cProfile (see bench/_profiled_serve.py), own time
   grouped by layer.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from werkzeug.formparser import MultiPartParser

from fieldproof.capture.spool import HashingSpool
from fieldproof.storage.filesystem import FilesystemStore

from ._proc import HOST, Server
from ._util import OUT_DIR
from .ingest import (
    MiB,
    enrolled_client,
    sign_for_upload,
    upload_signed,
    write_random_file,
)


class DrainServer(Server):
    health_path = "/"

    def __init__(self, data_dir: Path, read_size: int) -> None:
        super().__init__(data_dir)
        self.read_size = read_size

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "gunicorn", "bench._drain_app:app", "-k", "gthread",
                "--threads", "4", "-b", f"{HOST}:{self.port}", "--log-level", "warning"]

    def env(self) -> dict[str, str]:
        return super().env() | {"BENCH_DRAIN_READ": str(self.read_size)}


def mib_s(size: int, seconds: float) -> float:
    return round(size / MiB / seconds, 1)


def transport(tmp: Path, src: Path) -> dict[str, Any]:
    size = src.stat().st_size
    out: dict[str, Any] = {}
    for read_size in (64 * 1024, MiB):
        with DrainServer(tmp / f"drain-{read_size}", read_size) as server, \
                httpx.Client(timeout=120) as http:
            for _ in range(2):  # keep the better one
                with src.open("rb") as fh:
                    t0 = time.perf_counter()
                    resp = http.post(f"{server.url}/", files={"media": ("m", fh, "video/mp4")})
                    seconds = time.perf_counter() - t0
                resp.raise_for_status()
                name = f"httpx->gunicorn, app reads {read_size // 1024} KiB"
                out[name] = max(out.get(name, 0.0), mib_s(size, seconds))
    return out


def steps(tmp: Path, size: int) -> dict[str, Any]:
    media = os.urandom(size)
    req = httpx.Request("POST", "http://x/", data={"manifest": "{}", "signature": "x"},
                        files={"media": ("m.bin", io.BytesIO(media), "video/mp4")})
    body = b"".join(req.stream)  # type: ignore[arg-type]
    boundary = req.headers["content-type"].split("boundary=")[1].encode()
    out: dict[str, Any] = {}

    t0 = time.perf_counter()
    hashlib.sha256(media).hexdigest()
    out["sha256 (one pass)"] = mib_s(size, time.perf_counter() - t0)

    class Null(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return True

        def seek(self, pos: int, whence: int = 0) -> int:
            return 0

        def write(self, b: Any) -> int:
            return len(b)

    for buf in (64 * 1024, MiB):
        parser = MultiPartParser(stream_factory=lambda **_: Null(),  # type: ignore[arg-type]
                                 max_form_memory_size=2 * buf + 4096, buffer_size=buf)
        t0 = time.perf_counter()
        parser.parse(io.BytesIO(body), boundary, len(body))
        out[f"werkzeug multipart, {buf // 1024} KiB reads, null sink"] = mib_s(
            size, time.perf_counter() - t0)

    store = FilesystemStore(tmp / "steps-store")
    spools: list[HashingSpool] = []

    def spool_factory(**_: Any) -> HashingSpool:
        spools.append(HashingSpool(store.tmp_dir))
        return spools[-1]

    parser = MultiPartParser(stream_factory=spool_factory,  # type: ignore[arg-type]
                             max_form_memory_size=2 * MiB + 4096, buffer_size=MiB)
    t0 = time.perf_counter()
    parser.parse(io.BytesIO(body), boundary, len(body))
    out["werkzeug multipart, 1024 KiB reads, into HashingSpool"] = mib_s(
        size, time.perf_counter() - t0)
    spool = spools[0]
    t0 = time.perf_counter()
    spool.finish()
    out["spool fsync (s)"] = round(time.perf_counter() - t0, 3)
    spool.close()
    store.put_file("bench/steps", spool.path, consume=True)
    t0 = time.perf_counter()
    digest = hashlib.sha256()
    for block in store.iter_range("bench/steps"):
        digest.update(block)
    out["store read-back + sha256"] = mib_s(size, time.perf_counter() - t0)
    return out


GROUPS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("sha256 (spool + read-back)", lambda f: "_hashlib.HASH" in f),
    ("gunicorn body reading", lambda f: "gunicorn/http" in f or "_io.BytesIO" in f),
    ("socket recv", lambda f: "_socket.socket" in f),
    ("werkzeug multipart", lambda f: "werkzeug/sansio/multipart" in f
     or "werkzeug/formparser" in f or "werkzeug/wsgi" in f or "bytearray" in f
     or "_io._RawIOBase" in f),
    ("spool/store file writes", lambda f: "_io.BufferedRandom" in f
     or "fieldproof/capture/spool" in f),
    ("fsync", lambda f: "posix.fsync" in f),
    ("store read", lambda f: "_io.BufferedReader" in f or "storage/filesystem" in f),
)


def profile(tmp: Path, src: Path, top: int) -> dict[str, Any]:
    prof_dir = tmp / "prof"
    with Server(tmp / "server-prof", profile_dir=prof_dir) as server:
        client, key = enrolled_client(server, tmp)
        try:
            signed = sign_for_upload(client, key, src)
            t0 = time.perf_counter()
            upload_signed(client, key, src, signed)
            seconds = time.perf_counter() - t0
        finally:
            client.close()
    dumps = sorted(prof_dir.glob("upload-*.prof"))
    stats = pstats.Stats(str(dumps[-1]), stream=io.StringIO())
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    grouped = dict.fromkeys([g for g, _ in GROUPS] + ["other"], 0.0)
    for (filename, line, func), (_cc, _nc, tt, _ct, _callers) in raw.items():
        where = f"{filename}:{line}({func})"
        name = next((g for g, match in GROUPS if match(where)), "other")
        grouped[name] += tt
    buf = io.StringIO()
    pstats.Stats(str(dumps[-1]), stream=buf).sort_stats("tottime").print_stats(top)
    return {"client_upload_mib_s": mib_s(src.stat().st_size, seconds),
            "server_request_s": round(total, 3),
            "own_time_by_layer_s": {k: round(v, 3) for k, v in grouped.items()},
            "top_functions": buf.getvalue()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile_ingest", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size-mib", type=int, default=256)
    p.add_argument("--top", type=int, default=15, help="functions shown by own time")
    args = p.parse_args(argv)
    size = args.size_mib * MiB
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="profile-", dir=OUT_DIR))
    try:
        src = tmp / "media.bin"
        write_random_file(src, size)
        results = {"size_bytes": size, "transport_mib_s": transport(tmp, src),
                   "steps_mib_s": steps(tmp, min(size, 128 * MiB)),
                   "profile": profile(tmp, src, args.top)}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    top = results["profile"].pop("top_functions")
    print(json.dumps(results, indent=2))
    print(top)
    (OUT_DIR / "profile_ingest.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
