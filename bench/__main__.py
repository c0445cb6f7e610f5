"""`python -m bench` (`make bench`): run the benchmarks and print their figures.

Benchmarks report; tests assert. The exit status is non-zero only when a
benchmark could not run at all, never because a figure missed its goal.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from . import ingest
from ._patched_serve import LEVELS


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # Turn SIGTERM into an exception so every `finally` (server, temp dirs) runs.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--only", choices=["throughput", "rss"], help="run one benchmark")
    p.add_argument("--size-mib", type=int, default=256, help="throughput file size")
    p.add_argument("--rss-size-mib", type=int, default=1024, help="RSS benchmark file size")
    p.add_argument("--reps", type=int, default=2, help="throughput repetitions")
    p.add_argument("--tmp-dir", type=Path, default=None,
                   help="where the scratch dir goes (default bench/out/)")
    p.add_argument("--keep", action="store_true", help="keep the scratch dir (server logs)")
    p.add_argument("--patch", choices=LEVELS, default=None,
                   help="run the server with upload patches applied in this process only "
                        "(see bench/_patched_serve.py); figures are then labelled")
    args = p.parse_args(argv)
    if args.reps < 1 or args.size_mib < 1 or args.rss_size_mib < 1:
        p.error("sizes and --reps must be positive")
    signal.signal(signal.SIGTERM, _terminate)
    return ingest.run(size_mib=args.size_mib, rss_size_mib=args.rss_size_mib, reps=args.reps,
                      only=args.only, tmp_root=args.tmp_dir, keep=args.keep,
                      patch=args.patch)


if __name__ == "__main__":
    sys.exit(main())
