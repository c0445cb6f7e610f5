"""`python -m bench` (`make bench`): run the benchmarks and print their figures.

    python -m bench                  # all: ingest, log, delay, streams, pwa, verify, webcap, asr
    python -m bench log delay        # a subset, in the order given

Benchmarks report; tests assert. The exit status is non-zero only when a
benchmark could not run at all, never because a figure missed its goal.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from . import asr, delay, ingest, pwa, streams, translog, verify, webcap
from ._util import log

NAMES = ("ingest", "log", "delay", "streams", "pwa", "verify", "webcap", "asr")


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so every `finally` (server, temp dirs) runs.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("benchmarks", nargs="*", metavar="NAME",
                   help=f"which to run: {', '.join(NAMES)} (default: all, in that order)")
    p.add_argument("--tmp-dir", type=Path, default=None,
                   help="where scratch dirs go (default bench/out/)")
    p.add_argument("--keep", action="store_true", help="keep scratch dirs (server logs, DBs)")
    g = p.add_argument_group("ingest")
    g.add_argument("--only", choices=["throughput", "rss"], help="ingest: run one part")
    g.add_argument("--size-mib", type=int, default=256, help="throughput file size")
    g.add_argument("--rss-size-mib", type=int, default=1024, help="RSS benchmark file size")
    g.add_argument("--reps", type=int, default=2, help="throughput repetitions")
    g = p.add_argument_group("log")
    g.add_argument("--log-only", choices=["append", "proofs"], help="log: run one part")
    g.add_argument("--appends", type=int, default=20_000, help="entries appended")
    g.add_argument("--leaves", type=int, default=1_000_000, help="leaves of the proof log")
    g.add_argument("--proofs", type=int, default=500, help="proofs timed per kind")
    g = p.add_argument_group("delay")
    g.add_argument("--rate", type=float, default=50.0, help="captures per second sent")
    g.add_argument("--duration", type=float, default=20.0, help="seconds of sending")
    g.add_argument("--senders", type=int, default=4, help="sending threads (one device each)")
    g.add_argument("--deadline", type=float, default=15.0,
                   help="seconds after the last send to wait for anchoring")
    g.add_argument("--delay-on", choices=["single", "cluster", "both"], default="both",
                   help="one server (SQLite), the cluster (make cluster), or both in turn")
    g.add_argument("--cluster-rate", type=float, default=25.0,
                   help="captures per second sent to the cluster (the 200/s of the goal "
                        "is beyond what 2 cores carry: offered 200/s from 32 senders, they "
                        "took 60-82/s, the CPU saturated)")
    g.add_argument("--cluster-senders", type=int, default=8,
                   help="sending threads for the cluster")
    g.add_argument("--live-sign", action="store_true",
                   help="fetch the nonce and sign each capture while sending "
                        "(default: nonces fetched and manifests signed beforehand)")
    streams.add_arguments(p.add_argument_group("streams"))
    args = p.parse_args(argv)
    unknown = [n for n in args.benchmarks if n not in NAMES]
    if unknown:
        p.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    if min(args.reps, args.size_mib, args.rss_size_mib, args.appends, args.proofs,
           args.senders, args.cluster_senders) < 1 or args.leaves < 2 \
            or min(args.rate, args.cluster_rate, args.duration) <= 0:
        p.error("sizes, counts, rate and duration must be positive")
    signal.signal(signal.SIGTERM, _terminate)
    started = time.perf_counter()
    status = 0
    for name in args.benchmarks or NAMES:
        log(f"--- {name} ---")
        if name == "ingest":
            rc = ingest.run(size_mib=args.size_mib, rss_size_mib=args.rss_size_mib,
                            reps=args.reps, only=args.only, tmp_root=args.tmp_dir,
                            keep=args.keep)
        elif name == "log":
            rc = translog.run(n=args.appends, big=args.leaves, proof_samples=args.proofs,
                              only=args.log_only, tmp_root=args.tmp_dir, keep=args.keep)
        elif name == "verify":
            rc = verify.run([])
        elif name == "webcap":
            rc = webcap.run([])
        elif name == "asr":
            rc = asr.run([])
        elif name == "pwa":
            rc = pwa.run([])
        elif name == "streams":
            rc = 0 if streams.run(args).get("ok") else 1
        else:
            rc = 0
            for on in (["single", "cluster"] if args.delay_on == "both" else [args.delay_on]):
                rc = max(rc, delay.run(
                    rate=args.cluster_rate if on == "cluster" else args.rate,
                    duration=args.duration, deadline=args.deadline,
                    senders=args.cluster_senders if on == "cluster" else args.senders,
                    presign=not args.live_sign, on_cluster=on == "cluster",
                    tmp_root=args.tmp_dir, keep=args.keep))
        status = max(status, rc)
    print(f"\nbench total: {time.perf_counter() - started:.0f} s", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
