"""Shared bits of the benchmarks: progress lines, percentiles, tables, JSON output."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

OUT_DIR = Path(__file__).resolve().parent / "out"


def log(msg: str) -> None:
    """A progress line on stderr; the figures go to stdout."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    return {"cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def header(name: str) -> dict[str, Any]:
    return {"benchmark": name, "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine()}


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def stats(values: Sequence[float]) -> dict[str, Any]:
    """p50/p99/max/mean of plain numbers (counts, sizes)."""
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": percentile(values, 50), "p99": percentile(values, 99),
            "max": max(values), "mean": round(sum(values) / len(values), 1)}


def ms_stats(seconds: Sequence[float]) -> dict[str, Any]:
    """p50/p99/max in milliseconds of a list of durations in seconds."""
    if not seconds:
        return {"n": 0}
    return {"n": len(seconds), "p50_ms": round(percentile(seconds, 50) * 1e3, 3),
            "p99_ms": round(percentile(seconds, 99) * 1e3, 3),
            "max_ms": round(max(seconds) * 1e3, 3),
            "mean_ms": round(sum(seconds) / len(seconds) * 1e3, 3)}


def table(rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns; the first row is the heading, underlined."""
    ncols = max(len(r) for r in rows)
    padded = [list(r) + [""] * (ncols - len(r)) for r in rows]
    widths = [max(len(r[i]) for r in padded) for i in range(ncols)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in padded]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def write_json(name: str, results: dict[str, Any]) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def shown(path: Path) -> str:
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)
